"""CLV transaction summaries per partition of customers, on every core.

A customer's frequency, recency, T and mean repeat spend depend on that customer's
orders only, so :func:`summarize_partition` (the unit of work, a pure function of one
partition's :class:`~custmgmt.analytics.frames.OrderFrame`) gives each customer of a
partition exactly what the whole frame gives them. Two runners share it: the single
machine's :func:`summarize_orders` (partitions are ranges of customer codes from
:func:`custmgmt.analytics.partitioned.split_frames`, summarised in a thread pool and
joined in order) and the Dask workers of :mod:`custmgmt.distributed.pipeline`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs
import numpy as np

from custmgmt.analytics import partitioned as engine_parts
from custmgmt.analytics.clv._summary import TransactionSummary, summarize_transactions
from custmgmt.analytics.frames import OrderFrame, counted_mask
from custmgmt.domain.time import require_aware, to_epoch_micros
from custmgmt.errors import ValidationError

__all__ = ["PartitionSummary", "concat_summaries", "summarize_orders", "summarize_partition"]


@attrs.frozen(kw_only=True, eq=False)
class PartitionSummary:
    """One frame's summary: customers named by the frame's customer codes.

    Attributes:
        summary: the transaction summary (``customer_ids`` are codes of the frame).
        n_orders: the frame's orders placed by ``as_of``.
        n_counted: of those, the ones that count (not cancelled).
    """

    summary: TransactionSummary
    n_orders: int
    n_counted: int

_PERIOD_NAMES = {"h": "hour", "D": "day", "W": "week", "M": "month"}


def summarize_partition(
    frame: OrderFrame,
    *,
    as_of: datetime,
    calibration_end: datetime | None = None,
    unit: str,
    period: str,
) -> PartitionSummary:
    """The transaction summary of ``frame``'s counted orders up to ``as_of``, net of
    refunds, in the local calendar of ``as_of``'s UTC offset (what
    :func:`~custmgmt.analytics.clv.analyse_clv` fits on).

    Raises:
        ValidationError: as :func:`~custmgmt.analytics.clv.summarize_transactions`.
    """
    offset = as_of.utcoffset()
    shift = 0 if offset is None else int(offset.total_seconds()) * 1_000_000
    end = to_epoch_micros(as_of)
    upto = frame.placed_at <= end
    counted = counted_mask(frame.status) & upto
    spend = (frame.amount - frame.returned_amount)[counted]
    cal = None
    if calibration_end is not None:
        require_aware("calibration_end", calibration_end)
        cal = to_epoch_micros(calibration_end) + shift
    try:
        summary = summarize_transactions(
            frame.customer_code[counted],
            frame.placed_at[counted] + shift,
            spend,
            observation_end=end + shift,
            calibration_end=cal,
            unit=unit,
            period=period,
        )
    except ValidationError as exc:
        if calibration_end is None or exc.field != "calibration_end":
            raise
        # Name the caller's datetimes, not the shifted microseconds passed on.
        raise ValidationError(
            "calibration_end",
            calibration_end.isoformat(),
            f"a time before the {_PERIOD_NAMES.get(period, period)} of as_of "
            f"({as_of.isoformat()})",
        ) from None
    return PartitionSummary(
        summary=summary, n_orders=int(upto.sum()), n_counted=int(counted.sum())
    )


def _readonly(array: Any) -> Any:
    array.setflags(write=False)
    return array


def _join(parts: Sequence[Any]) -> Any:
    return None if parts[0] is None else _readonly(np.concatenate(parts))


def concat_summaries(
    parts: Sequence[TransactionSummary], starts: Sequence[int], dtype: Any
) -> TransactionSummary:
    """Join summaries of consecutive ranges of customer codes (range ``p`` begins at
    ``starts[p]``) into the summary of all of them, ids as ``dtype``.

    Raises:
        ValidationError: no parts, or not one start per part.
    """
    if not parts or len(parts) != len(starts):
        raise ValidationError("parts", len(parts), f"one summary per start ({len(starts)})")
    ids = [
        np.asarray(p.customer_ids).astype(np.int64) + np.int64(start)
        for p, start in zip(parts, starts, strict=True)
    ]
    first = parts[0]
    return TransactionSummary(
        customer_ids=_readonly(np.concatenate(ids).astype(dtype)),
        frequency=_join([p.frequency for p in parts]),
        recency=_join([p.recency for p in parts]),
        T=_join([p.T for p in parts]),
        monetary_value=_join([p.monetary_value for p in parts]),
        frequency_holdout=_join([p.frequency_holdout for p in parts]),
        monetary_value_holdout=_join([p.monetary_value_holdout for p in parts]),
        duration_holdout=first.duration_holdout,
        unit=first.unit,
        period=first.period,
    )


def summarize_orders(
    orders: OrderFrame,
    *,
    as_of: datetime,
    calibration_end: datetime | None = None,
    unit: str = "day",
    period: str = "day",
    threads: int | None = None,
    partitions: int | None = None,
) -> PartitionSummary:
    """:func:`summarize_partition` of the whole frame, per range of customers on
    ``threads`` threads (default ``CUSTMGMT_THREADS``, else the cores this process
    may run on): the identical summary for every ``threads`` and ``partitions``.

    Raises:
        ValidationError: as :func:`summarize_partition`; ``threads`` or
            ``partitions`` not a positive integer.
    """
    require_aware("as_of", as_of)
    n_threads = engine_parts.default_threads() if threads is None else threads
    bounds = engine_parts.partition_bounds(orders.n_customers, len(orders), n_threads, partitions)
    if len(bounds) <= 2:
        return summarize_partition(
            orders, as_of=as_of, calibration_end=calibration_end, unit=unit, period=period
        )
    _, parts = engine_parts.split_frames(orders, threads=n_threads, partitions=partitions)
    frames = [frame for frame, _ in parts if frame is not None]

    def one(frame: OrderFrame) -> PartitionSummary:
        return summarize_partition(
            frame, as_of=as_of, calibration_end=calibration_end, unit=unit, period=period
        )

    done = engine_parts.run_on_threads(n_threads, one, frames)
    starts = np.cumsum([0] + [len(frame.customer_ids) for frame in frames[:-1]]).tolist()
    return PartitionSummary(
        summary=concat_summaries([d.summary for d in done], starts, orders.customer_code.dtype),
        n_orders=sum(d.n_orders for d in done),
        n_counted=sum(d.n_counted for d in done),
    )
