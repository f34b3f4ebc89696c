"""The risk repository over a SQL database, shared by the SQLite and PostgreSQL adapters.

Both stores keep the same tables (scorecards, score runs and their scores, alerts,
restrictions with their append-only logs, appeals), write the same JSON documents
(compact text, so every value comes back exactly) and run the same queries; what
differs is the dialect: how an instant is stored (microseconds in SQLite, with a run's
``as_of`` also kept as ISO text; ``timestamptz`` plus the UTC offset in PostgreSQL), the
parameter style, how a status filter is written (``IN (...)`` or ``= ANY(...)``), how
many rows are written at once (``executemany`` or ``COPY``), the row locks PostgreSQL
takes where SQLite's single writer needs none, and how a read reports a driver error
or a stored document that no longer decodes. :class:`SqlRiskRepository` holds the
queries and the decoding once; each adapter's subclass supplies those hooks and its
migrations.

SQL below is written with ``?`` placeholders and ``{run_time}`` / ``{raised}`` /
``{start}`` / ``{submitted}`` / ``{as_of_columns}`` for the stored instant columns;
:meth:`~custmgmt.adapters._sql_queries.SqlQueries._q` turns it into the dialect's
text.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, ClassVar, Final, TypeVar

import numpy as np

from custmgmt.adapters._redaction import redacted_alert, redacted_appeal
from custmgmt.adapters._risk_rows import (
    alert_from_doc,
    alert_to_doc,
    appeal_from_doc,
    appeal_to_doc,
    card_from_doc,
    card_to_doc,
    check_alert_statuses,
    check_alert_update,
    check_appeal,
    check_appeal_statuses,
    check_appeal_update,
    check_instance,
    check_optional_id,
    check_restriction_update,
    check_run_fits,
    restriction_entry_to_doc,
    restriction_from_doc,
    restriction_to_doc,
)
from custmgmt.adapters._sql_queries import SqlQueries
from custmgmt.errors import Conflict, CustMgmtError, NotFound, StorageError
from custmgmt.risk.alerts import Alert, AlertStatus
from custmgmt.risk.history import ScoreRecord, ScoreRun, ScoreRunInfo
from custmgmt.risk.restrictions import Appeal, AppealStatus, Restriction
from custmgmt.risk.scorecard import ScoreBatch, Scorecard

__all__ = ["SqlRiskRepository", "risk_json"]

#: Scores written per batch of a run.
_BATCH: Final = 50_000
_SCORE_COLUMNS: Final = "run_id, seq, customer_id, score, grade, bins"
_EVENT_COLUMNS: Final = "restriction_id, seq, doc"

Row = tuple[Any, ...]
T = TypeVar("T")


def risk_json(doc: dict[str, Any]) -> str:
    """A risk document as the stored JSON text (compact, any script kept as it is)."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


class SqlRiskRepository(SqlQueries):
    """Scorecards, score runs, alerts, restrictions and appeals in a SQL store (see
    :class:`custmgmt.risk.ports.RiskRepository`); subclasses name the dialect, the
    stored instant columns (``run_time``, ``raised``, ``start``, ``submitted``) and the
    two columns a run's ``as_of`` is written to (``as_of_columns``).

    Writes go through the store's ``writing()``, so they join its transaction and a
    failure writes nothing.
    """

    #: The card versions a query can name (None: any integer goes to the driver).
    version_range: ClassVar[tuple[int, int] | None] = None
    #: What decoding a stored document may raise that is reported as a StorageError.
    decode_errors: ClassVar[tuple[type[Exception], ...]] = (
        CustMgmtError, ValueError, TypeError, KeyError, IndexError,
    )  # fmt: skip
    #: Appended to the SELECT of the appeals that a redaction rewrites.
    appeal_lock: ClassVar[str] = ""
    #: What ends the query that reads the alerts an erasure rewrites (the row lock).
    alert_lock: ClassVar[str] = ""

    # -- the dialect's hooks -----------------------------------------------------------
    @abstractmethod
    def _reading(self) -> AbstractContextManager[Any]:
        """A block whose reads see one state of the tables."""

    @abstractmethod
    def _copy_rows(self, conn: Any, table: str, columns: str, rows: Iterable[Row]) -> None:
        """Insert many rows at once inside the open write (a run's scores)."""

    @abstractmethod
    def _execute_many(self, conn: Any, sql: str, rows: Sequence[Row]) -> None:
        """Run one statement (in the dialect's text) for each of ``rows``."""

    @abstractmethod
    def _instant(self, value: datetime) -> Any:
        """The stored form of an instant (a query parameter)."""

    @abstractmethod
    def _as_of_values(self, as_of: datetime) -> tuple[Any, Any]:
        """A run's ``as_of`` as the values of its two ``as_of_columns``."""

    @abstractmethod
    def _as_of_select(self, prefix: str = "") -> str:
        """The columns a run's ``as_of`` is read from (the run table's alias first)."""

    @abstractmethod
    def _as_of(self, values: Sequence[Any]) -> datetime:
        """A run's ``as_of`` from the columns :meth:`_as_of_select` names."""

    @abstractmethod
    def _status_in(self, column: str, values: list[str]) -> tuple[str, list[Any]]:
        """A condition that ``column`` is one of ``values`` (with ``?``), and its
        parameters."""

    def _stored_doc(self, conn: Any, table: str, key: str, entity: str, lock: str) -> Any:
        """The document of row ``key`` in ``table`` (NotFound: none), for the open write
        that depends on it; a dialect with row locks locks it ``FOR lock`` (``UPDATE``,
        ``SHARE``) until the write ends. By default a plain read (SQLite has one writer
        at a time)."""
        return self._doc(table, key, entity)

    def _doc(self, table: str, key: Any, entity: str) -> Any:
        """The stored document of row ``key`` in ``table`` (NotFound: none)."""
        rows = self._fetch(
            self._q(f"SELECT doc FROM {table} WHERE id = ?"), (key,)
        ) if isinstance(key, str) else []
        if not rows:
            raise NotFound(entity, key)
        return rows[0][0]

    def _decode(self, decode: Callable[[Any], T], doc: str) -> T:
        """``decode`` of the parsed JSON ``doc``; a document that no longer decodes is a
        StorageError (where the dialect's ``decode_errors`` say so)."""
        try:
            return decode(json.loads(doc))
        except self.decode_errors as exc:
            # It was valid when written: something else changed the database.
            raise StorageError(
                f"{self.dialect}: a stored risk document is not valid any more: {exc}"
            ) from exc

    def _insert(self, entity: str, key: str, sql: str, params: Sequence[Any]) -> None:
        try:
            with self._store.writing() as conn:
                conn.execute(self._q(sql), tuple(params))
        except Conflict as exc:
            raise Conflict(entity, key, f"a {entity} with this id exists") from exc

    # -- scorecards --------------------------------------------------------------------
    def add_scorecard(self, card: Scorecard) -> None:
        """Store a card version (see ``RiskRepository.add_scorecard``)."""
        check_instance(card, Scorecard, "card")
        self._insert("scorecard", f"{card.name} v{card.version}",
                     "INSERT INTO risk_scorecards (name, version, doc) VALUES (?, ?, ?)",
                     (card.name, card.version, risk_json(card_to_doc(card))))

    def get_scorecard(self, name: str, version: int | None = None) -> Scorecard:
        """A stored card (see ``RiskRepository.get_scorecard``)."""
        if not isinstance(name, str):
            raise NotFound("scorecard", name)
        if version is None:
            rows = self._fetch(self._q("SELECT doc FROM risk_scorecards WHERE name = ? "
                                       "ORDER BY version DESC LIMIT 1"), (name,))
        else:
            if isinstance(version, bool) or not isinstance(version, int) or (
                    self.version_range is not None
                    and not self.version_range[0] <= version < self.version_range[1]):
                raise NotFound("scorecard", (name, version))
            rows = self._fetch(
                self._q("SELECT doc FROM risk_scorecards WHERE name = ? AND version = ?"),
                (name, version),
            )
        if not rows:
            raise NotFound("scorecard", name if version is None else (name, version))
        return self._decode(card_from_doc, rows[0][0])

    def scorecards(self) -> list[Scorecard]:
        """Every card version, by name then version."""
        rows = self._fetch("SELECT doc FROM risk_scorecards ORDER BY name, version")
        return [self._decode(card_from_doc, r[0]) for r in rows]

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
            with self._store.writing() as conn:
                conn.execute(
                    self._q("INSERT INTO risk_score_runs (id, card_name, card_version, "
                            "{as_of_columns}, customers) VALUES (?, ?, ?, ?, ?, ?)"),
                    (run.id, run.card_name, run.card_version, *self._as_of_values(run.as_of),
                     len(ids)),
                )
                for start in range(0, len(ids), _BATCH):
                    stop = min(start + _BATCH, len(ids))
                    self._copy_rows(conn, "risk_scores", _SCORE_COLUMNS,
                                    ((run.id, i, ids[i], scores[i], grades[i], bins[i].tobytes())
                                     for i in range(start, stop)))
        except Conflict as exc:
            raise Conflict("score run", run.id, "a score run with this id exists") from exc

    def _run_head(self, run_id: str) -> Row | None:
        """(card name, card version, customers, then the ``as_of`` columns)."""
        rows = self._fetch(
            self._q(f"SELECT card_name, card_version, customers, {self._as_of_select()} "
                    "FROM risk_score_runs WHERE id = ?"),
            (run_id,),
        )
        return rows[0] if rows else None

    def get_score_run(self, run_id: str) -> ScoreRun:
        """A stored run."""
        head = self._run_head(run_id) if isinstance(run_id, str) else None
        if head is None:
            raise NotFound("score run", run_id)
        name, version = head[0], head[1]
        card = self.get_scorecard(name, version)
        rows = self._fetch(self._q("SELECT customer_id, score, grade, bins FROM risk_scores "
                                   "WHERE run_id = ? ORDER BY seq"), (run_id,))
        k = len(card.tables)
        bins = (np.frombuffer(b"".join(bytes(r[3]) for r in rows), dtype="<i2")
                .reshape(len(rows), k) if rows else np.zeros((0, k), dtype=np.int16))
        batch = ScoreBatch(
            scores=np.array([r[1] for r in rows], dtype=np.int64),
            grade_codes=np.array([r[2] for r in rows], dtype=np.int8),
            grades=tuple(g.grade for g in card.grades),
            bins=bins.astype(np.int16), features=card.features,
        )
        ids = np.empty(len(rows), dtype=object)
        ids[:] = [r[0] for r in rows]
        return ScoreRun(id=run_id, card_name=name, card_version=version,
                        as_of=self._as_of(head[3:]), customer_ids=ids, batch=batch)

    def score_runs(self, card_name: str | None = None) -> list[ScoreRunInfo]:
        """Run headers by ``as_of`` then id."""
        check_optional_id("card_name", card_name)
        sql = "SELECT id FROM risk_score_runs"
        params: tuple[Any, ...] = ()
        if card_name is not None:
            sql += " WHERE card_name = ?"
            params = (card_name,)
        ids = [r[0] for r in self._fetch(self._q(sql + " ORDER BY {run_time}, id"), params)]
        return [self._info(i) for i in ids]

    def _info(self, run_id: str) -> ScoreRunInfo:
        head = self._run_head(run_id)
        assert head is not None
        name, version, n = head[0], head[1], head[2]
        card = self.get_scorecard(name, version)
        counts = {int(g): int(c) for g, c in self._fetch(
            self._q("SELECT grade, count(*) FROM risk_scores WHERE run_id = ? GROUP BY grade"),
            (run_id,))}
        return ScoreRunInfo(id=run_id, card_name=name, card_version=version,
                            as_of=self._as_of(head[3:]), customers=int(n),
                            grades={g.grade: counts.get(i, 0)
                                    for i, g in enumerate(card.grades)})

    def score_history(self, customer_id: str) -> list[ScoreRecord]:
        """One customer's scores across runs."""
        check_optional_id("customer_id", customer_id)
        rows = self._fetch(
            self._q("SELECT r.id, r.card_name, r.card_version, s.score, s.grade, s.bins, "
                    f"{self._as_of_select('r.')} FROM risk_scores s JOIN risk_score_runs r "
                    "ON r.id = s.run_id WHERE s.customer_id = ? ORDER BY r.{run_time}, r.id"),
            (customer_id,))
        out = []
        for row in rows:
            run_id, name, version, score, grade, bins = row[:6]
            card = self.get_scorecard(name, version)
            out.append(ScoreRecord(
                run_id=run_id, card_name=name, card_version=version,
                as_of=self._as_of(row[6:]), customer_id=customer_id,
                score=int(score), grade=card.grades[grade].grade,
                bins=tuple(int(b) for b in np.frombuffer(bytes(bins), dtype="<i2"))))
        return out

    # -- alerts ------------------------------------------------------------------------
    def add_alert(self, alert: Alert) -> None:
        """Store a new alert."""
        check_instance(alert, Alert, "alert")
        self._insert("alert", alert.id,
                     "INSERT INTO risk_alerts (id, customer_id, rule, status, {raised}, "
                     "version, doc) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (alert.id, alert.customer_id, alert.rule, alert.status.value,
                      self._instant(alert.raised_at), alert.version,
                      risk_json(alert_to_doc(alert))))

    def update_alert(self, alert: Alert) -> None:
        """Save a changed alert (its row locked while it is checked and written)."""
        check_instance(alert, Alert, "alert")
        with self._store.writing() as conn:
            stored = self._decode(alert_from_doc, self._stored_doc(
                conn, "risk_alerts", alert.id, "alert", "UPDATE"))
            check_alert_update(stored, alert)
            conn.execute(self._q("UPDATE risk_alerts SET status = ?, version = ?, doc = ? "
                                 "WHERE id = ? AND version = ?"),
                         (alert.status.value, alert.version, risk_json(alert_to_doc(alert)),
                          alert.id, stored.version))

    def get_alert(self, alert_id: str) -> Alert:
        """A stored alert."""
        return self._decode(alert_from_doc, self._doc("risk_alerts", alert_id, "alert"))

    def find_alerts(self, *, customer_id: str | None = None, rule: str | None = None,
                    statuses: Collection[AlertStatus] | None = None) -> list[Alert]:
        """Alerts matching the filters, by raising time then id."""
        check_optional_id("customer_id", customer_id)
        check_optional_id("rule", rule)
        rows = self._find("risk_alerts", {"customer_id": customer_id, "rule": rule},
                          check_alert_statuses(statuses), "{raised}")
        return [self._decode(alert_from_doc, r[0]) for r in rows]

    def _find(self, table: str, equal: dict[str, str | None],
              wanted: Collection[AlertStatus | AppealStatus] | None, time: str) -> list[Row]:
        """The documents of ``table`` whose columns equal the ``equal`` values that are
        not None and whose status is ``wanted`` (None: any), by ``time`` then id."""
        if wanted is not None and not wanted:
            return []
        where = [f"{column} = ?" for column, value in equal.items() if value is not None]
        params: list[Any] = [value for value in equal.values() if value is not None]
        if wanted is not None:
            condition, values = self._status_in("status", sorted(s.value for s in wanted))
            where.append(condition)
            params.extend(values)
        sql = f"SELECT doc FROM {table}" + (" WHERE " + " AND ".join(where) if where else "")
        return self._fetch(self._q(f"{sql} ORDER BY {time}, id"), params)

    # -- restrictions ------------------------------------------------------------------
    def add_restriction(self, restriction: Restriction) -> None:
        """Store a new restriction with its log."""
        r = check_instance(restriction, Restriction, "restriction")
        try:
            with self._store.writing() as conn:
                conn.execute(
                    self._q("INSERT INTO risk_restrictions (id, customer_id, {start}, version, "
                            "doc) VALUES (?, ?, ?, ?, ?)"),
                    (r.id, r.customer_id, self._instant(r.start), r.version,
                     risk_json(restriction_to_doc(r))),
                )
                self._append_events(conn, r, 0)
        except Conflict as exc:
            raise Conflict("restriction", r.id, "a restriction with this id exists") from exc

    def _append_events(self, conn: Any, r: Restriction, start: int) -> None:
        if start < len(r.events):
            self._execute_many(
                conn, self._q(f"INSERT INTO risk_restriction_events ({_EVENT_COLUMNS}) "
                              "VALUES (?, ?, ?)"),
                [(r.id, i, risk_json(restriction_entry_to_doc(r.events[i])))
                 for i in range(start, len(r.events))],
            )

    def update_restriction(self, restriction: Restriction) -> None:
        """Save a changed restriction (log extended only; its row locked while it is
        checked and written)."""
        r = check_instance(restriction, Restriction, "restriction")
        with self._store.writing() as conn:
            doc = self._stored_doc(conn, "risk_restrictions", r.id, "restriction", "UPDATE")
            stored = self._restriction(r.id, doc)
            check_restriction_update(stored, r)
            conn.execute(self._q("UPDATE risk_restrictions SET version = ?, doc = ? "
                                 "WHERE id = ? AND version = ?"),
                         (r.version, risk_json(restriction_to_doc(r)), r.id, stored.version))
            self._append_events(conn, r, len(stored.events))

    def get_restriction(self, restriction_id: str) -> Restriction:
        """A stored restriction with its whole log."""
        doc = self._doc("risk_restrictions", restriction_id, "restriction")
        return self._restriction(restriction_id, doc)

    def _restriction(self, restriction_id: str, doc: Any) -> Restriction:
        events = self._fetch(self._q("SELECT doc FROM risk_restriction_events "
                                     "WHERE restriction_id = ? ORDER BY seq"), (restriction_id,))
        return self._decode(
            lambda d: restriction_from_doc(d, [json.loads(e[0]) for e in events]), doc
        )

    def find_restrictions(self, *, customer_id: str | None = None) -> list[Restriction]:
        """Restrictions by start then id."""
        check_optional_id("customer_id", customer_id)
        sql = "SELECT id, doc FROM risk_restrictions"
        params: tuple[Any, ...] = ()
        if customer_id is not None:
            sql += " WHERE customer_id = ?"
            params = (customer_id,)
        with self._reading():  # the restrictions and their logs: one state
            return [self._restriction(i, d)
                    for i, d in self._fetch(self._q(sql + " ORDER BY {start}, id"), params)]

    # -- erasure (custmgmt.privacy.SubjectRedaction) -----------------------------------
    def redact_subject(self, customer_id: str, pseudonym: str) -> int:
        """Erase the statements and log reasons of the customer's appeals and the
        notes in their alerts' logs (in place, versions kept); the number changed.
        The restrictions' own audit trail is append-only and kept (see
        ``docs/privacy.md``)."""
        changed = 0
        with self._store.writing() as conn:
            rows = conn.execute(
                self._q("SELECT a.id, a.doc FROM risk_appeals a JOIN risk_restrictions r"
                        " ON r.id = a.restriction_id WHERE r.customer_id = ?"
                        + self.appeal_lock),
                (customer_id,),
            ).fetchall()
            for appeal_id, doc in rows:
                redacted = redacted_appeal(self._decode(appeal_from_doc, doc))
                if redacted is not None:
                    conn.execute(self._q("UPDATE risk_appeals SET doc = ? WHERE id = ?"),
                                 (risk_json(appeal_to_doc(redacted)), appeal_id))
                    changed += 1
            alerts = conn.execute(
                self._q("SELECT id, doc FROM risk_alerts WHERE customer_id = ?"
                        + self.alert_lock),
                (customer_id,),
            ).fetchall()
            for alert_id, doc in alerts:
                alert = redacted_alert(self._decode(alert_from_doc, doc))
                if alert is not None:
                    conn.execute(self._q("UPDATE risk_alerts SET doc = ? WHERE id = ?"),
                                 (risk_json(alert_to_doc(alert)), alert_id))
                    changed += 1
        return changed

    # -- appeals -----------------------------------------------------------------------
    def add_appeal(self, appeal: Appeal) -> None:
        """Store a new appeal (its restriction locked against change while the appeal
        is checked against it)."""
        a = check_instance(appeal, Appeal, "appeal")
        with self._store.writing() as conn:
            doc = self._stored_doc(conn, "risk_restrictions", a.restriction_id, "restriction",
                                   "SHARE")
            check_appeal(a, self._restriction(a.restriction_id, doc))
            self._insert("appeal", a.id,
                         "INSERT INTO risk_appeals (id, restriction_id, status, {submitted}, "
                         "version, doc) VALUES (?, ?, ?, ?, ?, ?)",
                         (a.id, a.restriction_id, a.status.value, self._instant(a.submitted_at),
                          a.version, risk_json(appeal_to_doc(a))))

    def update_appeal(self, appeal: Appeal) -> None:
        """Save a changed appeal (its row locked, and its restriction's against change,
        while it is checked and written)."""
        a = check_instance(appeal, Appeal, "appeal")
        with self._store.writing() as conn:
            stored = self._decode(appeal_from_doc, self._stored_doc(
                conn, "risk_appeals", a.id, "appeal", "UPDATE"))
            check_appeal_update(stored, a)
            doc = self._stored_doc(conn, "risk_restrictions", a.restriction_id, "restriction",
                                   "SHARE")
            check_appeal(a, self._restriction(a.restriction_id, doc))
            conn.execute(self._q("UPDATE risk_appeals SET status = ?, version = ?, doc = ? "
                                 "WHERE id = ? AND version = ?"),
                         (a.status.value, a.version, risk_json(appeal_to_doc(a)), a.id,
                          stored.version))

    def get_appeal(self, appeal_id: str) -> Appeal:
        """A stored appeal."""
        return self._decode(appeal_from_doc, self._doc("risk_appeals", appeal_id, "appeal"))

    def find_appeals(self, *, restriction_id: str | None = None,
                     statuses: Collection[AppealStatus] | None = None) -> list[Appeal]:
        """Appeals by submission then id."""
        check_optional_id("restriction_id", restriction_id)
        rows = self._find("risk_appeals", {"restriction_id": restriction_id},
                          check_appeal_statuses(statuses), "{submitted}")
        return [self._decode(appeal_from_doc, r[0]) for r in rows]
