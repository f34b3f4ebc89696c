"""Round 4: similarities against exact fractions, degenerate catalogues, odd ids.

The reference here is exact: co-purchase counts from sets, similarities as
:class:`fractions.Fraction` (cosine squared, so no square root is needed to rank),
neighbours ranked by the exact value with ties by item code.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.errors import ValidationError
from custmgmt.recommend import ItemItemModel, PopularityModel, Purchases
from custmgmt.recommend.evaluation import evaluate

ITEMS = ["茶", "杯", "壶", "盘\t", "碗\x1b[0m", "筷"]

purchases_strategy = st.lists(
    st.tuples(st.integers(0, 9), st.integers(0, len(ITEMS) - 1)), min_size=1, max_size=60,
).map(lambda rows: Purchases.from_arrays(
    customer_id=[f"顾客{c}" for c, _ in rows], item=[ITEMS[i] for _, i in rows],
    at=list(range(len(rows))),
))


def exact_similarities(p: Purchases, similarity: str) -> dict[tuple[int, int], Fraction]:
    """(a, b) -> cosine squared or lift, as exact fractions (only pairs bought together)."""
    baskets: dict[int, set[int]] = defaultdict(set)
    for c, i in zip(p.customer.tolist(), p.item.tolist(), strict=True):
        baskets[c].add(i)
    buyers: dict[int, int] = defaultdict(int)
    together: dict[tuple[int, int], int] = defaultdict(int)
    for items in baskets.values():
        for a in items:
            buyers[a] += 1
            for b in items:
                if a != b:
                    together[(a, b)] += 1
    n = len(baskets)
    return {
        (a, b): (Fraction(c * c, buyers[a] * buyers[b]) if similarity == "cosine"
                 else Fraction(c * n, buyers[a] * buyers[b]))
        for (a, b), c in together.items()
    }


def test_a_tiny_matrix_by_hand() -> None:
    # 1 buys a, b; 2 buys a, b, c; 3 buys c; 4 buys d. n(a) = n(b) = n(c) = 2, N = 4.
    p = Purchases.from_arrays(customer_id=["1", "1", "2", "2", "2", "3", "4"],
                              item=["a", "b", "a", "b", "c", "c", "d"], at=[0] * 7)
    cosine = ItemItemModel(similarity="cosine").fit(p)
    # c(a, b) = 2: 2 / sqrt(2 * 2) = 1 exactly; c(a, c) = 1: 1 / 2.
    assert cosine.similar_items("a") == [("b", 1.0), ("c", 0.5)]
    assert cosine.similar_items("c") == [("a", 0.5), ("b", 0.5)]
    assert cosine.similar_items("d") == []
    lift = ItemItemModel(similarity="lift").fit(p)
    # lift(a, b) = 2 * 4 / (2 * 2) = 2; lift(a, c) = 1 * 4 / 4 = 1.
    assert lift.similar_items("a") == [("b", 2.0), ("c", 1.0)]


def test_items_with_the_same_buyers_have_a_cosine_of_exactly_one() -> None:
    # Everyone buys the same basket: c = n(a) = n(b) = 3. The old weights
    # 3 * (1/sqrt 3) * (1/sqrt 3) gave 1.0000000000000002, a cosine above 1.
    p = Purchases.from_arrays(customer_id=["a", "a", "b", "b", "c", "c"],
                              item=["x", "y"] * 3, at=[1] * 6)
    model = ItemItemModel(similarity="cosine").fit(p)
    assert model.similar_items("x") == [("y", 1.0)]
    assert model.similar_items("y") == [("x", 1.0)]
    assert model.recommend(["a", "新客"], k=5).for_customer("a") == []
    assert model.recommend(["a", "新客"], k=5).for_customer("新客") == ["x", "y"]


def test_equal_cosines_are_ordered_by_item_code_not_by_rounding() -> None:
    # n(a) = 4. b1: c = 1, n = 2 -> 1/sqrt(8); b2: c = 3, n = 18 -> 3/sqrt(72) = 1/sqrt(8).
    # A tie, so b1 (the lower code) comes first; the old per-item weights rounded b2's
    # similarity one ulp higher and put it first.
    rows = [("u1", "a"), ("u2", "a"), ("u3", "a"), ("u4", "a"), ("u1", "b1"), ("u5", "b1"),
            ("u2", "b2"), ("u3", "b2"), ("u4", "b2")]
    rows += [(f"v{i:02d}", "b2") for i in range(15)]
    p = Purchases.from_arrays(customer_id=[c for c, _ in rows], item=[i for _, i in rows],
                              at=[0] * len(rows))
    found = ItemItemModel(similarity="cosine").fit(p).similar_items("a")
    assert [item for item, _ in found] == ["b1", "b2"]
    assert found[0][1] == found[1][1] == math.sqrt(1 / 8)


@settings(max_examples=80, deadline=None)
@given(p=purchases_strategy, similarity=st.sampled_from(["cosine", "lift"]),
       top_k=st.integers(1, 6))
def test_neighbours_equal_the_exact_reference(p: Purchases, similarity: str, top_k: int) -> None:
    exact = exact_similarities(p, similarity)
    model = ItemItemModel(similarity=similarity, top_k=top_k).fit(p)
    for a in range(p.n_items):
        ranked = sorted((b for (x, b) in exact if x == a), key=lambda b: (-exact[(a, b)], b))
        got = [(int(b), float(s)) for b, s in zip(model.neighbours_[a], model.similarities_[a],
                                                  strict=True) if b >= 0]
        assert [b for b, _ in got] == ranked[:top_k]
        for b, s in got:
            value = exact[(a, b)]
            want = math.sqrt(value) if similarity == "cosine" else float(value)
            assert s == pytest.approx(want, rel=1e-15)
            if similarity == "cosine":
                assert s <= 1.0
            # Symmetric bit for bit: (b, a) scores what (a, b) does.
            back = [float(t) for c, t in zip(model.neighbours_[b], model.similarities_[b],
                                             strict=True) if c == a]
            assert back in ([], [s])


def test_a_catalogue_of_one_sku() -> None:
    p = Purchases.from_arrays(customer_id=["a", "b"], item=["茶", "茶"], at=[1, 2])
    for model in (ItemItemModel().fit(p), ItemItemModel(similarity="lift").fit(p)):
        assert model.similar_items("茶") == []
        got = model.recommend(["a", "新"], k=3)
        assert got.for_customer("a") == []
        assert got.for_customer("新") == ["茶"]
    assert PopularityModel().fit(p).recommend(["新"], k=10**20).for_customer("新") == ["茶"]


@pytest.mark.parametrize("column", ["customer_id", "item"])
def test_ids_that_are_not_strings_are_refused_when_coded(column: str) -> None:
    # Int ids were coded, then recommend(["1"]) / similar_items("5") / evaluate raised
    # a bare TypeError comparing str with int.
    columns: dict[str, object] = {"customer_id": ["a", "b"], "item": ["x", "y"], "at": [1, 2]}
    columns[column] = [1, 2]
    with pytest.raises(ValidationError, match=column):
        Purchases.from_arrays(**columns)


def test_an_empty_model_mapping_is_refused_not_replaced_by_the_defaults() -> None:
    p = Purchases.from_arrays(customer_id=["a", "b", "b", "c", "c"],
                              item=["x", "y", "x", "x", "y"], at=[1, 2, 3, 1, 5])
    with pytest.raises(ValidationError, match="models"):
        evaluate(p, split="last", models={})
    report = evaluate(p, split="last", models={"popularity": PopularityModel()})
    assert [r.model for r in report.rows] == ["popularity"]


def test_an_evaluation_without_held_out_purchases_is_a_clear_error() -> None:
    p = Purchases.from_arrays(customer_id=["a", "b"], item=["x", "y"], at=[1, 2])
    with pytest.raises(ValidationError, match="customers to evaluate"):
        evaluate(p, cutoff=datetime(2100, 1, 1, tzinfo=UTC))
    with pytest.raises(ValidationError, match="customers to evaluate"):
        evaluate(p, split="last")


def test_fitting_twice_gives_the_same_model() -> None:
    rng = np.random.default_rng(4)
    p = Purchases.from_arrays(customer_id=[f"c{c}" for c in rng.integers(0, 40, 400)],
                              item=[ITEMS[i] for i in rng.integers(0, len(ITEMS), 400)],
                              at=rng.integers(0, 10**6, 400))
    one = ItemItemModel(similarity="lift").fit(p)
    two = ItemItemModel(similarity="lift").fit(p)
    assert np.array_equal(one.neighbours_, two.neighbours_)
    assert np.array_equal(one.similarities_, two.similarities_)
