"""The follow-up capability's port: plans and contact records.

A store offers follow-ups by exposing a :class:`FollowUpRepository` as ``.followups``;
:class:`FollowUpStore` is the store type the follow-up services take. Check an
implementation with :class:`custmgmt.testing.FollowUpRepositoryContract`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from custmgmt.followup.plan import ContactRecord, FollowUpPlan, PlanStatus
from custmgmt.ports import CapabilityKey, Store

__all__ = ["FOLLOWUPS", "FollowUpRepository", "FollowUpStore"]


@runtime_checkable
class FollowUpRepository(Protocol):
    """Follow-up plans (versioned) and contact records (append-only).

    Stores expose it as ``store.followups``, sharing the store's transaction. Reads
    return exactly what was written; :class:`~custmgmt.errors.Conflict` refuses
    duplicate ids and stale versions; :class:`~custmgmt.errors.StorageError` reports
    the backend's failures.
    """

    def add_plan(self, plan: FollowUpPlan) -> None:
        """Store a new plan.

        Raises:
            Conflict: the id is taken; nothing is written.
            ValidationError: ``plan`` is not a FollowUpPlan.
        """
        ...

    def get_plan(self, plan_id: str) -> FollowUpPlan:
        """The stored plan.

        Raises:
            NotFound: no plan has this id.
        """
        ...

    def update_plan(self, plan: FollowUpPlan) -> None:
        """Replace a plan with a copy changed once (``version`` one more).

        Raises:
            NotFound: no plan has its id.
            Conflict: the stored version is not ``plan.version - 1``; nothing is written.
        """
        ...

    def plans(
        self, *, customer_id: str | None = None, status: PlanStatus | None = None
    ) -> list[FollowUpPlan]:
        """Plans of one customer and/or in one status, by ``created_at`` then id."""
        ...

    def add_contact(self, record: ContactRecord) -> None:
        """Store a contact record.

        Raises:
            Conflict: the id is taken.
            NotFound: it names a plan that is not stored.
            ValidationError: ``record`` is not a ContactRecord.
        """
        ...

    def contacts(
        self,
        *,
        customer_id: str | None = None,
        plan_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ContactRecord]:
        """Contact records (of a customer, of a plan) at ``[since, until)``, by time then id.

        Raises:
            ValidationError: a naive bound.
        """
        ...


#: The key bundled stores register their follow-up repository under (``store.followups``).
FOLLOWUPS: CapabilityKey[FollowUpRepository] = CapabilityKey("followups", FollowUpRepository)


@runtime_checkable
class FollowUpStore(Store, Protocol):
    """A :class:`~custmgmt.ports.Store` that also keeps follow-up plans and contacts."""

    @property
    def followups(self) -> FollowUpRepository:
        """The follow-up repository, sharing the store's transaction."""
        ...
