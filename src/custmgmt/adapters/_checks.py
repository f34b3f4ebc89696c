"""Checks every storage adapter makes, shared sideways so no adapter imports another.

They validate arguments and entities before anything is written, so the memory,
SQLite and any later adapter refuse the same input with the same error.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from custmgmt.domain._validate import coerce_enum
from custmgmt.domain.time import require_aware, to_epoch_micros
from custmgmt.errors import Conflict, ValidationError
from custmgmt.rating.overrides import Override
from custmgmt.rating.records import CustomerRating, RatingRun
from custmgmt.rating.result_columns import RatingResults
from custmgmt.tickets.ticket import Ticket, TicketStatus

__all__ = [
    "check_chunk_size",
    "check_chunked_count",
    "check_override",
    "check_range",
    "check_result_arrays",
    "check_result_chunk",
    "check_results",
    "check_statuses",
    "check_update",
]


def check_chunk_size(size: Any) -> int:
    """Validate ``iter_chunks``' size argument; a size past SQL's 64-bit integers (which
    a LIMIT cannot take) means "everything at once", as it does in the memory store."""
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValidationError("size", size, "a positive integer chunk size")
    return min(size, 2**63 - 1)


def check_range(start: Any, end: Any) -> tuple[int, int]:
    """Validate a ``[start, end)`` range of aware datetimes; returns epoch microseconds."""
    require_aware("start", start)
    require_aware("end", end)
    if end < start:
        raise ValidationError("end", end, f"not before start {start}")
    return to_epoch_micros(start), to_epoch_micros(end)


def check_results(run: RatingRun, results: Iterable[CustomerRating]) -> list[CustomerRating]:
    """Validate a run's results before anything is written (shared by the adapters).

    Raises:
        ValidationError: not a RatingRun, a result of another run, a repeated
            customer, or a count other than ``run.customer_count``.
    """
    if not isinstance(run, RatingRun):
        raise ValidationError("run", run, "a RatingRun")
    try:
        batch = list(results)
    except TypeError:
        raise ValidationError("results", results, "an iterable of CustomerRating") from None
    seen: set[str] = set()
    for result in batch:
        if not isinstance(result, CustomerRating):
            raise ValidationError("results", result, "CustomerRating values")
        if result.run_id != run.id:
            raise ValidationError("results.run_id", result.run_id, f"the run's id {run.id!r}")
        if result.customer_id in seen:
            raise ValidationError("results.customer_id", result.customer_id, "each customer once")
        seen.add(result.customer_id)
    if len(batch) != run.customer_count:
        raise ValidationError(
            "results", len(batch), f"{run.customer_count} results (run.customer_count)"
        )
    return batch


def check_result_arrays(run: RatingRun, results: Any) -> RatingResults:
    """Validate a run's columnar results before anything is written.

    Raises:
        ValidationError: not a RatingRun or RatingResults, results of another run, or
            a row count other than ``run.customer_count``.
    """
    if not isinstance(run, RatingRun):
        raise ValidationError("run", run, "a RatingRun")
    if not isinstance(results, RatingResults):
        raise ValidationError("results", type(results).__name__, "a RatingResults")
    if results.run_id != run.id:
        raise ValidationError("results.run_id", results.run_id, f"the run's id {run.id!r}")
    if len(results) != run.customer_count:
        raise ValidationError(
            "results", len(results), f"{run.customer_count} results (run.customer_count)"
        )
    return results


def check_result_chunk(
    run: RatingRun, chunk: Any, criteria: tuple[str, ...] | None, last_id: str | None
) -> RatingResults:
    """Validate one chunk of a run saved in chunks (``save_run_chunks``) before it is
    written: results of the run, the first chunk's criteria (``criteria``; None for
    the first chunk), every id above the previous chunk's last (``last_id``).

    Raises:
        ValidationError: not a RatingResults, results of another run, other criteria,
            or an id at or below the previous chunk's last.
    """
    if not isinstance(chunk, RatingResults):
        raise ValidationError("chunk", type(chunk).__name__, "a RatingResults")
    if chunk.run_id != run.id:
        raise ValidationError("chunk.run_id", chunk.run_id, f"the run's id {run.id!r}")
    if criteria is not None and chunk.criteria != criteria:
        raise ValidationError("chunk.criteria", chunk.criteria, f"the first chunk's {criteria}")
    if last_id is not None and len(chunk) and not chunk.customer_ids[0] > last_id:
        raise ValidationError(
            "chunk.customer_ids",
            chunk.customer_ids[0],
            f"ids after the previous chunk's last ({last_id!r}): chunks in customer order",
        )
    return chunk


def check_chunked_count(run: RatingRun, saved: int, chunks: int) -> None:
    """Refuse a run saved in chunks whose results do not add up to its customer count
    (or that came without any chunk).

    Raises:
        ValidationError: no chunk, or a count other than ``run.customer_count``.
    """
    if chunks == 0:
        raise ValidationError("chunks", 0, "at least one chunk (an empty run: one empty chunk)")
    if saved != run.customer_count:
        raise ValidationError(
            "chunks", saved, f"{run.customer_count} results in all (run.customer_count)"
        )


def check_override(override: Any) -> Override:
    """Refuse anything but an :class:`Override`."""
    if not isinstance(override, Override):
        raise ValidationError("override", override, "an Override")
    return override


def check_statuses(statuses: Any) -> frozenset[TicketStatus] | None:
    """Validate ``find``'s ``statuses`` argument (members or their values)."""
    if statuses is None:
        return None
    if isinstance(statuses, str) or not isinstance(statuses, Collection):
        raise ValidationError("statuses", statuses, "a collection of TicketStatus or None")
    return frozenset(coerce_enum(TicketStatus, s, "statuses") for s in statuses)


def check_update(stored: Ticket, ticket: Ticket, expected_version: int | None) -> None:
    """The checks every ticket adapter makes before an update (shared by the adapters).

    Raises:
        ValidationError: ``expected_version`` is not an int below ``ticket.version``.
        Conflict: a stale version, or a log that does not extend the stored one.
    """
    expected = ticket.version - 1 if expected_version is None else expected_version
    if (
        not isinstance(expected, int)
        or isinstance(expected, bool)
        or not 1 <= expected < ticket.version
    ):
        raise ValidationError(
            "expected_version", expected_version, f"an int from 1 to {ticket.version - 1}"
        )
    if stored.version != expected:
        raise Conflict(
            "ticket", ticket.id,
            f"stored version is {stored.version}, but this copy was made from version "
            f"{expected} (reload, apply the change again, then update)",
            expected_version=expected, actual_version=stored.version,
        )
    if not ticket.events.extends(stored.events):
        raise Conflict(
            "ticket", ticket.id,
            "the update would drop, change or reorder stored event-log entries "
            "(the log is append-only)",
            expected_version=expected, actual_version=stored.version,
        )
