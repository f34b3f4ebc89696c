"""The core stores (customers, orders, interactions) in memory, SQLite and PostgreSQL,
used by a hostile stranger: keys that can be no id, the wrong types, Chinese and
emoji text, batches that fail half way. Every store answers with the same library
error, and a failure leaves nothing half-written."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import NotFound, ValidationError
from custmgmt.testing import make_customer, make_interaction, make_order

_serial = itertools.count()

#: More entities than one batch of any adapter (SQLite 4,096, PostgreSQL 20,000).
PAST_A_BATCH = 20_500


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "postgres":
        pytest.importorskip("psycopg")
        yield request.getfixturevalue("postgres_store")
        return
    made = MemoryStore() if request.param == "memory" else SQLiteStore(":memory:")
    try:
        yield made
    finally:
        made.close()


@pytest.mark.parametrize(
    "key",
    [
        "\ud800",  # a lone surrogate: no driver can encode it
        "c-\udfff",
        "a\x00b",  # a NUL: PostgreSQL refuses it in text
        "x" * 129,  # longer than any id
        " ",
        "",
        None,
        42,
        ["c-1"],
    ],
    ids=repr,
)
def test_a_key_that_can_be_no_id_is_not_found_in_every_store(store: Any, key: Any) -> None:
    for repository in (store.customers, store.orders, store.interactions):
        with pytest.raises(NotFound) as caught:
            repository.get(key)
        assert caught.value.key == key
        with pytest.raises(NotFound):
            repository.remove(key)
    # A customer's orders and interactions by such a key: none, as in memory (a
    # surrogate raised UnicodeEncodeError in SQL stores, a NUL StorageError in PostgreSQL).
    assert store.orders.for_customer(key) == []
    assert store.interactions.for_customer(key) == []


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.text(st.characters(exclude_categories=()), max_size=140))  # surrogates too
def test_any_text_read_from_an_empty_store_is_not_found_never_another_error(
    store: Any, key: str
) -> None:
    with pytest.raises(NotFound):
        store.customers.get(key)
    with pytest.raises(NotFound):
        store.orders.remove(key)


_VALID_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK ideographs
        st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),  # emoji
        st.characters(min_codepoint=0x20000, max_codepoint=0x2A6DF),  # CJK extension B
        st.sampled_from("，。！？、；：「」『』（）《》·—… \u200d\ufe0f\u0301"),
    ),
    min_size=1,
    max_size=200,
).filter(lambda s: s.strip() != "")


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_VALID_TEXT, region=_VALID_TEXT, tag=_VALID_TEXT)
def test_chinese_and_emoji_text_round_trips_unchanged_in_every_store(
    store: Any, name: str, region: str, tag: str
) -> None:
    customer = make_customer(name=name, region=region, tags={tag})
    store.customers.add(customer)
    assert store.customers.get(customer.id) == customer
    # An id in the same script: found again, and only by itself. (The store lives
    # through every example, hence the serial number.)
    key = f"客户-{next(_serial)}-{tag[:100]}"
    order = make_order(id=key, customer_id=customer.id)
    store.orders.add(order)
    assert store.orders.get(key) == order
    assert [o.id for o in store.orders.for_customer(customer.id)] == [key]


@pytest.mark.parametrize("which", ["customers", "orders", "interactions"])
def test_the_wrong_type_is_refused_with_the_same_words_in_every_store(
    store: Any, which: str
) -> None:
    repository = getattr(store, which)
    article = {"customers": "a Customer", "orders": "an Order",
               "interactions": "an Interaction"}[which]
    wrong = make_customer() if which != "customers" else make_order()
    for call in (repository.add, repository.update, lambda e: repository.add_many([e])):
        with pytest.raises(ValidationError) as caught:
            call(wrong)
        assert caught.value.expected == article
    assert repository.count() == 0


def _failing(n: int, make: Any) -> Iterator[Any]:
    for k in range(n):
        yield make(k)
    raise RuntimeError("the source failed")


@pytest.mark.slow
def test_a_batch_that_fails_past_the_first_chunk_leaves_nothing_written(store: Any) -> None:
    kept = make_customer(id="kept")
    store.customers.add(kept)
    with pytest.raises(RuntimeError, match="the source failed"):
        store.customers.add_many(_failing(PAST_A_BATCH, lambda k: make_customer(id=f"c{k}")))
    assert store.customers.count() == 1
    wrong_last = itertools.chain(
        (make_customer(id=f"d{k}") for k in range(PAST_A_BATCH)), [make_order()]
    )
    with pytest.raises(ValidationError):
        store.customers.add_many(wrong_last)
    assert store.customers.count() == 1
    # Inside a transaction the block goes on after the failed batch, without any of it.
    with store.transaction():
        store.interactions.add(make_interaction(id="i-kept", customer_id="kept"))
        with pytest.raises(RuntimeError):
            store.customers.add_many(_failing(PAST_A_BATCH, lambda k: make_customer(id=f"t{k}")))
    assert store.customers.count() == 1
    assert store.interactions.get("i-kept").customer_id == "kept"
    with pytest.raises(NotFound):
        store.customers.get("t0")


@pytest.mark.parametrize("hours", [-23, -16, 16, 23])
def test_an_offset_beyond_what_postgres_reads_round_trips_in_every_store(
    store: Any, hours: int
) -> None:
    # PostgreSQL reads offsets up to ±15:59:59 in a timestamptz text: +16:00 was a
    # StorageError there while memory and SQLite kept it.
    from datetime import datetime, timedelta, timezone

    at = datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=hours)))
    store.customers.add(make_customer(id="c-far", registered_at=at))
    store.orders.add(make_order(id="o-far", customer_id="c-far", placed_at=at))
    kept = store.customers.get("c-far").registered_at
    assert (kept, kept.utcoffset()) == (at, at.utcoffset())
    placed = store.orders.get("o-far").placed_at
    assert (placed, placed.utcoffset()) == (at, at.utcoffset())
