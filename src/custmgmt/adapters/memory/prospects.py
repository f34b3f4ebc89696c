"""Prospects in memory (see :class:`custmgmt.prospects.ports.ProspectRepository`).

Prospects and their records are immutable, so the repository keeps references.
Writes hold the store's lock and record an undo action, so they join
:meth:`MemoryStore.transaction <custmgmt.adapters.memory.MemoryStore.transaction>`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from custmgmt.adapters._redaction import replace_redacted
from custmgmt.adapters.memory.transaction import TransactionLog
from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.privacy.ports import ERASED_TEXT
from custmgmt.prospects._storage import (
    check_filter,
    check_history_extends,
    check_period,
    check_versioned_update,
)
from custmgmt.prospects.pipeline import DEFAULT_PIPELINE, Pipeline
from custmgmt.prospects.prospect import (
    ContactRecord,
    InvestigationReport,
    Prospect,
    ProspectKind,
)

__all__ = ["MemoryProspectRepository"]


class MemoryProspectRepository:
    """Prospects in memory, joining an in-memory store's transactions.

    Args:
        tx: the store's transaction log (``MemoryStore.tx``).
        pipeline: the pipeline every saved prospect's history must follow.
    """

    def __init__(self, tx: TransactionLog, *, pipeline: Pipeline = DEFAULT_PIPELINE) -> None:
        if not isinstance(pipeline, Pipeline):
            raise ValidationError("pipeline", pipeline, "a Pipeline")
        self._tx = tx
        self._pipeline = pipeline
        self._items: dict[str, Prospect] = {}
        self._contacts: dict[str, ContactRecord] = {}
        self._reports: dict[str, InvestigationReport] = {}

    @property
    def pipeline(self) -> Pipeline:
        """The pipeline every saved prospect's history must follow."""
        return self._pipeline

    def get(self, prospect_id: str) -> Prospect:
        """The stored prospect (see ``ProspectRepository.get``)."""
        self._tx.check_open()
        try:
            return self._items[prospect_id]
        except (KeyError, TypeError):
            raise NotFound("prospect", prospect_id) from None

    def add(self, prospect: Prospect) -> None:
        """Store a new prospect (see ``ProspectRepository.add``)."""
        _check(prospect)
        self._pipeline.check_path(prospect)
        with self._tx.lock:
            if prospect.id in self._items:
                raise Conflict("prospect", prospect.id, "a prospect with this id exists")
            self._items[prospect.id] = prospect
            self._tx.record(lambda: self._items.pop(prospect.id, None))

    def update(self, prospect: Prospect, *, expected_version: int | None = None) -> None:
        """Replace a stored prospect (see ``ProspectRepository.update``)."""
        _check(prospect)
        with self._tx.lock:
            stored = self.get(prospect.id)
            check_versioned_update("prospect", prospect.id, stored.version, prospect.version,
                                   expected_version, unchanged=stored == prospect)
            check_history_extends(stored, prospect)
            self._pipeline.check_path(prospect, stored=stored)
            self._items[prospect.id] = prospect
            self._tx.record(lambda: self._items.__setitem__(prospect.id, stored))

    def count(self) -> int:
        """How many prospects are stored."""
        self._tx.check_open()
        return len(self._items)

    def find(
        self,
        *,
        stage: str | None = None,
        owner: str | None = None,
        source: str | None = None,
        customer_id: str | None = None,
    ) -> list[Prospect]:
        """Matching prospects (see ``ProspectRepository.find``)."""
        wanted = {
            "stage": check_filter("stage", stage), "owner": check_filter("owner", owner),
            "source": check_filter("source", source),
            "customer_id": check_filter("customer_id", customer_id),
        }
        with self._tx.lock:
            found = [
                p for p in self._items.values()
                if all(value is None or getattr(p, name) == value for name, value in wanted.items())
            ]
        return sorted(found, key=lambda p: (p.created_at, p.id))

    def add_contact(self, record: ContactRecord) -> None:
        """Store a contact record (see ``ProspectRepository.add_contact``)."""
        if not isinstance(record, ContactRecord):
            raise ValidationError("record", record, "a ContactRecord")
        with self._tx.lock:
            self.get(record.prospect_id)
            if record.id in self._contacts:
                raise Conflict("contact record", record.id, "a record with this id exists")
            self._contacts[record.id] = record
            self._tx.record(lambda: self._contacts.pop(record.id, None))

    def contacts(
        self,
        *,
        prospect_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ContactRecord]:
        """Contact records (see ``ProspectRepository.contacts``)."""
        check_filter("prospect_id", prospect_id)
        check_period(since, until)
        with self._tx.lock:
            found = [
                r for r in self._contacts.values()
                if (prospect_id is None or r.prospect_id == prospect_id)
                and (since is None or r.at >= since)
                and (until is None or r.at < until)
            ]
        return sorted(found, key=lambda r: (r.at, r.id))

    def add_report(self, report: InvestigationReport) -> None:
        """Store an investigation report (see ``ProspectRepository.add_report``)."""
        if not isinstance(report, InvestigationReport):
            raise ValidationError("report", report, "an InvestigationReport")
        with self._tx.lock:
            self.get(report.prospect_id)
            if report.id in self._reports:
                raise Conflict("investigation report", report.id, "a report with this id exists")
            self._reports[report.id] = report
            self._tx.record(lambda: self._reports.pop(report.id, None))

    def reports(self, prospect_id: str) -> list[InvestigationReport]:
        """The prospect's reports (see ``ProspectRepository.reports``)."""
        check_filter("prospect_id", prospect_id)
        with self._tx.lock:
            found = [r for r in self._reports.values() if r.prospect_id == prospect_id]
        return sorted(found, key=lambda r: (r.at, r.id))

    # -- erasure (custmgmt.privacy.SubjectRedaction) -----------------------------------
    def redact_subject(self, customer_id: str, pseudonym: str) -> int:
        """Erase what the prospects linked to the customer hold on them: a person's
        name becomes ``pseudonym``, the collected information is cleared, the notes
        of the stage history and the lost reason are erased (an empty note stays
        empty, so a move that needs a note still has one), and their contact
        records' summary, outcome and next step are erased. A prospect that changes
        gets its version bumped by one (stage and history entries are kept), so a
        copy read before the erasure is a stale copy: ``update`` refuses it with
        ``Conflict`` instead of writing the personal data back. The number of
        prospects and records changed."""
        with self._tx.lock:
            linked = {p.id for p in self._items.values() if p.customer_id == customer_id}
            return replace_redacted(
                self._tx, self._items, lambda p: _redacted_prospect(p, pseudonym),
                lambda p: p.id in linked,
            ) + replace_redacted(
                self._tx, self._contacts, _redacted_contact,
                lambda r: r.prospect_id in linked,
            )


def _redacted_prospect(prospect: Prospect, pseudonym: str) -> Prospect | None:
    """``prospect`` without the customer's personal data (a person's name becomes
    ``pseudonym``, the information is cleared, the history's notes and the lost
    reason are erased) and its version bumped, or None if there is none left."""
    name = pseudonym if prospect.kind is ProspectKind.PERSON else prospect.name
    history = tuple(
        e if _erased(e.note) == e.note else attrs.evolve(e, note=ERASED_TEXT)
        for e in prospect.history
    )
    lost_reason = None if prospect.lost_reason is None else _erased(prospect.lost_reason)
    redacted = attrs.evolve(prospect, name=name, info=(), history=history,
                            lost_reason=lost_reason)
    if redacted == prospect:
        return None
    # A redaction is a change: a copy read before it must not be saved after it.
    return attrs.evolve(redacted, version=prospect.version + 1)


def _redacted_contact(record: ContactRecord) -> ContactRecord | None:
    """``record`` with summary, outcome and next step erased (empty stays empty)."""
    redacted = attrs.evolve(
        record, summary=ERASED_TEXT, outcome=_erased(record.outcome),
        next_step=_erased(record.next_step),
    )
    return None if redacted == record else redacted


def _erased(text: str) -> str:
    return "" if text == "" else ERASED_TEXT


def _check(prospect: Any) -> None:
    if not isinstance(prospect, Prospect):
        raise ValidationError("prospect", prospect, "a Prospect")

