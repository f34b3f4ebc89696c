"""The rating repository over a SQL database, shared by the SQLite and PostgreSQL adapters.

Both stores keep the same tables (runs, results saved from records, results saved as
columnar parts, overrides) and run the same queries; what differs is the dialect:
how an instant is stored (microseconds in SQLite, ``timestamptz`` in PostgreSQL, both
read back as exact microseconds plus the original UTC offset), the parameter style,
how many rows are written at once (``executemany`` or ``COPY``), how a read sees one
consistent state (SQLite's store lock, a PostgreSQL transaction) and which driver error
means a taken key. :class:`SqlRatingRepository` holds the queries and the decoding once;
each adapter's subclass supplies those few hooks and its migrations.

SQL below is written with ``?`` placeholders and ``{as_of}`` / ``{created}`` /
``{requested}`` for the stored instant columns; :meth:`SqlRatingRepository._q` turns it
into the dialect's text.
"""

from __future__ import annotations

import bisect
import json
from abc import abstractmethod
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar, TypeVar

from custmgmt.adapters._checks import (
    check_chunked_count,
    check_override,
    check_result_arrays,
    check_result_chunk,
    check_results,
    stale_copy,
)
from custmgmt.adapters._rating_parts import ID_SEPARATOR, part_records, part_rows
from custmgmt.adapters._rating_parts import results_from_parts as _columns
from custmgmt.adapters._redaction import redacted_override
from custmgmt.adapters._sql_queries import SqlQueries
from custmgmt.domain._validate import check_aware, coerce_enum
from custmgmt.errors import Conflict, CustMgmtError, NotFound, StorageError, ValidationError
from custmgmt.rating.overrides import Override, OverrideEvent, OverrideStatus
from custmgmt.rating.records import CustomerRating, RatingRun, StarHistoryEntry
from custmgmt.rating.result_columns import RatingResults

__all__ = ["SqlRatingRepository", "instant_offset"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

T = TypeVar("T")

#: The columns of a run row, in the order the decoders read them.
_RUN_COLUMNS = (
    "id, {as_of}, as_of_off, {created}, created_off, policy_json, customer_count, distribution"
)
_RESULT_COLUMNS = (
    "run_id, customer_id, score, stars, computed_stars, previous_stars, pending, contributions"
)
_PART_COLUMNS = "run_id, first_id, customer_ids, numbers"
_OVERRIDE_COLUMNS = "id, version, customer_id, status, body"
_RUN_ORDER = "ORDER BY {as_of}, {created}, id"
_NEWEST_RUN = "ORDER BY {as_of} DESC, {created} DESC, id DESC LIMIT 1"

# What decoding a row that another program edited can raise: bad JSON (ValueError),
# a huge number (OverflowError), wrong shapes (TypeError, KeyError, ...), bad values.
_DECODE_ERRORS = (
    CustMgmtError, ValueError, TypeError, KeyError, IndexError, AttributeError,
    OverflowError, RecursionError,
)  # fmt: skip


def instant_offset(value: datetime) -> int:
    """The UTC offset of an aware datetime in whole seconds (the ``*_off`` column)."""
    offset = value.utcoffset()
    assert offset is not None  # the records refuse naive datetimes
    return offset.days * 86_400 + offset.seconds


def _datetime(micros: int, offset: int) -> datetime:
    tz = UTC if offset == 0 else timezone(timedelta(seconds=offset))
    return _EPOCH.astimezone(tz) + timedelta(microseconds=micros)


def _override_body(override: Override) -> str:
    return json.dumps(
        {
            "stars": override.stars,
            "reason": override.reason,
            "expires_at": override.expires_at.isoformat(),
            "requested_by": override.requested_by,
            "requested_at": override.requested_at.isoformat(),
            "history": [e.to_dict() for e in override.history],
        },
        ensure_ascii=False,
    )


def _override_from_row(row: Sequence[Any]) -> Override:
    override_id, version, customer_id, status, body_text = row
    body = json.loads(body_text)
    return Override(
        id=override_id,
        customer_id=customer_id,
        stars=body["stars"],
        reason=body["reason"],
        expires_at=datetime.fromisoformat(body["expires_at"]),
        requested_by=body["requested_by"],
        requested_at=datetime.fromisoformat(body["requested_at"]),
        status=OverrideStatus(status),
        history=tuple(OverrideEvent.from_dict(e) for e in body["history"]),
        version=version,
    )


def _history_from_row(row: Sequence[Any]) -> StarHistoryEntry:
    return StarHistoryEntry(
        run_id=row[0], as_of=_datetime(row[1], row[2]), stars=row[3], score=row[4]
    )


def _as_of_from_row(row: Sequence[Any]) -> datetime:
    return _datetime(row[0], row[1])


def _run_from_row(row: Sequence[Any]) -> RatingRun:
    return RatingRun(
        id=row[0],
        as_of=_datetime(row[1], row[2]),
        created_at=_datetime(row[3], row[4]),
        policy_json=row[5],
        customer_count=row[6],
        distribution=tuple(json.loads(row[7])),
    )


def _result_from_row(row: Sequence[Any]) -> CustomerRating:
    return CustomerRating(
        run_id=row[0],
        customer_id=row[1],
        score=float(row[2]),
        stars=row[3],
        computed_stars=row[4],
        previous_stars=row[5],
        pending=row[6],
        contributions=tuple((str(k), float(v)) for k, v in json.loads(row[7])),
    )


def _result_row(r: CustomerRating) -> tuple[Any, ...]:
    return (
        r.run_id, r.customer_id, r.score, r.stars, r.computed_stars, r.previous_stars,
        r.pending, json.dumps([list(pair) for pair in r.contributions], ensure_ascii=False),
    )  # fmt: skip


class SqlRatingRepository(SqlQueries):
    """Rating runs, results and overrides in a SQL store (see
    :class:`custmgmt.rating.ports.RatingRepository`); subclasses name the dialect and
    the stored instant columns (``as_of``, ``created``, ``requested``).

    Writes go through the store's ``writing()``, so they join its transaction and a
    failure writes nothing.
    """

    #: The driver's error for a taken unique key.
    taken_key_error: ClassVar[type[Exception]]
    #: Appended to the SELECT that a redaction updates row by row.
    for_update: ClassVar[str] = ""

    # -- the dialect's hooks -----------------------------------------------------------
    @abstractmethod
    def _reading(self) -> AbstractContextManager[Any]:
        """A block whose reads see one state of the tables."""

    @abstractmethod
    def _insert_rows(self, conn: Any, table: str, columns: str, rows: Iterable[Any]) -> None:
        """Insert many rows at once inside the open write."""

    @abstractmethod
    def _instant(self, value: datetime) -> Any:
        """The stored form of an instant (a query parameter)."""

    def _ensure(self) -> None:
        """Make sure the tables exist before a statement (SQLite recreates them when
        the transaction that first made them rolled back); by default they are made
        once, when the repository is."""

    def _dependents_guard(self) -> AbstractContextManager[Any]:
        """The block in which a customer's dependents are counted."""
        return self._reading()

    def _writing(self) -> AbstractContextManager[Any]:
        self._ensure()
        return self._store.writing()  # type: ignore[no-any-return]

    def _select_runs(self, tail: str) -> str:
        """SELECT the run columns (instants as microseconds), then ``tail``."""
        return self._q(f"SELECT {self._select(_RUN_COLUMNS)} FROM rating_runs " + tail)

    def _decoded(
        self, what: str, key: Any, decode: Callable[[Sequence[Any]], T], row: Sequence[Any]
    ) -> T:
        try:
            return decode(row)
        except _DECODE_ERRORS as exc:
            # The rows were valid when written: something else changed the database.
            raise StorageError(
                f"{self.dialect}: stored {what} {key!r} is not valid any more: {exc}"
            ) from exc

    def _invalid_results(self, run_id: str, exc: Exception) -> StorageError:
        return StorageError(
            f"{self.dialect}: the stored results of run {run_id!r} are not valid: {exc}"
        )

    # -- runs --------------------------------------------------------------------------
    def save_run(self, run: RatingRun, results: Iterable[CustomerRating]) -> int:
        """Store a run and its results, all or nothing."""
        batch = check_results(run, results)
        with self._writing() as conn:
            self._insert_run(conn, run, None)
            self._insert_rows(conn, "rating_results", _RESULT_COLUMNS, map(_result_row, batch))
        return len(batch)

    def save_run_arrays(self, run: RatingRun, results: RatingResults) -> int:
        """Store a run and its columnar results, all or nothing, as columns: parts of
        customers (no row, no record, no JSON per customer)."""
        check_result_arrays(run, results)
        parts = part_rows(run.id, results)
        with self._writing() as conn:
            self._insert_run(conn, run, results.criteria)
            self._insert_rows(conn, "rating_result_parts", _PART_COLUMNS, parts)
        return len(results)

    def save_run_chunks(self, run: RatingRun, chunks: Iterable[RatingResults]) -> int:
        """Store a run from consecutive chunks of its results, all or nothing: the run
        row and each chunk's parts are written in one transaction as the chunks come
        (one chunk's parts in memory at a time), so the run appears with its last
        chunk and an error (or a crash) on the way leaves nothing."""
        if not isinstance(run, RatingRun):
            raise ValidationError("run", run, "a RatingRun")
        criteria: tuple[str, ...] | None = None
        last: str | None = None
        saved = count = 0
        with self._writing() as conn:
            for chunk in chunks:
                check_result_chunk(run, chunk, criteria, last)
                if criteria is None:
                    criteria = chunk.criteria
                    self._insert_run(conn, run, criteria)
                parts = part_rows(run.id, chunk)
                if parts:
                    self._insert_rows(conn, "rating_result_parts", _PART_COLUMNS, parts)
                saved += len(chunk)
                count += 1
                last = str(chunk.customer_ids[-1]) if len(chunk) else last
                del parts, chunk
            check_chunked_count(run, saved, count)
        return saved

    def _insert_run(self, conn: Any, run: RatingRun, criteria: tuple[str, ...] | None) -> None:
        """The run's row; ``criteria`` for a columnar run (Conflict: the id is taken)."""
        values = (
            run.id, self._instant(run.as_of), instant_offset(run.as_of),
            self._instant(run.created_at), instant_offset(run.created_at), run.policy_json,
            run.customer_count, json.dumps(list(run.distribution)),
            None if criteria is None else json.dumps(list(criteria), ensure_ascii=False),
        )  # fmt: skip
        try:
            conn.execute(
                self._q(
                    f"INSERT INTO rating_runs ({_RUN_COLUMNS}, criteria) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                values,
            )
        except self.taken_key_error as exc:
            raise Conflict("rating run", run.id, "a run with this id exists") from exc

    def _criteria(self, run_id: str) -> tuple[str, ...] | None:
        """The run's criteria when its results are stored as parts (NotFound: no run)."""
        rows = self._fetch(self._q("SELECT criteria FROM rating_runs WHERE id = ?"), (run_id,))
        if not rows:
            raise NotFound("rating run", run_id)
        if rows[0][0] is None:
            return None
        return self._decoded_criteria(run_id, rows[0][0])

    def _decoded_criteria(self, run_id: str, text: Any) -> tuple[str, ...]:
        """A run's stored criteria column, decoded (StorageError: not valid)."""
        try:
            return tuple(str(name) for name in json.loads(text))
        except (ValueError, TypeError) as exc:
            raise StorageError(
                f"{self.dialect}: the criteria of run {run_id!r} are not valid: {exc}"
            ) from exc

    def results_arrays(self, run_id: str) -> RatingResults:
        """The run's results as columns, by customer id, read without records."""
        with self._reading():
            criteria = self._criteria(run_id)
            if criteria is None:
                return RatingResults.from_records(run_id, self.results(run_id))
            rows = self._fetch(
                self._q(
                    "SELECT customer_ids, numbers FROM rating_result_parts "
                    "WHERE run_id = ? ORDER BY first_id"
                ),
                (run_id,),
            )
        try:
            return _columns(run_id, rows, criteria)
        except (CustMgmtError, ValueError, TypeError) as exc:
            raise self._invalid_results(run_id, exc) from exc

    def _part_lookup(
        self, run_id: str, customer_id: str, criteria: tuple[str, ...]
    ) -> CustomerRating | None:
        """One customer's result in a columnar run: the one part that may hold it."""
        rows = self._fetch(
            self._q(
                "SELECT customer_ids, numbers FROM rating_result_parts "
                "WHERE run_id = ? AND first_id <= ? ORDER BY first_id DESC LIMIT 1"
            ),
            (run_id, customer_id),
        )
        if not rows:
            return None
        try:
            ids = rows[0][0].split(ID_SEPARATOR)
            i = bisect.bisect_left(ids, customer_id)
            if i == len(ids) or ids[i] != customer_id:
                return None
            record = part_records(rows[0][1], len(criteria))[i]
            return CustomerRating(
                run_id=run_id,
                customer_id=customer_id,
                score=float(record["score"]),
                stars=int(record["stars"]),
                computed_stars=int(record["computed_stars"]),
                previous_stars=int(record["previous_stars"]),
                pending=int(record["pending"]),
                contributions=tuple(zip(criteria, record["contributions"].tolist(), strict=True)),
            )
        except (CustMgmtError, ValueError, TypeError, IndexError) as exc:
            raise self._invalid_results(run_id, exc) from exc

    def _run(self, row: Sequence[Any]) -> RatingRun:
        return self._decoded("rating run", row[0], _run_from_row, row)

    def get_run(self, run_id: str) -> RatingRun:
        """The stored run (NotFound otherwise)."""
        rows = self._fetch(self._select_runs("WHERE id = ?"), (run_id,))
        if not rows:
            raise NotFound("rating run", run_id)
        return self._run(rows[0])

    def list_runs(self) -> list[RatingRun]:
        """Every run, oldest first."""
        return [self._run(r) for r in self._fetch(self._select_runs(_RUN_ORDER))]

    def latest_run(self, at: datetime | None = None) -> RatingRun | None:
        """The newest run with ``as_of <= at`` (or the newest of all)."""
        if at is None:
            rows = self._fetch(self._select_runs(_NEWEST_RUN))
        else:
            check_aware("at", at)
            rows = self._fetch(
                self._select_runs("WHERE {as_of} <= ? " + _NEWEST_RUN), (self._instant(at),)
            )
        return self._run(rows[0]) if rows else None

    def _result(self, row: Sequence[Any]) -> CustomerRating:
        return self._decoded("rating result", (row[0], row[1]), _result_from_row, row)

    def results(self, run_id: str) -> list[CustomerRating]:
        """The run's results by customer id."""
        with self._reading():
            if self._criteria(run_id) is not None:
                return list(self.results_arrays(run_id).to_records())
            rows = self._fetch(
                self._q(
                    f"SELECT {_RESULT_COLUMNS} FROM rating_results WHERE run_id = ? "
                    "ORDER BY customer_id"
                ),
                (run_id,),
            )
        return [self._result(r) for r in rows]

    def result(self, run_id: str, customer_id: str) -> CustomerRating:
        """One customer's result in one run."""
        found = self._result_or_none(run_id, customer_id)
        if found is None:
            raise NotFound("rating result", (run_id, customer_id))
        return found

    def _result_or_none(self, run_id: str, customer_id: str) -> CustomerRating | None:
        with self._reading():
            criteria = self._criteria(run_id)
            given: object = customer_id  # hosts call this untyped too
            if not isinstance(given, str):
                return None
            if criteria is not None:
                return self._part_lookup(run_id, customer_id, criteria)
            rows = self._fetch(
                self._q(
                    f"SELECT {_RESULT_COLUMNS} FROM rating_results "
                    "WHERE run_id = ? AND customer_id = ?"
                ),
                (run_id, customer_id),
            )
        return self._result(rows[0]) if rows else None

    def star_history(self, customer_id: str) -> list[StarHistoryEntry]:
        """The customer's stars in every run that rated it, oldest first (one indexed
        lookup per run: the runs saved from records in one query, each columnar run
        in the one part that may hold the customer)."""
        given: object = customer_id  # hosts call this untyped too
        if not isinstance(given, str):
            return []
        as_of = self.stored_columns["as_of"]
        with self._reading():
            found = {
                r[0]: self._decoded("rating result", (r[0], customer_id), _history_from_row, r)
                for r in self._fetch(
                    self._q(
                        f"SELECT r.id, {self._read_instant('r.' + as_of)}, r.as_of_off, "
                        "x.stars, x.score FROM rating_results x "
                        "JOIN rating_runs r ON r.id = x.run_id WHERE x.customer_id = ?"
                    ),
                    (customer_id,),
                )
            }
            runs = self._fetch(
                self._q(
                    f"SELECT id, {self._read_instant(as_of)}, as_of_off, criteria "
                    f"FROM rating_runs {_RUN_ORDER}"
                )
            )
            history = []
            for run_id, as_of_us, as_of_off, criteria in runs:
                if criteria is None:
                    if run_id in found:
                        history.append(found[run_id])
                    continue
                names = self._decoded_criteria(run_id, criteria)
                result = self._part_lookup(run_id, customer_id, names)
                if result is not None:
                    at = self._decoded(
                        "rating run", run_id, _as_of_from_row, (as_of_us, as_of_off)
                    )
                    history.append(
                        StarHistoryEntry(
                            run_id=run_id, as_of=at, stars=result.stars, score=result.score
                        )
                    )
        return history

    def customer_dependents(self, customer_id: str) -> dict[str, int]:
        """The customer's rating results (one per run that rated it) and overrides
        (see :class:`custmgmt.ports.CustomerDependents`)."""
        with self._dependents_guard():
            results = len(self.star_history(customer_id))
            rows = self._fetch(
                self._q("SELECT count(*) FROM rating_overrides WHERE customer_id = ?"),
                (customer_id,),
            )
        return {"rating results": results, "overrides": int(rows[0][0]) if rows else 0}

    def remove_run(self, run_id: str) -> None:
        """Delete a run and its results."""
        with self._writing() as conn:
            conn.execute(self._q("DELETE FROM rating_results WHERE run_id = ?"), (run_id,))
            conn.execute(self._q("DELETE FROM rating_result_parts WHERE run_id = ?"), (run_id,))
            removed = conn.execute(self._q("DELETE FROM rating_runs WHERE id = ?"), (run_id,))
            if removed.rowcount == 0:
                raise NotFound("rating run", run_id)

    # -- erasure (custmgmt.privacy.SubjectRedaction) -----------------------------------
    def redact_subject(self, customer_id: str, pseudonym: str) -> int:
        """Erase the reasons of the customer's overrides (in place, versions kept); the
        number changed. (In PostgreSQL the old row versions stay in the table's pages
        until VACUUM: see ``docs/privacy.md``.)"""
        changed = 0
        with self._writing() as conn:
            rows = conn.execute(
                self._q(
                    f"SELECT {_OVERRIDE_COLUMNS} FROM rating_overrides WHERE customer_id = ? "
                    "ORDER BY id" + self.for_update
                ),
                (customer_id,),
            ).fetchall()
            for row in rows:
                redacted = redacted_override(self._override(row))
                if redacted is not None:
                    conn.execute(
                        self._q("UPDATE rating_overrides SET body = ? WHERE id = ?"),
                        (_override_body(redacted), row[0]),
                    )
                    changed += 1
        return changed

    # -- overrides ---------------------------------------------------------------------
    def _override(self, row: Sequence[Any]) -> Override:
        return self._decoded("override", row[0], _override_from_row, row)

    def add_override(self, override: Override) -> None:
        """Store a new override (Conflict on a repeated id)."""
        check_override(override)
        with self._writing() as conn:
            try:
                conn.execute(
                    self._q(
                        "INSERT INTO rating_overrides "
                        "(id, version, customer_id, status, {requested}, body) "
                        "VALUES (?, ?, ?, ?, ?, ?)"
                    ),
                    (
                        override.id, override.version, override.customer_id,
                        override.status.value, self._instant(override.requested_at),
                        _override_body(override),
                    ),
                )  # fmt: skip
            except self.taken_key_error as exc:
                raise Conflict("override", override.id, "an override with this id exists") from exc

    def update_override(self, override: Override) -> None:
        """Replace a stored override with a copy changed once (optimistic)."""
        check_override(override)
        with self._writing() as conn:
            found = conn.execute(
                self._q("SELECT version FROM rating_overrides WHERE id = ?"), (override.id,)
            ).fetchone()
            if found is None:
                raise NotFound("override", override.id)
            stored_version = int(found[0])
            if stored_version != override.version - 1:
                raise stale_copy("override", override.id, stored_version, override.version)
            conn.execute(
                self._q(
                    "UPDATE rating_overrides SET version = ?, status = ?, body = ? "
                    "WHERE id = ? AND version = ?"
                ),
                (
                    override.version, override.status.value, _override_body(override),
                    override.id, stored_version,
                ),
            )  # fmt: skip

    def get_override(self, override_id: str) -> Override:
        """The stored override (NotFound otherwise)."""
        rows = self._fetch(
            self._q(f"SELECT {_OVERRIDE_COLUMNS} FROM rating_overrides WHERE id = ?"),
            (override_id,),
        )
        if not rows:
            raise NotFound("override", override_id)
        return self._override(rows[0])

    def overrides_for(self, customer_id: str) -> list[Override]:
        """The customer's overrides, oldest request first."""
        rows = self._fetch(
            self._q(
                f"SELECT {_OVERRIDE_COLUMNS} FROM rating_overrides "
                "WHERE customer_id = ? ORDER BY {requested}, id"
            ),
            (customer_id,),
        )
        return [self._override(r) for r in rows]

    def list_overrides(self, status: OverrideStatus | None = None) -> list[Override]:
        """Every override (of ``status``, if given), oldest request first."""
        if status is None:
            rows = self._fetch(
                self._q(
                    f"SELECT {_OVERRIDE_COLUMNS} FROM rating_overrides ORDER BY {{requested}}, id"
                )
            )
        else:
            wanted = coerce_enum(OverrideStatus, status, "status")
            rows = self._fetch(
                self._q(
                    f"SELECT {_OVERRIDE_COLUMNS} FROM rating_overrides "
                    "WHERE status = ? ORDER BY {requested}, id"
                ),
                (wanted.value,),
            )
        return [self._override(r) for r in rows]
