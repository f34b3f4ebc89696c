"""The memory store's time index is kept up to date in place, not re-sorted per write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.memory import store as store_module
from custmgmt.domain import Order
from custmgmt.testing import make_order

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_an_add_after_an_ordered_read_works_out_one_sort_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = MemoryStore()
    store.orders.add_many(make_order(id=f"o-{i:04d}", placed_at=at(i)) for i in range(2_000))
    assert len(list(store.orders.between(at(0), at(10)))) == 10
    keys = 0
    original = store_module.MemoryOrderRepository._sort_key

    def counting(self: Any, entity: Order) -> Any:
        nonlocal keys
        keys += 1
        return original(self, entity)

    monkeypatch.setattr(store_module.MemoryOrderRepository, "_sort_key", counting)
    # Alternating writes and ordered reads: re-sorting after each add cost n keys each.
    for i in range(50):
        store.orders.add(make_order(id=f"n-{i:04d}", placed_at=at(5 + i)))
        found = [o.id for o in store.orders.between(at(5 + i), at(6 + i))]
        assert found == [f"n-{i:04d}", f"o-{5 + i:04d}"]
    assert keys == 50


def test_sorted_keys_stay_sorted_across_many_runs() -> None:
    keys = store_module._SortedKeys()
    keys._LOAD = 4  # type: ignore[misc]  # tiny runs, so the splits are exercised
    expected: list[tuple[int, str]] = []
    for i in [5, 3, 9, 1, 7, 2, 8, 6, 4, 0] * 3:
        key = (i, f"id-{len(expected)}")
        keys.add(key)
        expected.append(key)
    expected.sort()
    assert len(keys._runs) > 2
    assert keys.ids() == [k[1] for k in expected]
    assert keys.ids_between(3, 6) == [k[1] for k in expected if 3 <= k[0] < 6]
    for key in expected[::2]:
        keys.discard(key)
    keys.discard((99, "missing"))
    assert keys.ids() == [k[1] for k in expected[1::2]]
    assert len(keys) == len(expected) // 2


operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 60)),
        st.tuples(st.just("move"), st.integers(0, 60)),
        st.tuples(st.just("remove"), st.integers(0, 60)),
        st.tuples(st.just("failed batch"), st.integers(0, 60)),
        st.tuples(st.just("between"), st.integers(0, 60), st.integers(0, 30)),
    ),
    max_size=80,
)


@settings(max_examples=60, deadline=None)
@given(operations, st.integers(1, 6))
def test_ordered_reads_match_a_sorted_model_after_any_writes(
    ops: list[tuple[Any, ...]], load: int
) -> None:
    store = MemoryStore()
    repo = store.orders
    model: dict[str, Order] = {}
    counter = 0
    original_load = store_module._SortedKeys._LOAD
    store_module._SortedKeys._LOAD = load  # type: ignore[misc]
    try:
        for op in ops:
            kind = op[0]
            if kind == "add":
                counter += 1
                order = make_order(id=f"o-{counter:03d}", placed_at=at(op[1]))
                repo.add(order)
                model[order.id] = order
            elif kind == "move" and model:
                old = model[sorted(model)[op[1] % len(model)]]
                new = attrs.evolve(old, placed_at=at(op[1]), version=old.version + 1)
                repo.update(new)
                model[new.id] = new
            elif kind == "remove" and model:
                gone = sorted(model)[op[1] % len(model)]
                repo.remove(gone)
                del model[gone]
            elif kind == "failed batch":
                with pytest.raises(RuntimeError), store.transaction():  # noqa: PT012
                    repo.add_many(
                        make_order(id=f"x-{counter}-{k}", placed_at=at(op[1] + k))
                        for k in range(3)
                    )
                    if model:
                        victim = sorted(model)[op[1] % len(model)]
                        repo.remove(victim)
                    raise RuntimeError("roll back")
            elif kind == "between":
                lo, hi = at(op[1]), at(op[1] + op[2])
                expected = sorted(
                    (o for o in model.values() if lo <= o.placed_at < hi),
                    key=lambda o: (o.placed_at, o.id),
                )
                assert list(repo.between(lo, hi)) == expected
        everything = sorted(model.values(), key=lambda o: (o.placed_at, o.id))
        assert [o for chunk in repo.iter_chunks(7) for o in chunk] == everything
        assert repo.count() == len(model)
    finally:
        store_module._SortedKeys._LOAD = original_load  # type: ignore[misc]
