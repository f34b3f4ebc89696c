"""The points ledger in PostgreSQL (see :class:`custmgmt.loyalty.ports.PointsRepository`).

Three tables, owned by the component ``"loyalty"`` through
:meth:`PostgresStore.apply_migrations <custmgmt.adapters.postgres.PostgresStore.apply_migrations>`:
``points_entries`` (keyed by customer and seq, the idempotency key unique per
customer, a taking entry's draws as ``jsonb``), ``points_snapshots`` (one folded
account per customer, as ``json``: the document the SQLite store writes, kept as
written) and ``tier_changes``. Instants are ``timestamptz`` plus the original UTC
offset, so they come back exactly; text in any script is stored as it is.

Concurrent writers: every write to one customer's ledger, snapshot or tier history
first takes a transaction-level advisory lock on that customer (in this schema), then
checks the next seq against what is committed. Two processes redeeming from one
balance therefore take turns: the second finds the seq it read already taken and gets
a :class:`~custmgmt.errors.Conflict`, never an overdraft; the primary key would refuse
it anyway. Other customers' writes do not wait.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Final

from psycopg.types.json import Json, Jsonb

from custmgmt.adapters._checks import check_chunk_size
from custmgmt.adapters._loyalty_rows import account_from_doc, account_to_doc
from custmgmt.adapters.postgres.codecs import datetime_of, when
from custmgmt.adapters.postgres.database import Connection, PostgresDatabase
from custmgmt.adapters.postgres.schema import Migration, micros
from custmgmt.domain._validate import check_id
from custmgmt.errors import Conflict, CustMgmtError, StorageError, ValidationError
from custmgmt.loyalty.ledger import Account, Draw, LedgerEntry
from custmgmt.loyalty.tiers import TierChange
from custmgmt.ports import DEFAULT_CHUNK_SIZE

__all__ = ["LOYALTY_MIGRATIONS", "PostgresPointsRepository"]

_V1 = """
CREATE TABLE points_entries (
    customer_id text COLLATE "C" NOT NULL,
    seq integer NOT NULL,
    id text COLLATE "C" NOT NULL UNIQUE,
    kind text NOT NULL,
    points bigint NOT NULL,
    at timestamptz NOT NULL,
    at_off integer NOT NULL,
    key text COLLATE "C" NOT NULL,
    actor text NOT NULL,
    reason text NOT NULL,
    rule text,
    order_id text,
    expires_at timestamptz,
    expires_off integer,
    locked_until timestamptz,
    locked_off integer,
    lot text,
    draws jsonb,
    debt bigint NOT NULL,
    written_off bigint NOT NULL,
    PRIMARY KEY (customer_id, seq),
    UNIQUE (customer_id, key)
);
CREATE TABLE points_snapshots (
    customer_id text COLLATE "C" PRIMARY KEY,
    seq integer NOT NULL,
    body json NOT NULL
);
CREATE TABLE tier_changes (
    customer_id text COLLATE "C" NOT NULL,
    seq integer NOT NULL,
    at timestamptz NOT NULL,
    at_off integer NOT NULL,
    from_tier text,
    to_tier text NOT NULL,
    reason text NOT NULL,
    source text,
    PRIMARY KEY (customer_id, seq)
);
"""

#: The loyalty schema's migrations, applied in order under the component ``"loyalty"``.
LOYALTY_MIGRATIONS: Final[tuple[Migration, ...]] = (_V1,)

_COLUMNS: Final = (
    "customer_id, seq, id, kind, points, at, at_off, key, actor, reason, rule, order_id, "
    "expires_at, expires_off, locked_until, locked_off, lot, draws, debt, written_off"
)
_SELECT: Final = (
    f"customer_id, seq, id, kind, points, {micros('at')}, at_off, key, actor, reason, rule, "
    f"order_id, {micros('expires_at')}, expires_off, {micros('locked_until')}, locked_off, "
    "lot, draws, debt, written_off"
)
_INSERT: Final = f"INSERT INTO points_entries ({_COLUMNS}) VALUES ({', '.join(['%s'] * 20)})"
_TIER_COLUMNS: Final = "customer_id, seq, at, at_off, from_tier, to_tier, reason, source"
_TIER_SELECT: Final = (
    f"customer_id, seq, {micros('at')}, at_off, from_tier, to_tier, reason, source"
)
#: The first key of the per-customer advisory locks (the second is a hash of the
#: schema and customer): an arbitrary constant, apart from the migration lock's key.
_LOCK_CLASS: Final = 0x10A1

Row = tuple[Any, ...]


def _pair(value: datetime | None) -> tuple[datetime | None, int | None]:
    return (None, None) if value is None else when(value)


def _maybe(us: int | None, off: int | None) -> datetime | None:
    return None if us is None or off is None else datetime_of(us, off)


def _entry_row(entry: LedgerEntry) -> Row:
    draws = Jsonb([[d.lot, d.points] for d in entry.draws]) if entry.draws else None
    return (
        entry.customer_id, entry.seq, entry.id, entry.kind.value, entry.points, *when(entry.at),
        entry.key, entry.actor, entry.reason, entry.rule, entry.order_id,
        *_pair(entry.expires_at), *_pair(entry.locked_until), entry.lot, draws, entry.debt,
        entry.written_off,
    )  # fmt: skip


def _entry(row: Row) -> LedgerEntry:
    draws = tuple(Draw(lot=lot, points=points) for lot, points in row[17] or ())
    return LedgerEntry(
        customer_id=row[0], seq=row[1], id=row[2], kind=row[3], points=row[4],
        at=datetime_of(row[5], row[6]), key=row[7], actor=row[8], reason=row[9], rule=row[10],
        order_id=row[11], expires_at=_maybe(row[12], row[13]),
        locked_until=_maybe(row[14], row[15]), lot=row[16], draws=draws, debt=row[18],
        written_off=row[19],
    )  # fmt: skip


class PostgresPointsRepository:
    """A points ledger in a :class:`~custmgmt.adapters.postgres.PostgresStore`, in its
    transactions.

    Creating it applies the loyalty migrations. Writes go through
    :meth:`PostgresStore.writing`, so they join the store's transaction and commit or
    roll back with the store's other writes.

    Args:
        store: the PostgreSQL store (``store.loyalty``).

    Raises:
        StorageError: the schema cannot be created.
    """

    def __init__(self, store: PostgresDatabase) -> None:
        self._store = store
        store.apply_migrations("loyalty", LOYALTY_MIGRATIONS)

    def append(self, entry: LedgerEntry) -> None:
        """Add the customer's next entry (see ``PointsRepository.append``)."""
        if not isinstance(entry, LedgerEntry):
            raise ValidationError("entry", entry, "a LedgerEntry")
        row = _entry_row(entry)
        with self._store.writing() as conn:
            self._lock(conn, entry.customer_id)
            last = self._last(conn, entry.customer_id)
            if entry.seq != last + 1:
                raise Conflict(
                    "points ledger", entry.customer_id,
                    f"entry seq {entry.seq} is not the next seq {last + 1}",
                    expected_version=entry.seq - 1, actual_version=last,
                )
            if conn.execute("SELECT 1 FROM points_entries WHERE id = %s", (entry.id,)).fetchone():
                raise Conflict("ledger entry", entry.id, "an entry with this id exists")
            if conn.execute(
                "SELECT 1 FROM points_entries WHERE customer_id = %s AND key = %s",
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
            f"SELECT {_SELECT} FROM points_entries WHERE customer_id = %s AND seq > %s "
            "ORDER BY seq",
            (customer_id, after_seq),
        )
        return _decode(rows)

    def by_key(self, customer_id: str, key: str) -> LedgerEntry | None:
        """The entry with this idempotency key, or None."""
        check_id("customer_id", customer_id)
        check_id("key", key)
        rows = self._read(
            f"SELECT {_SELECT} FROM points_entries WHERE customer_id = %s AND key = %s",
            (customer_id, key),
        )
        return _decode(rows)[0] if rows else None

    def last_seq(self, customer_id: str) -> int:
        """The customer's last seq (0: none)."""
        check_id("customer_id", customer_id)
        rows = self._read(
            "SELECT coalesce(max(seq), 0) FROM points_entries WHERE customer_id = %s",
            (customer_id,),
        )
        return int(rows[0][0])

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
                f"SELECT {_SELECT} FROM points_entries WHERE (customer_id, seq) > (%s, %s) "
                "ORDER BY customer_id, seq LIMIT %s",
                (*after, size),
            )
            if not rows:
                return
            yield _decode(rows)
            after = (rows[-1][0], rows[-1][1])

    def save_snapshot(self, account: Account) -> None:
        """Keep a snapshot (see ``PointsRepository.save_snapshot``)."""
        if not isinstance(account, Account):
            raise ValidationError("account", account, "an Account")
        body = Json(account_to_doc(account))
        with self._store.writing() as conn:
            self._lock(conn, account.customer_id)
            last = self._last(conn, account.customer_id)
            if account.seq > last:
                raise ValidationError("account.seq", account.seq, f"at most the last seq {last}")
            old = conn.execute(
                "SELECT seq FROM points_snapshots WHERE customer_id = %s", (account.customer_id,)
            ).fetchone()
            if old is not None and old[0] > account.seq:
                raise Conflict(
                    "points snapshot", account.customer_id,
                    f"a snapshot at seq {old[0]} is newer than seq {account.seq}",
                )
            conn.execute(
                "INSERT INTO points_snapshots (customer_id, seq, body) VALUES (%s, %s, %s) "
                "ON CONFLICT (customer_id) DO UPDATE SET seq = excluded.seq, body = excluded.body",
                (account.customer_id, account.seq, body),
            )

    def snapshot(self, customer_id: str) -> Account | None:
        """The latest snapshot, or None."""
        check_id("customer_id", customer_id)
        rows = self._read(
            "SELECT body FROM points_snapshots WHERE customer_id = %s", (customer_id,)
        )
        if not rows:
            return None
        try:
            return account_from_doc(customer_id, rows[0][0])
        except (CustMgmtError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise StorageError(
                f"postgres: the points snapshot of {customer_id!r} cannot be read: {exc}"
            ) from exc

    def add_tier_change(self, change: TierChange) -> None:
        """Append a tier change (see ``PointsRepository.add_tier_change``)."""
        if not isinstance(change, TierChange):
            raise ValidationError("change", change, "a TierChange")
        with self._store.writing() as conn:
            self._lock(conn, change.customer_id)
            found = conn.execute(
                "SELECT coalesce(max(seq), 0) FROM tier_changes WHERE customer_id = %s",
                (change.customer_id,),
            ).fetchone()
            assert found is not None
            if change.seq != int(found[0]) + 1:
                raise Conflict(
                    "tier history", change.customer_id,
                    f"change seq {change.seq} is not the next seq {int(found[0]) + 1}",
                )
            conn.execute(
                f"INSERT INTO tier_changes ({_TIER_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (change.customer_id, change.seq, *when(change.at), change.from_tier,
                 change.to_tier, change.reason, change.source),
            )  # fmt: skip

    def tier_history(self, customer_id: str) -> list[TierChange]:
        """The customer's tier changes, by seq."""
        check_id("customer_id", customer_id)
        rows = self._read(
            f"SELECT {_TIER_SELECT} FROM tier_changes WHERE customer_id = %s ORDER BY seq",
            (customer_id,),
        )
        try:
            return [
                TierChange(customer_id=r[0], seq=r[1], at=datetime_of(r[2], r[3]),
                           from_tier=r[4], to_tier=r[5], reason=r[6], source=r[7])
                for r in rows
            ]  # fmt: skip
        except (CustMgmtError, ValueError, TypeError) as exc:
            raise StorageError(
                f"postgres: a stored tier change of {customer_id!r} is not valid any more: {exc}"
            ) from exc

    # -- internals -----------------------------------------------------------------------
    def _lock(self, conn: Connection, customer_id: str) -> None:
        """Serialise this customer's writers until the transaction ends (other customers'
        writers are not held up, bar a hash collision, which only makes one wait)."""
        conn.execute(
            "SELECT pg_advisory_xact_lock(%s::integer, hashtext(%s))",
            (_LOCK_CLASS, f"{self._store.schema}:{customer_id}"),
        )

    @staticmethod
    def _last(conn: Connection, customer_id: str) -> int:
        found = conn.execute(
            "SELECT coalesce(max(seq), 0) FROM points_entries WHERE customer_id = %s",
            (customer_id,),
        ).fetchone()
        assert found is not None
        return int(found[0])

    def _read(self, sql: str, params: Sequence[Any]) -> list[Row]:
        try:
            return self._store.fetch(sql, params, doing="reading the points ledger")
        except UnicodeEncodeError as exc:  # a lone surrogate: no stored id has one
            raise ValidationError("id", exc.object, "valid Unicode text") from None


def _decode(rows: Sequence[Row]) -> list[LedgerEntry]:
    try:
        return [_entry(r) for r in rows]
    except (CustMgmtError, ValueError, TypeError, KeyError, IndexError) as exc:
        # The rows were valid when written: something else changed the database.
        raise StorageError(f"postgres: a stored ledger entry is not valid any more: {exc}") from exc
