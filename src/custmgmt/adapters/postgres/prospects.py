"""Prospects in PostgreSQL (see :class:`custmgmt.prospects.ports.ProspectRepository`).

Four tables, owned by the component ``"prospects"`` through
:meth:`PostgresStore.apply_migrations <custmgmt.adapters.postgres.PostgresStore.apply_migrations>`:
``prospects`` (one row per prospect, with its version), ``prospect_history`` (one row
per stage change, keyed by prospect and sequence number, appended only),
``prospect_contacts`` and ``prospect_reports``. An update locks the prospect's row
(``SELECT ... FOR UPDATE``), checks the version and that the new history extends the
stored one, then appends only the new stage changes. Instants are ``timestamptz``
plus the original UTC offset, money ``numeric`` (exact, scale kept) and its currency,
lists ``jsonb``; text is stored as it is, in any script.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, TypeVar

from psycopg.types.json import Jsonb

from custmgmt.adapters.postgres.codecs import datetime_of as _datetime
from custmgmt.adapters.postgres.codecs import when as _instant
from custmgmt.adapters.postgres.database import PostgresDatabase
from custmgmt.adapters.postgres.repository import copy_rows
from custmgmt.adapters.postgres.schema import Migration, insert_sql, select_list
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

__all__ = ["PROSPECT_MIGRATIONS", "PostgresProspectRepository"]

_V1 = """
CREATE TABLE prospects (
    id text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL,
    kind text NOT NULL,
    name text NOT NULL,
    source text NOT NULL,
    owner text NOT NULL,
    interests jsonb NOT NULL,
    value_amount numeric,
    value_currency text,
    info jsonb NOT NULL,
    stage text NOT NULL,
    created_at timestamptz NOT NULL,
    created_off integer NOT NULL,
    lost_reason text,
    customer_id text COLLATE "C"
);
CREATE INDEX prospects_by_time ON prospects (created_at, id);
CREATE INDEX prospects_by_stage ON prospects (stage);
CREATE INDEX prospects_by_owner ON prospects (owner);
CREATE TABLE prospect_history (
    prospect_id text COLLATE "C" NOT NULL REFERENCES prospects (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    at timestamptz NOT NULL,
    at_off integer NOT NULL,
    from_stage text,
    to_stage text NOT NULL,
    actor text NOT NULL,
    note text NOT NULL,
    approved_by jsonb NOT NULL,
    PRIMARY KEY (prospect_id, seq)
);
CREATE TABLE prospect_contacts (
    id text COLLATE "C" PRIMARY KEY,
    prospect_id text COLLATE "C" NOT NULL REFERENCES prospects (id),
    kind text NOT NULL,
    at timestamptz NOT NULL,
    at_off integer NOT NULL,
    actor text NOT NULL,
    summary text NOT NULL,
    outcome text NOT NULL,
    next_step text NOT NULL,
    campaign_id text
);
CREATE INDEX prospect_contacts_by_time ON prospect_contacts (at, id);
CREATE INDEX prospect_contacts_by_prospect ON prospect_contacts (prospect_id, at, id);
CREATE TABLE prospect_reports (
    id text COLLATE "C" PRIMARY KEY,
    prospect_id text COLLATE "C" NOT NULL REFERENCES prospects (id),
    at timestamptz NOT NULL,
    at_off integer NOT NULL,
    author text NOT NULL,
    credit text NOT NULL,
    business_situation text NOT NULL,
    revenue_amount numeric,
    revenue_currency text,
    employees bigint,
    risks jsonb NOT NULL,
    recommendation text NOT NULL
);
CREATE INDEX prospect_reports_by_prospect ON prospect_reports (prospect_id, at, id);
"""

#: The prospect schema's migrations, applied in order under the component ``"prospects"``.
PROSPECT_MIGRATIONS: Final[tuple[Migration, ...]] = (_V1,)

_COLUMNS: Final = (
    "id, version, kind, name, source, owner, interests, value_amount, value_currency, info, "
    "stage, created_at, created_off, lost_reason, customer_id"
)
_HISTORY: Final = "prospect_id, seq, at, at_off, from_stage, to_stage, actor, note, approved_by"
_CONTACT: Final = (
    "id, prospect_id, kind, at, at_off, actor, summary, outcome, next_step, campaign_id"
)
_REPORT: Final = (
    "id, prospect_id, at, at_off, author, credit, business_situation, revenue_amount, "
    "revenue_currency, employees, risks, recommendation"
)
_UPDATE: Final = (
    "UPDATE prospects SET "
    + ", ".join(f"{c.strip()} = %s" for c in _COLUMNS.split(",")[1:])
    + " WHERE id = %s AND version = %s"
)
_IDS_PER_QUERY: Final = 10_000

Row = tuple[Any, ...]
T = TypeVar("T")


def _money_cols(value: Money | None) -> tuple[Decimal | None, str | None]:
    return (None, None) if value is None else (value.amount, value.currency)


def _money(amount: Decimal | None, currency: str | None) -> Money | None:
    return None if amount is None or currency is None else Money(amount, currency)


def _prospect_row(p: Prospect) -> Row:
    at, off = _instant(p.created_at)
    return (
        p.id, p.version, p.kind.value, p.name, p.source, p.owner, Jsonb(sorted(p.interests)),
        *_money_cols(p.estimated_value), Jsonb([list(pair) for pair in p.info]), p.stage,
        at, off, p.lost_reason, p.customer_id,
    )


def _history_rows(p: Prospect, start: int) -> list[Row]:
    rows = []
    for seq in range(start, len(p.history)):
        e = p.history[seq]
        at, off = _instant(e.at)
        rows.append((p.id, seq, at, off, e.from_stage, e.to_stage, e.actor, e.note,
                     Jsonb(list(e.approved_by))))
    return rows


def _prospect(row: Row, history: Sequence[Row]) -> Prospect:
    entries = tuple(
        StageChange(at=_datetime(h[2], h[3]), from_stage=h[4], to_stage=h[5], actor=h[6],
                    note=h[7], approved_by=h[8])
        for h in history
    )
    return Prospect(
        id=row[0], version=row[1], kind=row[2], name=row[3], source=row[4], owner=row[5],
        interests=row[6], estimated_value=_money(row[7], row[8]),
        info=[tuple(pair) for pair in row[9]], stage=row[10],
        created_at=_datetime(row[11], row[12]), history=entries, lost_reason=row[13],
        customer_id=row[14],
    )


def _contact_row(r: ContactRecord) -> Row:
    at, off = _instant(r.at)
    return (r.id, r.prospect_id, r.kind.value, at, off, r.actor, r.summary, r.outcome,
            r.next_step, r.campaign_id)


def _contact(row: Row) -> ContactRecord:
    return ContactRecord(id=row[0], prospect_id=row[1], kind=row[2], at=_datetime(row[3], row[4]),
                         actor=row[5], summary=row[6], outcome=row[7], next_step=row[8],
                         campaign_id=row[9])


def _report_row(r: InvestigationReport) -> Row:
    at, off = _instant(r.at)
    return (r.id, r.prospect_id, at, off, r.author, r.credit.value, r.business_situation,
            *_money_cols(r.annual_revenue), r.employees, Jsonb(list(r.risks)),
            r.recommendation.value)


def _report(row: Row) -> InvestigationReport:
    return InvestigationReport(
        id=row[0], prospect_id=row[1], at=_datetime(row[2], row[3]), author=row[4],
        credit=row[5], business_situation=row[6], annual_revenue=_money(row[7], row[8]),
        employees=row[9], risks=row[10], recommendation=row[11],
    )


class PostgresProspectRepository:
    """Prospects in a :class:`~custmgmt.adapters.postgres.PostgresStore`, in its transactions.

    Creating it applies the prospect migrations. Writes go through
    :meth:`PostgresStore.writing`, so they join the store's transaction and commit or
    roll back with the store's other writes.

    Args:
        store: the PostgreSQL store (``store.prospects`` makes one on first use).
        pipeline: the pipeline every saved prospect's history must follow.

    Raises:
        StorageError: the schema cannot be created.
        ValidationError: ``pipeline`` is not a Pipeline.
    """

    def __init__(self, store: PostgresDatabase, *, pipeline: Pipeline = DEFAULT_PIPELINE) -> None:
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
            found = self._load(f"SELECT {select_list(_COLUMNS)} FROM prospects WHERE id = %s",
                               (prospect_id,))
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
                conn.execute(insert_sql("prospects", _COLUMNS), _prospect_row(prospect))
                copy_rows(conn, "prospect_history", _HISTORY, _history_rows(prospect, 0))
        except Conflict as exc:
            raise Conflict("prospect", prospect.id, "a prospect with this id exists") from exc

    def update(self, prospect: Prospect, *, expected_version: int | None = None) -> None:
        """Replace a stored prospect (see ``ProspectRepository.update``)."""
        _check(prospect)
        with self._store.writing() as conn:
            locked = conn.execute(
                "SELECT 1 FROM prospects WHERE id = %s FOR UPDATE", (prospect.id,)
            ).fetchone()
            if locked is None:
                raise NotFound("prospect", prospect.id)
            stored = self.get(prospect.id)
            check_versioned_update("prospect", prospect.id, stored.version, prospect.version,
                                   expected_version)
            check_history_extends(stored, prospect)
            self._pipeline.check_path(prospect, stored=stored)
            changed = conn.execute(
                _UPDATE, (*_prospect_row(prospect)[1:], prospect.id, stored.version)
            ).rowcount
            if changed != 1:  # pragma: no cover - the row is locked
                raise Conflict("prospect", prospect.id, "changed while updating")
            copy_rows(conn, "prospect_history", _HISTORY,
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
                where.append(f"{name} = %s")
                params.append(value)
        sql = f"SELECT {select_list(_COLUMNS)} FROM prospects"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._load(sql + " ORDER BY created_at, id", params)

    def add_contact(self, record: ContactRecord) -> None:
        """Store a contact record (see ``ProspectRepository.add_contact``)."""
        if not isinstance(record, ContactRecord):
            raise ValidationError("record", record, "a ContactRecord")
        try:
            with self._store.writing() as conn:
                self.get(record.prospect_id)
                conn.execute(insert_sql("prospect_contacts", _CONTACT), _contact_row(record))
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
            where.append("prospect_id = %s")
            params.append(prospect_id)
        if since is not None:
            where.append("at >= %s")
            params.append(since)
        if until is not None:
            where.append("at < %s")
            params.append(until)
        sql = f"SELECT {select_list(_CONTACT)} FROM prospect_contacts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return _decode(_contact, self._fetch(sql + " ORDER BY at, id", params))

    def add_report(self, report: InvestigationReport) -> None:
        """Store an investigation report (see ``ProspectRepository.add_report``)."""
        if not isinstance(report, InvestigationReport):
            raise ValidationError("report", report, "an InvestigationReport")
        try:
            with self._store.writing() as conn:
                self.get(report.prospect_id)
                conn.execute(insert_sql("prospect_reports", _REPORT), _report_row(report))
        except Conflict as exc:
            raise Conflict("investigation report", report.id,
                           "a report with this id exists") from exc

    def reports(self, prospect_id: str) -> list[InvestigationReport]:
        """The prospect's reports (see ``ProspectRepository.reports``)."""
        check_filter("prospect_id", prospect_id)
        rows = self._fetch(f"SELECT {select_list(_REPORT)} FROM prospect_reports "
                           "WHERE prospect_id = %s ORDER BY at, id", (prospect_id,))
        return _decode(_report, rows)

    # -- helpers -----------------------------------------------------------------------

    def _load(self, sql: str, params: Sequence[Any]) -> list[Prospect]:
        with self._store.transaction():  # the prospects and their history: one transaction
            rows = self._fetch(sql, params)
            history: dict[str, list[Row]] = {row[0]: [] for row in rows}
            ids = list(history)
            for start in range(0, len(ids), _IDS_PER_QUERY):
                part = ids[start : start + _IDS_PER_QUERY]
                for entry in self._fetch(
                    f"SELECT {select_list(_HISTORY)} FROM prospect_history "
                    "WHERE prospect_id = ANY(%s::text[]) ORDER BY prospect_id, seq", (part,),
                ):
                    history[entry[0]].append(entry)
        return _decode(lambda r: _prospect(r, history[r[0]]), rows)

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        try:
            return self._store.fetch(sql, params, doing="reading prospects")
        except UnicodeEncodeError as exc:
            raise ValidationError("id", exc.object, "valid Unicode text") from None


def _decode(decode: Callable[[Row], T], rows: Sequence[Row]) -> list[T]:
    result = []
    for row in rows:
        try:
            result.append(decode(row))
        except (
            CustMgmtError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            ArithmeticError,
        ) as exc:
            # The rows were valid when written: something else changed the database.
            raise StorageError(
                f"postgres: stored row {row[0]!r} is not valid any more: {exc}"
            ) from exc
    return result


def _check(prospect: Any) -> None:
    if not isinstance(prospect, Prospect):
        raise ValidationError("prospect", prospect, "a Prospect")
