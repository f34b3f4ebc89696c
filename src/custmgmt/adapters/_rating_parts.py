"""The stored form of a columnar rating run, shared by the SQLite and PostgreSQL
rating adapters: results in parts of :data:`PART_ROWS` customers (sorted by id), each
part the customers' ids joined by :data:`ID_SEPARATOR` and one little-endian record
per customer (score, stars, computed stars, previous stars, pending, then one float64
per criterion). Both stores keep the same bytes, so the encoding lives here once and
only the SQL around it differs."""

from __future__ import annotations

from typing import Any

import numpy as np

from custmgmt.rating.result_columns import RatingResults

__all__ = ["ID_SEPARATOR", "PART_ROWS", "part_records", "part_rows", "results_from_parts"]

#: Customers per stored part of a columnar run: reading one customer's result reads
#: one part (about 0.3 MB with four criteria).
PART_ROWS = 4096
#: Joins the customer ids of a part (the domain refuses control characters in ids).
ID_SEPARATOR = "\x1f"



def _record_dtype(criteria: int) -> np.dtype[Any]:
    return np.dtype(
        [
            ("score", "<f8"),
            ("stars", "<i8"),
            ("computed_stars", "<i8"),
            ("previous_stars", "<i8"),
            ("pending", "<i8"),
            ("contributions", "<f8", (criteria,)),
        ]
    )


def part_records(numbers: bytes, criteria: int) -> np.ndarray[Any, Any]:
    return np.frombuffer(numbers, dtype=_record_dtype(criteria))


def part_rows(run_id: str, results: RatingResults) -> list[tuple[str, str, str, bytes]]:
    """The stored parts of columnar results: :data:`PART_ROWS` customers each, their
    ids joined and their numbers as one little-endian record BLOB."""
    n = len(results)
    table = np.zeros(n, dtype=_record_dtype(len(results.criteria)))
    table["score"] = results.score
    table["stars"] = results.stars
    table["computed_stars"] = results.computed_stars
    table["previous_stars"] = results.previous_stars
    table["pending"] = results.pending
    table["contributions"] = results.contributions
    ids = results.customer_ids.tolist()
    return [
        (run_id, ids[start], ID_SEPARATOR.join(ids[start : start + PART_ROWS]),
         table[start : start + PART_ROWS].tobytes())
        for start in range(0, n, PART_ROWS)
    ]  # fmt: skip


def results_from_parts(run_id: str, parts: list[Any], criteria: tuple[str, ...]) -> RatingResults:
    """The stored parts of a columnar run (in customer order) as one RatingResults."""
    ids: list[str] = []
    for text, _ in parts:
        ids.extend(text.split(ID_SEPARATOR))
    records = np.frombuffer(b"".join(p[1] for p in parts), dtype=_record_dtype(len(criteria)))
    if len(records) != len(ids):
        raise ValueError(f"{len(records)} results for {len(ids)} customers")
    customer_ids = np.empty(len(ids), dtype=object)
    customer_ids[:] = ids
    return RatingResults(
        run_id=run_id,
        customer_ids=customer_ids,
        score=records["score"].astype(np.float64),
        stars=records["stars"].astype(np.int64),
        computed_stars=records["computed_stars"].astype(np.int64),
        previous_stars=records["previous_stars"].astype(np.int64),
        pending=records["pending"].astype(np.int64),
        criteria=criteria,
        contributions=np.ascontiguousarray(records["contributions"], dtype=np.float64).reshape(
            len(ids), len(criteria)
        ),
    )
