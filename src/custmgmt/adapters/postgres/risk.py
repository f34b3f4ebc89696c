"""Risk data in PostgreSQL (see :class:`custmgmt.risk.ports.RiskRepository`).

Tables owned by the component ``"risk"``, the same as the SQLite store's:
``risk_scorecards`` (one document per card version), ``risk_score_runs`` and
``risk_scores`` (one row per customer and run: score, grade code and the feature bins
as a little-endian int16 ``bytea``, so a stored score can be re-explained),
``risk_alerts`` and ``risk_appeals`` (indexed columns plus the document),
``risk_restrictions`` and ``risk_restriction_events``: a restriction's log is one row
per entry. Documents are JSON text written as the SQLite store writes it (``text``,
not ``jsonb``: an alert value may be NaN or a float ``jsonb`` would reformat), so
every value comes back exactly; instants are ``timestamptz`` plus the original UTC
offset.

The audit trail is append-only in the database itself: triggers refuse to change or
delete a log row and to delete a restriction (``TRUNCATE`` too), whoever sends the
statement. Updates lock the row they change (``SELECT ... FOR UPDATE``) and check the
version and that the new log extends the stored one; storing an appeal locks its
restriction (``FOR SHARE``) while it checks that an overturned appeal's restriction
is lifted, so that check cannot race a concurrent change of the restriction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from typing import Any, Final, TypeVar

import numpy as np

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
from custmgmt.adapters.postgres.codecs import datetime_of, when
from custmgmt.adapters.postgres.database import Connection, PostgresDatabase
from custmgmt.adapters.postgres.repository import copy_rows
from custmgmt.adapters.postgres.schema import Migration, micros
from custmgmt.errors import Conflict, CustMgmtError, NotFound, StorageError, ValidationError
from custmgmt.risk.alerts import Alert, AlertStatus
from custmgmt.risk.history import ScoreRecord, ScoreRun, ScoreRunInfo
from custmgmt.risk.restrictions import Appeal, AppealStatus, Restriction
from custmgmt.risk.scorecard import ScoreBatch, Scorecard

__all__ = ["RISK_MIGRATIONS", "PostgresRiskRepository"]

_V1 = """
CREATE TABLE risk_scorecards (
    name text COLLATE "C" NOT NULL, version integer NOT NULL, doc text NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE risk_score_runs (
    id text COLLATE "C" PRIMARY KEY, card_name text COLLATE "C" NOT NULL,
    card_version integer NOT NULL, as_of timestamptz NOT NULL, as_of_off integer NOT NULL,
    customers bigint NOT NULL
);
CREATE TABLE risk_scores (
    run_id text COLLATE "C" NOT NULL REFERENCES risk_score_runs (id), seq integer NOT NULL,
    customer_id text COLLATE "C" NOT NULL, score bigint NOT NULL, grade smallint NOT NULL,
    bins bytea NOT NULL, PRIMARY KEY (run_id, seq)
);
CREATE INDEX risk_scores_by_customer ON risk_scores (customer_id);
CREATE TABLE risk_alerts (
    id text COLLATE "C" PRIMARY KEY, customer_id text COLLATE "C" NOT NULL,
    rule text COLLATE "C" NOT NULL, status text NOT NULL, raised_at timestamptz NOT NULL,
    version bigint NOT NULL, doc text NOT NULL
);
CREATE INDEX risk_alerts_by_customer ON risk_alerts (customer_id, rule);
CREATE TABLE risk_restrictions (
    id text COLLATE "C" PRIMARY KEY, customer_id text COLLATE "C" NOT NULL,
    start_at timestamptz NOT NULL, version bigint NOT NULL, doc text NOT NULL
);
CREATE INDEX risk_restrictions_by_customer ON risk_restrictions (customer_id);
CREATE TABLE risk_restriction_events (
    restriction_id text COLLATE "C" NOT NULL REFERENCES risk_restrictions (id),
    seq integer NOT NULL, doc text NOT NULL, PRIMARY KEY (restriction_id, seq)
);
CREATE FUNCTION risk_audit_trail_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a restriction audit trail is append-only (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER risk_restriction_events_keep BEFORE UPDATE OR DELETE ON risk_restriction_events
    FOR EACH ROW EXECUTE FUNCTION risk_audit_trail_is_append_only();
CREATE TRIGGER risk_restriction_events_no_truncate BEFORE TRUNCATE ON risk_restriction_events
    FOR EACH STATEMENT EXECUTE FUNCTION risk_audit_trail_is_append_only();
CREATE TRIGGER risk_restrictions_keep BEFORE DELETE ON risk_restrictions
    FOR EACH ROW EXECUTE FUNCTION risk_audit_trail_is_append_only();
CREATE TRIGGER risk_restrictions_no_truncate BEFORE TRUNCATE ON risk_restrictions
    FOR EACH STATEMENT EXECUTE FUNCTION risk_audit_trail_is_append_only();
CREATE TABLE risk_appeals (
    id text COLLATE "C" PRIMARY KEY,
    restriction_id text COLLATE "C" NOT NULL REFERENCES risk_restrictions (id),
    status text NOT NULL, submitted_at timestamptz NOT NULL, version bigint NOT NULL,
    doc text NOT NULL
);
CREATE INDEX risk_appeals_by_restriction ON risk_appeals (restriction_id);
"""

#: The risk schema's migrations, applied in order under the component ``"risk"``.
RISK_MIGRATIONS: Final[tuple[Migration, ...]] = (_V1,)

_BATCH: Final = 50_000

Row = tuple[Any, ...]
T = TypeVar("T")


def _json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


class PostgresRiskRepository:
    """Risk data in a :class:`~custmgmt.adapters.postgres.PostgresStore`, in its transactions.

    Creating it applies the risk migrations. Writes go through
    :meth:`PostgresStore.writing`, so they join the store's transaction and commit or
    roll back with the store's other writes.

    Args:
        db: the store's database (``store.risk``).

    Raises:
        StorageError: the schema cannot be created.
    """

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db
        db.apply_migrations("risk", RISK_MIGRATIONS)

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            return self._db.fetch(sql, params, doing="reading risk data")
        except UnicodeEncodeError as exc:  # a lone surrogate: no stored id has one
            raise ValidationError("id", exc.object, "valid Unicode text") from None

    def _insert(self, entity: str, key: str, sql: str, params: Sequence[Any]) -> None:
        try:
            with self._db.writing() as conn:
                conn.execute(sql, tuple(params))
        except Conflict as exc:
            raise Conflict(entity, key, f"a {entity} with this id exists") from exc

    @staticmethod
    def _locked_doc(conn: Connection, table: str, key: str, entity: str, lock: str) -> Any:
        """The stored document of ``key`` in ``table``, its row locked ``FOR lock``."""
        row = conn.execute(f"SELECT doc FROM {table} WHERE id = %s FOR {lock}", (key,)).fetchone()
        if row is None:
            raise NotFound(entity, key)
        return row[0]

    # -- scorecards --------------------------------------------------------------------
    def add_scorecard(self, card: Scorecard) -> None:
        """Store a card version (see ``RiskRepository.add_scorecard``)."""
        check_instance(card, Scorecard, "card")
        self._insert("scorecard", f"{card.name} v{card.version}",
                     "INSERT INTO risk_scorecards (name, version, doc) VALUES (%s, %s, %s)",
                     (card.name, card.version, _json(card_to_doc(card))))

    def get_scorecard(self, name: str, version: int | None = None) -> Scorecard:
        """A stored card (see ``RiskRepository.get_scorecard``)."""
        if not isinstance(name, str):
            raise NotFound("scorecard", name)
        if version is None:
            rows = self._fetch("SELECT doc FROM risk_scorecards WHERE name = %s "
                               "ORDER BY version DESC LIMIT 1", (name,))
        else:
            if isinstance(version, bool) or not isinstance(version, int) or not (
                    -2**31 <= version < 2**31):
                raise NotFound("scorecard", (name, version))
            rows = self._fetch("SELECT doc FROM risk_scorecards WHERE name = %s AND version = %s",
                               (name, version))
        if not rows:
            raise NotFound("scorecard", name if version is None else (name, version))
        return _decode(card_from_doc, rows[0][0])

    def scorecards(self) -> list[Scorecard]:
        """Every card version, by name then version."""
        rows = self._fetch("SELECT doc FROM risk_scorecards ORDER BY name, version")
        return [_decode(card_from_doc, r[0]) for r in rows]

    # -- score runs --------------------------------------------------------------------
    def add_score_run(self, run: ScoreRun) -> None:
        """Store a run (see ``RiskRepository.add_score_run``): its scores by ``COPY``."""
        check_instance(run, ScoreRun, "run")
        card = self.get_scorecard(run.card_name, run.card_version)
        check_run_fits(run, card)
        bins = np.ascontiguousarray(run.batch.bins, dtype="<i2")
        ids = run.customer_ids.tolist()
        scores = run.batch.scores.tolist()
        grades = run.batch.grade_codes.astype(np.int64).tolist()
        try:
            with self._db.writing() as conn:
                conn.execute("INSERT INTO risk_score_runs (id, card_name, card_version, as_of, "
                             "as_of_off, customers) VALUES (%s, %s, %s, %s, %s, %s)",
                             (run.id, run.card_name, run.card_version, *when(run.as_of),
                              len(ids)))
                for start in range(0, len(ids), _BATCH):
                    stop = min(start + _BATCH, len(ids))
                    copy_rows(conn, "risk_scores", "run_id, seq, customer_id, score, grade, bins",
                              ((run.id, i, ids[i], scores[i], grades[i], bins[i].tobytes())
                               for i in range(start, stop)))
        except Conflict as exc:
            raise Conflict("score run", run.id, "a score run with this id exists") from exc

    def _run_head(self, run_id: str) -> Row | None:
        rows = self._fetch(f"SELECT card_name, card_version, {micros('as_of')}, as_of_off, "
                           "customers FROM risk_score_runs WHERE id = %s", (run_id,))
        return rows[0] if rows else None

    def get_score_run(self, run_id: str) -> ScoreRun:
        """A stored run."""
        head = self._run_head(run_id) if isinstance(run_id, str) else None
        if head is None:
            raise NotFound("score run", run_id)
        name, version, as_of_us, as_of_off, _ = head
        card = self.get_scorecard(name, version)
        rows = self._fetch("SELECT customer_id, score, grade, bins FROM risk_scores "
                           "WHERE run_id = %s ORDER BY seq", (run_id,))
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
                        as_of=datetime_of(as_of_us, as_of_off), customer_ids=ids, batch=batch)

    def score_runs(self, card_name: str | None = None) -> list[ScoreRunInfo]:
        """Run headers by ``as_of`` then id."""
        check_optional_id("card_name", card_name)
        sql = "SELECT id FROM risk_score_runs"
        params: tuple[Any, ...] = ()
        if card_name is not None:
            sql += " WHERE card_name = %s"
            params = (card_name,)
        ids = [r[0] for r in self._fetch(sql + " ORDER BY as_of, id", params)]
        return [self._info(i) for i in ids]

    def _info(self, run_id: str) -> ScoreRunInfo:
        head = self._run_head(run_id)
        assert head is not None
        name, version, as_of_us, as_of_off, n = head
        card = self.get_scorecard(name, version)
        counts = {int(g): int(c) for g, c in self._fetch(
            "SELECT grade, count(*) FROM risk_scores WHERE run_id = %s GROUP BY grade",
            (run_id,))}
        return ScoreRunInfo(id=run_id, card_name=name, card_version=version,
                            as_of=datetime_of(as_of_us, as_of_off), customers=int(n),
                            grades={g.grade: counts.get(i, 0)
                                    for i, g in enumerate(card.grades)})

    def score_history(self, customer_id: str) -> list[ScoreRecord]:
        """One customer's scores across runs."""
        check_optional_id("customer_id", customer_id)
        rows = self._fetch(
            f"SELECT r.id, r.card_name, r.card_version, {micros('r.as_of')}, r.as_of_off, "
            "s.score, s.grade, s.bins FROM risk_scores s JOIN risk_score_runs r "
            "ON r.id = s.run_id WHERE s.customer_id = %s ORDER BY r.as_of, r.id",
            (customer_id,))
        out = []
        for run_id, name, version, as_of_us, as_of_off, score, grade, bins in rows:
            card = self.get_scorecard(name, version)
            out.append(ScoreRecord(
                run_id=run_id, card_name=name, card_version=version,
                as_of=datetime_of(as_of_us, as_of_off), customer_id=customer_id,
                score=int(score), grade=card.grades[grade].grade,
                bins=tuple(int(b) for b in np.frombuffer(bytes(bins), dtype="<i2"))))
        return out

    # -- alerts ------------------------------------------------------------------------
    def add_alert(self, alert: Alert) -> None:
        """Store a new alert."""
        check_instance(alert, Alert, "alert")
        self._insert("alert", alert.id,
                     "INSERT INTO risk_alerts (id, customer_id, rule, status, raised_at, "
                     "version, doc) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                     (alert.id, alert.customer_id, alert.rule, alert.status.value,
                      alert.raised_at, alert.version, _json(alert_to_doc(alert))))

    def update_alert(self, alert: Alert) -> None:
        """Save a changed alert."""
        check_instance(alert, Alert, "alert")
        with self._db.writing() as conn:
            stored = _decode(alert_from_doc, self._locked_doc(
                conn, "risk_alerts", alert.id, "alert", "UPDATE"))
            check_log_update("alert", stored, alert)
            conn.execute("UPDATE risk_alerts SET status = %s, version = %s, doc = %s "
                         "WHERE id = %s AND version = %s",
                         (alert.status.value, alert.version, _json(alert_to_doc(alert)),
                          alert.id, stored.version))

    def get_alert(self, alert_id: str) -> Alert:
        """A stored alert."""
        rows = self._fetch("SELECT doc FROM risk_alerts WHERE id = %s", (alert_id,)) if (
            isinstance(alert_id, str)) else []
        if not rows:
            raise NotFound("alert", alert_id)
        return _decode(alert_from_doc, rows[0][0])

    def find_alerts(self, *, customer_id: str | None = None, rule: str | None = None,
                    statuses: Collection[AlertStatus] | None = None) -> list[Alert]:
        """Alerts matching the filters, by raising time then id."""
        check_optional_id("customer_id", customer_id)
        check_optional_id("rule", rule)
        wanted = check_alert_statuses(statuses)
        where: list[str] = []
        params: list[Any] = []
        if customer_id is not None:
            where.append("customer_id = %s")
            params.append(customer_id)
        if rule is not None:
            where.append("rule = %s")
            params.append(rule)
        if wanted is not None:
            if not wanted:
                return []
            where.append("status = ANY(%s)")
            params.append(sorted(s.value for s in wanted))
        sql = "SELECT doc FROM risk_alerts" + (" WHERE " + " AND ".join(where) if where else "")
        return [_decode(alert_from_doc, r[0])
                for r in self._fetch(sql + " ORDER BY raised_at, id", params)]

    # -- restrictions ------------------------------------------------------------------
    def add_restriction(self, restriction: Restriction) -> None:
        """Store a new restriction with its log."""
        r = check_instance(restriction, Restriction, "restriction")
        try:
            with self._db.writing() as conn:
                conn.execute("INSERT INTO risk_restrictions (id, customer_id, start_at, version, "
                             "doc) VALUES (%s, %s, %s, %s, %s)",
                             (r.id, r.customer_id, r.start, r.version,
                              _json(restriction_to_doc(r))))
                self._append_events(conn, r, 0)
        except Conflict as exc:
            raise Conflict("restriction", r.id, "a restriction with this id exists") from exc

    @staticmethod
    def _append_events(conn: Connection, r: Restriction, start: int) -> None:
        if start < len(r.events):
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO risk_restriction_events (restriction_id, seq, doc) "
                    "VALUES (%s, %s, %s)",
                    [(r.id, i, _json(restriction_entry_to_doc(r.events[i])))
                     for i in range(start, len(r.events))])

    def update_restriction(self, restriction: Restriction) -> None:
        """Save a changed restriction (log extended only)."""
        r = check_instance(restriction, Restriction, "restriction")
        with self._db.writing() as conn:
            doc = self._locked_doc(conn, "risk_restrictions", r.id, "restriction", "UPDATE")
            stored = self._restriction(r.id, doc)
            check_restriction_update(stored, r)
            conn.execute("UPDATE risk_restrictions SET version = %s, doc = %s "
                         "WHERE id = %s AND version = %s",
                         (r.version, _json(restriction_to_doc(r)), r.id, stored.version))
            self._append_events(conn, r, len(stored.events))

    def get_restriction(self, restriction_id: str) -> Restriction:
        """A stored restriction with its whole log."""
        rows = self._fetch("SELECT doc FROM risk_restrictions WHERE id = %s",
                           (restriction_id,)) if isinstance(restriction_id, str) else []
        if not rows:
            raise NotFound("restriction", restriction_id)
        return self._restriction(restriction_id, rows[0][0])

    def _restriction(self, restriction_id: str, doc: Any) -> Restriction:
        events = self._fetch("SELECT doc FROM risk_restriction_events "
                             "WHERE restriction_id = %s ORDER BY seq", (restriction_id,))
        return _decode(lambda d: restriction_from_doc(d, [json.loads(e[0]) for e in events]), doc)

    def find_restrictions(self, *, customer_id: str | None = None) -> list[Restriction]:
        """Restrictions by start then id."""
        check_optional_id("customer_id", customer_id)
        sql = "SELECT id, doc FROM risk_restrictions"
        params: tuple[Any, ...] = ()
        if customer_id is not None:
            sql += " WHERE customer_id = %s"
            params = (customer_id,)
        with self._db.transaction():  # the restrictions and their logs: one transaction
            return [self._restriction(i, d)
                    for i, d in self._fetch(sql + " ORDER BY start_at, id", params)]

    # -- appeals -----------------------------------------------------------------------
    def add_appeal(self, appeal: Appeal) -> None:
        """Store a new appeal."""
        a = check_instance(appeal, Appeal, "appeal")
        with self._db.writing() as conn:
            doc = self._locked_doc(conn, "risk_restrictions", a.restriction_id, "restriction",
                                   "SHARE")
            check_appeal(a, self._restriction(a.restriction_id, doc))
            self._insert("appeal", a.id,
                         "INSERT INTO risk_appeals (id, restriction_id, status, submitted_at, "
                         "version, doc) VALUES (%s, %s, %s, %s, %s, %s)",
                         (a.id, a.restriction_id, a.status.value, a.submitted_at, a.version,
                          _json(appeal_to_doc(a))))

    def update_appeal(self, appeal: Appeal) -> None:
        """Save a changed appeal."""
        a = check_instance(appeal, Appeal, "appeal")
        with self._db.writing() as conn:
            stored = _decode(appeal_from_doc, self._locked_doc(
                conn, "risk_appeals", a.id, "appeal", "UPDATE"))
            check_appeal_update(stored, a)
            doc = self._locked_doc(conn, "risk_restrictions", a.restriction_id, "restriction",
                                   "SHARE")
            check_appeal(a, self._restriction(a.restriction_id, doc))
            conn.execute("UPDATE risk_appeals SET status = %s, version = %s, doc = %s "
                         "WHERE id = %s AND version = %s",
                         (a.status.value, a.version, _json(appeal_to_doc(a)), a.id,
                          stored.version))

    def get_appeal(self, appeal_id: str) -> Appeal:
        """A stored appeal."""
        rows = self._fetch("SELECT doc FROM risk_appeals WHERE id = %s", (appeal_id,)) if (
            isinstance(appeal_id, str)) else []
        if not rows:
            raise NotFound("appeal", appeal_id)
        return _decode(appeal_from_doc, rows[0][0])

    def find_appeals(self, *, restriction_id: str | None = None,
                     statuses: Collection[AppealStatus] | None = None) -> list[Appeal]:
        """Appeals by submission then id."""
        check_optional_id("restriction_id", restriction_id)
        wanted = check_appeal_statuses(statuses)
        where: list[str] = []
        params: list[Any] = []
        if restriction_id is not None:
            where.append("restriction_id = %s")
            params.append(restriction_id)
        if wanted is not None:
            if not wanted:
                return []
            where.append("status = ANY(%s)")
            params.append(sorted(s.value for s in wanted))
        sql = "SELECT doc FROM risk_appeals" + (" WHERE " + " AND ".join(where) if where else "")
        return [_decode(appeal_from_doc, r[0])
                for r in self._fetch(sql + " ORDER BY submitted_at, id", params)]


def _decode(decode: Callable[[Any], T], doc: str) -> T:
    """``decode`` of the parsed JSON ``doc``; a document that no longer decodes is a
    StorageError."""
    try:
        return decode(json.loads(doc))
    except (CustMgmtError, ValueError, TypeError, KeyError, IndexError) as exc:
        # It was valid when written: something else changed the database.
        raise StorageError(f"postgres: a stored risk document is not valid any more: {exc}") \
            from exc
