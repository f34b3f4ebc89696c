"""The generative model, straight into columnar numpy arrays (no Python objects).

Every customer gets a purchase rate ``lambda`` (Gamma), a dropout probability ``p``
(Beta) applied after each purchase, a lognormal spend level, two preferred
categories, a return propensity and a satisfaction level: the BG/NBD story of
lifetimes. In that model the time until dropout is exponential with rate
``lambda * p`` (a geometric number of exponential gaps), and the purchases before it
are a Poisson process of rate ``lambda * (1 - p)`` plus the last one at dropout. The
orders are drawn from that model *conditioned on the total* being exactly
``n_orders`` (a multinomial split of the Poisson counts), after calibrating the rates
so the unconditioned model expects about that many.

The object path (:mod:`custmgmt.datasets.objects`) materialises objects from these
arrays, so the two paths cannot disagree. Per-row details the arrays do not keep
(step timestamps of an order, a line split, a name) come from a counter-based hash
of the row's id, so any chunk of rows can be materialised on its own and the result
does not depend on chunking.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, ClassVar

import attrs
import numpy as np
from numpy.typing import NDArray

from custmgmt.datasets import _vocab as vocab
from custmgmt.datasets._params import (
    check_as_of,
    check_count,
    check_currency,
    check_history_days,
    check_rate,
    check_seed,
)
from custmgmt.domain import ComplaintCategory, Gender, InteractionKind, OrderStatus
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import ValidationError

__all__ = [
    "DEFAULT_AS_OF",
    "CustomerArrays",
    "InteractionArrays",
    "OrderArrays",
    "OrderLags",
    "SyntheticArrays",
    "hash_uniform",
    "make_arrays",
    "make_customer_arrays",
    "make_interaction_arrays",
    "make_order_arrays",
    "order_lags",
]

#: The default observation time: fixed, so default datasets never depend on "now".
DEFAULT_AS_OF = datetime(2026, 1, 1, tzinfo=UTC)

US_PER_SECOND = 1_000_000
US_PER_HOUR = 3_600 * US_PER_SECOND
US_PER_DAY = 24 * US_PER_HOUR
#: An order placed longer ago than this has finished its life cycle (see order_lags).
MAX_LIFECYCLE_US = 40 * US_PER_DAY
NO_TIME = np.iinfo(np.int64).max

# Independent random streams per stage, so customers do not change when only
# n_orders does, and orders do not change when interaction settings do.
_STREAM_CUSTOMERS = 1
_STREAM_ORDERS = 2
_STREAM_INTERACTIONS = 3
#: Hash streams (counter-based randomness keyed by a row's id).
STREAM_ORDER_LAGS = 11
STREAM_ORDER_DETAILS = 12
STREAM_CUSTOMER_DETAILS = 13
STREAM_INTERACTION_DETAILS = 14

_STATUSES = tuple(OrderStatus)
_KINDS = tuple(InteractionKind)
_PLACED, _PAID, _SHIPPED, _DELIVERED, _CANCELLED, _RETURNED, _PARTIAL = (
    np.int8(_STATUSES.index(s))
    for s in (
        OrderStatus.PLACED,
        OrderStatus.PAID,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.CANCELLED,
        OrderStatus.RETURNED,
        OrderStatus.PARTIALLY_RETURNED,
    )
)
_GENDERS = tuple(g.value for g in Gender)
_COMPLAINT_CATEGORIES = tuple(c.value for c in ComplaintCategory)
# Orders placed on a channel are seen in interactions as: app, web, 微信 (mini program), store.
_ORDER_TO_INTERACTION_CHANNEL = np.array([0, 1, 2, 4], dtype=np.int8)

Int8s = NDArray[np.int8]
Int16s = NDArray[np.int16]
Int32s = NDArray[np.int32]
Int64s = NDArray[np.int64]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]


def _k(kind: InteractionKind) -> int:
    return _KINDS.index(kind)


def _frozen(array: NDArray[Any]) -> NDArray[Any]:
    array.flags.writeable = False
    return array


def _columns(instance: Any) -> dict[str, NDArray[Any]]:
    return {
        a.name: getattr(instance, a.name)
        for a in attrs.fields(type(instance))
        if isinstance(getattr(instance, a.name), np.ndarray)
    }


# -- counter-based randomness ---------------------------------------------------------
_M64 = (1 << 64) - 1


def _splitmix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    # SplitMix64's finaliser: a bijection on uint64 that scrambles every bit. numpy
    # wraps uint64 array arithmetic modulo 2**64, which is what the algorithm wants.
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def hash_uniform(seed: int, stream: int, keys: NDArray[Any], columns: int) -> Floats:
    """Uniform numbers in [0, 1) determined by ``(seed, stream, key, column)`` alone.

    Args:
        seed: the dataset's seed.
        stream: which detail this is for (each use has its own stream).
        keys: integer row ids (non-negative, below 2**57).
        columns: how many numbers per key.

    Returns:
        A float64 array of shape ``(len(keys), columns)``.
    """
    salt = (seed * 0x2545F4914F6CDD1D + stream * 0x9E3779B97F4A7C15 + 1) & _M64
    base = np.asarray(keys, dtype=np.int64).astype(np.uint64) * np.uint64(64)
    x = base[:, None] + np.arange(columns, dtype=np.uint64)[None, :]
    mixed = _splitmix(_splitmix(x ^ np.uint64(salt)))
    return (mixed >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


@attrs.frozen(kw_only=True)
class OrderLags:
    """Delays between an order's steps, in microseconds (see :func:`order_lags`).

    Attributes:
        pay: placed -> paid.
        ship: paid -> shipped.
        deliver: shipped -> delivered.
        ret: delivered -> returned (used only by orders that are returned).
        cancel: placed -> cancelled (used only by orders that are cancelled).
    """

    pay: Int64s
    ship: Int64s
    deliver: Int64s
    ret: Int64s
    cancel: Int64s


def order_lags(seed: int, order_id: NDArray[Any]) -> OrderLags:
    """The step delays of the orders with these ids: a pure function of seed and id.

    Payment within two hours, shipping within three days, delivery within six,
    returns within three weeks of delivery, cancellation within a day: every order is
    finished 40 days after placement at the latest.
    """
    u = hash_uniform(seed, STREAM_ORDER_LAGS, order_id, 5)
    minute = 60 * US_PER_SECOND
    pay = np.minimum(30 * US_PER_SECOND - np.log1p(-u[:, 0]) * 8 * minute, 2 * US_PER_HOUR)
    return OrderLags(
        pay=pay.astype(np.int64),
        ship=(2 * US_PER_HOUR + u[:, 1] * 70 * US_PER_HOUR).astype(np.int64),
        deliver=(12 * US_PER_HOUR + u[:, 2] * 5.4 * US_PER_DAY).astype(np.int64),
        ret=(US_PER_DAY + u[:, 3] * 20 * US_PER_DAY).astype(np.int64),
        cancel=(5 * 60 * US_PER_SECOND + u[:, 4] * 23 * US_PER_HOUR).astype(np.int64),
    )


# -- containers -----------------------------------------------------------------------
@attrs.frozen(kw_only=True, eq=False)
class CustomerArrays:
    """One row per customer; the row number is the customer's dense index.

    Codes index the tuple of names beside them (``regions[region]``); -1 is unknown.

    Attributes:
        customer_id: int64 ids, sparse and in random order.
        registered_at: int64 microseconds since the epoch, UTC.
        kind: 0 person, 1 business.
        gender, genders: code (-1 for businesses) and the ``Gender`` values.
        birth_year: int16, 0 when unknown (always 0 for businesses).
        region, regions: sales region code (华东 ...) and names.
        city, cities: city code and names (province and postal code in ``_vocab``).
        acquisition_channel, acquisition_channels: how the customer came.
        main_channel, order_channels: the order channel the customer prefers.
        activity: relative purchase rate (Gamma); orders multiply by ``rate_scale``.
        dropout_p: probability of dropping out after each purchase (Beta).
        spend_level: log of the customer's typical order value relative to the category.
        satisfaction: standard-normal latent satisfaction (ratings follow it).
        return_propensity: probability that an order is returned.
        preferred: (n, 2) int8 preferred category codes.
        as_of: the observation time.
        seed: the seed.
    """

    customer_id: Int64s
    registered_at: Int64s
    kind: Int8s
    gender: Int8s
    genders: tuple[str, ...] = _GENDERS
    birth_year: Int16s
    region: Int8s
    regions: tuple[str, ...] = vocab.REGIONS
    city: Int16s
    cities: tuple[str, ...] = tuple(c[0] for c in vocab.CITIES)
    acquisition_channel: Int8s
    acquisition_channels: tuple[str, ...] = vocab.ACQUISITION_CHANNELS
    main_channel: Int8s
    order_channels: tuple[str, ...] = vocab.ORDER_CHANNELS
    activity: Floats
    dropout_p: Floats
    spend_level: Floats
    satisfaction: Floats
    return_propensity: Floats
    preferred: Int8s
    as_of: datetime
    seed: int

    def __len__(self) -> int:
        return int(self.customer_id.shape[0])

    def columns(self) -> dict[str, NDArray[Any]]:
        """The arrays by name (e.g. for ``pandas.DataFrame``; ``preferred`` is 2-D)."""
        return _columns(self)


@attrs.frozen(kw_only=True, eq=False)
class OrderArrays:
    """One row per order, rows in ``placed_at`` order.

    Attributes:
        order_id: int64 ids, increasing with time, sparse.
        customer_id: int64 id of the customer (as in ``CustomerArrays.customer_id``).
        customer_index: int32 dense row of the customer in ``CustomerArrays``.
        placed_at: int64 microseconds since the epoch, UTC; before ``as_of``.
        amount: int64 total in minor units (the sum of the order's lines).
        returned_amount: int64 minor units refunded (0 unless returned).
        currency: the ISO 4217 currency of every amount.
        category, categories: the main line's category code and the names.
        status, statuses: the status at ``as_of`` and the ``OrderStatus`` values.
        channel, channels: where the order was placed.
        n_lines: int8 number of order lines, 1 to 3.
        dropout_at: per *customer* row: when the customer dropped out (the time of
            their last purchase), ``NO_TIME`` (int64 max) if still active at ``as_of``:
            ground truth for churn models.
        rate_scale: per-day purchase rate = ``CustomerArrays.activity * rate_scale``.
        dropout_scale: dropout probability = ``min(CustomerArrays.dropout_p *
            dropout_scale, 1)``; both scales are calibrated to ``n_orders``.
        n_customers: how many customers the ids refer to.
        as_of: the observation time.
        seed: the seed.
    """

    order_id: Int64s
    customer_id: Int64s
    customer_index: Int32s
    placed_at: Int64s
    amount: Int64s
    returned_amount: Int64s
    currency: str
    category: Int8s
    categories: tuple[str, ...] = vocab.CATEGORIES
    status: Int8s
    statuses: tuple[str, ...] = tuple(s.value for s in _STATUSES)
    channel: Int8s
    channels: tuple[str, ...] = vocab.ORDER_CHANNELS
    n_lines: Int8s
    dropout_at: Int64s
    rate_scale: float
    dropout_scale: float
    n_customers: int
    as_of: datetime
    seed: int

    def __len__(self) -> int:
        return int(self.order_id.shape[0])

    def columns(self) -> dict[str, NDArray[Any]]:
        """The per-order arrays by name (``dropout_at`` is per customer: left out)."""
        cols = _columns(self)
        del cols["dropout_at"]
        return cols


@attrs.frozen(kw_only=True, eq=False)
class InteractionArrays:
    """One row per interaction, rows in ``at`` order.

    Attributes:
        interaction_id: int64 ids, increasing with time, sparse.
        customer_id: int64 id of the customer who acted.
        customer_index: int32 dense row of that customer.
        at: int64 microseconds since the epoch, UTC; before ``as_of``.
        kind, kinds: the kind code and the ``InteractionKind`` values.
        channel, channels: where it happened.
        order_row: int64 row in ``OrderArrays`` of the order concerned, -1 if none.
        category: int8 category code of the product or order concerned, -1 if none.
        product: int32 product number within the category, -1 if none.
        rating: int8 1..5 for reviews, 0 otherwise.
        complaint_category, complaint_categories: code (-1 if not a complaint) and the
            ``ComplaintCategory`` values.
        resolved: whether a complaint was resolved by ``as_of``.
        referred_index: int32 customer row referred (referrals), -1 otherwise.
        query, queries: search query code (-1 if none) and the query texts.
        as_of: the observation time.
        seed: the seed.
    """

    interaction_id: Int64s
    customer_id: Int64s
    customer_index: Int32s
    at: Int64s
    kind: Int8s
    kinds: tuple[str, ...] = tuple(k.value for k in _KINDS)
    channel: Int8s
    channels: tuple[str, ...] = vocab.INTERACTION_CHANNELS
    order_row: Int64s
    category: Int8s
    product: Int32s
    rating: Int8s
    complaint_category: Int8s
    complaint_categories: tuple[str, ...] = _COMPLAINT_CATEGORIES
    resolved: Bools
    referred_index: Int32s
    query: Int16s
    queries: tuple[str, ...] = tuple(q for qs in vocab.QUERIES for q in qs)
    as_of: datetime
    seed: int

    def __len__(self) -> int:
        return int(self.interaction_id.shape[0])

    def columns(self) -> dict[str, NDArray[Any]]:
        """The arrays by name."""
        return _columns(self)


@attrs.frozen(kw_only=True, eq=False)
class SyntheticArrays:
    """Customers, orders and (optionally) interactions drawn from one model and seed.

    Attributes:
        customers: the customers.
        orders: their orders.
        interactions: their interactions, or None when not requested.
    """

    customers: CustomerArrays
    orders: OrderArrays
    interactions: InteractionArrays | None

    @property
    def purchase_rate(self) -> Floats:
        """Each customer's true purchase rate per day while alive (BG/NBD's lambda)."""
        return self.customers.activity * self.orders.rate_scale

    @property
    def dropout_probability(self) -> Floats:
        """Each customer's true dropout probability after a purchase (BG/NBD's p)."""
        return np.minimum(self.customers.dropout_p * self.orders.dropout_scale, 1.0)


# -- customers ------------------------------------------------------------------------
def _pick(rng: np.random.Generator, weights: tuple[float, ...] | Floats, size: int) -> Int64s:
    cum = np.cumsum(np.asarray(weights, dtype=np.float64))
    idx = np.searchsorted(cum / cum[-1], rng.random(size), side="right")
    return np.minimum(idx, len(cum) - 1).astype(np.int64)


def _customers(n: int, seed: int, as_of: datetime, history_days: int) -> CustomerArrays:
    rng = np.random.default_rng([seed, _STREAM_CUSTOMERS])
    as_of_us = to_epoch_micros(as_of)
    # Sparse ids: increasing gaps, then shuffled, so rows are in no id order.
    ids = 10_000_000 + np.cumsum(rng.integers(1, 4_096, size=n, dtype=np.int64))
    ids = ids[rng.permutation(n)]
    span = history_days * US_PER_DAY
    # The customer base grows: registrations get denser towards as_of. Everyone
    # registers at least an hour before as_of so they have time to act.
    reg = as_of_us - span + (rng.random(n) ** 0.75 * max(span - US_PER_HOUR, 0)).astype(np.int64)
    business = rng.random(n) < 0.06
    gender = np.searchsorted(np.array([0.52, 0.96, 0.97, 1.0]), rng.random(n), side="right")
    gender = np.where(business, -1, np.minimum(gender, 3)).astype(np.int8)
    age = np.clip(18 + rng.gamma(2.2, 8.0, size=n), 18, 90).astype(np.int64)
    first_year = datetime.fromtimestamp((as_of_us - span) / US_PER_SECOND, UTC).year
    birth_year = np.minimum(as_of.astimezone(UTC).year - age, first_year - 17)
    # Unknown for businesses, for 8% of people, and where history reaches back so far
    # that the year would fall before 1900 (which Customer refuses).
    unknown = business | (rng.random(n) < 0.08) | (birth_year < 1900)
    birth_year = np.where(unknown, 0, birth_year).astype(np.int16)
    city = _pick(rng, tuple(c[3] for c in vocab.CITIES), n)
    region = np.array([c[2] for c in vocab.CITIES], dtype=np.int8)[city]
    acquisition = _pick(rng, vocab.ACQUISITION_WEIGHTS, n).astype(np.int8)
    main_channel = _pick(rng, vocab.ORDER_CHANNEL_WEIGHTS, n).astype(np.int8)
    # About 8% are prospects who never buy (they browse, favourite, fill carts).
    prospect = rng.random(n) < 0.08
    activity = rng.gamma(0.8, 1.0, size=n) * np.where(business, 2.5, 1.0)
    activity[prospect] = 0.0
    dropout_p = np.clip(rng.beta(1.3, 7.0, size=n), 0.005, 0.99)
    spend_level = rng.normal(0.0, 0.65, size=n) + np.where(business, 1.4, 0.0)
    satisfaction = rng.standard_normal(n)
    return_propensity = np.clip(rng.beta(1.2, 16.0, size=n) * np.exp(-0.35 * satisfaction), 0, 0.6)
    k = len(vocab.CATEGORIES)
    first = _pick(rng, vocab.CATEGORY_POPULARITY, n)
    second = (first + 1 + rng.integers(0, k - 1, size=n)) % k
    preferred = np.stack([first, second], axis=1).astype(np.int8)
    return CustomerArrays(
        customer_id=_frozen(ids),
        registered_at=_frozen(reg),
        kind=_frozen(business.astype(np.int8)),
        gender=_frozen(gender),
        birth_year=_frozen(birth_year),
        region=_frozen(region),
        city=_frozen(city.astype(np.int16)),
        acquisition_channel=_frozen(acquisition),
        main_channel=_frozen(main_channel),
        activity=_frozen(activity),
        dropout_p=_frozen(dropout_p),
        spend_level=_frozen(spend_level),
        satisfaction=_frozen(satisfaction),
        return_propensity=_frozen(return_propensity),
        preferred=_frozen(preferred),
        as_of=as_of,
        seed=seed,
    )


# -- orders ---------------------------------------------------------------------------
def _calibrate(activity: Floats, p: Floats, t_days: Floats, target: float) -> tuple[float, float]:
    """Scales ``(s, d)`` for the rates (``s * lambda``) and dropouts (``d * p``).

    The rates are set so that, without dropout, customers would place 1.6 times the
    target: a purchase cycle that fits the history whatever the number of orders per
    customer. The dropout scale then solves ``mean((1 - exp(-s*lambda*q*T)) / q) ==
    target`` with ``q = min(d * p, 1)``, BG/NBD's expected number of purchases in a
    window of ``T`` days, which decreases with ``d``: bisect on ``log d``. A sample of
    customers estimates the means well enough.
    """
    step = max(1, activity.shape[0] // 50_000)
    a, q0, t = activity[::step], p[::step], t_days[::step]
    exposure = float(np.mean(a * t))
    if exposure <= 0 or target <= 0:
        return 1.0, 1.0
    scale = 1.6 * target / exposure
    lo, hi = math.log(1e-4), math.log(1e4)
    for _ in range(40):
        mid = (lo + hi) / 2
        q = np.minimum(q0 * math.exp(mid), 1.0)
        expected = float(np.mean(-np.expm1(-scale * a * q * t) / q))
        lo, hi = (mid, hi) if expected > target else (lo, mid)
    return scale, math.exp((lo + hi) / 2)


def _orders(c: CustomerArrays, n_orders: int, currency_digits: int, currency: str) -> OrderArrays:
    rng = np.random.default_rng([c.seed, _STREAM_ORDERS])
    n = len(c)
    as_of_us = to_epoch_micros(c.as_of)
    reg = c.registered_at
    t_days = (as_of_us - reg) / US_PER_DAY
    scale, dropout_scale = _calibrate(c.activity, c.dropout_p, t_days, n_orders / n)
    rate = c.activity * scale
    p = np.minimum(c.dropout_p * dropout_scale, 1.0)
    # Time to dropout is exponential with rate lambda*p; the last purchase happens then.
    tau = rng.exponential(1.0, size=n) / np.maximum(rate * p, 1e-300)
    dead = died = tau < t_days
    if int(dead.sum()) > n_orders:  # fewer orders than dropouts: some leave unseen
        keep = rng.choice(np.flatnonzero(dead), size=n_orders, replace=False)
        dead = np.zeros(n, dtype=bool)
        dead[keep] = True
    alive_days = np.minimum(tau, t_days)
    dead_rows = np.flatnonzero(dead)
    extra = n_orders - dead_rows.shape[0]
    weights = rate * (1 - p) * alive_days
    if extra > 0:
        total = float(weights.sum())
        pvals = weights / total if total > 0 else np.full(n, 1.0 / n)
        counts = rng.multinomial(extra, pvals)
    else:
        counts = np.zeros(n, dtype=np.int64)
    cust = np.repeat(np.arange(n, dtype=np.int32), counts)
    offset_days = np.concatenate([rng.random(extra) * alive_days[cust], tau[dead_rows]])
    cust = np.concatenate([cust, dead_rows.astype(np.int32)])
    placed = reg[cust] + (offset_days * US_PER_DAY).astype(np.int64)
    np.minimum(placed, as_of_us - 1, out=placed)
    order = np.argsort(placed)
    placed = placed[order]
    cust = cust[order]
    # alive_days is finite (tau can be astronomically large for the loyal).
    dropout_at = reg + (alive_days * US_PER_DAY).astype(np.int64)
    dropout_at = np.where(died, np.minimum(dropout_at, as_of_us - 1), NO_TIME)

    order_id = 1_000_000_000 + np.cumsum(rng.integers(1, 8, size=n_orders, dtype=np.int64))
    # Category: mostly one of the customer's two favourites, else by popularity.
    u = rng.random(n_orders)
    popular = _pick(rng, vocab.CATEGORY_POPULARITY, n_orders).astype(np.int8)
    pref = c.preferred[cust]
    category = np.where(u < 0.5, pref[:, 0], np.where(u < 0.78, pref[:, 1], popular))
    # Heavy-tailed spend: lognormal around the customer's level and the category's price.
    value = np.exp(c.spend_level[cust] + 0.55 * rng.standard_normal(n_orders))
    value *= np.asarray(vocab.CATEGORY_MEDIAN_PRICE)[category]
    unit = 10**currency_digits
    amount = np.clip(np.rint(value * unit), unit, 5_000_000 * unit).astype(np.int64)
    u = rng.random(n_orders)
    # Orders under 100 minor units are not split into several priced lines.
    n_lines = np.where(amount < 100, 1, 1 + (u > 0.6) + (u > 0.88)).astype(np.int8)
    u = rng.random(n_orders)
    other_channel = _pick(rng, vocab.ORDER_CHANNEL_WEIGHTS, n_orders).astype(np.int8)
    channel = np.where(u < 0.7, c.main_channel[cust], other_channel)

    status, returned = _statuses(c, rng, cust, order_id, placed, amount, as_of_us)
    return OrderArrays(
        order_id=_frozen(order_id),
        customer_id=_frozen(c.customer_id[cust]),
        customer_index=_frozen(cust),
        placed_at=_frozen(placed),
        amount=_frozen(amount),
        returned_amount=_frozen(returned),
        currency=currency,
        category=_frozen(category.astype(np.int8)),
        status=_frozen(status),
        channel=_frozen(channel),
        n_lines=_frozen(n_lines),
        dropout_at=_frozen(dropout_at),
        rate_scale=scale,
        dropout_scale=dropout_scale,
        n_customers=n,
        as_of=c.as_of,
        seed=c.seed,
    )


def _statuses(
    c: CustomerArrays,
    rng: np.random.Generator,
    cust: Int32s,
    order_id: Int64s,
    placed: Int64s,
    amount: Int64s,
    as_of_us: int,
) -> tuple[Int8s, Int64s]:
    """Final statuses, then the life cycle at ``as_of`` for the recent orders."""
    n = placed.shape[0]
    u = rng.random(n)
    cancel = u < 0.04
    u = rng.random(n)
    propensity = c.return_propensity[cust]
    will_return = ~cancel & (u < propensity)
    full = will_return & ((u < propensity * 0.45) | (amount < 2))
    partial = will_return & ~full
    status = np.full(n, _DELIVERED, dtype=np.int8)
    status[cancel] = _CANCELLED
    status[full] = _RETURNED
    status[partial] = _PARTIAL
    share = 0.15 + 0.55 * rng.random(n)
    returned = np.where(full, amount, 0)
    partial_amount = np.clip(np.rint(amount * share).astype(np.int64), 1, np.maximum(amount - 1, 1))
    returned = np.where(partial, partial_amount, returned)

    # Orders placed within MAX_LIFECYCLE_US of as_of may not have reached their end.
    recent = np.flatnonzero(placed > as_of_us - MAX_LIFECYCLE_US)
    if recent.shape[0]:
        lags = order_lags(c.seed, order_id[recent])
        t0 = placed[recent]
        paid = t0 + lags.pay
        shipped = paid + lags.ship
        delivered = shipped + lags.deliver
        returned_at = delivered + lags.ret
        progress = np.select(
            [delivered < as_of_us, shipped < as_of_us, paid < as_of_us],
            [_DELIVERED, _SHIPPED, _PAID],
            _PLACED,
        ).astype(np.int8)
        planned = status[recent]
        is_cancel = planned == _CANCELLED
        cancel_step = np.where(
            t0 + lags.cancel < as_of_us,
            _CANCELLED,
            np.where((lags.pay < lags.cancel) & (paid < as_of_us), _PAID, _PLACED),
        ).astype(np.int8)
        is_return = (planned == _RETURNED) | (planned == _PARTIAL)
        done_return = is_return & (returned_at < as_of_us)
        now = np.where(is_cancel, cancel_step, np.where(done_return, planned, progress))
        status[recent] = now
        returned[recent] = np.where(done_return, returned[recent], 0)
    return _frozen(status), _frozen(returned.astype(np.int64))


# -- interactions ---------------------------------------------------------------------
class _Parts:
    """Accumulates interaction rows by kind before one concatenation and sort."""

    _DEFAULTS: ClassVar[dict[str, tuple[Any, type[np.generic]]]] = {
        "customer_index": (0, np.int32),
        "at": (0, np.int64),
        "kind": (0, np.int8),
        "channel": (0, np.int8),
        "order_row": (-1, np.int64),
        "category": (-1, np.int8),
        "product": (-1, np.int32),
        "rating": (0, np.int8),
        "complaint_category": (-1, np.int8),
        "resolved": (False, np.bool_),
        "referred_index": (-1, np.int32),
        "query": (-1, np.int16),
    }

    def __init__(self) -> None:
        self.parts: dict[str, list[NDArray[Any]]] = {name: [] for name in self._DEFAULTS}

    def add(self, size: int, **columns: Any) -> None:
        for name, (default, dtype) in self._DEFAULTS.items():
            value = columns.get(name, default)
            column = np.broadcast_to(np.asarray(value, dtype=dtype), (size,))
            self.parts[name].append(column)

    def concat(self) -> dict[str, NDArray[Any]]:
        return {
            name: np.concatenate(chunks) if chunks else np.empty(0, dtype=self._DEFAULTS[name][1])
            for name, chunks in self.parts.items()
        }


def _products(rng: np.random.Generator, category: NDArray[Any]) -> Int32s:
    # A few products sell most (Zipf-like): u**2.5 crowds numbers towards 0.
    sizes = np.asarray(vocab.CATEGORY_PRODUCTS)[category]
    products: Int32s = (sizes * rng.random(category.shape[0]) ** 2.5).astype(np.int32)
    return products


def _queries(rng: np.random.Generator, category: NDArray[Any]) -> Int16s:
    lengths = np.array([len(q) for q in vocab.QUERIES])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pick = (rng.random(category.shape[0]) * lengths[category]).astype(np.int64)
    codes: Int16s = (starts[category] + pick).astype(np.int16)
    return codes


def _browsing(
    parts: _Parts,
    rng: np.random.Generator,
    cust: Int32s,
    at: Int64s,
    category: NDArray[Any],
    channel: NDArray[Any] | int,
    order_row: NDArray[Any] | int = -1,
) -> None:
    """Browse / search / favorite / cart rows (the shopping funnel)."""
    size = cust.shape[0]
    kinds = np.array(
        [_k(InteractionKind.BROWSE), _k(InteractionKind.SEARCH),
         _k(InteractionKind.FAVORITE), _k(InteractionKind.CART)],
        dtype=np.int8,
    )
    kind = kinds[_pick(rng, (0.55, 0.2, 0.1, 0.15), size)]
    is_search = kind == _k(InteractionKind.SEARCH)
    query = np.where(is_search, _queries(rng, category), -1)
    product = np.where(is_search, -1, _products(rng, category))
    parts.add(
        size,
        customer_index=cust,
        at=at,
        kind=kind,
        channel=channel,
        order_row=order_row,
        category=category,
        product=product,
        query=query,
    )


def _interactions(
    c: CustomerArrays, o: OrderArrays, events_per_order: float
) -> InteractionArrays:
    rng = np.random.default_rng([c.seed, _STREAM_INTERACTIONS])
    as_of_us = to_epoch_micros(c.as_of)
    m = len(o)
    parts = _Parts()
    rows = np.arange(m, dtype=np.int64)
    order_channel = _ORDER_TO_INTERACTION_CHANNEL[o.channel]
    status = o.status
    # Purchases: one per order, when it was placed.
    parts.add(
        m,
        customer_index=o.customer_index,
        at=o.placed_at,
        kind=_k(InteractionKind.PURCHASE),
        channel=order_channel,
        order_row=rows,
        category=o.category,
    )
    # Returns, complaints, reviews: need the orders' step times (hash of order id).
    returned_rows = np.flatnonzero((status == _RETURNED) | (status == _PARTIAL))
    lags = order_lags(c.seed, o.order_id[returned_rows])
    delivered_at = o.placed_at[returned_rows] + lags.pay + lags.ship + lags.deliver
    returned_at = delivered_at + lags.ret
    parts.add(
        returned_rows.shape[0],
        customer_index=o.customer_index[returned_rows],
        at=returned_at,
        kind=_k(InteractionKind.RETURN),
        channel=order_channel[returned_rows],
        order_row=returned_rows,
        category=o.category[returned_rows],
    )
    complained = _complaints(parts, rng, o, returned_rows, delivered_at, returned_at, as_of_us)
    _reviews(parts, rng, c, o, complained, as_of_us)

    # The funnel before each order: a few browse/search/favorite/cart events.
    k = rng.poisson(events_per_order, size=m)
    before = np.repeat(rows, k)
    cust = o.customer_index[before]
    back = (60 * US_PER_SECOND + rng.exponential(0.7 * US_PER_DAY, size=before.shape[0]))
    at = np.maximum(o.placed_at[before] - back.astype(np.int64), c.registered_at[cust])
    _browsing(parts, rng, cust, at, o.category[before], order_channel[before])
    # Inquiries before some orders, by phone or WeChat.
    asked = np.flatnonzero(rng.random(m) < 0.04)
    cust = o.customer_index[asked]
    back = (10 * 60 * US_PER_SECOND + rng.exponential(US_PER_DAY, size=asked.shape[0]))
    parts.add(
        asked.shape[0],
        customer_index=cust,
        at=np.maximum(o.placed_at[asked] - back.astype(np.int64), c.registered_at[cust]),
        kind=_k(InteractionKind.INQUIRY),
        channel=np.where(rng.random(asked.shape[0]) < 0.5, 3, 2),
        category=o.category[asked],
    )
    _customer_activity(parts, rng, c, o, as_of_us)

    cols = parts.concat()
    order = np.argsort(cols["at"], kind="stable")
    cols = {name: column[order] for name, column in cols.items()}
    size = cols["at"].shape[0]
    interaction_id = 5_000_000_000 + np.cumsum(rng.integers(1, 6, size=size, dtype=np.int64))
    return InteractionArrays(
        interaction_id=_frozen(interaction_id),
        customer_id=_frozen(c.customer_id[cols["customer_index"]]),
        customer_index=_frozen(cols["customer_index"]),
        at=_frozen(cols["at"]),
        kind=_frozen(cols["kind"]),
        channel=_frozen(cols["channel"]),
        order_row=_frozen(cols["order_row"]),
        category=_frozen(cols["category"]),
        product=_frozen(cols["product"]),
        rating=_frozen(cols["rating"]),
        complaint_category=_frozen(cols["complaint_category"]),
        resolved=_frozen(cols["resolved"]),
        referred_index=_frozen(cols["referred_index"]),
        query=_frozen(cols["query"]),
        as_of=c.as_of,
        seed=c.seed,
    )


def _complaints(
    parts: _Parts,
    rng: np.random.Generator,
    o: OrderArrays,
    returned_rows: Int64s,
    delivered_at: Int64s,
    returned_at: Int64s,
    as_of_us: int,
) -> Bools:
    """Complaints: rare on normal orders, frequent on returned ones; which orders had one."""
    m = len(o)
    cats = {c: np.int8(_COMPLAINT_CATEGORIES.index(c.value)) for c in ComplaintCategory}
    complained = np.zeros(m, dtype=bool)
    # Returned orders: a third complain between delivery and the return.
    hit = rng.random(returned_rows.shape[0]) < 0.33
    rows_r = returned_rows[hit]
    at_r = delivered_at[hit] + (rng.random(rows_r.shape[0]) * (returned_at - delivered_at)[hit])
    cat_r = np.where(
        rng.random(rows_r.shape[0]) < 0.6,
        cats[ComplaintCategory.PRODUCT_QUALITY],
        cats[ComplaintCategory.AFTER_SALES],
    )
    # Other orders: 2% (cancelled ones 8%) complain within ten days of placing.
    others = np.ones(m, dtype=bool)
    others[returned_rows] = False
    chance = np.where(o.status == _CANCELLED, 0.08, 0.02)
    rows_o = np.flatnonzero(others & (rng.random(m) < chance))
    at_o = o.placed_at[rows_o] + (
        US_PER_HOUR + rng.random(rows_o.shape[0]) * 10 * US_PER_DAY
    ).astype(np.int64)
    weights = np.array([0.15, 0.45, 0.0, 0.15, 0.2, 0.05])  # enum order
    cat_o = _pick(rng, weights, rows_o.shape[0]).astype(np.int8)
    cancelled = o.status[rows_o] == _CANCELLED
    cat_o = np.where(
        cancelled,
        np.where(rng.random(rows_o.shape[0]) < 0.5, cats[ComplaintCategory.SERVICE],
                 cats[ComplaintCategory.PRICE]),
        cat_o,
    )
    rows = np.concatenate([rows_r, rows_o])
    at = np.concatenate([at_r.astype(np.int64), at_o])
    cat = np.concatenate([cat_r, cat_o]).astype(np.int8)
    keep = at < as_of_us
    rows, at, cat = rows[keep], at[keep], cat[keep]
    complained[rows] = True
    old = at < as_of_us - 3 * US_PER_DAY
    resolved = rng.random(rows.shape[0]) < np.where(old, 0.8, 0.3)
    channel = _pick(rng, (0.35, 0.15, 0.25, 0.25, 0.0), rows.shape[0]).astype(np.int8)
    parts.add(
        rows.shape[0],
        customer_index=o.customer_index[rows],
        at=at,
        kind=_k(InteractionKind.COMPLAINT),
        channel=channel,
        order_row=rows,
        category=o.category[rows],
        complaint_category=cat,
        resolved=resolved,
    )
    return complained


def _reviews(
    parts: _Parts,
    rng: np.random.Generator,
    c: CustomerArrays,
    o: OrderArrays,
    complained: Bools,
    as_of_us: int,
) -> None:
    """Reviews after delivery; ratings follow satisfaction, returns and complaints."""
    m = len(o)
    delivered = (o.status == _DELIVERED) | (o.status == _RETURNED) | (o.status == _PARTIAL)
    unhappy = (o.status == _RETURNED) | (o.status == _PARTIAL) | complained
    chance = np.where(unhappy, 0.45, 0.2)
    rows = np.flatnonzero(delivered & (rng.random(m) < chance))
    lags = order_lags(c.seed, o.order_id[rows])
    after = (US_PER_HOUR + rng.exponential(3 * US_PER_DAY, size=rows.shape[0])).astype(np.int64)
    at = o.placed_at[rows] + lags.pay + lags.ship + lags.deliver + after
    keep = at < as_of_us
    rows, at = rows[keep], at[keep]
    status = o.status[rows]
    latent = (
        4.6
        + 0.5 * c.satisfaction[o.customer_index[rows]]
        - 2.3 * (status == _RETURNED)
        - 1.6 * (status == _PARTIAL)
        - 1.4 * complained[rows]
        + rng.normal(0.0, 0.9, size=rows.shape[0])
    )
    rating = np.clip(np.rint(latent), 1, 5).astype(np.int8)
    parts.add(
        rows.shape[0],
        customer_index=o.customer_index[rows],
        at=at,
        kind=_k(InteractionKind.REVIEW),
        channel=_ORDER_TO_INTERACTION_CHANNEL[o.channel[rows]],
        order_row=rows,
        category=o.category[rows],
        product=_products(rng, o.category[rows]),
        rating=rating,
    )


def _customer_activity(
    parts: _Parts, rng: np.random.Generator, c: CustomerArrays, o: OrderArrays, as_of_us: int
) -> None:
    """Window shopping (more for prospects), follows, shares, feedback and referrals."""
    n = len(c)
    reg = c.registered_at
    bought = np.bincount(o.customer_index, minlength=n) > 0
    # Activity stops when a customer drops out; prospects who never buy still browse.
    end = np.minimum(o.dropout_at, as_of_us - 1)
    window = np.maximum(end - reg, 0)

    def uniform_times(who: Int64s) -> Int64s:
        return reg[who] + (rng.random(who.shape[0]) * window[who]).astype(np.int64)

    k = rng.poisson(np.where(bought, 1.5, 5.0))
    who = np.repeat(np.arange(n, dtype=np.int64), k)
    side = rng.integers(0, 2, size=who.shape[0])
    category = c.preferred[who, side]
    channel = _pick(rng, (0.6, 0.25, 0.15, 0.0, 0.0), who.shape[0]).astype(np.int8)
    _browsing(parts, rng, who.astype(np.int32), uniform_times(who), category, channel)

    who = np.flatnonzero(rng.random(n) < 0.25)
    at = reg[who] + (rng.random(who.shape[0]) * 30 * US_PER_DAY).astype(np.int64)
    keep = at < as_of_us
    who, at = who[keep], at[keep]
    parts.add(
        who.shape[0],
        customer_index=who,
        at=at,
        kind=_k(InteractionKind.FOLLOW),
        channel=np.where(rng.random(who.shape[0]) < 0.6, 2, 0),
    )
    for kind, mean, channels in (
        (InteractionKind.SHARE, 0.3, (0.3, 0.0, 0.7, 0.0, 0.0)),
        (InteractionKind.FEEDBACK, 0.06, (0.4, 0.3, 0.2, 0.1, 0.0)),
    ):
        who = np.repeat(np.arange(n, dtype=np.int64), rng.poisson(mean, size=n))
        parts.add(
            who.shape[0],
            customer_index=who,
            at=uniform_times(who),
            kind=_k(kind),
            channel=_pick(rng, channels, who.shape[0]),
        )
    # Referrals: a customer who came by referral was referred by someone registered
    # earlier; the referrer's interaction happens shortly before the registration.
    by_reg = np.argsort(reg, kind="stable")
    position = np.empty(n, dtype=np.int64)
    position[by_reg] = np.arange(n)
    referral_code = vocab.ACQUISITION_CHANNELS.index("referral")
    referred = np.flatnonzero((c.acquisition_channel == referral_code) & (position > 0))
    referrer = by_reg[(rng.random(referred.shape[0]) * position[referred]).astype(np.int64)]
    before = (rng.random(referred.shape[0]) * 2 * US_PER_DAY).astype(np.int64)
    at = np.maximum(reg[referred] - before, reg[referrer])
    parts.add(
        referred.shape[0],
        customer_index=referrer,
        at=at,
        kind=_k(InteractionKind.REFERRAL),
        channel=np.where(rng.random(referred.shape[0]) < 0.7, 2, 0),
        referred_index=referred,
    )


# -- public entry points --------------------------------------------------------------
def make_customer_arrays(
    n_customers: int = 1000,
    *,
    seed: int = 0,
    as_of: datetime = DEFAULT_AS_OF,
    history_days: int = 1095,
) -> CustomerArrays:
    """Synthetic customers as columnar arrays (see :class:`CustomerArrays`).

    >>> customers = make_customer_arrays(5, seed=1)
    >>> len(customers), customers.customer_id.dtype.name
    (5, 'int64')

    Args:
        n_customers: how many customers, at least 1.
        seed: the random seed; the same arguments always give the same data.
        as_of: the observation time (aware); everyone registers before it.
        history_days: registrations fall within this many days before ``as_of``.

    Raises:
        ValidationError: a parameter is out of range, naming it.
    """
    n = check_count("n_customers", n_customers, minimum=1)
    return _customers(n, check_seed(seed), check_as_of(as_of), check_history_days(history_days))


def make_order_arrays(
    n_orders: int = 100_000,
    n_customers: int | None = None,
    *,
    seed: int = 0,
    as_of: datetime = DEFAULT_AS_OF,
    history_days: int = 1095,
    currency: str = "CNY",
) -> OrderArrays:
    """Synthetic orders as columnar arrays, fast enough for tens of millions of rows.

    Equal to ``make_arrays(n_customers, n_orders, ...).orders`` with the same arguments.

    >>> orders = make_order_arrays(1_000, 100, seed=7)
    >>> len(orders), orders.n_customers, orders.currency
    (1000, 100, 'CNY')
    >>> bool((orders.returned_amount <= orders.amount).all())
    True

    Args:
        n_orders: exactly how many orders.
        n_customers: how many customers place them (default ``max(1, n_orders // 10)``);
            some place none (prospects) and some many.
        seed: the random seed.
        as_of: the observation time (aware); every order is placed before it.
        history_days: how many days of history before ``as_of``.
        currency: ISO 4217 code of the amounts (prices are drawn on a yuan scale).

    Raises:
        ValidationError: a parameter is out of range, naming it.
    """
    orders = check_count("n_orders", n_orders)
    if n_customers is None:
        n_customers = max(1, orders // 10)
    customers = make_customer_arrays(
        n_customers, seed=seed, as_of=as_of, history_days=history_days
    )
    return _orders(customers, orders, check_currency(currency), currency)


def make_arrays(
    n_customers: int = 1000,
    n_orders: int | None = None,
    *,
    seed: int = 0,
    as_of: datetime = DEFAULT_AS_OF,
    history_days: int = 1095,
    currency: str = "CNY",
    interactions: bool = True,
    events_per_order: float = 3.0,
) -> SyntheticArrays:
    """Customers, orders and interactions from one generative model, as arrays.

    >>> data = make_arrays(50, 400, seed=3)
    >>> len(data.customers), len(data.orders), len(data.interactions) > 400
    (50, 400, True)

    Args:
        n_customers: how many customers, at least 1.
        n_orders: exactly how many orders (default ``10 * n_customers``).
        seed: the random seed.
        as_of: the observation time (aware); everything happens before it.
        history_days: how many days of history before ``as_of``.
        currency: ISO 4217 code of the amounts.
        interactions: whether to generate interactions (skip them for speed).
        events_per_order: mean browse/search/favorite/cart events before each order.

    Raises:
        ValidationError: a parameter is out of range, naming it.
    """
    customers = make_customer_arrays(
        n_customers, seed=seed, as_of=as_of, history_days=history_days
    )
    total = 10 * len(customers) if n_orders is None else check_count("n_orders", n_orders)
    digits = check_currency(currency)
    rate = check_rate("events_per_order", events_per_order, maximum=100.0)
    if not isinstance(interactions, bool):
        raise ValidationError("interactions", interactions, "True or False")
    orders = _orders(customers, total, digits, currency)
    events = _interactions(customers, orders, rate) if interactions else None
    return SyntheticArrays(customers=customers, orders=orders, interactions=events)


def make_interaction_arrays(
    n_customers: int = 1000,
    n_orders: int | None = None,
    *,
    seed: int = 0,
    as_of: datetime = DEFAULT_AS_OF,
    history_days: int = 1095,
    events_per_order: float = 3.0,
) -> InteractionArrays:
    """Synthetic interactions as arrays: ``make_arrays(...).interactions``.

    Their ``order_row`` refers to the orders of ``make_order_arrays(n_orders,
    n_customers, ...)`` with the same arguments.

    Raises:
        ValidationError: a parameter is out of range, naming it.
    """
    data = make_arrays(
        n_customers,
        n_orders,
        seed=seed,
        as_of=as_of,
        history_days=history_days,
        events_per_order=events_per_order,
    )
    assert data.interactions is not None  # requested above
    return data.interactions
