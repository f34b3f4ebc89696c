"""Balances of many customers at once: the ledger replayed in numpy.

:func:`custmgmt.loyalty.replay` folds one customer's entries in Python; a nightly job,
a dashboard or a migration check needs every customer's balance. Because each taking
entry names the lots it draws, the replay needs no ordering at all, only counting:

* a lot's remainder is its points, less the debt it settled, less the sum of the draws
  naming it (``np.bincount`` over the draws' lot rows);
* whether it counts at ``as_of`` is a comparison of its expiry and unlock times, and
  its hold state is the last ``lock`` / ``unlock`` entry naming it;
* a customer's balance is a ``bincount`` of counted remainders over customer codes,
  less the debt (a ``bincount`` of the entries' debt changes) where debt counts.

Entries after ``as_of`` are left out, so a balance "as of" any past moment comes from
the same columns. :class:`LedgerColumns` holds the ledger as columns (entries plus a
draws table); build it from entries (:meth:`LedgerColumns.from_entries`, e.g. from
``store.loyalty.iter_chunks()``) or from arrays (:meth:`LedgerColumns.from_arrays`).
Points are int64; the sums go through ``np.bincount``'s float64 weights when the
absolute values summed stay below 2**53 (about 9e15), where every partial sum is exact,
and through an int64 ``np.add.at`` otherwise (slower, exact; manual adjustments may be
as large as 2**62).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.domain.time import require_aware, to_epoch_micros
from custmgmt.errors import ValidationError
from custmgmt.loyalty.ledger import EntryKind, LedgerEntry
from custmgmt.notebook.dataframes import FrameExport
from custmgmt.notebook.display import Displayed, Report, numeric_summary, short_repr

__all__ = ["KIND_CODES", "BalanceTable", "LedgerColumns", "balances"]

I64 = npt.NDArray[np.int64]

#: Entry kind -> its code in :attr:`LedgerColumns.kind`.
KIND_CODES: dict[EntryKind, int] = {kind: i for i, kind in enumerate(EntryKind)}
_EARN, _ADJUST = KIND_CODES[EntryKind.EARN], KIND_CODES[EntryKind.ADJUST]
_LOCK, _UNLOCK = KIND_CODES[EntryKind.LOCK], KIND_CODES[EntryKind.UNLOCK]
_NEVER = np.iinfo(np.int64).max


def _frozen(values: Any, dtype: Any, name: str, n: int | None = None) -> Any:
    raw = np.asarray(values)
    if raw.size and raw.dtype.kind not in "iu":  # floats would be truncated, not refused
        raise ValidationError(name, f"a {raw.dtype} column", "a column of integers")
    if raw.size and raw.dtype.kind == "u" and int(raw.max()) > int(np.iinfo(dtype).max):
        # The cast below wraps: a uint64 2**63 + 5 became -9223372036854775803 points.
        raise ValidationError(name, int(raw.max()), f"integers that fit {np.dtype(dtype)}")
    array = np.ascontiguousarray(raw, dtype=dtype)
    if array.ndim != 1 or (n is not None and len(array) != n):
        raise ValidationError(name, array.shape, f"a 1-d array of length {n}")
    array.setflags(write=False)
    return array


@attrs.frozen(kw_only=True)
class LedgerColumns:
    """A ledger of many customers as read-only columns.

    Entry columns (one row per entry; a lot is named by the row of the entry that
    opened it):

    Attributes:
        customer_ids: code -> customer id.
        customer: int64 customer code per entry.
        kind: int8 codes into :data:`KIND_CODES`.
        points: int64 points (positive for awards, negative for taking entries).
        debt: int64 debt change.
        at: int64 µs since the epoch.
        expires_at: int64 µs; :data:`numpy.iinfo(int64).max` for non-awards.
        locked_until: int64 µs; ``min`` for "never locked".
        lot: int64 row of the lot a ``lock`` / ``unlock`` names, -1 otherwise.
        draw_entry: int64 row of the taking entry, per draw.
        draw_lot: int64 row of the lot drawn, per draw.
        draw_points: int64 points drawn, per draw.
    """

    customer_ids: Any
    customer: I64
    kind: npt.NDArray[np.int8]
    points: I64
    debt: I64
    at: I64
    expires_at: I64
    locked_until: I64
    lot: I64
    draw_entry: I64
    draw_lot: I64
    draw_points: I64

    def __len__(self) -> int:
        return len(self.customer)

    @classmethod
    def from_arrays(cls, **columns: Any) -> LedgerColumns:
        """Build from arrays (the attribute names), checking shapes and references.

        Raises:
            ValidationError: a missing or misshapen column, a column of non-integers,
                a kind that is no code, a draw of no entry's row, or a draw or hold
                naming a row that opens no lot.
        """
        names = [f.name for f in attrs.fields(cls)]
        missing = sorted(set(names) - set(columns))
        extra = sorted(set(columns) - set(names))
        if missing or extra:
            raise ValidationError("columns", missing or extra, f"exactly the columns {names}")
        n = len(np.asarray(columns["customer"]))
        built: dict[str, Any] = {"customer_ids": np.asarray(columns["customer_ids"], dtype=object)}
        for name in ("customer", "points", "debt", "at", "expires_at", "locked_until", "lot"):
            built[name] = _frozen(columns[name], np.int64, name, n)
        kind = _frozen(columns["kind"], np.int64, "kind", n)
        if n and (kind.min() < 0 or kind.max() >= len(KIND_CODES)):  # before int8 wraps them
            raise ValidationError(
                "kind", "a code", f"codes into KIND_CODES (0 to {len(KIND_CODES) - 1})"
            )
        built["kind"] = _frozen(kind, np.int8, "kind", n)
        m = len(np.asarray(columns["draw_entry"]))
        for name in ("draw_entry", "draw_lot", "draw_points"):
            built[name] = _frozen(columns[name], np.int64, name, m)
        frame = cls(**built)
        opens = frame.opens_lot
        if m and (frame.draw_entry.min() < 0 or frame.draw_entry.max() >= n):
            raise ValidationError("draw_entry", "a row", f"rows of entries (0 to {n - 1})")
        for name, rows in (("draw_lot", frame.draw_lot), ("lot", frame.lot[frame.lot >= 0])):
            if len(rows) and (rows.min() < 0 or rows.max() >= n or not opens[rows].all()):
                raise ValidationError(name, "a row", "rows of entries that open lots")
        if n and (frame.customer.min() < 0 or frame.customer.max() >= len(frame.customer_ids)):
            raise ValidationError("customer", "a code", "codes into customer_ids")
        return frame

    @classmethod
    def from_entries(cls, entries: Iterable[LedgerEntry | Sequence[LedgerEntry]]) -> LedgerColumns:
        """Build from entries (or chunks of them, as ``iter_chunks`` yields), any order
        of customers, each customer's entries in seq order.

        Raises:
            ValidationError: a draw or hold naming a lot no earlier entry opened.
        """
        codes: dict[str, int] = {}
        rows: dict[str, int] = {}
        cols: dict[str, list[int]] = {k: [] for k in (
            "customer", "kind", "points", "debt", "at", "expires_at", "locked_until", "lot",
            "draw_entry", "draw_lot", "draw_points",
        )}
        never_locked = np.iinfo(np.int64).min
        for item in entries:
            chunk = [item] if isinstance(item, LedgerEntry) else item
            for e in chunk:
                row = len(cols["customer"])
                cols["customer"].append(codes.setdefault(e.customer_id, len(codes)))
                cols["kind"].append(KIND_CODES[e.kind])
                cols["points"].append(e.points)
                cols["debt"].append(e.debt)
                cols["at"].append(to_epoch_micros(e.at))
                cols["expires_at"].append(
                    _NEVER if e.expires_at is None else to_epoch_micros(e.expires_at)
                )
                cols["locked_until"].append(
                    never_locked if e.locked_until is None else to_epoch_micros(e.locked_until)
                )
                cols["lot"].append(-1 if e.lot is None else _row(rows, e.lot))
                for d in e.draws:
                    cols["draw_entry"].append(row)
                    cols["draw_lot"].append(_row(rows, d.lot))
                    cols["draw_points"].append(d.points)
                if e.opens_lot:
                    rows[e.id] = row
        ids = np.empty(len(codes), dtype=object)
        ids[:] = list(codes)
        return cls.from_arrays(customer_ids=ids, **cols)

    @property
    def opens_lot(self) -> npt.NDArray[np.bool_]:
        """Whether each entry opens a lot (an earn, or a positive adjustment)."""
        result: npt.NDArray[np.bool_] = (self.kind == _EARN) | (
            (self.kind == _ADJUST) & (self.points > 0)
        )
        return result


def _sum_by(codes: I64, weights: I64, minlength: int) -> I64:
    """Exact int64 sums of ``weights`` per code: ``bincount`` while float64 is exact."""
    if not len(weights) or float(np.abs(weights).sum(dtype=np.float64)) < 2.0**53:
        return np.bincount(codes, weights=weights, minlength=minlength).astype(np.int64)
    out = np.zeros(max(minlength, int(codes.max()) + 1), dtype=np.int64)
    np.add.at(out, codes, weights)
    return out


def _row(rows: dict[str, int], lot: str) -> int:
    try:
        return rows[lot]
    except KeyError:
        raise ValidationError("lot", lot, "a lot opened by an earlier entry") from None


@attrs.frozen(kw_only=True)
class BalanceTable(FrameExport, Displayed):
    """Per customer (by code into :attr:`customer_ids`): what :func:`balances` found.

    Attributes:
        customer_ids: code -> customer id.
        balance: int64 points spendable at ``as_of`` (debt subtracted where it counts).
        available: int64 remainders of lots that count at ``as_of``.
        locked: int64 remainders of unexpired lots locked or on hold.
        debt: int64 outstanding clawback debt.
    """

    customer_ids: Any
    balance: I64
    available: I64
    locked: I64
    debt: I64

    def __repr__(self) -> str:
        return short_repr("BalanceTable", customers=len(self.balance),
                          points=int(self.balance.sum()))

    def _display(self) -> Report:
        """Totals, and the quantiles of each column."""
        report = Report("Points balances", facts=[
            ("customers", len(self.balance)), ("balance", int(self.balance.sum())),
            ("available", int(self.available.sum())), ("locked", int(self.locked.sum())),
            ("debt", int(self.debt.sum())),
            ("customers in debt", int(np.count_nonzero(self.debt > 0))),
        ])
        report.add(numeric_summary({"balance": self.balance, "available": self.available,
                                    "locked": self.locked, "debt": self.debt}))
        return report

    def _frame_columns(self) -> dict[str, Any]:
        """Exported columns (one row per customer): ``customer_id``, ``balance``,
        ``available``, ``locked`` and ``debt`` (points, int64)."""
        return {"customer_id": np.asarray(self.customer_ids), "balance": self.balance,
                "available": self.available, "locked": self.locked, "debt": self.debt}

    def of(self, customer_id: str) -> int:
        """One customer's balance (0 for a customer with no entries)."""
        found = np.flatnonzero(self.customer_ids == customer_id)
        return int(self.balance[found[0]]) if len(found) else 0


def balances(
    ledger: LedgerColumns, *, as_of: datetime, debt_in_balance: bool = True
) -> BalanceTable:
    """Every customer's balance at ``as_of``, replayed with counting, not sorting.

    Equal, customer by customer, to ``replay(entries up to as_of).balance(as_of)``.

    Raises:
        ValidationError: ``as_of`` is naive, or ``ledger`` is not a LedgerColumns.
    """
    if not isinstance(ledger, LedgerColumns):
        raise ValidationError("ledger", ledger, "a LedgerColumns")
    t = to_epoch_micros(require_aware("as_of", as_of))
    n, n_customers = len(ledger), len(ledger.customer_ids)
    done = ledger.at <= t
    # Remainders: points, less debt settled (debt < 0 on awards), less draws made by then.
    remaining = ledger.points + ledger.debt
    if len(ledger.draw_lot):
        counted = done[ledger.draw_entry]
        remaining -= _sum_by(ledger.draw_lot[counted], ledger.draw_points[counted], n)
    # Holds: the last lock / unlock entry (by row, i.e. by seq) naming each lot.
    holds = np.flatnonzero(ledger.lot >= 0)
    holds = holds[done[holds]]
    locked_now = ledger.locked_until > t
    if len(holds):
        last = np.full(n, -1, dtype=np.int64)
        np.maximum.at(last, ledger.lot[holds], holds)
        has = np.flatnonzero(last >= 0)
        locked_now[has] |= ledger.kind[last[has]] == _LOCK
    live = ledger.opens_lot
    live &= done
    live &= ledger.expires_at > t
    # One count for both: slot 2c holds customer c's available points, 2c+1 its locked.
    slot = ledger.customer * 2 + locked_now
    both = _sum_by(slot[live], remaining[live], 2 * n_customers)
    available, locked = both[0::2].copy(), both[1::2].copy()
    moved = np.flatnonzero(ledger.debt != 0)
    moved = moved[done[moved]]
    debt = _sum_by(ledger.customer[moved], ledger.debt[moved], n_customers)
    balance = available - debt if debt_in_balance else available.copy()
    for array in (balance, available, locked, debt):
        array.setflags(write=False)
    return BalanceTable(
        customer_ids=ledger.customer_ids, balance=balance, available=available, locked=locked,
        debt=debt,
    )
