"""The tier walk's window sums: equal to the obvious sums, and not quadratic in the events.

Earning evaluates the tier (its multiplier) on every award, so a walk quadratic in the
events made a long ledger's awards cubic: 1,500 orders took minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from _loyalty_support import T0
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.loyalty import Tier, TierEvent, TierScheme, evaluate_tier
from custmgmt.loyalty import tiers as tiers_module

TIERS = (
    Tier(name="普通", threshold=0),
    Tier(name="银卡", threshold=1000, multiplier=Decimal("1.5")),
    Tier(name="金卡", threshold=3000, free_shipping=True),
)


class _ObviousRunning:
    """The definition: sum every event in the window; the last level at or before."""

    def __init__(self, events: Sequence[TierEvent]) -> None:
        self.events = events

    def window_sum(self, at: datetime, window: timedelta) -> int:
        return sum(e.points for e in self.events if at - window < e.at <= at)

    def stars_at(self, at: datetime) -> int:
        level = 0
        for e in self.events:
            if e.at <= at:
                level = e.points
        return level


events_strategy = st.lists(
    st.tuples(st.integers(0, 900), st.integers(-1500, 2500), st.sampled_from("ABCD")),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(raw=events_strategy, mode=st.sampled_from(["none", "automatic", "periodic"]),
       basis=st.sampled_from(["points", "stars"]), as_of=st.integers(0, 1000))
def test_the_walk_equals_the_walk_over_obvious_window_sums(
    raw: list[tuple[int, int, str]], mode: str, basis: str, as_of: int
) -> None:
    if basis == "stars":
        raw = [(d, abs(p) % 3, s) for d, p, s in raw]
        scheme = TierScheme(tiers=(Tier(name="一星", threshold=0), Tier(name="二星", threshold=1),
                                   Tier(name="三星", threshold=2)),
                            downgrade=mode, window_days=365, basis="stars")  # type: ignore[arg-type]
    else:
        scheme = TierScheme(tiers=TIERS, downgrade=mode, window_days=365)  # type: ignore[arg-type]
    events = [TierEvent(at=T0 + timedelta(days=d), points=p, source=s) for d, p, s in raw]

    def run():  # type: ignore[no-untyped-def]
        return evaluate_tier(scheme, events, customer_id="C-1", registered_at=T0,
                             as_of=T0 + timedelta(days=as_of))

    fast = run()
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(tiers_module, "_Running", _ObviousRunning)
        slow = run()
    assert fast == slow


class _Unreadable(list):  # type: ignore[type-arg]
    """Events that may not be scanned again once the running sums are built."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        raise AssertionError("a window sum scanned the events")


def test_a_window_sum_reads_no_event_after_the_prefix_sums_are_built() -> None:
    # Summing each window afresh made one evaluation quadratic in the events (15,000
    # events: 28 s) and earning, which evaluates the tier on every award, cubic.
    events = [TierEvent(at=T0 + timedelta(hours=6 * i), points=50, source=f"L{i:05d}")
              for i in range(2000)]
    running = tiers_module._Running(events)
    running.events = _Unreadable(events)
    assert running.window_sum(T0 + timedelta(days=100), timedelta(days=30)) == 50 * 4 * 30
    assert running.window_sum(T0 + timedelta(days=10_000), timedelta(days=365)) == 0
    assert running.stars_at(T0 + timedelta(days=1)) == 50


def test_a_long_ledger_asks_a_linear_number_of_window_sums() -> None:
    events = [TierEvent(at=T0 + timedelta(hours=6 * i), points=50, source=f"L{i:05d}")
              for i in range(15000)]
    scheme = TierScheme(tiers=TIERS, downgrade="periodic", window_days=365)  # type: ignore[arg-type]
    asked = 0
    real = tiers_module._Running.window_sum

    def counted(self, at, window):  # type: ignore[no-untyped-def]
        nonlocal asked
        asked += 1
        return real(self, at, window)

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(tiers_module._Running, "window_sum", counted)
        status = evaluate_tier(scheme, events, customer_id="C-1", registered_at=T0,
                               as_of=T0 + timedelta(days=3800))
    assert status.tier.name == "金卡"
    assert 0 < asked <= 4 * len(events)
