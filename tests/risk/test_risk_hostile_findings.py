"""Defects found by hostile testing of the risk area, each with its regression test."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import main
from custmgmt.cli.demo_risk import DEMO_CARD
from custmgmt.cli.risk import print_risk_overview, read_labelled_table
from custmgmt.domain.money import Money
from custmgmt.errors import ValidationError
from custmgmt.risk import (
    RestrictionKind,
    ScorecardFitter,
    ThresholdRule,
    customer_terms,
    evaluate,
    impose_restriction,
    lift_restriction,
    raise_alerts,
    restricted_customers,
    run_stability,
    save_scorecard,
    score_customers,
    submit_appeal,
)
from custmgmt.risk.evaluation import psi
from custmgmt.risk.learn import fit_logistic, monotone_merge
from custmgmt.testing import make_customer, make_order


def test_a_learnt_bin_label_includes_the_values_the_bin_holds() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0] * 5)
    y = np.array([0, 1, 0, 1] * 5)
    card = ScorecardFitter(n_bins=4, monotone=False).fit({"a": x}, y).card
    labels = [b.label for b in card.table("a").bins]
    assert labels == ["(-inf, 1]", "(1, 2]", "(2, 3]", "(3, inf)", "missing"]
    for value, label in zip((1.0, 2.0, 3.0, 4.0), labels, strict=False):
        assert card.explain({"a": value}).parts[0].bin == label


def test_close_cut_points_get_distinct_labels() -> None:
    x = np.array([1.0000001, 1.0000002, 1.0000003, 1.0000004] * 5)
    y = np.array([0, 1, 0, 1] * 5)
    card = ScorecardFitter(n_bins=4, monotone=False).fit({"a": x}, y).card
    labels = [b.label for b in card.table("a").bins]
    assert len(set(labels)) == len(labels), labels


@pytest.mark.parametrize("l2", [float("inf"), float("nan"), -1.0])
def test_fit_logistic_refuses_a_penalty_that_is_not_finite(l2: float) -> None:
    with pytest.raises(ValidationError, match="l2"):
        fit_logistic(np.ones((4, 1)), np.array([0, 1, 0, 1]), l2=l2)


def test_fit_refuses_an_infinite_penalty_without_a_numpy_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "t.csv"
    table.write_text("a,y\n1,0\n2,1\n3,0\n4,1\n", encoding="utf-8")
    assert main(["risk", "fit", str(table), "--label", "y", "--l2", "inf"]) == 2
    err = capsys.readouterr().err
    assert "custmgmt: error: --l2: got inf" in err
    assert "Traceback" not in err
    assert "RuntimeWarning" not in err


@pytest.mark.parametrize(("content", "kwargs", "field"), [
    ("a,y\n1,0\n", {"id_column": "y"}, "--id"),
    ("a,y\n1,0\n", {"id_column": "nosuch"}, "--id"),
    ("a,a,y\n1,2,0\n", {}, "table"),
    ("a,y\n1,0,7\n", {}, "table (row 2)"),
])
def test_a_table_that_does_not_fit_the_options_is_refused(
        tmp_path: Path, content: str, kwargs: dict[str, str], field: str) -> None:
    table = tmp_path / "t.csv"
    table.write_text(content, encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        read_labelled_table(table, "y", **kwargs)
    assert info.value.field == field


@pytest.mark.parametrize("content", [
    b"a,y\n\xff\xfe,0\n",
    b'a,y\n"' + b"1" * 200_000 + b'",0\n',
])
def test_an_unreadable_table_is_a_clear_error_not_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes) -> None:
    table = tmp_path / "t.csv"
    table.write_bytes(content)
    assert main(["risk", "fit", str(table), "--label", "y"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("custmgmt: error: table:")
    assert "Traceback" not in err


T = datetime(2026, 6, 1, 10, tzinfo=UTC)


def _store_with_customer() -> MemoryStore:
    store = MemoryStore()
    store.customers.add(make_customer(id="C1"))
    return store


def test_a_cap_in_another_currency_is_refused_not_silently_ignored() -> None:
    store = _store_with_customer()
    impose_restriction(store, id="R1", customer_id="C1", kind="restricted", reason="逾期",
                       actor="risk", start=T, credit_cap=Money(Decimal("10"), "USD"))
    with pytest.raises(ValidationError, match="credit_cap"):
        customer_terms(store, "C1", at=T + timedelta(days=1), card_name="c")


def test_a_negative_credit_cap_is_refused() -> None:
    with pytest.raises(ValidationError, match="credit_cap"):
        impose_restriction(_store_with_customer(), id="R1", customer_id="C1",
                           kind="restricted", reason="逾期", actor="risk", start=T,
                           credit_cap=Money(Decimal("-10"), "CNY"))


def test_an_appeal_dated_before_the_restriction_is_refused_and_nothing_is_stored() -> None:
    store = _store_with_customer()
    impose_restriction(store, id="R1", customer_id="C1", kind="restricted", reason="逾期",
                       actor="risk", start=T)
    with pytest.raises(ValidationError, match="at"):
        submit_appeal(store, id="A1", restriction_id="R1", statement="我不服",
                      at=T - timedelta(days=30), actor="C1")
    assert store.risk.find_appeals() == []
    assert len(store.risk.get_restriction("R1").events) == 1


def test_the_overview_survives_a_previous_run_that_scored_nobody(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.sqlite3"
    with SQLiteStore(path) as store:
        save_scorecard(store, DEMO_CARD)
        score_customers(store, DEMO_CARD, as_of=T)  # nobody stored yet
        store.customers.add(make_customer(id="C1", registered_at=T - timedelta(days=100)))
        store.orders.add(make_order(id="O1", customer_id="C1", placed_at=T - timedelta(days=3)))
        score_customers(store, DEMO_CARD, as_of=T + timedelta(days=1))
        assert run_stability(store, DEMO_CARD.name) is None
    assert main(["risk", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 customers" in out
    assert "restrictions: 0 in force" in out


def test_an_appeal_with_a_longest_id_gets_its_service_ticket() -> None:
    store = SQLiteStore(":memory:")
    store.customers.add(make_customer(id="C1"))
    impose_restriction(store, id="R1", customer_id="C1", kind="restricted", reason="逾期",
                       actor="risk", start=T)
    appeal = submit_appeal(store, id="申" * 128, restriction_id="R1", statement="我不服",
                           at=T, actor="C1")
    assert appeal.ticket_id is not None
    assert len(appeal.ticket_id) <= 128
    assert store.tickets.get(appeal.ticket_id).customer_id == "C1"


@pytest.mark.parametrize("scores", [[1.0, float("inf"), 3.0, 4.0], ["a", "b", "c", "d"]])
def test_evaluate_refuses_scores_that_are_not_finite_numbers(scores: list[Any]) -> None:
    with pytest.raises(ValidationError, match="scores"):
        evaluate(np.array([0, 1, 0, 1]), scores)


@pytest.mark.parametrize("bins", [[float("nan")], [1.0, float("inf")], ["x"]])
def test_psi_refuses_edges_that_are_not_finite_numbers(bins: list[Any]) -> None:
    with pytest.raises(ValidationError, match="bins"):
        psi([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], bins=bins)


def test_psi_refuses_text_columns() -> None:
    with pytest.raises(ValidationError):
        psi(["a", "b"], [1.0, 2.0])


@pytest.mark.parametrize("kinds", [["nope"], "blacklisted", 3])
def test_restricted_customers_refuses_unknown_kinds_with_a_library_error(kinds: Any) -> None:
    with pytest.raises(ValidationError, match="kinds"):
        restricted_customers(_store_with_customer(), T, kinds=kinds)


def test_restricted_customers_takes_kinds_by_value() -> None:
    store = _store_with_customer()
    impose_restriction(store, id="R1", customer_id="C1", kind="blacklisted", reason="欺诈",
                       actor="risk", start=T)
    assert restricted_customers(store, T, kinds=["blacklisted"]) == {"C1"}
    assert restricted_customers(store, T, kinds=[RestrictionKind.RESTRICTED]) == frozenset()


def test_monotone_merge_finds_a_rising_bad_rate_for_values_near_the_float_limit() -> None:
    x = np.array([-1.7e308, -1e308, 1e308, 1.7e308] * 5)
    y = np.array([0, 0, 1, 1] * 5)
    cuts = np.array([-1.5e308, 0.0, 1.5e308])
    with np.errstate(all="raise"):
        kept = monotone_merge(cuts, x, y)
    assert kept.tolist() == cuts.tolist()  # rising already: nothing to merge
    assert monotone_merge(cuts / 1e300, x / 1e300, y).tolist() == (cuts / 1e300).tolist()


@pytest.mark.parametrize("specials", [{"b": [1]}, {"a": [float("nan")]}, {"a": "-1"}, [("a", 1)]])
def test_special_values_for_an_unknown_feature_or_not_numbers_are_refused(
        specials: Any) -> None:
    x = np.arange(20.0)
    with pytest.raises(ValidationError, match="specials"):
        ScorecardFitter(specials=specials).fit({"a": x}, np.array([0, 1] * 10))


def test_numpy_special_values_are_accepted() -> None:
    x = np.where(np.arange(20) % 2 == 1, -1.0, np.arange(20.0))
    fitter = ScorecardFitter(specials={"a": [np.int64(-1)]}).fit({"a": x}, np.array([0, 1] * 10))
    assert fitter.card.table("a").bins[-1].label == "= -1"


def test_the_overview_shows_restrictions_in_force_before_lifted_ones_and_counts_the_rest(
) -> None:
    store = _store_with_customer()
    for i in range(12):
        impose_restriction(store, id=f"R{i:02d}", customer_id="C1", kind="restricted",
                           reason="旧的", actor="risk", start=T)
        lift_restriction(store, f"R{i:02d}", at=T + timedelta(hours=1), actor="risk",
                         reason="已核实")
    impose_restriction(store, id="R99", customer_id="C1", kind="blacklisted", reason="欺诈",
                       actor="risk", start=T + timedelta(days=1))
    out = io.StringIO()
    print_risk_overview(store, T + timedelta(days=2), out)
    text = out.getvalue()
    assert "restrictions: 1 in force, 13 recorded" in text
    assert "R99" in text
    assert "... 3 more" in text


@pytest.mark.parametrize("make_store", [MemoryStore, lambda: SQLiteStore(":memory:")],
                         ids=["memory", "sqlite"])
def test_an_alert_for_a_customer_with_a_longest_id_is_stored_with_the_others(
        make_store: Any) -> None:
    store = make_store()
    long_id = "客" * 128
    for cid in (long_id, "C2"):
        store.customers.add(make_customer(id=cid, registered_at=T - timedelta(days=400)))
        for day in (10, 20):
            store.orders.add(make_order(customer_id=cid, placed_at=T - timedelta(days=day)))
    rule = ThresholdRule(name="unpaid-orders", feature="unpaid_count", op=">=", threshold=2)
    run = raise_alerts(store, [rule], as_of=T)
    assert sorted(a.customer_id for a in run.added) == sorted([long_id, "C2"])
    assert all(len(a.id) <= 128 for a in run.added)
    again = raise_alerts(store, [rule], as_of=T)
    assert again.added == ()
