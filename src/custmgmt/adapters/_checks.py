"""Checks every storage adapter makes, shared sideways so no adapter imports another.

They validate arguments and entities before anything is written, so the memory,
SQLite and any later adapter refuse the same input with the same error.
"""

from __future__ import annotations

from collections.abc import Collection, Container, Iterable
from typing import Any, TypeVar

from custmgmt.domain._validate import check_id, coerce_enum
from custmgmt.domain.time import require_aware, to_epoch_micros
from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.rating.overrides import Override
from custmgmt.rating.records import CustomerRating, RatingRun
from custmgmt.rating.result_columns import RatingResults
from custmgmt.tickets.ticket import Ticket, TicketStatus

__all__ = [
    "a_type",
    "check_chunk_size",
    "check_chunked_count",
    "check_entity",
    "check_override",
    "check_range",
    "check_result_arrays",
    "check_result_chunk",
    "check_results",
    "check_statuses",
    "check_update",
    "could_be_id",
    "first_taken_id",
    "stale_copy",
    "stored_key",
    "taken_id",
]

T = TypeVar("T")


def check_chunk_size(size: Any) -> int:
    """Validate ``iter_chunks``' size argument; a size past SQL's 64-bit integers (which
    a LIMIT cannot take) means "everything at once", as it does in the memory store."""
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValidationError("size", size, "a positive integer chunk size")
    return min(size, 2**63 - 1)


def a_type(kind: type) -> str:
    """The type's name with its article, as an error's "expected" says it.

    >>> a_type(int), a_type(ValueError)
    ('an int', 'a ValueError')
    """
    name = kind.__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def check_entity(entity: str, value: Any, kind: type[T]) -> T:
    """``value`` if it is a ``kind`` (an entity a repository stores), else a
    ValidationError naming the ``entity`` field (every adapter words it alike)."""
    if not isinstance(value, kind):
        raise ValidationError(entity, value, a_type(kind))
    return value


def could_be_id(value: Any) -> bool:
    """Whether ``value`` could be a stored entity's id (see
    :func:`custmgmt.domain._validate.check_id`): anything else, such as ``None``, a
    lone surrogate that no database can encode, a NUL that PostgreSQL refuses, or a
    megabyte of text, is stored under no key, so a read of it finds nothing without
    asking the database."""
    try:
        check_id("id", value)
    except ValidationError:
        return False
    return True


def stored_key(entity: str, value: Any) -> str:
    """``value`` if it could be the id of a stored ``entity``, else NotFound at once
    (every adapter answers a get or remove of such a value the same way).

    Raises:
        NotFound: ``value`` is no id (:func:`could_be_id`).
    """
    if not could_be_id(value):
        raise NotFound(entity, value)
    return str(value)


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
    if expected_version is None and ticket.version == 1:
        # A copy never changed since it was added: stale whatever is stored now (there
        # is no "version 0" to expect).
        raise stale_copy("ticket", ticket.id, stored.version, 1, unchanged=stored == ticket)
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
        raise stale_copy(
            "ticket", ticket.id, stored.version, ticket.version,
            unchanged=stored == ticket, expected_version=expected_version,
            advice="reload, apply the change again, then update",
        )
    if not ticket.events.extends(stored.events):
        raise Conflict(
            "ticket", ticket.id,
            "the update would drop, change or reorder stored event-log entries "
            "(the log is append-only)",
            expected_version=expected, actual_version=stored.version,
        )


def stale_copy(
    entity: str,
    key: Any,
    stored_version: int,
    version: int,
    *,
    unchanged: bool | None = None,
    expected_version: int | None = None,
    advice: str = "reload, change once, then update",
) -> Conflict:
    """The Conflict of an update whose copy is not the stored version changed once.

    Every adapter words it the same way, saying only what is known: the stored
    version, the copy's version, and (where the adapter compared them) whether the
    copy is the stored entity unchanged. It never guesses the version a copy was made
    from: an unchanged copy of version 2 was made from version 2, a copy changed once
    from version 1 is version 2 too.

    Args:
        entity: the kind of entity (``"customer"``).
        key: its id.
        stored_version: the version found in storage.
        version: the version of the copy given to ``update``.
        unchanged: True when the copy equals the stored entity, False when it
            differs, None when the adapter did not compare them.
        expected_version: the version the caller said it expects (an
            ``expected_version=`` argument); None when the update expects
            ``version - 1``.
        advice: what to do instead, in brackets at the end.

    >>> str(stale_copy("customer", "c-1", 1, 1, unchanged=True))
    "customer 'c-1': stored version is 1 and this copy is that version, unchanged: there is nothing to update (change it, then update)"
    >>> str(stale_copy("customer", "c-1", 2, 1))
    "customer 'c-1': stored version is 2, but this copy is version 1, never changed: update takes the stored version changed once (get it, change it, then update)"
    """  # noqa: E501 - a doctest's output is one line
    expected = version - 1 if expected_version is None else expected_version
    stored = f"stored version is {stored_version}"
    if expected_version is not None:
        text = f"{stored}, not version {expected_version} as this update expects ({advice})"
    elif unchanged:
        text = (
            f"{stored} and this copy is that version, unchanged: there is nothing to "
            "update (change it, then update)"
        )
    elif version == 1:
        text = (
            f"{stored}, but this copy is version 1, never changed: update takes the "
            "stored version changed once (get it, change it, then update)"
        )
    elif version < stored_version:
        text = f"{stored}, but this copy is version {version}, older: it is stale ({advice})"
    elif version == stored_version and unchanged is None:
        text = (
            f"{stored} and this copy is version {version} too: either it is unchanged, or "
            f"another version {stored_version} was stored first ({advice})"
        )
    elif version == stored_version:
        text = (
            f"{stored} and this copy is version {version} too, but differs from it: "
            f"another version {stored_version} was stored first ({advice})"
        )
    else:
        text = (
            f"{stored}, but this copy is version {version}, {version - stored_version} "
            "changes ahead: an update stores one change (update after each change, or "
            "reload, change once, then update)"
        )
    return Conflict(
        entity, key, text, expected_version=expected, actual_version=stored_version
    )


def taken_id(entity: str, key: Any, *, stored: bool) -> Conflict:
    """The Conflict of an add whose id is taken: already ``stored``, or repeated
    within the batch (every adapter words it the same way).

    >>> str(taken_id("order", "o-1", stored=False))
    "order 'o-1': the id repeats within the batch; nothing was added"
    """
    if stored:
        return Conflict(entity, key, "an entity with this id is already stored; nothing was added")
    return Conflict(entity, key, "the id repeats within the batch; nothing was added")


def first_taken_id(
    entity: str, ids: Iterable[str], stored: Container[str], seen: set[str] | None = None
) -> Conflict | None:
    """The Conflict for the first of ``ids``, in their order, that is in ``stored``
    or repeats an earlier one (None if there is none).

    ``seen`` carries the ids of earlier parts of the same batch, for an adapter
    that checks a long batch part by part; it is updated in place.
    """
    seen = set() if seen is None else seen
    for key in ids:
        if key in stored:
            return taken_id(entity, key, stored=True)
        if key in seen:
            return taken_id(entity, key, stored=False)
        seen.add(key)
    return None
