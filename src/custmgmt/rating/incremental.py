"""Real-time star updates between scheduled runs.

An :class:`IncrementalRater` takes a run (a :class:`Rating` with the features it was
computed from) and applies single events (a new order, a return, a complaint) to
that one customer's features, score and stars, in O(1): per-customer state lives in
numpy arrays addressed through a dict from customer id to position, and the
customer is measured against the population *as frozen at the run* (its fitted
normalisations and star thresholds, see :class:`RatingScale`). So after any sequence
of events the rater agrees with a full re-rate of all orders against the same scale
(``rate(policy, features, previous, scale=run)``), which the tests check; population
quantiles move only at the next scheduled run. Absolute bands are fixed thresholds
and so apply at once by construction.

Only features that single events change are supported: ``frequency``,
``monetary_total``, ``monetary_net``, ``returned_total``, ``monetary_mean``, ``aov``,
``category_breadth`` and ``complaint_count``. Time-dependent features (recency,
tenure, windowed counts) change for every customer every day and need a run; a
policy reading one is refused with the criterion and the feature named.

Wired to a store: :meth:`IncrementalRater.from_store` rebuilds a rater at start-up
(from the latest stored run of the policy and everything stored since), and the
service layer (:func:`custmgmt.services.record_order`,
:func:`~custmgmt.services.record_return`,
:func:`~custmgmt.services.record_interaction`) feeds it each order, return and
complaint it stores when given ``rater=``, through :meth:`IncrementalRater.apply_order`,
:meth:`~IncrementalRater.apply_return` and :meth:`~IncrementalRater.apply_interaction`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from custmgmt.analytics.features import FEATURES, customer_features
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.domain import Interaction, InteractionKind, Order, OrderStatus
from custmgmt.domain.time import require_aware, to_epoch_micros
from custmgmt.errors import NotFound, ValidationError
from custmgmt.rating.inputs import counted_only
from custmgmt.rating.policy import RatingPolicy
from custmgmt.rating.ports import RatingStore
from custmgmt.rating.result import (
    PreviousStars,
    Rating,
    hysteresis_one,
    rate,
    star_for_one,
)

__all__ = ["INCREMENTAL_FEATURES", "IncrementalRater"]

#: Each supported feature and the base counters it is derived from.
INCREMENTAL_FEATURES: dict[str, tuple[str, ...]] = {
    "frequency": ("frequency",),
    "monetary_total": ("monetary_total",),
    "monetary_net": ("monetary_net",),
    "returned_total": ("returned_total",),
    "monetary_mean": ("monetary_total", "frequency"),
    "aov": ("monetary_net", "frequency"),
    "category_breadth": ("category_breadth",),
    "complaint_count": ("complaint_count",),
}

_BASE = (
    "frequency",
    "monetary_total",
    "monetary_net",
    "returned_total",
    "category_breadth",
    "complaint_count",
)


#: The largest amount in minor units: the order frames hold int64.
_MAX_MINOR = 2**63 - 1


def _minor(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValidationError(field, value, "a non-negative integer amount in minor units")
    if value > _MAX_MINOR:
        raise ValidationError(field, value, f"at most {_MAX_MINOR:,} minor units")
    return int(value)


def _category_names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    try:
        names = tuple(value)
    except TypeError:
        raise ValidationError("categories", value, "category names (text)") from None
    for name in names:
        if not isinstance(name, str):
            raise ValidationError("categories", name, "category names (text)")
    return names


class IncrementalRater:
    """Keep one run's stars current as single events arrive.

    Args:
        rating: the run to continue from.
        features: the features the run was computed from (same customers, same
            order), including every base counter the policy's features derive from
            (see :meth:`required_features`).
        orders: the run's order frame; needed only when the policy uses
            ``category_breadth`` (to know which categories a customer already has).
        currency: the currency amounts are compared in, for :meth:`apply_order` and
            :meth:`apply_return` (default: ``orders.currency``).
        rates: conversion rates into ``currency`` for orders in other currencies.

    Raises:
        ValidationError: a criterion reads a feature that single events cannot
            update (the criterion and the feature are named), a needed feature
            column is missing, or the features do not match the rating's customers.
    """

    def __init__(
        self,
        rating: Rating,
        features: Any,
        orders: Any = None,
        *,
        currency: str | None = None,
        rates: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(rating, Rating):
            raise ValidationError("rating", rating, "a Rating")
        policy = rating.policy
        self.check_policy(policy)
        ids = np.asarray(getattr(features, "customer_ids", ()))
        if ids.shape != rating.customer_ids.shape or not np.array_equal(
            ids, rating.customer_ids
        ):
            raise ValidationError("features", features, "the rating's customers, in order")
        self.rating = rating
        self.policy = policy
        self._fitted = rating.scale.fitted
        self._thresholds = [float(t) for t in rating.scale.thresholds]
        self._features = [c.feature for c in policy.criteria]
        self._base = sorted({b for f in self._features for b in INCREMENTAL_FEATURES[f]})
        n = len(rating)
        capacity = max(16, n + n // 8)
        self._n = n
        self._columns: dict[str, NDArray[np.float64]] = {}
        for name in self._base:
            try:
                column = np.asarray(features[name], dtype=np.float64)
            except (KeyError, LookupError):
                raise ValidationError(
                    "features", name, "a column the incremental rater derives from"
                ) from None
            self._columns[name] = _grown(column, capacity)
        k = len(policy.criteria)
        self._score = _grown(rating.score.astype(np.float64), capacity)
        # Overrides are applied by the reader (rate_store, current_stars), not here.
        self._stars = _grown(rating.rated_stars.astype(np.int64), capacity)
        self._computed = _grown(rating.computed_stars.astype(np.int64), capacity)
        self._previous = _grown(rating.previous_stars.astype(np.int64), capacity)
        self._pending = _grown(rating.pending.astype(np.int64), capacity)
        # The hysteresis of every update is judged against the run's own inputs.
        self._previous_pending = _grown(rating.previous_pending.astype(np.int64), capacity)
        parts = np.zeros((capacity, k), dtype=np.float64)
        for j, c in enumerate(policy.criteria):
            parts[:n, j] = rating.contributions[c.name]
        self._parts = parts
        raw_ids = rating.customer_ids.tolist()
        self._ids: list[Any] = raw_ids
        self._index: dict[Any, int] = {ident: i for i, ident in enumerate(raw_ids)}
        self._int_ids = rating.customer_ids.dtype.kind in "iu"
        self._orders = orders
        self._categories: dict[int, set[str]] = {}
        self._category_keys: NDArray[np.int64] | None = None
        self._frame_codes: dict[Any, int] | None = None
        if "category_breadth" in self._base and orders is None:
            raise ValidationError("orders", None, "the run's OrderFrame (for category_breadth)")
        self.as_of: datetime = rating.as_of
        self.currency: str | None = currency if currency is not None else getattr(
            orders, "currency", None
        )
        self.rates = rates
        self._reads_interactions = any(
            FEATURES[f].source == "interactions"
            for f in self._base
            if f in FEATURES
        )

    # -- start-up ----------------------------------------------------------------------
    @staticmethod
    def check_policy(policy: RatingPolicy) -> None:
        """Refuse a policy with a criterion single events cannot keep current.

        Raises:
            ValidationError: naming the first such criterion and its feature.
        """
        for c in policy.criteria:
            if c.feature not in INCREMENTAL_FEATURES:
                raise ValidationError(
                    f"criteria.{c.name}.feature",
                    c.feature,
                    f"a feature single events update ({', '.join(INCREMENTAL_FEATURES)}); "
                    f"the incremental rater cannot keep {c.feature!r} current (time-dependent "
                    "features such as recency and windowed counts need a scheduled run)",
                )

    @classmethod
    def from_store(
        cls,
        store: RatingStore,
        policy: RatingPolicy,
        *,
        currency: str,
        now: datetime,
        rates: Mapping[str, Any] | None = None,
    ) -> IncrementalRater:
        """Rebuild a rater at start-up from what the store holds.

        The population is frozen as at the latest stored run of ``policy`` with
        ``as_of <= now`` (its normalisations and quantile thresholds are refitted
        from the store's data at that ``as_of``); every customer is then measured
        against it with everything stored up to ``now``, and the run's stored stars
        feed the hysteresis. Without such a run the population is the store at
        ``now``. From there on, feed it through the service layer (``rater=``).

        Orders are not versioned by time: a return recorded later on an order the
        run counted changes what the store says about the run's population, so a
        rater rebuilt after it measures against the population as the store now
        holds it (the next scheduled run settles it either way).

        Args:
            store: a store with ``ratings``.
            policy: the policy (every criterion must be one single events update).
            currency: the currency amounts are compared in.
            now: the current time, from the caller's clock (aware).
            rates: conversion rates for orders in other currencies.

        Raises:
            ValidationError: a criterion single events cannot update (named), a
                naive ``now``, mixed currencies without rates.
        """
        cls.check_policy(policy)
        require_aware("now", now)
        needed = cls.required_features(policy)
        reads_interactions = any(FEATURES[f].source == "interactions" for f in needed)

        def features_at(as_of: datetime) -> tuple[OrderFrame, Any]:
            orders = OrderFrame.from_store(store, currency=currency, as_of=as_of, rates=rates)
            interactions = (
                InteractionFrame.from_store(store, as_of=as_of, customer_index=orders)
                if reads_interactions
                else None
            )
            features = customer_features(orders, interactions, as_of=as_of, features=list(needed))
            return orders, features

        ratings = store.ratings
        text = policy.to_json()
        runs = [r for r in ratings.list_runs() if r.as_of <= now and r.policy_json == text]
        orders, features = features_at(now)
        # Scales are fitted on the rated population only (customers with a counted
        # order), as every full rating is; everyone is then measured against it.
        if not runs:
            population = rate(policy, counted_only(features, orders, as_of=now), None, as_of=now)
            rating = rate(policy, features, None, as_of=now, scale=population)
        else:
            run = runs[-1]
            earlier = [r for r in runs if r.as_of < run.as_of]
            before = None
            if earlier:
                kept = ratings.results_arrays(earlier[-1].id)
                before = PreviousStars(
                    customer_ids=kept.customer_ids, stars=kept.stars, pending=kept.pending
                )
            run_orders, at_run = features_at(run.as_of)
            population = rate(
                policy, counted_only(at_run, run_orders, as_of=run.as_of), before, as_of=run.as_of
            )
            stored = ratings.results_arrays(run.id)
            previous = PreviousStars(
                customer_ids=stored.customer_ids, stars=stored.stars, pending=stored.pending
            )
            rating = rate(policy, features, previous, as_of=now, scale=population)
        return cls(rating, features, orders, currency=currency, rates=rates)

    # -- queries -----------------------------------------------------------------------
    @staticmethod
    def required_features(policy: Any) -> tuple[str, ...]:
        """The feature columns to compute for a policy's run before building a rater."""
        base = {b for c in policy.criteria for b in INCREMENTAL_FEATURES.get(c.feature, ())}
        return tuple(dict.fromkeys([*policy.features, *sorted(base)]))

    def __len__(self) -> int:
        return self._n

    def __contains__(self, customer_id: object) -> bool:
        return customer_id in self._index

    def stars(self, customer_id: Any) -> int:
        """The customer's current stars.

        Raises:
            NotFound: the customer is unknown.
        """
        return int(self._stars[self._position(customer_id)])

    def score(self, customer_id: Any) -> float:
        """The customer's current score (NotFound if unknown)."""
        return float(self._score[self._position(customer_id)])

    def feature(self, customer_id: Any, name: str) -> float:
        """The customer's current value of a maintained feature."""
        i = self._position(customer_id)
        return self._value(name, i)

    def snapshot(self) -> Rating:
        """The current state as a :class:`Rating` (new customers appended at the end)."""
        n = self._n
        dtype = self.rating.customer_ids.dtype if self._int_ids else object
        ids = np.array(self._ids, dtype=dtype)
        contributions = {
            c.name: self._parts[:n, j].copy() for j, c in enumerate(self.policy.criteria)
        }
        return Rating(
            customer_ids=ids,
            score=self._score[:n].copy(),
            stars=self._stars[:n].copy(),
            computed_stars=self._computed[:n].copy(),
            contributions=contributions,
            previous_stars=self._previous[:n].copy(),
            pending=self._pending[:n].copy(),
            previous_pending=self._previous_pending[:n].copy(),
            as_of=self.as_of,
            policy=self.policy,
            scale=self.rating.scale,
        )

    def previous(self) -> PreviousStars:
        """What the next scheduled run needs, as of now."""
        return self.snapshot().previous()

    # -- events ------------------------------------------------------------------------
    def add_order(
        self,
        customer_id: Any,
        *,
        amount: int,
        placed_at: datetime,
        categories: Iterable[str] = (),
        returned_amount: int = 0,
    ) -> int:
        """Apply a new (not cancelled) order; returns the customer's new stars.

        A customer not in the run is added (rated against the frozen population).

        Args:
            customer_id: the customer (the run's id type).
            amount: the order total in minor units.
            placed_at: when it was placed (aware).
            categories: the order's categories (empty or blank names do not count).
            returned_amount: minor units already returned (``<= amount``).

        Raises:
            ValidationError: negative amounts or amounts past int64, ``returned_amount
                > amount``, naive time, categories that are not text.
        """
        amount = _minor("amount", amount)
        returned = _minor("returned_amount", returned_amount)
        if returned > amount:
            raise ValidationError("returned_amount", returned, f"at most the amount {amount}")
        names = _category_names(categories)
        # Everything is checked before anything changes: a refused event leaves the
        # rater (its customers, its as_of) as it was.
        require_aware("placed_at", placed_at)
        i = self._position(customer_id, create=True)
        self._advance(placed_at)
        cols = self._columns
        if "frequency" in cols:
            cols["frequency"][i] += 1.0
        if "monetary_total" in cols:
            cols["monetary_total"][i] += amount
        if "monetary_net" in cols:
            cols["monetary_net"][i] += amount - returned
        if "returned_total" in cols:
            cols["returned_total"][i] += returned
        if "category_breadth" in cols:
            known = self._category_set(i)
            for name in names:
                if name:
                    known.add(name)
            cols["category_breadth"][i] = float(len(known))
        return self._rerate(i)

    def add_return(self, customer_id: Any, *, amount: int, at: datetime | None = None) -> int:
        """Apply a refund on one of the customer's counted orders; returns the new stars.

        Raises:
            NotFound: the customer is unknown.
            ValidationError: a negative amount, or more than the customer's net spend.
        """
        amount = _minor("amount", amount)
        if at is not None:
            require_aware("at", at)
        i = self._position(customer_id)
        cols = self._columns
        net = cols.get("monetary_net")
        if net is not None and amount > net[i]:
            raise ValidationError("amount", amount, f"at most the net spend {int(net[i])}")
        if at is not None:
            self._advance(at)
        if net is not None:
            net[i] -= amount
        if "returned_total" in cols:
            cols["returned_total"][i] += amount
        return self._rerate(i)

    def add_complaint(self, customer_id: Any, *, at: datetime) -> int:
        """Apply a new complaint; returns the customer's new stars.

        A customer not in the run is added.
        """
        require_aware("at", at)
        i = self._position(customer_id, create=True)
        self._advance(at)
        if "complaint_count" in self._columns:
            self._columns["complaint_count"][i] += 1.0
        return self._rerate(i)

    # -- domain events (what the service layer feeds) ----------------------------------
    def _minor_amounts(self, order: Order) -> tuple[int, int]:
        """The order's total and refunded amount in minor units of :attr:`currency`,
        converted exactly as the order frames convert them."""
        if self.currency is None:
            raise ValidationError(
                "currency", None, "the rating currency (pass currency= or the run's OrderFrame)"
            )
        row = OrderFrame.from_orders([order], currency=self.currency, rates=self.rates)
        return int(row.amount[0]), int(row.returned_amount[0])

    def apply_order(self, order: Order) -> int:
        """Apply a newly stored order; returns the customer's stars.

        A cancelled order counts for nothing, but its customer becomes known (as a
        full re-rate would list them).

        Raises:
            ValidationError: not an ``Order``, or a currency without a rate.
        """
        if not isinstance(order, Order):
            raise ValidationError("order", order, "an Order")
        if order.status is OrderStatus.CANCELLED:
            i = self._position(order.customer_id, create=True)
            self._advance(order.placed_at)
            return self._rerate(i)
        amount, returned = self._minor_amounts(order)
        return self.add_order(
            order.customer_id,
            amount=amount,
            placed_at=order.placed_at,
            categories=sorted(order.categories),
            returned_amount=returned,
        )

    def apply_return(self, before: Order, after: Order) -> int:
        """Apply a return recorded on a stored order (``before`` -> ``after``, the same
        order with more refunded); returns the customer's stars.

        Raises:
            ValidationError: the two are not the same order, or less is refunded after.
            NotFound: the customer is unknown to the rater.
        """
        if not isinstance(before, Order) or not isinstance(after, Order) or before.id != after.id:
            raise ValidationError("after", after, "the same Order as before, changed")
        _, was = self._minor_amounts(before)
        _, now = self._minor_amounts(after)
        if now < was:
            raise ValidationError("after.returned_amount", after.refunded, "at least as before")
        at = after.returned_at if after.returned_at is not None else after.placed_at
        return self.add_return(after.customer_id, amount=now - was, at=at)

    def apply_interaction(self, interaction: Interaction) -> int | None:
        """Apply a newly stored interaction; returns the customer's stars (None when it
        changes nothing the policy reads).

        A complaint adds to ``complaint_count``; any interaction makes its customer
        known when the policy reads interaction features (as a full re-rate would).
        """
        if not isinstance(interaction, Interaction):
            raise ValidationError("interaction", interaction, "an Interaction")
        if not self._reads_interactions:
            return None
        if interaction.kind is InteractionKind.COMPLAINT:
            return self.add_complaint(interaction.customer_id, at=interaction.at)
        i = self._position(interaction.customer_id, create=True)
        self._advance(interaction.at)
        return self._rerate(i)

    # -- internals ---------------------------------------------------------------------
    def _advance(self, at: datetime) -> None:
        require_aware("at", at)
        if at > self.as_of:
            self.as_of = at

    def _position(self, customer_id: Any, *, create: bool = False) -> int:
        key = customer_id.item() if isinstance(customer_id, np.generic) else customer_id
        found = self._index.get(key)
        if found is not None:
            return found
        if not create:
            raise NotFound("customer", customer_id)
        if self._int_ids:
            if isinstance(key, bool) or not isinstance(key, int):
                raise ValidationError("customer_id", customer_id, "an integer id, as in the run")
        elif not isinstance(key, str) or not key:
            raise ValidationError("customer_id", customer_id, "a non-blank id string")
        return self._append(key)

    def _append(self, key: Any) -> int:
        i = self._n
        if i >= self._score.size:
            capacity = 2 * self._score.size
            for name, column in self._columns.items():
                self._columns[name] = _grown(column, capacity)
            self._score = _grown(self._score, capacity)
            self._stars = _grown(self._stars, capacity)
            self._computed = _grown(self._computed, capacity)
            self._previous = _grown(self._previous, capacity)
            self._pending = _grown(self._pending, capacity)
            self._previous_pending = _grown(self._previous_pending, capacity)
            parts = np.zeros((capacity, self._parts.shape[1]))
            parts[:i] = self._parts[:i]
            self._parts = parts
        for column in self._columns.values():
            column[i] = 0.0
        self._previous[i] = 0
        self._pending[i] = 0
        self._previous_pending[i] = 0
        self._categories[i] = set()
        self._ids.append(key)
        self._index[key] = i
        self._n = i + 1
        return i

    def _value(self, feature: str, i: int) -> float:
        cols = self._columns
        if feature == "aov":
            f = cols["frequency"][i]
            return float(cols["monetary_net"][i] / f) if f > 0 else float("nan")
        if feature == "monetary_mean":
            f = cols["frequency"][i]
            return float(cols["monetary_total"][i] / f) if f > 0 else float("nan")
        try:
            return float(cols[feature][i])
        except KeyError:
            raise ValidationError("name", feature, f"one of {sorted(cols)}") from None

    def _rerate(self, i: int) -> int:
        values = [self._value(f, i) for f in self._features]
        total, parts = self._fitted.score_one(values)
        computed = star_for_one(total, self._thresholds)
        stars, pending = hysteresis_one(
            self.policy,
            total,
            computed,
            self._thresholds,
            int(self._previous[i]),
            int(self._previous_pending[i]),
        )
        self._score[i] = total
        self._parts[i] = parts
        self._computed[i] = computed
        self._stars[i] = stars
        self._pending[i] = pending
        return stars

    def _category_set(self, i: int) -> set[str]:
        known = self._categories.get(i)
        if known is None:
            known = self._frame_categories(i)
            self._categories[i] = known
        return known

    def _frame_code(self, i: int) -> int | None:
        """Customer ``i``'s code in the order frame (None: not in it).

        The rater's positions are the rating's customers, which need not be the
        frame's customer index: a rating from :func:`~custmgmt.rating.rate_frames`
        leaves out the customers without a counted order.
        """
        if self._frame_codes is None:
            # Built once on the first category event, like the category keys.
            self._frame_codes = {
                ident: code for code, ident in enumerate(self._orders.customer_ids.tolist())
            }
        return self._frame_codes.get(self._ids[i])

    def _frame_categories(self, i: int) -> set[str]:
        """The categories customer ``i`` had at the run, from the order frame."""
        frame = self._orders
        names = tuple(frame.category_names)
        width = len(names) + 1
        if self._category_keys is None:
            # Built once on the first category event: every (customer, category) pair
            # of counted orders, packed into one sorted int64 key.
            cancelled = _cancelled_code()
            as_of = to_epoch_micros(self.rating.as_of)
            counted = (np.asarray(frame.status) != cancelled) & (
                np.asarray(frame.placed_at) <= as_of
            )
            codes = np.asarray(frame.customer_code).astype(np.int64)
            category = np.asarray(frame.category).astype(np.int64)
            keep = counted & (category >= 0)
            keys = [codes[keep] * width + category[keep]]
            if frame.line_row is not None:
                rows = np.asarray(frame.line_row).astype(np.int64)
                line_category = np.asarray(frame.line_category).astype(np.int64)
                keep_lines = counted[rows] & (line_category >= 0)
                keys.append(codes[rows[keep_lines]] * width + line_category[keep_lines])
            self._category_keys = np.unique(np.concatenate(keys))
        keys_sorted = self._category_keys
        code = self._frame_code(i)
        if code is None:
            return set()
        lo = int(np.searchsorted(keys_sorted, code * width))
        hi = int(np.searchsorted(keys_sorted, (code + 1) * width))
        return {names[int(k) - code * width] for k in keys_sorted[lo:hi]}


def _cancelled_code() -> int:
    from custmgmt.analytics.frames import STATUS_CODES

    return STATUS_CODES.index(OrderStatus.CANCELLED)


def _grown(column: NDArray[Any], capacity: int) -> NDArray[Any]:
    out = np.zeros(max(capacity, column.size), dtype=column.dtype)
    out[: column.size] = column
    return out
