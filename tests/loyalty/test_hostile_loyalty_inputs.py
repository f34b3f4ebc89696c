"""Hostile inputs to the loyalty services: dates near year 9999, naive moments for tiers,
a string where customer ids are expected, corrections dated before registration, points
beyond 2**53 in the vectorised balances, ledger columns out of range or fractional."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from _loyalty_support import T0, paid_order

from custmgmt.errors import NotFound, ValidationError
from custmgmt.loyalty import (
    DEFAULT_PROGRAM,
    EntryKind,
    Expiry,
    Program,
    TierScheme,
    adjust_points,
    earn_for_order,
    earn_points,
    expire_points,
    statement,
    take_snapshot,
    tier_status,
    update_tier,
)
from custmgmt.loyalty.balances import KIND_CODES, LedgerColumns, balances
from custmgmt.loyalty.ports import LoyaltyStore

NEAR_THE_END = datetime(9999, 12, 31, 23, tzinfo=UTC)


def test_a_statement_near_year_9999_is_a_validation_error(store: LoyaltyStore) -> None:
    with pytest.raises(ValidationError, match="as_of"):
        statement(store, "C-1", as_of=NEAR_THE_END)


def test_a_tier_status_near_year_9999_is_a_validation_error(store: LoyaltyStore) -> None:
    with pytest.raises(ValidationError, match="as_of"):
        tier_status(store, "C-1", as_of=NEAR_THE_END)


def test_an_award_whose_expiry_passes_year_9999_is_a_validation_error(
    store: LoyaltyStore,
) -> None:
    with pytest.raises(ValidationError, match="at"):
        earn_points(store, "C-1", rule="lottery", key="late", at=datetime(9999, 6, 1, tzinfo=UTC),
                    points=5, program=DEFAULT_PROGRAM)
    with pytest.raises(ValidationError, match="at"):
        adjust_points(store, "C-1", 5, key="late", at=datetime(9999, 6, 1, tzinfo=UTC),
                      actor="agent", reason="补偿")
    assert list(store.loyalty.entries("C-1")) == []


@pytest.mark.parametrize("service", [tier_status, update_tier])
def test_a_naive_as_of_for_tiers_is_a_validation_error(
    store: LoyaltyStore, service: object
) -> None:
    with pytest.raises(ValidationError, match="as_of"):
        service(store, "C-1", as_of=datetime(2026, 1, 1))  # type: ignore[operator]


def test_a_single_string_of_customer_ids_is_refused(store: LoyaltyStore) -> None:
    adjust_points(store, "C-1", 5, key="a", at=T0, actor="agent", reason="补偿")
    with pytest.raises(ValidationError, match="customer_ids"):
        expire_points(store, as_of=T0 + timedelta(days=4000), customer_ids="C-1")
    assert expire_points(store, as_of=T0 + timedelta(days=4000), customer_ids=["C-1"])


def test_a_correction_before_registration_is_refused(store: LoyaltyStore) -> None:
    with pytest.raises(ValidationError, match="registration"):
        adjust_points(store, "C-1", 5, key="early", at=T0 - timedelta(days=1), actor="agent",
                      reason="补偿")
    assert list(store.loyalty.entries("C-1")) == []


def test_vectorised_balances_stay_exact_beyond_2_to_the_53(store: LoyaltyStore) -> None:
    adjust_points(store, "C-1", 2**60 + 1, key="a", at=T0, actor="agent", reason="迁移")
    adjust_points(store, "C-1", -3, key="b", at=T0 + timedelta(days=1), actor="agent", reason="r")
    adjust_points(store, "C-1", 2**61 + 7, key="c", at=T0 + timedelta(days=2), actor="agent",
                  reason="迁移")
    as_of = T0 + timedelta(days=3)
    table = balances(LedgerColumns.from_entries(store.loyalty.entries("C-1")), as_of=as_of)
    assert table.of("C-1") == statement(store, "C-1", as_of=as_of).balance == 2**60 + 2**61 + 5


def _columns(**changed: object) -> dict[str, object]:
    earn, redeem = KIND_CODES[EntryKind.EARN], KIND_CODES[EntryKind.REDEEM]
    never = np.iinfo(np.int64)
    columns: dict[str, object] = {
        "customer_ids": ["C-1"], "customer": [0, 0], "kind": [earn, redeem],
        "points": [10, -3], "debt": [0, 0], "at": [1, 2], "expires_at": [10**15, never.max],
        "locked_until": [never.min, never.min], "lot": [-1, -1], "draw_entry": [1],
        "draw_lot": [0], "draw_points": [3],
    }
    columns.update(changed)
    return columns


def test_ledger_columns_from_arrays_are_balanced_when_valid() -> None:
    ledger = LedgerColumns.from_arrays(**_columns())
    assert balances(ledger, as_of=datetime(2000, 1, 1, tzinfo=UTC)).of("C-1") == 7


@pytest.mark.parametrize(
    ("name", "value"),
    [("draw_entry", [99]), ("draw_entry", [-1]), ("kind", [0, 99]), ("kind", [0, -1]),
     ("kind", [0, 300]), ("points", [10.5, -3.0]), ("draw_points", [2.9])],
)
def test_ledger_columns_out_of_range_or_fractional_are_refused(name: str, value: object) -> None:
    with pytest.raises(ValidationError, match=name):
        LedgerColumns.from_arrays(**_columns(**{name: value}))


@pytest.mark.parametrize(
    "build",
    [
        lambda: Expiry(mode="days", amount=10**9),
        lambda: Program(rules=DEFAULT_PROGRAM.rules, return_window_days=10**9),
        lambda: TierScheme(tiers=TierScheme.default().tiers, window_days=10**9),
        lambda: TierScheme(tiers=TierScheme.default().tiers, period_days=10**9),
        lambda: TierScheme(tiers=TierScheme.default().tiers, grace_days=10**9),
    ],
    ids=["expiry", "return window", "tier window", "review period", "grace"],
)
def test_spans_longer_than_the_calendar_are_refused_when_built(build: object) -> None:
    with pytest.raises(ValidationError, match="3,652,058"):
        build()  # type: ignore[operator]


LONGEST = 3_652_058


@pytest.mark.parametrize(
    "program",
    [
        Program(rules=DEFAULT_PROGRAM.rules, tiers=None, return_window_days=LONGEST),
        Program(rules=DEFAULT_PROGRAM.rules, tiers=None,
                expiry=Expiry(mode="days", amount=LONGEST)),
        Program(rules=DEFAULT_PROGRAM.rules, tiers=TierScheme(
            tiers=TierScheme.default().tiers, window_days=LONGEST, period_days=LONGEST,
            grace_days=LONGEST)),
    ],
    ids=["return window", "expiry", "tier spans"],
)
def test_the_longest_spans_give_a_validation_error_not_an_overflow(
    store: LoyaltyStore, program: Program
) -> None:
    store.orders.add(paid_order("O-1", "100.00", T0 + timedelta(days=1)))
    with pytest.raises(ValidationError):
        earn_for_order(store, "O-1", program=program)
    assert list(store.loyalty.entries("C-1")) == []


def test_no_snapshot_is_kept_for_a_customer_who_is_not_there(store: LoyaltyStore) -> None:
    with pytest.raises(NotFound):
        take_snapshot(store, "NOBODY")
    assert store.loyalty.snapshot("NOBODY") is None
