"""RatingResults: a run's results as columns, validated like CustomerRating, saved in bulk."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.analytics.features import CustomerFeatures
from custmgmt.errors import NotFound, StorageError, ValidationError
from custmgmt.rating import RatingPolicy, RatingResults, rate
from custmgmt.rating.records import CustomerRating, RatingRun
from custmgmt.rating.services import load_previous, rating_records, save_rating

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
STORES = [MemoryStore, lambda: SQLiteStore(":memory:")]


def _rating(ids: list[Any]) -> Any:
    n = len(ids)
    features = CustomerFeatures(
        customer_ids=np.asarray(ids),
        columns={
            "monetary_net": np.arange(n) * 10,
            "frequency": np.arange(n) % 3,
            "category_breadth": np.ones(n, dtype=np.int64),
        },
        as_of=AS_OF,
        currency="CNY",
    )
    return rate(RatingPolicy.default(), features, as_of=AS_OF)


def test_columns_of_a_rating_equal_its_records() -> None:
    rating = _rating(["客户-b", "c-a", "😀", "c-c"])
    _, records = rating_records(rating, run_id="r1", created_at=AS_OF)
    columns = RatingResults.from_rating(rating, run_id="r1")
    assert list(columns.to_records()) == sorted(records, key=lambda r: r.customer_id)
    assert columns.customer_ids.tolist() == sorted(["客户-b", "c-a", "😀", "c-c"])
    assert columns.criteria == tuple(rating.contributions)


def test_integer_customer_ids_are_stored_as_text() -> None:
    columns = RatingResults.from_rating(_rating([30, 4, 100]), run_id="r1")
    assert columns.customer_ids.tolist() == ["100", "30", "4"]


@pytest.mark.parametrize("make", STORES)
def test_a_saved_rating_feeds_the_next_run_from_columns(make: Any) -> None:
    store = make()
    rating = _rating(["c-1", "c-2", "客户-3"])
    run = save_rating(store.ratings, rating, created_at=AS_OF, run_id="r1")
    previous = load_previous(store.ratings)
    assert previous is not None
    assert previous.customer_ids.tolist() == ["c-1", "c-2", "客户-3"]
    order = np.argsort(rating.customer_ids.astype(str))
    assert previous.stars.tolist() == rating.stars[order].tolist()
    records = store.ratings.results(run.id)
    assert [r.contributions for r in records] == [
        tuple((name, float(rating.contributions[name][i])) for name in rating.contributions)
        for i in order.tolist()
    ]


GOOD_IDS = st.lists(st.sampled_from(["c-1", "c-2", "客户", "😀", " x "]), unique=True, max_size=4)
BAD_VALUES: dict[str, list[Any]] = {
    "customer_ids": ["", "  ", "a\x01", "x" * 129, None, "c\ud800", "dup"],
    "score": [float("nan"), float("inf"), "1.0"],
    "stars": [-1, 1.5, 2**63],
    "computed_stars": [-3],
    "previous_stars": [-1, "2"],
    "pending": [-1],
    "contributions": ["wrong shape"],
}


@settings(max_examples=60)
@given(
    ids=GOOD_IDS,
    column=st.sampled_from(sorted(BAD_VALUES)),
    pick=st.integers(0, 6),
    make=st.sampled_from(STORES),
)
def test_bad_columns_are_refused_and_nothing_is_stored(
    ids: list[str], column: str, pick: int, make: Any
) -> None:
    n = len(ids)
    columns: dict[str, Any] = {
        "customer_ids": list(ids),
        "score": [0.5] * n,
        "stars": [3] * n,
        "computed_stars": [3] * n,
        "previous_stars": [0] * n,
        "pending": [0] * n,
        "criteria": ("spend",),
        "contributions": [[0.5]] * n,
    }
    if n:
        bad = BAD_VALUES[column][pick % len(BAD_VALUES[column])]
        if column == "contributions":
            columns[column] = [[0.5, 0.1]] * n
        elif bad == "dup":
            columns[column] = [ids[0]] * n if n > 1 else [""]
        else:
            values = list(columns[column])
            values[pick % n] = bad
            columns[column] = values
    store = make()
    run = RatingRun(
        id="r1", as_of=AS_OF, created_at=AS_OF, policy_json="{}", customer_count=n
    )

    def save() -> None:
        store.ratings.save_run_arrays(run, RatingResults.from_arrays(run_id="r1", **columns))

    if n:  # one bad cell: refused, nothing stored
        with pytest.raises(ValidationError):
            save()
        assert store.ratings.list_runs() == []
    else:
        save()
        assert store.ratings.results("r1") == []


def test_records_of_many_customers_round_trip_through_columns() -> None:
    records = [
        CustomerRating(
            run_id="r1", customer_id=f"c-{k:03d}", score=k / 7, stars=1 + k % 5,
            computed_stars=1 + k % 5, previous_stars=k % 3, pending=k % 2,
            contributions=(("spend", k / 3), ("frequency", -k / 11)),
        )
        for k in range(200)
    ]  # fmt: skip
    columns = RatingResults.from_records("r1", reversed(records))
    assert list(columns.to_records()) == records
    assert columns.position("c-007") == 7
    assert columns.position("nobody") is None


def _columns(n: int, run_id: str) -> tuple[RatingRun, RatingResults]:
    ids = [f"客户-{k:03d}" for k in range(n)][::-1]  # given unsorted
    results = RatingResults.from_arrays(
        run_id=run_id,
        customer_ids=ids,
        score=np.linspace(0, 1, n),
        stars=np.arange(n) % 5 + 1,
        computed_stars=np.arange(n) % 4 + 1,
        previous_stars=np.arange(n) % 3,
        pending=np.arange(n) % 2,
        criteria=("spend", "frequency", "breadth"),
        contributions=np.arange(3 * n, dtype=np.float64).reshape(n, 3) / 7,
    )
    run = RatingRun(id=run_id, as_of=AS_OF, created_at=AS_OF, policy_json="{}", customer_count=n)
    return run, results


def test_a_columnar_run_stored_in_many_parts_reads_back_whole_and_by_customer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The part size lives in the stored form the SQLite and PostgreSQL adapters share.
    from custmgmt.adapters import _rating_parts

    monkeypatch.setattr(_rating_parts, "PART_ROWS", 3)
    store = SQLiteStore(":memory:")
    run, results = _columns(10, "r1")
    store.ratings.save_run_arrays(run, results)
    assert store.connection.execute("SELECT count(*) FROM rating_result_parts").fetchone() == (4,)
    back = store.ratings.results_arrays("r1")
    assert back.customer_ids.tolist() == results.customer_ids.tolist()
    assert back.contributions.tolist() == results.contributions.tolist()
    records = list(results.to_records())
    assert store.ratings.results("r1") == records
    for record in records:
        assert store.ratings.result("r1", record.customer_id) == record
    for missing in ("", "a", "客户-0035", "龘"):
        with pytest.raises(NotFound):
            store.ratings.result("r1", missing)
    assert [h.stars for h in store.ratings.star_history("客户-007")] == [records[7].stars]
    store.ratings.remove_run("r1")
    assert store.connection.execute("SELECT count(*) FROM rating_result_parts").fetchone() == (0,)


def test_columnar_parts_changed_behind_the_stores_back_are_storage_errors() -> None:
    store = SQLiteStore(":memory:")
    run, results = _columns(5, "r1")
    store.ratings.save_run_arrays(run, results)
    with store.writing() as connection:
        connection.execute("UPDATE rating_result_parts SET numbers = x'00'")
    with pytest.raises(StorageError):
        store.ratings.results_arrays("r1")
    with pytest.raises(StorageError):
        store.ratings.result("r1", "客户-001")
