"""From a transaction log to the per-customer statistics the lifetime models read.

The conventions are the literature's, as lifetimes' ``summary_data_from_transaction_data``
implements them: time is cut into periods (a day by default) and all purchases of a
customer in one period merge into one transaction; *frequency* counts the repeat
transactions (periods with a purchase after the first one), *recency* is the age of
the customer at the last one, *T* the age at the end of observation, both measured from
the first period's start, and *monetary value* is the mean spend of the repeat
transactions (0 when there are none).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.analytics.clv._common import FloatArray, IntArray
from custmgmt.errors import CustMgmtError, ValidationError
from custmgmt.notebook.display import Report, numeric_summary, short_repr

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TransactionSummary", "summarize_transactions"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US_PER = {"h": 3_600_000_000, "D": 86_400_000_000, "W": 604_800_000_000}
_ALIASES = {
    "h": "h",
    "H": "h",
    "hour": "h",
    "hours": "h",
    "D": "D",
    "d": "D",
    "day": "D",
    "days": "D",
    "W": "W",
    "w": "W",
    "week": "W",
    "weeks": "W",
    "M": "M",
    "month": "M",
    "months": "M",
}
_UNIT_HELP = "one of 'h', 'D', 'W', 'M' (or hour, day, week, month)"


def normalise_unit(field: str, value: Any) -> str:
    """Map a unit name or alias to one of ``"h"``, ``"D"``, ``"W"``, ``"M"``."""
    unit = _ALIASES.get(value) if isinstance(value, str) else None
    if unit is None:
        raise ValidationError(field, value, _UNIT_HELP)
    return unit


def _readonly(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    array.setflags(write=False)
    return array


@attrs.frozen(kw_only=True, eq=False)
class TransactionSummary:
    """Per-customer frequency, recency, age and spend, one row per customer.

    Columns are read-only numpy arrays aligned with :attr:`customer_ids` (sorted
    ascending). Times are in :attr:`unit`; purchases merge per :attr:`period`.

    Attributes:
        customer_ids: the customers, each once, sorted.
        frequency: repeat transactions (int64): periods with a purchase after the first.
        recency: age at the last repeat transaction (0 without one).
        T: age at the end of observation (of calibration, when split).
        monetary_value: mean spend of the repeat transactions, in the units of the
            amounts given (minor units for int64 amounts); None without amounts.
        frequency_holdout: repeat transactions in the holdout period (calibration
            split only), else None.
        monetary_value_holdout: mean spend of those, else None.
        duration_holdout: the holdout period's length in :attr:`unit`, else None.
        unit: the time unit of recency, T and duration_holdout.
        period: the period within which purchases merge.
    """

    customer_ids: npt.NDArray[Any]
    frequency: IntArray
    recency: FloatArray
    T: FloatArray
    monetary_value: FloatArray | None = None
    frequency_holdout: IntArray | None = None
    monetary_value_holdout: FloatArray | None = None
    duration_holdout: float | None = None
    unit: str = "D"
    period: str = "D"

    def __repr__(self) -> str:
        return short_repr(
            "TransactionSummary", customers=len(self), unit=self.unit, period=self.period,
            holdout=self.duration_holdout,
        )

    def _repr_html_(self) -> str:
        return self._display().to_html()

    def summary(self) -> str:
        """The summary shown in a notebook, as aligned text for a terminal."""
        return self._display().to_text()

    def _display(self) -> Report:
        """Quantiles of each column."""
        report = Report(
            "Transaction summary",
            facts=[("customers", len(self)), ("time unit", self.unit), ("period", self.period)],
        )
        columns: dict[str, Any] = {
            "frequency": self.frequency, "recency": self.recency, "T": self.T,
        }
        for name in ("monetary_value", "frequency_holdout", "monetary_value_holdout"):
            value = getattr(self, name)
            if value is not None:
                columns[name] = value
        report.add(numeric_summary(columns))
        return report

    def __len__(self) -> int:
        return int(self.customer_ids.size)

    def to_pandas(self) -> pd.DataFrame:
        """The summary as a DataFrame indexed by ``customer_id`` (needs pandas).

        Column names follow lifetimes (``frequency``, ``recency``, ``T``,
        ``monetary_value``, and with a split ``frequency_holdout``,
        ``monetary_value_holdout``, ``duration_holdout``).
        """
        try:
            import pandas as pd
        except ImportError as exc:
            raise CustMgmtError(
                "TransactionSummary.to_pandas needs pandas, an optional extra: "
                "pip install 'custmgmt[pandas]'"
            ) from exc
        columns: dict[str, Any] = {
            "frequency": self.frequency,
            "recency": self.recency,
            "T": self.T,
        }
        if self.monetary_value is not None:
            columns["monetary_value"] = self.monetary_value
        if self.frequency_holdout is not None:
            columns["frequency_holdout"] = self.frequency_holdout
        if self.monetary_value_holdout is not None:
            columns["monetary_value_holdout"] = self.monetary_value_holdout
        if self.duration_holdout is not None:
            columns["duration_holdout"] = np.full(len(self), self.duration_holdout)
        index = pd.Index(self.customer_ids, name="customer_id")
        return pd.DataFrame(columns, index=index)


# ------------------------------------------------------------------- conversions


def _instant_us(field: str, value: Any) -> int:
    """An instant as int microseconds since the epoch, UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(field, value, "a timezone-aware datetime")
        return (value - _EPOCH) // timedelta(microseconds=1)
    if isinstance(value, date):
        return (value - date(1970, 1, 1)).days * _US_PER["D"]
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise ValidationError(field, value, "a date or time, not NaT")
        return int(value.astype("datetime64[us]").astype(np.int64))
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        return int(value)
    raise ValidationError(
        field, value, "an aware datetime, a date, a numpy datetime64 or int microseconds (UTC)"
    )


def _timestamps(value: Any, n: int) -> IntArray:
    """The ``at`` column as int64 microseconds since the epoch, UTC."""
    if isinstance(value, np.ndarray):
        array = value
    else:
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise ValidationError("at", value, "an array of timestamps") from exc
    if array.ndim != 1 or array.size != n:
        raise ValidationError("at", f"<array of shape {array.shape}>", f"{n} timestamps")
    if array.dtype.kind == "M":
        us = array.astype("datetime64[us]").view(np.int64)
        nat = us == np.iinfo(np.int64).min
        if np.any(nat):
            row = int(np.flatnonzero(nat)[0])
            raise ValidationError("at", "NaT", f"a timestamp in every row (row {row})")
        return us
    if array.dtype.kind in "iu":
        return array.astype(np.int64, copy=False)
    if array.dtype.kind == "O":
        return np.fromiter((_instant_us("at", v) for v in array), dtype=np.int64, count=n)
    raise ValidationError(
        "at",
        f"<array of {array.dtype}>",
        "int64 microseconds since the epoch (UTC), datetime64 or aware datetimes",
    )


def _amounts(value: Any, n: int) -> npt.NDArray[Any]:
    array = np.asarray(value)
    if array.ndim != 1 or array.size != n:
        raise ValidationError("amount", f"<array of shape {array.shape}>", f"{n} amounts")
    if array.dtype.kind in "iu":
        return array.astype(np.int64, copy=False)
    if array.dtype.kind == "f":
        out = array.astype(np.float64, copy=False)
        if not np.all(np.isfinite(out)):
            row = int(np.flatnonzero(~np.isfinite(out))[0])
            raise ValidationError("amount", float(out[row]), f"a finite amount (row {row})")
        return out
    raise ValidationError(
        "amount", f"<array of {array.dtype}>", "int64 minor units or float amounts"
    )


def _period_index(us: IntArray, period: str) -> IntArray:
    """Index of the period that contains each instant (weeks start on Monday, UTC)."""
    if period == "M":
        months: IntArray = us.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64)
        return months
    days = us // _US_PER["D"]
    if period == "D":
        return days
    if period == "W":
        # 1970-01-01 was a Thursday: shifting by 3 days puts Mondays on multiples of 7.
        return (days + 3) // 7
    return us // _US_PER["h"]


def _unit_ratio(period: str, unit: str) -> float:
    """How many ``unit``s one ``period`` lasts."""
    if period == "M" or unit == "M":
        if period != unit:
            raise ValidationError(
                "unit", unit, "'M' together with period 'M' only (months vary in length)"
            )
        return 1.0
    return _US_PER[period] / _US_PER[unit]


# -------------------------------------------------------------------- grouping


def _bits(value: int) -> int:
    return max(int(value).bit_length(), 1)


def _factorise(ids: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], npt.NDArray[np.uint64]]:
    """Sorted distinct ids and a dense uint64 code per row."""
    if ids.dtype.kind in "iu":
        low = int(ids.min())
        span = int(ids.max()) - low
        rows = _bits(ids.size - 1)
        if _bits(span) + rows <= 64:
            # Values-only sort of (id - min) << row_bits | row: the low bits give the
            # permutation for free (twice as fast as argsort, see STYLE.md).
            key = (ids.astype(np.int64) - low).astype(np.uint64) << np.uint64(rows)
            key |= np.arange(ids.size, dtype=np.uint64)
            key.sort()
            high = key >> np.uint64(rows)
            first = np.r_[True, high[1:] != high[:-1]]
            codes = np.empty(ids.size, dtype=np.uint64)
            codes[(key & np.uint64((1 << rows) - 1)).astype(np.intp)] = (
                np.cumsum(first) - 1
            ).astype(np.uint64)
            distinct = (high[first].astype(np.int64) + low).astype(ids.dtype)
            return distinct, codes
    try:
        distinct, inverse = np.unique(ids, return_inverse=True)
    except TypeError as exc:
        raise ValidationError(
            "customer_id", "<mixed types>", "ids of one kind: all integers or all strings"
        ) from exc
    return distinct, inverse.reshape(-1).astype(np.uint64)


@attrs.frozen
class _Pairs:
    """The distinct (customer, period) pairs, sorted: one merged transaction each."""

    customer_ids: npt.NDArray[Any]  # distinct customers, sorted
    new_customer: npt.NDArray[np.bool_]  # per pair: first pair of its customer
    period: IntArray  # per pair
    money: npt.NDArray[Any] | None  # per pair: the merged amount


# Rows per block where a whole-length temporary would otherwise double the peak memory.
_BLOCK = 1 << 20


def _sorted_pairs(
    ids: npt.NDArray[Any], holder: list[IntArray], money: npt.NDArray[Any] | None
) -> _Pairs:
    """Group rows into sorted (customer, period) pairs with one values-only sort.

    The sort key ``customer << (p+r) | period << r | row`` is built inside the period
    array itself (handed over in ``holder``, so no other reference keeps it alive)
    and every other whole-length step runs in blocks: the peak stays near two arrays
    of the input's length. The low bits of the sorted key give the permutation for the
    amounts for free; when the key does not fit in 64 bits a lexsort does the same,
    more slowly.
    """
    periods = holder.pop()
    n = ids.size
    p_low = int(periods.min())
    p_bits = _bits(int(periods.max()) - p_low)
    r_bits = _bits(n - 1) if money is not None else 0
    factorised = None
    c_low = 0
    if ids.dtype.kind in "iu" and _bits(int(ids.max()) - int(ids.min())) + p_bits + r_bits <= 64:
        c_low = int(ids.min())
    else:
        factorised, codes = _factorise(ids)
        if _bits(max(factorised.size - 1, 0)) + p_bits + r_bits > 64:
            return _lexsorted_pairs(factorised, codes, periods, money)
    periods -= p_low
    key: npt.NDArray[np.uint64] = periods.view(np.uint64)
    del periods
    key <<= np.uint64(r_bits)
    customer_shift = np.uint64(p_bits + r_bits)
    for lo in range(0, n, _BLOCK):
        hi = min(lo + _BLOCK, n)
        if money is not None:
            key[lo:hi] |= np.arange(lo, hi, dtype=np.uint64)
        if factorised is None:
            part = ids[lo:hi].astype(np.int64)
            part -= c_low
            key[lo:hi] |= part.view(np.uint64) << customer_shift
        else:
            key[lo:hi] |= codes[lo:hi] << customer_shift
    if factorised is not None:
        del codes
    key.sort()
    new_pair = np.empty(n, dtype=np.bool_)
    new_pair[0] = True
    shift = np.uint64(r_bits)
    for lo in range(0, n - 1, _BLOCK):
        hi = min(lo + _BLOCK, n - 1)
        np.not_equal((key[lo + 1 : hi + 1] ^ key[lo:hi]) >> shift, 0, out=new_pair[lo + 1 : hi + 1])
    starts = np.flatnonzero(new_pair)
    del new_pair
    pair_key = key[starts]
    pair_key >>= shift
    n_pairs = starts.size
    new_customer = np.empty(n_pairs, dtype=np.bool_)
    new_customer[0] = True
    p_shift = np.uint64(p_bits)
    for lo in range(0, n_pairs - 1, _BLOCK):
        hi = min(lo + _BLOCK, n_pairs - 1)
        np.not_equal(
            pair_key[lo + 1 : hi + 1] >> p_shift,
            pair_key[lo:hi] >> p_shift,
            out=new_customer[lo + 1 : hi + 1],
        )
    if factorised is None:
        known = ((pair_key[new_customer] >> p_shift).astype(np.int64) + c_low).astype(ids.dtype)
    else:
        known = factorised
    pair_key &= np.uint64((1 << p_bits) - 1)
    pair_period: IntArray = pair_key.view(np.int64)
    pair_period += p_low
    pair_money = None
    if money is not None:
        key &= np.uint64((1 << r_bits) - 1)
        rows = key.view(np.int64)
        pair_money = np.empty(n_pairs, dtype=money.dtype)
        # Gather and sum the amounts block by block of pairs, never all rows at once.
        for lo in range(0, n_pairs, _BLOCK):
            hi = min(lo + _BLOCK, n_pairs)
            first = int(starts[lo])
            last = int(starts[hi]) if hi < n_pairs else n
            pair_money[lo:hi] = np.add.reduceat(money[rows[first:last]], starts[lo:hi] - first)
    return _Pairs(
        customer_ids=known, new_customer=new_customer, period=pair_period, money=pair_money
    )


def _lexsorted_pairs(
    distinct: npt.NDArray[Any],
    codes: npt.NDArray[np.uint64],
    periods: IntArray,
    money: npt.NDArray[Any] | None,
) -> _Pairs:
    """The same grouping by lexsort, for keys wider than 64 bits."""
    order = np.lexsort((periods, codes))
    sorted_codes, sorted_periods = codes[order], periods[order]
    new_pair = np.empty(codes.size, dtype=np.bool_)
    new_pair[0] = True
    new_pair[1:] = (sorted_codes[1:] != sorted_codes[:-1]) | (
        sorted_periods[1:] != sorted_periods[:-1]
    )
    starts = np.flatnonzero(new_pair)
    pair_codes = sorted_codes[starts]
    pair_money = None if money is None else np.add.reduceat(money[order], starts)
    return _Pairs(
        customer_ids=distinct,
        new_customer=np.r_[True, pair_codes[1:] != pair_codes[:-1]],
        period=sorted_periods[starts],
        money=pair_money,
    )


def summarize_transactions(
    customer_id: Any,
    at: Any,
    amount: Any = None,
    *,
    observation_end: Any,
    calibration_end: Any = None,
    unit: str = "D",
    period: str | None = None,
) -> TransactionSummary:
    """Summarise a transaction log into frequency, recency, T and monetary value.

    Follows the conventions of Fader, Hardie & Lee (2005) as lifetimes'
    ``summary_data_from_transaction_data`` implements them: purchases of one customer
    in the same period merge into one transaction (amounts add up); frequency counts
    the repeat transactions; recency and T are measured from the start of the first
    period to the start of the last one and of the observation end's period; monetary
    value is the mean of the repeat transactions. Transactions in periods after
    ``observation_end``'s are ignored, and the period containing ``observation_end``
    counts whole (as in lifetimes). Periods are UTC; weeks start on Monday.

    With ``calibration_end``, the summary covers the calibration period (the periods
    up to and including ``calibration_end``'s, for the customers who bought in it) and
    adds the holdout columns: repeat transactions and their mean spend in the later
    periods up to ``observation_end``'s, and the holdout's length. Unlike lifetimes,
    which splits by the raw timestamp, whole periods are assigned to one side, and the
    holdout spend is the mean per merged transaction, like the calibration spend.

    Vectorised: one sort of a packed 64-bit key, no Python loop per customer.

    Args:
        customer_id: one id per transaction (integers or strings).
        at: when each transaction happened: int64 microseconds since the epoch (UTC),
            numpy datetime64 (read as UTC) or timezone-aware datetimes.
        amount: spend per transaction, int64 minor units or floats; optional.
        observation_end: the end of observation (an aware datetime, a date, a numpy
            datetime64 or int microseconds, UTC): the ``as_of`` of the summary.
        calibration_end: where calibration ends and the holdout begins; optional.
        unit: the unit of recency and T: ``"h"``, ``"D"``, ``"W"`` or ``"M"`` (or
            hour, day, week, month).
        period: the period within which purchases merge; defaults to ``unit``.
            A finer period gives fractional ages (lifetimes' ``freq_multiplier``).

    Returns:
        A :class:`TransactionSummary`, customers sorted by id.

    Raises:
        ValidationError: mismatched lengths, NaT or non-finite values, naive datetimes,
            ids of mixed types (``[1, "1"]``), an unknown unit, or a calibration end
            not before the observation end.

    Example:
        >>> import numpy as np
        >>> from datetime import date
        >>> days = np.array(["2024-01-01", "2024-01-01", "2024-01-05", "2024-01-02"],
        ...                 dtype="datetime64[D]")
        >>> s = summarize_transactions([7, 7, 7, 9], days, [500, 250, 1000, 300],
        ...                            observation_end=date(2024, 1, 10))
        >>> s.customer_ids.tolist(), s.frequency.tolist(), s.recency.tolist(), s.T.tolist()
        ([7, 9], [1, 0], [4.0, 0.0], [9.0, 8.0])
        >>> s.monetary_value.tolist()
        [1000.0, 0.0]
    """
    unit = normalise_unit("unit", unit)
    period = unit if period is None else normalise_unit("period", period)
    ratio = _unit_ratio(period, unit)
    ids = np.asarray(customer_id)
    if ids.ndim != 1:
        raise ValidationError("customer_id", f"<array of shape {ids.shape}>", "one id per row")
    if ids.dtype.kind in "US" and not isinstance(customer_id, np.ndarray):
        # numpy turns [1, "1"] into ["1", "1"]: two customers would become one.
        kinds = {type(v) for v in customer_id}
        if not all(issubclass(k, str) for k in kinds) and not all(
            issubclass(k, bytes) for k in kinds
        ):
            raise ValidationError(
                "customer_id", sorted(k.__name__ for k in kinds), "ids of one type"
            )
    if ids.dtype.kind not in "iuUSO":
        raise ValidationError(
            "customer_id", f"<array of {ids.dtype}>", "integer or string customer ids"
        )
    n = ids.size
    us = _timestamps(at, n)
    money = None if amount is None else _amounts(amount, n)
    end_us = _instant_us("observation_end", observation_end)
    end_p = int(_period_index(np.array([end_us]), period)[0])
    cal_p: int | None = None
    if calibration_end is not None:
        cal_p = int(
            _period_index(np.array([_instant_us("calibration_end", calibration_end)]), period)[0]
        )
        if cal_p >= end_p:
            raise ValidationError(
                "calibration_end",
                calibration_end,
                "a time in a period before observation_end's",
            )
    periods = _period_index(us, period)
    keep = periods <= end_p
    if not np.all(keep):
        ids, periods = ids[keep], periods[keep]
        money = None if money is None else money[keep]
    # The period array is handed over (the grouping turns it into its sort key).
    holder = [periods]
    del periods
    return _summarise(ids, holder, money, end_p, cal_p, unit, period, ratio)


def _summarise(
    ids: npt.NDArray[Any],
    holder: list[IntArray],
    money: npt.NDArray[Any] | None,
    end_p: int,
    cal_p: int | None,
    unit: str,
    period: str,
    ratio: float,
) -> TransactionSummary:
    if ids.size == 0:
        return _empty(ids, money is not None, cal_p is not None, end_p, cal_p, unit, period, ratio)
    if money is not None and money.dtype.kind in "iu":
        # Integer sums wrap silently past 2**63: a customer's huge spend came out
        # negative and was left out as "0 or less". Where a sum could get there, the
        # amounts are summed as floats (exact up to 2**53, then rounded); the mean
        # spend is a float anyway.
        largest = max(abs(float(money.max())), abs(float(money.min())))
        if largest * money.size >= 2.0**62:
            money = money.astype(np.float64)
    pairs = _sorted_pairs(ids, holder, money)
    distinct = pairs.customer_ids
    pair_p = pairs.period
    pair_money = pairs.money
    first_of_customer = pairs.new_customer
    n_customers = distinct.size
    starts = np.flatnonzero(first_of_customer)
    first_p = pair_p[starts]
    horizon = end_p if cal_p is None else cal_p
    in_window = pair_p <= horizon
    counts = np.add.reduceat(in_window, starts, dtype=np.int64)
    # Customers who first bought after the calibration end are not in the summary.
    present = counts > 0
    last_p = pair_p[starts + np.maximum(counts, 1) - 1]
    frequency = counts - 1
    recency = (last_p - first_p) * ratio
    age = (horizon - first_p) * ratio
    monetary = None
    if pair_money is not None:
        repeat = in_window & ~first_of_customer
        spent = np.add.reduceat(np.where(repeat, pair_money, 0), starts)
        monetary = np.divide(
            spent, frequency, out=np.zeros(n_customers), where=frequency > 0, casting="unsafe"
        )
    holdout_f = holdout_m = None
    duration = None
    if cal_p is not None:
        later = ~in_window
        holdout_f = np.add.reduceat(later, starts, dtype=np.int64)
        duration = (end_p - cal_p) * ratio
        if pair_money is not None:
            spent_later = np.add.reduceat(np.where(later, pair_money, 0), starts)
            holdout_m = np.divide(
                spent_later,
                holdout_f,
                out=np.zeros(n_customers),
                where=holdout_f > 0,
                casting="unsafe",
            )
    if not np.all(present):
        distinct, frequency, recency, age = (
            distinct[present],
            frequency[present],
            recency[present],
            age[present],
        )
        monetary = None if monetary is None else monetary[present]
        holdout_f = None if holdout_f is None else holdout_f[present]
        holdout_m = None if holdout_m is None else holdout_m[present]
    return TransactionSummary(
        customer_ids=_readonly(distinct),
        frequency=_readonly(frequency.astype(np.int64)),
        recency=_readonly(recency.astype(np.float64)),
        T=_readonly(age.astype(np.float64)),
        monetary_value=None if monetary is None else _readonly(monetary),
        frequency_holdout=None if holdout_f is None else _readonly(holdout_f),
        monetary_value_holdout=None if holdout_m is None else _readonly(holdout_m),
        duration_holdout=duration,
        unit=unit,
        period=period,
    )


def _empty(
    ids: npt.NDArray[Any],
    with_money: bool,
    split: bool,
    end_p: int,
    cal_p: int | None,
    unit: str,
    period: str,
    ratio: float,
) -> TransactionSummary:
    def floats() -> FloatArray:
        return _readonly(np.zeros(0))

    def ints() -> IntArray:
        return _readonly(np.zeros(0, dtype=np.int64))

    return TransactionSummary(
        customer_ids=_readonly(ids[:0].copy()),
        frequency=ints(),
        recency=floats(),
        T=floats(),
        monetary_value=floats() if with_money else None,
        frequency_holdout=ints() if split else None,
        monetary_value_holdout=floats() if split and with_money else None,
        duration_holdout=None if cal_p is None else (end_p - cal_p) * ratio,
        unit=unit,
        period=period,
    )
