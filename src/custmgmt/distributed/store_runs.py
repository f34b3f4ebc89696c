"""A cluster's rating kept in a store, as :func:`custmgmt.rating.rate_store` keeps one.

:func:`rate_into_store` is what ``custmgmt rate ORDERS.parquet --workers N --db STORE
--save`` runs: the orders come from the cluster (Parquet read by the workers), the
store is only the destination and the source of what a stored run depends on: the
previous run's stars (hysteresis), the run already stored for this policy and
``as_of`` (saving is idempotent) and the approved overrides (applied to the returned
rating, not to the stored run). The run is written chunk by chunk with
:meth:`DistributedRating.save`, all or nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from custmgmt._extras import require
from custmgmt.distributed.interactions import DistributedInteractions
from custmgmt.distributed.pipeline import (
    DEFAULT_SAVE_CHUNK_ROWS,
    DistributedOrders,
    DistributedRating,
    rate,
)
from custmgmt.domain._validate import check_aware
from custmgmt.rating.policy import RatingPolicy
from custmgmt.rating.ports import RatingStore
from custmgmt.rating.records import RatingRun
from custmgmt.rating.result import Rating
from custmgmt.rating.services import load_previous, reviewed_overrides, same_run

__all__ = ["rate_into_store"]


def rate_into_store(
    orders: DistributedOrders,
    store: RatingStore,
    policy: RatingPolicy | None = None,
    *,
    as_of: datetime,
    created_at: datetime,
    run_id: str | None = None,
    chunk_rows: int = DEFAULT_SAVE_CHUNK_ROWS,
    apply_overrides: bool = True,
    npartitions: int | None = None,
    interactions: DistributedInteractions | None = None,
) -> tuple[Rating, RatingRun]:
    """Rate ``orders`` on the cluster and keep the run in ``store.ratings``.

    The same run :func:`~custmgmt.rating.rate_store` stores for these orders: the
    previous stored run with an earlier ``as_of`` feeds the hysteresis; when a
    stored run already rates this ``as_of`` with this policy (and no ``run_id`` is
    given) that run is returned and nothing new is stored; otherwise the run is
    saved in chunks of about ``chunk_rows`` customers in one transaction. The
    per-partition results are computed once (kept on the workers) for both the
    save and the returned rating.

    Args:
        orders: from :func:`~custmgmt.distributed.read_orders`.
        store: where the run is kept (memory, SQLite, PostgreSQL or a host's own
            store with ``save_run_chunks``).
        policy: the rating policy (default :meth:`RatingPolicy.default`).
        as_of: the aware time rated.
        created_at: when the run is made (from the caller's clock).
        run_id: the stored run's id (fresh by default).
        chunk_rows: about how many customers a written chunk holds.
        apply_overrides: apply the store's approved overrides to the returned
            rating's ``stars`` (the stored run keeps the rated stars).
        npartitions: partitions of customers after the shuffle.
        interactions: for a policy with interaction features
            (:func:`~custmgmt.distributed.read_interactions`).

    Returns:
        The whole rating (on this machine) and the stored (or already stored) run.

    Raises:
        ValidationError: a naive ``as_of`` or ``created_at``; on compute, bad input
            naming its file.
        Conflict: ``run_id`` is taken; nothing is written.
    """
    check_aware("as_of", as_of)
    check_aware("created_at", created_at)
    policy = RatingPolicy.default() if policy is None else policy
    repository = store.ratings
    previous = load_previous(repository, before=as_of, policy=policy)
    lazy = rate(
        orders,
        policy,
        as_of=as_of,
        previous=previous,
        npartitions=npartitions,
        interactions=interactions,
    )
    kept = _persisted(lazy)
    run = None if run_id is not None else same_run(repository, policy, as_of)
    if run is None:
        run = kept.save(store, created_at=created_at, run_id=run_id, chunk_rows=chunk_rows)
    rating = kept.collect()
    if apply_overrides:
        # Revoked overrides too: each applies from its approval until its revocation.
        rating = rating.with_overrides(reviewed_overrides(repository), at=as_of)
    return rating, run


def _persisted(result: DistributedRating) -> DistributedRating:
    """``result`` with its per-partition ratings and population computed once and
    kept on the workers (both the save and the collect read them)."""
    dask: Any = require("dask", extra="dask", purpose="analyses on a Dask cluster")
    *parts, population = dask.persist(*result.parts, result.population)
    return DistributedRating(frame=result.frame, parts=tuple(parts), population=population)
