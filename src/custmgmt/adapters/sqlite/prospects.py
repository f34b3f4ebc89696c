"""Prospects in SQLite (see :class:`custmgmt.prospects.ports.ProspectRepository`).

Four tables, owned by the component ``"prospects"``: ``prospects`` (one row per
prospect, with its version), ``prospect_history`` (one row per stage change, keyed by
prospect and sequence number, appended only), ``prospect_contacts`` and
``prospect_reports``. Instants are stored as microseconds since the epoch plus the
UTC offset, money as exact decimal text and its currency, lists as JSON text in any
script.

>>> from datetime import datetime, timezone
>>> from custmgmt.adapters.sqlite import SQLiteStore
>>> from custmgmt.prospects import DEFAULT_PIPELINE
>>> store = SQLiteStore(":memory:")
>>> store.prospects.add(DEFAULT_PIPELINE.new_prospect(id="P-1", name="李雷",
...     source="展会", owner="s1", actor="s1",
...     at=datetime(2026, 3, 2, 9, tzinfo=timezone.utc)))
>>> store.prospects.get("P-1").name
'李雷'
>>> store.close()
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from custmgmt.adapters._sql_codecs import datetime_of as _datetime
from custmgmt.adapters.sqlite.codecs import _instant
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.schema import Migration
from custmgmt.domain.money import Money
from custmgmt.errors import Conflict, CustMgmtError, NotFound, StorageError, ValidationError
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
    StageChange,
)

__all__ = ["PROSPECT_MIGRATIONS", "SQLiteProspectRepository"]

_V1 = """
CREATE TABLE prospects (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    owner TEXT NOT NULL,
    interests TEXT NOT NULL,
    value_amount TEXT,
    value_currency TEXT,
    info TEXT NOT NULL,
    stage TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    created_off INTEGER NOT NULL,
    lost_reason TEXT,
    customer_id TEXT
);
CREATE INDEX prospects_by_time ON prospects (created_us, id);
CREATE INDEX prospects_by_stage ON prospects (stage);
CREATE INDEX prospects_by_owner ON prospects (owner);
CREATE TABLE prospect_history (
    prospect_id TEXT NOT NULL REFERENCES prospects (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    at_us INTEGER NOT NULL,
    at_off INTEGER NOT NULL,
    from_stage TEXT,
    to_stage TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    PRIMARY KEY (prospect_id, seq)
) WITHOUT ROWID;
CREATE TABLE prospect_contacts (
    id TEXT PRIMARY KEY,
    prospect_id TEXT NOT NULL REFERENCES prospects (id),
    kind TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    at_off INTEGER NOT NULL,
    actor TEXT NOT NULL,
    summary TEXT NOT NULL,
    outcome TEXT NOT NULL,
    next_step TEXT NOT NULL,
    campaign_id TEXT
);
CREATE INDEX prospect_contacts_by_time ON prospect_contacts (at_us, id);
CREATE INDEX prospect_contacts_by_prospect ON prospect_contacts (prospect_id, at_us, id);
CREATE TABLE prospect_reports (
    id TEXT PRIMARY KEY,
    prospect_id TEXT NOT NULL REFERENCES prospects (id),
    at_us INTEGER NOT NULL,
    at_off INTEGER NOT NULL,
    author TEXT NOT NULL,
    credit TEXT NOT NULL,
    business_situation TEXT NOT NULL,
    revenue_amount TEXT,
    revenue_currency TEXT,
    employees INTEGER,
    risks TEXT NOT NULL,
    recommendation TEXT NOT NULL
);
CREATE INDEX prospect_reports_by_prospect ON prospect_reports (prospect_id, at_us, id);
"""

#: The prospect schema's migrations, applied in order under the component ``"prospects"``.
PROSPECT_MIGRATIONS: Final[tuple[Migration, ...]] = (_V1,)

_COLUMNS: Final = (
    "id, version, kind, name, source, owner, interests, value_amount, value_currency, info, "
    "stage, created_us, created_off, lost_reason, customer_id"
)
_HISTORY: Final = "prospect_id, seq, at_us, at_off, from_stage, to_stage, actor, note, approved_by"
_CONTACT: Final = (
    "id, prospect_id, kind, at_us, at_off, actor, summary, outcome, next_step, campaign_id"
)
_REPORT: Final = (
    "id, prospect_id, at_us, at_off, author, credit, business_situation, revenue_amount, "
    "revenue_currency, employees, risks, recommendation"
)
_UPDATE: Final = (
    "UPDATE prospects SET "
    + ", ".join(f"{c.strip()} = ?" for c in _COLUMNS.split(",")[1:])
    + " WHERE id = ? AND version = ?"
)
_IDS_PER_QUERY: Final = 500

Row = tuple[Any, ...]


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _money_cols(value: Money | None) -> tuple[str | None, str | None]:
    return (None, None) if value is None else (str(value.amount), value.currency)


def _money(amount: str | None, currency: str | None) -> Money | None:
    return None if amount is None or currency is None else Money(Decimal(amount), currency)


def _prospect_row(p: Prospect) -> Row:
    us, off = _instant(p.created_at)
    return (
        p.id, p.version, p.kind.value, p.name, p.source, p.owner, _dump(sorted(p.interests)),
        *_money_cols(p.estimated_value), _dump([list(pair) for pair in p.info]), p.stage,
        us, off, p.lost_reason, p.customer_id,
    )


def _history_rows(p: Prospect, start: int) -> list[Row]:
    rows = []
    for seq in range(start, len(p.history)):
        e = p.history[seq]
        us, off = _instant(e.at)
        rows.append((p.id, seq, us, off, e.from_stage, e.to_stage, e.actor, e.note,
                     _dump(list(e.approved_by))))
    return rows


def _prospect(row: Row, history: Sequence[Row]) -> Prospect:
    entries = tuple(
        StageChange(at=_datetime(h[2], h[3]), from_stage=h[4], to_stage=h[5], actor=h[6],
                    note=h[7], approved_by=json.loads(h[8]))
        for h in history
    )
    return Prospect(
        id=row[0], version=row[1], kind=row[2], name=row[3], source=row[4], owner=row[5],
        interests=json.loads(row[6]), estimated_value=_money(row[7], row[8]),
        info=[tuple(pair) for pair in json.loads(row[9])], stage=row[10],
        created_at=_datetime(row[11], row[12]), history=entries, lost_reason=row[13],
        customer_id=row[14],
    )


def _contact_row(r: ContactRecord) -> Row:
    us, off = _instant(r.at)
    return (r.id, r.prospect_id, r.kind.value, us, off, r.actor, r.summary, r.outcome,
            r.next_step, r.campaign_id)


def _contact(row: Row) -> ContactRecord:
    return ContactRecord(id=row[0], prospect_id=row[1], kind=row[2], at=_datetime(row[3], row[4]),
                         actor=row[5], summary=row[6], outcome=row[7], next_step=row[8],
                         campaign_id=row[9])


def _report_row(r: InvestigationReport) -> Row:
    us, off = _instant(r.at)
    return (r.id, r.prospect_id, us, off, r.author, r.credit.value, r.business_situation,
            *_money_cols(r.annual_revenue), r.employees, _dump(list(r.risks)),
            r.recommendation.value)


def _report(row: Row) -> InvestigationReport:
    return InvestigationReport(
        id=row[0], prospect_id=row[1], at=_datetime(row[2], row[3]), author=row[4],
        credit=row[5], business_situation=row[6], annual_revenue=_money(row[7], row[8]),
        employees=row[9], risks=json.loads(row[10]), recommendation=row[11],
    )


class SQLiteProspectRepository:
    """Prospects in an :class:`~custmgmt.adapters.sqlite.SQLiteStore`, in its transactions.

    Args:
        store: the SQLite database (``store.prospects`` makes one on first use).
        pipeline: the pipeline every saved prospect's history must follow.

    Raises:
        StorageError: the schema cannot be created.
        ValidationError: ``pipeline`` is not a Pipeline.
    """

    def __init__(self, store: SQLiteDatabase, *, pipeline: Pipeline = DEFAULT_PIPELINE) -> None:
        if not isinstance(pipeline, Pipeline):
            raise ValidationError("pipeline", pipeline, "a Pipeline")
        self._store = store
        self._pipeline = pipeline
        store.apply_migrations("prospects", PROSPECT_MIGRATIONS)

    @property
    def pipeline(self) -> Pipeline:
        """The pipeline every saved prospect's history must follow."""
        return self._pipeline

    def get(self, prospect_id: str) -> Prospect:
        """The stored prospect (see ``ProspectRepository.get``)."""
        if not isinstance(prospect_id, str):
            raise NotFound("prospect", prospect_id)
        try:
            found = self._load(f"SELECT {_COLUMNS} FROM prospects WHERE id = ?", (prospect_id,))
        except ValidationError:  # not valid Unicode: no prospect has such an id
            found = []
        if not found:
            raise NotFound("prospect", prospect_id)
        return found[0]

    def add(self, prospect: Prospect) -> None:
        """Store a new prospect (see ``ProspectRepository.add``)."""
        _check(prospect)
        self._pipeline.check_path(prospect)
        try:
            with self._store.writing() as conn:
                conn.execute(f"INSERT INTO prospects ({_COLUMNS}) VALUES ({', '.join('?' * 15)})",
                             _prospect_row(prospect))
                conn.executemany(f"INSERT INTO prospect_history ({_HISTORY}) VALUES "
                                 f"({', '.join('?' * 9)})", _history_rows(prospect, 0))
        except Conflict as exc:
            raise Conflict("prospect", prospect.id, "a prospect with this id exists") from exc

    def update(self, prospect: Prospect, *, expected_version: int | None = None) -> None:
        """Replace a stored prospect (see ``ProspectRepository.update``)."""
        _check(prospect)
        with self._store.writing() as conn:
            stored = self.get(prospect.id)
            check_versioned_update("prospect", prospect.id, stored.version, prospect.version,
                                   expected_version)
            check_history_extends(stored, prospect)
            self._pipeline.check_path(prospect, stored=stored)
            conn.execute(_UPDATE, (*_prospect_row(prospect)[1:], prospect.id, stored.version))
            conn.executemany(f"INSERT INTO prospect_history ({_HISTORY}) VALUES "
                             f"({', '.join('?' * 9)})",
                             _history_rows(prospect, len(stored.history)))

    def count(self) -> int:
        """How many prospects are stored."""
        return int(self._fetch("SELECT count(*) FROM prospects", ())[0][0])

    def find(
        self,
        *,
        stage: str | None = None,
        owner: str | None = None,
        source: str | None = None,
        customer_id: str | None = None,
    ) -> list[Prospect]:
        """Matching prospects (see ``ProspectRepository.find``)."""
        where: list[str] = []
        params: list[Any] = []
        for name, value in (("stage", stage), ("owner", owner), ("source", source),
                            ("customer_id", customer_id)):
            if check_filter(name, value) is not None:
                where.append(f"{name} = ?")
                params.append(value)
        sql = f"SELECT {_COLUMNS} FROM prospects"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._load(sql + " ORDER BY created_us, id", params)

    def add_contact(self, record: ContactRecord) -> None:
        """Store a contact record (see ``ProspectRepository.add_contact``)."""
        if not isinstance(record, ContactRecord):
            raise ValidationError("record", record, "a ContactRecord")
        try:
            with self._store.writing() as conn:
                self.get(record.prospect_id)
                conn.execute(f"INSERT INTO prospect_contacts ({_CONTACT}) VALUES "
                             f"({', '.join('?' * 10)})", _contact_row(record))
        except Conflict as exc:
            raise Conflict("contact record", record.id, "a record with this id exists") from exc

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
        where: list[str] = []
        params: list[Any] = []
        if prospect_id is not None:
            where.append("prospect_id = ?")
            params.append(prospect_id)
        if since is not None:
            where.append("at_us >= ?")
            params.append(_instant(since)[0])
        if until is not None:
            where.append("at_us < ?")
            params.append(_instant(until)[0])
        sql = f"SELECT {_CONTACT} FROM prospect_contacts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [self._decode(_contact, row) for row in self._fetch(sql + " ORDER BY at_us, id",
                                                                   params)]

    def add_report(self, report: InvestigationReport) -> None:
        """Store an investigation report (see ``ProspectRepository.add_report``)."""
        if not isinstance(report, InvestigationReport):
            raise ValidationError("report", report, "an InvestigationReport")
        try:
            with self._store.writing() as conn:
                self.get(report.prospect_id)
                conn.execute(f"INSERT INTO prospect_reports ({_REPORT}) VALUES "
                             f"({', '.join('?' * 12)})", _report_row(report))
        except Conflict as exc:
            raise Conflict("investigation report", report.id,
                           "a report with this id exists") from exc

    def reports(self, prospect_id: str) -> list[InvestigationReport]:
        """The prospect's reports (see ``ProspectRepository.reports``)."""
        check_filter("prospect_id", prospect_id)
        rows = self._fetch(f"SELECT {_REPORT} FROM prospect_reports WHERE prospect_id = ? "
                           "ORDER BY at_us, id", (prospect_id,))
        return [self._decode(_report, row) for row in rows]

    # -- helpers -----------------------------------------------------------------------

    def _load(self, sql: str, params: Sequence[Any]) -> list[Prospect]:
        with self._store.lock:
            rows = self._fetch(sql, params)
            history: dict[str, list[Row]] = {row[0]: [] for row in rows}
            ids = list(history)
            for start in range(0, len(ids), _IDS_PER_QUERY):
                part = ids[start : start + _IDS_PER_QUERY]
                for entry in self._fetch(
                    f"SELECT {_HISTORY} FROM prospect_history WHERE prospect_id IN "
                    f"({', '.join('?' * len(part))}) ORDER BY prospect_id, seq", part,
                ):
                    history[entry[0]].append(entry)
        return [self._decode(lambda r: _prospect(r, history[r[0]]), row) for row in rows]

    @staticmethod
    def _decode(decode: Any, row: Row) -> Any:
        try:
            return decode(row)
        except (CustMgmtError, ValueError, TypeError, KeyError, IndexError, ArithmeticError) as exc:
            # The rows were valid when written: something else changed the database.
            raise StorageError(
                f"sqlite: stored row {row[0]!r} is not valid any more: {exc}"
            ) from exc

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        with self._store.lock:
            try:
                return self._store.connection.execute(sql, params).fetchall()
            except UnicodeEncodeError as exc:
                raise ValidationError("id", exc.object, "valid Unicode text") from None
            except sqlite3.Error as exc:
                raise StorageError(f"sqlite: reading prospects failed: {exc}") from exc


def _check(prospect: Any) -> None:
    if not isinstance(prospect, Prospect):
        raise ValidationError("prospect", prospect, "a Prospect")
