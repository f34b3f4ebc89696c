"""The PostgreSQL schema: the core tables and their versioned migrations.

Every table lives in the store's schema (``custmgmt`` unless the host chooses another),
reached through the ``search_path`` the store sets in each of its transactions, so the
SQL below names no schema. Ids and other keys are ``text COLLATE "C"``: byte order,
the order Python sorts strings in, whatever the database's default collation is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import psycopg

__all__ = [
    "BATCH",
    "CORE_MIGRATIONS",
    "CUSTOMER_COLUMNS",
    "INTERACTION_COLUMNS",
    "LINE_COLUMNS",
    "ORDER_COLUMNS",
    "ORDER_SUMMARY_COLUMNS",
    "ORDER_WRITE_COLUMNS",
    "PAGE",
    "SCHEMA_TABLE",
    "Migration",
    "Row",
    "insert_sql",
    "micros",
    "select_list",
    "update_sql",
]

#: A schema migration: SQL text (one or more statements) or a function of the connection.
Migration: TypeAlias = Callable[["psycopg.Connection[Any]"], None] | str
Row: TypeAlias = tuple[Any, ...]

#: Entities per COPY in add_many: bounds the memory a generator of millions needs.
BATCH = 20_000
#: Entities fetched per query when streaming (between, iter_chunks' upper bound).
PAGE = 1000

#: The table recording each component's schema version.
SCHEMA_TABLE = (
    "CREATE TABLE IF NOT EXISTS custmgmt_schema ("
    'component text COLLATE "C" PRIMARY KEY, version integer NOT NULL)'
)

_CORE_V1 = """
CREATE TABLE customers (
    id text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL,
    name text NOT NULL,
    kind text NOT NULL,
    registered_at timestamptz NOT NULL,
    registered_off integer NOT NULL,
    updated_at timestamptz NOT NULL,
    updated_off integer NOT NULL,
    gender text,
    birth_date date,
    phone text,
    email text,
    address jsonb,
    region text,
    occupation text,
    acquisition_channel text,
    credit_limit numeric,
    credit_currency text,
    credit_rating text,
    business jsonb,
    tags jsonb NOT NULL,
    consent_email boolean NOT NULL,
    consent_sms boolean NOT NULL,
    consent_social boolean NOT NULL,
    consent_updated_at timestamptz,
    consent_updated_off integer
);
CREATE TABLE orders (
    id text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    placed_at timestamptz NOT NULL,
    placed_off integer NOT NULL,
    status text NOT NULL,
    currency text NOT NULL,
    paid_at timestamptz,
    paid_off integer,
    shipped_at timestamptz,
    shipped_off integer,
    delivered_at timestamptz,
    delivered_off integer,
    cancelled_at timestamptz,
    cancelled_off integer,
    returned_at timestamptz,
    returned_off integer,
    returned_amount numeric,
    channel text,
    total_minor bigint,
    returned_minor bigint,
    main_category text NOT NULL,
    line_categories text
);
CREATE INDEX orders_by_time ON orders (placed_at, id);
CREATE INDEX orders_by_customer ON orders (customer_id, placed_at, id);
CREATE TABLE order_lines (
    order_id text COLLATE "C" NOT NULL,
    line_no integer NOT NULL,
    sku text NOT NULL,
    category text NOT NULL,
    quantity bigint NOT NULL,
    unit_price numeric NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
CREATE TABLE interactions (
    id text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    kind text NOT NULL,
    at timestamptz NOT NULL,
    at_off integer NOT NULL,
    channel text,
    order_id text,
    sku text,
    rating integer,
    text text,
    category text,
    resolved boolean,
    query text,
    referred_customer_id text
);
CREATE INDEX interactions_by_time ON interactions (at, id);
CREATE INDEX interactions_by_customer ON interactions (customer_id, at, id);
CREATE INDEX interactions_by_referred ON interactions (referred_customer_id)
    WHERE referred_customer_id IS NOT NULL;
"""

#: The core schema's migrations, applied in order under the component ``"core"``.
CORE_MIGRATIONS: tuple[Migration, ...] = (_CORE_V1,)


def micros(column: str) -> str:
    """SQL for a ``timestamptz`` column as exact microseconds since the epoch (UTC)."""
    return f"(extract(epoch FROM {column}) * 1000000)::bigint"


CUSTOMER_COLUMNS = (
    "id, version, name, kind, registered_at, registered_off, updated_at, updated_off, "
    "gender, birth_date, phone, email, address, region, occupation, acquisition_channel, "
    "credit_limit, credit_currency, credit_rating, business, tags, consent_email, "
    "consent_sms, consent_social, consent_updated_at, consent_updated_off"
)
ORDER_COLUMNS = (
    "id, version, customer_id, placed_at, placed_off, status, currency, paid_at, paid_off, "
    "shipped_at, shipped_off, delivered_at, delivered_off, cancelled_at, cancelled_off, "
    "returned_at, returned_off, returned_amount, channel"
)
#: What an order's row holds beyond the entity's own columns (derived from its lines).
ORDER_SUMMARY_COLUMNS = "total_minor, returned_minor, main_category, line_categories"
#: Every column an order write sets: the entity's, then the summary.
ORDER_WRITE_COLUMNS = f"{ORDER_COLUMNS}, {ORDER_SUMMARY_COLUMNS}"
LINE_COLUMNS = "order_id, line_no, sku, category, quantity, unit_price"
INTERACTION_COLUMNS = (
    "id, version, customer_id, kind, at, at_off, channel, order_id, sku, rating, text, "
    "category, resolved, query, referred_customer_id"
)


def select_list(columns: str) -> str:
    """``columns`` for a SELECT, every ``timestamptz`` (``*_at``, ``at``) read as exact
    microseconds (:func:`micros`), so rows decode without the driver's datetime range."""
    names = [c.strip() for c in columns.split(",")]
    return ", ".join(micros(n) if n == "at" or n.endswith("_at") else n for n in names)


def insert_sql(table: str, columns: str) -> str:
    """``INSERT`` of every column of ``columns`` into ``table``."""
    marks = ", ".join(["%s"] * (columns.count(",") + 1))
    return f"INSERT INTO {table} ({columns}) VALUES ({marks})"


def update_sql(table: str, columns: str) -> str:
    """Optimistic ``UPDATE`` of ``table`` by id and stored version."""
    names = [c.strip() for c in columns.split(",")][1:]
    assignments = ", ".join(f"{name} = %s" for name in names)
    return f"UPDATE {table} SET {assignments} WHERE id = %s AND version = %s"
