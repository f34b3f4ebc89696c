"""Rating runs and overrides in SQLite (see :class:`custmgmt.rating.ports.RatingRepository`).

The tables belong to the component ``"ratings"`` of the store's schema
(:meth:`SQLiteStore.apply_migrations`); writes go through :meth:`SQLiteStore.writing`,
so they join the store's transaction and a failure writes nothing. Times are kept
as microseconds since the epoch plus the UTC offset in seconds, so they sort in SQL
and come back at the same instant and offset.
"""

from __future__ import annotations

import bisect
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

from custmgmt.adapters._checks import (
    check_chunked_count,
    check_override,
    check_result_arrays,
    check_result_chunk,
    check_results,
)
from custmgmt.adapters._rating_parts import (
    ID_SEPARATOR,
)
from custmgmt.adapters._rating_parts import part_records as _part_records
from custmgmt.adapters._rating_parts import part_rows as _part_rows
from custmgmt.adapters._rating_parts import results_from_parts as _columns
from custmgmt.adapters._redaction import redacted_override
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.schema import Migration
from custmgmt.domain._validate import check_aware, coerce_enum
from custmgmt.errors import Conflict, CustMgmtError, NotFound, StorageError, ValidationError
from custmgmt.rating.overrides import Override, OverrideEvent, OverrideStatus
from custmgmt.rating.records import CustomerRating, RatingRun, StarHistoryEntry
from custmgmt.rating.result_columns import RatingResults

__all__ = ["RATING_MIGRATIONS", "SQLiteRatingRepository"]

_V1 = """
CREATE TABLE rating_runs (
    id TEXT PRIMARY KEY,
    as_of_us INTEGER NOT NULL,
    as_of_off INTEGER NOT NULL,
    created_us INTEGER NOT NULL,
    created_off INTEGER NOT NULL,
    policy_json TEXT NOT NULL,
    customer_count INTEGER NOT NULL,
    distribution TEXT NOT NULL
);
CREATE INDEX rating_runs_by_time ON rating_runs (as_of_us, created_us, id);
CREATE TABLE rating_results (
    run_id TEXT NOT NULL REFERENCES rating_runs (id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL,
    score REAL NOT NULL,
    stars INTEGER NOT NULL,
    computed_stars INTEGER NOT NULL,
    previous_stars INTEGER NOT NULL,
    pending INTEGER NOT NULL,
    contributions TEXT NOT NULL,
    PRIMARY KEY (run_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX rating_results_by_customer ON rating_results (customer_id, run_id);
CREATE TABLE rating_overrides (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    customer_id TEXT NOT NULL,
    status TEXT NOT NULL,
    requested_us INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX rating_overrides_by_customer ON rating_overrides (customer_id, requested_us, id);
"""

# Runs saved from columns (save_run_arrays) keep their results as columns too, in
# parts of PART_ROWS customers (sorted by id): the ids joined by ID_SEPARATOR, and one
# BLOB of little-endian numbers per part, a record per customer (score, stars,
# computed stars, previous stars, pending, then one float64 per criterion). The run
# names its criteria; runs saved from records (save_run) keep one row per result in
# rating_results, as version 1 did, and have no criteria.
_V2 = """
ALTER TABLE rating_runs ADD COLUMN criteria TEXT;
CREATE TABLE rating_result_parts (
    run_id TEXT NOT NULL REFERENCES rating_runs (id) ON DELETE CASCADE,
    first_id TEXT NOT NULL,
    customer_ids TEXT NOT NULL,
    numbers BLOB NOT NULL,
    PRIMARY KEY (run_id, first_id)
) WITHOUT ROWID;
"""

#: The ratings component's migrations, applied in order.
RATING_MIGRATIONS: tuple[Migration, ...] = (_V1, _V2)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _instant(value: datetime) -> tuple[int, int]:
    delta = value - _EPOCH
    offset = value.utcoffset()
    assert offset is not None  # the records refuse naive datetimes
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return micros, offset.days * 86_400 + offset.seconds


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


_RUN_COLUMNS = (
    "id, as_of_us, as_of_off, created_us, created_off, policy_json, customer_count, distribution"
)
_RUN_ORDER = "ORDER BY as_of_us, created_us, id"


T = TypeVar("T")

# What decoding a row that another program edited can raise: bad JSON (ValueError),
# a huge number (OverflowError), wrong shapes (TypeError, KeyError, ...), bad values.
_DECODE_ERRORS = (
    CustMgmtError, ValueError, TypeError, KeyError, IndexError, AttributeError,
    OverflowError, RecursionError,
)


def _decoded(what: str, key: Any, decode: Callable[[Sequence[Any]], T], row: Sequence[Any]) -> T:
    try:
        return decode(row)
    except _DECODE_ERRORS as exc:
        # The rows were valid when written: something else changed the database.
        raise StorageError(f"sqlite: stored {what} {key!r} is not valid any more: {exc}") from exc


def _run(row: Sequence[Any]) -> RatingRun:
    return _decoded("rating run", row[0], _run_from_row, row)


def _result(row: Sequence[Any]) -> CustomerRating:
    return _decoded("rating result", (row[0], row[1]), _result_from_row, row)


def _override(row: Sequence[Any]) -> Override:
    return _decoded("override", row[0], _override_from_row, row)


def _history_from_row(row: Sequence[Any]) -> StarHistoryEntry:
    return StarHistoryEntry(
        run_id=row[0], as_of=_datetime(row[1], row[2]), stars=row[3], score=row[4]
    )


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
    try:
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
    except (CustMgmtError, ValueError, TypeError, KeyError) as exc:
        raise StorageError(f"sqlite: a stored rating result is not valid any more: {exc}") from exc


class SQLiteRatingRepository:
    """Rating runs, results and overrides in the store's SQLite database.

    Args:
        store: the :class:`SQLiteStore` whose connection and transaction it shares.

    Raises:
        StorageError: the tables could not be created.
    """

    def __init__(self, store: SQLiteDatabase) -> None:
        self._store = store
        self._ensure()

    def _ensure(self) -> None:
        # The repository may first be made inside a transaction that later rolls
        # back, taking the new tables with it: check (one indexed read) and recreate.
        if self._store.schema_version("ratings") < len(RATING_MIGRATIONS):
            self._store.apply_migrations("ratings", RATING_MIGRATIONS)

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        self._ensure()
        with self._store.lock:
            try:
                return self._store.connection.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StorageError(f"sqlite: reading ratings failed: {exc}") from exc

    # -- runs --------------------------------------------------------------------------
    def save_run(self, run: RatingRun, results: Iterable[CustomerRating]) -> int:
        """Store a run and its results, all or nothing."""
        batch = check_results(run, results)
        as_of = _instant(run.as_of)
        created = _instant(run.created_at)
        self._ensure()
        with self._store.writing() as conn:
            try:
                conn.execute(
                    f"INSERT INTO rating_runs ({_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run.id, *as_of, *created, run.policy_json, run.customer_count,
                        json.dumps(list(run.distribution)),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict("rating run", run.id, "a run with this id exists") from exc
            conn.executemany(
                "INSERT INTO rating_results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        r.run_id, r.customer_id, r.score, r.stars, r.computed_stars,
                        r.previous_stars, r.pending,
                        json.dumps([list(pair) for pair in r.contributions], ensure_ascii=False),
                    )
                    for r in batch
                ),
            )
        return len(batch)

    def save_run_arrays(self, run: RatingRun, results: RatingResults) -> int:
        """Store a run and its columnar results, all or nothing, as columns: parts of
        :data:`PART_ROWS` customers (no row, no record, no JSON per customer)."""
        check_result_arrays(run, results)
        parts = _part_rows(run.id, results)
        self._ensure()
        with self._store.writing() as conn:
            self._insert_run(conn, run, results.criteria)
            conn.executemany("INSERT INTO rating_result_parts VALUES (?, ?, ?, ?)", parts)
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
        self._ensure()
        with self._store.writing() as conn:
            for chunk in chunks:
                check_result_chunk(run, chunk, criteria, last)
                if criteria is None:
                    criteria = chunk.criteria
                    self._insert_run(conn, run, criteria)
                parts = _part_rows(run.id, chunk)
                if parts:
                    conn.executemany("INSERT INTO rating_result_parts VALUES (?, ?, ?, ?)", parts)
                saved += len(chunk)
                count += 1
                last = str(chunk.customer_ids[-1]) if len(chunk) else last
                del parts, chunk
            check_chunked_count(run, saved, count)
        return saved

    def _insert_run(self, conn: Any, run: RatingRun, criteria: tuple[str, ...]) -> None:
        """The run's row of a columnar run (Conflict: the id is taken)."""
        as_of = _instant(run.as_of)
        created = _instant(run.created_at)
        try:
            conn.execute(
                f"INSERT INTO rating_runs ({_RUN_COLUMNS}, criteria) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.id, *as_of, *created, run.policy_json, run.customer_count,
                    json.dumps(list(run.distribution)),
                    json.dumps(list(criteria), ensure_ascii=False),
                ),
            )  # fmt: skip
        except sqlite3.IntegrityError as exc:
            raise Conflict("rating run", run.id, "a run with this id exists") from exc

    def _criteria(self, run_id: str) -> tuple[str, ...] | None:
        """The run's criteria when its results are stored as BLOBs (NotFound: no run)."""
        rows = self._fetch("SELECT criteria FROM rating_runs WHERE id = ?", (run_id,))
        if not rows:
            raise NotFound("rating run", run_id)
        if rows[0][0] is None:
            return None
        try:
            return tuple(str(name) for name in json.loads(rows[0][0]))
        except (ValueError, TypeError) as exc:
            raise StorageError(
                f"sqlite: the criteria of run {run_id!r} are not valid: {exc}"
            ) from exc

    def results_arrays(self, run_id: str) -> RatingResults:
        """The run's results as columns, by customer id, read without records."""
        with self._store.lock:
            criteria = self._criteria(run_id)
            if criteria is None:
                return RatingResults.from_records(run_id, self.results(run_id))
            rows = self._fetch(
                "SELECT customer_ids, numbers FROM rating_result_parts "
                "WHERE run_id = ? ORDER BY first_id",
                (run_id,),
            )
        try:
            return _columns(run_id, rows, criteria)
        except (CustMgmtError, ValueError, TypeError) as exc:
            raise StorageError(
                f"sqlite: the stored results of run {run_id!r} are not valid: {exc}"
            ) from exc

    def _part_lookup(
        self, run_id: str, customer_id: str, criteria: tuple[str, ...]
    ) -> CustomerRating | None:
        """One customer's result in a columnar run: the one part that may hold it."""
        rows = self._fetch(
            "SELECT customer_ids, numbers FROM rating_result_parts "
            "WHERE run_id = ? AND first_id <= ? ORDER BY first_id DESC LIMIT 1",
            (run_id, customer_id),
        )
        if not rows:
            return None
        try:
            ids = rows[0][0].split(ID_SEPARATOR)
            i = bisect.bisect_left(ids, customer_id)
            if i == len(ids) or ids[i] != customer_id:
                return None
            record = _part_records(rows[0][1], len(criteria))[i]
            return CustomerRating(
                run_id=run_id,
                customer_id=customer_id,
                score=float(record["score"]),
                stars=int(record["stars"]),
                computed_stars=int(record["computed_stars"]),
                previous_stars=int(record["previous_stars"]),
                pending=int(record["pending"]),
                contributions=tuple(
                    zip(criteria, record["contributions"].tolist(), strict=True)
                ),
            )
        except (CustMgmtError, ValueError, TypeError, IndexError) as exc:
            raise StorageError(
                f"sqlite: the stored results of run {run_id!r} are not valid: {exc}"
            ) from exc

    def get_run(self, run_id: str) -> RatingRun:
        """The stored run (NotFound otherwise)."""
        rows = self._fetch(f"SELECT {_RUN_COLUMNS} FROM rating_runs WHERE id = ?", (run_id,))
        if not rows:
            raise NotFound("rating run", run_id)
        return _run(rows[0])

    def list_runs(self) -> list[RatingRun]:
        """Every run, oldest first."""
        rows = self._fetch(f"SELECT {_RUN_COLUMNS} FROM rating_runs {_RUN_ORDER}")
        return [_run(r) for r in rows]

    def latest_run(self, at: datetime | None = None) -> RatingRun | None:
        """The newest run with ``as_of <= at`` (or the newest of all)."""
        if at is None:
            rows = self._fetch(
                f"SELECT {_RUN_COLUMNS} FROM rating_runs "
                "ORDER BY as_of_us DESC, created_us DESC, id DESC LIMIT 1"
            )
        else:
            check_aware("at", at)
            rows = self._fetch(
                f"SELECT {_RUN_COLUMNS} FROM rating_runs WHERE as_of_us <= ? "
                "ORDER BY as_of_us DESC, created_us DESC, id DESC LIMIT 1",
                (_instant(at)[0],),
            )
        return _run(rows[0]) if rows else None

    def results(self, run_id: str) -> list[CustomerRating]:
        """The run's results by customer id."""
        with self._store.lock:
            if self._criteria(run_id) is not None:
                return list(self.results_arrays(run_id).to_records())
            rows = self._fetch(
                "SELECT * FROM rating_results WHERE run_id = ? ORDER BY customer_id", (run_id,)
            )
        return [_result(r) for r in rows]

    def result(self, run_id: str, customer_id: str) -> CustomerRating:
        """One customer's result in one run."""
        found = self._result_or_none(run_id, customer_id)
        if found is None:
            raise NotFound("rating result", (run_id, customer_id))
        return found

    def _result_or_none(self, run_id: str, customer_id: str) -> CustomerRating | None:
        with self._store.lock:
            criteria = self._criteria(run_id)
            given: object = customer_id  # hosts call this untyped too
            if not isinstance(given, str):
                return None
            if criteria is not None:
                return self._part_lookup(run_id, customer_id, criteria)
            rows = self._fetch(
                "SELECT * FROM rating_results WHERE run_id = ? AND customer_id = ?",
                (run_id, customer_id),
            )
        return _result(rows[0]) if rows else None

    def star_history(self, customer_id: str) -> list[StarHistoryEntry]:
        """The customer's stars in every run that rated it, oldest first (one indexed
        lookup per run: the runs saved from records in one query, each columnar run
        in the one part that may hold the customer)."""
        given: object = customer_id  # hosts call this untyped too
        if not isinstance(given, str):
            return []
        with self._store.lock:
            found = {
                r[0]: _decoded("rating result", (r[0], customer_id), _history_from_row, r)
                for r in self._fetch(
                    "SELECT r.id, r.as_of_us, r.as_of_off, x.stars, x.score "
                    "FROM rating_results x JOIN rating_runs r ON r.id = x.run_id "
                    "WHERE x.customer_id = ?",
                    (customer_id,),
                )
            }
            runs = self._fetch(
                f"SELECT id, as_of_us, as_of_off, criteria FROM rating_runs {_RUN_ORDER}"
            )
            history = []
            for run_id, as_of_us, as_of_off, criteria in runs:
                if criteria is None:
                    if run_id in found:
                        history.append(found[run_id])
                    continue
                result = self._part_lookup(
                    run_id, customer_id, tuple(json.loads(criteria))
                )
                if result is not None:
                    history.append(
                        StarHistoryEntry(
                            run_id=run_id,
                            as_of=_datetime(as_of_us, as_of_off),
                            stars=result.stars,
                            score=result.score,
                        )
                    )
        return history

    def customer_dependents(self, customer_id: str) -> dict[str, int]:
        """The customer's rating results (one per run that rated it) and overrides
        (see :class:`custmgmt.ports.CustomerDependents`)."""
        with self._store.lock:
            results = len(self.star_history(customer_id))
            overrides = self._fetch(
                "SELECT count(*) FROM rating_overrides WHERE customer_id = ?", (customer_id,)
            )[0][0]
        return {"rating results": results, "overrides": int(overrides)}

    def remove_run(self, run_id: str) -> None:
        """Delete a run and its results."""
        self._ensure()
        with self._store.writing() as conn:
            conn.execute("DELETE FROM rating_results WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM rating_result_parts WHERE run_id = ?", (run_id,))
            if conn.execute("DELETE FROM rating_runs WHERE id = ?", (run_id,)).rowcount == 0:
                raise NotFound("rating run", run_id)

    # -- erasure (custmgmt.privacy.SubjectRedaction) -----------------------------------
    def redact_subject(self, customer_id: str, pseudonym: str) -> int:
        """Erase the reasons of the customer's overrides (in place, versions kept);
        the number changed."""
        self._ensure()
        changed = 0
        with self._store.writing() as conn:
            for override in self.overrides_for(customer_id):
                redacted = redacted_override(override)
                if redacted is not None:
                    conn.execute("UPDATE rating_overrides SET body = ? WHERE id = ?",
                                 (_override_body(redacted), override.id))
                    changed += 1
        return changed

    # -- overrides ---------------------------------------------------------------------
    def add_override(self, override: Override) -> None:
        """Store a new override (Conflict on a repeated id)."""
        check_override(override)
        self._ensure()
        with self._store.writing() as conn:
            try:
                conn.execute(
                    "INSERT INTO rating_overrides VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        override.id, override.version, override.customer_id,
                        override.status.value, _instant(override.requested_at)[0],
                        _override_body(override),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict("override", override.id, "an override with this id exists") from exc

    def update_override(self, override: Override) -> None:
        """Replace a stored override with a copy changed once (optimistic)."""
        check_override(override)
        self._ensure()
        with self._store.writing() as conn:
            found = conn.execute(
                "SELECT version FROM rating_overrides WHERE id = ?", (override.id,)
            ).fetchone()
            if found is None:
                raise NotFound("override", override.id)
            stored_version = int(found[0])
            if stored_version != override.version - 1:
                raise Conflict(
                    "override",
                    override.id,
                    f"stored version is {stored_version}, but this copy was made from "
                    f"version {override.version - 1} (reload, change once, then update)",
                    expected_version=override.version - 1,
                    actual_version=stored_version,
                )
            conn.execute(
                "UPDATE rating_overrides SET version = ?, status = ?, body = ? "
                "WHERE id = ? AND version = ?",
                (
                    override.version, override.status.value, _override_body(override),
                    override.id, stored_version,
                ),
            )

    def get_override(self, override_id: str) -> Override:
        """The stored override (NotFound otherwise)."""
        rows = self._fetch(
            "SELECT id, version, customer_id, status, body FROM rating_overrides WHERE id = ?",
            (override_id,),
        )
        if not rows:
            raise NotFound("override", override_id)
        return _override(rows[0])

    def overrides_for(self, customer_id: str) -> list[Override]:
        """The customer's overrides, oldest request first."""
        rows = self._fetch(
            "SELECT id, version, customer_id, status, body FROM rating_overrides "
            "WHERE customer_id = ? ORDER BY requested_us, id",
            (customer_id,),
        )
        return [_override(r) for r in rows]

    def list_overrides(self, status: OverrideStatus | None = None) -> list[Override]:
        """Every override (of ``status``, if given), oldest request first."""
        if status is None:
            rows = self._fetch(
                "SELECT id, version, customer_id, status, body FROM rating_overrides "
                "ORDER BY requested_us, id"
            )
        else:
            wanted = coerce_enum(OverrideStatus, status, "status")
            rows = self._fetch(
                "SELECT id, version, customer_id, status, body FROM rating_overrides "
                "WHERE status = ? ORDER BY requested_us, id",
                (wanted.value,),
            )
        return [_override(r) for r in rows]
