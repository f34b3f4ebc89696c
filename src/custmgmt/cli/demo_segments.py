"""Demo section: segment sizes, the RFM table and the churn list with win-back actions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from custmgmt.segmentation.report import AT_RISK_ORDER, segment_store

if TYPE_CHECKING:
    from custmgmt.cli.demo_context import DemoContext

__all__ = ["demo_section"]


def demo_section(ctx: DemoContext) -> None:
    """Segment every customer of the demo store as of the demo's date and list churn
    risks (:func:`custmgmt.segmentation.report.segment_store`: customers with no order
    and no interaction are prospects).

    Leaves the :class:`~custmgmt.segmentation.report.SegmentReport` in
    ``ctx.shared["segments"]``.
    """
    result = segment_store(ctx.store, as_of=ctx.as_of, currency="CNY")
    ctx.shared["segments"] = result
    total = max(len(result.features), 1)

    ctx.heading("Segments")
    for name, segmentation in result.segmentations.items():
        sizes = ", ".join(
            f"{segment} {count:,} ({count / total:.0%})"
            for segment, count in segmentation.sizes().items()
        )
        ctx.print(f"{name}: {sizes}")
    quality = result.segmentations.get("quality tiers")
    if quality is not None:
        core = quality.members("core")
        if len(core):
            ctx.print(f"e.g. {core[0]}: {quality.explain(core[0])}")

    ctx.heading("RFM segments (R x F map, quintile scores)")
    ctx.print(result.rfm.format_table())

    churn = result.churn
    ctx.heading("Churn risks, likely reasons and win-back actions")
    flagged = int(churn.flagged.sum())
    risks = ", ".join(f"{k} {v:,}" for k, v in churn.risk_counts().items() if k != "none")
    ctx.print(f"{flagged:,} customers flagged ({risks})")
    reasons = ", ".join(f"{k} {v:,}" for k, v in churn.reason_counts().items() if v)
    if reasons:
        ctx.print(f"likely reasons: {reasons}")
    for reason, action in churn.playbook.actions.items():
        ctx.print(f"  {reason.value:>8} -> {action.code}: {action.description}")
    if flagged:
        ctx.print(f"most at risk (by {AT_RISK_ORDER}):")
    for explanation in result.at_risk(5):
        ctx.print(f"  {explanation}")
