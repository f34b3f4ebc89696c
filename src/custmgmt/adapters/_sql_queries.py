"""What every shared SQL repository (ratings, privacy, risk, loyalty) needs of its dialect
to run a query written once.

Their SQL is written with ``?`` placeholders and ``{name}`` for each stored instant
column (``{as_of}``, ``{at}`` ...); the dialect's subclass says what the placeholder
is (``?`` or ``%s``), which column each name stands for (``as_of_us`` or a
``timestamptz`` ``as_of_at``) and how such a column is read back as exact
microseconds. :meth:`SqlQueries._q` and :meth:`SqlQueries._select` turn the text into
the dialect's, once per statement.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

__all__ = ["SqlQueries"]

#: Statements kept translated, per repository (queries with id lists of every length
#: would otherwise grow the cache without end).
_CACHED = 256


class SqlQueries(ABC):
    """The store a shared SQL repository works on, and its SQL in the dialect."""

    #: Names the store in error messages (``"sqlite"``, ``"postgres"``).
    dialect: ClassVar[str]
    #: The parameter placeholder of the driver.
    placeholder: ClassVar[str] = "?"
    #: The stored instant columns, by the names the queries give them.
    stored_columns: ClassVar[dict[str, str]] = {}

    def __init__(self, store: Any) -> None:
        self._store = store
        self._sql: dict[str, str] = {}
        self._selects: dict[str, str] = {}

    @abstractmethod
    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """All rows of one query (already in the dialect's text)."""

    def _read_instant(self, column: str) -> str:
        """SQL reading a stored instant column as exact microseconds since the epoch."""
        return column

    def _q(self, sql: str) -> str:
        """``sql`` in the dialect: its placeholders, and the instant columns as stored."""
        text = self._sql.get(sql)
        if text is None:
            text = sql.format(**self.stored_columns).replace("?", self.placeholder)
            if len(self._sql) < _CACHED:
                self._sql[sql] = text
        return text

    def _select(self, columns: str) -> str:
        """``columns`` (with ``{name}`` for instants) as a SELECT reads them: each
        instant as exact microseconds, still with ``?`` placeholders."""
        text = self._selects.get(columns)
        if text is None:
            read = {k: self._read_instant(v) for k, v in self.stored_columns.items()}
            text = columns.format(**read)
            if len(self._selects) < _CACHED:
                self._selects[columns] = text
        return text
