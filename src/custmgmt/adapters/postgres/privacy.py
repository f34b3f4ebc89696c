"""The privacy capability in PostgreSQL (see :class:`custmgmt.privacy.ports.PrivacyRepository`).

The same five tables as in SQLite, owned by the component ``"privacy"``:
``privacy_audit`` (the hash chain, keyed by ``seq``), ``privacy_keys`` (each customer's
wrapped data key with its KEK's id), ``privacy_sealed`` (each customer's sealed fields,
with one ``bytea`` column and one partial index per blind-index kind),
``privacy_erasures`` and ``privacy_key_checks`` (since version 2: each key id's keyed
fingerprint, which refuses a wrong key file). Only ciphertext, digests, fingerprints and
pseudonyms are stored here, and the customer rows of a sealed customer keep a pseudonym
and no contact data, so a ``pg_dump`` of an encrypted store holds no plaintext personal
values (a test greps one). Times are microseconds since the epoch plus the UTC offset,
as in SQLite, so an audit entry reads back with the offset it was written with (its hash
covers it).

Erasure deletes the key and the sealed row and updates rows in place; PostgreSQL keeps
the old row versions in the table's pages until ``VACUUM`` reclaims them (and in its
WAL segments until they are recycled): crypto-shredding is what makes old copies of
sealed fields unreadable, and ``docs/privacy.md`` says when to run ``VACUUM``.

The queries are :class:`~custmgmt.adapters._sql_privacy.SqlPrivacyRepository`'s;
this module keeps the schema and the dialect's hooks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from custmgmt.adapters._sql_privacy import SEALED_COLUMNS, SqlPrivacyRepository
from custmgmt.adapters.postgres.database import PostgresDatabase
from custmgmt.adapters.postgres.repository import copy_rows
from custmgmt.adapters.postgres.schema import Migration
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import ValidationError

__all__ = ["PRIVACY_MIGRATIONS", "PostgresPrivacyRepository"]

_V1 = """
CREATE TABLE privacy_audit (
    seq bigint PRIMARY KEY,
    at_us bigint NOT NULL,
    at_off integer NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    resource text NOT NULL,
    purpose text NOT NULL,
    outcome text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL
);
CREATE TABLE privacy_keys (
    customer_id text COLLATE "C" PRIMARY KEY,
    kek_id text COLLATE "C" NOT NULL,
    blob bytea NOT NULL
);
CREATE INDEX privacy_keys_by_kek ON privacy_keys (kek_id, customer_id);
CREATE TABLE privacy_sealed (
    customer_id text COLLATE "C" PRIMARY KEY,
    ciphertext bytea NOT NULL,
    email_ix bytea,
    phone_ix bytea,
    phone_last4_ix bytea
);
CREATE INDEX privacy_sealed_by_email ON privacy_sealed (email_ix) WHERE email_ix IS NOT NULL;
CREATE INDEX privacy_sealed_by_phone ON privacy_sealed (phone_ix) WHERE phone_ix IS NOT NULL;
CREATE INDEX privacy_sealed_by_last4 ON privacy_sealed (phone_last4_ix)
    WHERE phone_last4_ix IS NOT NULL;
CREATE TABLE privacy_erasures (
    customer_id text COLLATE "C" PRIMARY KEY,
    pseudonym text NOT NULL,
    at_us bigint NOT NULL,
    at_off integer NOT NULL
);
"""

# Version 2: the keyed fingerprint of each key the store was written with (see
# custmgmt.privacy.KeyFingerprints). A store upgraded from version 1 has none: the
# services check a key against the stored data the first time they use it.
_V2 = """
CREATE TABLE IF NOT EXISTS privacy_key_checks (
    key_id text COLLATE "C" PRIMARY KEY,
    fingerprint bytea NOT NULL
);
"""

#: The privacy component's schema, one migration per version.
PRIVACY_MIGRATIONS: Final[tuple[Migration, ...]] = (_V1, _V2)


def _instant_pair(value: datetime) -> tuple[int, int]:
    offset = value.utcoffset()
    assert offset is not None  # the domain types refuse naive datetimes
    return to_epoch_micros(value), int(offset.total_seconds())


class PostgresPrivacyRepository(SqlPrivacyRepository):
    """Audit log, data keys, sealed records and erasures in a PostgreSQL store.

    Args:
        store: the PostgreSQL store (``store.privacy`` makes one when it opens).

    Raises:
        StorageError: the schema cannot be created.
    """

    dialect = "postgres"
    placeholder = "%s"
    no_limit = None
    upsert_sealed = (
        f"INSERT INTO privacy_sealed ({SEALED_COLUMNS}) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (customer_id) DO UPDATE SET ciphertext = EXCLUDED.ciphertext, "
        "email_ix = EXCLUDED.email_ix, phone_ix = EXCLUDED.phone_ix, "
        "phone_last4_ix = EXCLUDED.phone_last4_ix"
    )
    keys_of_kek = (
        "SELECT customer_id FROM privacy_keys WHERE kek_id = ? ORDER BY customer_id LIMIT ?"
    )
    for_update = " FOR UPDATE"
    _instant = staticmethod(_instant_pair)

    def __init__(self, store: PostgresDatabase) -> None:
        super().__init__(store)
        store.apply_migrations("privacy", PRIVACY_MIGRATIONS)

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._store.fetch(sql, params, doing="reading privacy data")  # type: ignore[no-any-return]
        except UnicodeEncodeError as exc:
            raise ValidationError("customer_id", exc.object, "valid Unicode text") from None

    def _insert_rows(self, conn: Any, table: str, columns: str, rows: Iterable[Any]) -> None:
        copy_rows(conn, table, columns, rows)  # one COPY

    def _lookup_id(self, customer_id: Any) -> str | None:
        return customer_id if isinstance(customer_id, str) else None

    def _lock_audit(self, conn: Any) -> None:
        # Two writers appending at once take turns; the second finds the chain moved on.
        conn.execute("LOCK TABLE privacy_audit IN SHARE ROW EXCLUSIVE MODE")
