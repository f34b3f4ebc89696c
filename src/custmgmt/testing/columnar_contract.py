"""The contract of the columnar port, as a reusable test suite: frames equal entities.

A store that implements :class:`custmgmt.ports.ColumnarStore` builds frames from its
rows without creating entities; this suite checks that every such frame *equals* the
frame built from the same store's entities
(:meth:`OrderFrame.from_orders <custmgmt.analytics.frames.OrderFrame.from_orders>`
over ``store.orders.iter_chunks()``), column by column, dtypes included, on random
stores: Chinese text, every order status (cancelled, returned and partially returned
included), several lines and categories per order, several currencies with and
without rates, windows whose bounds fall exactly on an order's time or one
microsecond either side, customer and kind filters, a given customer index. A host
runs it on its own store with one method::

    from custmgmt.testing import ColumnarStoreContract

    class TestMyColumnarStore(ColumnarStoreContract):
        def make_store(self):
            return MyStore(...)

The random tests need hypothesis (the ``test`` extra); ``max_examples`` sets how many
random stores each one tries (raise it for a longer run). Like the other suites it
needs no pytest.
"""

from __future__ import annotations

import abc
import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal
from typing import Any, ClassVar

import numpy as np

from custmgmt._extras import require
from custmgmt.analytics.batches import OrderBatch
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.domain import (
    CURRENCY_DIGITS,
    Complaint,
    ComplaintCategory,
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
from custmgmt.errors import Conflict, ValidationError
from custmgmt.ports import ColumnarStore
from custmgmt.testing._contract import ContractBase, raises

__all__ = ["ColumnarStoreContract", "assert_frames_equal"]

_T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
_ZONES = (UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30)))
# Ids whose code points (hence UTF-8 bytes) order differently from their look: the
# port must order ties by id exactly as Python compares strings.
_ORDER_IDS = ("o-1", "o-10", "o-2", "O-3", "订单-1", "订单-二", "é-1", " o-1", "o-1 ", "😀-1")
_CUSTOMERS = ("c-1", "c-2", "客户-甲", "客户-乙", "C-1", "c-1 ", "😀")
_CATEGORIES = ("茶叶", "茶具", "books", "Books", "零食 ", "家电")
_CHANNELS = (None, "app", "web", "小程序", "门店")
_RATES = {"USD": Decimal("7.1234"), "JPY": Decimal("0.0481"), "EUR": Decimal("7.9")}


def _frame_columns(frame: OrderFrame | InteractionFrame) -> dict[str, Any]:
    names: tuple[str, ...]
    if isinstance(frame, OrderFrame):
        names = (
            "customer_code", "customer_ids", "placed_at", "amount", "returned_amount",
            "status", "category", "channel", "order_id", "line_row", "line_category",
        )  # fmt: skip
        labels: dict[str, Any] = {
            "category_names": frame.category_names,
            "channel_names": frame.channel_names,
            "currency": frame.currency,
        }
    else:
        names = (
            "customer_code", "customer_ids", "at", "kind", "rating", "complaint_category",
            "resolved", "channel",
        )  # fmt: skip
        labels = {"channel_names": frame.channel_names}
    return {**{name: getattr(frame, name) for name in names}, **labels}


def assert_frames_equal(
    actual: OrderFrame | InteractionFrame, expected: OrderFrame | InteractionFrame
) -> None:
    """Fail unless two frames hold the same rows: every column's values and dtype, the
    label names, the customer index and the currency.

    Raises:
        AssertionError: naming the first column that differs.
    """
    if type(actual) is not type(expected):
        raise AssertionError(f"{type(actual).__name__} is not a {type(expected).__name__}")
    mine, theirs = _frame_columns(actual), _frame_columns(expected)
    for name, want in theirs.items():
        got = mine[name]
        if isinstance(want, np.ndarray) or isinstance(got, np.ndarray):
            if got is None or want is None:
                raise AssertionError(f"{name}: {got!r} != {want!r}")
            if got.dtype != want.dtype:
                raise AssertionError(f"{name}: dtype {got.dtype} != {want.dtype}")
            if got.shape != want.shape or not np.array_equal(got, want):
                raise AssertionError(f"{name}: {got.tolist()!r} != {want.tolist()!r}")
            if got.dtype == object:
                kinds = {type(x) for x in got.tolist()} ^ {type(x) for x in want.tolist()}
                if kinds:
                    raise AssertionError(f"{name}: element types differ ({kinds})")
        elif got != want:
            raise AssertionError(f"{name}: {got!r} != {want!r}")


# -- building random stores ---------------------------------------------------------------
def _make_order(
    order_id: str,
    customer_id: str,
    placed: datetime,
    lines: Sequence[tuple[str, int, Decimal]],
    currency: str,
    status: OrderStatus,
    channel: str | None,
    returned_share: int,
) -> Order:
    if currency == "JPY":  # no minor unit: move the drawn decimals up
        lines = [(category, quantity, price.scaleb(2)) for category, quantity, price in lines]
    order_lines = tuple(
        OrderLine(
            sku=f"SKU-{k}", category=category, quantity=quantity,
            unit_price=Money(price, currency),
        )
        for k, (category, quantity, price) in enumerate(lines)
    )  # fmt: skip
    step = placed + timedelta(hours=1)
    fields: dict[str, Any] = {}
    if status in (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        fields[{"paid": "paid_at", "shipped": "shipped_at", "delivered": "delivered_at"}[
            status.value
        ]] = step
    elif status is OrderStatus.CANCELLED:
        fields["cancelled_at"] = step
    elif status in (OrderStatus.RETURNED, OrderStatus.PARTIALLY_RETURNED):
        total = sum((line.unit_price.amount * line.quantity for line in order_lines), Decimal(0))
        unit = Decimal(1).scaleb(-CURRENCY_DIGITS[currency])
        refund = total
        if status is OrderStatus.PARTIALLY_RETURNED:
            refund = max(unit, (total * returned_share / 4).quantize(unit, ROUND_DOWN))
        if total <= 0 or refund > total:
            status = OrderStatus.PLACED  # nothing to return
        else:
            fields["returned_at"] = step
            fields["returned_amount"] = Money(refund, currency)
    return Order(
        id=order_id, customer_id=customer_id, placed_at=placed, lines=order_lines,
        status=status, channel=channel, **fields,
    )  # fmt: skip


def _make_interaction(
    interaction_id: str, customer_id: str, at: datetime, kind: InteractionKind, pick: int,
    channel: str | None,
) -> Interaction:  # fmt: skip
    details: Review | Complaint | Search | Referral | None = None
    if kind is InteractionKind.REVIEW:
        details = Review(rating=1 + pick % 5, text="很好" if pick % 2 else None)
    elif kind is InteractionKind.COMPLAINT:
        categories = tuple(ComplaintCategory)
        details = Complaint(category=categories[pick % len(categories)], resolved=pick % 3 == 0)
    elif kind is InteractionKind.SEARCH:
        details = Search(query="绿茶 礼盒")
    elif kind is InteractionKind.REFERRAL:
        details = Referral(referred_customer_id="客户-丙")
    return Interaction(
        id=interaction_id, customer_id=customer_id, kind=kind, at=at, channel=channel,
        details=details,
    )  # fmt: skip


def _half_none(st: Any, strategy: Any) -> Any:
    return st.booleans().flatmap(lambda off: st.none() if off else strategy)


def _strategies(st: Any) -> dict[str, Any]:
    """The hypothesis strategies of the suite (hypothesis is imported lazily)."""
    # Few distinct instants, so that many entities tie on time and order by id.
    instants = st.sampled_from(
        (
            _T0,
            _T0 + timedelta(microseconds=1),
            _T0 + timedelta(days=1),
            _T0 + timedelta(days=1, microseconds=-1),
            _T0 + timedelta(days=40, hours=3),
        )
    ) | st.integers(0, 10**12).map(lambda us: _T0 + timedelta(microseconds=us))
    placed = st.tuples(instants, st.sampled_from(_ZONES)).map(lambda p: p[0].astimezone(p[1]))
    price = st.one_of(
        st.integers(0, 10**6).map(lambda c: Decimal(c).scaleb(-2)),
        st.integers(1, 10**9).map(Decimal),
    )
    line = st.tuples(st.sampled_from(_CATEGORIES), st.integers(1, 4), price)
    order = st.tuples(
        st.sampled_from(_CUSTOMERS),
        placed,
        st.lists(line, min_size=1, max_size=3),
        st.sampled_from(("CNY", "CNY", "CNY", "USD", "JPY")),
        st.sampled_from(tuple(OrderStatus)),
        st.sampled_from(_CHANNELS),
        st.integers(1, 3),
    )
    # A uniform size up to 16 (hypothesis alone favours very short lists).
    orders = st.integers(0, 16).flatmap(lambda n: st.lists(order, min_size=n, max_size=n))
    interaction = st.tuples(
        st.sampled_from(_CUSTOMERS),
        placed,
        st.sampled_from(tuple(InteractionKind))
        | st.sampled_from((InteractionKind.REVIEW, InteractionKind.COMPLAINT)),
        st.integers(0, 29),
        st.sampled_from(_CHANNELS),
    )
    return {
        "orders": orders,
        "interactions": st.integers(0, 16).flatmap(
            lambda n: st.lists(interaction, min_size=n, max_size=n)
        ),
        # Filters are off half of the time, so that most rows reach the comparison.
        "customers": _half_none(
            st, st.sets(st.sampled_from((*_CUSTOMERS, "nobody")), min_size=1, max_size=5)
        ),
        "kinds": _half_none(
            st, st.sets(st.sampled_from(tuple(InteractionKind)), min_size=1, max_size=8)
        ),
        "index": _half_none(st, st.lists(st.sampled_from(_CUSTOMERS), max_size=3, unique=True)),
        "rates": st.sampled_from((_RATES, _RATES, _RATES, None, {"USD": Decimal("7.1234")})),
        "edge": st.sampled_from((None, None, None, -1, 0, 1)),
        "pick": st.integers(0, 20),
    }


class ColumnarStoreContract(ContractBase[ColumnarStore], abc.ABC):
    """The columnar port's frames equal the entity frames; subclass with ``make_store``.

    Each random test draws a store's content, writes it through the store's entity
    repositories (``add_many``), then compares ``order_frame`` /
    ``interaction_frame`` with :meth:`OrderFrame.from_orders` /
    :meth:`InteractionFrame.from_interactions` over the same store's ``iter_chunks``,
    for random filters; ``load_orders`` must store a batch as ``batch.to_orders()``,
    all or nothing. When the entity frame refuses the arguments or the data (an
    order without a rate, a total without an exact minor-unit value), the port must
    refuse them too, with :class:`~custmgmt.errors.ValidationError`.
    """

    #: Random stores per random test (hypothesis ``max_examples``).
    max_examples: ClassVar[int] = 40

    @abc.abstractmethod
    def make_store(self) -> ColumnarStore:
        """Return a new, empty store with the columnar port."""

    def close_store(self, store: ColumnarStore) -> None:
        """Release the store after a test (default: ``store.close()``)."""
        store.close()

    def _open(self) -> ColumnarStore:
        return self.make_store()

    def _release(self, subject: ColumnarStore) -> None:
        self.close_store(subject)

    # -- helpers ------------------------------------------------------------------------
    def _given(self, check: Callable[..., None], **strategies: str) -> None:
        """Run ``check(store, **drawn)`` on ``max_examples`` random stores."""
        hypothesis = require("hypothesis", extra="test", purpose="ColumnarStoreContract")
        st = require("hypothesis.strategies", extra="test", purpose="ColumnarStoreContract")
        drawn = _strategies(st)

        def one_store(**values: Any) -> None:
            store = self.make_store()
            try:
                check(store, **values)
            finally:
                self.close_store(store)

        given = hypothesis.given(**{name: drawn[key] for name, key in strategies.items()})
        run: Callable[[], None] = hypothesis.settings(
            max_examples=self.max_examples,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )(given(one_store))
        run()

    @staticmethod
    def _fill_orders(store: ColumnarStore, rows: list[tuple[Any, ...]]) -> list[Order]:
        orders: list[Order] = []
        for k, row in enumerate(rows):
            order_id = f"{_ORDER_IDS[k % len(_ORDER_IDS)]}#{k // len(_ORDER_IDS)}"
            orders.append(_make_order(order_id, *row))
        store.orders.add_many(orders)
        return orders

    @staticmethod
    def _fill_interactions(
        store: ColumnarStore, rows: list[tuple[Any, ...]]
    ) -> list[Interaction]:
        items = [
            _make_interaction(f"{_ORDER_IDS[k % len(_ORDER_IDS)]}#i{k}", *row)
            for k, row in enumerate(rows)
        ]
        store.interactions.add_many(items)
        return items

    @staticmethod
    def _bound(times: list[datetime], pick: int, edge: int | None) -> datetime | None:
        """None, or the time of the ``pick``-th entity moved by ``edge`` µs (-1, 0, +1)."""
        if edge is None or not times:
            return None
        return times[pick % len(times)] + timedelta(microseconds=edge)

    @staticmethod
    def _same_outcome(port: Callable[[], Any], reference: Callable[[], Any]) -> None:
        try:
            expected = reference()
        except ValidationError:
            with raises(ValidationError):
                port()
            return
        assert_frames_equal(port(), expected)

    # -- orders ---------------------------------------------------------------------------
    def test_order_frames_equal_the_frames_of_the_entities(self) -> None:
        def check(
            store: ColumnarStore, orders: list[Any], customers: Any, index: Any,
            rates: Any, low: Any, high: Any, first: int, last: int,
        ) -> None:  # fmt: skip
            stored = self._fill_orders(store, orders)
            times = sorted(o.placed_at for o in stored)
            since = self._bound(times, first, low)
            as_of = self._bound(times, last, high)
            args: dict[str, Any] = {
                "currency": "CNY", "as_of": as_of, "since": since, "customers": customers,
                "rates": rates, "customer_index": index,
            }  # fmt: skip
            self._same_outcome(
                lambda: store.order_frame(**args),
                lambda: OrderFrame.from_orders(
                    itertools.chain.from_iterable(store.orders.iter_chunks(3)), **args
                ),
            )

        self._given(
            check, orders="orders", customers="customers", index="index", rates="rates",
            low="edge", high="edge", first="pick", last="pick",
        )  # fmt: skip

    def test_window_bounds_are_inclusive_to_the_microsecond(self) -> None:
        def check(
            store: ColumnarStore, orders: list[Any], low: Any, high: Any, first: int, last: int
        ) -> None:
            stored = self._fill_orders(store, orders)
            times = sorted(o.placed_at for o in stored)
            since = self._bound(times, first, low)
            as_of = self._bound(times, last, high)
            try:
                frame = store.order_frame(currency="CNY", as_of=as_of, since=since, rates=_RATES)
            except ValidationError:
                return  # a total without a minor-unit value: the equality test covers it
            expected = sorted(
                o.id for o in stored
                if (since is None or o.placed_at >= since)
                and (as_of is None or o.placed_at <= as_of)
            )  # fmt: skip
            assert frame.order_id is not None
            assert sorted(frame.order_id.tolist()) == expected

        self._given(
            check, orders="orders", low="edge", high="edge", first="pick", last="pick"
        )

    def test_an_order_placed_exactly_at_as_of_or_since_is_in_the_frame(self) -> None:
        store = self._fresh()
        t = _T0.astimezone(_ZONES[1])
        store.orders.add_many(
            [
                _make_order("o-早", "客户-甲", t - timedelta(microseconds=1),
                            [("茶叶", 1, Decimal("1.00"))], "CNY", OrderStatus.PLACED, None, 1),
                _make_order("o-正", "客户-甲", t, [("茶叶", 2, Decimal("9.90"))], "CNY",
                            OrderStatus.CANCELLED, "小程序", 1),
                _make_order("o-晚", "客户-乙", t + timedelta(microseconds=1),
                            [("茶具", 1, Decimal("5.00"))], "CNY", OrderStatus.PLACED, None, 1),
            ]
        )  # fmt: skip
        frame = store.order_frame(currency="CNY", as_of=t, since=t)
        assert frame.order_id is not None
        assert frame.order_id.tolist() == ["o-正"]
        assert frame.amount.tolist() == [1980]
        assert frame.customer_ids.tolist() == ["客户-甲"]
        assert frame.channel_names == ("小程序",)
        assert len(store.order_frame(currency="CNY", as_of=t - timedelta(microseconds=2))) == 0

    def test_totals_are_exact_minor_units_or_refused_like_the_entities(self) -> None:
        store = self._fresh()
        t = _T0
        # 0.005 x 2 is 0.010: three decimals in the price, an exact total in fen.
        exact = _make_order("o-1", "c-1", t, [("茶叶", 2, Decimal("0.005")),
                            ("茶具", 1, Decimal("99999999.99"))], "CNY",
                            OrderStatus.PARTIALLY_RETURNED, None, 1)  # fmt: skip
        store.orders.add(exact)
        frame = store.order_frame(currency="CNY")
        assert frame.amount.tolist() == [10_000_000_000] == [exact.total.to_minor()]
        assert frame.returned_amount.tolist() == [exact.refunded.to_minor()]
        assert frame.category.tolist() == [frame.category_names.index("茶具")]
        # 0.005 x 3 is 0.015: no exact value in fen, so no frame (as from the entities).
        odd = _make_order("o-2", "c-1", t, [("茶叶", 3, Decimal("0.005"))], "CNY",
                          OrderStatus.PLACED, None, 1)  # fmt: skip
        store.orders.add(odd)
        with raises(ValidationError):
            OrderFrame.from_orders([odd], currency="CNY")
        with raises(ValidationError) as caught:
            store.order_frame(currency="CNY")
        assert "o-2" in str(caught.value)
        # Left out by the window, it no longer matters.
        assert len(store.order_frame(currency="CNY", since=t + timedelta(microseconds=1))) == 0
        assert len(store.order_frame(currency="CNY", customers=["c-2"])) == 0

    def test_order_frame_arguments_are_checked(self) -> None:
        store = self._fresh()
        with raises(ValidationError):
            store.order_frame(currency="XXX")
        with raises(ValidationError):
            store.order_frame(currency="CNY", as_of=datetime(2025, 1, 1))
        with raises(ValidationError):
            store.order_frame(currency="CNY", since=datetime(2025, 1, 1))
        with raises(ValidationError):
            store.order_frame(currency="CNY", customers="c-1")
        with raises(ValidationError):
            store.order_frame(currency="CNY", customers=[1, 2])  # type: ignore[list-item]
        with raises(ValidationError):
            store.order_frame(currency="CNY", rates={"USD": 7.1})

    # -- interactions ---------------------------------------------------------------------
    def test_interaction_frames_equal_the_frames_of_the_entities(self) -> None:
        def check(
            store: ColumnarStore, interactions: list[Any], customers: Any, kinds: Any,
            index: Any, low: Any, high: Any, first: int, last: int,
        ) -> None:  # fmt: skip
            stored = self._fill_interactions(store, interactions)
            times = sorted(i.at for i in stored)
            args: dict[str, Any] = {
                "as_of": self._bound(times, last, high), "since": self._bound(times, first, low),
                "customers": customers, "kinds": kinds, "customer_index": index,
            }  # fmt: skip
            self._same_outcome(
                lambda: store.interaction_frame(**args),
                lambda: InteractionFrame.from_interactions(
                    itertools.chain.from_iterable(store.interactions.iter_chunks(5)), **args
                ),
            )

        self._given(
            check, interactions="interactions", customers="customers", kinds="kinds",
            index="index", low="edge", high="edge", first="pick", last="pick",
        )  # fmt: skip

    def test_interaction_frame_arguments_are_checked(self) -> None:
        store = self._fresh()
        with raises(ValidationError):
            store.interaction_frame(as_of=datetime(2025, 1, 1))
        with raises(ValidationError):
            store.interaction_frame(kinds=["no such kind"])  # type: ignore[list-item]
        with raises(ValidationError):
            store.interaction_frame(kinds="review")  # type: ignore[arg-type]
        with raises(ValidationError):
            store.interaction_frame(customers="c-1")

    # -- loading columns ------------------------------------------------------------------
    def test_a_loaded_batch_is_stored_as_its_orders(self) -> None:
        store = self._fresh()
        statuses = [s.value for s in OrderStatus]
        batch = OrderBatch.from_arrays(
            order_id=[f"订单-{k}" for k in range(len(statuses))],
            customer_id=["客户-甲", "客户-乙"] * 3 + ["c-1"],
            placed_at=[_T0 + timedelta(minutes=k) for k in range(len(statuses))],
            amount=[1990, 0, 5, 100_000, 1, 77, 300],
            returned_amount=[0, 0, 0, 0, 0, 77, 150],
            currency="CNY",
            category=["茶叶", "茶具", "茶叶", "books", "茶叶", "茶具", "零食"],
            status=statuses,
            status_at=[_T0 + timedelta(days=1)] * len(statuses),
            channel=["小程序", None, "app", None, "web", None, "门店"],
        )
        assert store.load_orders(batch) == len(statuses)
        stored = list(itertools.chain.from_iterable(store.orders.iter_chunks()))
        assert sorted(stored, key=lambda o: o.id) == sorted(batch.to_orders(), key=lambda o: o.id)
        expected = OrderFrame.from_orders(
            sorted(batch.to_orders(), key=lambda o: (o.placed_at, o.id)), currency="CNY"
        )
        assert_frames_equal(store.order_frame(currency="CNY"), expected)

    def test_a_batch_with_a_stored_id_stores_nothing(self) -> None:
        store = self._fresh()
        first = OrderBatch.from_arrays(
            order_id=["o-1"], customer_id=["c-1"], placed_at=[_T0], amount=[1],
            currency="CNY", category="茶叶",
        )  # fmt: skip
        store.load_orders(first)
        clash = OrderBatch.from_arrays(
            order_id=["o-2", "o-1"], customer_id=["c-2", "c-2"], placed_at=[_T0, _T0],
            amount=[5, 6], currency="CNY", category="茶叶",
        )  # fmt: skip
        with raises(Conflict):
            store.load_orders(clash)
        assert [o.id for o in itertools.chain.from_iterable(store.orders.iter_chunks())] == [
            "o-1"
        ]
        with raises(ValidationError):
            store.load_orders("not a batch")  # type: ignore[arg-type]

    def test_from_store_reads_through_the_port(self) -> None:
        store = self._fresh()
        assert isinstance(store, ColumnarStore)
        self._fill_orders(
            store, [("客户-甲", _T0, [("茶叶", 1, Decimal("3.30"))], "CNY",
                     OrderStatus.DELIVERED, "app", 1)],
        )  # fmt: skip
        assert_frames_equal(
            OrderFrame.from_store(store, currency="CNY"), store.order_frame(currency="CNY")
        )
        assert_frames_equal(InteractionFrame.from_store(store), store.interaction_frame())
