"""The risk capability's port: scorecards, score history, alerts, restrictions, appeals.

A store offers risk by exposing a :class:`RiskRepository` as ``store.risk``;
:class:`RiskStore` is the store type the risk services take. Check an implementation
with :class:`custmgmt.testing.risk_contract.RiskRepositoryContract`.

Common contract: exact round-trip of every value; :class:`~custmgmt.errors.Conflict`
on a duplicate id and on a stale version (an update's ``version`` must be the stored
one plus one); :class:`~custmgmt.errors.NotFound` for an unknown id; nothing written
when an operation fails; writes join the store's transaction. Logs (an alert's, a
restriction's, an appeal's) are append-only: an update may only add entries after
the stored ones, and nothing is ever removed, so a restriction never loses its audit
trail. An appeal's log must be a path of :data:`~custmgmt.risk.restrictions.APPEAL_WORKFLOW`,
and an appeal is saved as overturned only when its restriction is stored lifted.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol, runtime_checkable

from custmgmt.ports import CapabilityKey, ColumnarStore
from custmgmt.risk.alerts import Alert, AlertStatus
from custmgmt.risk.history import ScoreRecord, ScoreRun, ScoreRunInfo
from custmgmt.risk.restrictions import Appeal, AppealStatus, Restriction
from custmgmt.risk.scorecard import Scorecard

__all__ = ["RISK", "RiskRepository", "RiskStore"]


@runtime_checkable
class RiskRepository(Protocol):
    """Everything the risk capability stores (see the module docstring)."""

    # -- scorecards -----------------------------------------------------------------
    def add_scorecard(self, card: Scorecard) -> None:
        """Store a card version.

        Raises:
            Conflict: ``(card.name, card.version)`` is stored; nothing is written.
            ValidationError: ``card`` is not a Scorecard.
        """
        ...

    def get_scorecard(self, name: str, version: int | None = None) -> Scorecard:
        """A stored card: the given version, or the latest.

        Raises:
            NotFound: no such card (version).
        """
        ...

    def scorecards(self) -> list[Scorecard]:
        """Every stored card version, by name then version."""
        ...

    # -- score history --------------------------------------------------------------
    def add_score_run(self, run: ScoreRun) -> None:
        """Store a run with every customer's score, grade and bins.

        Raises:
            Conflict: the run id is taken; nothing is written.
            NotFound: the run's card version is not stored.
            ValidationError: ``run`` is not a ScoreRun, or its bins do not fit the card.
        """
        ...

    def get_score_run(self, run_id: str) -> ScoreRun:
        """A stored run, arrays included, rows in the stored order.

        Raises:
            NotFound: no such run.
        """
        ...

    def score_runs(self, card_name: str | None = None) -> list[ScoreRunInfo]:
        """Run headers (of one card, if given), by ``as_of`` then id."""
        ...

    def score_history(self, customer_id: str) -> list[ScoreRecord]:
        """One customer's scores across runs, by ``as_of`` then run id."""
        ...

    # -- alerts ---------------------------------------------------------------------
    def add_alert(self, alert: Alert) -> None:
        """Store a new alert.

        Raises:
            Conflict: the id is taken.
            ValidationError: not an Alert.
        """
        ...

    def update_alert(self, alert: Alert) -> None:
        """Save a changed alert (version = stored + 1, log extended).

        Raises:
            NotFound: unknown id.
            Conflict: a stale version, or a log that drops or changes stored entries.
        """
        ...

    def get_alert(self, alert_id: str) -> Alert:
        """A stored alert.

        Raises:
            NotFound: unknown id.
        """
        ...

    def find_alerts(
        self,
        *,
        customer_id: str | None = None,
        rule: str | None = None,
        statuses: Collection[AlertStatus] | None = None,
    ) -> list[Alert]:
        """Alerts matching every filter given, by raising time then id."""
        ...

    # -- restrictions ---------------------------------------------------------------
    def add_restriction(self, restriction: Restriction) -> None:
        """Store a new restriction with its log.

        Raises:
            Conflict: the id is taken.
            ValidationError: not a Restriction.
        """
        ...

    def update_restriction(self, restriction: Restriction) -> None:
        """Save a changed restriction (version = stored + 1, log extended only).

        Raises:
            NotFound: unknown id.
            Conflict: a stale version, or a log that drops or changes stored entries,
                or a change of who, why, or since when.
        """
        ...

    def get_restriction(self, restriction_id: str) -> Restriction:
        """A stored restriction with its whole log.

        Raises:
            NotFound: unknown id.
        """
        ...

    def find_restrictions(self, *, customer_id: str | None = None) -> list[Restriction]:
        """Restrictions (of one customer, if given), by start then id."""
        ...

    # -- appeals --------------------------------------------------------------------
    def add_appeal(self, appeal: Appeal) -> None:
        """Store a new appeal.

        Raises:
            Conflict: the id is taken.
            NotFound: its restriction is not stored.
            TransitionNotAllowed: its log is not a path of the appeal workflow.
        """
        ...

    def update_appeal(self, appeal: Appeal) -> None:
        """Save a changed appeal (version = stored + 1, log extended only).

        Raises:
            NotFound: unknown id.
            Conflict: a stale version; a log that drops or changes entries; an
                overturned appeal whose restriction is not stored lifted.
            TransitionNotAllowed: the log is not a path of the appeal workflow.
        """
        ...

    def get_appeal(self, appeal_id: str) -> Appeal:
        """A stored appeal.

        Raises:
            NotFound: unknown id.
        """
        ...

    def find_appeals(
        self,
        *,
        restriction_id: str | None = None,
        statuses: Collection[AppealStatus] | None = None,
    ) -> list[Appeal]:
        """Appeals matching every filter given, by submission then id."""
        ...


#: The key bundled stores register their risk repository under (``store.risk``).
RISK: CapabilityKey[RiskRepository] = CapabilityKey("risk", RiskRepository)


@runtime_checkable
class RiskStore(ColumnarStore, Protocol):
    """A :class:`~custmgmt.ports.ColumnarStore` that also keeps risk data (scoring and
    alerts read the store through the columnar port)."""

    @property
    def risk(self) -> RiskRepository:
        """The risk repository, sharing the store's transaction."""
        ...
