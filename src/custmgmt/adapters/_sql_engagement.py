"""Rows of the SQL campaign and follow-up tables, shared by SQLite and PostgreSQL.

Both dialects keep a send decision, a suppression and a follow-up contact record in
the same columns, in the same order; they differ only in how an instant is stored
(microseconds since the epoch, or a ``timestamptz``), each beside its UTC offset. A
row is written with the dialect's ``instant`` encoder and read back after the SELECT
has turned every instant into exact microseconds, so the decoders here serve both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from custmgmt.adapters._sql_codecs import datetime_of
from custmgmt.campaigns.records import SendDecision, Suppression
from custmgmt.followup.plan import ContactRecord

__all__ = [
    "contact_record_from_row",
    "contact_record_row",
    "send_decision_from_row",
    "send_decision_row",
    "suppression_from_row",
]


def send_decision_row(
    decision: SendDecision, instant: Callable[[datetime], tuple[Any, int]]
) -> tuple[Any, ...]:
    """The ``campaign_sends`` row of ``decision``, its instants stored by ``instant``
    (the dialect's: stored value and UTC offset)."""
    d = decision
    send = (None, None) if d.send_at is None else instant(d.send_at)
    return (d.campaign_id, d.customer_id, d.reason.value, d.channel.value,
            *instant(d.decided_at), *send, d.offer_index, d.message_id)  # fmt: skip


def send_decision_from_row(row: Sequence[Any]) -> SendDecision:
    """The send decision of a ``campaign_sends`` row (instants read as microseconds)."""
    return SendDecision(
        campaign_id=row[0], customer_id=row[1], reason=row[2], channel=row[3],
        decided_at=datetime_of(row[4], row[5]),
        send_at=None if row[6] is None else datetime_of(row[6], row[7]),
        offer_index=row[8], message_id=row[9],
    )  # fmt: skip


def suppression_from_row(row: Sequence[Any]) -> Suppression:
    """The suppression of a ``campaign_suppressions`` row (``customer_id, reason, at,
    at_off, note``, the instant read as microseconds)."""
    return Suppression(
        customer_id=row[0], reason=row[1], at=datetime_of(row[2], row[3]), note=row[4]
    )


def contact_record_row(
    record: ContactRecord, instant: Callable[[datetime], tuple[Any, int]]
) -> tuple[Any, ...]:
    """The ``followup_contacts`` row of ``record``, its instant stored by ``instant``
    (the dialect's: stored value and UTC offset)."""
    r = record
    return (r.id, r.customer_id, r.plan_id, *instant(r.at), r.channel, r.staff,
            r.outcome.value, r.notes, r.satisfaction)  # fmt: skip


def contact_record_from_row(row: Sequence[Any]) -> ContactRecord:
    """The contact record of a ``followup_contacts`` row (the instant read as
    microseconds)."""
    return ContactRecord(
        id=row[0], customer_id=row[1], plan_id=row[2], at=datetime_of(row[3], row[4]),
        channel=row[5], staff=row[6], outcome=row[7], notes=row[8], satisfaction=row[9],
    )  # fmt: skip
