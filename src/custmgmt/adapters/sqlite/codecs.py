"""Row codecs of the SQLite adapter: how entities become rows and back.

How entities become rows:

* Money is Decimal text (``"88.00"``) plus a currency code: exact for every amount
  the domain accepts, scale included (``Decimal("88.00")`` comes back as written).
* A datetime is two integers: microseconds since the epoch in UTC (``*_us``, sortable
  and indexable) and the original UTC offset in seconds (``*_off``). Reading gives
  an equal datetime with the same ``utcoffset()`` (the tzinfo itself becomes a fixed
  ``datetime.timezone``).
* Text is stored as SQLite TEXT (UTF-8), so Chinese names and reviews round-trip.
* Order lines live in their own table, ``order_lines``, keyed by order id and line
  number; nested values (an address, a business profile, tags) are JSON text.

Transactions are explicit: every write runs inside ``BEGIN IMMEDIATE`` ... ``COMMIT``
(or inside a savepoint when it joins an open transaction), so concurrent writers on
other connections queue on SQLite's lock (``busy_timeout``) instead of failing, and
the optimistic check ``UPDATE ... WHERE id = ? AND version = ?`` is race-free across
connections and processes. One store holds one connection, shared by its threads
under a re-entrant lock.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from custmgmt.adapters._sql_codecs import RowCodec, utc_offset
from custmgmt.errors import StorageError

__all__ = [
    "customer_from_row",
    "customer_to_row",
    "interaction_from_row",
    "interaction_to_row",
    "order_from_rows",
    "order_to_rows",
    "storage_error",
]

_EPOCH_ORDINAL = datetime(1970, 1, 1, tzinfo=UTC).toordinal()


def _instant(value: datetime) -> tuple[int, int]:
    """(microseconds since the epoch in UTC, UTC offset in seconds), exactly.

    Raises:
        ValidationError: the UTC offset has a fraction of a second.
    """
    offset = utc_offset(value)
    # Plain integer arithmetic on the wall time: about twice as fast as subtracting
    # aware datetimes, and exact.
    seconds = (
        ((value.toordinal() - _EPOCH_ORDINAL) * 24 + value.hour) * 60 + value.minute
    ) * 60 + value.second
    return (seconds - offset) * 1_000_000 + value.microsecond, offset


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class _SQLiteCodec(RowCodec):
    """Instants as microseconds, money as Decimal text, JSON as text, dates as ISO
    text, flags as 0 / 1."""

    # The function itself, not a method calling it: the bulk-load hot path.
    instant = staticmethod(_instant)

    def json_object(self, value: dict[str, Any]) -> str:
        return _json(value)

    def json_list(self, value: list[Any]) -> str:
        return json.dumps(value, ensure_ascii=False)

    def read_json(self, stored: Any) -> Any:
        return json.loads(stored)

    def money(self, amount: Decimal) -> str:
        return str(amount)

    def day(self, value: date) -> str:
        return value.isoformat()

    def flag(self, value: bool) -> int:
        return int(value)


_CODEC = _SQLiteCodec()
customer_to_row = _CODEC.customer_to_row
customer_from_row = _CODEC.customer_from_row
order_to_rows = _CODEC.order_to_rows
_order_row = _CODEC.order_row
_line_rows = _CODEC.line_rows
order_from_rows = _CODEC.order_from_rows
interaction_to_row = _CODEC.interaction_to_row
interaction_from_row = _CODEC.interaction_from_row


def storage_error(doing: str, exc: sqlite3.Error) -> StorageError:
    """The library error for a driver error raised while ``doing`` something."""
    return StorageError(f"sqlite: {doing} failed: {exc}")
