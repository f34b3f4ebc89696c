"""Risk data in SQLite (see :class:`custmgmt.risk.ports.RiskRepository`).

Tables owned by the component ``"risk"``: ``risk_scorecards`` (one JSON document per
card version), ``risk_score_runs`` and ``risk_scores`` (one row per customer and run:
score, grade code and the feature bins as a little int16 blob, so a stored score can
be re-explained), ``risk_alerts`` and ``risk_appeals`` (indexed columns plus the
document), ``risk_restrictions`` and ``risk_restriction_events``: a restriction's
log is one row per entry, and triggers refuse to delete or change a log row, so the
audit trail survives even a careless hand-written query.

>>> from custmgmt.adapters.sqlite import SQLiteStore
>>> store = SQLiteStore(":memory:")
>>> store.risk.find_restrictions()
[]
>>> store.close()
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, Final

import numpy as np

from custmgmt.adapters._redaction import redacted_appeal
from custmgmt.adapters._risk_rows import (
    alert_from_doc,
    alert_to_doc,
    appeal_from_doc,
    appeal_to_doc,
    card_from_doc,
    card_to_doc,
    check_alert_statuses,
    check_appeal,
    check_appeal_statuses,
    check_appeal_update,
    check_instance,
    check_log_update,
    check_optional_id,
    check_restriction_update,
    check_run_fits,
    restriction_entry_to_doc,
    restriction_from_doc,
    restriction_to_doc,
)
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.schema import Migration
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import Conflict, NotFound, StorageError
from custmgmt.risk.alerts import Alert, AlertStatus
from custmgmt.risk.history import ScoreRecord, ScoreRun, ScoreRunInfo
from custmgmt.risk.restrictions import Appeal, AppealStatus, Restriction
from custmgmt.risk.scorecard import ScoreBatch, Scorecard

__all__ = ["RISK_MIGRATIONS", "SQLiteRiskRepository"]

_V1 = """
CREATE TABLE risk_scorecards (
    name TEXT NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE risk_score_runs (
    id TEXT PRIMARY KEY, card_name TEXT NOT NULL, card_version INTEGER NOT NULL,
    as_of TEXT NOT NULL, as_of_us INTEGER NOT NULL, customers INTEGER NOT NULL
);
CREATE TABLE risk_scores (
    run_id TEXT NOT NULL REFERENCES risk_score_runs (id), seq INTEGER NOT NULL,
    customer_id TEXT NOT NULL, score INTEGER NOT NULL, grade INTEGER NOT NULL,
    bins BLOB NOT NULL, PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE INDEX risk_scores_by_customer ON risk_scores (customer_id);
CREATE TABLE risk_alerts (
    id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, rule TEXT NOT NULL,
    status TEXT NOT NULL, raised_us INTEGER NOT NULL, version INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX risk_alerts_by_customer ON risk_alerts (customer_id, rule);
CREATE TABLE risk_restrictions (
    id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, start_us INTEGER NOT NULL,
    version INTEGER NOT NULL, doc TEXT NOT NULL
);
CREATE INDEX risk_restrictions_by_customer ON risk_restrictions (customer_id);
CREATE TABLE risk_restriction_events (
    restriction_id TEXT NOT NULL REFERENCES risk_restrictions (id), seq INTEGER NOT NULL,
    doc TEXT NOT NULL, PRIMARY KEY (restriction_id, seq)
) WITHOUT ROWID;
CREATE TRIGGER risk_restriction_events_keep BEFORE DELETE ON risk_restriction_events
BEGIN SELECT RAISE(ABORT, 'a restriction audit trail is append-only'); END;
CREATE TRIGGER risk_restriction_events_fixed BEFORE UPDATE ON risk_restriction_events
BEGIN SELECT RAISE(ABORT, 'a restriction audit trail is append-only'); END;
CREATE TRIGGER risk_restrictions_keep BEFORE DELETE ON risk_restrictions
BEGIN SELECT RAISE(ABORT, 'a restriction audit trail is append-only'); END;
CREATE TABLE risk_appeals (
    id TEXT PRIMARY KEY, restriction_id TEXT NOT NULL REFERENCES risk_restrictions (id),
    status TEXT NOT NULL, submitted_us INTEGER NOT NULL, version INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX risk_appeals_by_restriction ON risk_appeals (restriction_id);
"""

#: The risk schema's migrations, applied in order under the component ``"risk"``.
RISK_MIGRATIONS: Final[tuple[Migration, ...]] = (_V1,)

_BATCH: Final = 50_000


def _dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


class SQLiteRiskRepository:
    """Risk data in an :class:`~custmgmt.adapters.sqlite.SQLiteStore`, in its transactions.

    Args:
        db: the store's database (``store.risk`` makes one on first use).

    Raises:
        StorageError: the schema cannot be created.
    """

    def __init__(self, db: SQLiteDatabase) -> None:
        self._db = db
        db.apply_migrations("risk", RISK_MIGRATIONS)

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._db.lock:
                return self._db.connection.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"sqlite: reading risk data failed: {exc}") from exc

    def _insert(self, entity: str, key: str, sql: str, params: Sequence[Any]) -> None:
        try:
            with self._db.writing() as conn:
                conn.execute(sql, tuple(params))
        except Conflict as exc:
            raise Conflict(entity, key, f"a {entity} with this id exists") from exc

    # -- scorecards --------------------------------------------------------------------
    def add_scorecard(self, card: Scorecard) -> None:
        """Store a card version (see ``RiskRepository.add_scorecard``)."""
        check_instance(card, Scorecard, "card")
        self._insert("scorecard", f"{card.name} v{card.version}",
                     "INSERT INTO risk_scorecards VALUES (?, ?, ?)",
                     (card.name, card.version, _dump(card_to_doc(card))))

    def get_scorecard(self, name: str, version: int | None = None) -> Scorecard:
        """A stored card (see ``RiskRepository.get_scorecard``)."""
        if not isinstance(name, str):
            raise NotFound("scorecard", name)
        if version is None:
            rows = self._fetch("SELECT doc FROM risk_scorecards WHERE name = ? "
                               "ORDER BY version DESC LIMIT 1", (name,))
        else:
            if isinstance(version, bool) or not isinstance(version, int):
                raise NotFound("scorecard", (name, version))
            rows = self._fetch("SELECT doc FROM risk_scorecards WHERE name = ? AND version = ?",
                               (name, version))
        if not rows:
            raise NotFound("scorecard", name if version is None else (name, version))
        return card_from_doc(json.loads(rows[0][0]))

    def scorecards(self) -> list[Scorecard]:
        """Every card version, by name then version."""
        rows = self._fetch("SELECT doc FROM risk_scorecards ORDER BY name, version")
        return [card_from_doc(json.loads(r[0])) for r in rows]

    # -- score runs --------------------------------------------------------------------
    def add_score_run(self, run: ScoreRun) -> None:
        """Store a run (see ``RiskRepository.add_score_run``)."""
        check_instance(run, ScoreRun, "run")
        card = self.get_scorecard(run.card_name, run.card_version)
        check_run_fits(run, card)
        bins = np.ascontiguousarray(run.batch.bins, dtype="<i2")
        ids = run.customer_ids.tolist()
        scores = run.batch.scores.tolist()
        grades = run.batch.grade_codes.astype(np.int64).tolist()
        try:
            with self._db.writing() as conn:
                conn.execute("INSERT INTO risk_score_runs VALUES (?, ?, ?, ?, ?, ?)",
                             (run.id, run.card_name, run.card_version, run.as_of.isoformat(),
                              to_epoch_micros(run.as_of), len(ids)))
                for start in range(0, len(ids), _BATCH):
                    stop = min(start + _BATCH, len(ids))
                    conn.executemany(
                        "INSERT INTO risk_scores VALUES (?, ?, ?, ?, ?, ?)",
                        ((run.id, i, ids[i], scores[i], grades[i], bins[i].tobytes())
                         for i in range(start, stop)),
                    )
        except Conflict as exc:
            raise Conflict("score run", run.id, "a score run with this id exists") from exc

    def get_score_run(self, run_id: str) -> ScoreRun:
        """A stored run."""
        head = self._fetch("SELECT card_name, card_version, as_of FROM risk_score_runs "
                           "WHERE id = ?", (run_id,)) if isinstance(run_id, str) else []
        if not head:
            raise NotFound("score run", run_id)
        name, version, as_of = head[0]
        card = self.get_scorecard(name, version)
        rows = self._fetch("SELECT customer_id, score, grade, bins FROM risk_scores "
                           "WHERE run_id = ? ORDER BY seq", (run_id,))
        k = len(card.tables)
        bins = (np.frombuffer(b"".join(r[3] for r in rows), dtype="<i2").reshape(len(rows), k)
                if rows else np.zeros((0, k), dtype=np.int16))
        batch = ScoreBatch(
            scores=np.array([r[1] for r in rows], dtype=np.int64),
            grade_codes=np.array([r[2] for r in rows], dtype=np.int8),
            grades=tuple(g.grade for g in card.grades),
            bins=bins.astype(np.int16), features=card.features,
        )
        return ScoreRun(id=run_id, card_name=name, card_version=version,
                        as_of=datetime.fromisoformat(as_of),
                        customer_ids=np.array([r[0] for r in rows], dtype=object), batch=batch)

    def score_runs(self, card_name: str | None = None) -> list[ScoreRunInfo]:
        """Run headers by ``as_of`` then id."""
        check_optional_id("card_name", card_name)
        sql = "SELECT id FROM risk_score_runs"
        params: tuple[Any, ...] = ()
        if card_name is not None:
            sql += " WHERE card_name = ?"
            params = (card_name,)
        ids = [r[0] for r in self._fetch(sql + " ORDER BY as_of_us, id", params)]
        return [self._info(i) for i in ids]

    def _info(self, run_id: str) -> ScoreRunInfo:
        name, version, as_of, n = self._fetch(
            "SELECT card_name, card_version, as_of, customers FROM risk_score_runs "
            "WHERE id = ?", (run_id,))[0]
        card = self.get_scorecard(name, version)
        counts = dict(self._fetch("SELECT grade, count(*) FROM risk_scores WHERE run_id = ? "
                                  "GROUP BY grade", (run_id,)))
        return ScoreRunInfo(id=run_id, card_name=name, card_version=version,
                            as_of=datetime.fromisoformat(as_of), customers=n,
                            grades={g.grade: int(counts.get(i, 0))
                                    for i, g in enumerate(card.grades)})

    def score_history(self, customer_id: str) -> list[ScoreRecord]:
        """One customer's scores across runs."""
        check_optional_id("customer_id", customer_id)
        rows = self._fetch(
            "SELECT r.id, r.card_name, r.card_version, r.as_of, s.score, s.grade, s.bins "
            "FROM risk_scores s JOIN risk_score_runs r ON r.id = s.run_id "
            "WHERE s.customer_id = ? ORDER BY r.as_of_us, r.id", (customer_id,))
        out = []
        for run_id, name, version, as_of, score, grade, bins in rows:
            card = self.get_scorecard(name, version)
            out.append(ScoreRecord(
                run_id=run_id, card_name=name, card_version=version,
                as_of=datetime.fromisoformat(as_of), customer_id=customer_id, score=score,
                grade=card.grades[grade].grade,
                bins=tuple(int(b) for b in np.frombuffer(bins, dtype="<i2"))))
        return out

    # -- alerts ------------------------------------------------------------------------
    def add_alert(self, alert: Alert) -> None:
        """Store a new alert."""
        check_instance(alert, Alert, "alert")
        self._insert("alert", alert.id, "INSERT INTO risk_alerts VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (alert.id, alert.customer_id, alert.rule, alert.status.value,
                      to_epoch_micros(alert.raised_at), alert.version,
                      _dump(alert_to_doc(alert))))

    def update_alert(self, alert: Alert) -> None:
        """Save a changed alert."""
        check_instance(alert, Alert, "alert")
        with self._db.writing() as conn:
            stored = self.get_alert(alert.id)
            check_log_update("alert", stored, alert)
            conn.execute("UPDATE risk_alerts SET status = ?, version = ?, doc = ? "
                         "WHERE id = ? AND version = ?",
                         (alert.status.value, alert.version, _dump(alert_to_doc(alert)),
                          alert.id, stored.version))

    def get_alert(self, alert_id: str) -> Alert:
        """A stored alert."""
        rows = self._fetch("SELECT doc FROM risk_alerts WHERE id = ?", (alert_id,)) if (
            isinstance(alert_id, str)) else []
        if not rows:
            raise NotFound("alert", alert_id)
        return alert_from_doc(json.loads(rows[0][0]))

    def find_alerts(self, *, customer_id: str | None = None, rule: str | None = None,
                    statuses: Collection[AlertStatus] | None = None) -> list[Alert]:
        """Alerts matching the filters, by raising time then id."""
        check_optional_id("customer_id", customer_id)
        check_optional_id("rule", rule)
        wanted = check_alert_statuses(statuses)
        where, params = [], []
        if customer_id is not None:
            where.append("customer_id = ?")
            params.append(customer_id)
        if rule is not None:
            where.append("rule = ?")
            params.append(rule)
        if wanted is not None:
            if not wanted:
                return []
            where.append(f"status IN ({', '.join('?' * len(wanted))})")
            params.extend(sorted(s.value for s in wanted))
        sql = "SELECT doc FROM risk_alerts" + (" WHERE " + " AND ".join(where) if where else "")
        return [alert_from_doc(json.loads(r[0]))
                for r in self._fetch(sql + " ORDER BY raised_us, id", params)]

    # -- restrictions ------------------------------------------------------------------
    def add_restriction(self, restriction: Restriction) -> None:
        """Store a new restriction with its log."""
        r = check_instance(restriction, Restriction, "restriction")
        try:
            with self._db.writing() as conn:
                conn.execute("INSERT INTO risk_restrictions VALUES (?, ?, ?, ?, ?)",
                             (r.id, r.customer_id, to_epoch_micros(r.start), r.version,
                              _dump(restriction_to_doc(r))))
                conn.executemany("INSERT INTO risk_restriction_events VALUES (?, ?, ?)",
                                 [(r.id, i, _dump(restriction_entry_to_doc(e)))
                                  for i, e in enumerate(r.events)])
        except Conflict as exc:
            raise Conflict("restriction", r.id, "a restriction with this id exists") from exc

    def update_restriction(self, restriction: Restriction) -> None:
        """Save a changed restriction (log extended only)."""
        r = check_instance(restriction, Restriction, "restriction")
        with self._db.writing() as conn:
            stored = self.get_restriction(r.id)
            check_restriction_update(stored, r)
            conn.execute("UPDATE risk_restrictions SET version = ?, doc = ? "
                         "WHERE id = ? AND version = ?",
                         (r.version, _dump(restriction_to_doc(r)), r.id, stored.version))
            conn.executemany("INSERT INTO risk_restriction_events VALUES (?, ?, ?)",
                             [(r.id, i, _dump(restriction_entry_to_doc(r.events[i])))
                              for i in range(len(stored.events), len(r.events))])

    def get_restriction(self, restriction_id: str) -> Restriction:
        """A stored restriction with its whole log."""
        rows = self._fetch("SELECT doc FROM risk_restrictions WHERE id = ?",
                           (restriction_id,)) if isinstance(restriction_id, str) else []
        if not rows:
            raise NotFound("restriction", restriction_id)
        return self._restriction(restriction_id, rows[0][0])

    def _restriction(self, restriction_id: str, doc: str) -> Restriction:
        events = self._fetch("SELECT doc FROM risk_restriction_events WHERE restriction_id = ? "
                             "ORDER BY seq", (restriction_id,))
        return restriction_from_doc(json.loads(doc), [json.loads(e[0]) for e in events])

    def find_restrictions(self, *, customer_id: str | None = None) -> list[Restriction]:
        """Restrictions by start then id."""
        check_optional_id("customer_id", customer_id)
        sql = "SELECT id, doc FROM risk_restrictions"
        params: tuple[Any, ...] = ()
        if customer_id is not None:
            sql += " WHERE customer_id = ?"
            params = (customer_id,)
        return [self._restriction(i, d)
                for i, d in self._fetch(sql + " ORDER BY start_us, id", params)]

    # -- erasure (custmgmt.privacy.SubjectRedaction) -----------------------------------
    def redact_subject(self, customer_id: str, pseudonym: str) -> int:
        """Erase the statements and log reasons of the customer's appeals (in place,
        versions kept); the number changed. The restrictions' own audit trail is
        append-only and kept (see ``docs/privacy.md``)."""
        changed = 0
        with self._db.writing() as conn:
            rows = conn.execute(
                "SELECT a.id, a.doc FROM risk_appeals a JOIN risk_restrictions r"
                " ON r.id = a.restriction_id WHERE r.customer_id = ?", (customer_id,),
            ).fetchall()
            for appeal_id, doc in rows:
                redacted = redacted_appeal(appeal_from_doc(json.loads(doc)))
                if redacted is not None:
                    conn.execute("UPDATE risk_appeals SET doc = ? WHERE id = ?",
                                 (_dump(appeal_to_doc(redacted)), appeal_id))
                    changed += 1
        return changed

    # -- appeals -----------------------------------------------------------------------
    def add_appeal(self, appeal: Appeal) -> None:
        """Store a new appeal."""
        a = check_instance(appeal, Appeal, "appeal")
        with self._db.writing():
            check_appeal(a, self.get_restriction(a.restriction_id))
            self._insert("appeal", a.id, "INSERT INTO risk_appeals VALUES (?, ?, ?, ?, ?, ?)",
                         (a.id, a.restriction_id, a.status.value,
                          to_epoch_micros(a.submitted_at), a.version, _dump(appeal_to_doc(a))))

    def update_appeal(self, appeal: Appeal) -> None:
        """Save a changed appeal."""
        a = check_instance(appeal, Appeal, "appeal")
        with self._db.writing() as conn:
            stored = self.get_appeal(a.id)
            check_appeal_update(stored, a)
            check_appeal(a, self.get_restriction(a.restriction_id))
            conn.execute("UPDATE risk_appeals SET status = ?, version = ?, doc = ? "
                         "WHERE id = ? AND version = ?",
                         (a.status.value, a.version, _dump(appeal_to_doc(a)), a.id,
                          stored.version))

    def get_appeal(self, appeal_id: str) -> Appeal:
        """A stored appeal."""
        rows = self._fetch("SELECT doc FROM risk_appeals WHERE id = ?", (appeal_id,)) if (
            isinstance(appeal_id, str)) else []
        if not rows:
            raise NotFound("appeal", appeal_id)
        return appeal_from_doc(json.loads(rows[0][0]))

    def find_appeals(self, *, restriction_id: str | None = None,
                     statuses: Collection[AppealStatus] | None = None) -> list[Appeal]:
        """Appeals by submission then id."""
        check_optional_id("restriction_id", restriction_id)
        wanted = check_appeal_statuses(statuses)
        where, params = [], []
        if restriction_id is not None:
            where.append("restriction_id = ?")
            params.append(restriction_id)
        if wanted is not None:
            if not wanted:
                return []
            where.append(f"status IN ({', '.join('?' * len(wanted))})")
            params.extend(sorted(s.value for s in wanted))
        sql = "SELECT doc FROM risk_appeals" + (" WHERE " + " AND ".join(where) if where else "")
        return [appeal_from_doc(json.loads(r[0]))
                for r in self._fetch(sql + " ORDER BY submitted_us, id", params)]
