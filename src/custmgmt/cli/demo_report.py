"""Demo section: the KPI report of the demo store, written as HTML next to its database.

Measures the last three months up to the demo's "now" against the three before, with
the mission's targets, prints the text report and writes the self-contained HTML
report beside the database (``<db>.report.html``; the same data gives the same bytes,
so a second run rewrites an identical file).
"""

from __future__ import annotations

from pathlib import Path

from custmgmt._text import one_line
from custmgmt.cli.demo_context import DemoContext
from custmgmt.cli.report import default_periods, write_text_atomically
from custmgmt.kpi import KpiInputs, KpiReport
from custmgmt.tickets import default_calendar, default_sla_policy

__all__ = ["demo_section", "report_path"]


def report_path(db: Path) -> Path:
    """Where the demo writes the HTML report for the database at ``db``."""
    return db.with_name(db.name + ".report.html")


def demo_section(ctx: DemoContext) -> None:
    """Build the KPI report of the demo store, print it and write its HTML."""

    ctx.heading("KPI report: the last three months against the three before")
    inputs = KpiInputs.from_store(ctx.store, currency="CNY", as_of=ctx.as_of,
                                  sla_policy=default_sla_policy(),
                                  calendar=default_calendar())
    baseline, current = default_periods(ctx.as_of)
    report = KpiReport.build(inputs, baseline=baseline, current=current, as_of=ctx.as_of)
    ctx.print(report.to_text().rstrip("\n"))
    db = ctx.db_path
    if db is None:
        ctx.print("(no database path: the HTML report is not written)")
        return
    target = report_path(Path(db))
    write_text_atomically(target, report.to_html())
    ctx.print(f"HTML report (charts, no script, nothing fetched): {one_line(target)}")
