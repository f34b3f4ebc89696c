"""What every points-ledger adapter shares: the snapshot document codec.

A snapshot is a folded :class:`~custmgmt.loyalty.ledger.Account`, kept whole as one
JSON document (the SQLite store as text, the PostgreSQL store as ``json``, which keeps
the text as written). Instants are ``[microseconds since the epoch, UTC offset in
seconds]`` pairs, so they come back exactly, offset included; both stores read and
write the same document, so a snapshot moved between them stays readable.

>>> from datetime import datetime, timedelta, timezone
>>> from custmgmt.loyalty.ledger import Account
>>> at = datetime(2026, 3, 1, 20, 15, tzinfo=timezone(timedelta(hours=8)))
>>> account = Account(customer_id="C-1", seq=3, at=at)
>>> doc = account_to_doc(account)
>>> doc["at"]
[1772367300000000, 28800]
>>> account_from_doc("C-1", doc) == account
True
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from custmgmt.domain.time import EPOCH, to_epoch_micros
from custmgmt.errors import ValidationError
from custmgmt.loyalty.ledger import Account, EntryKind, Lot

__all__ = ["account_from_doc", "account_to_doc", "instant_from_pair", "instant_pair"]


def instant_pair(value: datetime) -> list[int]:
    """``[microseconds since the epoch (UTC), UTC offset in seconds]`` of an aware datetime.

    Raises:
        ValidationError: the UTC offset has a fraction of a second.
    """
    delta = value.utcoffset()
    assert delta is not None  # the domain refuses naive datetimes
    if delta.microseconds:
        raise ValidationError("utcoffset", delta, "a UTC offset in whole seconds")
    return [to_epoch_micros(value), delta.days * 86_400 + delta.seconds]


def instant_from_pair(micros: int, offset: int) -> datetime:
    """The datetime an :func:`instant_pair` describes, at its own fixed UTC offset."""
    zone = timezone(timedelta(seconds=offset))
    # Adding to the epoch shown in the zone keeps the fixed offset and is exact.
    return EPOCH.astimezone(zone) + timedelta(microseconds=micros)


def _maybe_pair(value: datetime | None) -> list[int | None]:
    return [None, None] if value is None else list(instant_pair(value))


def _maybe_instant(micros: int | None, offset: int | None) -> datetime | None:
    return None if micros is None or offset is None else instant_from_pair(micros, offset)


def account_to_doc(account: Account) -> dict[str, Any]:
    """A folded account as a JSON-ready dict (lots as flat lists, instants as pairs)."""
    lots = [
        [
            lot.id, *instant_pair(lot.earned_at), lot.points, lot.remaining,
            *instant_pair(lot.expires_at), *_maybe_pair(lot.locked_until), lot.held,
            lot.kind.value, lot.rule, lot.order_id,
        ]
        for lot in account.lots
    ]
    return {
        "seq": account.seq, "at": None if account.at is None else instant_pair(account.at),
        "lots": lots, "debt": account.debt, "debt_in_balance": account.debt_in_balance,
        "reversed": [list(pair) for pair in account.reversed_by_order],
    }


def account_from_doc(customer_id: str, body: dict[str, Any]) -> Account:
    """The account an :func:`account_to_doc` dict describes.

    Raises:
        KeyError, TypeError, ValueError, IndexError, CustMgmtError: the document is not
            one :func:`account_to_doc` wrote (the adapter reports a StorageError).
    """
    lots = tuple(
        Lot(
            id=r[0], earned_at=instant_from_pair(r[1], r[2]), points=r[3], remaining=r[4],
            expires_at=instant_from_pair(r[5], r[6]), locked_until=_maybe_instant(r[7], r[8]),
            held=r[9], kind=EntryKind(r[10]), rule=r[11], order_id=r[12],
        )
        for r in body["lots"]
    )
    at = body["at"]
    return Account(
        customer_id=customer_id, seq=body["seq"],
        at=None if at is None else instant_from_pair(*at),
        lots=lots, debt=body["debt"], debt_in_balance=body["debt_in_balance"],
        reversed_by_order=tuple((str(k), int(n)) for k, n in body["reversed"]),
    )
