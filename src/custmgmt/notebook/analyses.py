"""One call from a DataFrame of orders to a result: the notebook's shortcuts.

Each function takes the orders as a pandas or polars DataFrame with the CSV's column
names (``customer_id``, ``placed_at``, ``amount`` and optionally ``category``,
``status``, ``returned_amount``, ``channel``, ``order_id``), or an
:class:`~custmgmt.analytics.frames.OrderFrame` already built, optionally the
interactions likewise (``customer_id``, ``at``, ``kind`` ...), and returns the same
result as the array path, whose ``to_pandas()`` / ``to_polars()`` / ``to_arrow()``
give a table back::

    rating = custmgmt.rate(orders_df, as_of=as_of, currency="CNY")
    rating.to_pandas()

The same functions are importable from ``custmgmt`` itself: :func:`rate`,
:func:`segment`, :func:`rfm`, :func:`churn_flags`, :func:`clv` and, for service
tickets given as two DataFrames (tickets and their event logs), :func:`sla_status`.

Amounts are int64 minor units by default (``amount_unit="major"`` reads decimal
amounts); times must be timezone-aware.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from custmgmt.analytics.clv import ClvReport, analyse_clv
from custmgmt.analytics.features import CustomerFeatures, customer_features
from custmgmt.analytics.frames import InteractionFrame, OrderFrame, _dataframe_columns
from custmgmt.churn.engine import ChurnEngine, ChurnReport
from custmgmt.errors import ValidationError
from custmgmt.rating.policy import RatingPolicy
from custmgmt.rating.result import Rating
from custmgmt.rating.result import rate as _rate
from custmgmt.segmentation.inputs import add_derived_features
from custmgmt.segmentation.presets import value_tiers
from custmgmt.segmentation.rfm import RFM, RFMScores
from custmgmt.segmentation.schemes import Scheme, Segmentation
from custmgmt.tickets.reports import default_calendar, default_sla_policy
from custmgmt.tickets.sla import CUSTOMER_REPLIED, RESPOND, SLAPolicy
from custmgmt.tickets.sla_vectorised import (
    KIND_CREATED,
    KIND_CUSTOMER_REPLIED,
    KIND_OTHER,
    KIND_RESPOND,
    SLAEventFrame,
    SLAStatusFrame,
    sla_status_many,
)

if TYPE_CHECKING:
    from custmgmt.calendars import BusinessCalendar

__all__ = [
    "churn",
    "churn_flags",
    "clv",
    "features",
    "interaction_frame",
    "order_frame",
    "rate",
    "rfm",
    "segment",
    "sla_event_frame",
    "sla_status",
]


def _check_optional(field: str, value: Any, kind: type, expected: str) -> None:
    """Refuse ``value`` unless it is None or a ``kind`` (before any work is done)."""
    if value is not None and not isinstance(value, kind):
        raise ValidationError(field, value, f"None (the default) or {expected}")


def _library(df: Any) -> str | None:
    module = type(df).__module__.split(".")[0]
    return module if module in ("pandas", "polars") else None


def order_frame(
    orders: Any, *, currency: str = "CNY", amount_unit: str = "minor"
) -> OrderFrame:
    """An :class:`OrderFrame` from a pandas or polars DataFrame (or the frame itself).

    Raises:
        ValidationError: ``orders`` is neither, or a column is missing or bad.
    """
    if isinstance(orders, OrderFrame):
        return orders
    library = _library(orders)
    if library == "pandas":
        return OrderFrame.from_pandas(orders, currency=currency, amount_unit=amount_unit)
    if library == "polars":
        return OrderFrame.from_polars(orders, currency=currency, amount_unit=amount_unit)
    raise ValidationError("orders", type(orders).__name__,
                          "a pandas or polars DataFrame, or an OrderFrame")


def interaction_frame(interactions: Any, orders: OrderFrame | None = None) -> InteractionFrame:
    """An :class:`InteractionFrame` from a DataFrame, on the orders' customer index.

    Raises:
        ValidationError: ``interactions`` is not a DataFrame or an InteractionFrame.
    """
    if isinstance(interactions, InteractionFrame):
        return interactions
    library = _library(interactions)
    if library == "pandas":
        return InteractionFrame.from_pandas(interactions, customer_index=orders)
    if library == "polars":
        return InteractionFrame.from_polars(interactions, customer_index=orders)
    raise ValidationError("interactions", type(interactions).__name__,
                          "a pandas or polars DataFrame, or an InteractionFrame")


def features(
    orders: Any,
    interactions: Any = None,
    *,
    as_of: datetime,
    currency: str = "CNY",
    amount_unit: str = "minor",
) -> CustomerFeatures:
    """Customer features (with segmentation's derived columns) from DataFrames."""
    frame = order_frame(orders, currency=currency, amount_unit=amount_unit)
    inter = None if interactions is None else interaction_frame(interactions, frame)
    table: CustomerFeatures = add_derived_features(
        customer_features(frame, inter, as_of=as_of)
    )
    return table


def rate(
    orders: Any,
    policy: RatingPolicy | None = None,
    interactions: Any = None,
    *,
    as_of: datetime,
    currency: str = "CNY",
    amount_unit: str = "minor",
) -> Rating:
    """Star ratings by ``policy`` (default :meth:`RatingPolicy.default`).

    Raises:
        ValidationError: ``policy`` is not a :class:`RatingPolicy`, or bad frames.
    """
    _check_optional("policy", policy, RatingPolicy, "a RatingPolicy")
    table = features(orders, interactions, as_of=as_of, currency=currency,
                     amount_unit=amount_unit)
    return _rate(RatingPolicy.default() if policy is None else policy, table, as_of=as_of)


def segment(
    orders: Any,
    scheme: Scheme | None = None,
    interactions: Any = None,
    *,
    as_of: datetime,
    currency: str = "CNY",
    amount_unit: str = "minor",
) -> Segmentation:
    """Segments by ``scheme`` (default: the value tiers).

    Raises:
        ValidationError: ``scheme`` is not a :class:`Scheme`, or bad frames.
    """
    _check_optional("scheme", scheme, Scheme, "a Scheme")
    table = features(orders, interactions, as_of=as_of, currency=currency,
                     amount_unit=amount_unit)
    return (value_tiers() if scheme is None else scheme).assign(table)


def rfm(
    orders: Any,
    *,
    as_of: datetime,
    currency: str = "CNY",
    amount_unit: str = "minor",
) -> RFMScores:
    """RFM scores with the default :class:`RFM` map."""
    return RFM().score(features(orders, as_of=as_of, currency=currency,
                                amount_unit=amount_unit))


def churn_flags(
    orders: Any,
    interactions: Any = None,
    *,
    as_of: datetime,
    currency: str = "CNY",
    amount_unit: str = "minor",
    engine: ChurnEngine | None = None,
) -> ChurnReport:
    """Churn flags by ``engine`` (default :class:`ChurnEngine` rules).

    Raises:
        ValidationError: ``engine`` is not a :class:`ChurnEngine`, or bad frames.
    """
    _check_optional("engine", engine, ChurnEngine, "a ChurnEngine")
    frame = order_frame(orders, currency=currency, amount_unit=amount_unit)
    inter = None if interactions is None else interaction_frame(interactions, frame)
    return (ChurnEngine() if engine is None else engine).evaluate(frame, inter, as_of=as_of)


#: The earlier name of :func:`churn_flags`.
churn = churn_flags


def clv(
    orders: Any,
    *,
    as_of: datetime,
    currency: str = "CNY",
    amount_unit: str = "minor",
    **options: Any,
) -> ClvReport:
    """Lifetime models and values: :func:`~custmgmt.analytics.clv.analyse_clv` on
    the orders of a DataFrame (``options``: its keywords, e.g. ``unit="week"``,
    ``calibration_end=``, ``models=``, ``months=``, ``progress=``)."""
    frame = order_frame(orders, currency=currency, amount_unit=amount_unit)
    return analyse_clv(frame, as_of=as_of, currency=currency, **options)


_TICKET_COLUMNS = ("ticket_id", "created_at", "priority", "category")
_EVENT_COLUMNS = ("ticket_id", "at", "event", "from_status", "to_status")


def _columns(df: Any, field: str, known: tuple[str, ...]) -> dict[str, Any]:
    library = _library(df)
    if library is None:
        raise ValidationError(field, type(df).__name__, "a pandas or polars DataFrame")
    found = _dataframe_columns(library, df, None, known)
    for name in known:
        if name not in found and name != "from_status":
            raise ValidationError(f"{field}.{name}", None, f"a column named {name!r}")
        value = found.get(name)
        if isinstance(value, tuple):  # a pandas categorical: (codes, names)
            codes, names = value
            table = np.asarray([*names, None], dtype=object)
            found[name] = table[np.asarray(codes, dtype=np.int64)]
    return found


def _micros(values: Any, field: str) -> npt.NDArray[np.int64]:
    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        arr = arr.astype("datetime64[us]").view(np.int64)
    if arr.dtype.kind not in "iu":
        raise ValidationError(field, str(arr.dtype), "timezone-aware datetimes")
    micros = arr.astype(np.int64, copy=False)
    if micros.size and (micros == np.iinfo(np.int64).min).any():
        row = int(np.flatnonzero(micros == np.iinfo(np.int64).min)[0])
        raise ValidationError(f"{field}[{row}]", "NaT", "a time (no missing values)")
    return micros


def sla_event_frame(tickets: Any, events: Any) -> SLAEventFrame:
    """Tickets and their event logs, as two DataFrames, in the engine's columns.

    ``tickets`` has one row per ticket: ``ticket_id``, ``created_at`` (aware),
    ``priority``, ``category``. ``events`` has one row per log entry, each ticket's
    entries in log order (the rows of different tickets may interleave):
    ``ticket_id``, ``at`` (aware), ``event``, ``from_status`` (optional; empty for
    the creation) and ``to_status``, spelled as the tickets' Enum values (``"respond"``,
    ``"new"`` ...). The first entry of each log is its creation, as in
    :attr:`Ticket.events <custmgmt.tickets.Ticket.events>`.

    Raises:
        ValidationError: not DataFrames, a missing column, a repeated ticket id, an
            event of an unknown ticket, a ticket without events, or events out of
            time order or before the creation (naming the ticket and the entry).
    """
    tk = _columns(tickets, "tickets", _TICKET_COLUMNS)
    ev = _columns(events, "events", _EVENT_COLUMNS)
    ids = np.asarray([str(x) for x in tk["ticket_id"]], dtype=object)
    n = ids.size
    created = _micros(tk["created_at"], "tickets.created_at")
    keys = ids.astype(str)
    sorter = np.argsort(keys, kind="stable")
    ordered = keys[sorter]
    if n > 1 and (ordered[1:] == ordered[:-1]).any():
        twice = int(np.flatnonzero(ordered[1:] == ordered[:-1])[0])
        raise ValidationError("tickets.ticket_id", ordered[twice], "one row per ticket")
    event_keys = np.asarray([str(x) for x in ev["ticket_id"]], dtype=str)
    m = event_keys.size
    pos = np.searchsorted(ordered, event_keys) if n else np.zeros(m, dtype=np.int64)
    known = (pos < n) & (ordered[np.minimum(pos, max(n - 1, 0))] == event_keys) if n else (
        np.zeros(m, dtype=bool))
    if not known.all():
        row = int(np.flatnonzero(~known)[0])
        raise ValidationError(f"events.ticket_id[{row}]", event_keys[row], "a ticket of tickets")
    ticket = sorter[pos].astype(np.int64)
    counts = np.bincount(ticket, minlength=n)
    if n and (counts == 0).any():
        bad = ids[int(np.flatnonzero(counts == 0)[0])]
        raise ValidationError(f"tickets[{bad!r}].events", (),
                              "a non-empty event log starting with the creation")
    # Each ticket's rows: its creation row, then its entries in the given order.
    order = np.argsort(ticket, kind="stable")
    by_ticket = ticket[order]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts + 1, out=offsets[1:])
    event_rows = np.arange(m, dtype=np.int64) + by_ticket + 1
    at = np.empty(n + m, dtype=np.int64)
    at[offsets[:-1]] = created
    at[event_rows] = _micros(ev["at"], "events.at")[order]
    back = np.flatnonzero(at[1:] < at[:-1]) + 1
    back = back[np.isin(back, offsets[:-1], invert=True)]
    if back.size:
        row = int(back[0])
        t = int(np.searchsorted(offsets, row, side="right") - 1)
        index = row - int(offsets[t]) - 1
        raise ValidationError(
            f"tickets[{str(ids[t])!r}].events[{index}].at", int(at[row]),
            "events in time order" if index else "events at or after the ticket's creation",
        )
    to_status = np.asarray(ev["to_status"], dtype=object)[order]
    from_status = (np.asarray(ev["from_status"], dtype=object)[order]
                   if ev.get("from_status") is not None else np.full(m, None, dtype=object))
    firsts = offsets[:-1] - np.arange(n)  # each ticket's first entry, in sorted order
    first_from = from_status[firsts]
    missing = np.asarray([x is None or x != x for x in first_from.tolist()], dtype=bool)
    initial = np.where(missing, to_status[firsts], first_from)
    statuses = np.empty(n + m, dtype=object)
    statuses[offsets[:-1]] = initial
    statuses[event_rows] = to_status
    labels = np.asarray([str(x) for x in statuses.tolist()], dtype=str)
    members, codes = np.unique(labels, return_inverse=True)
    event_names = np.asarray([str(x) for x in np.asarray(ev["event"], dtype=object)[order]])
    kind = np.full(n + m, KIND_OTHER, dtype=np.int8)
    kind[offsets[:-1]] = KIND_CREATED
    kinds = np.where(event_names == RESPOND, KIND_RESPOND,
                     np.where(event_names == CUSTOMER_REPLIED,
                              KIND_CUSTOMER_REPLIED, KIND_OTHER))
    kind[event_rows] = kinds
    return SLAEventFrame(
        ticket_ids=tuple(str(x) for x in ids.tolist()),
        priorities=tuple(str(x) for x in np.asarray(tk["priority"], dtype=object).tolist()),
        categories=tuple(str(x) for x in np.asarray(tk["category"], dtype=object).tolist()),
        offsets=offsets,
        at=at,
        kind=kind,
        status=codes.astype(np.int32),
        status_members=tuple(str(x) for x in members.tolist()),
    )


def sla_status(
    tickets: Any,
    events: Any,
    policy: SLAPolicy | None = None,
    calendar: BusinessCalendar | None = None,
    *,
    as_of: datetime,
) -> SLAStatusFrame:
    """The SLA status of tickets given as DataFrames (:func:`sla_event_frame`):
    what :func:`~custmgmt.tickets.sla_vectorised.sla_status_many` gives for the same
    tickets as objects (defaults: the default SLA policy and calendar).

    Raises:
        ValidationError: as :func:`sla_event_frame` and ``sla_status_many`` do.
    """
    frame = sla_event_frame(tickets, events)
    return sla_status_many(
        frame,
        default_sla_policy() if policy is None else policy,
        default_calendar() if calendar is None else calendar,
        as_of,
    )
