"""Anniversary reviews over centuries (round 35d).

``_next_review`` counted anniversaries from 1 for every review, so a walk over n years
of reviews built O(n^2) dates (a member since year 1 evaluated in year 3000: 31 s, in
8999 minutes). It now starts two years short of the moment; the reviews are the same
as the obvious count from 1.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.loyalty import ReviewAnchor, TierEvent, TierScheme, evaluate_tier
from custmgmt.loyalty import tiers as tiers_module

SCHEME = attrs.evolve(TierScheme.default(), anchor=ReviewAnchor.ANNIVERSARY, grace_days=0)


def _reference(registered_at: datetime, after: datetime) -> datetime:
    k = 1
    while registered_at + relativedelta(years=k) <= after:
        k += 1
    return registered_at + relativedelta(years=k)


_zones = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-11))])


@settings(max_examples=300, deadline=None)
@given(
    registered=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9000, 1, 1),
                            timezones=_zones),
    years=st.integers(0, 900),
    extra=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=800)),
    zone=_zones,
)
def test_the_next_anniversary_is_the_obvious_one(
    registered: datetime, years: int, extra: timedelta, zone: Any
) -> None:
    try:
        after = (registered + relativedelta(years=years) + extra).astimezone(zone)
        expected = _reference(registered, after)
    except (OverflowError, ValueError):  # past year 9999: out of the calendar
        return
    got = tiers_module._next_review(SCHEME, registered, registered, after)
    assert got == expected
    assert got > after


def test_a_walk_over_three_thousand_years_builds_a_linear_number_of_dates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = 0
    real = tiers_module.relativedelta

    def counting(*args: Any, **kwargs: Any) -> relativedelta:
        nonlocal built
        built += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(tiers_module, "relativedelta", counting)
    registered = datetime(1, 1, 1, tzinfo=UTC)
    status = evaluate_tier(
        SCHEME, [TierEvent(at=registered + timedelta(days=1), points=5000, source="客户-1#1")],
        customer_id="客户-1", registered_at=registered, as_of=datetime(3000, 1, 1, tzinfo=UTC),
    )
    # Up at the award, then down at the first review that finds too few points.
    assert [c.reason for c in status.history] == ["registration", "upgrade", "review"]
    assert status.review_at == datetime(3000, 1, 1, tzinfo=UTC) + relativedelta(years=1)
    # About 3,000 reviews, a few dates each (the count from 1 built about 4.5 million).
    assert built < 20 * 3000
