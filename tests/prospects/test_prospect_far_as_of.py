"""Time in stage up to a far ``as_of``: the stays' sum and mean in whole microseconds
(a sum of timedeltas overflowed: ``prospects --as-of 8999-12-31`` crashed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from custmgmt.prospects import DEFAULT_PIPELINE, time_in_stage
from custmgmt.testing.prospect_contract import make_prospect


def test_stays_up_to_year_8999_are_summed_without_overflow() -> None:
    # 400 stays of about 2.5 million days each pass timedelta's 999,999,999 days.
    prospects = [make_prospect(id=f"p-{k}") for k in range(450)]
    as_of = datetime(8999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    times = time_in_stage(prospects, DEFAULT_PIPELINE, as_of=as_of)
    assert times, "every prospect is still in its first stage"
    for stage in times:
        stays = sorted(
            as_of - p.history[-1].at for p in prospects if p.history[-1].to_stage == stage.stage
        )
        micros = [s // timedelta(microseconds=1) for s in stays]
        assert stage.count == len(stays)
        assert stage.mean // timedelta(microseconds=1) == round(Fraction(sum(micros), len(micros)))
        assert stays[0] <= stage.median <= stays[-1]
