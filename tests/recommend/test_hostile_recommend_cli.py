"""The ``recommend`` command with hostile values: blank ids, an unknown product, a huge
hold-out or list length: a clear ``custmgmt: error`` and nothing half printed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from custmgmt import datasets
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import main

AS_OF = datetime(2026, 2, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("recommend") / "d.sqlite3"
    with SQLiteStore(path) as store:
        datasets.load_into(store, datasets.make_dataset(n_customers=120, seed=3, as_of=AS_OF))
    return str(path)


@pytest.mark.parametrize(("args", "flag"), [(["--item", ""], "--item"),
                                            (["--item", "  "], "--item"),
                                            (["  "], "CUSTOMER")])
def test_a_blank_id_is_named_in_the_error(
    db: str, args: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recommend", "--db", db, *args]) == 2
    captured = capsys.readouterr()
    assert f"custmgmt: error: {flag}" in captured.err
    assert captured.out == ""


def test_an_unknown_product_prints_no_header_before_the_error(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recommend", "--db", db, "--item", "NO-SUCH-SKU", "--as-of", "2026-02-01"]) == 2
    captured = capsys.readouterr()
    assert "NO-SUCH-SKU" in captured.err
    assert captured.out == ""


def test_a_hold_out_before_year_one_is_a_clear_error(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recommend", "--db", db, "--evaluate", "--holdout-days", "999999999"]) == 2
    captured = capsys.readouterr()
    assert "custmgmt: error: --holdout-days" in captured.err
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("k", ["100000", "100000000000"])
def test_an_evaluation_longer_than_the_catalogue_scores_the_whole_catalogue(
    db: str, k: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["recommend", "--db", db, "--evaluate", "--as-of", "2026-02-01",
            "--holdout-days", "120"]
    assert main([*args, "--k", k]) == 0
    table = capsys.readouterr().out
    assert "popularity" in table
    assert f"k = {k}" in table
