"""A hostile stranger's pass over the command line, round 4: refusals that named the
wrong option or file, a target shown rounded, and a demo left half-written.

- ``risk fit --l2 1e5``: a strong penalty flattened the card, and the refusal named
  only ``--pdo`` (at its default 20, an option the user never gave).
- ``campaign run`` at a moment outside the campaign's period: the refusal named the
  library's parameter ``at`` and a ``datetime.datetime(...)`` repr cut off mid-zone.
- ``report --targets``: a money level finer than the currency's minor unit was shown
  rounded (a JPY target of 5399.4 read ">= 5,399" beside an unmet AOV of 5,399).
- ``demo`` interrupted part-way (Ctrl-C): the synthetic fill and the prospects section
  each kept what they had written so far, and every later run took the half-written
  store for a finished one ("reopened an existing store", "already stored").
- ``--currency XXX`` (or ``kwd``) was refused as "currency: got 'XXX'", not naming the
  option.
- ``backup --db`` of a file that is no database: a 1-byte or empty file was read by
  SQLite as an empty database and refused as "the copy failed its integrity check"
  naming neither file; a larger non-database file was "backing up to 'X.bak' failed:
  file is not a database", naming the target instead of the source.
"""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt import datasets
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.adapters.sqlite.backup import backup
from custmgmt.cli import demo_prospects, main
from custmgmt.errors import NotFound, ValidationError
from custmgmt.kpi.targets import Target


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def risk_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 cases whose ``returns`` predicts the bad label strongly."""
    rng = random.Random(1)
    path = tmp_path_factory.mktemp("risk") / "risk.csv"
    lines = ["id,age,spend,returns,bad"]
    for i in range(400):
        returns = rng.randint(0, 5)
        bad = int(rng.random() < 0.1 + 0.1 * returns)
        lines.append(f"c{i},{rng.randint(18, 80)},{rng.random() * 1000:.2f},{returns},{bad}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_risk_fit_with_a_flattening_l2_names_the_l2_it_was_given(
    risk_table: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["risk", "fit", str(risk_table), "--label", "bad", "--id", "id", "--l2", "1e5"]
    assert main(argv) == 2
    line = _error(capsys)
    assert "--l2 (got 100000)" in line


def test_risk_fit_with_a_tiny_pdo_and_the_default_l2_names_only_the_pdo(
    risk_table: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["risk", "fit", str(risk_table), "--label", "bad", "--id", "id", "--pdo", "1e-300"]
    assert main(argv) == 2
    line = _error(capsys)
    assert line.startswith("custmgmt: error: --pdo: got 1e-300")
    assert "--l2" not in line


@pytest.fixture
def campaign_db(tmp_path: Path) -> Path:
    db = tmp_path / "shop.sqlite3"
    SQLiteStore(db).close()
    assert main(["campaign", "--db", str(db), "plan", "K1", "--name", "k", "--coupon", "5",
                 "--starts", "2026-06-01", "--days", "10"]) == 0
    return db


def test_campaign_run_outside_its_period_names_as_of_with_an_iso_moment(
    campaign_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["campaign", "--db", str(campaign_db), "run", "K1",
                 "--as-of", "2026-07-01"]) == 2
    line = _error(capsys)
    assert line.startswith("custmgmt: error: --as-of: got '2026-07-01T23:59:59.999999+08:00', "
                           "expected a moment in the campaign's period")
    assert "datetime.datetime" not in line
    # Nothing was stored: the campaign is still only planned.
    assert main(["campaign", "--db", str(campaign_db), "list"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("planned")


@settings(max_examples=15, deadline=None)
@given(content=st.binary(max_size=511))
def test_backup_of_a_file_too_small_for_a_database_names_db_and_keeps_it(
    tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    folder = tmp_path_factory.mktemp("small")
    source = folder / "notes.db"
    source.write_bytes(content)
    target = folder / "notes.bak"
    with pytest.raises(ValidationError) as raised:
        backup(source, target)
    assert (raised.value.field, raised.value.value) == ("source", str(source))
    assert f"a {len(content)}-byte file" in raised.value.expected
    assert source.read_bytes() == content
    assert sorted(p.name for p in folder.iterdir()) == ["notes.db"]
    assert source.read_bytes() == content
    assert not target.exists()
    assert sorted(p.name for p in folder.iterdir()) == ["notes.db"]


def test_backup_of_a_one_byte_file_says_so_naming_db(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "one.db"
    source.write_bytes(b"x")
    assert main(["backup", "--db", str(source), "--to", str(tmp_path / "one.bak")]) == 2
    line = _error(capsys)
    assert line == (f"custmgmt: error: --db: got {str(source)!r}, expected an SQLite database "
                    "(a 1-byte file is smaller than the smallest one, 512 bytes)")


def test_backup_of_a_large_non_database_file_names_the_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "orders.csv"
    source.write_text("customer_id,placed_at,amount\n" + "c1,2026-01-01,9.99\n" * 100,
                      encoding="utf-8")
    before = source.read_bytes()
    target = tmp_path / "orders.bak"
    assert main(["backup", "--db", str(source), "--to", str(target)]) == 2
    line = _error(capsys)
    assert f"backing up {str(source)!r} to {str(target)!r} failed" in line
    assert source.read_bytes() == before
    assert not target.exists()


def test_backup_to_an_existing_file_names_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "shop.sqlite3"
    SQLiteStore(db).close()
    target = tmp_path / "taken.bak"
    target.write_bytes(b"keep me")
    assert main(["backup", "--db", str(db), "--to", str(target)]) == 2
    assert _error(capsys).startswith(f"custmgmt: error: --to: got {str(target)!r}")
    assert target.read_bytes() == b"keep me"


@settings(max_examples=50, deadline=None)
@given(whole=st.integers(min_value=1, max_value=10**9), tenths=st.integers(1, 9),
       currency=st.sampled_from(["JPY", "KWD", "CNY"]))
def test_a_money_level_finer_than_the_currency_is_described_as_written(
    whole: int, tenths: int, currency: str
) -> None:
    # "average_order_value >= 5,399 JPY" beside an unmet "5,399 JPY": the target
    # 5399.4 was rounded to the yen while it was compared exactly.
    digits = {"JPY": 0, "KWD": 3, "CNY": 2}[currency]
    value = float(f"{whole}.{'0' * digits}{tenths}")
    text = Target("average_order_value", "level", value).describe(currency)
    assert text.endswith(f" {currency}")
    shown = Decimal(text.split(">= ")[1].removesuffix(f" {currency}").replace(",", ""))
    assert shown == Decimal(repr(value))


def test_the_report_shows_a_jpy_target_with_its_tenth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,placed_at,amount\na,2026-01-05,5398\nb,2026-01-06,5399\n"
                      "c,2026-01-07,5400\n", encoding="utf-8")
    targets = tmp_path / "targets.json"
    targets.write_text('[{"kpi": "average_order_value", "kind": "level", "value": 5399.4}]',
                       encoding="utf-8")
    assert main(["report", str(orders), "--currency", "JPY", "--targets", str(targets),
                 "--from", "2026-01-01", "--to", "2026-01-31"]) == 0
    out = capsys.readouterr().out
    assert "[   not met    ] average_order_value >= 5,399.4 JPY" in out


class _Interrupted(Exception):
    """Stands in for Ctrl-C (a KeyboardInterrupt would stop pytest itself)."""


def test_a_demo_fill_interrupted_part_way_leaves_an_empty_store_that_the_next_run_fills(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = datasets.load_into

    def interrupted(store: Any, data: Any, **kwargs: Any) -> Any:
        def stop(done: int, total: int) -> None:
            raise _Interrupted  # after the first chunk (the customers) was written

        return real(store, data, progress=stop)

    db = tmp_path / "demo.sqlite3"
    monkeypatch.setattr(datasets, "load_into", interrupted)
    with pytest.raises(_Interrupted):
        main(["demo", "--db", str(db), "--customers", "30"])
    monkeypatch.undo()
    with SQLiteStore(db, mode="existing") as store:
        assert (store.customers.count(), store.orders.count()) == (0, 0)
    capsys.readouterr()
    assert main(["demo", "--db", str(db), "--customers", "30"]) == 0
    assert "empty store: generating 30 synthetic customers" in capsys.readouterr().out


def test_demo_prospects_interrupted_part_way_are_all_added_by_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def convert(*args: Any, **kwargs: Any) -> Any:
        raise _Interrupted  # the first prospect won, after several were recorded

    db = tmp_path / "demo.sqlite3"
    monkeypatch.setattr(demo_prospects, "convert_to_customer", convert)
    with pytest.raises(_Interrupted):
        main(["demo", "--db", str(db), "--customers", "30"])
    monkeypatch.undo()
    with SQLiteStore(db, mode="existing") as store, pytest.raises(NotFound):
        store.prospects.get("DEMO-P01")
    capsys.readouterr()
    assert main(["demo", "--db", str(db), "--customers", "30"]) == 0
    out = capsys.readouterr().out
    assert "the demo prospects are already stored" not in out
    assert "prospects (DEMO-P01 ...)" in out


@pytest.mark.parametrize("command", ["segment", "rate", "clv", "report"])
@pytest.mark.parametrize("code", ["XXX", "kwd", ""])
def test_an_unknown_currency_is_named_as_the_option(
    command: str, code: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,placed_at,amount\na,2026-01-05,1.000\n", encoding="utf-8")
    assert main([command, str(orders), "--currency", code]) == 2
    assert _error(capsys).startswith(f"custmgmt: error: --currency: got {code!r}, expected "
                                     "an ISO 4217 currency code")
