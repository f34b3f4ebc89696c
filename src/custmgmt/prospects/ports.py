"""The prospect capability's port: prospects, their contact records and reports.

A store offers prospects by exposing a :class:`ProspectRepository` as
``store.prospects``; :class:`ProspectStore` is the store type the prospect services
take. Check an implementation with
:class:`custmgmt.testing.prospect_contract.ProspectRepositoryContract`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from custmgmt.ports import CapabilityKey, Store
from custmgmt.prospects.prospect import ContactRecord, InvestigationReport, Prospect

__all__ = ["PROSPECTS", "ProspectRepository", "ProspectStore"]


@runtime_checkable
class ProspectRepository(Protocol):
    """Prospects with their stage histories, contact records and investigation reports.

    Stores expose it as ``store.prospects``, sharing the store's transaction. Text in
    any script comes back exactly, instants with their UTC offset. A prospect's
    history is append-only, and only a path of the repository's pipeline is saved
    (``Pipeline.check_path``).
    """

    def get(self, prospect_id: str) -> Prospect:
        """The stored prospect, its whole history included.

        Raises:
            NotFound: nothing is stored under ``prospect_id``.
            StorageError: the backend failed.
        """
        ...

    def add(self, prospect: Prospect) -> None:
        """Store a new prospect as it is.

        Raises:
            Conflict: a prospect with the same id is stored; nothing is written.
            TransitionNotAllowed: its history is not a path of the pipeline.
            ValidationError: ``prospect`` is not a Prospect.
            StorageError: the backend failed; nothing is written.
        """
        ...

    def update(self, prospect: Prospect, *, expected_version: int | None = None) -> None:
        """Replace the stored prospect with ``prospect``, read at ``expected_version``.

        ``expected_version`` defaults to ``prospect.version - 1``. The stored history
        must be a prefix of the new one; only the new entries are appended.

        Raises:
            NotFound: nothing is stored under ``prospect.id``.
            Conflict: the stored version is not ``expected_version``, or the update
                would drop or change stored history entries; nothing is written.
            TransitionNotAllowed: the new entries are not a path of the pipeline.
            ValidationError: not a Prospect, or ``expected_version`` not below its version.
            StorageError: the backend failed.
        """
        ...

    def count(self) -> int:
        """How many prospects are stored."""
        ...

    def find(
        self,
        *,
        stage: str | None = None,
        owner: str | None = None,
        source: str | None = None,
        customer_id: str | None = None,
    ) -> list[Prospect]:
        """Prospects matching every filter given, by ``created_at`` then id.

        Raises:
            ValidationError: a filter that is not a string.
        """
        ...

    def add_contact(self, record: ContactRecord) -> None:
        """Store a contact record of a stored prospect.

        Raises:
            NotFound: the prospect is not stored; nothing is written.
            Conflict: a record with the same id is stored; nothing is written.
            ValidationError: ``record`` is not a ContactRecord.
        """
        ...

    def contacts(
        self,
        *,
        prospect_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ContactRecord]:
        """Contact records (of one prospect, at ``[since, until)``), by ``at`` then id.

        Raises:
            ValidationError: a naive ``since`` or ``until``, or a non-string id.
        """
        ...

    def add_report(self, report: InvestigationReport) -> None:
        """Store an investigation report of a stored prospect.

        Raises:
            NotFound: the prospect is not stored; nothing is written.
            Conflict: a report with the same id is stored; nothing is written.
            ValidationError: ``report`` is not an InvestigationReport.
        """
        ...

    def reports(self, prospect_id: str) -> list[InvestigationReport]:
        """The prospect's investigation reports, by ``at`` then id (empty if none)."""
        ...


#: The key bundled stores register their prospect repository under (``store.prospects``).
PROSPECTS: CapabilityKey[ProspectRepository] = CapabilityKey("prospects", ProspectRepository)


@runtime_checkable
class ProspectStore(Store, Protocol):
    """A :class:`~custmgmt.ports.Store` that also keeps prospects."""

    @property
    def prospects(self) -> ProspectRepository:
        """The prospect repository, sharing the store's transaction."""
        ...
