"""The SQLite schema: the core tables, the schema-version table and how migrations run."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeAlias, TypeVar

from custmgmt.adapters._columns import CATEGORY_SEPARATOR, minor_or_none
from custmgmt.domain import (
    Customer,
    Interaction,
    Order,
)

__all__ = [
    "CORE_MIGRATIONS",
    "Migration",
    "Row",
    "insert_sql",
    "split_sql",
    "update_sql",
]

#: A schema migration: SQL text (one or more statements) or a function of the connection.
Migration: TypeAlias = Callable[[sqlite3.Connection], None] | str
Row: TypeAlias = tuple[Any, ...]
T = TypeVar("T", Customer, Order, Interaction)

# Rows per executemany call in add_many: large enough to amortise the Python loop,
# small enough to keep memory bounded for a generator of millions.
BATCH = 4096
# Entities fetched per query when streaming (between, iter_chunks' upper bound).
PAGE = 1000
MIN_US = -(2**63)
MAX_US = 2**63 - 1

# -- the core schema ---------------------------------------------------------------------

SCHEMA_TABLE = (
    "CREATE TABLE IF NOT EXISTS custmgmt_schema ("
    "component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
)

_CORE_V1 = """
CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    registered_us INTEGER NOT NULL,
    registered_off INTEGER NOT NULL,
    updated_us INTEGER NOT NULL,
    updated_off INTEGER NOT NULL,
    gender TEXT,
    birth_date TEXT,
    phone TEXT,
    email TEXT,
    address TEXT,
    region TEXT,
    occupation TEXT,
    acquisition_channel TEXT,
    credit_limit TEXT,
    credit_currency TEXT,
    credit_rating TEXT,
    business TEXT,
    tags TEXT NOT NULL,
    consent_email INTEGER NOT NULL,
    consent_sms INTEGER NOT NULL,
    consent_social INTEGER NOT NULL,
    consent_updated_us INTEGER,
    consent_updated_off INTEGER
);
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    customer_id TEXT NOT NULL,
    placed_us INTEGER NOT NULL,
    placed_off INTEGER NOT NULL,
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    paid_us INTEGER,
    paid_off INTEGER,
    shipped_us INTEGER,
    shipped_off INTEGER,
    delivered_us INTEGER,
    delivered_off INTEGER,
    cancelled_us INTEGER,
    cancelled_off INTEGER,
    returned_us INTEGER,
    returned_off INTEGER,
    returned_amount TEXT,
    channel TEXT
);
CREATE INDEX orders_by_time ON orders (placed_us, id);
CREATE INDEX orders_by_customer ON orders (customer_id, placed_us, id);
CREATE TABLE order_lines (
    order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no INTEGER NOT NULL,
    sku TEXT NOT NULL,
    category TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price TEXT NOT NULL,
    PRIMARY KEY (order_id, line_no)
) WITHOUT ROWID;
CREATE TABLE interactions (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    customer_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    at_off INTEGER NOT NULL,
    channel TEXT,
    order_id TEXT,
    sku TEXT,
    rating INTEGER,
    text TEXT,
    category TEXT,
    resolved INTEGER,
    query TEXT,
    referred_customer_id TEXT
);
CREATE INDEX interactions_by_time ON interactions (at_us, id);
CREATE INDEX interactions_by_customer ON interactions (customer_id, at_us, id);
"""


def _core_v2(conn: sqlite3.Connection) -> None:
    """Columns for the columnar port: each order's total and refund in exact minor
    units, its main category and (when it has several) its distinct categories,
    derived from its lines when it is written (see :mod:`custmgmt.adapters._columns`),
    so a frame is read from ``orders`` alone. Existing orders are filled in."""
    for statement in split_sql(_CORE_V2):
        conn.execute(statement)
    _backfill_order_summaries(conn)


_CORE_V2 = """
ALTER TABLE orders ADD COLUMN total_minor INTEGER;
ALTER TABLE orders ADD COLUMN returned_minor INTEGER;
ALTER TABLE orders ADD COLUMN main_category TEXT;
ALTER TABLE orders ADD COLUMN line_categories TEXT;
"""


def _backfill_order_summaries(conn: sqlite3.Connection) -> None:
    # Lines come grouped by order; one UPDATE per order, batched. Decimal arithmetic
    # as the domain does it (see custmgmt.adapters._columns), never floats.
    rows = conn.execute(
        "SELECT o.id, o.currency, o.returned_amount, l.category, l.quantity, l.unit_price "
        "FROM orders o JOIN order_lines l ON l.order_id = o.id ORDER BY o.id, l.line_no"
    )
    updates: list[Row] = []
    group: list[Row] = []
    for row in rows:
        if group and row[0] != group[0][0]:
            updates.append(_summary_of_rows(group))
            group = []
        group.append(row)
    if group:
        updates.append(_summary_of_rows(group))
    conn.executemany(
        "UPDATE orders SET total_minor = ?, returned_minor = ?, main_category = ?, "
        "line_categories = ? WHERE id = ?",
        updates,
    )


def _summary_of_rows(group: list[Row]) -> Row:
    order_id, currency, returned = group[0][:3]
    best: Decimal | None = None
    main = ""
    total = Decimal(0)
    for _, _, _, category, quantity, price in group:
        subtotal = Decimal(price) * quantity
        total += subtotal
        if best is None or subtotal > best:
            best, main = subtotal, category
    refund = 0 if returned is None else minor_or_none(Decimal(returned), currency)
    distinct = {r[3] for r in group}
    categories = CATEGORY_SEPARATOR.join(sorted(distinct)) if len(distinct) > 1 else None
    return (minor_or_none(total, currency), refund, main, categories, order_id)


#: The core schema's migrations, applied in order under the component ``"core"``.
CORE_MIGRATIONS: tuple[Migration, ...] = (_CORE_V1, _core_v2)

CUSTOMER_COLUMNS = (
    "id, version, name, kind, registered_us, registered_off, updated_us, updated_off, "
    "gender, birth_date, phone, email, address, region, occupation, acquisition_channel, "
    "credit_limit, credit_currency, credit_rating, business, tags, consent_email, "
    "consent_sms, consent_social, consent_updated_us, consent_updated_off"
)
ORDER_COLUMNS = (
    "id, version, customer_id, placed_us, placed_off, status, currency, paid_us, paid_off, "
    "shipped_us, shipped_off, delivered_us, delivered_off, cancelled_us, cancelled_off, "
    "returned_us, returned_off, returned_amount, channel"
)
#: What an order's row holds beyond the entity's own columns (derived from its lines).
ORDER_SUMMARY_COLUMNS = "total_minor, returned_minor, main_category, line_categories"
#: Every column an order write sets: the entity's, then the summary.
ORDER_WRITE_COLUMNS = f"{ORDER_COLUMNS}, {ORDER_SUMMARY_COLUMNS}"
LINE_COLUMNS = "order_id, line_no, sku, category, quantity, unit_price"
INTERACTION_COLUMNS = (
    "id, version, customer_id, kind, at_us, at_off, channel, order_id, sku, rating, text, "
    "category, resolved, query, referred_customer_id"
)




def insert_sql(table: str, columns: str) -> str:
    """``INSERT`` of every column of ``columns`` into ``table``."""
    marks = ", ".join("?" * (columns.count(",") + 1))
    return f"INSERT INTO {table} ({columns}) VALUES ({marks})"


def update_sql(table: str, columns: str) -> str:
    """Optimistic ``UPDATE`` of ``table`` by id and stored version."""
    # Every column but id is set; the row keeps its id and must still have the
    # version the caller read (the last two parameters).
    names = [c.strip() for c in columns.split(",")][1:]
    assignments = ", ".join(f"{name} = ?" for name in names)
    return f"UPDATE {table} SET {assignments} WHERE id = ? AND version = ?"



def split_sql(script: str) -> list[str]:
    """Split SQL text into complete statements (``executescript`` would commit)."""
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\r\n;"):
                statements.append(pending.strip())
            pending = ""
    if pending.strip(" \t\r\n;"):
        statements.append(pending.strip().rstrip(";"))
    return statements
