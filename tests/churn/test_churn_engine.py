"""The other churn rules, reasons, win-back actions and the engine's report."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from _churn_support import day, interactions, orders

from custmgmt.churn import (
    ChurnContext,
    ChurnEngine,
    FallingReviews,
    ModelAliveBelow,
    NoPurchaseWithin,
    PurchaseCycleRule,
    Reason,
    RiskLevel,
    SpendDrop,
    UnresolvedComplaint,
    WinBackAction,
    WinBackPlaybook,
    churn_rule_from_dict,
    infer_reasons,
)
from custmgmt.errors import ValidationError
from custmgmt.segmentation import segment_features


def context(frame: Any, inter: Any = None, as_of_day: float = 100) -> ChurnContext:
    as_of = day(as_of_day)
    features = segment_features(frame, inter, as_of=as_of)
    return ChurnContext(features=features, as_of=as_of, orders=frame, interactions=inter)


def by_id(ctx: ChurnContext, array: Any) -> dict[str, Any]:
    return dict(zip(ctx.features.customer_ids.tolist(), np.asarray(array).tolist(), strict=True))


def test_no_purchase_within_n_days_is_strict_and_ignores_prospects() -> None:
    frame = orders([("a", 10, 1), ("b", 9, 1)])
    ctx = context(frame, as_of_day=100)
    fired = by_id(ctx, NoPurchaseWithin(days=90).evaluate(ctx).fired)
    assert fired == {"a": False, "b": True}


def test_spend_drop_compares_the_last_period_with_the_one_before() -> None:
    # a: 1000 in (−80, −10] days before as_of... previous 90 days 1000, last 90 days 400.
    frame = orders([("a", 5, 100_000), ("a", 150, 40_000), ("b", 5, 100_000), ("b", 150, 60_000)])
    ctx = context(frame, as_of_day=180)
    outcome = SpendDrop(percent=50, days=90).evaluate(ctx)
    assert by_id(ctx, outcome.fired) == {"a": True, "b": False}
    drop = by_id(ctx, outcome.values["drop_percent"])
    assert drop["a"] == pytest.approx(60.0)
    assert by_id(ctx, outcome.values["previous_spend"])["a"] == 1000.0  # major units


def test_unresolved_complaints_fire_and_resolved_ones_do_not() -> None:
    frame = orders([("a", 1, 1), ("b", 1, 1)])
    inter = interactions(
        [("a", 2, "complaint", 0, "service", False), ("b", 2, "complaint", 0, "price", True)],
        index=frame,
    )
    ctx = context(frame, inter)
    assert by_id(ctx, UnresolvedComplaint().evaluate(ctx).fired) == {"a": True, "b": False}


def test_falling_reviews_compare_two_windows() -> None:
    frame = orders([("a", 1, 1), ("b", 1, 1)])
    inter = interactions(
        [
            ("a", 10, "review", 5, None, False),
            ("a", 90, "review", 3, None, False),
            ("b", 10, "review", 4, None, False),
            ("b", 90, "review", 4, None, False),
        ],
        index=frame,
    )
    ctx = context(frame, inter, as_of_day=100)
    outcome = FallingReviews(days=50, min_drop=1.0).evaluate(ctx)
    assert by_id(ctx, outcome.fired) == {"a": True, "b": False}
    assert by_id(ctx, outcome.values["recent_mean"])["a"] == 3.0


def test_reasons_come_from_complaint_categories_reviews_and_returns() -> None:
    frame = orders(
        [("q", 1, 100), ("s", 1, 100), ("p", 1, 100), ("u", 1, 100), ("r", 1, 100)],
        returned=[0, 0, 0, 0, 50],
    )
    inter = interactions(
        [
            ("q", 2, "complaint", 0, "product_quality", False),
            ("q", 3, "review", 1, None, False),
            ("s", 2, "complaint", 0, "logistics", False),
            ("p", 2, "complaint", 0, "price", False),
            ("p", 3, "complaint", 0, "price", True),
            ("p", 4, "complaint", 0, "service", False),
            ("u", 2, "complaint", 0, "other", False),
        ],
        index=frame,
    )
    ctx = context(frame, inter)
    codes, evidence = infer_reasons(ctx)
    reasons = {cid: tuple(Reason)[c].value for cid, c in by_id(ctx, codes).items()}
    assert reasons == {"q": "quality", "s": "service", "p": "price", "u": "unknown", "r": "quality"}
    assert by_id(ctx, evidence)["p"] == [0, 1, 2]


def test_reason_ties_go_to_quality_then_service() -> None:
    frame = orders([("a", 1, 1)])
    inter = interactions(
        [
            ("a", 2, "complaint", 0, "price", False),
            ("a", 3, "complaint", 0, "service", False),
        ],
        index=frame,
    )
    codes, _ = infer_reasons(context(frame, inter))
    assert tuple(Reason)[int(codes[0])] is Reason.SERVICE


def test_the_default_playbook_maps_reasons_to_the_issue_actions() -> None:
    playbook = WinBackPlaybook()
    assert playbook.action_for(Reason.QUALITY).code == "apology_and_compensation"
    assert playbook.action_for(Reason.PRICE).code == "targeted_offer"
    assert playbook.action_for(Reason.SERVICE).code == "personal_follow_up"
    assert WinBackPlaybook.from_dict(playbook.to_dict()) == playbook
    custom = playbook.with_action("price", WinBackAction(code="price_match", description="match"))
    assert custom.action_for(Reason.PRICE).code == "price_match"


def test_a_playbook_missing_a_reason_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown"):
        WinBackPlaybook.from_dict({"quality": {"code": "x", "description": "y"}})
    with pytest.raises(ValidationError):
        WinBackPlaybook.from_dict({"boredom": {"code": "x", "description": "y"}})


def scenario() -> tuple[Any, Any]:
    frame = orders(
        [
            ("a", 0, 10_000),
            ("a", 10, 10_000),
            ("a", 20, 10_000),
            ("b", 90, 5_000),
            ("b", 95, 5_000),
            ("c", 5, 100),
        ]
    )
    inter = interactions(
        [
            ("a", 21, "complaint", 0, "product_quality", False),
            ("c", 6, "complaint", 0, "price", True),
        ],
        index=frame,
    )
    return frame, inter


def test_the_engine_reports_rules_values_risk_reason_and_action() -> None:
    frame, inter = scenario()
    report = ChurnEngine().evaluate(frame, inter, as_of=day(100))
    a = report.explain("a")
    assert [f.rule for f in a.fired] == ["purchase cycle", "unresolved complaint"]
    assert a.fired[0].values["silent_days"] == 80.0
    assert "silent 80 days > 1.5 x purchase cycle 10 days" in a.fired[0].text
    assert a.risk is RiskLevel.MEDIUM  # severities 2 + 1
    assert a.reason is Reason.QUALITY
    assert a.action is not None
    assert a.action.code == "apology_and_compensation"
    assert "apology_and_compensation" in str(a)
    b = report.explain("b")
    assert b.fired == ()
    assert b.risk is RiskLevel.NONE
    assert b.action is None
    c = report.explain("c")
    assert c.reason is Reason.PRICE
    assert report.flagged_ids().tolist()[0] in ("a", "c")
    assert report.risk_counts()["none"] == 1
    assert report.action_codes().tolist()[1] == ""


def test_risk_is_high_when_severities_add_up() -> None:
    frame, inter = scenario()
    engine = ChurnEngine(
        rules=(PurchaseCycleRule(), NoPurchaseWithin(days=60), UnresolvedComplaint())
    )
    report = engine.evaluate(frame, inter, as_of=day(100))
    assert report.explain("a").risk is RiskLevel.HIGH  # 2 + 2 + 1 >= 4


def test_rules_needing_interactions_are_skipped_without_them() -> None:
    frame, _ = scenario()
    report = ChurnEngine().evaluate(frame, as_of=day(100))
    assert report.skipped == ("unresolved complaint", "falling reviews")
    assert [r.name for r in report.rules] == ["purchase cycle", "no recent purchase", "spend down"]


def test_the_engine_is_data() -> None:
    engine = ChurnEngine(rules=(PurchaseCycleRule(factor=2.0), SpendDrop(percent=30)))
    assert ChurnEngine.from_dict(engine.to_dict()) == engine
    assert churn_rule_from_dict({"type": "no_purchase_within", "days": 30}) == NoPurchaseWithin(
        days=30
    )


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: ChurnEngine(rules=()), "ChurnEngine.rules"),
        (
            lambda: ChurnEngine(rules=(PurchaseCycleRule(), PurchaseCycleRule())),
            "ChurnEngine.rules[1].name",
        ),
        (lambda: ChurnEngine(medium_at=3, high_at=3), "ChurnEngine.high_at"),
        (lambda: SpendDrop(percent=150), "SpendDrop.percent"),
        (lambda: SpendDrop(days=0), "SpendDrop.days"),
        (lambda: NoPurchaseWithin(days=-1), "NoPurchaseWithin.days"),
        (lambda: ModelAliveBelow(threshold=1.0), "ModelAliveBelow.threshold"),
        (lambda: FallingReviews(min_drop=5), "FallingReviews.min_drop"),
        (lambda: churn_rule_from_dict({"type": "vibes"}), "churn_rule.type"),
        (lambda: churn_rule_from_dict({"type": "spend_drop", "pct": 3}), "churn_rule"),
    ],
)
def test_bad_engine_input_is_a_validation_error(build: Any, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        build()
    assert info.value.field == field


def test_explaining_an_unknown_customer_is_a_validation_error() -> None:
    frame, inter = scenario()
    report = ChurnEngine().evaluate(frame, inter, as_of=day(100))
    with pytest.raises(ValidationError):
        report.explain("zz")


def test_the_model_rule_flags_customers_unlikely_to_be_alive() -> None:
    pytest.importorskip("scipy")
    from custmgmt.analytics.frames import OrderFrame
    from custmgmt.datasets import DEFAULT_AS_OF, make_order_arrays

    data = make_order_arrays(3000, 300, seed=1)
    frame = OrderFrame.from_arrays(
        customer_id=data.customer_id, placed_at=data.placed_at, amount=data.amount, currency="CNY"
    )
    features = segment_features(frame, as_of=DEFAULT_AS_OF)
    ctx = ChurnContext(features=features, as_of=DEFAULT_AS_OF, orders=frame)
    outcome = ModelAliveBelow(threshold=0.5).evaluate(ctx)
    p = outcome.values["p_alive"]
    buyers = features["frequency"] > 0
    assert np.all((p[buyers] >= 0) & (p[buyers] <= 1))
    assert np.array_equal(outcome.fired, p < 0.5)
    assert 0 < int(outcome.fired.sum()) < int(buyers.sum())
    text = ModelAliveBelow(threshold=0.5).describe({"p_alive": 0.2})
    assert text == "probability still active 20% < 50% (BG/NBD model)"


def test_risk_levels_follow_the_sum_of_fired_severities() -> None:
    frame, inter = scenario()
    engine = ChurnEngine(medium_at=2, high_at=3)
    report = engine.evaluate(frame, inter, as_of=day(100))
    severities = np.array([r.severity for r in report.rules])
    expected_score = (report.fired * severities).sum(axis=1)
    assert np.array_equal(report.score, expected_score)
    for score, risk in zip(report.score.tolist(), report.risk.tolist(), strict=True):
        level = 3 if score >= 3 else 2 if score >= 2 else 1 if score >= 1 else 0
        assert risk == level
