"""What a KPI report reads: the frames, the customers' attributes, tickets and stars.

:class:`KpiInputs` bundles the columnar frames with per-customer arrays aligned to the
order frame's customer codes. :meth:`KpiInputs.from_store` reads any
:class:`~custmgmt.ports.Store` through the columnar port (``order_frame`` /
``interaction_frame``), its customers in chunks, and, where the store has them, its
service tickets (survey scores, SLA attainment) and its current stars.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.domain.customer import Customer, Gender
from custmgmt.domain.time import require_aware, to_epoch_micros
from custmgmt.errors import ValidationError
from custmgmt.ports import Store

__all__ = ["AGE_BANDS", "CustomerAttributes", "KpiInputs"]

AnyArray = npt.NDArray[Any]
I64 = npt.NDArray[np.int64]

#: Age bands (years at the end of the period): label, lowest age, highest age.
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("<25", 0, 24), ("25-34", 25, 34), ("35-44", 35, 44), ("45-54", 45, 54), ("55+", 55, 200),
)
_GENDERS: tuple[str, ...] = tuple(g.value for g in Gender)


@attrs.frozen(kw_only=True)
class CustomerAttributes:
    """Gender, region and birth date per customer, as columns.

    Attributes:
        customer_ids: the customers' ids (``str``), sorted.
        gender: int8 codes into :class:`~custmgmt.domain.Gender` order, -1 unknown.
        region: int32 codes into :attr:`region_names`, -1 unknown.
        region_names: sorted region names.
        birth_day: int64 days since 1970-01-01 of the birth date; ``MIN`` unknown.
    """

    customer_ids: AnyArray
    gender: AnyArray
    region: AnyArray
    region_names: tuple[str, ...]
    birth_day: I64

    @classmethod
    def from_customers(cls, customers: Iterable[Customer]) -> CustomerAttributes:
        """Read the attributes of ``customers`` (any order)."""
        rows = sorted(((c.id, c.gender, c.region, c.birth_date) for c in customers),
                      key=lambda r: r[0])
        regions = sorted({r[2] for r in rows if r[2]})
        index = {name: i for i, name in enumerate(regions)}
        unknown = np.iinfo(np.int64).min
        epoch = date(1970, 1, 1)
        return cls(
            customer_ids=np.array([r[0] for r in rows], dtype=object),
            gender=np.array([_GENDERS.index(r[1].value) if r[1] else -1 for r in rows],
                            dtype=np.int8),
            region=np.array([index[r[2]] if r[2] else -1 for r in rows], dtype=np.int32),
            region_names=tuple(regions),
            birth_day=np.array([(r[3] - epoch).days if r[3] else unknown for r in rows],
                               dtype=np.int64),
        )

    @classmethod
    def from_store(cls, store: Store) -> CustomerAttributes:
        """Read every stored customer's attributes in chunks."""
        return cls.from_customers(c for chunk in store.customers.iter_chunks() for c in chunk)

    def positions(self, orders: OrderFrame) -> I64:
        """Per customer code of ``orders``: the row here (-1: not among these customers)."""
        ids = np.asarray(orders.customer_ids).astype(str).astype(object)
        if not len(self.customer_ids):
            return np.full(len(ids), -1, dtype=np.int64)
        pos = np.searchsorted(self.customer_ids, ids)
        pos = np.minimum(pos, len(self.customer_ids) - 1)
        found = self.customer_ids[pos] == ids
        return np.where(found, pos, -1).astype(np.int64)

    def groups(
        self, orders: OrderFrame, dimension: str, at: datetime
    ) -> tuple[I64, tuple[str, ...]]:
        """``(group per customer code of orders, labels)`` for ``gender``, ``region`` or
        ``age`` (the age at ``at``)."""
        pos = self.positions(orders)
        known = pos >= 0
        out = np.full(len(pos), -1, dtype=np.int64)
        if dimension == "gender":
            out[known] = self.gender[pos[known]]
            return out, _GENDERS
        if dimension == "region":
            out[known] = self.region[pos[known]]
            return out, self.region_names
        if dimension == "age":
            today = require_aware("at", at).date()  # the local day of ``at``
            born = self.birth_day[pos[known]]
            has = born != np.iinfo(np.int64).min
            age = np.where(has, _whole_years(np.where(has, born, 0), today), -1)
            band = np.full(age.shape, -1, dtype=np.int64)
            for i, (_, lo, hi) in enumerate(AGE_BANDS):
                band[(age >= lo) & (age <= hi)] = i
            out[known] = band
            return out, tuple(b[0] for b in AGE_BANDS)
        raise ValidationError("dimension", dimension, "gender, region or age")


def _whole_years(born: I64, today: date) -> I64:
    """Completed years from each birth day (days since 1970-01-01) to ``today``: the
    calendar age, one more on the birthday itself (a 29 February birthday counts from
    1 March in other years). Days divided by 365.2425 would be a year short on some
    birthdays (2000-03-01 to 2025-03-01 is 9131 days, 24.9998 such years)."""
    days = born.astype("datetime64[D]")
    years = days.astype("datetime64[Y]")
    month = (days.astype("datetime64[M]") - years.astype("datetime64[M]")).astype(np.int64) + 1
    day = (days - days.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    age = today.year - (years.astype(np.int64) + 1970)
    before = (today.month < month) | ((today.month == month) & (today.day < day))
    out: I64 = (age - before).astype(np.int64)
    return out


def _optional(n_rows: int, *names: tuple[str, Any]) -> None:
    for name, value in names:
        if value is not None and np.asarray(value).shape != (n_rows,):
            raise ValidationError(name, np.asarray(value).shape, f"{n_rows} values")


@attrs.frozen(kw_only=True)
class KpiInputs:
    """Everything the KPIs read; only ``orders`` is required.

    Attributes:
        orders: the orders (a frame from the columnar port, a CSV, arrays ...).
        interactions: the interactions (reviews, referrals, complaints) or None.
        customers: the customers' attributes (for breakdowns) or None.
        ticket_score_at: µs UTC of each ticket survey reply, or None.
        ticket_score: the survey scores 1-5, or None.
        sla_at: µs UTC of each ticket's creation (for SLA attainment), or None.
        sla_met: whether each ticket met every SLA target, or None.
        sla_stars: each ticket's customer's stars (0: unrated), or None.
        stars: per customer code of ``orders``, the current stars (0: unrated), or None.
    """

    orders: OrderFrame
    interactions: InteractionFrame | None = None
    customers: CustomerAttributes | None = None
    ticket_score_at: I64 | None = None
    ticket_score: I64 | None = None
    sla_at: I64 | None = None
    sla_met: npt.NDArray[np.bool_] | None = None
    sla_stars: I64 | None = None
    stars: I64 | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.orders, OrderFrame):
            raise ValidationError("orders", type(self.orders).__name__, "an OrderFrame")
        # Half a pair would be dropped silently or fail deep in a measure.
        for given, needed in (("ticket_score", "ticket_score_at"),
                              ("ticket_score_at", "ticket_score"), ("sla_met", "sla_at"),
                              ("sla_at", "sla_met"), ("sla_stars", "sla_met")):
            if getattr(self, given) is not None and getattr(self, needed) is None:
                raise ValidationError(needed, None, f"an array alongside {given}")
        if self.ticket_score is not None:
            _optional(len(self.ticket_score), ("ticket_score_at", self.ticket_score_at))
        if self.sla_met is not None:
            _optional(len(self.sla_met), ("sla_at", self.sla_at), ("sla_stars", self.sla_stars))
        _optional(self.orders.n_customers, ("stars", self.stars))

    @classmethod
    def from_store(
        cls,
        store: Store,
        *,
        currency: str,
        as_of: datetime,
        sla_policy: Any = None,
        calendar: Any = None,
    ) -> KpiInputs:
        """Read a store as of ``as_of``: frames through the columnar port, customers,
        and (where the store has them) tickets and current stars.

        SLA attainment needs ``sla_policy`` and ``calendar``
        (:class:`~custmgmt.tickets.SLAPolicy`, :class:`~custmgmt.calendars.BusinessCalendar`);
        without them it is left out.
        """
        require_aware("as_of", as_of)
        orders = OrderFrame.from_store(store, currency=currency, as_of=as_of)
        interactions = InteractionFrame.from_store(store, as_of=as_of, customer_index=orders)
        customers = CustomerAttributes.from_store(store)
        stars_by_id = _current_stars(store, as_of)
        stars = np.array([stars_by_id.get(str(c), 0) for c in orders.customer_ids.tolist()],
                         dtype=np.int64)
        fields: dict[str, Any] = {}
        tickets = getattr(store, "tickets", None)
        if tickets is not None:
            fields = _ticket_fields(tickets, as_of, stars_by_id, sla_policy, calendar)
        return cls(orders=orders, interactions=interactions, customers=customers,
                   stars=stars if stars_by_id else None, **fields)


def _current_stars(store: object, as_of: datetime) -> dict[str, int]:
    from custmgmt.rating import current_stars
    from custmgmt.rating.ports import RatingStore

    return current_stars(store, as_of) if isinstance(store, RatingStore) else {}


def _ticket_fields(
    tickets: Any, as_of: datetime, stars: dict[str, int], policy: Any, calendar: Any
) -> dict[str, Any]:
    from custmgmt.rating import response_time_factors
    from custmgmt.tickets.sla import SLAState
    from custmgmt.tickets.sla_vectorised import sla_status_many

    limit = to_epoch_micros(as_of)
    found = [t for chunk in tickets.iter_chunks() for t in chunk if t.created_at <= as_of]
    at: list[int] = []
    score: list[int] = []
    for t in found:
        for e in t.events:
            if e.score is not None and to_epoch_micros(e.at) <= limit:
                at.append(to_epoch_micros(e.at))
                score.append(e.score)
    fields: dict[str, Any] = {
        "ticket_score_at": np.array(at, dtype=np.int64),
        "ticket_score": np.array(score, dtype=np.int64),
    }
    if policy is not None and calendar is not None and found:
        # Stars above the map's top (a policy of more levels) get the top's service;
        # an unrated customer keeps the targets (1.0).
        factor = response_time_factors(stars)
        statuses = sla_status_many(
            found, policy, calendar, as_of,
            factors=[factor.get(t.customer_id, 1.0) for t in found],
        ).to_list()
        fields["sla_at"] = np.array([to_epoch_micros(t.created_at) for t in found], np.int64)
        fields["sla_met"] = np.array(
            [all(c.state is not SLAState.BREACHED for c in s.targets) for s in statuses], bool
        )
        fields["sla_stars"] = np.array([stars.get(t.customer_id, 0) for t in found], np.int64)
    return fields
