"""What the PostgreSQL campaign and follow-up repositories share: reading rows, decoding
them into library errors, and lookup keys that cannot match anything.

Both keep their nested values (a campaign, a plan, a draw record) as ``jsonb`` written
by :mod:`custmgmt.adapters._engagement_codecs`, the same plain data the SQLite adapter
keeps as JSON text, so every backend reads back the same objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from custmgmt.adapters._checks import stale_copy
from custmgmt.adapters.postgres.database import PostgresDatabase
from custmgmt.adapters.postgres.schema import Migration, Row
from custmgmt.domain._validate import check_unicode
from custmgmt.errors import CustMgmtError, NotFound, StorageError, ValidationError

__all__ = ["EngagementRepository", "lookup_key"]

T = TypeVar("T")


class _Versioned(Protocol):
    """A stored entity with an id and a version (a campaign, a plan)."""

    @property
    def id(self) -> str: ...

    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=_Versioned)


def lookup_key(value: Any) -> str | None:
    """``value`` as a key to look up, or None where no stored row can have it.

    Every stored key is a valid id (text without lone surrogates): anything else, an
    int or undecodable text, matches nothing, as in the memory store, instead of
    failing in the driver.
    """
    if not isinstance(value, str):
        return None
    try:
        return check_unicode("key", value)
    except ValidationError:
        return None


class EngagementRepository:
    """Base of the campaign and follow-up repositories: migrations, reads, decoding.

    Args:
        store: the PostgreSQL store.
        component: the schema component the tables belong to.
        migrations: its migrations, applied when the repository is made.
        what: what the tables hold, for error messages ("campaigns").
    """

    def __init__(
        self,
        store: PostgresDatabase,
        component: str,
        migrations: Sequence[Migration],
        what: str,
    ) -> None:
        self._store = store
        self._what = what
        store.apply_migrations(component, migrations)

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._store.fetch(sql, params, doing=f"reading {self._what}")

    def _decode(self, what: str, key: Any, decode: Callable[[Any], T], value: Any) -> T:
        """``decode(value)``, or a StorageError naming the stored ``what`` ``key``."""
        try:
            return decode(value)
        except (
            CustMgmtError, ValueError, TypeError, KeyError, IndexError, AttributeError,
        ) as exc:
            # The row was valid when written: something else changed the database.
            raise StorageError(
                f"postgres: stored {what} {key!r} is not valid any more: {exc}"
            ) from exc

    def _update_versioned(
        self,
        what: str,
        table: str,
        entity: V,
        decode: Callable[[Any], V],
        columns: str,
        values: Row,
    ) -> None:
        """Set ``columns`` (``"a = %s, b = %s"``) to ``values`` and ``entity``'s version
        on the row of ``entity``'s id in ``table`` if it holds the version before.

        A stale copy's Conflict (:func:`~custmgmt.adapters._checks.stale_copy`) says
        whether it equals the stored ``data``, decoded with ``decode``.

        The version is checked in the ``UPDATE`` itself: a concurrent writer of the
        same version waits for the row lock, then finds the version changed and
        updates nothing, so exactly one of them wins.

        Raises:
            NotFound: no row has ``entity.id``.
            Conflict: the stored version is not ``entity.version - 1`` (a stale copy);
                nothing is written.
        """
        key, version = entity.id, entity.version
        with self._store.writing() as conn:
            changed = conn.execute(
                f"UPDATE {table} SET version = %s, {columns} WHERE id = %s AND version = %s",
                (version, *values, key, version - 1),
            ).rowcount
            if changed == 1:
                return
            found = conn.execute(
                f"SELECT version, data FROM {table} WHERE id = %s", (key,)
            ).fetchone()
        if found is None:
            raise NotFound(what, key)
        stored = self._decode(what, key, decode, found[1])
        raise stale_copy(what, key, int(found[0]), version, unchanged=entity == stored)
