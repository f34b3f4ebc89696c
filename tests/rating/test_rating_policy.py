"""RatingPolicy: data, validation, round trips and schedules."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.errors import ValidationError
from custmgmt.rating import (
    WEIGHT_TOLERANCE,
    Hysteresis,
    RatingPolicy,
    Schedule,
    StarBands,
)
from custmgmt.scoring import Normalisation, Registry


def policy_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "criteria": {"spend": {"weight": 0.6}, "frequency": {"weight": 0.4}},
    }
    data.update(changes)
    return data


def test_the_default_policy_is_the_documented_60_30_10_policy() -> None:
    policy = RatingPolicy.default()
    assert [(c.name, c.feature, c.weight, c.normalisation) for c in policy.criteria] == [
        ("spend", "monetary_net", 0.6, Normalisation.PERCENTILE_RANK),
        ("frequency", "frequency", 0.3, Normalisation.PERCENTILE_RANK),
        ("category_breadth", "category_breadth", 0.1, Normalisation.PERCENTILE_RANK),
    ]
    assert policy.levels == 5
    assert policy.bands == StarBands(kind="quantile", cuts=(0.30, 0.60, 0.80, 0.95))
    assert policy.hysteresis == Hysteresis()
    assert policy.schedule == Schedule(rule="monthly", timezone="UTC")
    assert policy.features == ("monetary_net", "frequency", "category_breadth")


def test_a_policy_round_trips_through_dict_and_json_with_chinese_names() -> None:
    policy = RatingPolicy.from_dict(
        {
            "name": "会员等级",
            "criteria": {
                "spend": {"weight": 0.5, "normalisation": "log"},
                "complaints": {"weight": 0.2},
                "忠诚度": {"weight": 0.3, "feature": "tenure", "normalisation": "capped",
                          "cap": 730},
            },
            "bands": {"kind": "absolute", "cuts": [0.2, 0.4, 0.6, 0.8]},
            "hysteresis": {"margin": 0.05, "consecutive": 2},
            "schedule": {"rule": "quarterly", "timezone": "Asia/Shanghai"},
        }
    )
    assert RatingPolicy.from_dict(policy.to_dict()) == policy
    text = policy.to_json()
    assert "会员等级" in text
    assert RatingPolicy.from_json(text) == policy
    assert json.loads(text)["criteria"]["complaints"]["direction"] == "lower"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=4),
    st.integers(min_value=2, max_value=7),
    st.sampled_from(["quantile", "absolute"]),
)
def test_any_valid_policy_round_trips_through_json(
    raw_weights: list[int], levels: int, kind: str
) -> None:
    names = ["spend", "frequency", "category_breadth", "complaints"][: len(raw_weights)]
    total = sum(raw_weights)
    weights = [w / total for w in raw_weights]
    weights[-1] = 1.0 - sum(weights[:-1])
    cuts = [i / levels for i in range(1, levels)]
    policy = RatingPolicy.from_dict(
        {
            "criteria": {n: {"weight": w} for n, w in zip(names, weights, strict=True)},
            "levels": levels,
            "bands": {"kind": kind, "cuts": cuts},
        }
    )
    assert RatingPolicy.from_json(policy.to_json()) == policy


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (policy_data(criteria={"spend": {"weight": 0.5}, "frequency": {"weight": 0.4}}),
         "criteria.weights"),
        (policy_data(criteria={"spend": {"weight": 1.2}, "frequency": {"weight": -0.2}}),
         "criteria.frequency.weight"),
        (policy_data(criteria={"spend": {"weight": 0.6}, "charm": {"weight": 0.4}}), "criteria"),
        (policy_data(criteria={"spend": {"weight": 0.6},
                               "x": {"weight": 0.4, "feature": "no_such_feature"}}),
         "criteria.x.feature"),
        (policy_data(criteria={"spend": {"weight": 1.0, "normalisation": "median"}}),
         "criteria.spend.normalisation"),
        (policy_data(criteria={"spend": {"weight": 1.0, "colour": "red"}}),
         "criteria.spend.colour"),
        (policy_data(criteria={"spend": {}}), "criteria.spend.weight"),
        (policy_data(criteria={}), "criteria"),
        (policy_data(bands={"kind": "quantile", "cuts": [0.2, 0.6, 0.4, 0.8]}), "bands.cuts"),
        (policy_data(bands={"kind": "absolute", "cuts": [0.2, 0.2, 0.4, 0.8]}), "bands.cuts"),
        (policy_data(bands={"kind": "quantile", "cuts": [0.2, 0.4, 0.6, 1.0]}), "bands.cuts"),
        (policy_data(bands={"kind": "quantile", "cuts": [0.5]}), "bands.cuts"),
        (policy_data(bands={"kind": "ranked", "cuts": [0.2, 0.4, 0.6, 0.8]}), "bands.kind"),
        (policy_data(levels=1), "levels"),
        (policy_data(hysteresis={"margin": -0.1}), "hysteresis.margin"),
        (policy_data(hysteresis={"consecutive": 0}), "hysteresis.consecutive"),
        (policy_data(schedule="fortnightly-ish"), "schedule.rule"),
        (policy_data(schedule={"rule": "monthly", "timezone": "Mars/Olympus"}),
         "schedule.timezone"),
        (policy_data(flavour="vanilla"), "policy"),
    ],
)
def test_bad_policies_are_validation_errors_naming_what_is_wrong(
    data: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        RatingPolicy.from_dict(data)
    assert caught.value.field == field


def test_weights_may_miss_1_by_float_rounding_only() -> None:
    ok = {"spend": {"weight": 0.1}, "frequency": {"weight": 0.2}, "category_breadth":
          {"weight": 0.7}}
    RatingPolicy.from_dict({"criteria": ok})
    off = {"spend": {"weight": 0.6}, "frequency": {"weight": 0.4 + 10 * WEIGHT_TOLERANCE}}
    with pytest.raises(ValidationError, match="adding up to 1"):
        RatingPolicy.from_dict({"criteria": off})


def test_invalid_json_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="JSON"):
        RatingPolicy.from_json("{not json")


def test_a_host_registry_supplies_its_own_criteria() -> None:
    registry = Registry()
    registry.register_criterion("vip", feature="vip_points")
    policy = RatingPolicy.from_dict({"criteria": {"vip": {"weight": 1.0}}}, registry=registry)
    assert policy.criterion("vip").feature == "vip_points"
    with pytest.raises(ValidationError, match="criteria"):
        RatingPolicy.from_dict({"criteria": {"spend": {"weight": 1.0}}}, registry=registry)


def test_levels_other_than_five_get_even_quantile_bands_by_default() -> None:
    policy = RatingPolicy.from_dict(policy_data(levels=3))
    assert policy.bands.cuts == pytest.approx((1 / 3, 2 / 3))


def test_monthly_runs_fall_at_midnight_on_the_first() -> None:
    policy = RatingPolicy.default()
    runs = policy.next_runs(after=datetime(2026, 1, 31, 12, tzinfo=UTC), count=3)
    assert [r.isoformat() for r in runs] == [
        "2026-02-01T00:00:00+00:00",
        "2026-03-01T00:00:00+00:00",
        "2026-04-01T00:00:00+00:00",
    ]
    exactly = policy.next_runs(after=datetime(2026, 2, 1, tzinfo=UTC))
    assert exactly[0].month == 3


def test_quarterly_runs_in_the_schedules_timezone() -> None:
    schedule = Schedule(rule="quarterly", timezone="Asia/Shanghai")
    runs = schedule.next_runs(datetime(2026, 3, 31, 17, tzinfo=UTC), count=2)
    # 17:00 UTC on 31 March is already 1 April in Shanghai: the April run has passed.
    assert [r.isoformat() for r in runs] == [
        "2026-07-01T00:00:00+08:00",
        "2026-10-01T00:00:00+08:00",
    ]
    assert runs[0].tzinfo == ZoneInfo("Asia/Shanghai")


def test_any_rrule_can_schedule_runs() -> None:
    schedule = Schedule(rule="FREQ=WEEKLY;BYDAY=MO;BYHOUR=6;BYMINUTE=0;BYSECOND=0")
    runs = schedule.next_runs(datetime(2026, 1, 1, tzinfo=UTC), count=2)
    assert [r.isoformat() for r in runs] == [
        "2026-01-05T06:00:00+00:00",
        "2026-01-12T06:00:00+00:00",
    ]
    policy = RatingPolicy.from_dict(policy_data(schedule=schedule.to_dict()))
    assert policy.previous_run_time(datetime(2026, 1, 7, tzinfo=UTC)) == runs[0]


def test_schedules_refuse_naive_times_and_bad_counts() -> None:
    with pytest.raises(ValidationError, match="after"):
        RatingPolicy.default().next_runs(after=datetime(2026, 1, 1))
    with pytest.raises(ValidationError, match="count"):
        RatingPolicy.default().next_runs(after=datetime(2026, 1, 1, tzinfo=UTC), count=0)
    with pytest.raises(ValidationError, match="DTSTART"):
        Schedule(rule="DTSTART:20260101T000000\nRRULE:FREQ=DAILY")
