"""The points ledger over a SQL database, shared by the SQLite and PostgreSQL adapters.

Both stores keep the same three tables (``points_entries``, ``points_snapshots``,
``tier_changes``) and run the same queries; what differs is the dialect: how an instant
is stored (microseconds in SQLite, ``timestamptz`` in PostgreSQL, both with the UTC
offset in its own column and read back as exact microseconds), how a taking entry's
draws and a snapshot's document are kept (JSON text, or ``jsonb`` / ``json``), the
parameter style, PostgreSQL's per-customer advisory lock that serialises a ledger's
writers (SQLite's single writer needs none), how a read reports a driver error or a
row that no longer decodes, and SQLite's store opened read-only before any ledger
existed (no tables: every ledger is empty). :class:`SqlPointsRepository` holds the
queries and the decoding once; each adapter's subclass supplies those hooks and its
migrations.

SQL below is written with ``?`` placeholders and ``{at}`` / ``{expires}`` /
``{locked}`` for the stored instant columns; :meth:`~custmgmt.adapters._sql_queries.SqlQueries._q`
turns it into the dialect's text.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, ClassVar, Final

from custmgmt.adapters._checks import check_chunk_size
from custmgmt.adapters._loyalty_rows import account_from_doc, account_to_doc
from custmgmt.adapters._redaction import ERASED_TEXT
from custmgmt.adapters._sql_codecs import datetime_of, optional_datetime_of
from custmgmt.adapters._sql_queries import SqlQueries
from custmgmt.domain._validate import check_id
from custmgmt.errors import Conflict, CustMgmtError, StorageError, ValidationError
from custmgmt.loyalty.ledger import Account, Draw, LedgerEntry
from custmgmt.loyalty.tiers import TierChange
from custmgmt.ports import DEFAULT_CHUNK_SIZE

__all__ = ["SqlPointsRepository"]

#: The columns of an entry row, in the order :func:`_entry` reads them.
_COLUMNS: Final = (
    "customer_id, seq, id, kind, points, {at}, at_off, key, actor, reason, rule, order_id, "
    "{expires}, expires_off, {locked}, locked_off, lot, draws, debt, written_off"
)
_INSERT: Final = f"INSERT INTO points_entries ({_COLUMNS}) VALUES ({', '.join('?' * 20)})"
_TIER_COLUMNS: Final = "customer_id, seq, {at}, at_off, from_tier, to_tier, reason, source"
# What reading a snapshot document that another program edited can raise.
_SNAPSHOT_ERRORS: Final = (CustMgmtError, ValueError, KeyError, TypeError, IndexError)

Row = tuple[Any, ...]


class SqlPointsRepository(SqlQueries):
    """A points ledger in a SQL store (see
    :class:`custmgmt.loyalty.ports.PointsRepository`); subclasses name the dialect and
    the stored instant columns (``at``, ``expires``, ``locked``).

    Writes go through the store's ``writing()``, so they join its transaction and a
    failure writes nothing.
    """

    #: What decoding an entry or tier row may raise that is reported as a StorageError.
    decode_errors: ClassVar[tuple[type[Exception], ...]] = (
        CustMgmtError, ValueError, TypeError, KeyError, IndexError,
    )  # fmt: skip

    #: No tables and none to come (SQLite opened read-only): every ledger is empty.
    _absent: bool = False

    # -- the dialect's hooks -----------------------------------------------------------
    @staticmethod
    @abstractmethod
    def _instant(value: datetime) -> tuple[Any, int]:
        """The stored instant and its UTC offset in seconds (the two columns)."""

    @abstractmethod
    def _draws(self, draws: list[list[Any]]) -> Any:
        """A taking entry's draws, ``[[lot, points], ...]``, as stored."""

    @abstractmethod
    def _read_draws(self, stored: Any) -> Iterable[Sequence[Any]]:
        """The ``[lot, points]`` pairs of stored draws (None: none)."""

    @abstractmethod
    def _document(self, doc: dict[str, Any]) -> Any:
        """A snapshot document as stored."""

    @abstractmethod
    def _read_document(self, stored: Any) -> Any:
        """A stored snapshot document, parsed."""

    def _lock_customer(self, conn: Any, customer_id: str) -> None:
        """Serialise the customer's writers until the open write ends; by default
        nothing (SQLite's write transaction already does)."""

    def _select_from(self, columns: str, tail: str) -> str:
        """SELECT ``columns`` (instants read as microseconds), then ``tail``."""
        return self._q(f"SELECT {self._select(columns)} " + tail)

    def _pair(self, value: datetime | None) -> tuple[Any, int | None]:
        return (None, None) if value is None else self._instant(value)

    def _entry_row(self, entry: LedgerEntry) -> Row:
        draws = self._draws([[d.lot, d.points] for d in entry.draws]) if entry.draws else None
        return (
            entry.customer_id, entry.seq, entry.id, entry.kind.value, entry.points,
            *self._instant(entry.at), entry.key, entry.actor, entry.reason, entry.rule,
            entry.order_id, *self._pair(entry.expires_at), *self._pair(entry.locked_until),
            entry.lot, draws, entry.debt, entry.written_off,
        )  # fmt: skip

    def _entry(self, row: Row) -> LedgerEntry:
        draws = tuple(Draw(lot=lot, points=points) for lot, points in self._read_draws(row[17]))
        return LedgerEntry(
            customer_id=row[0], seq=row[1], id=row[2], kind=row[3], points=row[4],
            at=datetime_of(row[5], row[6]), key=row[7], actor=row[8], reason=row[9],
            rule=row[10], order_id=row[11], expires_at=optional_datetime_of(row[12], row[13]),
            locked_until=optional_datetime_of(row[14], row[15]), lot=row[16], draws=draws,
            debt=row[18], written_off=row[19],
        )  # fmt: skip

    def _entries(self, rows: Sequence[Row]) -> list[LedgerEntry]:
        try:
            return [self._entry(r) for r in rows]
        except self.decode_errors as exc:
            # The rows were valid when written: something else changed the database.
            raise StorageError(
                f"{self.dialect}: a stored ledger entry is not valid any more: {exc}"
            ) from exc

    def _last(self, conn: Any, customer_id: str) -> int:
        found = conn.execute(
            self._q("SELECT coalesce(max(seq), 0) FROM points_entries WHERE customer_id = ?"),
            (customer_id,),
        ).fetchone()
        return int(found[0])

    # -- the ledger --------------------------------------------------------------------
    def append(self, entry: LedgerEntry) -> None:
        """Add the customer's next entry (see ``PointsRepository.append``)."""
        if not isinstance(entry, LedgerEntry):
            raise ValidationError("entry", entry, "a LedgerEntry")
        row = self._entry_row(entry)
        with self._store.writing() as conn:
            self._lock_customer(conn, entry.customer_id)
            last = self._last(conn, entry.customer_id)
            if entry.seq != last + 1:
                raise Conflict(
                    "points ledger", entry.customer_id,
                    f"entry seq {entry.seq} is not the next seq {last + 1}",
                    expected_version=entry.seq - 1, actual_version=last,
                )
            if conn.execute(
                self._q("SELECT 1 FROM points_entries WHERE id = ?"), (entry.id,)
            ).fetchone():
                raise Conflict("ledger entry", entry.id, "an entry with this id exists")
            if conn.execute(
                self._q("SELECT 1 FROM points_entries WHERE customer_id = ? AND key = ?"),
                (entry.customer_id, entry.key),
            ).fetchone():
                raise Conflict("ledger entry", entry.key, "an entry with this key exists")
            conn.execute(self._q(_INSERT), row)

    def entries(self, customer_id: str, *, after_seq: int = 0) -> list[LedgerEntry]:
        """The customer's entries after ``after_seq`` (see ``PointsRepository.entries``)."""
        check_id("customer_id", customer_id)
        if not isinstance(after_seq, int) or isinstance(after_seq, bool) or after_seq < 0:
            raise ValidationError("after_seq", after_seq, "a non-negative integer")
        rows = self._fetch(
            self._select_from(_COLUMNS, "FROM points_entries WHERE customer_id = ? AND seq > ? "
                                   "ORDER BY seq"),
            (customer_id, after_seq),
        )
        return self._entries(rows)

    def by_key(self, customer_id: str, key: str) -> LedgerEntry | None:
        """The entry with this idempotency key, or None."""
        check_id("customer_id", customer_id)
        check_id("key", key)
        rows = self._fetch(
            self._select_from(_COLUMNS, "FROM points_entries WHERE customer_id = ? AND key = ?"),
            (customer_id, key),
        )
        return self._entries(rows)[0] if rows else None

    def last_seq(self, customer_id: str) -> int:
        """The customer's last seq (0: none)."""
        check_id("customer_id", customer_id)
        rows = self._fetch(
            self._q("SELECT coalesce(max(seq), 0) FROM points_entries WHERE customer_id = ?"),
            (customer_id,),
        )
        return int(rows[0][0]) if rows else 0

    def customer_ids(self) -> list[str]:
        """Customers with entries, sorted."""
        rows = self._fetch(
            "SELECT DISTINCT customer_id FROM points_entries ORDER BY customer_id", ()
        )
        return [str(r[0]) for r in rows]

    def count(self) -> int:
        """How many entries are stored."""
        return int(self._fetch("SELECT count(*) FROM points_entries", ())[0][0])

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Sequence[LedgerEntry]]:
        """Every entry by customer then seq, in chunks (keyset pagination)."""
        size = check_chunk_size(size)
        return self._chunks(size)

    def _chunks(self, size: int) -> Iterator[Sequence[LedgerEntry]]:
        after: tuple[str, int] = ("", 0)
        sql = self._select_from(_COLUMNS, "FROM points_entries WHERE (customer_id, seq) > (?, ?) "
                                     "ORDER BY customer_id, seq LIMIT ?")
        while True:
            rows = self._fetch(sql, (*after, size))
            if not rows:
                return
            yield self._entries(rows)
            after = (rows[-1][0], rows[-1][1])

    # -- snapshots ---------------------------------------------------------------------
    def save_snapshot(self, account: Account) -> None:
        """Keep a snapshot (see ``PointsRepository.save_snapshot``)."""
        if not isinstance(account, Account):
            raise ValidationError("account", account, "an Account")
        body = self._document(account_to_doc(account))
        with self._store.writing() as conn:
            self._lock_customer(conn, account.customer_id)
            last = self._last(conn, account.customer_id)
            if account.seq > last:
                raise ValidationError("account.seq", account.seq, f"at most the last seq {last}")
            old = conn.execute(
                self._q("SELECT seq FROM points_snapshots WHERE customer_id = ?"),
                (account.customer_id,),
            ).fetchone()
            if old is not None and old[0] > account.seq:
                raise Conflict(
                    "points snapshot", account.customer_id,
                    f"a snapshot at seq {old[0]} is newer than seq {account.seq}",
                )
            conn.execute(
                self._q("INSERT INTO points_snapshots (customer_id, seq, body) VALUES (?, ?, ?) "
                        "ON CONFLICT (customer_id) DO UPDATE SET seq = excluded.seq, "
                        "body = excluded.body"),
                (account.customer_id, account.seq, body),
            )

    def snapshot(self, customer_id: str) -> Account | None:
        """The latest snapshot, or None."""
        check_id("customer_id", customer_id)
        rows = self._fetch(
            self._q("SELECT body FROM points_snapshots WHERE customer_id = ?"), (customer_id,)
        )
        if not rows:
            return None
        try:
            return account_from_doc(customer_id, self._read_document(rows[0][0]))
        except _SNAPSHOT_ERRORS as exc:
            raise StorageError(
                f"{self.dialect}: the points snapshot of {customer_id!r} cannot be read: {exc}"
            ) from exc

    # -- tiers -------------------------------------------------------------------------
    def add_tier_change(self, change: TierChange) -> None:
        """Append a tier change (see ``PointsRepository.add_tier_change``)."""
        if not isinstance(change, TierChange):
            raise ValidationError("change", change, "a TierChange")
        at, at_off = self._instant(change.at)
        with self._store.writing() as conn:
            self._lock_customer(conn, change.customer_id)
            found = conn.execute(
                self._q("SELECT coalesce(max(seq), 0) FROM tier_changes WHERE customer_id = ?"),
                (change.customer_id,),
            ).fetchone()
            if change.seq != int(found[0]) + 1:
                raise Conflict(
                    "tier history", change.customer_id,
                    f"change seq {change.seq} is not the next seq {int(found[0]) + 1}",
                )
            conn.execute(
                self._q(f"INSERT INTO tier_changes ({_TIER_COLUMNS}) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                (change.customer_id, change.seq, at, at_off, change.from_tier,
                 change.to_tier, change.reason, change.source),
            )  # fmt: skip

    def tier_history(self, customer_id: str) -> list[TierChange]:
        """The customer's tier changes, by seq."""
        check_id("customer_id", customer_id)
        rows = self._fetch(
            self._select_from(_TIER_COLUMNS,
                              "FROM tier_changes WHERE customer_id = ? ORDER BY seq"),
            (customer_id,),
        )
        try:
            return [
                TierChange(customer_id=r[0], seq=r[1], at=datetime_of(r[2], r[3]),
                           from_tier=r[4], to_tier=r[5], reason=r[6], source=r[7])
                for r in rows
            ]  # fmt: skip
        except self.decode_errors as exc:
            raise StorageError(
                f"{self.dialect}: a stored tier change of {customer_id!r} is not valid any "
                f"more: {exc}"
            ) from exc

    # -- erasure (custmgmt.privacy.SubjectRedaction) -----------------------------------
    def redact_subject(self, customer_id: str, pseudonym: str) -> int:
        """Erase the reasons of the customer's entries (see
        :class:`custmgmt.privacy.SubjectRedaction`); returns the entries changed.
        Balances, lots and tiers are untouched: only the text changes. The customer's
        writers are held off meanwhile, so an entry appended concurrently is either
        redacted too or appended after."""
        if self._absent:
            return 0
        with self._store.writing() as conn:
            self._lock_customer(conn, customer_id)
            cur = conn.execute(
                self._q("UPDATE points_entries SET reason = ? WHERE customer_id = ? "
                        "AND reason <> ?"),
                (ERASED_TEXT, customer_id, ERASED_TEXT),
            )
            return int(cur.rowcount)
