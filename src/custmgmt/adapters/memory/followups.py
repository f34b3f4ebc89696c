"""Follow-up plans and contact records in memory (see
:class:`custmgmt.followup.ports.FollowUpRepository`).

Writes hold the store's lock and record an undo action, so they join
:meth:`MemoryStore.transaction <custmgmt.adapters.memory.MemoryStore.transaction>`.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from custmgmt.adapters._checks import stale_copy
from custmgmt.adapters._engagement_checks import check_contact, check_plan
from custmgmt.adapters._redaction import redacted_contact, redacted_plan, replace_redacted
from custmgmt.adapters.memory.transaction import TransactionLog
from custmgmt.domain._validate import check_aware, coerce_enum
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import Conflict, NotFound
from custmgmt.followup.plan import ContactRecord, FollowUpPlan, PlanStatus

__all__ = ["MemoryFollowUpRepository"]


class MemoryFollowUpRepository:
    """Plans and contact records in memory.

    >>> from custmgmt.adapters.memory import MemoryStore
    >>> MemoryStore().followups.plans()
    []

    Args:
        tx: the store's transaction log (``MemoryStore.tx``).
    """

    def __init__(self, tx: TransactionLog) -> None:
        self._tx = tx
        self._plans: dict[str, FollowUpPlan] = {}
        self._contacts: dict[str, ContactRecord] = {}

    def add_plan(self, plan: FollowUpPlan) -> None:
        """Store a new plan (see ``FollowUpRepository.add_plan``)."""
        check_plan(plan)
        with self._tx.lock:
            if plan.id in self._plans:
                raise Conflict("follow-up plan", plan.id, "a plan with this id exists")
            self._plans[plan.id] = plan
            self._tx.record(lambda: self._plans.pop(plan.id, None))

    def get_plan(self, plan_id: str) -> FollowUpPlan:
        """The stored plan."""
        with self._tx.lock:
            try:
                return self._plans[plan_id]
            except (KeyError, TypeError):
                raise NotFound("follow-up plan", plan_id) from None

    def update_plan(self, plan: FollowUpPlan) -> None:
        """Replace a plan (see ``FollowUpRepository.update_plan``)."""
        check_plan(plan)
        with self._tx.lock:
            stored = self.get_plan(plan.id)
            if stored.version != plan.version - 1:
                raise stale_copy("follow-up plan", plan.id, stored.version, plan.version,
                                 unchanged=plan == stored)
            self._plans[plan.id] = plan
            self._tx.record(lambda: self._plans.__setitem__(stored.id, stored))

    def plans(
        self, *, customer_id: str | None = None, status: PlanStatus | None = None
    ) -> list[FollowUpPlan]:
        """Matching plans by creation then id."""
        wanted = None if status is None else coerce_enum(PlanStatus, status, "status")
        with self._tx.lock:
            found = [
                p for p in self._plans.values()
                if (customer_id is None or p.customer_id == customer_id)
                and (wanted is None or p.status is wanted)
            ]
        return sorted(found, key=lambda p: (p.created_at, p.id))

    def add_contact(self, record: ContactRecord) -> None:
        """Store a contact record (see ``FollowUpRepository.add_contact``)."""
        check_contact(record)
        with self._tx.lock:
            if record.plan_id is not None:
                self.get_plan(record.plan_id)
            if record.id in self._contacts:
                raise Conflict("contact record", record.id, "a record with this id exists")
            self._contacts[record.id] = record
            self._tx.record(lambda: self._contacts.pop(record.id, None))

    def contacts(
        self,
        *,
        customer_id: str | None = None,
        plan_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ContactRecord]:
        """Matching contact records by time then id.

        Times are compared as instants (epoch microseconds), as the SQL stores do:
        Python compares two datetimes of one zone by wall clock, so a contact in the
        repeated hour at the end of DST would sort and filter by the wrong reading.
        """
        lo = None if since is None else to_epoch_micros(check_aware("since", since))
        hi = None if until is None else to_epoch_micros(check_aware("until", until))
        with self._tx.lock:
            found = [
                (to_epoch_micros(c.at), c.id, c) for c in self._contacts.values()
                if (customer_id is None or c.customer_id == customer_id)
                and (plan_id is None or c.plan_id == plan_id)
            ]
        return [c for at, _, c in sorted(found)
                if (lo is None or at >= lo) and (hi is None or at < hi)]

    # -- erasure (custmgmt.privacy.SubjectRedaction) -----------------------------------
    def redact_subject(self, customer_id: str, pseudonym: str) -> int:
        """Erase the goal, content and approval note of the customer's own plans and
        the notes of their contact records; the number of plans and records changed.

        A plan that changes gets its version bumped by one, so a copy read before
        the erasure is a stale copy: ``update_plan`` refuses it with ``Conflict``
        instead of writing the erased text back."""
        with self._tx.lock:
            return replace_redacted(
                self._tx, self._plans, _redacted_plan, lambda p: p.customer_id == customer_id
            ) + replace_redacted(
                self._tx, self._contacts, redacted_contact,
                lambda c: c.customer_id == customer_id,
            )


def _redacted_plan(plan: FollowUpPlan) -> FollowUpPlan | None:
    """:func:`redacted_plan` with the version bumped: a redaction is a change."""
    redacted = redacted_plan(plan)
    return None if redacted is None else attrs.evolve(redacted, version=plan.version + 1)
