"""A cluster rating run is kept in a store like a single-machine one (issue 21)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from custmgmt.adapters.memory import MemoryStore
from custmgmt.distributed import rate, read_orders, read_orders_parquet
from custmgmt.rating import RatingPolicy, rate_frames

from ._data import write_orders

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)


def test_a_saved_run_holds_every_customer_s_stars(client: Any, tmp_path: Path) -> None:
    write_orders(tmp_path, orders=2_000, files=3)
    single = rate_frames(RatingPolicy.default(), read_orders_parquet(tmp_path), as_of=AS_OF)
    store = MemoryStore()
    run = rate(read_orders(tmp_path), as_of=AS_OF).save(store, created_at=AS_OF)
    assert run.customer_count == len(single)
    kept = store.ratings.results_arrays(run.id)
    order = np.argsort(np.asarray(kept.customer_ids).astype(str))
    assert np.asarray(kept.customer_ids)[order].astype(str).tolist() == [
        str(c) for c in single.customer_ids
    ]
    assert np.array_equal(np.asarray(kept.stars)[order], single.stars)
