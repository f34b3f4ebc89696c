"""The contract every :class:`custmgmt.ports.Store` keeps, as a reusable test suite.

A host checks its own store by subclassing :class:`StoreContract` in its tests and
saying how to make a fresh, empty store::

    from custmgmt.testing import StoreContract

    class TestMyStore(StoreContract):
        def make_store(self):
            return MyStore(...)

pytest collects the subclass (its name starts with ``Test``) and runs every
``test_...`` method against a new store, closing it afterwards (override
:meth:`StoreContract.close_store` to clean up more). The base class itself is never
collected. The suite needs nothing but the standard library, so it runs under
unittest-style runners too: call ``setup_method`` / ``teardown_method`` around each
test.

The ``closing`` tests hold every bundled store to one life cycle: after ``close()``
every repository call, ``transaction()``, frame read and bulk load raises
:class:`~custmgmt.errors.StorageError` ("the store is closed"); closing again does
nothing; leaving ``with store:`` closes it; a store closed inside its own transaction
ends that block with StorageError and keeps none of its writes; a lazy read started
before the close raises at its next step; a transaction another thread has open is
waited for. A host's store is held to them with ``closes_like_the_library = True``.
"""

from __future__ import annotations

import abc
import functools
import itertools
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

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
from custmgmt.errors import Conflict, NotFound, StorageError, ValidationError
from custmgmt.ports import ColumnarStore, Store
from custmgmt.testing._contract import Boom, ContractBase, raises

__all__ = ["StoreContract"]

_T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
_CST = timezone(timedelta(hours=8))  # China Standard Time
_EST = timezone(timedelta(hours=-5))
_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}-{next(_ids):06d}"


def _cny(text: str) -> Money:
    return Money(Decimal(text), "CNY")


def _customer(**overrides: Any) -> Customer:
    fields: dict[str, Any] = {
        "id": _id("c"),
        "name": "王芳",
        "registered_at": _T0,
    }
    fields.update(overrides)
    return Customer(**fields)


def _line(price: str = "88.00", currency: str = "CNY", **overrides: Any) -> OrderLine:
    fields: dict[str, Any] = {
        "sku": "SKU-1",
        "category": "茶叶",
        "quantity": 1,
        "unit_price": Money(Decimal(price), currency),
    }
    fields.update(overrides)
    return OrderLine(**fields)


def _order(**overrides: Any) -> Order:
    fields: dict[str, Any] = {
        "id": _id("o"),
        "customer_id": "c-any",
        "placed_at": _T0,
        "lines": (_line(),),
    }
    fields.update(overrides)
    return Order(**fields)


def _interaction(**overrides: Any) -> Interaction:
    fields: dict[str, Any] = {
        "id": _id("i"),
        "customer_id": "c-any",
        "kind": InteractionKind.BROWSE,
        "at": _T0,
    }
    fields.update(overrides)
    return Interaction(**fields)


def _read_capability(store: Any, name: str, read: Callable[[Any], object]) -> object:
    return read(getattr(store, name))


class StoreContract(ContractBase[Store], abc.ABC):
    """Behaviours every store keeps; subclass with ``make_store`` to run them.

    Each ``test_...`` method gets a fresh store from :meth:`make_store` in
    ``self.store``; :meth:`close_store` runs after it.
    """

    store: Store

    #: Whether two threads may use the store at once (False skips the race tests,
    #: e.g. for a store on a connection bound to one thread).
    threads_share_the_store: bool = True

    #: Whether the store words its Conflicts exactly as the bundled adapters do (a
    #: taken id, a stale copy). None: yes for the stores of ``custmgmt.adapters``,
    #: no for a host's own store, whose wording is its own (the rest of those tests
    #: still holds it: which id, which versions, nothing written).
    library_wording: bool | None = None

    #: Whether the store keeps the bundled adapters' closing rules (the ``closing``
    #: tests): after ``close()`` every repository call, ``transaction()``, frame read
    #: and bulk load raises StorageError; closing again does nothing; leaving a
    #: ``with store:`` block closes it; a transaction inside which the store was
    #: closed ends with StorageError, its writes rolled back; a lazy read started
    #: before the close raises at its next step. None: yes for the stores of
    #: ``custmgmt.adapters``, no for a host's own store (set True to check it too).
    closes_like_the_library: bool | None = None

    @abc.abstractmethod
    def make_store(self) -> Store:
        """Return a new, empty store for one test."""

    def close_store(self, store: Store) -> None:
        """Release the store after a test (default: ``store.close()``)."""
        store.close()

    def setup_method(self, method: object = None) -> None:
        """Make the store for the next test (pytest calls this)."""
        super().setup_method(method)
        self.store = self._fresh()

    def _open(self) -> Store:
        return self.make_store()

    def _holds_library_wording(self) -> bool:
        if self.library_wording is not None:
            return self.library_wording
        return type(self.store).__module__.startswith("custmgmt.adapters.")

    def _release(self, subject: Store) -> None:
        self.close_store(subject)

    def _checks_closing(self) -> bool:
        if self.closes_like_the_library is not None:
            return self.closes_like_the_library
        return type(self.store).__module__.startswith("custmgmt.adapters.")

    def _refused_as_closed(self, call: Callable[[], object], what: str) -> None:
        """``call()`` on the closed store raises StorageError saying it is closed."""
        try:
            call()
        except StorageError as exc:
            message = str(exc)
        else:
            raise AssertionError(f"{what} on a closed store raised no StorageError")
        if self._holds_library_wording():
            assert "the store is closed" in message, (what, message)

    # -- customers --------------------------------------------------------------------------
    def test_a_customer_reads_back_equal_to_what_was_added(self) -> None:
        customer = _customer(
            name="欧阳娜娜",
            gender=Gender.FEMALE,
            birth_date=date(1990, 2, 28),
            phone="+86 138-1234-5678",
            email="nana@example.cn",
            address=Address(
                country="CN",
                province="浙江省",
                city="杭州市",
                district="西湖区",
                street="文三路 90 号 3 幢 501 室",
                postal_code="310012",
            ),
            region="华东",
            occupation="工程师",
            acquisition_channel="微信",
            credit_limit=_cny("5000.00"),
            credit_rating="AA",
            tags={"VIP", "老客户"},
            consent=Consent(email=True, sms=False, social=True, updated_at=_T0),
        )
        self.store.customers.add(customer)
        assert self.store.customers.get(customer.id) == customer

    def test_a_business_customer_round_trips_with_its_profile_address_and_consent(self) -> None:
        customer = _customer(
            name="杭州西湖龙井茶业有限公司",
            kind=CustomerKind.BUSINESS,
            business=BusinessProfile(
                legal_name="杭州西湖龙井茶业有限公司",
                registration_number="91330100MA2XXXXX1Q",
                industry="茶叶批发",
                employees=120,
                annual_revenue=_cny("12345678.90"),
                contact_person="陈经理",
                situation="正在扩张华南市场；现金流紧张",
            ),
            address=Address(country="CN", city="杭州市", recipient="采购部 陈经理"),
            consent=Consent(email=True, updated_at=_T0.astimezone(_CST)),
        )
        self.store.customers.add(customer)
        got = self.store.customers.get(customer.id)
        assert got == customer
        assert got.business == customer.business
        assert got.consent.updated_at is not None
        assert got.consent.updated_at.utcoffset() == timedelta(hours=8)

    def test_getting_an_unknown_id_raises_not_found(self) -> None:
        with raises(NotFound) as raised:
            self.store.customers.get("nobody")
        assert raised.value.key == "nobody"
        with raises(NotFound):
            self.store.orders.get("no-order")
        with raises(NotFound):
            self.store.interactions.get("no-interaction")

    def test_adding_an_existing_id_raises_conflict_and_keeps_the_stored_entity(self) -> None:
        first = _customer(name="张伟")
        self.store.customers.add(first)
        with raises(Conflict) as raised:
            self.store.customers.add(_customer(id=first.id, name="李强"))
        assert raised.value.key == first.id
        assert self.store.customers.get(first.id) == first
        assert self.store.customers.count() == 1

    def test_add_many_stores_every_entity_and_returns_the_count(self) -> None:
        customers = [_customer(name=f"顾客{n}") for n in range(5)]
        assert self.store.customers.add_many(customers) == 5
        assert self.store.customers.count() == 5
        for customer in customers:
            assert self.store.customers.get(customer.id) == customer

    def test_add_many_accepts_a_generator(self) -> None:
        stored = self.store.orders.add_many(_order() for _ in range(3))
        assert stored == 3
        assert self.store.orders.count() == 3

    def test_add_many_with_an_id_repeated_in_the_batch_stores_nothing(self) -> None:
        batch = [_order(id="o-1"), _order(id="o-2"), _order(id="o-1")]
        with raises(Conflict) as raised:
            self.store.orders.add_many(batch)
        assert raised.value.key == "o-1"
        assert self.store.orders.count() == 0
        with raises(NotFound):
            self.store.orders.get("o-2")

    def test_add_many_with_an_id_already_stored_stores_nothing(self) -> None:
        existing = _interaction()
        self.store.interactions.add(existing)
        batch = [_interaction(), _interaction(), _interaction(id=existing.id)]
        with raises(Conflict) as raised:
            self.store.interactions.add_many(batch)
        assert raised.value.key == existing.id
        assert self.store.interactions.count() == 1
        assert self.store.interactions.get(existing.id) == existing

    def test_a_taken_id_is_named_first_in_batch_order_and_worded_alike_everywhere(
        self,
    ) -> None:
        # Ids chosen so that the first offender in batch order is not the least id:
        # a store must not report whichever one its index finds first.
        self.store.customers.add_many([_customer(id="c-zz"), _customer(id="c-aa")])
        batches = [
            # (batch, the id named, why)
            (["c-new1", "c-zz", "c-aa", "c-new1"], "c-zz", "stored"),
            (["c-new2", "c-new3", "c-new2", "c-aa"], "c-new2", "repeats"),
            (["c-zz"], "c-zz", "stored"),
            (["c-aa", "c-aa"], "c-aa", "stored"),
        ]
        for ids, named, why in batches:
            with raises(Conflict) as raised:
                self.store.customers.add_many([_customer(id=i) for i in ids])
            error = raised.value
            assert (error.entity, error.key) == ("customer", named), ids
            assert (error.expected_version, error.actual_version) == (None, None)
            if self._holds_library_wording():
                reason = (
                    "an entity with this id is already stored"
                    if why == "stored"
                    else "the id repeats within the batch"
                )
                assert str(error) == f"customer {named!r}: {reason}; nothing was added"
            assert self.store.customers.count() == 2
        with raises(Conflict) as raised:
            self.store.orders.add_many([_order(id="o-x"), _order(id="o-x")])
        if self._holds_library_wording():
            assert str(raised.value) == (
                "order 'o-x': the id repeats within the batch; nothing was added"
            )
        assert self.store.orders.count() == 0
        stored = _interaction()
        self.store.interactions.add(stored)
        with raises(Conflict) as raised:
            self.store.interactions.add(_interaction(id=stored.id))
        if self._holds_library_wording():
            assert str(raised.value) == (
                f"interaction {stored.id!r}: an entity with this id is already stored; "
                "nothing was added"
            )

    def test_a_stale_copys_conflict_says_only_what_is_true_of_it(self) -> None:
        customer = _customer()
        self.store.customers.add(customer)
        later = _T0 + timedelta(days=1)
        theirs = customer.update_profile(at=later, region="华北")
        mine = customer.update_profile(at=later, region="华南")
        twice = theirs.update_profile(at=later, region="西南").update_profile(
            at=later, region="东北"
        )
        # (copy, stored version, what the message must say); ``theirs`` is stored
        # before the third case.
        cases: list[tuple[Customer, int, str]] = [
            (
                _customer(id=customer.id, name="另一个"),  # built fresh: version 1
                1,
                ("stored version is 1, but this copy is version 1, never changed: update "
                 "takes the stored version changed once (get it, change it, then update)"),
            ),
            (
                customer,  # the stored version, unchanged
                1,
                ("stored version is 1 and this copy is that version, unchanged: there is "
                 "nothing to update (change it, then update)"),
            ),
            (
                mine,  # changed from version 1 after another change was stored
                2,
                ("stored version is 2 and this copy is version 2 too, but differs from "
                 "it: another version 2 was stored first (reload, change once, then update)"),
            ),
            (
                twice,
                2,
                ("stored version is 2, but this copy is version 4, 2 changes ahead: an "
                 "update stores one change (update after each change, or reload, change "
                 "once, then update)"),
            ),
        ]  # fmt: skip
        for n, (copy, stored_version, said) in enumerate(cases):
            if n == 2:
                self.store.customers.update(theirs)
            with raises(Conflict) as raised:
                self.store.customers.update(copy)
            error = raised.value
            assert error.key == customer.id
            assert error.actual_version == stored_version
            assert error.expected_version == copy.version - 1
            if self._holds_library_wording():
                assert str(error) == f"customer {customer.id!r}: {said}"
            # No message claims a version the copy was never made from.
            assert "made from version" not in str(error)
            assert self.store.customers.get(customer.id).version == stored_version
        orders = self.store.orders
        order = _order()
        orders.add(order)
        paid = order.pay(later)
        orders.update(paid)
        with raises(Conflict) as raised:
            orders.update(order)  # an unchanged copy of version 1, now stale
        if self._holds_library_wording():
            assert str(raised.value) == (
                f"order {order.id!r}: stored version is 2, but this copy is version 1, "
                "never changed: update takes the stored version changed once (get it, "
                "change it, then update)"
            )
        assert orders.get(order.id) == paid

    def test_update_replaces_the_entity_with_the_changed_copy(self) -> None:
        customer = _customer()
        self.store.customers.add(customer)
        changed = customer.update_profile(
            at=_T0 + timedelta(days=1), name="王芳芳", phone="13912345678"
        )
        self.store.customers.update(changed)
        got = self.store.customers.get(customer.id)
        assert got == changed
        assert got.version == customer.version + 1

    def test_updating_an_unknown_id_raises_not_found(self) -> None:
        with raises(NotFound):
            self.store.customers.update(_customer(version=2))
        with raises(NotFound):
            self.store.orders.update(_order(version=2))
        with raises(NotFound):
            self.store.interactions.update(_interaction(version=2))

    def test_a_stale_update_raises_conflict_naming_both_versions_and_writes_nothing(
        self,
    ) -> None:
        customer = _customer()
        self.store.customers.add(customer)
        mine = customer.update_profile(at=_T0, region="华南")
        theirs = customer.update_profile(at=_T0, region="华北")
        self.store.customers.update(theirs)
        with raises(Conflict) as raised:
            self.store.customers.update(mine)
        assert raised.value.expected_version == 1
        assert raised.value.actual_version == 2
        assert self.store.customers.get(customer.id) == theirs

    def test_a_copy_changed_twice_without_saving_is_a_conflict(self) -> None:
        order = _order()
        self.store.orders.add(order)
        twice = order.pay(_T0 + timedelta(hours=1)).ship(_T0 + timedelta(hours=2))
        with raises(Conflict) as raised:
            self.store.orders.update(twice)
        assert raised.value.expected_version == 2
        assert raised.value.actual_version == 1
        assert self.store.orders.get(order.id) == order

    def test_remove_deletes_the_entity_and_its_id_can_be_used_again(self) -> None:
        order = _order(lines=(_line(), _line(sku="SKU-2")))
        self.store.orders.add(order)
        self.store.orders.remove(order.id)
        with raises(NotFound):
            self.store.orders.get(order.id)
        assert self.store.orders.count() == 0
        again = _order(id=order.id, lines=(_line(sku="SKU-9"),))
        self.store.orders.add(again)
        assert self.store.orders.get(order.id) == again

    def test_removing_an_unknown_id_raises_not_found(self) -> None:
        with raises(NotFound):
            self.store.customers.remove("nobody")
        with raises(NotFound):
            self.store.orders.remove("no-order")
        with raises(NotFound):
            self.store.interactions.remove("no-interaction")

    def test_removing_a_customer_with_orders_and_interactions_is_a_conflict_naming_them(
        self,
    ) -> None:
        kept = _customer(name="张伟")
        friend = _customer()
        self.store.customers.add_many([kept, friend])
        orders = [_order(customer_id=kept.id) for _ in range(2)]
        self.store.orders.add_many(orders)
        browse = _interaction(customer_id=kept.id)
        referral = _interaction(
            customer_id=friend.id,
            kind=InteractionKind.REFERRAL,
            details=Referral(referred_customer_id=kept.id),
        )
        self.store.interactions.add_many([browse, referral])
        with raises(Conflict) as raised:
            self.store.customers.remove(kept.id)
        assert raised.value.entity == "customer"
        assert raised.value.key == kept.id
        assert dict(raised.value.dependents) == {"orders": 2, "interactions": 1, "referrals": 1}
        assert "2 orders" in str(raised.value)
        assert "1 interactions" in str(raised.value)
        assert self.store.customers.get(kept.id) == kept
        assert self.store.orders.count() == 2
        # The referring customer has only its own interaction.
        with raises(Conflict) as raised:
            self.store.customers.remove(friend.id)
        assert dict(raised.value.dependents) == {"interactions": 1}
        # Once nothing belongs to it any more, the customer goes.
        for order in orders:
            self.store.orders.remove(order.id)
        self.store.interactions.remove(browse.id)
        self.store.interactions.remove(referral.id)
        self.store.customers.remove(kept.id)
        with raises(NotFound):
            self.store.customers.get(kept.id)

    def test_a_dependent_written_earlier_in_the_same_transaction_blocks_the_removal(
        self,
    ) -> None:
        customer = _customer()
        self.store.customers.add(customer)
        with raises(Conflict) as raised, self.store.transaction():
            self.store.orders.add(_order(customer_id=customer.id))
            self.store.customers.remove(customer.id)
        assert dict(raised.value.dependents) == {"orders": 1}
        assert self.store.customers.get(customer.id) == customer
        assert self.store.orders.count() == 0

    def test_tickets_and_ratings_of_a_customer_block_its_removal(self) -> None:
        from custmgmt.rating import Override
        from custmgmt.rating.ports import RatingStore
        from custmgmt.tickets import Ticket
        from custmgmt.tickets.ports import TicketStore

        customer = _customer()
        self.store.customers.add(customer)
        expected: dict[str, int] = {}
        if isinstance(self.store, TicketStore):
            self.store.tickets.add(
                Ticket.open(
                    id=_id("T"), customer_id=customer.id, category="inquiry",
                    priority="normal", subject="发票", at=_T0, actor="web",
                )
            )
            expected["tickets"] = 1
        if isinstance(self.store, RatingStore):
            self.store.ratings.add_override(
                Override.request(
                    id=_id("ov"), customer_id=customer.id, stars=5, reason="年度合同",
                    expires_at=_T0 + timedelta(days=30), requested_by="alice", at=_T0,
                )
            )
            expected["overrides"] = 1
        if not expected:
            return  # a store without these capabilities has nothing of theirs to keep
        with raises(Conflict) as raised:
            self.store.customers.remove(customer.id)
        assert dict(raised.value.dependents) == expected
        assert self.store.customers.get(customer.id) == customer

    def test_a_removal_racing_an_order_never_leaves_an_order_without_its_customer(
        self,
    ) -> None:
        if not self.threads_share_the_store:
            return
        import threading

        for _ in range(15):
            customer = _customer()
            self.store.customers.add(customer)
            start = threading.Barrier(2)
            outcome: dict[str, BaseException | None] = {}

            def place(
                cid: str = customer.id,
                start: threading.Barrier = start,
                outcome: dict[str, BaseException | None] = outcome,
            ) -> None:
                start.wait()
                try:
                    with self.store.transaction():
                        self.store.customers.get(cid)
                        self.store.orders.add(_order(customer_id=cid))
                    outcome["place"] = None
                except (NotFound, Conflict) as exc:
                    outcome["place"] = exc

            def remove(
                cid: str = customer.id,
                start: threading.Barrier = start,
                outcome: dict[str, BaseException | None] = outcome,
            ) -> None:
                start.wait()
                try:
                    self.store.customers.remove(cid)
                    outcome["remove"] = None
                except (NotFound, Conflict) as exc:
                    outcome["remove"] = exc

            workers = [threading.Thread(target=place), threading.Thread(target=remove)]
            for w in workers:
                w.start()
            for w in workers:
                w.join(timeout=30)
            orders = self.store.orders.for_customer(customer.id)
            try:
                self.store.customers.get(customer.id)
                present = True
            except NotFound:
                present = False
            # Exactly one of the two wins; an order never outlives its customer.
            assert present or not orders, "an order was left without its customer"
            assert (outcome["place"] is None) != (outcome["remove"] is None), outcome
            for order in orders:
                self.store.orders.remove(order.id)

    def test_count_follows_adds_and_removes(self) -> None:
        assert self.store.interactions.count() == 0
        items = [_interaction() for _ in range(4)]
        self.store.interactions.add_many(items)
        self.store.interactions.remove(items[0].id)
        assert self.store.interactions.count() == 3

    def test_customers_stream_by_id_in_bounded_chunks_covering_everything_once(self) -> None:
        customers = [_customer(id=f"c-{n:03d}") for n in reversed(range(23))]
        self.store.customers.add_many(customers)
        chunks = list(self.store.customers.iter_chunks(5))
        assert all(0 < len(chunk) <= 5 for chunk in chunks)
        ids = [c.id for chunk in chunks for c in chunk]
        assert ids == sorted(c.id for c in customers)

    def test_iter_chunks_refuses_a_size_that_is_not_a_positive_integer(self) -> None:
        for size in (0, -3, 2.5, "10"):
            with raises(ValidationError):
                self.store.orders.iter_chunks(size)  # type: ignore[arg-type]

    # -- orders -----------------------------------------------------------------------------
    def test_decimal_prices_stay_exact(self) -> None:
        order = _order(lines=(_line("0.10"), _line("0.20", sku="SKU-2", quantity=3)))
        self.store.orders.add(order)
        got = self.store.orders.get(order.id)
        assert got == order
        assert [line.unit_price.amount for line in got.lines] == [
            Decimal("0.10"),
            Decimal("0.20"),
        ]
        assert got.total == _cny("0.70")
        assert str(got.lines[0].unit_price.amount) == "0.10"

    def test_money_in_yen_and_three_digit_dinars_is_exact(self) -> None:
        yen = _order(lines=(_line("1500", "JPY", quantity=2),))
        dinars = _order(lines=(_line("1.234", "BHD"), _line("0.001", "BHD", sku="SKU-2")))
        self.store.orders.add_many([yen, dinars])
        assert self.store.orders.get(yen.id).total == Money(Decimal(3000), "JPY")
        got = self.store.orders.get(dinars.id)
        assert got == dinars
        assert got.total == Money(Decimal("1.235"), "BHD")

    def test_order_lines_keep_their_order_and_fields(self) -> None:
        lines = tuple(
            _line(f"{n}.99", sku=f"SKU-{9 - n}", category=f"类目{n}", quantity=n + 1)
            for n in range(5)
        )
        order = _order(lines=lines, channel="小程序")
        self.store.orders.add(order)
        assert self.store.orders.get(order.id).lines == lines

    def test_order_status_timestamps_and_returned_amount_round_trip(self) -> None:
        order = _order(lines=(_line("100.00", quantity=2),))
        self.store.orders.add(order)
        steps: list[Callable[[Order], Order]] = [
            lambda o: o.pay(_T0 + timedelta(minutes=5)),
            lambda o: o.ship(_T0.astimezone(_EST) + timedelta(days=1)),
            lambda o: o.deliver(_T0.astimezone(_CST) + timedelta(days=3)),
            lambda o: o.record_return(_cny("50.00"), _T0 + timedelta(days=10)),
            lambda o: o.record_return(_cny("150.00"), _T0 + timedelta(days=11)),
        ]
        for step in steps:
            order = step(order)
            self.store.orders.update(order)
            assert self.store.orders.get(order.id) == order
        got = self.store.orders.get(order.id)
        assert got.status is OrderStatus.RETURNED
        assert got.returned_amount == _cny("200.00")
        assert got.shipped_at is not None
        assert got.shipped_at.utcoffset() == timedelta(hours=-5)
        cancelled = _order().cancel(_T0 + timedelta(hours=1))
        self.store.orders.add(cancelled)
        assert self.store.orders.get(cancelled.id).cancelled_at == cancelled.cancelled_at

    def test_timestamps_keep_their_utc_offset(self) -> None:
        registered = datetime(2025, 5, 1, 23, 30, 0, 123456, tzinfo=_CST)
        customer = _customer(registered_at=registered)
        order = _order(placed_at=datetime(2025, 5, 1, 10, 0, tzinfo=_EST))
        interaction = _interaction(at=datetime(2025, 5, 2, 8, 0, tzinfo=_CST))
        self.store.customers.add(customer)
        self.store.orders.add(order)
        self.store.interactions.add(interaction)
        got_registered = self.store.customers.get(customer.id).registered_at
        got_placed = self.store.orders.get(order.id).placed_at
        got_at = self.store.interactions.get(interaction.id).at
        assert got_registered == registered
        assert got_registered.utcoffset() == timedelta(hours=8)
        assert got_registered.microsecond == 123456
        assert got_placed == order.placed_at
        assert got_placed.utcoffset() == timedelta(hours=-5)
        assert got_at == interaction.at
        assert got_at.utcoffset() == timedelta(hours=8)

    def test_for_customer_lists_orders_oldest_first_with_ties_broken_by_id(self) -> None:
        same_time = _T0 + timedelta(days=2)
        orders = [
            _order(id="o-c", customer_id="c-1", placed_at=same_time),
            _order(id="o-a", customer_id="c-1", placed_at=same_time.astimezone(_CST)),
            _order(id="o-z", customer_id="c-1", placed_at=_T0.astimezone(_EST)),
            _order(id="o-b", customer_id="c-2", placed_at=_T0),
        ]
        self.store.orders.add_many(orders)
        assert [o.id for o in self.store.orders.for_customer("c-1")] == ["o-z", "o-a", "o-c"]
        assert self.store.orders.for_customer("nobody") == []

    def test_between_is_half_open_and_ordered_by_time_then_id(self) -> None:
        start, end = _T0, _T0 + timedelta(days=1)
        orders = [
            _order(id="before", placed_at=start - timedelta(microseconds=1)),
            _order(id="at-start-b", placed_at=start.astimezone(_CST)),
            _order(id="at-start-a", placed_at=start),
            _order(id="inside", placed_at=(start + timedelta(hours=5)).astimezone(_EST)),
            _order(id="last", placed_at=end - timedelta(microseconds=1)),
            _order(id="at-end", placed_at=end),
        ]
        self.store.orders.add_many(orders)
        found = [o.id for o in self.store.orders.between(start, end)]
        assert found == ["at-start-a", "at-start-b", "inside", "last"]
        assert list(self.store.orders.between(start, start)) == []
        # The range is a pair of instants: the same range written in +08:00 agrees.
        shifted = [o.id for o in self.store.orders.between(start.astimezone(_CST), end)]
        assert shifted == found

    def test_between_refuses_naive_datetimes_and_reversed_ranges(self) -> None:
        naive = datetime(2025, 1, 1)
        with raises(ValidationError):
            self.store.orders.between(naive, _T0)
        with raises(ValidationError):
            self.store.interactions.between(_T0, naive)
        with raises(ValidationError):
            self.store.orders.between(_T0, _T0 - timedelta(seconds=1))

    def test_orders_stream_by_time_in_bounded_chunks_covering_everything_once(self) -> None:
        orders = [
            _order(placed_at=_T0 + timedelta(hours=(n * 7) % 31), lines=(_line(),) * (1 + n % 3))
            for n in range(31)
        ]
        self.store.orders.add_many(orders)
        chunks = list(self.store.orders.iter_chunks(4))
        assert all(0 < len(chunk) <= 4 for chunk in chunks)
        streamed = [o for chunk in chunks for o in chunk]
        assert sorted(o.id for o in streamed) == sorted(o.id for o in orders)
        keys = [(o.placed_at, o.id) for o in streamed]
        assert keys == sorted(keys)
        assert {o.id: o for o in streamed} == {o.id: o for o in orders}

    # -- interactions -----------------------------------------------------------------------
    def test_chinese_review_and_complaint_texts_round_trip(self) -> None:
        review = _interaction(
            kind=InteractionKind.REVIEW,
            details=Review(rating=4, text="包装很用心，物流快！就是价格有点贵😅"),
            sku="SKU-1",
            channel="淘宝",
        )
        complaint = _interaction(
            kind=InteractionKind.COMPLAINT,
            details=Complaint(
                category=ComplaintCategory.LOGISTICS, text="快递三天没更新，客服不回复。"
            ),
            order_id="o-1",
        )
        self.store.interactions.add_many([review, complaint])
        assert self.store.interactions.get(review.id) == review
        assert self.store.interactions.get(complaint.id) == complaint

    def test_every_kind_of_interaction_details_round_trips(self) -> None:
        items = [
            _interaction(kind=InteractionKind.SEARCH, details=Search(query="龙井 明前 250g")),
            _interaction(
                kind=InteractionKind.REFERRAL, details=Referral(referred_customer_id="c9")
            ),
            _interaction(kind=InteractionKind.REVIEW, details=Review(rating=1)),
            _interaction(kind=InteractionKind.FAVORITE, sku="SKU-7"),
            _interaction(kind=InteractionKind.PURCHASE, order_id="o-7", channel="app"),
        ]
        self.store.interactions.add_many(items)
        for item in items:
            assert self.store.interactions.get(item.id) == item

    def test_resolving_a_complaint_is_an_update(self) -> None:
        complaint = _interaction(
            kind=InteractionKind.COMPLAINT,
            details=Complaint(category=ComplaintCategory.PRODUCT_QUALITY, text="茶叶受潮"),
        )
        self.store.interactions.add(complaint)
        resolved = complaint.resolve_complaint()
        self.store.interactions.update(resolved)
        got = self.store.interactions.get(complaint.id)
        assert isinstance(got.details, Complaint)
        assert got.details.resolved
        assert got.version == 2

    def test_interactions_for_a_customer_filter_by_kinds_oldest_first(self) -> None:
        items = [
            _interaction(id="i-3", customer_id="c-1", at=_T0 + timedelta(hours=3)),
            _interaction(
                id="i-1",
                customer_id="c-1",
                at=_T0 + timedelta(hours=1),
                kind=InteractionKind.REVIEW,
                details=Review(rating=5, text="好"),
            ),
            _interaction(id="i-2", customer_id="c-1", at=_T0 + timedelta(hours=2)),
            _interaction(id="i-4", customer_id="c-2", at=_T0),
        ]
        self.store.interactions.add_many(items)
        every = self.store.interactions.for_customer("c-1")
        assert [i.id for i in every] == ["i-1", "i-2", "i-3"]
        browsing = self.store.interactions.for_customer("c-1", kinds={InteractionKind.BROWSE})
        assert [i.id for i in browsing] == ["i-2", "i-3"]
        assert self.store.interactions.for_customer("nobody") == []

    def test_interactions_between_filter_by_kinds(self) -> None:
        items = [
            _interaction(id="i-a", at=_T0),
            _interaction(id="i-b", at=_T0 + timedelta(hours=1), kind=InteractionKind.CART),
            _interaction(id="i-c", at=_T0 + timedelta(hours=2), kind=InteractionKind.SHARE),
            _interaction(id="i-d", at=_T0 + timedelta(days=2), kind=InteractionKind.CART),
        ]
        self.store.interactions.add_many(items)
        end = _T0 + timedelta(days=1)
        assert [i.id for i in self.store.interactions.between(_T0, end)] == ["i-a", "i-b", "i-c"]
        kinds = [InteractionKind.CART, InteractionKind.SHARE]
        found = self.store.interactions.between(_T0, end, kinds=kinds)
        assert [i.id for i in found] == ["i-b", "i-c"]

    def test_interactions_stream_by_time_in_bounded_chunks(self) -> None:
        items = [_interaction(at=_T0 - timedelta(minutes=n)) for n in range(10)]
        self.store.interactions.add_many(items)
        chunks = list(self.store.interactions.iter_chunks(3))
        assert [len(chunk) for chunk in chunks] == [3, 3, 3, 1]
        streamed = [i.id for chunk in chunks for i in chunk]
        assert streamed == [i.id for i in reversed(items)]

    # -- transactions -----------------------------------------------------------------------
    def test_writes_in_a_transaction_commit_together(self) -> None:
        customer = _customer()
        with self.store.transaction():
            self.store.customers.add(customer)
            self.store.orders.add(_order(customer_id=customer.id))
            self.store.interactions.add(_interaction(customer_id=customer.id))
        assert self.store.customers.get(customer.id) == customer
        assert len(self.store.orders.for_customer(customer.id)) == 1
        assert len(self.store.interactions.for_customer(customer.id)) == 1

    def test_a_failed_transaction_rolls_back_writes_to_every_repository(self) -> None:
        kept = _customer(name="赵敏")
        old_order = _order()
        old_interaction = _interaction()
        self.store.customers.add(kept)
        self.store.orders.add(old_order)
        self.store.interactions.add(old_interaction)

        with raises(Boom), self.store.transaction():
            self.store.customers.add(_customer(id="c-new"))
            self.store.customers.update(kept.update_profile(at=_T0, name="周芷若"))
            self.store.orders.add_many([_order(id="o-new"), _order(id="o-new-2")])
            self.store.orders.remove(old_order.id)
            self.store.interactions.update(
                _interaction(id=old_interaction.id, version=2, kind="share")
            )
            raise Boom
        assert self.store.customers.get(kept.id) == kept
        assert self.store.customers.count() == 1
        assert self.store.orders.get(old_order.id) == old_order
        assert self.store.orders.count() == 1
        assert self.store.interactions.get(old_interaction.id) == old_interaction

    def test_a_conflict_inside_a_transaction_rolls_back_the_whole_block(self) -> None:
        existing = _customer()
        self.store.customers.add(existing)
        with raises(Conflict), self.store.transaction():
            self.store.orders.add(_order(id="o-in-block"))
            self.store.customers.add(_customer(id=existing.id))
        assert self.store.orders.count() == 0

    def test_a_nested_transaction_joins_the_outer_one(self) -> None:
        with raises(Boom), self.store.transaction():
            with self.store.transaction():
                self.store.customers.add(_customer(id="c-inner"))
            # The inner block is over, but the outer one decides.
            self.store.orders.add(_order(id="o-outer"))
            raise Boom
        assert self.store.customers.count() == 0
        assert self.store.orders.count() == 0
        with self.store.transaction(), self.store.transaction():
            self.store.customers.add(_customer(id="c-inner"))
        assert self.store.customers.get("c-inner").id == "c-inner"

    def test_a_failed_add_many_inside_a_transaction_stores_none_of_its_batch(self) -> None:
        taken = _order(id="o-taken")
        self.store.orders.add(taken)
        with self.store.transaction():
            self.store.customers.add(_customer(id="c-kept"))
            with suppress(Conflict):  # the block goes on: its other writes still commit
                self.store.orders.add_many([_order(id="o-fresh"), _order(id="o-taken")])
        assert self.store.customers.get("c-kept").id == "c-kept"
        assert self.store.orders.count() == 1
        with raises(NotFound):
            self.store.orders.get("o-fresh")

    # -- closing ----------------------------------------------------------------------------
    def _closed_store_calls(self, store: Any) -> dict[str, Callable[[], object]]:
        """One call of each kind a store answers, for a store closed with data in it."""
        at = _T0 - timedelta(days=1), _T0 + timedelta(days=1)
        calls: dict[str, Callable[[], object]] = {
            "customers.get": lambda: store.customers.get("c-kept"),
            "customers.add": lambda: store.customers.add(_customer()),
            "customers.add_many": lambda: store.customers.add_many([_customer()]),
            "customers.update": lambda: store.customers.update(
                _customer(id="c-kept", version=2)
            ),
            "customers.remove": lambda: store.customers.remove("c-kept"),
            "customers.count": lambda: store.customers.count(),
            "customers.iter_chunks": lambda: list(store.customers.iter_chunks()),
            "orders.get": lambda: store.orders.get("o-kept"),
            "orders.add": lambda: store.orders.add(_order()),
            "orders.for_customer": lambda: store.orders.for_customer("c-kept"),
            "orders.between": lambda: list(store.orders.between(*at)),
            "orders.iter_chunks": lambda: list(store.orders.iter_chunks()),
            "orders.count": lambda: store.orders.count(),
            "interactions.get": lambda: store.interactions.get("i-kept"),
            "interactions.add": lambda: store.interactions.add(_interaction()),
            "interactions.for_customer": lambda: store.interactions.for_customer("c-kept"),
            "interactions.between": lambda: list(store.interactions.between(*at)),
            "interactions.iter_chunks": lambda: list(store.interactions.iter_chunks()),
            "transaction": lambda: store.transaction().__enter__(),
        }
        if isinstance(store, ColumnarStore):
            from custmgmt.analytics.batches import OrderBatch

            batch = OrderBatch.from_arrays(
                order_id=["o-batch"], customer_id=["c-kept"], placed_at=[_T0],
                amount=[1990], currency="CNY", category="茶叶",
            )  # fmt: skip
            calls["order_frame"] = lambda: store.order_frame(currency="CNY")
            calls["interaction_frame"] = lambda: store.interaction_frame()
            calls["load_orders"] = lambda: store.load_orders(batch)
        # The bundled capabilities, where the store has them: one read each.
        capability_reads: dict[str, Callable[[Any], object]] = {
            "tickets": lambda r: r.count(),
            "ratings": lambda r: r.list_runs(),
            "prospects": lambda r: r.count(),
            "agents": lambda r: r.count(),
            "assignments": lambda r: r.count(),
            "campaigns": lambda r: r.list_campaigns(),
            "followups": lambda r: r.plans(),
            "loyalty": lambda r: r.count(),
            "risk": lambda r: r.scorecards(),
            "privacy": lambda r: r.last_audit(),
        }
        offered = set(getattr(store, "capabilities", ()))
        for name, read in capability_reads.items():
            if name in offered:
                calls[f"{name} read"] = functools.partial(_read_capability, store, name, read)
        return calls

    def _store_with_data(self) -> Store:
        # The test's one store: hosts' close_store hooks clean up after one store.
        store = self.store
        store.customers.add(_customer(id="c-kept"))
        store.orders.add(_order(id="o-kept", customer_id="c-kept"))
        store.interactions.add(_interaction(id="i-kept", customer_id="c-kept"))
        return store

    def test_every_call_on_a_closed_store_raises_storage_error_saying_it_is_closed(
        self,
    ) -> None:
        if not self._checks_closing():
            return
        store = self._store_with_data()
        store.close()
        for what, call in self._closed_store_calls(store).items():
            self._refused_as_closed(call, what)

    def test_closing_twice_does_nothing_and_the_store_stays_closed(self) -> None:
        if not self._checks_closing():
            return
        store = self._store_with_data()
        store.close()
        store.close()
        self._refused_as_closed(store.customers.count, "customers.count")

    def test_leaving_a_with_block_closes_the_store(self) -> None:
        if not self._checks_closing():
            return
        store: Any = self._store_with_data()
        with store as same:
            assert same is store
            assert store.customers.count() == 1
        self._refused_as_closed(store.customers.count, "customers.count")

    def test_leaving_a_with_block_by_an_exception_closes_the_store(self) -> None:
        if not self._checks_closing():
            return
        store: Any = self._store_with_data()
        with raises(Boom), store:
            raise Boom
        self._refused_as_closed(store.customers.count, "customers.count")

    def test_closing_inside_a_transaction_rolls_it_back_and_ends_it_with_storage_error(
        self,
    ) -> None:
        """Closing wins: the store refuses every call at once; the block, left normally
        or by its own exception, undoes its writes; left normally it raises
        StorageError, so no caller takes the block for committed."""
        if not self._checks_closing():
            return
        store = self._store_with_data()
        with raises(StorageError) as ended, store.transaction():
            store.customers.add(_customer(id="c-before-close"))
            with store.transaction():
                store.orders.add(_order(id="o-before-close", customer_id="c-kept"))
            store.close()
            self._refused_as_closed(
                lambda: store.customers.add(_customer()), "customers.add inside"
            )
            self._refused_as_closed(store.transaction().__enter__, "nested transaction")
        if self._holds_library_wording():
            assert "closed inside a transaction" in str(ended.value), str(ended.value)
            assert "rolled back" in str(ended.value), str(ended.value)
        self._refused_as_closed(store.customers.count, "customers.count")

    def test_a_transaction_left_by_its_own_exception_after_a_close_raises_that_one(
        self,
    ) -> None:
        if not self._checks_closing():
            return
        store = self._store_with_data()
        with raises(Boom), store.transaction():
            store.customers.add(_customer())
            store.close()
            raise Boom
        self._refused_as_closed(store.customers.count, "customers.count")

    def test_a_lazy_read_started_before_close_raises_at_its_next_step(self) -> None:
        if not self._checks_closing():
            return
        store = self.store
        store.customers.add_many([_customer() for _ in range(3)])
        store.orders.add_many([_order(customer_id="c-kept") for _ in range(3)])
        chunks = store.customers.iter_chunks(1)
        assert len(next(chunks)) == 1
        orders = store.orders.between(_T0 - timedelta(days=1), _T0 + timedelta(days=1))
        assert next(orders).customer_id == "c-kept"
        store.close()
        self._refused_as_closed(lambda: next(chunks), "iter_chunks, next chunk")
        # A page read before the close may still come out, never the end of the read.
        self._refused_as_closed(lambda: list(orders), "between, the rest")

    def test_closing_waits_for_another_threads_transaction_to_end(self) -> None:
        """A transaction another thread has open ends as it would have (committing);
        the store is closed after it."""
        if not self._checks_closing() or not self.threads_share_the_store:
            return
        import threading
        import time

        store = self.store
        inside, go_on = threading.Event(), threading.Event()
        outcome: dict[str, BaseException | None] = {}

        def work() -> None:
            try:
                with store.transaction():
                    store.customers.add(_customer(id="c-first"))
                    inside.set()
                    go_on.wait()
                    store.customers.add(_customer(id="c-second"))
                outcome["work"] = None
            except BaseException as exc:  # reported below
                outcome["work"] = exc
            finally:
                inside.set()

        def close() -> None:
            try:
                store.close()
                outcome["close"] = None
            except BaseException as exc:  # reported below
                outcome["close"] = exc

        worker = threading.Thread(target=work)
        worker.start()
        inside.wait()
        closer = threading.Thread(target=close)
        closer.start()
        time.sleep(0.05)  # lets close() start waiting; the outcome is the same without it
        go_on.set()
        worker.join()
        closer.join()
        assert outcome == {"work": None, "close": None}, outcome
        self._refused_as_closed(store.customers.count, "customers.count")
