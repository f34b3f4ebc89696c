"""Segment rules and schemes refuse input that would break evaluation later."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from custmgmt.errors import ValidationError
from custmgmt.segmentation import (
    Always,
    Between,
    Columns,
    Compare,
    Not,
    QuantileCut,
    Rule,
    Scheme,
    Segment,
    feature,
    rule_from_dict,
    rule_from_json,
)
from custmgmt.segmentation.rules import MAX_RULE_DEPTH
from custmgmt.segmentation.schemes import MAX_SEGMENTS

TABLE = Columns(["a", "b"], {"x": [1.0, 5.0]})


def nested_nots(depth: int) -> dict[str, object]:
    data: dict[str, object] = {"type": "compare", "feature": "x", "op": ">", "value": 2}
    for _ in range(depth - 1):
        data = {"type": "not", "rule": data}
    return data


def test_rules_nested_up_to_the_limit_evaluate_and_round_trip() -> None:
    rule = rule_from_dict(nested_nots(MAX_RULE_DEPTH))
    expected = [True, False] if MAX_RULE_DEPTH % 2 == 0 else [False, True]
    assert rule.evaluate(TABLE).tolist() == expected
    assert rule_from_json(rule.to_json()) == rule


def wrap(times: int, step: Callable[[Rule, int], Rule]) -> Rule:
    rule: Rule = Compare(feature="x", op=">", value=2)
    for i in range(times):
        rule = step(rule, i)
    return rule


def test_a_rule_nested_5000_deep_is_refused_when_built() -> None:
    with pytest.raises(ValidationError, match=r"^Not\.rule: .*at most 100 deep"):
        wrap(5000, lambda rule, _: Not(rule=rule))


def test_a_rule_nested_5000_deep_is_refused_when_read() -> None:
    with pytest.raises(ValidationError, match=r"^rule(\.rule)+: .*at most 100 deep"):
        rule_from_dict(nested_nots(5000))


def test_deep_and_or_nesting_counts_too() -> None:
    with pytest.raises(ValidationError, match="at most 100 deep"):
        wrap(200, lambda rule, i: (rule | Always()) if i % 2 else (rule & Always()))


@pytest.mark.parametrize("parse", [rule_from_json, Scheme.from_json])
def test_json_nested_100000_deep_is_a_validation_error(parse: object) -> None:
    with pytest.raises(ValidationError, match="JSON nested under 1,000 levels"):
        parse("[" * 100_000 + "]" * 100_000)  # type: ignore[operator]


def test_unknown_keys_of_mixed_types_are_named() -> None:
    with pytest.raises(ValidationError, match=r"^rule: got \[1, 'colour'\], expected only"):
        rule_from_dict({"type": "compare", "feature": "x", "op": ">", "value": 1,
                        "colour": "red", 1: 2})  # type: ignore[dict-item]


def test_schemes_refuse_unknown_keys_of_any_type() -> None:
    segment = {"name": "a", "rule": {"type": "always"}}
    with pytest.raises(ValidationError, match=r"^scheme\.segments\[0\]: got \[2, 'descr'\]"):
        Scheme.from_dict({"name": "s", "default": "d",
                          "segments": [{**segment, "descr": "x", 2: 3}]})
    with pytest.raises(ValidationError, match=r"^scheme: got \['defualt'\]"):
        Scheme.from_dict({"name": "s", "defualt": "d", "segments": [segment]})


@pytest.mark.parametrize(
    "make",
    [
        lambda: Compare(feature="x", op=">", value=10**400),
        lambda: Between(feature="x", low=-(10**400), high=1),
        lambda: QuantileCut(feature="x", op=">", q=10**400),
        lambda: feature("x") <= -(10**400),
    ],
)
def test_rule_values_beyond_float_range_are_refused(make: object) -> None:
    with pytest.raises(ValidationError, match=r"got <(negative )?integer of about 401 digits>"):
        make()  # type: ignore[operator]


def test_a_scheme_with_more_segments_than_int16_codes_is_refused() -> None:
    rule = Always()
    segments = [Segment(name=f"s{i}", rule=rule) for i in range(40_000)]
    with pytest.raises(ValidationError, match=r"^Scheme\.segments: got '40,000 segments'"):
        Scheme(name="many", segments=segments, default="rest")
    biggest = Scheme(name="many", segments=segments[: MAX_SEGMENTS - 1], default="rest")
    assert biggest.assign(TABLE).segment_of("a") == "s0"
    assert json.loads(biggest.to_json())["default"] == "rest"
