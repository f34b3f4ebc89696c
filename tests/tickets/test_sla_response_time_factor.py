"""A customer's service level shortens its tickets' SLA targets (response_time_factor)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from _sla_support import calendars, tickets
from hypothesis import given, settings
from hypothesis import strategies as st
from test_sla_properties import FIXED_CALENDARS, START, moments, policies, ticket_lists

from custmgmt.adapters.memory import MemoryStore
from custmgmt.calendars import BusinessCalendar
from custmgmt.errors import ValidationError
from custmgmt.rating import (
    RatingRun,
    ServiceLevel,
    ServiceLevels,
    current_stars,
    response_time_factors,
)
from custmgmt.rating.records import CustomerRating
from custmgmt.tickets import (
    Ticket,
    default_calendar,
    default_sla_policy,
    open_ticket_report,
)
from custmgmt.tickets.sla import SLAMetric, SLAPolicy, SLATargets, sla_status
from custmgmt.tickets.sla_vectorised import sla_status_many

# A Monday 10:00 in Shanghai: inside office hours.
OPENED = datetime(2024, 9, 23, 2, 0, tzinfo=UTC)
H = timedelta(hours=1)


def _ticket(customer_id: str = "c-1", ticket_id: str = "T-1") -> Ticket:
    return Ticket.open(
        id=ticket_id, customer_id=customer_id, category="logistics", priority="normal",
        subject="快递三天没有更新", at=OPENED, actor="web",
    )


def test_a_five_star_customers_targets_are_due_earlier_by_the_factor_in_business_time() -> None:
    levels = ServiceLevels.default()
    policy, calendar = default_sla_policy(), default_calendar()
    ticket = _ticket()
    as_of = OPENED + 5 * timedelta(minutes=1)
    one = sla_status(ticket, policy, calendar, as_of, factor=levels.response_time_factor_for(1))
    five = sla_status(ticket, policy, calendar, as_of, factor=levels.response_time_factor_for(5))
    for metric in ("first_response", "resolution"):
        slow, fast = getattr(one, metric), getattr(five, metric)
        assert slow.due_at is not None
        assert fast.due_at is not None
        assert fast.due_at < slow.due_at
        assert fast.target == slow.target * 0.5
        # Measured in the calendar's working time from creation, not in wall time.
        assert calendar.business_time_between(OPENED, fast.due_at) == fast.target
        assert calendar.business_time_between(OPENED, slow.due_at) == 2 * fast.target
    # Normal priority, 4 business hours to the first response: 2 hours for 5 stars.
    assert five.first_response is not None
    assert five.first_response.target == 2 * H


def test_unrated_customers_keep_the_targets() -> None:
    assert ServiceLevels.default().response_time_factor_for(None) == 1.0
    targets = SLATargets(first_response=H, resolution=8 * H)
    assert targets.scaled(1.0) is targets
    assert targets.scaled(0.75) == SLATargets(first_response=0.75 * H, resolution=6 * H)


@pytest.mark.parametrize("bad", [0, -0.5, float("nan"), float("inf"), True, "0.5", None])
def test_a_factor_that_is_not_a_positive_number_is_refused(bad: object) -> None:
    with pytest.raises(ValidationError, match="factor"):
        sla_status(_ticket(), default_sla_policy(), default_calendar(), OPENED, factor=bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="factors"):
        sla_status_many([_ticket()], default_sla_policy(), default_calendar(), OPENED,
                        factors=[bad])  # type: ignore[list-item]


def test_one_factor_per_ticket_is_required() -> None:
    with pytest.raises(ValidationError, match="one factor per ticket"):
        sla_status_many([_ticket()], default_sla_policy(), default_calendar(), OPENED,
                        factors=[0.5, 1.0])


@settings(max_examples=150, deadline=None)
@given(
    st.data(),
    st.one_of(FIXED_CALENDARS, calendars()),
    policies(),
    ticket_lists(),
)
def test_the_vectorised_engine_equals_the_reference_with_factors(
    data: st.DataObject, calendar: BusinessCalendar, policy: SLAPolicy, ts: list[Ticket]
) -> None:
    as_of = data.draw(moments(ts))
    factors = data.draw(
        st.lists(
            st.sampled_from([0.5, 0.75, 0.9, 1.0, 1.5]) | st.floats(0.01, 3.0),
            min_size=len(ts), max_size=len(ts),
        )
    )
    expected = [
        sla_status(t, policy, calendar, as_of, factor=f)
        for t, f in zip(ts, factors, strict=True)
    ]
    assert sla_status_many(ts, policy, calendar, as_of, factors=factors).to_list() == expected


@settings(max_examples=60, deadline=None)
@given(tickets(START), st.floats(0.05, 1.0))
def test_a_smaller_factor_never_gives_a_later_deadline(ticket: Ticket, factor: float) -> None:
    ticket = attrs.evolve(ticket, id="T-0")
    policy = SLAPolicy(targets={p: SLATargets(first_response=4 * H, resolution=24 * H)
                                for p in ("low", "normal", "high", "urgent")})
    calendar = default_calendar("UTC")
    as_of = ticket.events[-1].at
    full = sla_status(ticket, policy, calendar, as_of)
    scaled = sla_status(ticket, policy, calendar, as_of, factor=factor)
    for metric in SLAMetric:
        a, b = full.__getattribute__(metric.value), scaled.__getattribute__(metric.value)
        if a is None or b is None:
            continue
        assert b.target <= a.target
        if a.due_at is not None and b.due_at is not None:
            assert b.due_at <= a.due_at


def _rated(store: MemoryStore, stars: dict[str, int]) -> None:
    run = RatingRun(
        id="run-1", as_of=OPENED - 24 * H, created_at=OPENED - 24 * H, policy_json="{}",
        customer_count=len(stars),
    )
    store.ratings.save_run(
        run,
        [
            CustomerRating(run_id="run-1", customer_id=cid, score=float(s), stars=s,
                           computed_stars=s)
            for cid, s in stars.items()
        ],
    )


def test_the_open_ticket_list_gives_the_five_star_customer_half_the_time() -> None:
    store = MemoryStore()
    _rated(store, {"c-vip": 5, "c-new": 1})
    store.tickets.add(_ticket("c-vip", "T-vip"))
    store.tickets.add(_ticket("c-new", "T-new"))
    at = OPENED + 30 * timedelta(minutes=1)
    stars = current_stars(store, at)
    report = open_ticket_report(store, at, stars=stars, factors=response_time_factors(stars))
    lines = {line.split()[0]: line for line in report.format().splitlines() if "T-" in line}
    assert "first response: 1h30m left" in lines["T-vip"]
    assert "first response: 3h30m left" in lines["T-new"]
    # A custom map applies too.
    custom = ServiceLevels(levels={s: ServiceLevel(response_time_factor=1.0) for s in range(1, 6)})
    report = open_ticket_report(store, at, stars=stars,
                                factors=response_time_factors(stars, custom))
    assert report.format().count("3h30m left") == 2
