"""Redacted copies of capability records, for ``redact_subject`` in every adapter.

Erasure (:func:`custmgmt.privacy.erase_subject`) asks each capability repository that
implements :class:`custmgmt.privacy.SubjectRedaction` to remove the personal free text
it keeps about one customer. What counts as that text is decided here, once, so the
memory, SQLite and PostgreSQL adapters redact the same fields:

* loyalty ledger entries: ``reason`` (staff may write "birthday gift for 王芳");
* rating overrides: ``reason`` and the reasons in their review history;
* risk appeals: the customer's ``statement`` and the reasons in the appeal's log;
* risk alerts: staff notes in the alert's log (the note the engine wrote when it
  raised the alert describes the stored rule and values, names no one, and is kept);
* follow-up plans for the customer: ``goal``, ``content`` and the approval note;
  contact records: ``notes``;
* prospects linked to the customer and campaign suppressions: in their adapters
  (a person prospect's name becomes the pseudonym, ``info`` is cleared; the stage
  history's notes, the lost reason, contact summaries, outcomes and next steps and
  suppression notes become ``ERASED_TEXT``).

Required text becomes :data:`~custmgmt.privacy.ports.ERASED_TEXT`; optional text that
was empty stays empty. Amounts, stars, states and times are kept, so balances, ratings
and KPIs come out the same. Each function returns None when nothing needs changing, so
a second erasure run changes no row.

The functions here keep each record's ``version``. Follow-up plans and prospects are
mutable records a host saves back with optimistic concurrency, so their adapters bump
the version of a redacted one by one (a redaction is a change): a copy read before the
erasure is then a stale copy that ``update_plan`` / ``update`` refuses with
:class:`~custmgmt.errors.Conflict`, instead of writing the personal text back.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any, TypeVar

import attrs

from custmgmt.followup.plan import ContactRecord, FollowUpPlan
from custmgmt.loyalty.ledger import LedgerEntry
from custmgmt.privacy.ports import ERASED_TEXT
from custmgmt.rating.overrides import Override
from custmgmt.risk.alerts import Alert, AlertFinding
from custmgmt.risk.restrictions import Appeal

__all__ = [
    "ERASED_TEXT",
    "redacted_alert",
    "redacted_appeal",
    "redacted_contact",
    "redacted_entry",
    "redacted_override",
    "redacted_plan",
    "replace_redacted",
]


T = TypeVar("T")


def _text(value: str) -> str:
    return value if value in ("", ERASED_TEXT) else ERASED_TEXT


def _changed(old: T, new: T) -> T | None:
    return None if new == old else new


def redacted_entry(entry: LedgerEntry) -> LedgerEntry | None:
    """``entry`` with its reason erased, or None if it is erased already."""
    return _changed(entry, attrs.evolve(entry, reason=ERASED_TEXT))


def redacted_override(override: Override) -> Override | None:
    """``override`` with its reason and its history's reasons erased (same version)."""
    history = tuple(attrs.evolve(e, reason=_text(e.reason)) for e in override.history)
    return _changed(
        override, attrs.evolve(override, reason=ERASED_TEXT, history=history)
    )


def redacted_appeal(appeal: Appeal) -> Appeal | None:
    """``appeal`` with the statement and the log's reasons erased (same version)."""
    events = tuple(attrs.evolve(e, reason=_text(e.reason)) for e in appeal.events)
    return _changed(appeal, attrs.evolve(appeal, statement=ERASED_TEXT, events=events))


def redacted_plan(plan: FollowUpPlan) -> FollowUpPlan | None:
    """A one-customer plan with goal, content and approval note erased (same version;
    the adapters bump it when they store the result)."""
    approval = plan.approval
    if approval is not None:
        approval = attrs.evolve(approval, note=_text(approval.note))
    return _changed(
        plan, attrs.evolve(plan, goal=ERASED_TEXT, content=ERASED_TEXT, approval=approval)
    )


def redacted_contact(record: ContactRecord) -> ContactRecord | None:
    """``record`` with its notes erased, or None if there is nothing to erase."""
    return _changed(record, attrs.evolve(record, notes=_text(record.notes)))


def replace_redacted(
    tx: Any, table: MutableMapping[str, T], redact: Callable[[T], T | None],
    wanted: Callable[[T], bool],
) -> int:
    """For the memory adapters: redact the ``wanted`` values of ``table`` in place,
    recording an undo action with ``tx`` (the store's transaction log) for each;
    returns how many changed. The caller holds the store's lock."""
    changed = 0
    for key, value in list(table.items()):
        if not wanted(value):
            continue
        redacted = redact(value)
        if redacted is None:
            continue
        table[key] = redacted
        tx.record(lambda key=key, value=value: table.__setitem__(key, value))
        changed += 1
    return changed


def redacted_alert(alert: Alert) -> Alert | None:
    """``alert`` with its log's staff notes erased (same version), or None if none is
    left. The note the risk engine wrote when it raised the alert (the finding
    described: rule, values, window) names no one and is kept."""
    finding = AlertFinding(customer_id=alert.customer_id, rule=alert.rule,
                           values=alert.values, window_start=alert.window_start,
                           window_end=alert.window_end).describe()
    events = tuple(
        e if e.note in ("", ERASED_TEXT, finding) else attrs.evolve(e, note=ERASED_TEXT)
        for e in alert.events
    )
    return None if events == alert.events else attrs.evolve(alert, events=events)
