"""``--db PostgreSQL://...`` is a PostgreSQL DSN: URI schemes are case-insensitive
(RFC 3986). It was taken for an SQLite path, so the demo created an SQLite file under
a folder named ``PostgreSQL:`` where one existed, and an analyst command said "expected
an existing SQLite store"; libpq, for its part, reads only a lower-case scheme, so the
store lowers it before connecting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custmgmt.cli import main
from custmgmt.cli._inputs import is_postgres_dsn
from custmgmt.testing import make_customer, make_order

#: A server that is certainly not there: connecting fails at once, with no server.
NOWHERE = "127.0.0.1:1/crm"


def _in_any_case(dsn: str) -> list[str]:
    scheme, rest = dsn.split("://", 1)
    return [f"{s}://{rest}" for s in (scheme, scheme.upper(), scheme.capitalize(),
                                      "PostgreSQL" if scheme == "postgresql" else "PostGres")]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("postgresql://shop@db/crm", True),
        ("postgres://shop@db/crm", True),
        ("PostgreSQL://shop@db/crm", True),
        ("POSTGRES://shop@db/crm", True),
        ("pOsTgReS://shop@db/crm", True),
        ("postgresql:/shop", False),
        ("postgresql", False),
        ("crm.sqlite3", False),
        ("PostgreSQL", False),
        ("", False),
        (Path("postgresql://x"), False),  # a Path is a file the user named
    ],
)
def test_a_dsn_is_recognised_whatever_the_case_of_its_scheme(
    target: str | Path, expected: bool
) -> None:
    assert is_postgres_dsn(target) is expected


@pytest.mark.parametrize("dsn", _in_any_case(f"postgresql://u:s3cr3t@{NOWHERE}"))
def test_the_demo_never_makes_an_sqlite_file_of_a_dsn_in_any_case(
    dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    # The folders the DSN would name as a path: an SQLite file would be made in them.
    as_path = Path(dsn).parent
    as_path.mkdir(parents=True)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code = main(["demo", "--db", dsn, "--customers", "5"])
    err = capsys.readouterr().err
    assert code != 0
    assert "postgres: cannot connect to" in err
    assert "s3cr3t" not in err  # the password is masked whatever the scheme's case
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("dsn", _in_any_case(f"postgres://u:s3cr3t@{NOWHERE}"))
def test_an_analyst_command_tries_postgresql_for_a_dsn_in_any_case(
    dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["rate", "--db", dsn, "--as-of", "2026-06-30"])
    err = capsys.readouterr().err
    assert code != 0
    assert "postgres: cannot connect to" in err
    assert "SQLite" not in err
    assert "s3cr3t" not in err


def test_a_store_opens_and_a_command_reads_it_through_an_upper_case_scheme(
    postgres_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("psycopg")
    from custmgmt.adapters.postgres import PostgresStore

    upper = "PostgreSQL://" + postgres_dsn.split("://", 1)[1]
    at = datetime(2026, 6, 1, 10, tzinfo=UTC)
    with PostgresStore(upper) as store:
        for n in range(3):
            customer = make_customer(id=f"c-{n}", name="张伟", registered_at=at)
            store.customers.add(customer)
            store.orders.add(make_order(id=f"o-{n}", customer_id=customer.id,
                                        placed_at=at + timedelta(days=n)))
    outputs = []
    for dsn in (postgres_dsn, upper):
        assert main(["rate", "--db", dsn, "--as-of", "2026-06-30"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    assert "c-2" in outputs[1]
