"""The vectorised recommenders equal slow, obviously-correct references built from dicts."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.errors import NotFittedError, ValidationError
from custmgmt.recommend import ItemItemModel, PopularityModel, Purchases
from custmgmt.recommend import model as model_module
from custmgmt.recommend.model import top_k_rows

purchases_strategy = st.lists(
    st.tuples(st.integers(0, 12), st.integers(0, 15), st.integers(0, 10**6)),
    min_size=1, max_size=120,
).map(lambda rows: Purchases.from_arrays(
    customer_id=[f"c{c:02d}" for c, _, _ in rows],
    item=[f"i{i:02d}" for _, i, _ in rows],
    at=[t for _, _, t in rows],
))


def reference_neighbours(
    p: Purchases, similarity: str, top_k: int
) -> list[list[tuple[int, float]]]:
    baskets: dict[int, set[int]] = defaultdict(set)
    for c, i in zip(p.customer.tolist(), p.item.tolist(), strict=True):
        baskets[c].add(i)
    pop = [0] * p.n_items
    together: dict[tuple[int, int], int] = defaultdict(int)
    for items in baskets.values():
        for a in items:
            pop[a] += 1
            for b in items:
                if a != b:
                    together[(a, b)] += 1
    customers = float(len(baskets))
    result = []
    for a in range(p.n_items):
        scored = []
        for b in range(p.n_items):
            c = together.get((a, b), 0)
            if c == 0:
                continue
            if similarity == "cosine":
                s = math.sqrt(c * c / (pop[a] * pop[b]))
            else:
                s = c * customers / (pop[a] * pop[b])
            scored.append((b, s))
        scored.sort(key=lambda bs: (-bs[1], bs[0]))
        result.append(scored[:top_k])
    return result


@settings(max_examples=80, deadline=None)
@given(p=purchases_strategy, similarity=st.sampled_from(["cosine", "lift"]),
       top_k=st.integers(1, 6), path=st.sampled_from(["dense", "sorted", "small blocks"]))
def test_neighbours_equal_the_reference(
    p: Purchases, similarity: str, top_k: int, path: str
) -> None:
    # Force each way of counting: dense blocks, sorted keys, and many small blocks.
    ratio = {"dense": 10**9, "sorted": 0, "small blocks": 10**9}[path]
    cells = 1 << 25 if path != "small blocks" else 16
    with (mock.patch.object(model_module, "_DENSE_RATIO", ratio),
          mock.patch.object(model_module, "_DENSE_CELLS", cells)):
        model = ItemItemModel(similarity=similarity, top_k=top_k).fit(p)
    expected = reference_neighbours(p, similarity, top_k)
    for a in range(p.n_items):
        got = [(int(b), float(s)) for b, s in zip(model.neighbours_[a], model.similarities_[a],
                                                  strict=True) if b >= 0]
        assert got == expected[a]


def reference_recommend(p: Purchases, model: ItemItemModel | None, customer: str, k: int,
                        exclude: bool) -> list[str]:
    ids = list(p.customer_ids)
    history = sorted({int(i) for c, i in zip(p.customer, p.item, strict=True)
                      if ids[c] == customer})
    scores: dict[int, float] = defaultdict(float)
    if model is not None:
        for i in history:
            for j, s in zip(model.neighbours_[i], model.similarities_[i], strict=True):
                if j >= 0:
                    scores[int(j)] += float(s)
    banned = set(history) if exclude else set()
    ranked = sorted(((j, s) for j, s in scores.items() if j not in banned and s > 0),
                    key=lambda js: (-js[1], js[0]))[:k]
    chosen = [j for j, _ in ranked]
    buyers: dict[int, set[int]] = defaultdict(set)
    for c, i in zip(p.customer.tolist(), p.item.tolist(), strict=True):
        buyers[i].add(c)
    for j in sorted(buyers, key=lambda j: (-len(buyers[j]), j)):
        if len(chosen) >= k:
            break
        if j not in chosen and j not in banned:
            chosen.append(j)
    return [str(p.item_ids[j]) for j in chosen]


@settings(max_examples=80, deadline=None)
@given(p=purchases_strategy, k=st.integers(1, 8), exclude=st.booleans(),
       similarity=st.sampled_from(["cosine", "lift"]))
def test_customer_recommendations_equal_the_reference(
    p: Purchases, k: int, exclude: bool, similarity: str
) -> None:
    model = ItemItemModel(similarity=similarity, top_k=4).fit(p)
    asked = [*list(p.customer_ids)[:5], "新客户"]
    got = model.recommend(asked, k=k, exclude_bought=exclude)
    popular = PopularityModel().fit(p).recommend(asked, k=k, exclude_bought=exclude)
    for customer in asked:
        assert got.for_customer(customer) == reference_recommend(p, model, customer, k, exclude)
        assert popular.for_customer(customer) == reference_recommend(p, None, customer, k,
                                                                     exclude)


@settings(max_examples=60, deadline=None)
@given(p=purchases_strategy, k=st.integers(1, 20))
def test_no_recommended_item_was_bought_when_exclusion_is_on(p: Purchases, k: int) -> None:
    result = ItemItemModel(top_k=3).fit(p).recommend(list(p.customer_ids), k=k)
    for code, customer in enumerate(p.customer_ids):
        bought = {str(p.item_ids[i]) for i in p.item[p.customer == code]}
        assert not bought & set(result.for_customer(str(customer)))


def test_a_rebuyable_item_comes_back_after_its_interval() -> None:
    day = 86_400_000_000
    t0 = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
    p = Purchases.from_arrays(
        customer_id=["a", "a", "b", "b", "c", "c"],
        item=["大米", "食用油", "大米", "食用油", "大米", "食用油"],
        at=[t0, t0 + 50 * day, t0, t0, t0, t0],
    )
    model = ItemItemModel().fit(p)
    as_of = datetime(2025, 3, 1, tzinfo=UTC)  # day 59: rice bought 59 days ago, oil 9
    assert model.recommend(["a"], k=2).for_customer("a") == []
    again = model.recommend(["a"], k=2, rebuy_after={"大米": 30, "食用油": 30}, as_of=as_of)
    assert again.for_customer("a") == ["大米"]
    with pytest.raises(ValidationError, match="as_of"):
        model.recommend(["a"], rebuy_after={"大米": 30})


def test_top_k_rows_breaks_ties_by_column_and_skips_zeros() -> None:
    scores = np.array([[0.0, 1.0, 3.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    cols, vals = top_k_rows(scores, 3)
    assert cols.tolist() == [[2, 1, 3], [-1, -1, -1]]
    assert vals.tolist() == [[3.0, 1.0, 1.0], [0.0, 0.0, 0.0]]


def test_bad_parameters_and_an_unfitted_model_are_refused() -> None:
    p = Purchases.from_arrays(customer_id=["a"], item=["x"], at=[0])
    with pytest.raises(NotFittedError):
        ItemItemModel().recommend(["a"])
    with pytest.raises(ValidationError, match="similarity"):
        ItemItemModel(similarity="jaccard").fit(p)
    with pytest.raises(ValidationError, match="top_k"):
        ItemItemModel(top_k=0).fit(p)
    model = ItemItemModel().fit(p)
    with pytest.raises(ValidationError, match="k"):
        model.recommend(["a"], k=0)
    with pytest.raises(ValidationError, match="customer_ids"):
        model.recommend("a")
    with pytest.raises(ValidationError, match="item_id"):
        model.similar_items("nothing")
    with pytest.raises(ValidationError):
        Purchases.from_arrays(customer_id=["a"], item=["x", "y"], at=[0])
    with pytest.raises(ValidationError, match="at"):
        Purchases.from_arrays(customer_id=["a"], item=["x"],
                              at=np.array([datetime(2025, 1, 1) + timedelta(0)], dtype=object))


@settings(max_examples=30, deadline=None)
@given(p=purchases_strategy)
def test_a_k_beyond_the_items_gives_every_item_and_allocates_nothing_more(p: Purchases) -> None:
    # Regression: `custmgmt recommend --k 99999999999999999999` sized its arrays by k
    # and died with numpy's "Maximum allowed dimension exceeded".
    for model in (ItemItemModel(top_k=3).fit(p), PopularityModel().fit(p)):
        customers = [*map(str, p.customer_ids), "新客户"]
        huge = model.recommend(customers, k=10**20)
        exact = model.recommend(customers, k=p.n_items)
        for customer in customers:
            assert huge.for_customer(customer) == exact.for_customer(customer)
