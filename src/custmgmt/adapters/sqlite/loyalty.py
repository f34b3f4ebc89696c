"""The points ledger in SQLite (see :class:`custmgmt.loyalty.ports.PointsRepository`).

Three tables, owned by the component ``"loyalty"`` through
:meth:`SQLiteStore.apply_migrations <custmgmt.adapters.sqlite.SQLiteStore.apply_migrations>`:
``points_entries`` (keyed by customer and seq, the idempotency key unique per
customer; a taking entry's draws as JSON), ``points_snapshots`` (one folded account
per customer, as JSON) and ``tier_changes``. Appending checks the next seq and writes
inside one ``BEGIN IMMEDIATE`` transaction (or the store's open one), so two
processes appending to one ledger are serialised and the loser gets a
:class:`~custmgmt.errors.Conflict`; the primary key would refuse it anyway. Instants
are stored as microseconds since the epoch plus the UTC offset, so they come back
exactly; text in any script is stored as it is.

>>> from datetime import datetime, timezone
>>> from custmgmt.adapters.sqlite import SQLiteStore
>>> from custmgmt.loyalty import LedgerEntry
>>> store = SQLiteStore(":memory:")
>>> store.loyalty.append(LedgerEntry(id="C-1#1", customer_id="C-1", seq=1, kind="earn",
...     points=88, at=datetime(2025, 3, 1, tzinfo=timezone.utc), key="review:I-1",
...     actor="system", reason="评价奖励", expires_at=datetime(2026, 3, 1, tzinfo=timezone.utc)))
>>> store.loyalty.entries("C-1")[0].reason
'评价奖励'
>>> store.close()
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Final

from custmgmt.adapters._checks import check_chunk_size
from custmgmt.adapters._loyalty_rows import account_from_doc, account_to_doc
from custmgmt.adapters._redaction import ERASED_TEXT
from custmgmt.adapters._sql_codecs import datetime_of as _datetime
from custmgmt.adapters.sqlite.codecs import _instant
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.schema import Migration
from custmgmt.domain._validate import check_id
from custmgmt.errors import Conflict, CustMgmtError, StorageError, ValidationError
from custmgmt.loyalty.ledger import Account, Draw, LedgerEntry
from custmgmt.loyalty.tiers import TierChange
from custmgmt.ports import DEFAULT_CHUNK_SIZE

__all__ = ["LOYALTY_MIGRATIONS", "SQLitePointsRepository"]

_V1 = """
CREATE TABLE points_entries (
    customer_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    points INTEGER NOT NULL,
    at_us INTEGER NOT NULL,
    at_off INTEGER NOT NULL,
    key TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    rule TEXT,
    order_id TEXT,
    expires_us INTEGER,
    expires_off INTEGER,
    locked_us INTEGER,
    locked_off INTEGER,
    lot TEXT,
    draws TEXT,
    debt INTEGER NOT NULL,
    written_off INTEGER NOT NULL,
    PRIMARY KEY (customer_id, seq),
    UNIQUE (customer_id, key)
) WITHOUT ROWID;
CREATE TABLE points_snapshots (
    customer_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE tier_changes (
    customer_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at_us INTEGER NOT NULL,
    at_off INTEGER NOT NULL,
    from_tier TEXT,
    to_tier TEXT NOT NULL,
    reason TEXT NOT NULL,
    source TEXT,
    PRIMARY KEY (customer_id, seq)
) WITHOUT ROWID;
"""

#: The loyalty schema's migrations, applied in order under the component ``"loyalty"``.
LOYALTY_MIGRATIONS: Final[tuple[Migration, ...]] = (_V1,)

_COLUMNS: Final = (
    "customer_id, seq, id, kind, points, at_us, at_off, key, actor, reason, rule, order_id, "
    "expires_us, expires_off, locked_us, locked_off, lot, draws, debt, written_off"
)
_INSERT: Final = f"INSERT INTO points_entries ({_COLUMNS}) VALUES ({', '.join('?' * 20)})"
_TIER_COLUMNS: Final = "customer_id, seq, at_us, at_off, from_tier, to_tier, reason, source"

Row = tuple[Any, ...]


def _pair(value: datetime | None) -> tuple[int | None, int | None]:
    return (None, None) if value is None else _instant(value)


def _maybe(us: int | None, off: int | None) -> datetime | None:
    return None if us is None or off is None else _datetime(us, off)


def _entry_row(entry: LedgerEntry) -> Row:
    at_us, at_off = _instant(entry.at)
    draws = json.dumps([[d.lot, d.points] for d in entry.draws]) if entry.draws else None
    return (
        entry.customer_id, entry.seq, entry.id, entry.kind.value, entry.points, at_us, at_off,
        entry.key, entry.actor, entry.reason, entry.rule, entry.order_id,
        *_pair(entry.expires_at), *_pair(entry.locked_until), entry.lot, draws, entry.debt,
        entry.written_off,
    )


def _entry(row: Row) -> LedgerEntry:
    draws = tuple(Draw(lot=lot, points=points) for lot, points in json.loads(row[17] or "[]"))
    return LedgerEntry(
        customer_id=row[0], seq=row[1], id=row[2], kind=row[3], points=row[4],
        at=_datetime(row[5], row[6]), key=row[7], actor=row[8], reason=row[9], rule=row[10],
        order_id=row[11], expires_at=_maybe(row[12], row[13]),
        locked_until=_maybe(row[14], row[15]), lot=row[16], draws=draws, debt=row[18],
        written_off=row[19],
    )


class SQLitePointsRepository:
    """A points ledger in an :class:`~custmgmt.adapters.sqlite.SQLiteStore`, in its transactions.

    Creating it applies the loyalty migrations. Writes go through
    :meth:`SQLiteStore.writing`, so they join the store's transaction.

    Args:
        store: the SQLite store (``store.loyalty``).

    Raises:
        StorageError: the schema cannot be created.
    """

    def __init__(self, store: SQLiteDatabase) -> None:
        self._store = store
        store.apply_migrations("loyalty", LOYALTY_MIGRATIONS)
        # A store opened read-only that never had a ledger has no tables: its ledgers
        # are empty, as in a new store.
        self._absent = store.read_only and store.schema_version("loyalty") == 0

    def append(self, entry: LedgerEntry) -> None:
        """Add the customer's next entry (see ``PointsRepository.append``)."""
        if not isinstance(entry, LedgerEntry):
            raise ValidationError("entry", entry, "a LedgerEntry")
        row = _entry_row(entry)
        with self._store.writing() as conn:
            last = self._last(conn, entry.customer_id)
            if entry.seq != last + 1:
                raise Conflict(
                    "points ledger", entry.customer_id,
                    f"entry seq {entry.seq} is not the next seq {last + 1}",
                    expected_version=entry.seq - 1, actual_version=last,
                )
            if conn.execute("SELECT 1 FROM points_entries WHERE id = ?", (entry.id,)).fetchone():
                raise Conflict("ledger entry", entry.id, "an entry with this id exists")
            if conn.execute(
                "SELECT 1 FROM points_entries WHERE customer_id = ? AND key = ?",
                (entry.customer_id, entry.key),
            ).fetchone():
                raise Conflict("ledger entry", entry.key, "an entry with this key exists")
            conn.execute(_INSERT, row)

    def entries(self, customer_id: str, *, after_seq: int = 0) -> list[LedgerEntry]:
        """The customer's entries after ``after_seq`` (see ``PointsRepository.entries``)."""
        check_id("customer_id", customer_id)
        if not isinstance(after_seq, int) or isinstance(after_seq, bool) or after_seq < 0:
            raise ValidationError("after_seq", after_seq, "a non-negative integer")
        rows = self._read(
            f"SELECT {_COLUMNS} FROM points_entries WHERE customer_id = ? AND seq > ? "
            "ORDER BY seq",
            (customer_id, after_seq),
        )
        return [_entry(r) for r in rows]

    def by_key(self, customer_id: str, key: str) -> LedgerEntry | None:
        """The entry with this idempotency key, or None."""
        check_id("customer_id", customer_id)
        check_id("key", key)
        rows = self._read(
            f"SELECT {_COLUMNS} FROM points_entries WHERE customer_id = ? AND key = ?",
            (customer_id, key),
        )
        return _entry(rows[0]) if rows else None

    def last_seq(self, customer_id: str) -> int:
        """The customer's last seq (0: none)."""
        check_id("customer_id", customer_id)
        if self._absent:
            return 0
        with self._store.lock:
            try:
                return self._last(self._store.connection, customer_id)
            except sqlite3.Error as exc:
                raise StorageError(f"sqlite: reading the points ledger failed: {exc}") from exc

    def customer_ids(self) -> list[str]:
        """Customers with entries, sorted."""
        rows = self._read(
            "SELECT DISTINCT customer_id FROM points_entries ORDER BY customer_id", ()
        )
        return [str(r[0]) for r in rows]

    def count(self) -> int:
        """How many entries are stored."""
        return int(self._read("SELECT count(*) FROM points_entries", ())[0][0])

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Sequence[LedgerEntry]]:
        """Every entry by customer then seq, in chunks (keyset pagination)."""
        check_chunk_size(size)
        return self._chunks(size)

    def _chunks(self, size: int) -> Iterator[Sequence[LedgerEntry]]:
        after: tuple[str, int] = ("", 0)
        while True:
            rows = self._read(
                f"SELECT {_COLUMNS} FROM points_entries WHERE (customer_id, seq) > (?, ?) "
                "ORDER BY customer_id, seq LIMIT ?",
                (*after, size),
            )
            if not rows:
                return
            yield [_entry(r) for r in rows]
            after = (rows[-1][0], rows[-1][1])

    def save_snapshot(self, account: Account) -> None:
        """Keep a snapshot (see ``PointsRepository.save_snapshot``)."""
        if not isinstance(account, Account):
            raise ValidationError("account", account, "an Account")
        body = json.dumps(account_to_doc(account), ensure_ascii=False)
        with self._store.writing() as conn:
            last = self._last(conn, account.customer_id)
            if account.seq > last:
                raise ValidationError("account.seq", account.seq, f"at most the last seq {last}")
            old = conn.execute(
                "SELECT seq FROM points_snapshots WHERE customer_id = ?", (account.customer_id,)
            ).fetchone()
            if old is not None and old[0] > account.seq:
                raise Conflict(
                    "points snapshot", account.customer_id,
                    f"a snapshot at seq {old[0]} is newer than seq {account.seq}",
                )
            conn.execute(
                "INSERT INTO points_snapshots (customer_id, seq, body) VALUES (?, ?, ?) "
                "ON CONFLICT (customer_id) DO UPDATE SET seq = excluded.seq, body = excluded.body",
                (account.customer_id, account.seq, body),
            )

    def snapshot(self, customer_id: str) -> Account | None:
        """The latest snapshot, or None."""
        check_id("customer_id", customer_id)
        rows = self._read(
            "SELECT body FROM points_snapshots WHERE customer_id = ?", (customer_id,)
        )
        if not rows:
            return None
        try:
            return account_from_doc(customer_id, json.loads(rows[0][0]))
        except (CustMgmtError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise StorageError(
                f"sqlite: the points snapshot of {customer_id!r} cannot be read: {exc}"
            ) from exc

    def add_tier_change(self, change: TierChange) -> None:
        """Append a tier change (see ``PointsRepository.add_tier_change``)."""
        if not isinstance(change, TierChange):
            raise ValidationError("change", change, "a TierChange")
        at_us, at_off = _instant(change.at)
        with self._store.writing() as conn:
            found = conn.execute(
                "SELECT coalesce(max(seq), 0) FROM tier_changes WHERE customer_id = ?",
                (change.customer_id,),
            ).fetchone()
            if change.seq != int(found[0]) + 1:
                raise Conflict(
                    "tier history", change.customer_id,
                    f"change seq {change.seq} is not the next seq {int(found[0]) + 1}",
                )
            conn.execute(
                f"INSERT INTO tier_changes ({_TIER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (change.customer_id, change.seq, at_us, at_off, change.from_tier,
                 change.to_tier, change.reason, change.source),
            )

    def tier_history(self, customer_id: str) -> list[TierChange]:
        """The customer's tier changes, by seq."""
        check_id("customer_id", customer_id)
        rows = self._read(
            f"SELECT {_TIER_COLUMNS} FROM tier_changes WHERE customer_id = ? ORDER BY seq",
            (customer_id,),
        )
        return [
            TierChange(customer_id=r[0], seq=r[1], at=_datetime(r[2], r[3]), from_tier=r[4],
                       to_tier=r[5], reason=r[6], source=r[7])
            for r in rows
        ]

    # -- internals -----------------------------------------------------------------------
    def redact_subject(self, customer_id: str, pseudonym: str) -> int:
        """Erase the reasons of the customer's entries (see
        :class:`custmgmt.privacy.SubjectRedaction`); returns the entries changed.
        Balances, lots and tiers are untouched: only the text changes."""
        if self._absent:
            return 0
        with self._store.writing() as conn:
            cur = conn.execute(
                "UPDATE points_entries SET reason = ? WHERE customer_id = ? AND reason <> ?",
                (ERASED_TEXT, customer_id, ERASED_TEXT),
            )
            return cur.rowcount

    @staticmethod
    def _last(conn: sqlite3.Connection, customer_id: str) -> int:
        found = conn.execute(
            "SELECT coalesce(max(seq), 0) FROM points_entries WHERE customer_id = ?",
            (customer_id,),
        ).fetchone()
        return int(found[0])

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[Row]:
        if self._absent:
            return [(0,)] if sql.startswith("SELECT count(*)") else []
        with self._store.lock:
            try:
                return list(self._store.connection.execute(sql, params).fetchall())
            except sqlite3.Error as exc:
                raise StorageError(f"sqlite: reading the points ledger failed: {exc}") from exc
