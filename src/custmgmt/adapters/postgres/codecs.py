"""Row codecs of the PostgreSQL adapter: how entities become rows and back.

* Money is ``numeric`` plus a currency code: exact for every amount the domain
  accepts, scale included (``Decimal("88.00")`` comes back as written).
* A datetime is a ``timestamptz`` (the instant) plus the original UTC offset in
  seconds (``*_off``). Rows are read with each instant as exact microseconds since
  the epoch (``extract(epoch ...)``), and decoded to an equal datetime with the same
  ``utcoffset()`` (the tzinfo itself becomes a fixed ``datetime.timezone``).
* Text is ``text`` in a UTF-8 database, so Chinese names and reviews round-trip.
* Order lines live in ``order_lines``; nested values (an address, a business
  profile, tags) are ``jsonb``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from custmgmt.adapters._sql_codecs import RowCodec, datetime_of, utc_offset

__all__ = [
    "customer_from_row",
    "customer_to_row",
    "datetime_of",
    "interaction_from_row",
    "interaction_to_row",
    "line_rows",
    "order_from_rows",
    "order_row",
    "order_to_rows",
    "when",
]


#: The largest UTC offset, in seconds, PostgreSQL reads in a ``timestamptz`` text.
_MAX_PG_OFFSET = 15 * 3600 + 59 * 60 + 59


def when(value: datetime) -> tuple[datetime, int]:
    """The ``timestamptz`` value and the offset column of an aware datetime.

    An offset PostgreSQL cannot read (beyond ±15:59:59; Python allows up to a day) is
    sent as the same instant in UTC: the offset column keeps the original."""
    offset = utc_offset(value)
    if -_MAX_PG_OFFSET <= offset <= _MAX_PG_OFFSET:
        return value, offset
    return value.astimezone(UTC), offset


class _PostgresCodec(RowCodec):
    """Instants as ``timestamptz``, money as ``numeric``, JSON as ``jsonb``, dates and
    flags as themselves (psycopg adapts them)."""

    # The function itself, not a method calling it: the bulk-load hot path.
    instant = staticmethod(when)

    def json_object(self, value: dict[str, Any]) -> Jsonb:
        return Jsonb(value)

    def json_list(self, value: list[Any]) -> Jsonb:
        return Jsonb(value)

    def read_json(self, stored: Any) -> Any:
        return stored  # psycopg decodes jsonb

    def money(self, amount: Decimal) -> Decimal:
        return amount

    def day(self, value: date) -> date:
        return value

    def flag(self, value: bool) -> bool:
        return value


_CODEC = _PostgresCodec()
customer_to_row = _CODEC.customer_to_row
customer_from_row = _CODEC.customer_from_row
order_to_rows = _CODEC.order_to_rows
order_row = _CODEC.order_row
line_rows = _CODEC.line_rows
order_from_rows = _CODEC.order_from_rows
interaction_to_row = _CODEC.interaction_to_row
interaction_from_row = _CODEC.interaction_from_row
