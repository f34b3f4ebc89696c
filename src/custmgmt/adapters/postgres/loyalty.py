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
it anyway. Other customers' writes do not wait. The queries are
:class:`~custmgmt.adapters._sql_loyalty.SqlPointsRepository`'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Final

from psycopg.types.json import Json, Jsonb

from custmgmt.adapters._sql_loyalty import Row, SqlPointsRepository
from custmgmt.adapters.postgres.codecs import when
from custmgmt.adapters.postgres.database import PostgresDatabase
from custmgmt.adapters.postgres.schema import Migration, micros
from custmgmt.errors import ValidationError

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

#: The first key of the per-customer advisory locks (the second is a hash of the
#: schema and customer): an arbitrary constant, apart from the migration lock's key.
_LOCK_CLASS: Final = 0x10A1


class PostgresPointsRepository(SqlPointsRepository):
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

    dialect = "postgres"
    placeholder = "%s"
    stored_columns: ClassVar[dict[str, str]] = {
        "at": "at", "expires": "expires_at", "locked": "locked_until",
    }
    _instant = staticmethod(when)

    def __init__(self, store: PostgresDatabase) -> None:
        super().__init__(store)
        self._db = store
        store.apply_migrations("loyalty", LOYALTY_MIGRATIONS)

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            return self._db.fetch(sql, params, doing="reading the points ledger")
        except UnicodeEncodeError as exc:  # a lone surrogate: no stored id has one
            raise ValidationError("id", exc.object, "valid Unicode text") from None

    def _read_instant(self, column: str) -> str:
        return micros(column)

    def _draws(self, draws: list[list[Any]]) -> Jsonb:
        return Jsonb(draws)

    def _read_draws(self, stored: Any) -> Iterable[Sequence[Any]]:
        return stored or ()  # psycopg decodes jsonb

    def _document(self, doc: dict[str, Any]) -> Json:
        return Json(doc)

    def _read_document(self, stored: Any) -> Any:
        return stored  # psycopg decodes json

    def _lock_customer(self, conn: Any, customer_id: str) -> None:
        """Serialise this customer's writers until the transaction ends (other customers'
        writers are not held up, bar a hash collision, which only makes one wait)."""
        conn.execute(
            "SELECT pg_advisory_xact_lock(%s::integer, hashtext(%s))",
            (_LOCK_CLASS, f"{self._db.schema}:{customer_id}"),
        )
