"""The rating capability's ports: where rating runs and overrides are stored.

A host store offers ratings by exposing a :class:`RatingRepository` as ``.ratings``;
:class:`RatingStore` is the store type the rating services take. Check an
implementation with :class:`custmgmt.testing.RatingRepositoryContract`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, runtime_checkable

from custmgmt.ports import CapabilityKey, Store
from custmgmt.rating.overrides import Override, OverrideStatus
from custmgmt.rating.records import CustomerRating, RatingRun, StarHistoryEntry
from custmgmt.rating.result_columns import RatingResults

__all__ = ["RATINGS", "RatingRepository", "RatingStore"]


@runtime_checkable
class RatingRepository(Protocol):
    """Rating runs with their per-customer results, and manual overrides.

    Runs are written once and never changed; a customer's star history is the
    sequence of its results across runs. Overrides are versioned entities (see
    :class:`custmgmt.rating.Override`). The bundled stores expose theirs as
    ``store.ratings``, sharing the store's transaction. Check an implementation with
    :class:`custmgmt.testing.RatingRepositoryContract`.
    """

    def save_run(self, run: RatingRun, results: Iterable[CustomerRating]) -> int:
        """Store a run and all its results, all or nothing; returns the result count.

        Raises:
            Conflict: a run with this id is stored; nothing is written.
            ValidationError: a result belongs to another run, a customer repeats, or
                the count differs from ``run.customer_count``; nothing is written.
            StorageError: the backend failed; nothing is written.
        """
        ...

    def save_run_arrays(self, run: RatingRun, results: RatingResults) -> int:
        """Store a run and its results given as columns, all or nothing; returns the
        result count.

        The columnar form of :meth:`save_run`, for runs of many customers: no record is
        built per customer. Afterwards :meth:`results` gives ``results.to_records()``
        and :meth:`results_arrays` gives columns equal to ``results``.

        Raises:
            Conflict: a run with this id is stored; nothing is written.
            ValidationError: ``results`` is not a ``RatingResults``, belongs to another
                run, or its row count differs from ``run.customer_count``; nothing is
                written.
            StorageError: the backend failed; nothing is written.
        """
        ...

    def save_run_chunks(self, run: RatingRun, chunks: Iterable[RatingResults]) -> int:
        """Store a run and its results given as consecutive chunks of columns, all or
        nothing; returns the result count.

        For runs too large to hold at once (a rating computed on a cluster, see
        ``DistributedRating.save``): the chunks are consumed one at a time, each
        written before the next is asked for, so the store holds at most one chunk
        in memory (the memory store keeps them all, as it keeps every run). Every
        id of a chunk sorts after every id of the chunk before (so the chunks
        together are the run's results by customer id), and the chunks share the
        criteria. The run is written with its results in one transaction: it
        becomes visible with the last chunk, and an exception from the iterator, a
        failed check or a crash part way leaves nothing stored (the exception
        propagates). Afterwards the run reads back as if saved with
        :meth:`save_run_arrays` from the chunks joined.

        Raises:
            Conflict: a run with this id is stored; nothing is written.
            ValidationError: no chunk (an empty run is one empty chunk), a chunk that
                is not a ``RatingResults``, belongs to another run, has other
                criteria or an id not after the previous chunk's, or a total other
                than ``run.customer_count``; nothing is written.
            StorageError: the backend failed; nothing is written.
        """
        ...

    def results_arrays(self, run_id: str) -> RatingResults:
        """Every result of the run as columns, by customer id.

        For a run saved with :meth:`save_run` the criteria are every name its results
        use, in first-seen order (see :meth:`RatingResults.from_records`).

        Raises:
            NotFound: no run with this id.
            StorageError: the backend failed.
        """
        ...

    def get_run(self, run_id: str) -> RatingRun:
        """The stored run.

        Raises:
            NotFound: no run with this id (entity ``"rating run"``).
        """
        ...

    def list_runs(self) -> list[RatingRun]:
        """Every run, oldest first (by ``as_of``, then ``created_at``, then id)."""
        ...

    def latest_run(self, at: datetime | None = None) -> RatingRun | None:
        """The last run of :meth:`list_runs` with ``as_of <= at`` (any, without ``at``).

        Raises:
            ValidationError: ``at`` is naive.
        """
        ...

    def results(self, run_id: str) -> list[CustomerRating]:
        """Every result of the run, by customer id.

        Raises:
            NotFound: no run with this id.
        """
        ...

    def result(self, run_id: str, customer_id: str) -> CustomerRating:
        """One customer's result in one run.

        Raises:
            NotFound: no such run (entity ``"rating run"``) or the customer has no
                result in it (entity ``"rating result"``, key ``(run_id, customer_id)``).
        """
        ...

    def star_history(self, customer_id: str) -> list[StarHistoryEntry]:
        """The customer's stars in every run that rated it, oldest run first.

        An unknown customer has an empty history.
        """
        ...

    def remove_run(self, run_id: str) -> None:
        """Delete a run and its results (retention, corrections).

        Raises:
            NotFound: no run with this id.
        """
        ...

    def add_override(self, override: Override) -> None:
        """Store a new override.

        Raises:
            Conflict: an override with this id is stored.
        """
        ...

    def update_override(self, override: Override) -> None:
        """Replace a stored override with a copy changed once since it was read.

        Raises:
            NotFound: no override with this id.
            Conflict: the stored version is not ``override.version - 1``; nothing
                is written.
        """
        ...

    def get_override(self, override_id: str) -> Override:
        """The stored override.

        Raises:
            NotFound: no override with this id (entity ``"override"``).
        """
        ...

    def overrides_for(self, customer_id: str) -> list[Override]:
        """The customer's overrides, oldest request first (``requested_at``, id)."""
        ...

    def list_overrides(self, status: OverrideStatus | None = None) -> list[Override]:
        """Every override (of ``status``, if given), oldest request first."""
        ...


#: The key bundled stores register their rating repository under (``store.ratings``).
RATINGS: CapabilityKey[RatingRepository] = CapabilityKey("ratings", RatingRepository)


@runtime_checkable
class RatingStore(Store, Protocol):
    """A :class:`~custmgmt.ports.Store` that also keeps rating runs and overrides."""

    @property
    def ratings(self) -> RatingRepository:
        """The rating repository, sharing the store's transaction."""
        ...
