"""``--db postgresql://...`` works wherever ``--db PATH`` does: the demo fills a
PostgreSQL store once and reopens it without duplicating anything, and the analyst
commands print exactly what they print for the same data in SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from custmgmt.adapters.postgres import PostgresStore
from custmgmt.cli import demo as demo_module
from custmgmt.cli import main
from custmgmt.cli.demo import DEFAULT_AS_OF, SECTION_NEEDS
from custmgmt.cli.demo_loyalty import demo_customer
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
#: Commands whose ``--db`` comes before an action: DB stands for the store.
DB = "<db>"
ENGAGEMENT_COMMANDS = [
    ["campaign", "--db", DB, "list"],
    ["campaign", "--db", DB, "preview", "DEMO-CAMP-1", "--as-of", "2026-05-16T10:00"],
    ["campaign", "--db", DB, "report", "DEMO-CAMP-1", "--as-of", "2026-06-30",
     "--replicates", "300"],
    ["followups", "--db", DB, "--due", "2026-06-30", "--care", "--holiday", "2026-06-30=测试节"],
    # Writes: a second campaign planned and run on each store, then read back.
    ["campaign", "--db", DB, "plan", "CLI-1", "--name", "周末闪购", "--min-stars", "3",
     "--coupon", "15", "--holdout", "0.5", "--starts", "2026-06-01T10:00", "--quiet", "none"],
    ["campaign", "--db", DB, "run", "CLI-1", "--as-of", "2026-06-01T10:30"],
    ["campaign", "--db", DB, "report", "CLI-1", "--as-of", "2026-06-30", "--replicates", "300"],
    ["campaign", "--db", DB, "list"],
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


def _capability_counts(dsn: str) -> dict[str, int]:
    """What the demo's loyalty and risk sections stored."""
    with PostgresStore(dsn, create=False) as store:
        return {
            "ledger entries": store.loyalty.count(),
            "score runs": len(store.risk.score_runs()),
            "alerts": len(store.risk.find_alerts()),
            "restrictions": len(store.risk.find_restrictions()),
            "appeals": len(store.risk.find_appeals()),
        }


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
    with PostgresStore(postgres_dsn, create=False) as store:
        engagement = _engagement_counts(store)
    assert engagement["decisions"] > 0
    assert engagement["plans"] == 2
    code, second, _ = _run([*demo, "--db", postgres_dsn], capsys)
    assert code == 0
    assert "reopened an existing store: nothing generated, nothing duplicated" in second
    assert _summary(first)[0].startswith("120 customers,")
    # The first run's sections add records (won prospects become customers); running
    # the demo again adds nothing more.
    stored = _capability_counts(postgres_dsn)
    code, third, _ = _run([*demo, "--db", postgres_dsn], capsys)
    assert code == 0
    assert _summary(third) == _summary(second)
    with PostgresStore(postgres_dsn, create=False) as store:
        assert _engagement_counts(store) == engagement
    assert f"{engagement['decisions']:,} decisions stored" in third
    # The points, risk and recommendation sections ran on PostgreSQL, and reopening
    # wrote no second ledger entry, score run, alert, restriction or appeal.
    for heading in ("Points: earn, lock, redeem, expire, clawback",
                    "Customer quality and credit risk: grades, early warnings, appeals",
                    "Recommendations from purchase history"):
        assert heading in first
    assert not [line for line in first.splitlines()
                if "skipped" in line and ("risk" in line or "loyalty" in line)]
    # (120 customers raise no alert; the count is still compared below)
    assert all(stored[k] > 0 for k in ("ledger entries", "score runs", "restrictions",
                                       "appeals")), stored
    assert _capability_counts(postgres_dsn) == stored
    # The same data in SQLite: the demo without the sections whose capabilities the
    # PostgreSQL store does not keep yet.
    with PostgresStore(postgres_dsn, create=False) as store:
        offered = set(store.capabilities)
    lacking = {s for s, needs in SECTION_NEEDS.items() if not set(needs) <= offered}
    assert {"agents", "assignments", "prospects"} <= offered
    assert {"campaigns", "followups"} <= offered
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
    for command in ENGAGEMENT_COMMANDS:
        code, from_postgres, err = _run([postgres_dsn if a == DB else a for a in command], capsys)
        assert (code, err) == (0, ""), command
        assert from_postgres.strip()
        code, from_sqlite_db, err = _run([sqlite if a == DB else a for a in command], capsys)
        assert (code, err) == (0, ""), command
        assert from_sqlite_db == from_postgres, command

    # Loyalty, risk and recommendations: the demo's points customer, on both stores.
    with PostgresStore(postgres_dsn, create=False) as store:
        found = demo_customer(store, DEFAULT_AS_OF)
        assert found is not None
        assert {"loyalty", "risk", "purchase_lines"} <= set(store.capabilities)
    for command in (
        ["points", found[0], *AS_OF],
        ["risk", *AS_OF],
        ["recommend", found[0], *AS_OF],
        ["recommend", "--evaluate", *AS_OF],
    ):
        code, from_postgres, err = _run([*command, "--db", postgres_dsn], capsys)
        assert (code, err) == (0, ""), command
        assert "balance" in from_postgres or command[0] != "points"
        assert "restrictions:" in from_postgres or command[0] != "risk"
        assert _run([*command, "--db", sqlite], capsys)[1] == from_postgres, command


def _engagement_counts(store: PostgresStore) -> dict[str, int]:
    """What the demo's follow-up and campaign section stores."""
    return {
        "campaigns": len(store.campaigns.list_campaigns()),
        "decisions": store.campaigns.count_decisions(),
        "plans": len(store.followups.plans()),
        "contacts": len(store.followups.contacts()),
    }


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
    for argv in (["campaign", "--db", dsn, "list"], ["followups", "--db", dsn]):
        code, out, err = _run(argv, capsys)
        assert (code, out) == (2, "")
        assert "holds no custmgmt store in schema 'custmgmt'" in err


def test_a_password_in_the_dsn_is_not_printed(capsys: pytest.CaptureFixture[str]) -> None:
    dsn = "postgresql://shop:s3cret@/crm?host=/nonexistent-dir&connect_timeout=1"
    code, out, err = _run(["demo", "--db", dsn, "--customers", "5"], capsys)
    assert code == 2
    assert "s3cret" not in out + err
