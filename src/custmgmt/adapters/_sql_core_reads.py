"""What the SQLite and PostgreSQL core repositories (customers, orders, interactions)
read alike: ``for_customer``, ``between`` and ``iter_chunks``, by keyset paging.

Each dialect keeps its own SQL (its placeholder, instants stored as ``*_us`` integers
or as ``timestamptz``) behind a few hooks; written once here are the checks of the
arguments, the paging loop around that SQL and the contracts, so both stores page,
order and refuse input the same way. The mixins come before the dialect's repository
base: ``class SQLiteOrderRepository(OrderReads, _SQLiteRepository[Order])``; as they come
first, each hook they name (``_query``, ``_customer_sql`` ...) is the repository's to
define, and what the base already has (``_fetch``, ``_store``) is only declared for the
type checker.

Every read checks its arguments, then that the store is open, when it is called, as the
memory store does: ``iter_chunks(0)`` and ``between`` on a closed store raise then, not
at the first ``next()`` of the iterator they return (a store closed later, during the
iteration, ends it with the same StorageError at the next page).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime
from itertools import chain, groupby
from operator import itemgetter
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from custmgmt.adapters._checks import check_chunk_size, check_range, could_be_id
from custmgmt.domain import Customer, Interaction, InteractionKind, Order
from custmgmt.domain._validate import coerce_enum
from custmgmt.errors import ValidationError
from custmgmt.ports import DEFAULT_CHUNK_SIZE

__all__ = [
    "CustomerReads",
    "InteractionReads",
    "OrderReads",
    "Window",
    "interaction_kinds_filter",
    "keyset_pages",
]

K = TypeVar("K")
T = TypeVar("T")

#: The ``[start, end)`` of a range read (checked), or None to read everything.
Window = tuple[datetime, datetime] | None


def keyset_pages(
    fetch: Callable[[K], list[T]], key: Callable[[T], K], first: K
) -> Iterator[list[T]]:
    """The pages ``fetch(after)`` returns, until the first empty one: ``after`` is
    ``first`` for the first page, then the ``key`` of the previous page's last item.

    Keyset paging (``WHERE (at, id) > (?, ?) ORDER BY at, id LIMIT ?``) costs the same
    for every page, where ``OFFSET`` would rescan all the rows before the page.
    """
    after = first
    while True:
        page = fetch(after)
        if not page:
            return
        yield page
        after = key(page[-1])


def interaction_kinds_filter(
    kinds: Collection[InteractionKind] | None, *, placeholder: str, false: str
) -> tuple[str, tuple[str, ...]]:
    """The SQL condition (`` AND ...``, or nothing for all kinds) that an interaction is
    of one of ``kinds``, and its parameters, sorted.

    Args:
        kinds: the kinds (members or their values), or None for every kind.
        placeholder: the driver's parameter placeholder (``?`` or ``%s``).
        false: the dialect's false literal: an empty ``kinds`` matches nothing.

    Raises:
        ValidationError: ``kinds`` is not a collection of InteractionKind.
    """
    if kinds is None:
        return "", ()
    given: object = kinds  # hosts call this untyped too: check at run time
    if isinstance(given, str) or not isinstance(given, Collection):
        raise ValidationError("kinds", kinds, "a collection of InteractionKind or None")
    values = tuple(sorted({coerce_enum(InteractionKind, k, "kinds").value for k in given}))
    if not values:
        return f" AND {false}", ()
    return f" AND kind IN ({', '.join([placeholder] * len(values))})", values


class _Reads:
    """What every mixin here checks when it is called: that the store is open."""

    if TYPE_CHECKING:  # the repository base's; declared here only for the type checker
        _store: Any

    def _check_open(self) -> None:
        """StorageError ("the store is closed") once the store is closed."""
        self._store._check_open()


class CustomerReads(_Reads):
    """``iter_chunks`` of an SQL customer repository, by id."""

    def _query(self, sql: str, params: Sequence[Any]) -> list[Customer]:
        """The customers ``sql`` (in the dialect) reads."""
        raise NotImplementedError

    def _chunk_sql(self) -> str:
        """The customers whose id follows the first parameter, by id, at most the second
        parameter of them."""
        raise NotImplementedError

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Sequence[Customer]]:
        """Every customer by id, in chunks of at most ``size`` (one query per chunk).

        Raises:
            ValidationError: ``size`` is not a positive integer.
            StorageError: the store is closed (at the call, or at the next chunk).
        """
        size = check_chunk_size(size)
        self._check_open()
        sql = self._chunk_sql()
        return keyset_pages(lambda after: self._query(sql, (after, size)), lambda c: c.id, "")


class OrderReads(_Reads):
    """``for_customer``, ``between`` and ``iter_chunks`` of an SQL order repository, and
    the orders of a query that reads them with their lines."""

    #: Orders fetched per query by ``between``.
    page_size: ClassVar[int]

    if TYPE_CHECKING:  # the repository base's; declared here only for the type checker

        def _fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]: ...

    def _order_of(self, lines: list[tuple[Any, ...]]) -> Order:
        """The order of its rows, one per line (a StorageError where they no longer
        decode)."""
        raise NotImplementedError

    def _query(self, sql: str, params: Sequence[Any]) -> list[Order]:
        # One row per line, an order's lines one after another: group by the order id.
        return [
            self._order_of(list(lines))
            for _, lines in groupby(self._fetch(sql, params), key=itemgetter(0))
        ]

    def _customer_sql(self) -> str:
        """The orders (with their lines) of the customer given as the one parameter, by
        ``placed_at``, id, line number."""
        raise NotImplementedError

    def _pages(self, window: Window, size: int) -> Iterator[list[Order]]:
        """The orders placed in ``window`` by ``placed_at`` then id, ``size`` a page."""
        raise NotImplementedError

    def for_customer(self, customer_id: str) -> list[Order]:
        """The customer's orders, oldest first (by ``placed_at``, then id).

        Raises:
            StorageError: the store is closed.
        """
        self._check_open()
        if not could_be_id(customer_id):  # hosts call this untyped too
            return []
        return self._query(self._customer_sql(), (customer_id,))

    def between(self, start: datetime, end: datetime) -> Iterator[Order]:
        """Orders placed in ``[start, end)``, by ``placed_at`` then id, fetched page by page.

        Raises:
            ValidationError: ``start`` or ``end`` is naive, or ``end < start``.
            StorageError: the store is closed (at the call, or at the next page).
        """
        check_range(start, end)
        self._check_open()
        return chain.from_iterable(self._pages((start, end), self.page_size))

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Sequence[Order]]:
        """Every order by ``placed_at`` then id, in chunks of at most ``size``.

        Raises:
            ValidationError: ``size`` is not a positive integer.
            StorageError: the store is closed (at the call, or at the next chunk).
        """
        size = check_chunk_size(size)
        self._check_open()
        return self._pages(None, size)


class InteractionReads(_Reads):
    """``for_customer``, ``between`` and ``iter_chunks`` of an SQL interaction repository."""

    #: Interactions fetched per query by ``between``.
    page_size: ClassVar[int]
    #: The driver's parameter placeholder (``?`` or ``%s``).
    placeholder: ClassVar[str]
    #: The dialect's false literal (what an empty ``kinds`` matches).
    false_sql: ClassVar[str]

    def _query(self, sql: str, params: Sequence[Any]) -> list[Interaction]:
        """The interactions ``sql`` (in the dialect) reads."""
        raise NotImplementedError

    def _customer_sql(self, filter_sql: str) -> str:
        """The interactions of the customer given as the first parameter that pass
        ``filter_sql`` (`` AND ...``, its parameters next), by ``at`` then id."""
        raise NotImplementedError

    def _pages(
        self, window: Window, size: int, filter_sql: str, values: tuple[str, ...]
    ) -> Iterator[list[Interaction]]:
        """The interactions at ``window`` that pass ``filter_sql`` (its parameters
        ``values``) by ``at`` then id, ``size`` a page."""
        raise NotImplementedError

    def _kinds_filter(
        self, kinds: Collection[InteractionKind] | None
    ) -> tuple[str, tuple[str, ...]]:
        return interaction_kinds_filter(kinds, placeholder=self.placeholder, false=self.false_sql)

    def for_customer(
        self, customer_id: str, kinds: Collection[InteractionKind] | None = None
    ) -> list[Interaction]:
        """The customer's interactions (of ``kinds``, if given), oldest first (``at``, id).

        Raises:
            ValidationError: ``kinds`` is not a collection of InteractionKind.
            StorageError: the store is closed.
        """
        filter_sql, values = self._kinds_filter(kinds)
        self._check_open()
        if not could_be_id(customer_id):  # hosts call this untyped too
            return []
        return self._query(self._customer_sql(filter_sql), (customer_id, *values))

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
            StorageError: the store is closed (at the call, or at the next page).
        """
        filter_sql, values = self._kinds_filter(kinds)
        check_range(start, end)
        self._check_open()
        return chain.from_iterable(self._pages((start, end), self.page_size, filter_sql, values))

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Sequence[Interaction]]:
        """Every interaction by ``at`` then id, in chunks of at most ``size``.

        Raises:
            ValidationError: ``size`` is not a positive integer.
            StorageError: the store is closed (at the call, or at the next chunk).
        """
        size = check_chunk_size(size)
        self._check_open()
        return self._pages(None, size, "", ())
