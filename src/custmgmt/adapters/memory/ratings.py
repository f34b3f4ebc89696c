"""Rating runs and overrides in memory (see :class:`custmgmt.rating.ports.RatingRepository`).

Writes hold the store's lock and record an undo action, so they join
:meth:`MemoryStore.transaction <custmgmt.adapters.memory.MemoryStore.transaction>`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import numpy as np

from custmgmt.adapters._checks import (
    check_chunked_count,
    check_override,
    check_result_arrays,
    check_result_chunk,
    check_results,
    stale_copy,
)
from custmgmt.adapters._redaction import redacted_override, replace_redacted
from custmgmt.adapters.memory.transaction import TransactionLog
from custmgmt.domain._validate import check_aware, coerce_enum
from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.rating.overrides import Override, OverrideStatus
from custmgmt.rating.records import CustomerRating, RatingRun, StarHistoryEntry
from custmgmt.rating.result_columns import RatingResults

__all__ = ["MemoryRatingRepository", "run_sort_key"]


#: A run's results as saved: records by customer id, or columns.
_Results = dict[str, CustomerRating] | RatingResults


def run_sort_key(run: RatingRun) -> tuple[datetime, datetime, str]:
    """How runs are ordered: ``as_of``, then ``created_at``, then id."""
    return (run.as_of, run.created_at, run.id)


class MemoryRatingRepository:
    """Rating runs, results and overrides in memory, joining a store's transactions.

    Args:
        tx: the store's transaction log (``MemoryStore.tx``).
    """

    def __init__(self, tx: TransactionLog) -> None:
        self._tx = tx
        self._runs: dict[str, RatingRun] = {}
        # A run's results in the form they were saved in: records by customer id
        # (save_run) or columns (save_run_arrays), so neither form is ever converted
        # unless it is read in the other.
        self._results: dict[str, _Results] = {}
        self._overrides: dict[str, Override] = {}

    # -- runs --------------------------------------------------------------------------
    def save_run(self, run: RatingRun, results: Iterable[CustomerRating]) -> int:
        """Store a run and its results, all or nothing."""
        batch = check_results(run, results)
        self._put_new(run, {r.customer_id: r for r in batch})
        return len(batch)

    def save_run_arrays(self, run: RatingRun, results: RatingResults) -> int:
        """Store a run and its columnar results, all or nothing (kept as columns)."""
        self._put_new(run, check_result_arrays(run, results))
        return len(results)

    def save_run_chunks(self, run: RatingRun, chunks: Iterable[RatingResults]) -> int:
        """Store a run from consecutive chunks of its results, all or nothing: the
        chunks are checked as they come and joined into one column set, stored with
        the last (memory holds every result anyway)."""
        if not isinstance(run, RatingRun):
            raise ValidationError("run", run, "a RatingRun")
        kept: list[RatingResults] = []
        criteria: tuple[str, ...] | None = None
        last: str | None = None
        for chunk in chunks:
            check_result_chunk(run, chunk, criteria, last)
            criteria = chunk.criteria
            kept.append(chunk)
            last = str(chunk.customer_ids[-1]) if len(chunk) else last
        saved = sum(len(c) for c in kept)
        check_chunked_count(run, saved, len(kept))
        if len(kept) == 1:
            joined = kept[0]
        else:
            joined = RatingResults(
                run_id=run.id,
                customer_ids=np.concatenate([c.customer_ids for c in kept]),
                score=np.concatenate([c.score for c in kept]),
                stars=np.concatenate([c.stars for c in kept]),
                computed_stars=np.concatenate([c.computed_stars for c in kept]),
                previous_stars=np.concatenate([c.previous_stars for c in kept]),
                pending=np.concatenate([c.pending for c in kept]),
                criteria=kept[0].criteria,
                contributions=np.concatenate([c.contributions for c in kept]),
            )
        self._put_new(run, joined)
        return saved

    def _put_new(
        self, run: RatingRun, results: _Results
    ) -> None:
        with self._tx.lock:
            if run.id in self._runs:
                raise Conflict("rating run", run.id, "a run with this id exists")
            self._runs[run.id] = run
            self._results[run.id] = results
            self._tx.record(lambda: self._drop_run(run.id))

    def _drop_run(self, run_id: str) -> tuple[RatingRun, _Results]:
        return self._runs.pop(run_id), self._results.pop(run_id)

    def _put_run(
        self, run: RatingRun, results: _Results
    ) -> None:
        self._runs[run.id] = run
        self._results[run.id] = results

    def get_run(self, run_id: str) -> RatingRun:
        """The stored run (NotFound otherwise)."""
        self._tx.check_open()
        try:
            return self._runs[run_id]
        except (KeyError, TypeError):
            raise NotFound("rating run", run_id) from None

    def list_runs(self) -> list[RatingRun]:
        """Every run, oldest first."""
        with self._tx.lock:
            return sorted(self._runs.values(), key=run_sort_key)

    def latest_run(self, at: datetime | None = None) -> RatingRun | None:
        """The newest run with ``as_of <= at`` (or the newest of all)."""
        if at is not None:
            check_aware("at", at)
        runs = [r for r in self.list_runs() if at is None or r.as_of <= at]
        return runs[-1] if runs else None

    def results(self, run_id: str) -> list[CustomerRating]:
        """The run's results by customer id."""
        with self._tx.lock:
            self.get_run(run_id)
            stored = self._results[run_id]
        if isinstance(stored, RatingResults):
            return list(stored.to_records())
        return sorted(stored.values(), key=lambda r: r.customer_id)

    def results_arrays(self, run_id: str) -> RatingResults:
        """The run's results as columns, by customer id."""
        with self._tx.lock:
            self.get_run(run_id)
            stored = self._results[run_id]
        if isinstance(stored, RatingResults):
            return stored
        return RatingResults.from_records(run_id, stored.values())

    def _lookup(self, run_id: str, customer_id: str) -> CustomerRating | None:
        stored = self._results[run_id]
        if isinstance(stored, RatingResults):
            row = stored.position(customer_id)
            return None if row is None else stored.record(row)
        return stored.get(customer_id)

    def result(self, run_id: str, customer_id: str) -> CustomerRating:
        """One customer's result in one run."""
        with self._tx.lock:
            self.get_run(run_id)
            found = self._lookup(run_id, customer_id)
        if found is None:
            raise NotFound("rating result", (run_id, customer_id))
        return found

    def star_history(self, customer_id: str) -> list[StarHistoryEntry]:
        """The customer's stars in every run that rated it, oldest first."""
        with self._tx.lock:
            history = []
            for run in sorted(self._runs.values(), key=run_sort_key):
                found = self._lookup(run.id, customer_id)
                if found is not None:
                    history.append(
                        StarHistoryEntry(
                            run_id=run.id, as_of=run.as_of, stars=found.stars, score=found.score
                        )
                    )
            return history

    def remove_run(self, run_id: str) -> None:
        """Delete a run and its results."""
        with self._tx.lock:
            self.get_run(run_id)
            run, results = self._drop_run(run_id)
            self._tx.record(lambda: self._put_run(run, results))

    # -- overrides ---------------------------------------------------------------------
    def add_override(self, override: Override) -> None:
        """Store a new override (Conflict on a repeated id)."""
        check_override(override)
        with self._tx.lock:
            if override.id in self._overrides:
                raise Conflict("override", override.id, "an override with this id exists")
            self._overrides[override.id] = override
            self._tx.record(lambda: self._overrides.pop(override.id, None))

    def update_override(self, override: Override) -> None:
        """Replace a stored override with a copy changed once (optimistic)."""
        check_override(override)
        with self._tx.lock:
            stored = self.get_override(override.id)
            if stored.version != override.version - 1:
                raise stale_copy(
                    "override", override.id, stored.version, override.version,
                    unchanged=stored == override,
                )  # fmt: skip
            self._overrides[override.id] = override
            self._tx.record(lambda: self._overrides.__setitem__(stored.id, stored))

    def get_override(self, override_id: str) -> Override:
        """The stored override (NotFound otherwise)."""
        self._tx.check_open()
        try:
            return self._overrides[override_id]
        except (KeyError, TypeError):
            raise NotFound("override", override_id) from None

    def overrides_for(self, customer_id: str) -> list[Override]:
        """The customer's overrides, oldest request first."""
        with self._tx.lock:
            found = [o for o in self._overrides.values() if o.customer_id == customer_id]
        return sorted(found, key=lambda o: (o.requested_at, o.id))

    def list_overrides(self, status: OverrideStatus | None = None) -> list[Override]:
        """Every override (of ``status``, if given), oldest request first."""
        wanted = None if status is None else coerce_enum(OverrideStatus, status, "status")
        with self._tx.lock:
            found = [o for o in self._overrides.values() if wanted is None or o.status is wanted]
        return sorted(found, key=lambda o: (o.requested_at, o.id))

    # -- what blocks removing a customer (custmgmt.ports.CustomerDependents) -----------
    def customer_dependents(self, customer_id: str) -> dict[str, int]:
        """The customer's rating results (one per run that rated it) and overrides."""
        with self._tx.lock:
            results = sum(
                1 for run_id in self._runs if self._lookup(run_id, customer_id) is not None
            )
            overrides = sum(1 for o in self._overrides.values() if o.customer_id == customer_id)
        return {"rating results": results, "overrides": overrides}


    # -- erasure (custmgmt.privacy.SubjectRedaction) -----------------------------------
    def redact_subject(self, customer_id: str, pseudonym: str) -> int:
        """Erase the reasons of the customer's overrides; the number changed."""
        with self._tx.lock:
            return replace_redacted(
                self._tx, self._overrides, redacted_override,
                lambda o: o.customer_id == customer_id,
            )
