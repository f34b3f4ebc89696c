"""What the SQLite campaign and follow-up repositories share: their migrations, reading
rows, decoding them into library errors, and the JSON text they store.

Both keep their nested values (a campaign, a plan, a draw record) as JSON text written
by :mod:`custmgmt.adapters._engagement_codecs`, the same plain data the PostgreSQL
adapter keeps as ``jsonb``, so every backend reads back the same objects.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.schema import Migration
from custmgmt.errors import CustMgmtError, NotFound, StorageError

__all__ = ["EngagementRepository", "json_text"]

T = TypeVar("T")


def json_text(data: Any) -> str:
    """``data`` as the JSON text stored: any script as it is, keys sorted."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


class EngagementRepository:
    """Base of the campaign and follow-up repositories: migrations, reads, decoding.

    Creating one applies the :attr:`component`'s :attr:`migrations` to ``store``.
    """

    #: The schema component the tables belong to.
    component: ClassVar[str]
    #: Its migrations, applied when the repository is made.
    migrations: ClassVar[Sequence[Migration]]
    #: What the tables hold, for error messages (``"campaigns"``).
    holding: ClassVar[str]

    def __init__(self, store: SQLiteDatabase) -> None:
        self._store = store
        store.apply_migrations(self.component, self.migrations)

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._store.lock:
            if self._store.read_only and self._store.schema_version(self.component) == 0:
                # A store opened read-only that never had this capability: nothing
                # stored (its tables cannot be created without writing).
                return []
            try:
                return self._store.connection.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StorageError(f"sqlite: reading {self.holding} failed: {exc}") from exc

    def _decode(self, what: str, key: Any, decode: Callable[[Any], T], value: Any) -> T:
        """``decode(value)``, or a StorageError naming the stored ``what`` ``key``."""
        try:
            return decode(value)
        except (CustMgmtError, ValueError, TypeError, KeyError, IndexError) as exc:
            # The row was valid when written: something else changed the database.
            raise StorageError(
                f"sqlite: stored {what} {key!r} is not valid any more: {exc}"
            ) from exc

    def _decode_json(self, what: str, key: Any, from_dict: Callable[[Any], T], text: Any) -> T:
        """``from_dict`` of the stored JSON ``text``; a StorageError (see :meth:`_decode`)
        where either fails."""
        return self._decode(what, key, lambda stored: from_dict(json.loads(stored)), text)

    def _get_json(self, what: str, table: str, key: Any, from_dict: Callable[[Any], T]) -> T:
        """The ``what`` stored as JSON in the ``data`` column of ``table``'s row ``key``.

        Raises:
            NotFound: no row has ``key`` (a key that is not text has none).
            StorageError: the row no longer decodes.
        """
        if not isinstance(key, str):
            raise NotFound(what, key)
        rows = self._fetch(f"SELECT data FROM {table} WHERE id = ?", (key,))
        if not rows:
            raise NotFound(what, key)
        return self._decode_json(what, key, from_dict, rows[0][0])
