"""What the bundled stores (memory, SQLite, PostgreSQL) share: the core repositories
and the columnar port (:class:`custmgmt.ports.ColumnarStore`).

Each store reads frames and loads order batches its own way (a scan of the memory
repositories, SQL straight into arrays, a PostgreSQL server-side cursor and COPY);
:class:`CoreStore` checks and forwards the calls, so the port's signatures are written
once; the store names its frame readers and says how a batch is loaded.

It also words the one error every store gives once closed (:func:`closed_store_error`)
and the one a transaction ends with when the store was closed inside it
(:func:`closed_in_transaction_error`), so the three adapters say it alike.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from custmgmt.analytics.batches import OrderBatch
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.domain import InteractionKind
from custmgmt.domain._bulk import check_ids
from custmgmt.domain._validate import _ID_REFUSED
from custmgmt.errors import StorageError, ValidationError

__all__ = ["CLOSED", "CoreStore", "closed_in_transaction_error", "closed_store_error"]

#: What every bundled store's error says once the store is closed (after its backend's
#: ``memory:``, ``sqlite:`` or ``postgres:``).
CLOSED = "the store is closed"


def closed_store_error(backend: str) -> StorageError:
    """The error of any use of a closed store (``backend``: ``"sqlite"`` ...)."""
    return StorageError(f"{backend}: {CLOSED}; a store cannot be used after close()")


def closed_in_transaction_error(backend: str) -> StorageError:
    """The error a ``transaction()`` block ends with when the store was closed inside
    it: its writes were rolled back, none committed."""
    return StorageError(
        f"{backend}: {CLOSED}: closed inside a transaction, whose writes were rolled back"
    )


def _check_id_column(values: list[Any], name: str) -> None:
    """Refuse a column of a batch holding an id the domain refuses: one search over
    the ids joined (what a batch's own checks leave to look for), then, when it finds
    anything or the column is not all text, :func:`check_ids` names the row."""
    try:
        clean = _ID_REFUSED.search(" ".join(values)) is None
    except TypeError:  # not all text: a batch built by hand
        clean = False
    if not clean:
        check_ids(values, name)


CustomersT = TypeVar("CustomersT")
OrdersT = TypeVar("OrdersT")
InteractionsT = TypeVar("InteractionsT")


class CoreStore(Generic[CustomersT, OrdersT, InteractionsT]):
    """The core repositories (made by the store's ``__init__``) and the columnar port."""

    _customers: CustomersT
    _orders: OrdersT
    _interactions: InteractionsT

    #: The adapter's frame readers (functions of its ``frames`` module), given
    #: :meth:`_order_source` or :meth:`_interaction_source` and the port's keywords.
    _read_order_frame: ClassVar[Callable[..., OrderFrame]]
    _read_interaction_frame: ClassVar[Callable[..., InteractionFrame]]

    # -- the store's hooks ------------------------------------------------------------------
    def _order_source(self) -> Any:
        """What :attr:`_read_order_frame` reads: by default the store's database (itself)."""
        return self

    def _interaction_source(self) -> Any:
        """What :attr:`_read_interaction_frame` reads: by default the store's database."""
        return self

    def _load_batch(self, batch: OrderBatch) -> int:
        """Store ``batch`` (an OrderBatch) all or nothing; returns how many orders."""
        raise NotImplementedError

    def _check_open(self) -> None:
        """Raise :func:`closed_store_error` once the store is closed: the columnar port
        checks it before its arguments, as every repository call does."""
        raise NotImplementedError

    # -- the Store protocol -----------------------------------------------------------------
    @property
    def customers(self) -> CustomersT:
        """The customer repository."""
        return self._customers

    @property
    def orders(self) -> OrdersT:
        """The order repository."""
        return self._orders

    @property
    def interactions(self) -> InteractionsT:
        """The interaction repository."""
        return self._interactions

    # -- the columnar port (custmgmt.ports.ColumnarStore) ------------------------------------
    def order_frame(
        self,
        *,
        currency: str,
        as_of: datetime | None = None,
        since: datetime | None = None,
        customers: Collection[str] | None = None,
        rates: Mapping[str, Any] | None = None,
        customer_index: Any = None,
    ) -> OrderFrame:
        """The stored orders as a frame (see :meth:`custmgmt.ports.ColumnarStore.order_frame`)."""
        self._check_open()
        return type(self)._read_order_frame(
            self._order_source(),
            currency=currency,
            as_of=as_of,
            since=since,
            customers=customers,
            rates=rates,
            customer_index=customer_index,
        )

    def load_orders(self, batch: OrderBatch) -> int:
        """Store a validated batch of new orders, all or nothing (see
        :meth:`custmgmt.ports.ColumnarStore.load_orders`).

        The ids are checked as the domain checks them (:func:`check_ids`) before
        anything is written: the SQL stores write the columns as they are, without
        making an ``Order`` of each row, and an id that ``Order`` refuses (a tab, a
        line break) would make every later read of the orders fail.
        """
        self._check_open()
        if not isinstance(batch, OrderBatch):
            raise ValidationError("batch", type(batch).__name__, "an OrderBatch")
        for name in ("order_id", "customer_id", "sku"):
            _check_id_column(getattr(batch, name).tolist(), name)
        return self._load_batch(batch)

    def interaction_frame(
        self,
        *,
        as_of: datetime | None = None,
        since: datetime | None = None,
        customers: Collection[str] | None = None,
        kinds: Collection[InteractionKind] | None = None,
        customer_index: Any = None,
    ) -> InteractionFrame:
        """The stored interactions as a frame (see
        :meth:`custmgmt.ports.ColumnarStore.interaction_frame`)."""
        self._check_open()
        return type(self)._read_interaction_frame(
            self._interaction_source(),
            as_of=as_of,
            since=since,
            customers=customers,
            kinds=kinds,
            customer_index=customer_index,
        )
