"""Domain objects materialised from the synthetic arrays, chunk by chunk.

The arrays (:mod:`custmgmt.datasets.arrays`) are the single source of truth; this
module only dresses rows up as :class:`~custmgmt.domain.Customer`,
:class:`~custmgmt.domain.Order` and :class:`~custmgmt.domain.Interaction` objects.
Details the arrays do not hold (names, addresses, line splits, texts, step times) come
from a hash of the row's id, so a chunk materialises the same way whatever the chunk
size, and only one chunk of objects exists at a time.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any, TypeVar

import attrs
import numpy as np

from custmgmt.datasets import _vocab as vocab
from custmgmt.datasets._params import check_count
from custmgmt.datasets.arrays import (
    DEFAULT_AS_OF,
    STREAM_CUSTOMER_DETAILS,
    STREAM_INTERACTION_DETAILS,
    STREAM_ORDER_DETAILS,
    CustomerArrays,
    SyntheticArrays,
    hash_uniform,
    make_arrays,
    order_lags,
)
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
from custmgmt.domain.money import currency_digits
from custmgmt.errors import ValidationError

__all__ = ["CHINA_TZ", "DEFAULT_CHUNK_SIZE", "SyntheticDataset", "make_dataset"]

#: China Standard Time (UTC+08:00, no daylight saving): the default display zone.
CHINA_TZ = timezone(timedelta(hours=8), "CST")
#: Objects per chunk when streaming.
DEFAULT_CHUNK_SIZE = 10_000

T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STATUSES = tuple(OrderStatus)
_KINDS = tuple(InteractionKind)
_GENDERS = tuple(Gender)
_COMPLAINTS = tuple(ComplaintCategory)
_CREDIT_RATINGS = ("AAA", "AA", "A", "BBB", "BB")


@functools.cache
def _epoch_in(tz: timezone) -> datetime:
    return _EPOCH.astimezone(tz)


def _check_chunk_size(value: Any) -> int:
    return check_count("chunk_size", value, minimum=1)


def _pick(seq: tuple[T, ...], u: float) -> T:
    return seq[min(int(u * len(seq)), len(seq) - 1)]


@attrs.frozen(kw_only=True, eq=False)
class SyntheticDataset:
    """A synthetic store: its arrays, and its objects streamed in chunks.

    Ids are ``"C<customer_id>"``, ``"O<order_id>"`` and ``"I<interaction_id>"`` of the
    arrays. Times are shown in ``tz`` (China Standard Time by default).

    >>> ds = make_dataset(20, 60, seed=1)
    >>> ds.n_customers, ds.n_orders
    (20, 60)
    >>> orders = ds.orders()
    >>> all(o.customer_id.startswith("C") for o in orders)
    True

    Attributes:
        arrays: the columnar data every object is built from.
        tz: the time zone of the datetimes.
    """

    arrays: SyntheticArrays
    tz: tzinfo = CHINA_TZ

    # -- sizes -------------------------------------------------------------------------
    @property
    def n_customers(self) -> int:
        """How many customers."""
        return len(self.arrays.customers)

    @property
    def n_orders(self) -> int:
        """How many orders."""
        return len(self.arrays.orders)

    @property
    def n_interactions(self) -> int:
        """How many interactions."""
        events = self.arrays.interactions
        return 0 if events is None else len(events)

    @property
    def as_of(self) -> datetime:
        """The observation time: everything happened before it."""
        return self.arrays.customers.as_of

    # -- streaming ---------------------------------------------------------------------
    def iter_customers(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[list[Customer]]:
        """Customers in row order, ``chunk_size`` at a time.

        Raises:
            ValidationError: ``chunk_size`` is not a positive integer.
        """
        size = _check_chunk_size(chunk_size)
        return self._chunks(self.n_customers, size, self._customers)

    def iter_orders(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[list[Order]]:
        """Orders by ``placed_at``, ``chunk_size`` at a time.

        Raises:
            ValidationError: ``chunk_size`` is not a positive integer.
        """
        size = _check_chunk_size(chunk_size)
        return self._chunks(self.n_orders, size, self._orders)

    def iter_interactions(
        self, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> Iterator[list[Interaction]]:
        """Interactions by ``at``, ``chunk_size`` at a time (none if not generated).

        Raises:
            ValidationError: ``chunk_size`` is not a positive integer.
        """
        size = _check_chunk_size(chunk_size)
        return self._chunks(self.n_interactions, size, self._interactions)

    def customers(self) -> list[Customer]:
        """Every customer (for small datasets; stream big ones)."""
        return [c for chunk in self.iter_customers() for c in chunk]

    def orders(self) -> list[Order]:
        """Every order (for small datasets; stream big ones)."""
        return [o for chunk in self.iter_orders() for o in chunk]

    def interactions(self) -> list[Interaction]:
        """Every interaction (for small datasets; stream big ones)."""
        return [i for chunk in self.iter_interactions() for i in chunk]

    @staticmethod
    def _chunks(total: int, size: int, build: Any) -> Iterator[list[Any]]:
        for start in range(0, total, size):
            yield build(start, min(start + size, total))

    # -- materialisation ---------------------------------------------------------------
    def _clock(self) -> Any:
        """A function from epoch microseconds to an aware datetime in ``tz``."""
        tz = self.tz
        if isinstance(tz, timezone):
            # A fixed offset: adding to the epoch shown in that zone is exact and quick.
            base = _epoch_in(tz)
            return lambda micros: base + timedelta(microseconds=micros)
        return lambda micros: (_EPOCH + timedelta(microseconds=micros)).astimezone(tz)

    def _customers(self, lo: int, hi: int) -> list[Customer]:
        c = self.arrays.customers
        ids = c.customer_id[lo:hi]
        u = hash_uniform(c.seed, STREAM_CUSTOMER_DETAILS, ids, 24).tolist()
        currency = self.arrays.orders.currency
        time_of = self._clock()
        registered_at = c.registered_at[lo:hi].tolist()
        result = []
        for j, row in enumerate(range(lo, hi)):
            cid = int(ids[j])
            registered = time_of(registered_at[j])
            result.append(_customer(c, row, cid, registered, u[j], currency))
        return result

    def _orders(self, lo: int, hi: int) -> list[Order]:
        o = self.arrays.orders
        pref = self.arrays.customers.preferred
        ids = o.order_id[lo:hi]
        u = hash_uniform(o.seed, STREAM_ORDER_DETAILS, ids, 12).tolist()
        lags = order_lags(o.seed, ids)
        pay, ship = lags.pay.tolist(), lags.ship.tolist()
        deliver, ret, cancel = lags.deliver.tolist(), lags.ret.tolist(), lags.cancel.tolist()
        placed = o.placed_at[lo:hi].tolist()
        amount = o.amount[lo:hi].tolist()
        returned = o.returned_amount[lo:hi].tolist()
        status = o.status[lo:hi].tolist()
        category = o.category[lo:hi].tolist()
        n_lines = o.n_lines[lo:hi].tolist()
        channel = o.channel[lo:hi].tolist()
        cust = o.customer_index[lo:hi]
        customer_ids = o.customer_id[lo:hi].tolist()
        favourites = pref[cust].tolist()
        digits = currency_digits(o.currency)
        prices = _PriceCache(o.currency, digits)
        time_of = self._clock()
        result = []
        for j in range(hi - lo):
            lines = _lines(amount[j], n_lines[j], category[j], favourites[j], u[j], prices)
            t0 = placed[j]
            st = _STATUSES[status[j]]
            steps: dict[str, Any] = {}
            if st is OrderStatus.CANCELLED:
                if pay[j] < cancel[j]:
                    steps["paid_at"] = time_of(t0 + pay[j])
                steps["cancelled_at"] = time_of(t0 + cancel[j])
            elif st is not OrderStatus.PLACED:
                t1 = t0 + pay[j]
                steps["paid_at"] = time_of(t1)
                if st is not OrderStatus.PAID:
                    t2 = t1 + ship[j]
                    steps["shipped_at"] = time_of(t2)
                    if st is not OrderStatus.SHIPPED:
                        t3 = t2 + deliver[j]
                        steps["delivered_at"] = time_of(t3)
                        if returned[j]:
                            steps["returned_at"] = time_of(t3 + ret[j])
                            steps["returned_amount"] = prices.money(returned[j])
            result.append(
                Order(
                    id=f"O{int(ids[j])}",
                    customer_id=f"C{customer_ids[j]}",
                    placed_at=time_of(t0),
                    lines=lines,
                    status=st,
                    channel=vocab.ORDER_CHANNELS[channel[j]],
                    **steps,
                )
            )
        return result

    def _interactions(self, lo: int, hi: int) -> list[Interaction]:
        events = self.arrays.interactions
        if events is None:  # pragma: no cover - n_interactions is 0 then
            return []
        orders = self.arrays.orders
        customer_ids = self.arrays.customers.customer_id
        ids = events.interaction_id[lo:hi]
        u = hash_uniform(events.seed, STREAM_INTERACTION_DETAILS, ids, 2).tolist()
        cust = events.customer_id[lo:hi].tolist()
        at = events.at[lo:hi].tolist()
        kind = events.kind[lo:hi].tolist()
        channel = events.channel[lo:hi].tolist()
        order_row = events.order_row[lo:hi]
        order_ids = np.where(order_row >= 0, orders.order_id[np.maximum(order_row, 0)], -1)
        order_id = order_ids.tolist()
        category = events.category[lo:hi].tolist()
        product = events.product[lo:hi].tolist()
        rating = events.rating[lo:hi].tolist()
        complaint = events.complaint_category[lo:hi].tolist()
        resolved = events.resolved[lo:hi].tolist()
        referred = events.referred_index[lo:hi]
        referred_ids = np.where(referred >= 0, customer_ids[np.maximum(referred, 0)], -1).tolist()
        query = events.query[lo:hi].tolist()
        time_of = self._clock()
        result = []
        for j in range(hi - lo):
            k = _KINDS[kind[j]]
            details: Review | Complaint | Search | Referral | None = None
            if k is InteractionKind.REVIEW:
                texts = vocab.REVIEW_TEXTS[rating[j] - 1]
                text = None if u[j][0] < 0.25 else _pick(texts, u[j][1])
                details = Review(rating=rating[j], text=text)
            elif k is InteractionKind.COMPLAINT:
                details = Complaint(
                    category=_COMPLAINTS[complaint[j]],
                    text=_pick(vocab.COMPLAINT_TEXTS[complaint[j]], u[j][1]),
                    resolved=resolved[j],
                )
            elif k is InteractionKind.SEARCH:
                details = Search(query=events.queries[query[j]])
            elif k is InteractionKind.REFERRAL:
                details = Referral(referred_customer_id=f"C{referred_ids[j]}")
            sku = None
            if product[j] >= 0:
                sku = f"{vocab.SKU_PREFIX[category[j]]}-{product[j]:05d}"
            result.append(
                Interaction(
                    id=f"I{int(ids[j])}",
                    customer_id=f"C{cust[j]}",
                    kind=k,
                    at=time_of(at[j]),
                    channel=vocab.INTERACTION_CHANNELS[channel[j]],
                    order_id=f"O{order_id[j]}" if order_id[j] >= 0 else None,
                    sku=sku,
                    details=details,
                )
            )
        return result


class _PriceCache:
    """Money for minor-unit amounts, converted once per distinct amount."""

    def __init__(self, currency: str, digits: int) -> None:
        self.currency = currency
        self.digits = digits
        self._cache: dict[int, Money] = {}

    def money(self, minor: int) -> Money:
        found = self._cache.get(minor)
        if found is None:
            found = Money(Decimal(minor).scaleb(-self.digits), self.currency)
            if len(self._cache) < 100_000:
                self._cache[minor] = found
        return found


def _lines(
    amount: int,
    n_lines: int,
    category: int,
    favourites: list[int],
    u: list[float],
    prices: _PriceCache,
) -> list[OrderLine]:
    """Split ``amount`` exactly into ``n_lines`` lines: the subtotals add up to it."""
    if amount < 100:  # too small to split into sensible prices
        n_lines = 1
    cats = [category] + [
        category if u[3 * i] < 0.5 else favourites[int(u[3 * i] * 4) % 2] for i in (1, 2)
    ]
    if n_lines == 1:
        quantity = 1 + int(u[2] * 3)
        if amount % quantity:
            quantity = 1
        targets = [(quantity, amount // quantity)]
    else:
        weights = [u[3 * i + 2] + 0.3 for i in range(n_lines)]
        total = sum(weights)
        targets = []
        used = 0
        for i in range(n_lines - 1):
            share = max(1, int(amount * weights[i] / total))
            quantity = 2 if u[3 * i + 1] < 0.2 and share >= 2 else 1
            unit_price = share // quantity
            targets.append((quantity, unit_price))
            used += quantity * unit_price
        targets.append((1, amount - used))
    lines = []
    for i, (quantity, unit_price) in enumerate(targets):
        cat = cats[i]
        size = vocab.CATEGORY_PRODUCTS[cat]
        product = int(size * u[3 * i + 1] ** 2.5) % size
        lines.append(
            OrderLine(
                sku=f"{vocab.SKU_PREFIX[cat]}-{product:05d}",
                category=vocab.CATEGORIES[cat],
                quantity=quantity,
                unit_price=prices.money(unit_price),
            )
        )
    return lines


def _customer(
    c: CustomerArrays,
    row: int,
    cid: int,
    registered: datetime,
    u: list[float],
    currency: str,
) -> Customer:
    """One customer's profile from its array row and 24 hashed uniforms."""
    business = bool(c.kind[row])
    gender_code = int(c.gender[row])
    gender = None if gender_code < 0 else _GENDERS[gender_code]
    female = gender is Gender.FEMALE or (gender is not Gender.MALE and u[0] < 0.5)
    city_name, province, _region, _w, postal, districts = vocab.CITIES[int(c.city[row])]
    english = not business and u[1] < 0.15
    if english:
        given = _pick(vocab.EN_GIVEN_FEMALE if female else vocab.EN_GIVEN_MALE, u[2])
        family = _pick(vocab.EN_FAMILY, u[3])
        name = f"{given} {family}"
        handle = f"{given}.{family}".lower()
    else:
        fam, fam_py = _pick(vocab.CN_FAMILY, u[3])
        giv, giv_py = _pick(vocab.CN_GIVEN_FEMALE if female else vocab.CN_GIVEN_MALE, u[2])
        name = fam + giv
        handle = giv_py + "." + fam_py
    phone = f"1{3 + int(u[4] * 7)}{int(u[5] * 1e9):09d}" if u[6] < 0.92 else None
    email = None
    if u[7] < 0.8:
        domain = _pick(("example.com", "example.cn", "mail.example.org"), u[8])
        email = f"{handle}{cid % 1000}@{domain}"
    street = f"{_pick(vocab.ROADS, u[9])}{1 + int(u[10] * 999)}号"
    if u[11] < 0.8:
        street += f"{1 + int(u[12] * 30)}栋{101 + int(u[13] * 20) * 100 + int(u[14] * 6)}室"
    address = Address(
        country="CN",
        province=province,
        city=city_name,
        district=_pick(districts, u[15]),
        street=street,
        postal_code=f"{postal}{int(u[16] * 1000):03d}",
    )
    consent_flags = {"email": u[17] < 0.4, "sms": u[18] < 0.55, "social": u[19] < 0.3}
    consent = Consent(
        **consent_flags, updated_at=registered if any(consent_flags.values()) else None
    )
    tags = set()
    if float(c.spend_level[row]) > 1.0:
        tags.add("高价值")
    if float(c.return_propensity[row]) > 0.15:
        tags.add("退货较多")
    if c.acquisition_channel[row] == vocab.ACQUISITION_CHANNELS.index("livestream"):
        tags.add("直播")
    if u[20] < 0.1:
        tags.add("newsletter")
    fields: dict[str, Any] = {}
    if business:
        name = city_name.removesuffix("市") + _pick(vocab.BUSINESS_WORDS, u[2]) + _pick(
            vocab.BUSINESS_SUFFIXES, u[21]
        )
        tags.add("企业客户")
        contact_family, _ = _pick(vocab.CN_FAMILY, u[22])
        contact_given, _ = _pick(vocab.CN_GIVEN_MALE + vocab.CN_GIVEN_FEMALE, u[23])
        employees = int(5 * 2 ** (u[12] * 10))
        fields["business"] = BusinessProfile(
            legal_name=name,
            registration_number=f"91{postal}{cid:013d}"[:18],
            industry=_pick(vocab.INDUSTRIES, u[13]),
            employees=employees,
            annual_revenue=Money(Decimal(employees * (200_000 + int(u[14] * 800_000))), currency),
            contact_person=contact_family + contact_given,
            situation=_pick(vocab.BUSINESS_SITUATIONS, u[21]),
        )
        fields["credit_limit"] = Money(Decimal(10_000 + int(u[16] * 40) * 10_000), currency)
        fields["credit_rating"] = _pick(_CREDIT_RATINGS, u[20])
        occupation = None
    else:
        occupation = None
        if u[21] < 0.75:
            occupation = _pick(vocab.OCCUPATIONS_EN if english else vocab.OCCUPATIONS_CN, u[22])
        year = int(c.birth_year[row])
        if year:
            fields["birth_date"] = date(year, 1, 1) + timedelta(days=int(u[23] * 365))
    return Customer(
        id=f"C{cid}",
        name=name,
        kind=CustomerKind.BUSINESS if business else CustomerKind.PERSON,
        registered_at=registered,
        gender=gender,
        phone=phone,
        email=email,
        address=address,
        region=c.regions[int(c.region[row])],
        occupation=occupation,
        acquisition_channel=c.acquisition_channels[int(c.acquisition_channel[row])],
        tags=frozenset(tags),
        consent=consent,
        **fields,
    )


def make_dataset(
    n_customers: int = 1000,
    n_orders: int | None = None,
    *,
    seed: int = 0,
    as_of: datetime = DEFAULT_AS_OF,
    history_days: int = 1095,
    currency: str = "CNY",
    events_per_order: float = 3.0,
    interactions: bool = True,
    tz: tzinfo = CHINA_TZ,
) -> SyntheticDataset:
    """A synthetic store: customers, orders and interactions, consistent and seeded.

    The arrays are generated at once (fast); objects are built only when streamed.

    >>> ds = make_dataset(10, 30, seed=2)
    >>> [c.id for c in ds.customers()] == [c.id for c in make_dataset(10, 30, seed=2).customers()]
    True

    Args:
        n_customers: how many customers, at least 1.
        n_orders: exactly how many orders (default ``10 * n_customers``).
        seed: the random seed; the same arguments always give the same objects.
        as_of: the observation time (aware); everything happens before it.
        history_days: how many days of history before ``as_of``.
        currency: ISO 4217 code of every amount.
        events_per_order: mean browse/search/favorite/cart events before each order.
        interactions: whether to generate interactions.
        tz: the time zone the datetimes are shown in (the instants do not depend on it).

    Raises:
        ValidationError: a parameter is out of range, naming it.
    """
    if not isinstance(tz, tzinfo) or datetime(2000, 1, 1, tzinfo=tz).utcoffset() is None:
        raise ValidationError("tz", tz, "a tzinfo such as datetime.UTC")
    arrays = make_arrays(
        n_customers,
        n_orders,
        seed=seed,
        as_of=as_of,
        history_days=history_days,
        currency=currency,
        interactions=interactions,
        events_per_order=events_per_order,
    )
    return SyntheticDataset(arrays=arrays, tz=tz)
