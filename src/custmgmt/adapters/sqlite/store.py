"""The SQLite store: stdlib :mod:`sqlite3`, exact money, offsets kept, atomic writes.

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

import importlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from itertools import islice
from typing import Any, Generic, TypeAlias, TypeVar, cast

from custmgmt.adapters.memory.store import check_chunk_size, check_range
from custmgmt.domain import (
    Address,
    BusinessProfile,
    Complaint,
    ComplaintCategory,
    Consent,
    Customer,
    CustomerKind,
    Gender,
    Interaction,
    InteractionKind,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Referral,
    Review,
    Search,
)
from custmgmt.domain._validate import coerce_enum
from custmgmt.errors import Conflict, CustMgmtError, NotFound, StorageError, ValidationError
from custmgmt.ports import DEFAULT_CHUNK_SIZE, RatingRepository, TicketRepository

__all__ = [
    "CORE_MIGRATIONS",
    "Migration",
    "SQLiteCustomerRepository",
    "SQLiteInteractionRepository",
    "SQLiteOrderRepository",
    "SQLiteStore",
    "customer_from_row",
    "customer_to_row",
    "interaction_from_row",
    "interaction_to_row",
    "order_from_rows",
    "order_to_rows",
]

#: A schema migration: SQL text (one or more statements) or a function of the connection.
Migration: TypeAlias = Callable[[sqlite3.Connection], None] | str
Row: TypeAlias = tuple[Any, ...]
T = TypeVar("T", Customer, Order, Interaction)
E = TypeVar("E")

# Rows per executemany call in add_many: large enough to amortise the Python loop,
# small enough to keep memory bounded for a generator of millions.
_BATCH = 4096
# Entities fetched per query when streaming (between, iter_chunks' upper bound).
_PAGE = 1000
_MIN_US = -(2**63)
_MAX_US = 2**63 - 1

# -- the core schema ---------------------------------------------------------------------

_SCHEMA_TABLE = (
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

#: The core schema's migrations, applied in order under the component ``"core"``.
CORE_MIGRATIONS: tuple[Migration, ...] = (_CORE_V1,)

_CUSTOMER_COLUMNS = (
    "id, version, name, kind, registered_us, registered_off, updated_us, updated_off, "
    "gender, birth_date, phone, email, address, region, occupation, acquisition_channel, "
    "credit_limit, credit_currency, credit_rating, business, tags, consent_email, "
    "consent_sms, consent_social, consent_updated_us, consent_updated_off"
)
_ORDER_COLUMNS = (
    "id, version, customer_id, placed_us, placed_off, status, currency, paid_us, paid_off, "
    "shipped_us, shipped_off, delivered_us, delivered_off, cancelled_us, cancelled_off, "
    "returned_us, returned_off, returned_amount, channel"
)
_LINE_COLUMNS = "order_id, line_no, sku, category, quantity, unit_price"
_INTERACTION_COLUMNS = (
    "id, version, customer_id, kind, at_us, at_off, channel, order_id, sku, rating, text, "
    "category, resolved, query, referred_customer_id"
)


def _insert_sql(table: str, columns: str) -> str:
    marks = ", ".join("?" * (columns.count(",") + 1))
    return f"INSERT INTO {table} ({columns}) VALUES ({marks})"


def _update_sql(table: str, columns: str) -> str:
    # Every column but id is set; the row keeps its id and must still have the
    # version the caller read (the last two parameters).
    names = [c.strip() for c in columns.split(",")][1:]
    assignments = ", ".join(f"{name} = ?" for name in names)
    return f"UPDATE {table} SET {assignments} WHERE id = ? AND version = ?"


# -- encoding and decoding (hot paths: plain attribute access, cached lookups) -----------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZONES: dict[int, tuple[tzinfo, datetime]] = {0: (UTC, _EPOCH)}


# Offsets (seconds) of the fixed-offset zones seen so far; a zone with rules (zoneinfo)
# is asked every time, since its offset depends on the date.
_FIXED_OFFSETS: dict[tzinfo, int] = {UTC: 0}
_NO_INSTANT = (None, None)
_EPOCH_ORDINAL = _EPOCH.toordinal()


def _instant(value: datetime) -> tuple[int, int]:
    """(microseconds since the epoch in UTC, UTC offset in seconds), exactly.

    Raises:
        ValidationError: the UTC offset has a fraction of a second.
    """
    zone = value.tzinfo
    offset = _FIXED_OFFSETS.get(zone)  # type: ignore[arg-type]
    if offset is None:
        delta = value.utcoffset()
        assert delta is not None  # the domain refuses naive datetimes
        if delta.microseconds:
            raise ValidationError("utcoffset", delta, "a UTC offset in whole seconds")
        offset = delta.days * 86_400 + delta.seconds
        if type(zone) is timezone:
            _FIXED_OFFSETS[zone] = offset
    # Plain integer arithmetic on the wall time: about twice as fast as subtracting
    # aware datetimes, and exact.
    seconds = (
        ((value.toordinal() - _EPOCH_ORDINAL) * 24 + value.hour) * 60 + value.minute
    ) * 60 + value.second
    return (seconds - offset) * 1_000_000 + value.microsecond, offset


def _optional_instant(value: datetime | None) -> tuple[int | None, int | None]:
    return _NO_INSTANT if value is None else _instant(value)


def _datetime(micros: int, offset: int) -> datetime:
    zone = _ZONES.get(offset)
    if zone is None:
        tz = timezone(timedelta(seconds=offset))
        zone = _ZONES.setdefault(offset, (tz, _EPOCH.astimezone(tz)))
    # Adding to the epoch shown in the zone keeps the fixed offset and is exact.
    return zone[1] + timedelta(microseconds=micros)


def _optional_datetime(micros: int | None, offset: int | None) -> datetime | None:
    return None if micros is None or offset is None else _datetime(micros, offset)


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _address_json(address: Address | None) -> str | None:
    if address is None:
        return None
    fields = {
        "country": address.country,
        "province": address.province,
        "city": address.city,
        "district": address.district,
        "street": address.street,
        "postal_code": address.postal_code,
        "recipient": address.recipient,
    }
    return _json({k: v for k, v in fields.items() if v is not None})


def _business_json(business: BusinessProfile | None) -> str | None:
    if business is None:
        return None
    revenue = business.annual_revenue
    fields: dict[str, Any] = {
        "legal_name": business.legal_name,
        "registration_number": business.registration_number,
        "industry": business.industry,
        "employees": business.employees,
        "annual_revenue": None if revenue is None else [str(revenue.amount), revenue.currency],
        "contact_person": business.contact_person,
        "situation": business.situation,
    }
    return _json({k: v for k, v in fields.items() if v is not None})


def _trusted(cls: type[E], **fields: Any) -> E:
    """An attrs instance from fields the store itself wrote: no converters, no validators.

    Every field must be given. The rows were produced from validated entities, so
    checking them again would only cost time (validated decoding takes about 1.5
    times as long); ``SQLiteStore(verify_reads=True)`` goes through the constructors.
    """
    entity = cls.__new__(cls)
    for name, value in fields.items():
        _set(entity, name, value)
    return entity


def _trusted_line(sku: str, category: str, quantity: int, price: str, currency: str) -> OrderLine:
    # The hottest path of reading orders (two lines per order on average): spelled
    # out rather than going through _trusted's keyword dict.
    money = _new(Money)
    _set(money, "amount", Decimal(price))
    _set(money, "currency", currency)
    line = _new(OrderLine)
    _set(line, "sku", sku)
    _set(line, "category", category)
    _set(line, "quantity", quantity)
    _set(line, "unit_price", money)
    return line


def _checked(cls: type[E], **fields: Any) -> E:
    """An instance through its validating constructor."""
    return cls(**fields)


_set = object.__setattr__  # what attrs' own __init__ uses on frozen classes
_new = object.__new__
_ADDRESS_FIELDS = dict.fromkeys(
    ("country", "province", "city", "district", "street", "postal_code", "recipient")
)
_BUSINESS_FIELDS = dict.fromkeys(
    (
        "legal_name",
        "registration_number",
        "industry",
        "employees",
        "annual_revenue",
        "contact_person",
        "situation",
    )
)


def _business(text: str | None, new: Callable[..., Any]) -> BusinessProfile | None:
    if text is None:
        return None
    fields = {**_BUSINESS_FIELDS, **json.loads(text)}
    revenue = fields["annual_revenue"]
    if revenue is not None:
        fields["annual_revenue"] = new(Money, amount=Decimal(revenue[0]), currency=revenue[1])
    business: BusinessProfile = new(BusinessProfile, **fields)
    return business


def customer_to_row(customer: Customer) -> Row:
    """The ``customers`` row of a customer (columns in schema order)."""
    c = customer
    credit = c.credit_limit
    consent = c.consent
    return (
        c.id,
        c.version,
        c.name,
        c.kind.value,
        *_instant(c.registered_at),
        *_instant(c.updated_at),
        None if c.gender is None else c.gender.value,
        None if c.birth_date is None else c.birth_date.isoformat(),
        c.phone,
        c.email,
        _address_json(c.address),
        c.region,
        c.occupation,
        c.acquisition_channel,
        None if credit is None else str(credit.amount),
        None if credit is None else credit.currency,
        c.credit_rating,
        _business_json(c.business),
        json.dumps(sorted(c.tags), ensure_ascii=False),
        int(consent.email),
        int(consent.sms),
        int(consent.social),
        *_optional_instant(consent.updated_at),
    )


def customer_from_row(row: Row, *, verify: bool = False) -> Customer:
    """Rebuild a customer from its ``customers`` row.

    Args:
        row: the columns in schema order, as :func:`customer_to_row` made them.
        verify: rebuild through the validating constructors (slower), for rows that
            may not come from this store.
    """
    (
        id_, version, name, kind, reg_us, reg_off, upd_us, upd_off, gender, birth, phone,
        email, address, region, occupation, channel, credit, credit_cur, rating, business,
        tags, c_email, c_sms, c_social, c_us, c_off,
    ) = row  # fmt: skip
    new = _checked if verify else _trusted
    return new(
        Customer,
        id=id_,
        version=version,
        name=name,
        kind=_CUSTOMER_KINDS[kind],
        registered_at=_datetime(reg_us, reg_off),
        updated_at=_datetime(upd_us, upd_off),
        gender=None if gender is None else _GENDERS[gender],
        birth_date=None if birth is None else date.fromisoformat(birth),
        phone=phone,
        email=email,
        address=None
        if address is None
        else new(Address, **{**_ADDRESS_FIELDS, **json.loads(address)}),
        region=region,
        occupation=occupation,
        acquisition_channel=channel,
        credit_limit=None
        if credit is None
        else new(Money, amount=Decimal(credit), currency=credit_cur),
        credit_rating=rating,
        business=_business(business, new),
        tags=frozenset(json.loads(tags)),
        consent=new(
            Consent,
            email=bool(c_email),
            sms=bool(c_sms),
            social=bool(c_social),
            updated_at=_optional_datetime(c_us, c_off),
        ),
    )


def order_to_rows(order: Order) -> tuple[Row, list[Row]]:
    """The ``orders`` row and the ``order_lines`` rows of an order."""
    return _order_row(order), _line_rows(order)


def _order_row(order: Order) -> Row:
    # The bulk-load hot path: attribute reads and inline None checks only.
    o = order
    returned = o.returned_amount
    paid, shipped, delivered = o.paid_at, o.shipped_at, o.delivered_at
    cancelled, returned_at = o.cancelled_at, o.returned_at
    return (
        o.id,
        o.version,
        o.customer_id,
        *_instant(o.placed_at),
        o.status._value_,
        o.lines[0].unit_price.currency,
        *(_NO_INSTANT if paid is None else _instant(paid)),
        *(_NO_INSTANT if shipped is None else _instant(shipped)),
        *(_NO_INSTANT if delivered is None else _instant(delivered)),
        *(_NO_INSTANT if cancelled is None else _instant(cancelled)),
        *(_NO_INSTANT if returned_at is None else _instant(returned_at)),
        None if returned is None else str(returned.amount),
        o.channel,
    )


def _line_rows(order: Order) -> list[Row]:
    oid = order.id
    return [
        (oid, n, line.sku, line.category, line.quantity, str(line.unit_price.amount))
        for n, line in enumerate(order.lines)
    ]


def order_from_rows(rows: Sequence[Row], *, verify: bool = False) -> Order:
    """Rebuild an order from its joined rows: the order's columns, then a line's.

    Args:
        rows: the rows of one order, one per line, in line order (as the store's
            queries return them).
        verify: rebuild through the validating constructors (slower).
    """
    new = _checked if verify else _trusted
    first = rows[0]
    currency = first[6]
    if verify:
        lines = tuple(
            [
                OrderLine(
                    sku=r[19],
                    category=r[20],
                    quantity=r[21],
                    unit_price=Money(Decimal(r[22]), currency),
                )
                for r in rows
            ]
        )
    else:
        lines = tuple([_trusted_line(r[19], r[20], r[21], r[22], currency) for r in rows])
    returned = first[17]
    order: Order = new(
        Order,
        id=first[0],
        version=first[1],
        customer_id=first[2],
        placed_at=_datetime(first[3], first[4]),
        status=_ORDER_STATUSES[first[5]],
        lines=lines,
        paid_at=_optional_datetime(first[7], first[8]),
        shipped_at=_optional_datetime(first[9], first[10]),
        delivered_at=_optional_datetime(first[11], first[12]),
        cancelled_at=_optional_datetime(first[13], first[14]),
        returned_at=_optional_datetime(first[15], first[16]),
        returned_amount=None
        if returned is None
        else new(Money, amount=Decimal(returned), currency=currency),
        channel=first[18],
    )
    return order


def interaction_to_row(interaction: Interaction) -> Row:
    """The ``interactions`` row of an interaction (details spread over columns)."""
    i = interaction
    d = i.details
    rating = text = category = resolved = query = referred = None
    if d is not None:
        if isinstance(d, Review):
            rating, text = d.rating, d.text
        elif isinstance(d, Complaint):
            category, text, resolved = d.category.value, d.text, int(d.resolved)
        elif isinstance(d, Search):
            query = d.query
        else:
            referred = d.referred_customer_id
    return (
        i.id,
        i.version,
        i.customer_id,
        i.kind.value,
        *_instant(i.at),
        i.channel,
        i.order_id,
        i.sku,
        rating,
        text,
        category,
        resolved,
        query,
        referred,
    )


def interaction_from_row(row: Row, *, verify: bool = False) -> Interaction:
    """Rebuild an interaction from its ``interactions`` row.

    Args:
        row: the columns in schema order, as :func:`interaction_to_row` made them.
        verify: rebuild through the validating constructors (slower).
    """
    (
        id_, version, customer_id, kind, at_us, at_off, channel, order_id, sku, rating,
        text, category, resolved, query, referred,
    ) = row  # fmt: skip
    new = _checked if verify else _trusted
    kind_ = _INTERACTION_KINDS[kind]
    details: Review | Complaint | Search | Referral | None = None
    if kind_ is InteractionKind.REVIEW:
        details = new(Review, rating=rating, text=text)
    elif kind_ is InteractionKind.COMPLAINT:
        details = new(
            Complaint,
            category=_COMPLAINT_CATEGORIES[category],
            text=text,
            resolved=bool(resolved),
        )
    elif kind_ is InteractionKind.SEARCH:
        details = new(Search, query=query)
    elif kind_ is InteractionKind.REFERRAL:
        details = new(Referral, referred_customer_id=referred)
    return new(
        Interaction,
        id=id_,
        version=version,
        customer_id=customer_id,
        kind=kind_,
        at=_datetime(at_us, at_off),
        channel=channel,
        order_id=order_id,
        sku=sku,
        details=details,
    )


_CUSTOMER_KINDS = {m.value: m for m in CustomerKind}
_GENDERS = {m.value: m for m in Gender}
_ORDER_STATUSES = {m.value: m for m in OrderStatus}
_INTERACTION_KINDS = {m.value: m for m in InteractionKind}
_COMPLAINT_CATEGORIES = {m.value: m for m in ComplaintCategory}


# -- the store ---------------------------------------------------------------------------


def _split_sql(script: str) -> list[str]:
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


def _storage_error(doing: str, exc: sqlite3.Error) -> StorageError:
    return StorageError(f"sqlite: {doing} failed: {exc}")


class SQLiteStore:
    """A complete store in an SQLite database (see :class:`custmgmt.ports.Store`).

    >>> from custmgmt.testing import make_customer
    >>> store = SQLiteStore(":memory:")
    >>> store.customers.add(make_customer(id="c1", name="李娜"))
    >>> store.customers.get("c1").name
    '李娜'
    >>> store.schema_version("core")
    1
    >>> store.close()

    File databases use WAL journaling (readers never block the writer) with
    ``synchronous=NORMAL``; every connection waits up to ``timeout`` seconds for
    another connection's write to finish. One store is safe to share between threads
    (they take turns on its connection); for parallel writers give each thread or
    process its own store on the same file.

    A connection the host passes in stays the host's: the store never closes it and
    never changes its settings (so its thread rules and timeout are the host's). If
    the host has a transaction open on it, the store's writes join that transaction
    (the host commits).

    Capability repositories (``store.ratings``, ``store.tickets``) create their
    tables with :meth:`apply_migrations` and write through :meth:`writing`.

    Args:
        database: a path (``str`` or ``Path``), ``":memory:"``, or an open
            :class:`sqlite3.Connection` owned by the host.
        timeout: seconds to wait for another connection's lock before failing.
        verify_reads: rebuild every entity read through its validating constructor
            (decoding takes about 1.5 times as long), for databases that other
            programs also write; by default rows are trusted, since the store wrote
            them from validated entities.

    Raises:
        StorageError: the database cannot be opened or its schema created.
        ValidationError: ``database`` is none of the accepted types.
    """

    def __init__(
        self,
        database: str | os.PathLike[str] | sqlite3.Connection,
        *,
        timeout: float = 30.0,
        verify_reads: bool = False,
    ) -> None:
        self._verify_reads = bool(verify_reads)
        self._lock = threading.RLock()
        self._depth = 0
        self._doomed = False
        self._closed = False
        self._lazy: dict[str, Any] = {}
        if isinstance(database, sqlite3.Connection):
            self._conn = database
            self._owns_connection = False
        elif isinstance(database, str | os.PathLike):
            self._conn = self._open(database, timeout)
            self._owns_connection = True
        else:
            raise ValidationError(
                "database", database, "a path, ':memory:' or an sqlite3.Connection"
            )
        try:
            self.apply_migrations("core", CORE_MIGRATIONS)
        except BaseException:
            if self._owns_connection:
                self._conn.close()
            raise
        self._customers = SQLiteCustomerRepository(self)
        self._orders = SQLiteOrderRepository(self)
        self._interactions = SQLiteInteractionRepository(self)

    @staticmethod
    def _open(path: str | os.PathLike[str], timeout: float) -> sqlite3.Connection:
        target = os.fspath(path)
        in_memory = target == ":memory:" or target == ""
        try:
            # isolation_level=None: no implicit transactions; the store issues BEGIN
            # IMMEDIATE itself so a write never upgrades a read lock (which in WAL
            # mode fails at once instead of waiting).
            conn = sqlite3.connect(
                target, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise _storage_error(f"opening {target!r}", exc) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            if not in_memory:
                conn.execute("PRAGMA journal_mode = WAL")
                # In WAL mode NORMAL never corrupts the database; a power cut may lose
                # the last commits, a killed process loses nothing committed.
                conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            conn.close()
            raise _storage_error(f"configuring {target!r}", exc) from exc
        return conn

    # -- the Store protocol ----------------------------------------------------------------
    @property
    def customers(self) -> SQLiteCustomerRepository:
        """The customer repository."""
        return self._customers

    @property
    def orders(self) -> SQLiteOrderRepository:
        """The order repository."""
        return self._orders

    @property
    def interactions(self) -> SQLiteInteractionRepository:
        """The interaction repository."""
        return self._interactions

    def transaction(self) -> AbstractContextManager[None]:
        """All-or-nothing scope for writes (see :meth:`custmgmt.ports.Store.transaction`).

        The outermost block runs ``BEGIN IMMEDIATE`` ... ``COMMIT`` and holds the
        store's lock, so other threads using this store wait for it; a nested block
        is a savepoint: its failure undoes its own writes, and the outer block decides
        about the rest.

        Raises:
            StorageError: the transaction could not begin or commit.
        """
        return self._scope()

    def close(self) -> None:
        """Close the connection if the store opened it; the store is unusable afterwards."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._owns_connection:
                try:
                    self._conn.close()
                except sqlite3.Error as exc:
                    raise _storage_error("closing", exc) from exc

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- hooks for capability repositories ---------------------------------------------------
    @property
    def connection(self) -> sqlite3.Connection:
        """The store's connection, for capability repositories' own queries.

        Hold :attr:`lock` around its use (``with store.lock:``) when the store is
        shared between threads; write through :meth:`writing`.

        Raises:
            StorageError: the store was closed.
        """
        if self._closed:
            raise StorageError("sqlite: the store is closed")
        return self._conn

    @property
    def lock(self) -> threading.RLock:
        """The re-entrant lock that serialises use of :attr:`connection`."""
        return self._lock

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """Run writes atomically inside the store's transaction, yielding the connection.

        Joins the transaction that is open (as a savepoint, so a failure here undoes
        only this block's writes) or runs its own ``BEGIN IMMEDIATE`` ... ``COMMIT``.
        An exception rolls the block back and propagates; raw :class:`sqlite3.Error`
        leaving the block becomes :class:`~custmgmt.errors.StorageError` (a UNIQUE
        violation becomes :class:`~custmgmt.errors.Conflict`).

        >>> store = SQLiteStore(":memory:")
        >>> with store.writing() as conn:
        ...     _ = conn.execute("CREATE TABLE notes (id TEXT PRIMARY KEY, text TEXT)")
        ...     _ = conn.execute("INSERT INTO notes VALUES ('n1', '回访')")
        >>> store.connection.execute("SELECT text FROM notes").fetchone()
        ('回访',)
        >>> store.close()
        """
        with self._scope():
            try:
                yield self._conn
            except sqlite3.IntegrityError as exc:
                if "UNIQUE" in str(exc) or "PRIMARY KEY" in str(exc):
                    raise Conflict("row", None, f"a row with this key exists ({exc})") from exc
                raise _storage_error("writing", exc) from exc
            except sqlite3.Error as exc:
                raise _storage_error("writing", exc) from exc

    def apply_migrations(self, component: str, migrations: Sequence[Migration]) -> int:
        """Bring ``component``'s schema up to ``len(migrations)``; returns that version.

        ``custmgmt_schema`` records each component's version: migration ``k`` (from 1)
        runs only when the recorded version is below ``k``. The missing migrations and
        the new version are written in one transaction, so a failing migration leaves
        the schema and its recorded version as they were. A migration is SQL text (one
        or more statements) or a function taking the connection; do not commit in it.

        Call it outside :meth:`transaction` where possible: inside one, the new tables
        disappear again if the transaction rolls back.

        >>> store = SQLiteStore(":memory:")
        >>> store.apply_migrations("notes", ["CREATE TABLE notes (id TEXT PRIMARY KEY)"])
        1
        >>> store.apply_migrations("notes", ["CREATE TABLE notes (id TEXT PRIMARY KEY)"])
        1
        >>> store.close()

        Raises:
            ValidationError: ``component`` is blank or a migration is neither str nor callable.
            StorageError: a migration failed, or the database records a newer version
                than ``migrations`` knows.
        """
        if not isinstance(component, str) or not component.strip():
            raise ValidationError("component", component, "a non-blank component name")
        steps = list(migrations)
        for step in steps:
            if not isinstance(step, str) and not callable(step):
                raise ValidationError("migrations", step, "SQL text or a callable(connection)")
        with self._scope():
            conn = self.connection
            try:
                conn.execute(_SCHEMA_TABLE)
                found = conn.execute(
                    "SELECT version FROM custmgmt_schema WHERE component = ?", (component,)
                ).fetchone()
                current = 0 if found is None else int(found[0])
                if current > len(steps):
                    raise StorageError(
                        f"sqlite: schema of {component!r} is at version {current}, newer than "
                        f"the {len(steps)} migrations this library knows"
                    )
                for step in steps[current:]:
                    if isinstance(step, str):
                        for statement in _split_sql(step):
                            conn.execute(statement)
                    else:
                        step(conn)
                if current < len(steps):
                    conn.execute(
                        "INSERT INTO custmgmt_schema (component, version) VALUES (?, ?) "
                        "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                        (component, len(steps)),
                    )
            except sqlite3.Error as exc:
                raise _storage_error(f"migrating {component!r}", exc) from exc
        return len(steps)

    def schema_version(self, component: str) -> int:
        """The recorded schema version of ``component`` (0 when it has none)."""
        with self._lock:
            try:
                found = self.connection.execute(
                    "SELECT version FROM custmgmt_schema WHERE component = ?", (component,)
                ).fetchone()
            except sqlite3.Error as exc:
                raise _storage_error("reading the schema version", exc) from exc
        return 0 if found is None else int(found[0])

    # -- capability repositories, created on first use ------------------------------------
    @property
    def ratings(self) -> RatingRepository:
        """The rating repository (``custmgmt.adapters.sqlite.ratings``), made on first use."""
        return cast("RatingRepository", self._capability("ratings", "SQLiteRatingRepository"))

    @property
    def tickets(self) -> TicketRepository:
        """The ticket repository (``custmgmt.adapters.sqlite.tickets``), made on first use."""
        return cast("TicketRepository", self._capability("tickets", "SQLiteTicketRepository"))

    def _capability(self, module: str, name: str) -> Any:
        with self._lock:
            repository = self._lazy.get(module)
            if repository is None:
                # Imported here so the core store never depends on capability modules.
                found = importlib.import_module(f"custmgmt.adapters.sqlite.{module}")
                repository = getattr(found, name)(self)
                self._lazy[module] = repository
            return repository

    # -- internals -------------------------------------------------------------------------
    @contextmanager
    def _scope(self) -> Iterator[None]:
        """Hold the lock; BEGIN IMMEDIATE ... COMMIT, or a savepoint inside an open one."""
        with self._lock:
            conn = self.connection
            if self._depth > 0 or conn.in_transaction:
                name = f"custmgmt_{self._depth}"
                self._run(conn, f"SAVEPOINT {name}", "opening a savepoint")
                self._depth += 1
                try:
                    yield
                except BaseException:
                    self._quietly(conn, f"ROLLBACK TO {name}")
                    self._quietly(conn, f"RELEASE {name}")
                    raise
                else:
                    self._run(conn, f"RELEASE {name}", "releasing a savepoint")
                finally:
                    self._depth -= 1
            else:
                self._run(conn, "BEGIN IMMEDIATE", "beginning a transaction")
                self._depth += 1
                try:
                    yield
                except BaseException:
                    self._quietly(conn, "ROLLBACK")
                    raise
                else:
                    if self._doomed:
                        self._quietly(conn, "ROLLBACK")
                        raise StorageError(
                            "sqlite: the transaction was rolled back: a write inside it "
                            "failed halfway"
                        )
                    try:
                        conn.execute("COMMIT")
                    except sqlite3.Error as exc:
                        self._quietly(conn, "ROLLBACK")
                        raise _storage_error("committing", exc) from exc
                finally:
                    self._depth -= 1
                    self._doomed = False

    def _doom(self) -> None:
        """Make the open transaction roll back at its end, whatever happens in between."""
        self._doomed = True

    @staticmethod
    def _run(conn: sqlite3.Connection, sql: str, doing: str) -> None:
        try:
            conn.execute(sql)
        except sqlite3.Error as exc:
            raise _storage_error(doing, exc) from exc

    @staticmethod
    def _quietly(conn: sqlite3.Connection, sql: str) -> None:
        # Rolling back after a failure: SQLite may already have rolled back by itself
        # (disk full, interrupted), and the original error is the one to report.
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute(sql)


# -- repositories --------------------------------------------------------------------------


class _SQLiteRepository(Generic[T]):
    """What the three core repositories share: adds, updates, removes, counts."""

    entity_name: str
    entity_type: type[T]
    table: str
    columns: str

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        self._insert = _insert_sql(self.table, self.columns)
        self._update = _update_sql(self.table, self.columns)
        self._select_by_id = self._by_id_sql()

    # -- subclass hooks ----------------------------------------------------------------------
    def _encode(self, entity: T) -> Row:
        raise NotImplementedError

    def _write_children(self, conn: sqlite3.Connection, entities: Sequence[T]) -> None:
        """Insert rows that belong to ``entities`` in other tables (order lines)."""

    def _delete_children(self, conn: sqlite3.Connection, entity_id: str) -> None:
        """Delete rows that belong to the entity in other tables."""

    def _query(self, sql: str, params: Sequence[Any]) -> list[T]:
        raise NotImplementedError

    # -- the Repository protocol ------------------------------------------------------------
    def get(self, entity_id: str) -> T:
        """The stored entity (see :meth:`custmgmt.ports.Repository.get`).

        Raises:
            NotFound: nothing is stored under ``entity_id``.
            StorageError: the database failed.
        """
        if not isinstance(entity_id, str):
            raise NotFound(self.entity_name, entity_id)
        found = self._query(self._select_by_id, (entity_id,))
        if not found:
            raise NotFound(self.entity_name, entity_id)
        return found[0]

    def add(self, entity: T) -> None:
        """Store a new entity (see :meth:`custmgmt.ports.Repository.add`).

        Raises:
            Conflict: the id is already stored.
            StorageError: the database failed.
        """
        self.add_many((entity,))

    def add_many(self, entities: Iterable[T]) -> int:
        """Store new entities atomically with ``executemany``; returns the count.

        Outside :meth:`SQLiteStore.transaction` the input is consumed in batches
        inside one transaction of its own, so a generator of millions of entities
        needs memory for one batch only. Inside one, the whole input is read and
        checked for duplicate ids first and then written without a savepoint (a
        savepoint would copy every page the load touches into a sub-journal).

        Raises:
            Conflict: an id is already stored or repeats within the batch; nothing
                is stored.
            ValidationError: an item is not of the repository's entity type.
            StorageError: the database failed; nothing is stored (inside
                ``transaction()``, the whole transaction then rolls back).
        """
        try:
            source = iter(entities)
        except TypeError:
            raise ValidationError(
                "entities", entities, f"an iterable of {self.entity_type.__name__}"
            ) from None
        with self._store.lock:
            if self._store._depth > 0:
                return self._add_many_in_transaction(list(source))
            return self._add_many_alone(source)

    def _rows(self, batch: Sequence[T]) -> list[Row]:
        encode = self._encode
        kind = self.entity_type
        rows: list[Row] = []
        for entity in batch:
            if type(entity) is not kind and not isinstance(entity, kind):
                raise ValidationError(self.entity_name, entity, f"a {kind.__name__}")
            rows.append(encode(entity))
        return rows

    def _add_many_alone(self, source: Iterator[T]) -> int:
        ids: list[str] = []
        total = 0
        try:
            with self._store._scope():
                conn = self._store.connection
                while True:
                    batch = list(islice(source, _BATCH))
                    if not batch:
                        break
                    rows = self._rows(batch)
                    ids.extend([row[0] for row in rows])
                    conn.executemany(self._insert, rows)
                    self._write_children(conn, batch)
                    total += len(batch)
        except sqlite3.IntegrityError as exc:
            raise self._conflict(ids, exc) from exc
        except sqlite3.Error as exc:
            raise _storage_error(f"adding {self.entity_name}s", exc) from exc
        return total

    def _add_many_in_transaction(self, entities: list[T]) -> int:
        # Every check happens before the first write, so a Conflict or a
        # ValidationError leaves the enclosing transaction untouched.
        rows = self._rows(entities)
        conflict = self._find_conflict([row[0] for row in rows])
        if conflict is not None:
            raise conflict
        conn = self._store.connection
        try:
            for start in range(0, len(rows), _BATCH):
                conn.executemany(self._insert, rows[start : start + _BATCH])
                self._write_children(conn, entities[start : start + _BATCH])
        except BaseException as exc:
            # Part of the batch may be written and no savepoint can undo it: the
            # enclosing transaction must not commit.
            self._store._doom()
            if isinstance(exc, sqlite3.Error):
                raise _storage_error(f"adding {self.entity_name}s", exc) from exc
            raise
        return len(rows)

    def update(self, entity: T) -> None:
        """Replace the stored entity (see :meth:`custmgmt.ports.Repository.update`).

        Raises:
            NotFound: nothing is stored under ``entity.id``.
            Conflict: the stored version is not ``entity.version - 1``; nothing is written.
            StorageError: the database failed.
        """
        if not isinstance(entity, self.entity_type):
            raise ValidationError(self.entity_name, entity, f"a {self.entity_type.__name__}")
        row: Row = self._encode(entity)
        expected = entity.version - 1
        try:
            with self._store._scope():
                conn = self._store.connection
                changed = conn.execute(self._update, (*row[1:], entity.id, expected)).rowcount
                if changed == 1:
                    self._delete_children(conn, entity.id)
                    self._write_children(conn, (entity,))
                    return
                found = conn.execute(
                    f"SELECT version FROM {self.table} WHERE id = ?", (entity.id,)
                ).fetchone()
        except sqlite3.Error as exc:
            raise _storage_error(f"updating {self.entity_name} {entity.id!r}", exc) from exc
        if found is None:
            raise NotFound(self.entity_name, entity.id)
        raise Conflict(
            self.entity_name,
            entity.id,
            f"stored version is {found[0]}, but this copy was made from version {expected} "
            "(reload, change once, then update)",
            expected_version=expected,
            actual_version=int(found[0]),
        )

    def remove(self, entity_id: str) -> None:
        """Delete the entity (see :meth:`custmgmt.ports.Repository.remove`).

        Raises:
            NotFound: nothing is stored under ``entity_id``.
            StorageError: the database failed.
        """
        if not isinstance(entity_id, str):
            raise NotFound(self.entity_name, entity_id)
        try:
            with self._store._scope():
                conn = self._store.connection
                self._delete_children(conn, entity_id)
                removed = conn.execute(
                    f"DELETE FROM {self.table} WHERE id = ?", (entity_id,)
                ).rowcount
        except sqlite3.Error as exc:
            raise _storage_error(f"removing {self.entity_name} {entity_id!r}", exc) from exc
        if removed == 0:
            raise NotFound(self.entity_name, entity_id)

    def count(self) -> int:
        """How many entities are stored."""
        with self._store.lock:
            try:
                found = self._store.connection.execute(
                    f"SELECT count(*) FROM {self.table}"
                ).fetchone()
            except sqlite3.Error as exc:
                raise _storage_error(f"counting {self.entity_name}s", exc) from exc
        return int(found[0])

    # -- helpers -----------------------------------------------------------------------------
    def _by_id_sql(self) -> str:
        raise NotImplementedError

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        with self._store.lock:
            try:
                return self._store.connection.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise _storage_error(f"reading {self.entity_name}s", exc) from exc

    def _decode(self, decode: Callable[..., T], value: Any) -> T:
        try:
            return decode(value, verify=self._store._verify_reads)
        except (CustMgmtError, ValueError, TypeError, KeyError, IndexError) as exc:
            # The row was valid when written: something else changed the database.
            raise StorageError(
                f"sqlite: a stored {self.entity_name} row is not valid any more: {exc}"
            ) from exc

    def _conflict(self, ids: list[str], exc: sqlite3.IntegrityError) -> CustMgmtError:
        """Name the id behind a failed add_many (after the batch was rolled back)."""
        conflict = self._find_conflict(ids)
        return _storage_error(f"adding {self.entity_name}s", exc) if conflict is None else conflict

    def _find_conflict(self, ids: list[str]) -> Conflict | None:
        """The Conflict for the first id that repeats in ``ids`` or is already stored."""
        seen: set[str] = set()
        for entity_id in ids:
            if entity_id in seen:
                return Conflict(self.entity_name, entity_id, "the id repeats within the batch")
            seen.add(entity_id)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ", ".join("?" * len(part))
            found = self._fetch(f"SELECT id FROM {self.table} WHERE id IN ({marks})", part)
            if found:
                return Conflict(self.entity_name, found[0][0], "an entity with this id exists")
        return None


class SQLiteCustomerRepository(_SQLiteRepository[Customer]):
    """Customers in SQLite (see :class:`custmgmt.ports.CustomerRepository`)."""

    entity_name = "customer"
    entity_type = Customer
    table = "customers"
    columns = _CUSTOMER_COLUMNS

    def _encode(self, entity: Customer) -> Row:
        return customer_to_row(entity)

    def _by_id_sql(self) -> str:
        return f"SELECT {_CUSTOMER_COLUMNS} FROM customers WHERE id = ?"

    def _query(self, sql: str, params: Sequence[Any]) -> list[Customer]:
        return [self._decode(customer_from_row, row) for row in self._fetch(sql, params)]

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Sequence[Customer]]:
        """Every customer by id, in chunks of at most ``size`` (one query per chunk).

        Raises:
            ValidationError: ``size`` is not a positive integer.
        """
        check_chunk_size(size)
        return self._chunks(size)

    def _chunks(self, size: int) -> Iterator[Sequence[Customer]]:
        sql = f"SELECT {_CUSTOMER_COLUMNS} FROM customers WHERE id > ? ORDER BY id LIMIT ?"
        after = ""
        while True:
            chunk = self._query(sql, (after, size))
            if not chunk:
                return
            yield chunk
            after = chunk[-1].id


class SQLiteOrderRepository(_SQLiteRepository[Order]):
    """Orders in SQLite, lines in ``order_lines`` (see :class:`custmgmt.ports.OrderRepository`)."""

    entity_name = "order"
    entity_type = Order
    table = "orders"
    columns = _ORDER_COLUMNS

    def __init__(self, store: SQLiteStore) -> None:
        super().__init__(store)
        self._insert_lines = _insert_sql("order_lines", _LINE_COLUMNS)
        self._page_sql = (
            f"WITH page AS (SELECT {_ORDER_COLUMNS} FROM orders "
            "WHERE (placed_us, id) > (?, ?) AND placed_us < ? ORDER BY placed_us, id LIMIT ?) "
            f"SELECT page.*, l.sku, l.category, l.quantity, l.unit_price FROM page "
            "JOIN order_lines l ON l.order_id = page.id "
            "ORDER BY page.placed_us, page.id, l.line_no"
        )

    def _encode(self, entity: Order) -> Row:
        return _order_row(entity)

    def _write_children(self, conn: sqlite3.Connection, entities: Sequence[Order]) -> None:
        lines: list[Row] = []
        for order in entities:
            lines.extend(_line_rows(order))
        conn.executemany(self._insert_lines, lines)

    def _delete_children(self, conn: sqlite3.Connection, entity_id: str) -> None:
        conn.execute("DELETE FROM order_lines WHERE order_id = ?", (entity_id,))

    def _by_id_sql(self) -> str:
        return (
            f"SELECT o.*, l.sku, l.category, l.quantity, l.unit_price FROM "
            f"(SELECT {_ORDER_COLUMNS} FROM orders WHERE id = ?) o "
            "JOIN order_lines l ON l.order_id = o.id ORDER BY l.line_no"
        )

    def _query(self, sql: str, params: Sequence[Any]) -> list[Order]:
        orders: list[Order] = []
        group: list[Row] = []
        for row in self._fetch(sql, params):
            if group and row[0] != group[0][0]:
                orders.append(self._decode(order_from_rows, group))
                group = []
            group.append(row)
        if group:
            orders.append(self._decode(order_from_rows, group))
        return orders

    def for_customer(self, customer_id: str) -> list[Order]:
        """The customer's orders, oldest first (by ``placed_at``, then id)."""
        given: object = customer_id  # hosts call this untyped too
        if not isinstance(given, str):
            return []
        return self._query(
            f"SELECT o.*, l.sku, l.category, l.quantity, l.unit_price FROM "
            f"(SELECT {_ORDER_COLUMNS} FROM orders WHERE customer_id = ?) o "
            "JOIN order_lines l ON l.order_id = o.id ORDER BY o.placed_us, o.id, l.line_no",
            (customer_id,),
        )

    def between(self, start: datetime, end: datetime) -> Iterator[Order]:
        """Orders placed in ``[start, end)``, by ``placed_at`` then id, fetched page by page.

        Raises:
            ValidationError: ``start`` or ``end`` is naive, or ``end < start``.
        """
        lo, hi = check_range(start, end)
        return self._pages(lo, hi, _PAGE, flatten=True)  # type: ignore[return-value]

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Sequence[Order]]:
        """Every order by ``placed_at`` then id, in chunks of at most ``size``.

        Raises:
            ValidationError: ``size`` is not a positive integer.
        """
        check_chunk_size(size)
        return self._pages(_MIN_US, _MAX_US, size, flatten=False)  # type: ignore[return-value]

    def _pages(
        self, lo: int, hi: int, size: int, *, flatten: bool
    ) -> Iterator[Order | Sequence[Order]]:
        after: tuple[int, str] = (lo, "")
        while True:
            page = self._query(self._page_sql, (*after, hi, size))
            if not page:
                return
            if flatten:
                yield from page
            else:
                yield page
            last = page[-1]
            after = (_instant(last.placed_at)[0], last.id)


class SQLiteInteractionRepository(_SQLiteRepository[Interaction]):
    """Interactions in SQLite (see :class:`custmgmt.ports.InteractionRepository`)."""

    entity_name = "interaction"
    entity_type = Interaction
    table = "interactions"
    columns = _INTERACTION_COLUMNS

    def _encode(self, entity: Interaction) -> Row:
        return interaction_to_row(entity)

    def _by_id_sql(self) -> str:
        return f"SELECT {_INTERACTION_COLUMNS} FROM interactions WHERE id = ?"

    def _query(self, sql: str, params: Sequence[Any]) -> list[Interaction]:
        return [self._decode(interaction_from_row, row) for row in self._fetch(sql, params)]

    def for_customer(
        self, customer_id: str, kinds: Collection[InteractionKind] | None = None
    ) -> list[Interaction]:
        """The customer's interactions (of ``kinds``, if given), oldest first (``at``, id).

        Raises:
            ValidationError: ``kinds`` is not a collection of InteractionKind.
        """
        filter_sql, values = _kinds_filter(kinds)
        given: object = customer_id  # hosts call this untyped too
        if not isinstance(given, str):
            return []
        return self._query(
            f"SELECT {_INTERACTION_COLUMNS} FROM interactions WHERE customer_id = ?"
            f"{filter_sql} ORDER BY at_us, id",
            (customer_id, *values),
        )

    def between(
        self,
        start: datetime,
        end: datetime,
        kinds: Collection[InteractionKind] | None = None,
    ) -> Iterator[Interaction]:
        """Interactions at ``[start, end)`` (of ``kinds``, if given), by ``at`` then id.

        Raises:
            ValidationError: ``start`` or ``end`` is naive, ``end < start``, or ``kinds``
                is not a collection of InteractionKind.
        """
        filter_sql, values = _kinds_filter(kinds)
        lo, hi = check_range(start, end)
        return self._pages(lo, hi, _PAGE, filter_sql, values, flatten=True)  # type: ignore[return-value]

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Sequence[Interaction]]:
        """Every interaction by ``at`` then id, in chunks of at most ``size``.

        Raises:
            ValidationError: ``size`` is not a positive integer.
        """
        check_chunk_size(size)
        return self._pages(_MIN_US, _MAX_US, size, "", (), flatten=False)  # type: ignore[return-value]

    def _pages(
        self, lo: int, hi: int, size: int, filter_sql: str, values: tuple[str, ...], *,
        flatten: bool,
    ) -> Iterator[Interaction | Sequence[Interaction]]:  # fmt: skip
        sql = (
            f"SELECT {_INTERACTION_COLUMNS} FROM interactions "
            f"WHERE (at_us, id) > (?, ?) AND at_us < ?{filter_sql} ORDER BY at_us, id LIMIT ?"
        )
        after: tuple[int, str] = (lo, "")
        while True:
            page = self._query(sql, (*after, hi, *values, size))
            if not page:
                return
            if flatten:
                yield from page
            else:
                yield page
            last = page[-1]
            after = (_instant(last.at)[0], last.id)


def _kinds_filter(kinds: Collection[InteractionKind] | None) -> tuple[str, tuple[str, ...]]:
    if kinds is None:
        return "", ()
    given: object = kinds  # hosts call this untyped too: check at run time
    if isinstance(given, str) or not isinstance(given, Collection):
        raise ValidationError("kinds", kinds, "a collection of InteractionKind or None")
    values = tuple(sorted({coerce_enum(InteractionKind, k, "kinds").value for k in given}))
    if not values:
        return " AND 0", ()
    return f" AND kind IN ({', '.join('?' * len(values))})", values
