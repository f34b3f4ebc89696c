"""Tickets near the ends of datetime's calendar and factors past timedelta's range:
clear errors, never OverflowError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from _ticket_support import new_ticket

from custmgmt.adapters.memory import MemoryStore
from custmgmt.errors import ValidationError
from custmgmt.testing import make_customer
from custmgmt.tickets import (
    SLATargets,
    default_calendar,
    default_sla_policy,
    open_ticket,
    open_ticket_report,
    sla_status,
    sla_status_many,
)
from custmgmt.tickets.sla import MAX_TARGET


def test_sla_status_many_whose_clock_runs_past_9999_is_a_validation_error() -> None:
    at = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    ticket = new_ticket(at=at)
    with pytest.raises(ValidationError, match="within years 1 to 9999") as caught:
        sla_status_many([ticket], default_sla_policy(), default_calendar("Asia/Shanghai"), at)
    assert caught.value.field == "as_of"


@pytest.mark.parametrize("at", [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 25, tzinfo=UTC)])
@pytest.mark.parametrize("later", [timedelta(0), timedelta(hours=5), timedelta(days=2)])
def test_sla_status_many_near_the_ends_of_the_calendar_equals_the_reference(
    at: datetime, later: timedelta,
) -> None:
    """The table's days around the span are clamped to the calendar's ends, so a clock
    near them is measured (it was refused: the table's day before year 1 overflowed)."""
    ticket = new_ticket(at=at)
    policy, calendar = default_sla_policy(), default_calendar("Asia/Shanghai")
    many = sla_status_many([ticket], policy, calendar, at + later)
    assert many.status(0) == sla_status(ticket, policy, calendar, at + later)


def test_the_open_ticket_report_of_a_ticket_opened_in_year_one_is_measured() -> None:
    store = MemoryStore()
    store.customers.add(make_customer(id="C-1"))
    at = datetime(1, 1, 1, tzinfo=UTC)
    open_ticket(store, id="T-1", customer_id="C-1", category="logistics", priority="high",
                subject="快递没有更新", at=at, actor="web")
    report = open_ticket_report(store, at, calendar=default_calendar("Asia/Shanghai"))
    assert "T-1" in report.format()


@pytest.mark.parametrize("factor", [1e12, 1e300, 10**400], ids=["1e12", "1e300", "10**400"])
def test_a_factor_too_large_for_a_timedelta_is_a_validation_error_in_both_engines(
    factor: float,
) -> None:
    ticket = new_ticket()
    policy, calendar = default_sla_policy(), default_calendar("Asia/Shanghai")
    as_of = ticket.created_at
    with pytest.raises(ValidationError, match="factor"):
        sla_status(ticket, policy, calendar, as_of, factor=factor)
    with pytest.raises(ValidationError, match="factor"):
        sla_status_many([ticket], policy, calendar, as_of, factors=[factor])


def test_scaled_targets_past_timedelta_range_are_a_validation_error() -> None:
    targets = SLATargets(first_response=timedelta(hours=4))
    with pytest.raises(ValidationError, match="factor"):
        targets.scaled(1e300)


@pytest.mark.parametrize("target", [timedelta.max, timedelta(days=10**6)], ids=["max", "1e6d"])
def test_a_target_of_centuries_is_refused_when_the_policy_is_made(target: timedelta) -> None:
    # timedelta.max crashed sla_status_many with OverflowError; a million days made it
    # build a business-day table for minutes.
    with pytest.raises(ValidationError, match=r"SLATargets\.first_response"):
        SLATargets(first_response=target)


def test_a_ten_year_target_is_still_accepted() -> None:
    assert SLATargets(resolution=MAX_TARGET).resolution == MAX_TARGET


@pytest.mark.parametrize("level", ["5", 4.5, True, -1], ids=["text", "float", "bool",
                                                             "negative"])
def test_open_ticket_report_refuses_stars_that_are_not_whole_numbers(level: object) -> None:
    store = MemoryStore()
    store.customers.add(make_customer(id="C-1"))
    at = datetime(2026, 6, 1, 9, tzinfo=UTC)
    open_ticket(store, id="T-1", customer_id="C-1", category="logistics", priority="high",
                subject="快递没有更新", at=at, actor="web")
    with pytest.raises(ValidationError, match=r"stars\['C-1'\]"):
        open_ticket_report(store, at, stars={"C-1": level})  # type: ignore[dict-item]
