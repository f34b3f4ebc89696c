"""Segment rules: vectorised evaluation against a slow per-customer reference."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.errors import ValidationError
from custmgmt.segmentation import (
    AllOf,
    Always,
    AnyOf,
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
from custmgmt.segmentation.rules import quantile_cut

FEATURES = ("a", "b", "c")
values = st.sampled_from([0.0, 1.0, 2.0, 2.5, 3.0, 10.0, -1.0, math.nan])
numbers = st.sampled_from([0, 1, 2, 2.5, 3, -1, 100])
quantiles = st.sampled_from([0.0, 0.1, 0.2, 0.25, 0.5, 0.7, 0.8, 0.9, 1.0])

leaf = st.one_of(
    st.builds(
        Compare,
        feature=st.sampled_from(FEATURES),
        op=st.sampled_from([">", ">=", "<", "<=", "==", "!="]),
        value=numbers,
    ),
    st.builds(
        Between,
        feature=st.sampled_from(FEATURES),
        low=st.sampled_from([-1, 0, 1]),
        high=st.sampled_from([2, 3, 10]),
        closed=st.sampled_from(["left", "right", "both", "neither"]),
    ),
    st.builds(
        QuantileCut,
        feature=st.sampled_from(FEATURES),
        op=st.sampled_from([">", ">=", "<", "<="]),
        q=quantiles,
    ),
    st.just(Always()),
)
rules = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.builds(lambda rs: AllOf(rules=rs), st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda rs: AnyOf(rules=rs), st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda r: Not(rule=r), inner),
    ),
    max_leaves=8,
)
tables = st.integers(min_value=1, max_value=25).flatmap(
    lambda n: st.fixed_dictionaries({f: st.lists(values, min_size=n, max_size=n) for f in FEATURES})
)


def slow_quantile(column: list[float], q: float) -> float:
    present = sorted(v for v in column if not math.isnan(v))
    if not present:
        return math.nan
    # Smallest observed v with at least a fraction q of the values <= v.
    for v in present:
        if sum(1 for x in present if x <= v) >= q * len(present) - 1e-12:
            return v
    return present[-1]


def slow_compare(x: float, op: str, value: float) -> bool:
    if math.isnan(x) or math.isnan(value):
        return False
    return {
        ">": x > value,
        ">=": x >= value,
        "<": x < value,
        "<=": x <= value,
        "==": x == value,
        "!=": x != value,
    }[op]


def slow_eval(rule: dict[str, Any], row: dict[str, float], data: dict[str, list[float]]) -> bool:
    kind = rule["type"]
    if kind == "always":
        return True
    if kind == "compare":
        return slow_compare(row[rule["feature"]], rule["op"], rule["value"])
    if kind == "between":
        x = row[rule["feature"]]
        if math.isnan(x):
            return False
        lo_ok = x >= rule["low"] if rule["closed"] in ("left", "both") else x > rule["low"]
        hi_ok = x <= rule["high"] if rule["closed"] in ("right", "both") else x < rule["high"]
        return lo_ok and hi_ok
    if kind == "quantile":
        cut = slow_quantile(data[rule["feature"]], rule["q"])
        return slow_compare(row[rule["feature"]], rule["op"], cut)
    if kind == "all":
        return all(slow_eval(r, row, data) for r in rule["rules"])
    if kind == "any":
        return any(slow_eval(r, row, data) for r in rule["rules"])
    assert kind == "not"
    return not slow_eval(rule["rule"], row, data)


def make_table(data: dict[str, list[float]]) -> Columns:
    n = len(data["a"])
    return Columns([f"c{i}" for i in range(n)], data)


@settings(max_examples=150, deadline=None)
@given(rule=rules, data=tables)
def test_rules_match_a_slow_per_customer_reference(
    rule: Rule, data: dict[str, list[float]]
) -> None:
    table = make_table(data)
    got = rule.evaluate(table).tolist()
    n = len(data["a"])
    expected = [
        slow_eval(rule.to_dict(), {f: data[f][i] for f in FEATURES}, data) for i in range(n)
    ]
    assert got == expected


@settings(max_examples=100, deadline=None)
@given(rule=rules)
def test_rules_round_trip_through_dicts_and_json(rule: Rule) -> None:
    assert rule_from_dict(rule.to_dict()) == rule
    assert rule_from_json(rule.to_json()) == rule
    json.loads(rule.to_json())


@settings(max_examples=100, deadline=None)
@given(rule=rules, data=tables)
def test_every_customer_gets_an_explanation_consistent_with_the_result(
    rule: Rule, data: dict[str, list[float]]
) -> None:
    table = make_table(data)
    mask = rule.evaluate(table)
    for i in range(min(3, len(mask))):
        text = rule.explain(table, f"c{i}")
        assert isinstance(text, str)
        assert text


@settings(max_examples=100, deadline=None)
@given(
    column=st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.0, 5.0, math.nan]), min_size=0, max_size=30),
    q=quantiles,
)
def test_quantile_cut_is_the_inverted_cdf_quantile(column: list[float], q: float) -> None:
    got = quantile_cut(np.array(column, dtype=np.float64), q)
    expected = slow_quantile(column, q)
    assert (math.isnan(got) and math.isnan(expected)) or got == expected


def test_the_issue_example_explains_a_high_value_customer_with_actual_values() -> None:
    table = Columns(
        ["c1", "c2"],
        {"annual_spend": [52_000, 60_000], "review_mean": [4.6, 4.9], "disputes": [0, 1]},
    )
    high_value = (
        (feature("annual_spend") > 50_000)
        & (feature("review_mean") >= 4.5)
        & feature("disputes").eq(0, label="no disputes")
    )
    scheme = Scheme(
        name="q", segments=[Segment(name="high-value", rule=high_value)], default="other"
    )
    seg = scheme.assign(table)
    assert seg.explain("c1") == (
        "high-value because annual spend 52,000 > 50,000 and review mean 4.6 >= 4.5 and no disputes"
    )
    assert seg.explain("c2") == "other because no rule matched: high-value (disputes 1 != 0)"


def test_quantile_cut_explanations_quote_the_cut_off_and_the_percentile() -> None:
    table = Columns(list("abcde"), {"spend": [1, 2, 3, 4, 5]})
    rule = feature("spend").top(0.2)
    assert rule.evaluate(table).tolist() == [False, False, False, False, True]
    assert rule.explain(table, "e") == "spend 5 > 4 (the 80th percentile)"
    assert rule.explain(table, "a") == "spend 1 <= 4 (the 80th percentile)"


def test_negation_and_missing_values_are_explained_plainly() -> None:
    table = Columns(["a", "b"], {"x": [1.0, math.nan]})
    rule = ~(feature("x") > 5)
    assert rule.evaluate(table).tolist() == [True, True]
    assert rule.explain(table, "a") == "x 1 <= 5"
    assert rule.explain(table, "b") == "x missing"


def test_operators_compose_and_flatten() -> None:
    a, b, c = feature("a") > 1, feature("b") < 2, feature("c") >= 3
    assert (a & b & c) == AllOf(rules=(a, b, c))
    assert (a | b | c) == AnyOf(rules=(a, b, c))
    assert ~~a == a
    assert (a & b).features() == frozenset({"a", "b"})


def test_a_scheme_assigns_each_customer_to_the_first_matching_segment() -> None:
    table = Columns(list("abcd"), {"x": [10, 6, 3, 0]})
    scheme = Scheme(
        name="s",
        segments=[
            Segment(name="big", rule=feature("x") > 5),
            Segment(name="bigger", rule=feature("x") > 8),  # never wins: big comes first
            Segment(name="some", rule=feature("x") > 0),
        ],
        default="none",
    )
    seg = scheme.assign(table)
    assert seg.labels.tolist() == ["big", "big", "some", "none"]
    assert seg.sizes() == {"big": 2, "bigger": 0, "some": 1, "none": 1}
    assert seg.members("big").tolist() == ["a", "b"]
    assert seg.segment_of("c") == "some"
    assert Scheme.from_json(scheme.to_json()) == scheme


@settings(max_examples=80, deadline=None)
@given(rs=st.lists(rules, min_size=1, max_size=4), data=tables)
def test_a_scheme_matches_a_slow_first_match_reference(
    rs: list[Rule], data: dict[str, list[float]]
) -> None:
    scheme = Scheme(
        name="s", segments=[Segment(name=f"s{i}", rule=r) for i, r in enumerate(rs)], default="d"
    )
    seg = scheme.assign(make_table(data))
    n = len(data["a"])
    expected = []
    for i in range(n):
        row = {f: data[f][i] for f in FEATURES}
        hit = next((f"s{j}" for j, r in enumerate(rs) if slow_eval(r.to_dict(), row, data)), "d")
        expected.append(hit)
    assert seg.labels.tolist() == expected
    assert sum(seg.sizes().values()) == n


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Compare(feature="x", op="=>", value=1), "Compare.op"),
        (lambda: Compare(feature="x", op=">", value=math.nan), "Compare.value"),
        (lambda: Compare(feature="x", op=">", value=True), "Compare.value"),
        (lambda: Compare(feature="", op=">", value=1), "Compare.feature"),
        (lambda: Between(feature="x", low=3, high=1), "Between.high"),
        (lambda: Between(feature="x", low=1, high=3, closed="up"), "Between.closed"),
        (lambda: QuantileCut(feature="x", op=">", q=1.5), "QuantileCut.q"),
        (lambda: AllOf(rules=()), "AllOf.rules"),
        (lambda: AnyOf(rules=("x > 1",)), "AnyOf.rules[0]"),
        (lambda: feature("x").top(2), "fraction"),
        (lambda: Scheme(name="s", segments=[], default="d"), "Scheme.segments"),
        (
            lambda: Scheme(
                name="s",
                segments=[Segment(name="a", rule=Always()), Segment(name="a", rule=Always())],
                default="d",
            ),
            "Scheme.segments[1].name",
        ),
        (
            lambda: Scheme(name="s", segments=[Segment(name="a", rule=Always())], default="a"),
            "Scheme.default",
        ),
    ],
)
def test_bad_rules_are_refused_naming_the_field(build: Any, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        build()
    assert info.value.field == field


def test_an_unknown_feature_is_a_validation_error_listing_the_known_ones() -> None:
    table = Columns(["a"], {"annual_spend": [1.0]})
    with pytest.raises(ValidationError, match="annual_spnd") as info:
        (feature("annual_spnd") > 1).evaluate(table)
    assert info.value.field == "Compare.feature"
    assert "annual_spend" in info.value.expected


def test_bad_rule_data_names_the_path_to_the_problem() -> None:
    data = {"type": "all", "rules": [{"type": "compare", "feature": "x", "op": "?", "value": 1}]}
    with pytest.raises(ValidationError) as info:
        rule_from_dict(data)
    assert info.value.field == "rule.rules[0].op"
    with pytest.raises(ValidationError) as info:
        rule_from_dict({"type": "sometimes"})
    assert info.value.field == "rule.type"
    with pytest.raises(ValidationError) as info:
        rule_from_dict({"type": "compare", "feature": "x", "op": ">"})
    assert info.value.field == "rule"
    with pytest.raises(ValidationError):
        rule_from_json("{not json")


def test_explaining_an_unknown_customer_is_a_validation_error() -> None:
    table = Columns(["a"], {"x": [1.0]})
    with pytest.raises(ValidationError) as info:
        (feature("x") > 0).explain(table, "zz")
    assert info.value.field == "customer_id"


def test_text_columns_are_refused() -> None:
    table = Columns(["a"], {"x": ["high"]})
    with pytest.raises(ValidationError, match="numeric"):
        (feature("x") > 0).evaluate(table)
