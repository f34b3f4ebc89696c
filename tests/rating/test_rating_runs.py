"""Rating runs: stars, contributions, monotonicity, hysteresis, storing runs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.analytics.features import CustomerFeatures
from custmgmt.domain import Money
from custmgmt.errors import NotFound, StorageError, ValidationError
from custmgmt.rating import (
    PreviousStars,
    RatingPolicy,
    StarBands,
    load_previous,
    rate,
    rate_store,
    save_rating,
)
from custmgmt.rating.records import CustomerRating, RatingRun
from custmgmt.testing import make_customer, make_order, make_order_line

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)


def table(ids: Iterable[Any], as_of: datetime = AS_OF, **columns: Any) -> CustomerFeatures:
    return CustomerFeatures(
        customer_ids=np.asarray(list(ids)),
        columns={k: np.asarray(v) for k, v in columns.items()},
        as_of=as_of,
        currency="CNY",
    )


def random_table(n: int, seed: int = 0) -> CustomerFeatures:
    rng = np.random.default_rng(seed)
    return table(
        np.arange(n) * 3 + 1000,
        monetary_net=rng.integers(0, 100_000, n),
        frequency=rng.integers(0, 12, n),
        category_breadth=rng.integers(0, 5, n),
        complaint_count=rng.integers(0, 3, n),
    )


def test_contributions_add_up_to_the_score_and_stars_are_in_range() -> None:
    rating = rate(RatingPolicy.default(), random_table(500))
    total = sum(rating.contributions.values())
    np.testing.assert_allclose(total, rating.score, rtol=0, atol=1e-12)
    assert rating.stars.min() >= 1
    assert rating.stars.max() <= 5
    assert sum(rating.distribution().values()) == 500
    assert rating.as_of == AS_OF


def test_quantile_bands_cut_the_population_at_numpys_quantiles() -> None:
    rating = rate(RatingPolicy.default(), random_table(1000, seed=4))
    expected = np.quantile(rating.score, [0.30, 0.60, 0.80, 0.95])
    np.testing.assert_allclose(rating.scale.thresholds, expected, rtol=1e-12)
    slow = [1 + sum(t <= s for t in rating.scale.thresholds) for s in rating.score]
    assert rating.stars.tolist() == slow


def test_absolute_bands_use_the_cut_points_as_score_thresholds() -> None:
    policy = RatingPolicy.from_dict(
        {
            "criteria": {"spend": {"weight": 1.0, "normalisation": "min_max"}},
            "bands": {"kind": "absolute", "cuts": [0.2, 0.4, 0.6, 0.8]},
        }
    )
    rating = rate(policy, table(["a", "b", "c", "d", "e", "f"],
                               monetary_net=[0, 19, 20, 50, 80, 100]))
    assert rating.stars.tolist() == [1, 1, 2, 3, 5, 5]


def _dominance_population() -> Any:
    return st.lists(
        st.tuples(
            st.integers(0, 10_000), st.integers(0, 30), st.integers(0, 6), st.integers(0, 4)
        ),
        min_size=1,
        max_size=60,
    )


MONOTONE_POLICIES = [
    RatingPolicy.default(),
    RatingPolicy.from_dict(
        {
            "criteria": {
                "spend": {"weight": 0.4, "normalisation": "log"},
                "frequency": {"weight": 0.2, "normalisation": "z_score"},
                "category_breadth": {"weight": 0.1, "normalisation": "min_max"},
                "complaints": {"weight": 0.3, "normalisation": "capped", "cap": 3},
            },
            "bands": {"kind": "quantile", "cuts": [0.1, 0.5, 0.9]},
            "levels": 4,
        }
    ),
    RatingPolicy.from_dict(
        {
            "criteria": {"spend": {"weight": 0.5}, "complaints": {"weight": 0.5}},
            "bands": {"kind": "absolute", "cuts": [0.2, 0.4, 0.6, 0.8]},
        }
    ),
]


@settings(max_examples=150, deadline=None)
@given(
    _dominance_population(),
    st.integers(0, 59),
    st.tuples(st.integers(0, 5000), st.integers(0, 5), st.integers(0, 3), st.integers(0, 2)),
    st.sampled_from(range(len(MONOTONE_POLICIES))),
)
def test_a_customer_at_least_as_good_on_every_criterion_never_gets_fewer_stars(
    population: list[tuple[int, int, int, int]],
    pick: int,
    better_by: tuple[int, int, int, int],
    which: int,
) -> None:
    policy = MONOTONE_POLICIES[which]
    base = population[pick % len(population)]
    # "Better" means more spend, orders and categories and fewer complaints.
    better = (
        base[0] + better_by[0],
        base[1] + better_by[1],
        base[2] + better_by[2],
        max(0, base[3] - better_by[3]),
    )
    rows = [*population, better]
    features = table(
        range(len(rows)),
        monetary_net=[r[0] for r in rows],
        frequency=[r[1] for r in rows],
        category_breadth=[r[2] for r in rows],
        complaint_count=[r[3] for r in rows],
    )
    rating = rate(policy, features)
    worse_at = pick % len(population)
    assert rating.stars[-1] >= rating.stars[worse_at]
    assert rating.score[-1] >= rating.score[worse_at]
    np.testing.assert_allclose(sum(rating.contributions.values()), rating.score, atol=1e-12)


def test_customers_equal_in_exact_arithmetic_get_equal_stars() -> None:
    policy = RatingPolicy.from_dict(
        {
            "criteria": {
                "spend": {"weight": 0.6, "normalisation": "min_max"},
                "frequency": {"weight": 0.3, "normalisation": "min_max"},
                "category_breadth": {"weight": 0.1, "normalisation": "min_max"},
            },
            "bands": {"kind": "absolute", "cuts": [0.2, 0.4, 0.6, 0.8]},
        }
    )
    # 0.6*1 + 0.3*0.5 + 0.1*0.5 and 0.6*(2/3) + 0.3*1 + 0.1*1 are both 0.8.
    rating = rate(policy,
        table([1, 2, 3], monetary_net=[0, 3, 2], frequency=[0, 1, 2], category_breadth=[0, 1, 2])
    )
    assert rating.score[1] == rating.score[2] == 0.8
    assert rating.stars[1] == rating.stars[2] == 5


def test_bad_rating_input_is_a_validation_error_naming_it() -> None:
    policy = RatingPolicy.default()
    features = random_table(10)
    with pytest.raises(ValidationError, match="as_of"):
        rate(policy, features, as_of=datetime(2026, 1, 1))
    with pytest.raises(ValidationError, match="as_of"):
        rate(policy, features, as_of=AS_OF + timedelta(days=1))
    with pytest.raises(ValidationError, match="category_breadth"):
        rate(policy, table([1, 2], monetary_net=[1, 2], frequency=[1, 1]))
    with pytest.raises(ValidationError, match="finite"):
        rate(policy, table([1], monetary_net=[np.inf], frequency=[1], category_breadth=[1]))
    with pytest.raises(ValidationError, match="previous"):
        rate(policy, features, previous="last month")  # type: ignore[arg-type]


def test_the_change_since_the_previous_run_is_given_per_customer() -> None:
    policy = RatingPolicy.from_dict(
        {
            "criteria": {"spend": {"weight": 1.0, "normalisation": "min_max"}},
            "bands": {"kind": "absolute", "cuts": [0.2, 0.4, 0.6, 0.8]},
        }
    )
    first = rate(policy, table(["a", "b", "c"], monetary_net=[0, 50, 100]))
    second = rate(policy,
        table(["a", "b", "c", "d"], AS_OF + timedelta(days=31),
              monetary_net=[100, 50, 0, 75]),
        first,
    )
    assert first.stars.tolist() == [1, 3, 5]
    assert second.stars.tolist() == [5, 3, 1, 4]
    assert second.change.tolist() == [4, 0, -4, 0]
    assert second.previous_stars.tolist() == [5 - 4, 3, 5, 0]
    assert second.explain("d").change == 0


def _hysteresis_policy(**hysteresis: Any) -> RatingPolicy:
    return RatingPolicy.from_dict(
        {
            "criteria": {"spend": {"weight": 1.0, "normalisation": "capped", "cap": 100}},
            "bands": {"kind": "absolute", "cuts": [0.2, 0.4, 0.6, 0.8]},
            "hysteresis": hysteresis,
        }
    )


def _previous(stars: int, pending: int = 0) -> PreviousStars:
    return PreviousStars(
        customer_ids=np.array(["a"], dtype=object),
        stars=np.array([stars]),
        pending=np.array([pending]),
    )


def test_a_margin_keeps_stars_until_the_score_falls_below_the_band_by_more() -> None:
    policy = _hysteresis_policy(margin=0.05)
    # Five stars start at 0.8; 0.77 is within the 0.05 margin, 0.74 is not.
    near = rate(policy, table(["a"], monetary_net=[77]), _previous(5))
    assert near.computed_stars.tolist() == [4]
    assert near.stars.tolist() == [5]
    far = rate(policy, table(["a"], monetary_net=[74]), _previous(5))
    assert far.stars.tolist() == [4]
    # Far below: the drop goes to the band reached with every threshold lowered.
    low = rate(policy, table(["a"], monetary_net=[57]), _previous(5))
    assert low.stars.tolist() == [4]
    assert low.computed_stars.tolist() == [3]
    rise = rate(policy, table(["a"], monetary_net=[95]), _previous(2))
    assert rise.stars.tolist() == [5]


def test_consecutive_runs_below_the_band_drop_the_star_on_the_nth() -> None:
    policy = _hysteresis_policy(consecutive=3)
    previous = _previous(4)
    seen = []
    for _ in range(3):
        rating = rate(policy, table(["a"], monetary_net=[50]), previous)
        seen.append((int(rating.stars[0]), int(rating.pending[0])))
        previous = rating.previous()
    assert seen == [(4, 1), (4, 2), (3, 0)]
    # A run back in the band resets the count.
    back = rate(policy, table(["a"], monetary_net=[85]), _previous(4, pending=2))
    assert (int(back.stars[0]), int(back.pending[0])) == (5, 0)


def test_explanations_and_the_top_customers() -> None:
    rating = rate(RatingPolicy.default(), random_table(100, seed=7))
    top = rating.top(3)
    assert [t.stars for t in top] == sorted((t.stars for t in top), reverse=True)
    best = int(np.lexsort((-rating.score, -rating.stars))[0])
    assert top[0].customer_id == rating.customer_ids[best]
    explanation = rating.explain(top[0].customer_id)
    assert explanation == top[0]
    assert sum(explanation.contributions.values()) == pytest.approx(explanation.score, abs=1e-12)
    assert "★" in str(explanation)
    with pytest.raises(NotFound):
        rating.explain(-1)
    frame = rating.to_pandas()
    assert list(frame.columns)[:3] == ["customer_id", "score", "stars"]


# -- running over a store and keeping the run ---------------------------------------------
def _filled(store: Any) -> Any:
    t0 = datetime(2025, 6, 1, tzinfo=UTC)
    names = ["王芳", "李娜", "张伟", "刘洋"]
    for k, name in enumerate(names):
        store.customers.add(make_customer(id=f"c{k}", name=name))
        for j in range(k + 1):
            line = make_order_line(
                category=["书", "食品", "衣服"][j % 3],
                unit_price=Money(Decimal(10 * (k + 1)), "CNY"),
            )
            store.orders.add(make_order(id=f"o{k}-{j}", customer_id=f"c{k}",
                                        placed_at=t0 + timedelta(days=j), lines=[line]))
    return store


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_scheduled_run_over_a_store_is_kept_with_star_history(kind: str) -> None:
    store = _filled(MemoryStore() if kind == "memory" else SQLiteStore(":memory:"))
    policy = RatingPolicy.default()
    first_at = policy.next_runs(after=datetime(2025, 12, 15, tzinfo=UTC))[0]
    rating, run = rate_store(store, policy, as_of=first_at, currency="CNY",
                             created_at=first_at, run_id="2026-01")
    assert run is not None
    assert store.ratings.get_run("2026-01").customer_count == 4
    assert RatingPolicy.from_json(run.policy_json) == policy
    second_at = policy.next_runs(after=first_at)[0]
    again, _ = rate_store(store, policy, as_of=second_at, currency="CNY",
                          created_at=second_at, run_id="2026-02")
    assert again.previous_stars.tolist() == rating.stars.tolist()
    history = store.ratings.star_history("c3")
    assert [h.run_id for h in history] == ["2026-01", "2026-02"]
    assert history[0].stars == int(rating.stars[rating.index_of("c3")])
    previous = load_previous(store.ratings, before=second_at)
    assert previous is not None
    assert previous.customer_ids.tolist() == ["c0", "c1", "c2", "c3"]
    store.close()


class _FailingRepository:
    """A rating repository whose save fails half way through the results."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def save_run(self, run: RatingRun, results: Iterable[CustomerRating]) -> int:
        def half() -> Iterator[CustomerRating]:
            for k, result in enumerate(results):
                if k == 2:
                    raise StorageError("disk full")
                yield result

        return int(self.inner.save_run(run, half()))

    def save_run_arrays(self, run: RatingRun, results: Any) -> int:
        # The columnar save writes everything in one go: fail right after it.
        self.inner.save_run_arrays(run, results)
        raise StorageError("disk full")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_nothing_is_stored_from_a_run_that_fails_mid_save(kind: str) -> None:
    store = _filled(MemoryStore() if kind == "memory" else SQLiteStore(":memory:"))
    rating = rate(RatingPolicy.default(),
        table(["c0", "c1", "c2", "c3"], monetary_net=[1, 2, 3, 4], frequency=[1, 1, 1, 1],
              category_breadth=[1, 1, 1, 1])
    )
    failing = _FailingRepository(store.ratings)
    with pytest.raises(StorageError), store.transaction():
        save_rating(failing, rating, created_at=AS_OF, run_id="doomed")
    assert store.ratings.list_runs() == []
    assert store.ratings.star_history("c0") == []
    store.close()


def test_a_run_in_a_transaction_that_fails_later_is_rolled_back() -> None:
    store = _filled(SQLiteStore(":memory:"))
    rating = rate(RatingPolicy.default(),
        table(["c0"], monetary_net=[1], frequency=[1], category_breadth=[1])
    )

    def save_then_fail() -> None:
        with store.transaction():
            save_rating(store.ratings, rating, created_at=AS_OF, run_id="r1")
            raise RuntimeError("a later step failed")

    with pytest.raises(RuntimeError, match="later step"):
        save_then_fail()
    assert store.ratings.list_runs() == []
    store.close()


def test_quantile_bands_with_one_customer_and_with_ties() -> None:
    one = rate(RatingPolicy.default(),
        table(["solo"], monetary_net=[5], frequency=[1], category_breadth=[1])
    )
    assert one.stars.tolist() == [5]
    tied = rate(RatingPolicy.default(),
        table(range(10), monetary_net=[5] * 10, frequency=[1] * 10, category_breadth=[1] * 10)
    )
    assert len(set(tied.stars.tolist())) == 1
    empty = rate(RatingPolicy.default(),
        table([], monetary_net=[], frequency=[], category_breadth=[])
    )
    assert len(empty) == 0
    assert empty.distribution() == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}


def test_star_bands_factories() -> None:
    assert StarBands.quantiles(0.5).kind == "quantile"
    assert StarBands.absolute(0.1, 0.2).cuts == (0.1, 0.2)


def test_a_policy_reading_complaints_rates_the_store_with_its_interactions() -> None:
    from custmgmt.domain import Complaint, InteractionKind
    from custmgmt.testing import make_interaction

    store = _filled(MemoryStore())
    for k in range(3):
        store.interactions.add(
            make_interaction(customer_id="c3", kind=InteractionKind.COMPLAINT,
                             at=datetime(2025, 7, 1 + k, tzinfo=UTC),
                             details=Complaint(category="logistics"))
        )
    store.interactions.add(
        make_interaction(customer_id="c-browser", kind=InteractionKind.COMPLAINT,
                         at=datetime(2025, 7, 1, tzinfo=UTC),
                         details=Complaint(category="logistics"))
    )
    policy = RatingPolicy.from_dict(
        {"criteria": {"spend": {"weight": 0.5}, "complaints": {"weight": 0.5}}}
    )
    rating, _ = rate_store(store, policy, as_of=AS_OF, currency="CNY", created_at=AS_OF,
                           save=False)
    # A customer with complaints but no order is a prospect: not rated (issue 11 item 7).
    assert "c-browser" not in rating.customer_ids.tolist()
    assert rating.unrated == 1
    assert rating.explain("c3").contributions["complaints"] < rating.explain(
        "c2").contributions["complaints"]
    assert store.ratings.list_runs() == []


def test_run_scheduled_rates_the_due_time_once() -> None:
    from custmgmt.rating import run_scheduled

    store = _filled(MemoryStore())
    policy = RatingPolicy.default()
    now = datetime(2026, 1, 17, 8, tzinfo=UTC)
    done = run_scheduled(store, policy, now=now, currency="CNY")
    assert done is not None
    rating, run = done
    assert run.as_of == datetime(2026, 1, 1, tzinfo=UTC)
    assert run.id == "default-20260101T0000+0000"
    assert run_scheduled(store, policy, now=now + timedelta(days=3), currency="CNY") is None
    later = run_scheduled(store, policy, now=datetime(2026, 2, 1, 0, 5, tzinfo=UTC),
                          currency="CNY")
    assert later is not None
    assert later[1].as_of == datetime(2026, 2, 1, tzinfo=UTC)
    assert later[0].previous_stars.tolist() == rating.stars.tolist()
