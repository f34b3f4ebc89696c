"""Risk data in memory (see :class:`custmgmt.risk.ports.RiskRepository`).

Values are immutable, so the repository keeps references (score runs keep their
read-only arrays). Writes hold the store's lock and record an undo action, so they
join :meth:`MemoryStore.transaction <custmgmt.adapters.memory.MemoryStore.transaction>`.

>>> from custmgmt.adapters.memory import MemoryStore
>>> store = MemoryStore()
>>> store.risk.find_alerts()
[]
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from custmgmt.adapters._redaction import redacted_alert, redacted_appeal, replace_redacted
from custmgmt.adapters._risk_rows import (
    check_alert_statuses,
    check_alert_update,
    check_appeal,
    check_appeal_statuses,
    check_appeal_update,
    check_instance,
    check_optional_id,
    check_restriction_update,
    check_run_fits,
)
from custmgmt.adapters.memory.transaction import TransactionLog
from custmgmt.errors import Conflict, NotFound
from custmgmt.risk.alerts import Alert, AlertStatus
from custmgmt.risk.history import ScoreRecord, ScoreRun, ScoreRunInfo
from custmgmt.risk.restrictions import Appeal, AppealStatus, Restriction
from custmgmt.risk.scorecard import Scorecard

__all__ = ["MemoryRiskRepository"]


class MemoryRiskRepository:
    """Scorecards, score runs, alerts, restrictions and appeals in memory.

    Args:
        tx: the store's transaction log (``MemoryStore.tx``).
    """

    def __init__(self, tx: TransactionLog) -> None:
        self._tx = tx
        self._cards: dict[tuple[str, int], Scorecard] = {}
        self._runs: dict[str, ScoreRun] = {}
        self._alerts: dict[str, Alert] = {}
        self._restrictions: dict[str, Restriction] = {}
        self._appeals: dict[str, Appeal] = {}

    # -- helpers -----------------------------------------------------------------------
    def _put(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        old = table.get(key)
        table[key] = value
        if old is None:
            self._tx.record(lambda: table.pop(key))
        else:
            self._tx.record(lambda: table.__setitem__(key, old))

    @staticmethod
    def _get(table: dict[Any, Any], entity: str, key: Any) -> Any:
        try:
            return table[key]
        except (KeyError, TypeError):
            raise NotFound(entity, key) from None

    # -- scorecards --------------------------------------------------------------------
    def add_scorecard(self, card: Scorecard) -> None:
        """Store a card version (see ``RiskRepository.add_scorecard``)."""
        check_instance(card, Scorecard, "card")
        with self._tx.lock:
            key = (card.name, card.version)
            if key in self._cards:
                raise Conflict("scorecard", f"{card.name} v{card.version}",
                               "a new name or version")
            self._put(self._cards, key, card)

    def get_scorecard(self, name: str, version: int | None = None) -> Scorecard:
        """A stored card (see ``RiskRepository.get_scorecard``)."""
        with self._tx.lock:
            if version is None:
                found = [c for (n, _), c in self._cards.items() if n == name]
                if not found:
                    raise NotFound("scorecard", name)
                return max(found, key=lambda c: c.version)
            card: Scorecard = self._get(self._cards, "scorecard", (name, version))
            return card

    def scorecards(self) -> list[Scorecard]:
        """Every card version, by name then version."""
        with self._tx.lock:
            return [self._cards[k] for k in sorted(self._cards)]

    # -- score runs --------------------------------------------------------------------
    def add_score_run(self, run: ScoreRun) -> None:
        """Store a run (see ``RiskRepository.add_score_run``)."""
        check_instance(run, ScoreRun, "run")
        with self._tx.lock:
            card = self.get_scorecard(run.card_name, run.card_version)
            check_run_fits(run, card)
            if run.id in self._runs:
                raise Conflict("score run", run.id, "a new run id")
            self._put(self._runs, run.id, run)

    def get_score_run(self, run_id: str) -> ScoreRun:
        """A stored run."""
        with self._tx.lock:
            run: ScoreRun = self._get(self._runs, "score run", run_id)
            return run

    def score_runs(self, card_name: str | None = None) -> list[ScoreRunInfo]:
        """Run headers by ``as_of`` then id."""
        check_optional_id("card_name", card_name)
        with self._tx.lock:
            runs = [r for r in self._runs.values()
                    if card_name is None or r.card_name == card_name]
        return [r.info for r in sorted(runs, key=lambda r: (r.as_of, r.id))]

    def score_history(self, customer_id: str) -> list[ScoreRecord]:
        """One customer's scores across runs."""
        check_optional_id("customer_id", customer_id)
        with self._tx.lock:
            runs = sorted(self._runs.values(), key=lambda r: (r.as_of, r.id))
        out = []
        for run in runs:
            if customer_id in set(run.customer_ids.tolist()):
                out.append(run.record(customer_id))
        return out

    # -- alerts ------------------------------------------------------------------------
    def add_alert(self, alert: Alert) -> None:
        """Store a new alert."""
        check_instance(alert, Alert, "alert")
        with self._tx.lock:
            if alert.id in self._alerts:
                raise Conflict("alert", alert.id, "a new alert id")
            self._put(self._alerts, alert.id, alert)

    def update_alert(self, alert: Alert) -> None:
        """Save a changed alert."""
        check_instance(alert, Alert, "alert")
        with self._tx.lock:
            stored = self.get_alert(alert.id)
            check_alert_update(stored, alert)
            self._put(self._alerts, alert.id, alert)

    def get_alert(self, alert_id: str) -> Alert:
        """A stored alert."""
        with self._tx.lock:
            alert: Alert = self._get(self._alerts, "alert", alert_id)
            return alert

    def find_alerts(self, *, customer_id: str | None = None, rule: str | None = None,
                    statuses: Collection[AlertStatus] | None = None) -> list[Alert]:
        """Alerts matching the filters, by raising time then id."""
        check_optional_id("customer_id", customer_id)
        check_optional_id("rule", rule)
        wanted = check_alert_statuses(statuses)
        with self._tx.lock:
            found = [a for a in self._alerts.values()
                     if (customer_id is None or a.customer_id == customer_id)
                     and (rule is None or a.rule == rule)
                     and (wanted is None or a.status in wanted)]
        return sorted(found, key=lambda a: (a.raised_at, a.id))

    # -- restrictions ------------------------------------------------------------------
    def add_restriction(self, restriction: Restriction) -> None:
        """Store a new restriction."""
        check_instance(restriction, Restriction, "restriction")
        with self._tx.lock:
            if restriction.id in self._restrictions:
                raise Conflict("restriction", restriction.id, "a new restriction id")
            self._put(self._restrictions, restriction.id, restriction)

    def update_restriction(self, restriction: Restriction) -> None:
        """Save a changed restriction (log extended only)."""
        check_instance(restriction, Restriction, "restriction")
        with self._tx.lock:
            stored = self.get_restriction(restriction.id)
            check_restriction_update(stored, restriction)
            self._put(self._restrictions, restriction.id, restriction)

    def get_restriction(self, restriction_id: str) -> Restriction:
        """A stored restriction."""
        with self._tx.lock:
            found: Restriction = self._get(self._restrictions, "restriction", restriction_id)
            return found

    def find_restrictions(self, *, customer_id: str | None = None) -> list[Restriction]:
        """Restrictions by start then id."""
        check_optional_id("customer_id", customer_id)
        with self._tx.lock:
            found = [r for r in self._restrictions.values()
                     if customer_id is None or r.customer_id == customer_id]
        return sorted(found, key=lambda r: (r.start, r.id))

    # -- appeals -----------------------------------------------------------------------
    def add_appeal(self, appeal: Appeal) -> None:
        """Store a new appeal."""
        check_instance(appeal, Appeal, "appeal")
        with self._tx.lock:
            restriction = self.get_restriction(appeal.restriction_id)
            check_appeal(appeal, restriction)
            if appeal.id in self._appeals:
                raise Conflict("appeal", appeal.id, "a new appeal id")
            self._put(self._appeals, appeal.id, appeal)

    def update_appeal(self, appeal: Appeal) -> None:
        """Save a changed appeal."""
        check_instance(appeal, Appeal, "appeal")
        with self._tx.lock:
            stored = self.get_appeal(appeal.id)
            check_appeal_update(stored, appeal)
            check_appeal(appeal, self.get_restriction(appeal.restriction_id))
            self._put(self._appeals, appeal.id, appeal)

    def get_appeal(self, appeal_id: str) -> Appeal:
        """A stored appeal."""
        with self._tx.lock:
            found: Appeal = self._get(self._appeals, "appeal", appeal_id)
            return found

    def find_appeals(self, *, restriction_id: str | None = None,
                     statuses: Collection[AppealStatus] | None = None) -> list[Appeal]:
        """Appeals by submission then id."""
        check_optional_id("restriction_id", restriction_id)
        wanted = check_appeal_statuses(statuses)
        with self._tx.lock:
            found = [a for a in self._appeals.values()
                     if (restriction_id is None or a.restriction_id == restriction_id)
                     and (wanted is None or a.status in wanted)]
        return sorted(found, key=lambda a: (a.submitted_at, a.id))

    # -- erasure (custmgmt.privacy.SubjectRedaction) -----------------------------------
    def redact_subject(self, customer_id: str, pseudonym: str) -> int:
        """Erase the statements and log reasons of the customer's appeals and the
        notes in their alerts' logs; the number changed (restrictions' own audit
        trail is kept: see ``docs/privacy.md``)."""
        with self._tx.lock:
            return replace_redacted(
                self._tx, self._appeals, redacted_appeal,
                lambda a: a.customer_id == customer_id,
            ) + replace_redacted(
                self._tx, self._alerts, redacted_alert,
                lambda a: a.customer_id == customer_id,
            )


