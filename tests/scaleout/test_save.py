"""A cluster rating run is kept in a store like a single-machine one, written chunk by
chunk without collecting it on the client; a save that stops part way leaves no run
(issue 21)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.distributed import DistributedRating, rate, read_orders, read_orders_parquet
from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.rating import Rating, RatingPolicy, rate_frames
from custmgmt.rating.result_columns import RatingResults
from custmgmt.rating.services import save_rating
from custmgmt.testing._contract import Boom

from ._data import write_orders

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)
CREATED = datetime(2025, 1, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("save-orders")
    write_orders(folder, orders=3_000, files=3)
    return folder


@pytest.fixture(scope="module")
def single(orders: Path) -> Rating:
    return rate_frames(RatingPolicy.default(), read_orders_parquet(orders), as_of=AS_OF)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "postgres":
        yield request.getfixturevalue("postgres_store")
        return
    made = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "runs.db")
    yield made
    made.close()


class _Chunks:
    """A store whose rating repository records the chunks it is given, and can fail
    after ``fail_after`` of them."""

    def __init__(self, inner: Any, fail_after: int | None = None) -> None:
        self.inner = inner
        self.sizes: list[int] = []
        self.fail_after = fail_after

    @property
    def ratings(self) -> Any:
        spy = self

        class Repository:
            def save_run_chunks(self, run: Any, chunks: Iterable[RatingResults]) -> int:
                def counted() -> Iterator[RatingResults]:
                    for chunk in chunks:
                        if spy.fail_after is not None and len(spy.sizes) == spy.fail_after:
                            raise Boom("a worker was lost")
                        spy.sizes.append(len(chunk))
                        yield chunk

                return int(spy.inner.ratings.save_run_chunks(run, counted()))

        return Repository()


def _never_collect(self: Any) -> Any:
    raise AssertionError("save must not collect the rating on the client")


def test_a_run_saved_in_chunks_equals_the_single_machine_save(
    client: Any,
    orders: Path,
    single: Rating,
    store: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(DistributedRating, "collect", _never_collect)
    spy = _Chunks(store)
    run = rate(read_orders(orders), as_of=AS_OF).save(
        spy, created_at=CREATED, run_id="cluster", chunk_rows=150
    )
    assert len(single) > 600
    # Several chunks, each about chunk_rows (cuts from sampled ids), none the run.
    assert len(spy.sizes) == -(-len(single) // 150)
    assert max(spy.sizes) < 2 * 150
    assert sum(spy.sizes) == len(single)
    reference = MemoryStore()
    want = save_rating(reference.ratings, single, created_at=CREATED, run_id="cluster")
    assert run == want
    assert store.ratings.get_run("cluster") == want
    got = store.ratings.results_arrays("cluster")
    expected = RatingResults.from_rating(single, run_id="cluster")
    assert got.criteria == expected.criteria
    assert got.customer_ids.tolist() == expected.customer_ids.tolist()
    for name in ("score", "stars", "computed_stars", "previous_stars", "pending"):
        assert getattr(got, name).tobytes() == getattr(expected, name).tobytes(), name
    assert got.contributions.tobytes() == expected.contributions.tobytes()
    some = str(expected.customer_ids[len(expected) // 2])
    assert store.ratings.result("cluster", some) == reference.ratings.result("cluster", some)


def test_a_save_that_fails_part_way_leaves_no_run(
    client: Any, orders: Path, single: Rating, store: Any
) -> None:
    rating = rate(read_orders(orders), as_of=AS_OF)
    failing = _Chunks(store, fail_after=2)
    with pytest.raises(Boom):
        rating.save(failing, created_at=CREATED, run_id="half", chunk_rows=150)
    assert failing.sizes  # chunks were written before the failure
    assert store.ratings.list_runs() == []
    with pytest.raises(NotFound):
        store.ratings.results_arrays("half")
    first = str(single.customer_ids[0])
    assert store.ratings.star_history(first) == []
    # The same run saves afterwards; saving it twice is a conflict.
    run = rating.save(store, created_at=CREATED, run_id="half", chunk_rows=150)
    assert run.customer_count == len(single)
    with pytest.raises(Conflict):
        rating.save(store, created_at=CREATED, run_id="half", chunk_rows=150)
    assert [r.id for r in store.ratings.list_runs()] == ["half"]


def test_save_arguments_are_checked_before_anything_runs(client: Any, orders: Path) -> None:
    rating = rate(read_orders(orders), as_of=AS_OF)
    store = MemoryStore()
    with pytest.raises(ValidationError, match="chunk_rows"):
        rating.save(store, created_at=CREATED, chunk_rows=0)
    with pytest.raises(ValidationError, match="created_at"):
        rating.save(store, created_at=datetime(2025, 1, 2))
    assert store.ratings.list_runs() == []


_KILLED_MID_SAVE = """
import os, signal, sqlite3, sys
from datetime import datetime, timezone
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.testing.rating_contract import make_rating_columns, split_columns

path = sys.argv[1]
store = SQLiteStore(path)
run, columns = make_rating_columns()

def chunks():
    parts = split_columns(columns, [1, 2, 3])
    yield parts[0]
    yield parts[1]
    # Two chunks written: another connection still sees no run.
    seen = sqlite3.connect(path).execute("SELECT count(*) FROM rating_runs").fetchone()[0]
    print(seen, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    yield parts[2]

store.ratings.save_run_chunks(run, chunks())
"""


def test_a_process_killed_mid_save_leaves_no_run_in_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    SQLiteStore(path).close()  # the schema exists before the save
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_MID_SAVE, str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout.split() == ["0"]
    store = SQLiteStore(path)
    try:
        assert store.ratings.list_runs() == []
        with sqlite3.connect(path) as raw:
            assert raw.execute("SELECT count(*) FROM rating_result_parts").fetchone() == (0,)
    finally:
        store.close()
