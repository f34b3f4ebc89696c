"""Ready-made segmentation schemes, each a plain :class:`~custmgmt.segmentation.Scheme`.

They read the columns of :func:`~custmgmt.segmentation.inputs.segment_features`
(money in major units). Every function takes its thresholds as keyword arguments, and
the result is data: print ``scheme.to_json()`` to see exactly what a scheme does, or
store an edited copy in configuration. Segments are tried in the order listed; the last
name is the default.

=====================  ====================================================================
scheme                 segments (first match wins) -> default
=====================  ====================================================================
value tiers            high (top 20 % by annual spend, and spent something), mid (top 50 %,
                       spent something) -> low
activity               prospect (never bought), active (bought within 90 days), dormant
                       (within 365 days) -> churned
lifecycle              prospect, churned (silent > 365 days), new (first order within 90
                       days), declining (90-day spend down >= 20 % on the previous 90
                       days), growing (up >= 20 %) -> mature
quality tiers          core (annual spend > 50,000, review mean >= 4.5, no disputes),
                       potential (annual spend > 10,000 or review mean >= 4.0, no
                       disputes) -> ordinary
acquisition            carted, favorited, browsed -- each "in the last 365 days but never
                       bought" -> other
retention              big spenders (top 10 % by total spend), repeat buyers (2+ orders)
                       -> other
=====================  ====================================================================

Quantile cut-offs (value tiers, big spenders) are recomputed on each population, so
they are "top 20 % of the customers evaluated", customers who never bought included.
"""

from __future__ import annotations

from custmgmt.domain._validate import is_finite_number
from custmgmt.errors import ValidationError
from custmgmt.segmentation.rules import Compare, Rule, feature
from custmgmt.segmentation.schemes import Scheme, Segment

__all__ = [
    "acquisition_groups",
    "activity",
    "lifecycle",
    "quality_tiers",
    "retention_groups",
    "shipped_schemes",
    "value_tiers",
]


def _positive(name: str, value: float) -> None:
    # Finite too: an infinite threshold would be refused later by Compare, naming
    # "Compare.value" instead of this preset's parameter.
    if not is_finite_number(value) or not value > 0:
        raise ValidationError(name, value, "a positive finite number")


def _fraction(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ValidationError(name, value, "a fraction strictly between 0 and 1")


def value_tiers(
    *,
    high: float = 0.2,
    mid: float = 0.5,
    high_spend: float | None = None,
    mid_spend: float | None = None,
) -> Scheme:
    """High / mid / low by annual spend.

    Args:
        high: the top fraction of customers that is "high" (quantile cut).
        mid: the top fraction that is at least "mid"; must exceed ``high``.
        high_spend: an absolute annual-spend threshold instead of ``high``.
        mid_spend: an absolute threshold instead of ``mid``.

    Raises:
        ValidationError: fractions outside (0, 1), ``mid <= high``, or thresholds not
            positive / not increasing.
    """
    spent = feature("annual_spend") > 0
    if high_spend is not None or mid_spend is not None:
        if high_spend is None or mid_spend is None:
            raise ValidationError(
                "value_tiers", (high_spend, mid_spend), "both high_spend and mid_spend"
            )
        _positive("value_tiers.high_spend", high_spend)
        _positive("value_tiers.mid_spend", mid_spend)
        if mid_spend >= high_spend:
            raise ValidationError("value_tiers.mid_spend", mid_spend, f"below {high_spend}")
        high_rule: Rule = feature("annual_spend") >= high_spend
        mid_rule: Rule = feature("annual_spend") >= mid_spend
    else:
        _fraction("value_tiers.high", high)
        _fraction("value_tiers.mid", mid)
        if mid <= high:
            raise ValidationError("value_tiers.mid", mid, f"a larger fraction than high ({high})")
        high_rule = feature("annual_spend").top(high) & spent
        mid_rule = feature("annual_spend").top(mid) & spent
    return Scheme(
        name="value tiers",
        segments=[
            Segment(name="high", rule=high_rule, description="the top spenders this year"),
            Segment(name="mid", rule=mid_rule, description="the next band of spenders"),
        ],
        default="low",
        description="High / mid / low-end customers by net spend in the last 365 days.",
    )


def activity(*, active_days: float = 90, dormant_days: float = 365) -> Scheme:
    """Active / dormant / churned by days since the last purchase.

    Raises:
        ValidationError: non-positive days, or ``dormant_days <= active_days``.
    """
    _positive("activity.active_days", active_days)
    _positive("activity.dormant_days", dormant_days)
    if dormant_days <= active_days:
        raise ValidationError(
            "activity.dormant_days", dormant_days, f"more than active_days ({active_days})"
        )
    return Scheme(
        name="activity",
        segments=[
            Segment(name="prospect", rule=_never_bought(), description="no order yet"),
            Segment(name="active", rule=feature("recency") <= active_days),
            Segment(name="dormant", rule=feature("recency") <= dormant_days),
        ],
        default="churned",
        description="Buyers by how recently they bought.",
    )


def _never_bought() -> Compare:
    return feature("frequency").eq(0, label="no order yet")


def lifecycle(
    *,
    new_days: float = 90,
    churn_days: float = 365,
    change: float = 0.2,
) -> Scheme:
    """New / growing / mature / declining / churned.

    Args:
        new_days: first order at most this many days ago is "new".
        churn_days: silent for more than this many days is "churned".
        change: a relative change of 90-day spend against the previous 90 days of at
            least this much is "growing" (or at least this much down, "declining").

    Raises:
        ValidationError: non-positive days, ``churn_days <= new_days``, ``change``
            outside (0, 1).
    """
    _positive("lifecycle.new_days", new_days)
    _positive("lifecycle.churn_days", churn_days)
    _fraction("lifecycle.change", change)
    if churn_days <= new_days:
        raise ValidationError(
            "lifecycle.churn_days", churn_days, f"more than new_days ({new_days})"
        )
    return Scheme(
        name="lifecycle",
        segments=[
            Segment(name="prospect", rule=_never_bought()),
            Segment(name="churned", rule=feature("recency") > churn_days),
            Segment(name="new", rule=feature("tenure") <= new_days),
            Segment(name="declining", rule=feature("spend_change") <= -change),
            Segment(name="growing", rule=feature("spend_change") >= change),
        ],
        default="mature",
        description="Where customers are in their life with us.",
    )


def quality_tiers(
    *,
    spend: float = 50_000,
    review: float = 4.5,
    potential_spend: float = 10_000,
    potential_review: float = 4.0,
) -> Scheme:
    """Core / potential / ordinary: the quality-management tiers.

    Core customers pass the high-value rule: annual spend above ``spend``, average
    review at least ``review``, and no disputes (no complaint in the last 365 days).

    Raises:
        ValidationError: non-positive amounts, reviews outside 1-5,
            ``potential_spend >= spend``.
    """
    _positive("quality_tiers.spend", spend)
    _positive("quality_tiers.potential_spend", potential_spend)
    for name, value in (("review", review), ("potential_review", potential_review)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 5:
            raise ValidationError(f"quality_tiers.{name}", value, "a review level from 1 to 5")
    if potential_spend >= spend:
        raise ValidationError(
            "quality_tiers.potential_spend", potential_spend, f"below spend ({spend})"
        )
    no_disputes = feature("disputes").eq(0, label="no disputes")
    core = (feature("annual_spend") > spend) & (feature("review_mean") >= review) & no_disputes
    potential = (
        (feature("annual_spend") > potential_spend) | (feature("review_mean") >= potential_review)
    ) & no_disputes
    return Scheme(
        name="quality tiers",
        segments=[
            Segment(name="core", rule=core, description="high value, happy, no disputes"),
            Segment(name="potential", rule=potential),
        ],
        default="ordinary",
        description="Core / potential / ordinary customers for quality management.",
    )


def acquisition_groups(*, days: int = 365) -> Scheme:
    """Prospects by how far they got: carted, favorited or browsed, but never bought.

    Args:
        days: the window of the browse / favorite / cart counts (a feature window).

    Raises:
        ValidationError: ``days`` not a positive integer.
    """
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValidationError("acquisition_groups.days", days, "a positive number of days")
    never = _never_bought()
    return Scheme(
        name="acquisition",
        segments=[
            Segment(name="carted", rule=(feature(f"cart_{days}d") > 0) & never),
            Segment(name="favorited", rule=(feature(f"favorite_{days}d") > 0) & never),
            Segment(name="browsed", rule=(feature(f"browse_{days}d") > 0) & never),
        ],
        default="other",
        description="Prospects to convert, deepest in the funnel first.",
    )


def retention_groups(*, big_spenders: float = 0.1, repeat_orders: int = 2) -> Scheme:
    """Big spenders (top fraction by total spend) and repeat buyers.

    Raises:
        ValidationError: a fraction outside (0, 1) or fewer than 2 repeat orders.
    """
    _fraction("retention_groups.big_spenders", big_spenders)
    if isinstance(repeat_orders, bool) or not isinstance(repeat_orders, int) or repeat_orders < 2:
        raise ValidationError(
            "retention_groups.repeat_orders", repeat_orders, "an integer of at least 2"
        )
    return Scheme(
        name="retention",
        segments=[
            Segment(
                name="big spenders",
                rule=feature("total_spend").top(big_spenders) & (feature("total_spend") > 0),
            ),
            Segment(name="repeat buyers", rule=feature("frequency") >= repeat_orders),
        ],
        default="other",
        description="Customers to keep: the biggest spenders, then the repeat buyers.",
    )


def shipped_schemes() -> tuple[Scheme, ...]:
    """Every ready-made scheme with its default thresholds, in the order above."""
    return (
        value_tiers(),
        activity(),
        lifecycle(),
        quality_tiers(),
        acquisition_groups(),
        retention_groups(),
    )
