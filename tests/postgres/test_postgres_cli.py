"""``--db postgresql://...`` works wherever ``--db PATH`` does: the demo fills a
PostgreSQL store once and reopens it without duplicating anything, and the analyst
commands print exactly what they print for the same data in SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from custmgmt.adapters.postgres import PostgresStore
from custmgmt.cli import demo as demo_module
from custmgmt.cli import main
from custmgmt.cli.demo import SECTION_NEEDS
from custmgmt.cli.demo_privacy import POSTGRES_BACKUP_LINE

AS_OF = ["--as-of", "2026-06-30"]
COMMANDS = [
    ["rate", *AS_OF],
    ["segment", *AS_OF],
    ["clv", *AS_OF],
    ["tickets", *AS_OF],
    ["prospects", *AS_OF],
    ["team", "--from", "2026-06-01", "--to", "2026-06-30"],
]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _summary(out: str) -> list[str]:
    """The demo's "What is stored" block: the counts of everything in the store."""
    lines = out.splitlines()
    start = lines.index("What is stored") + 2
    return lines[start : lines.index("", start)]


@pytest.mark.slow
def test_the_demo_and_the_commands_on_postgres_match_sqlite(
    postgres_dsn: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sqlite = str(tmp_path / "demo.sqlite3")
    demo = ["demo", "--customers", "120", "--seed", "3"]
    code, first, _ = _run([*demo, "--db", postgres_dsn], capsys)
    assert code == 0
    assert "generating 120 synthetic customers" in first
    code, second, _ = _run([*demo, "--db", postgres_dsn], capsys)
    assert code == 0
    assert "reopened an existing store: nothing generated, nothing duplicated" in second
    assert _summary(first)[0].startswith("120 customers,")
    # The first run's sections add records (won prospects become customers); running
    # the demo again adds nothing more.
    code, third, _ = _run([*demo, "--db", postgres_dsn], capsys)
    assert code == 0
    assert _summary(third) == _summary(second)
    # The same data in SQLite: the demo without the sections whose capabilities the
    # PostgreSQL store does not keep yet.
    with PostgresStore(postgres_dsn, create=False) as store:
        offered = set(store.capabilities)
    lacking = {s for s, needs in SECTION_NEEDS.items() if not set(needs) <= offered}
    assert {"agents", "assignments", "prospects"} <= offered
    monkeypatch.setattr(
        demo_module,
        "SECTIONS",
        tuple(s for s in demo_module.SECTIONS if s not in lacking),
    )
    code, on_sqlite, _ = _run([*demo, "--db", sqlite], capsys)
    assert code == 0
    # The same story from both stores, but for the line naming the database, the line
    # saying a section was skipped (with the blank line before it) and where the HTML
    # report went (next to an SQLite file; not written for a DSN).
    on_postgres = first.splitlines()[1:]
    written = "HTML report (charts, no script, nothing fetched): "
    assert "(no database path: the HTML report is not written)" in on_postgres
    skipped = [i for i, line in enumerate(on_postgres) if "skipped: this store" in line]
    assert len(skipped) == len(lacking)
    shown = [
        line
        for i, line in enumerate(on_postgres)
        if i not in skipped and i + 1 not in skipped
    ]
    from_sqlite = [
        "(no database path: the HTML report is not written)" if line.startswith(written) else line
        for line in on_sqlite.splitlines()[1:]
    ]
    # The privacy section backs up SQLite with its backup API and names pg_dump on
    # PostgreSQL.
    from_sqlite = [
        POSTGRES_BACKUP_LINE if line.startswith("online backup: ") else line
        for line in from_sqlite
    ]
    assert shown == from_sqlite
    for command in COMMANDS:
        code, from_postgres, err = _run([*command, "--db", postgres_dsn], capsys)
        assert (code, err) == (0, "")
        assert from_postgres.strip()
        assert not from_postgres.startswith("no ")  # e.g. "no prospects stored"
        assert _run([*command, "--db", sqlite], capsys)[1] == from_postgres


def test_a_database_without_a_custmgmt_store_is_refused_by_the_commands(
    postgres_server: object, capsys: pytest.CaptureFixture[str]
) -> None:
    if isinstance(postgres_server, str):
        pytest.skip("needs a database of its own (the temporary server)")
    dsn = postgres_server.create_database("no_store")  # type: ignore[attr-defined]
    code, out, err = _run(["segment", "--db", dsn, *AS_OF], capsys)
    assert code == 2
    assert "holds no custmgmt store in schema 'custmgmt'" in err
    assert out == ""


def test_a_password_in_the_dsn_is_not_printed(capsys: pytest.CaptureFixture[str]) -> None:
    dsn = "postgresql://shop:s3cret@/crm?host=/nonexistent-dir&connect_timeout=1"
    code, out, err = _run(["demo", "--db", dsn, "--customers", "5"], capsys)
    assert code == 2
    assert "s3cret" not in out + err
