"""Hostile inputs to the rating engine and the incremental rater: clear errors and
right answers, never a traceback from numpy or a star outside the policy's levels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.analytics.features import CustomerFeatures, customer_features
from custmgmt.analytics.frames import OrderFrame
from custmgmt.errors import NotFound, ValidationError
from custmgmt.rating import (
    IncrementalRater,
    PreviousStars,
    RatingPolicy,
    ServiceLevel,
    ServiceLevels,
    format_rating,
    rate,
    save_rating,
)
from custmgmt.rating.inputs import rated_features

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)


def table(ids: list[Any], **columns: list[float]) -> CustomerFeatures:
    return CustomerFeatures(
        customer_ids=np.asarray(ids),
        columns={k: np.asarray(v) for k, v in columns.items()},
        as_of=AS_OF,
        currency="CNY",
    )


def spend_policy(**extra: Any) -> RatingPolicy:
    return RatingPolicy.from_dict({"criteria": {"spend": {"weight": 1.0}}, **extra})


@pytest.mark.parametrize("hysteresis", [{"consecutive": 3}, {"margin": 0.5}])
def test_a_previous_run_with_more_levels_never_gives_stars_above_the_top(
    hysteresis: dict[str, Any],
) -> None:
    # The policy went from ten levels to five: the stored run's 7 and 10 stars used
    # to be held by the hysteresis, giving 7 and 10 stars out of 5 (and a
    # distribution that left those customers out).
    ten = rate(spend_policy(levels=10), table(["a", "b", "c", "d"], monetary_net=[1, 2, 3, 4]))
    assert ten.stars.tolist() == [1, 4, 7, 10]
    five = spend_policy(levels=5, hysteresis=hysteresis)
    after = rate(five, table(["a", "b", "c", "d"], monetary_net=[4, 3, 2, 1]), ten)
    assert after.stars.max() <= 5
    assert after.previous_stars.max() <= 5
    assert sum(after.distribution().values()) == 4


@pytest.mark.parametrize(
    ("stars", "pending", "field"),
    [
        ([1], [0, 0, 0, 0], "previous.stars"),
        ([1, 2, 3, 4], [0], "previous.pending"),
        ([1.5, 2, 3, 4], [0, 0, 0, 0], "previous.stars"),
        ([None, 2, 3, 4], [0, 0, 0, 0], "previous.stars"),
        ([1, 2, 3, 4], [0, -1, 0, 0], "previous.pending"),
    ],
)
def test_an_inconsistent_previous_run_is_a_validation_error(
    stars: list[Any], pending: list[int], field: str
) -> None:
    previous = PreviousStars(
        customer_ids=np.array(["a", "b", "c", "d"]),
        stars=np.array(stars),
        pending=np.array(pending),
    )
    policy = spend_policy(hysteresis={"consecutive": 3})
    with pytest.raises(ValidationError, match=field.replace(".", r"\.")):
        rate(policy, table(["a", "b", "c", "d"], monetary_net=[1, 2, 3, 4]), previous)


def test_previous_ids_must_be_one_dimensional() -> None:
    previous = PreviousStars(
        customer_ids=np.array([["a"]]), stars=np.array([5]), pending=np.array([0])
    )
    with pytest.raises(ValidationError, match=r"previous\.customer_ids"):
        rate(spend_policy(), table(["a"], monetary_net=[1]), previous)


def _orders(extra: bool = False) -> OrderFrame:
    rows = [
        ("a", 2, 100, "书", "cancelled"),
        ("b", 3, 200, "食品", "delivered"),
        ("c", 5, 300, "衣服", "delivered"),
        ("a", 8, 50, "玩具", "cancelled"),
    ]
    if extra:
        rows.append(("b", 9, 10, "新", "delivered"))
    return OrderFrame.from_arrays(
        customer_id=np.array([r[0] for r in rows]),
        placed_at=[datetime(2026, 1, r[1], tzinfo=UTC) for r in rows],
        amount=np.array([r[2] for r in rows]),
        category=[r[3] for r in rows],
        status=[r[4] for r in rows],
        currency="CNY",
    )


def test_the_rater_reads_each_customers_own_categories_when_some_are_unrated() -> None:
    # "a" has only cancelled orders, so the rating (as rate_frames makes it) rates
    # b and c: the rater's positions are not the frame's customer codes. It used to
    # take position 0 ("b") as frame code 0 ("a") and forget b's category.
    as_of = datetime(2026, 2, 1, tzinfo=UTC)
    policy = RatingPolicy.default()
    used, features, unrated, _ = rated_features(policy, _orders(), as_of=as_of)
    assert unrated == 1
    live = IncrementalRater(rate(used, features), features, _orders())
    live.add_order("b", amount=10, placed_at=datetime(2026, 1, 9, tzinfo=UTC), categories=["新"])
    truth = customer_features(_orders(extra=True), as_of=as_of, features=["category_breadth"])
    expected = float(truth["category_breadth"][truth.customer_ids.tolist().index("b")])
    assert expected == 2.0
    assert live.feature("b", "category_breadth") == expected
    # "a" comes back with a counted order: its cancelled orders' categories don't count.
    live.add_order("a", amount=10, placed_at=datetime(2026, 1, 10, tzinfo=UTC), categories=["书"])
    assert live.feature("a", "category_breadth") == 1.0


@pytest.mark.parametrize("name", ["nul\x00", "x" * 201, "bad\ud800"])
def test_a_criterion_name_no_run_could_store_is_refused_by_the_policy(name: str) -> None:
    # It used to be accepted, rated, and refused only when the run was saved.
    # (A name that does not print on one line is refused by the criterion itself.)
    with pytest.raises(ValidationError) as caught:
        RatingPolicy.from_dict({"criteria": {name: {"weight": 1.0, "feature": "frequency"}}})
    assert caught.value.field in {"criteria[0]", "criterion.name"}
    assert caught.value.value == name


def test_service_levels_take_a_ratings_numpy_stars() -> None:
    # A Rating's stars are numpy integers: for_stars(rating.stars[i]) was refused.
    rating = rate(spend_policy(), table(["a", "b", "c", "d", "e"], monetary_net=[1, 2, 3, 4, 5]))
    levels = ServiceLevels.default()
    top = rating.stars[rating.index_of("e")]
    assert isinstance(top, np.integer)
    assert levels.for_stars(top) == levels.for_stars(int(top))
    assert levels.response_time_factor_for(np.int64(5)) == 0.5
    with pytest.raises(ValidationError, match="stars"):
        levels.for_stars(np.True_)


@pytest.mark.parametrize(
    "keys", [(1, "2"), (True, 2), (1.0, 2)], ids=["text", "bool", "float"]
)
def test_service_level_keys_that_are_no_star_counts_are_refused(keys: tuple[Any, ...]) -> None:
    # Mixed keys used to raise TypeError from sorted(); True and 1.0 passed for 1.
    with pytest.raises(ValidationError, match="levels"):
        ServiceLevels(levels={k: ServiceLevel() for k in keys})


@pytest.mark.parametrize(
    "data", [{"1": {}, 1: {}, 2: {}}, {1.5: {}, 2: {}}, {"1.0": {}, 2: {}}],
    ids=["twice", "fraction", "decimal-text"],
)
def test_service_level_data_with_ambiguous_keys_is_refused(data: dict[Any, Any]) -> None:
    # int(1.5) made it 1 and "1" after 1 replaced it, silently.
    with pytest.raises(ValidationError, match="levels"):
        ServiceLevels.from_dict(data)


def test_changing_a_rating_after_saving_it_leaves_the_stored_run_alone() -> None:
    # The memory store kept read-only views of the rating's own star arrays: writing
    # to rating.stars afterwards rewrote the stored run.
    rating = rate(spend_policy(), table(["a", "b", "c"], monetary_net=[1, 2, 3]))
    store = MemoryStore()
    save_rating(store.ratings, rating, created_at=AS_OF, run_id="r1")
    kept = store.ratings.results_arrays("r1")
    before = {
        name: getattr(kept, name).tolist()
        for name in ("stars", "computed_stars", "previous_stars", "pending")
    }
    for column in (rating.stars, rating.computed_stars, rating.previous_stars, rating.pending):
        column[:] = 4
    after = store.ratings.results_arrays("r1")
    assert {name: getattr(after, name).tolist() for name in before} == before
    assert store.ratings.result("r1", "a").stars == before["stars"][0]


def _live() -> tuple[IncrementalRater, datetime]:
    as_of = datetime(2026, 2, 1, tzinfo=UTC)
    orders = OrderFrame.from_arrays(
        customer_id=np.array([1, 2, 3]),
        placed_at=[datetime(2026, 1, d, tzinfo=UTC) for d in (2, 3, 5)],
        amount=np.array([100, 200, 300]),
        category=["书", "食品", "衣服"],
        currency="CNY",
    )
    policy = RatingPolicy.default()
    features = customer_features(
        orders, as_of=as_of, features=list(IncrementalRater.required_features(policy))
    )
    return IncrementalRater(rate(policy, features), features, orders), as_of


@pytest.mark.parametrize("amount", [2**63, 10**30])
def test_the_rater_refuses_amounts_no_order_frame_can_hold(amount: int) -> None:
    live, as_of = _live()
    with pytest.raises(ValidationError, match="amount"):
        live.add_order(1, amount=amount, placed_at=as_of)
    assert live.feature(1, "monetary_net") == 100.0


@pytest.mark.parametrize("categories", [None, [None], ["书", 5]])
def test_the_rater_refuses_categories_that_are_not_text(categories: Any) -> None:
    # None was a TypeError; 5 counted as a category.
    live, as_of = _live()
    with pytest.raises(ValidationError, match="categories"):
        live.add_order(2, amount=1, placed_at=as_of, categories=categories)
    assert live.feature(2, "category_breadth") == 1.0
    assert live.feature(2, "frequency") == 1.0


def test_a_refused_event_leaves_the_raters_time_and_customers_alone() -> None:
    live, as_of = _live()
    later = as_of + timedelta(days=30)
    with pytest.raises(ValidationError):
        live.add_return(3, amount=301, at=later)  # more than the net spend
    with pytest.raises(ValidationError):
        live.add_order("not an int id", amount=1, placed_at=later)
    with pytest.raises(NotFound):
        live.add_return(99, amount=1, at=later)
    assert live.as_of == as_of
    assert len(live) == 3
    assert live.feature(3, "monetary_net") == 300.0


def test_an_id_with_a_line_break_or_escape_cannot_forge_report_lines() -> None:
    # A quoted CSV id "evil\n  fake: 5★ ..." printed a fake line in the top list, and
    # an ANSI escape coloured the terminal. A CSV id can no longer hold a control
    # character (the reader refuses it, as the domain does), but it can hold the
    # Unicode line separator and a bidi override; a table built by hand (a host's
    # arrays) can still hold anything.
    ids = [
        "evil\u2028  fake: 5★ score 9.000 = spend 9.000",
        "\u202eder",
        "hand\n  fake: 4★ score 8.000 = spend 8.000",
        "\x1b[31mred",
        "王芳",
    ]
    rating = rate(spend_policy(), table(ids, monetary_net=[5, 4, 3, 2, 1]))
    text = format_rating(rating, top=5)
    lines = text.splitlines()  # splits at U+2028 too
    assert not any(line.lstrip().startswith("fake") for line in lines)
    assert not any(c in text for c in "\u2028\u202e\x1b")
    assert "  evil\\u2028  fake: 5★ score 9.000 = spend 9.000: " in text
    assert "  hand\\n  fake: 4★ score 8.000 = spend 8.000: " in text
    assert "  王芳: " in text  # printable text, Chinese included, as it is


def test_a_scale_of_another_policy_is_refused() -> None:
    # Only the criterion names were compared: a ten-level run's scale gave a
    # five-level policy 10 stars, and a percentile-rank scale rated a min-max policy.
    population = table(list("abcdefghij"), monetary_net=[float(k) for k in range(10)])
    ten = rate(spend_policy(levels=10), population)
    with pytest.raises(ValidationError, match=r"scale\.thresholds"):
        rate(spend_policy(), population, scale=ten)
    min_max = RatingPolicy.from_dict(
        {"criteria": {"spend": {"weight": 1.0, "normalisation": "min_max"}}, "levels": 10}
    )
    with pytest.raises(ValidationError, match="scale"):
        rate(min_max, population, scale=ten)
    assert rate(spend_policy(levels=10), population, scale=ten).stars.max() == 10
