"""The demo store and its HTML report, made once for the KPI tests that need them."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from custmgmt.cli import main


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo SQLite store of 150 customers after one run of ``custmgmt demo``."""
    db = tmp_path_factory.mktemp("kpi-demo") / "demo.sqlite3"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["demo", "--db", str(db), "--customers", "150"]) == 0
    (db.parent / "demo-output.txt").write_text(out.getvalue(), encoding="utf-8")
    return db


@pytest.fixture(scope="session")
def demo_report_html(demo_db: Path) -> Path:
    """The HTML report the demo wrote next to its database."""
    from custmgmt.cli.demo_report import report_path

    path = report_path(demo_db)
    assert path.is_file()
    return path
