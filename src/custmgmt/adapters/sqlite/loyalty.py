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
exactly; text in any script is stored as it is. The queries are
:class:`~custmgmt.adapters._sql_loyalty.SqlPointsRepository`'s.

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
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Final

from custmgmt.adapters._sql_loyalty import Row, SqlPointsRepository
from custmgmt.adapters.sqlite.codecs import _instant as _instant_pair
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.schema import Migration
from custmgmt.errors import StorageError

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


class SQLitePointsRepository(SqlPointsRepository):
    """A points ledger in an :class:`~custmgmt.adapters.sqlite.SQLiteStore`, in its transactions.

    Creating it applies the loyalty migrations. Writes go through
    :meth:`SQLiteStore.writing`, so they join the store's transaction.

    Args:
        store: the SQLite store (``store.loyalty``).

    Raises:
        StorageError: the schema cannot be created.
    """

    dialect = "sqlite"
    stored_columns: ClassVar[dict[str, str]] = {
        "at": "at_us", "expires": "expires_us", "locked": "locked_us",
    }
    # A row that no longer decodes leaves with the decoder's own error.
    decode_errors: ClassVar[tuple[type[Exception], ...]] = ()
    _instant = staticmethod(_instant_pair)

    def __init__(self, store: SQLiteDatabase) -> None:
        super().__init__(store)
        self._db = store
        store.apply_migrations("loyalty", LOYALTY_MIGRATIONS)
        # A store opened read-only that never had a ledger has no tables: its ledgers
        # are empty, as in a new store.
        self._absent = store.read_only and store.schema_version("loyalty") == 0

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        if self._absent:
            return [(0,)] if sql.startswith("SELECT count(*)") else []
        with self._db.lock:
            try:
                return list(self._db.connection.execute(sql, params).fetchall())
            except sqlite3.Error as exc:
                raise StorageError(f"sqlite: reading the points ledger failed: {exc}") from exc

    def _draws(self, draws: list[list[Any]]) -> str:
        return json.dumps(draws)

    def _read_draws(self, stored: Any) -> Iterable[Sequence[Any]]:
        return json.loads(stored or "[]")  # type: ignore[no-any-return]

    def _document(self, doc: dict[str, Any]) -> str:
        return json.dumps(doc, ensure_ascii=False)

    def _read_document(self, stored: Any) -> Any:
        return json.loads(stored)
