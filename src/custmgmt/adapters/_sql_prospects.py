"""The prospect repository over a SQL database, shared by the SQLite and PostgreSQL
adapters.

Both stores keep the same four tables, ``prospects`` (one row per prospect, with its
version), ``prospect_history`` (one row per stage change, keyed by prospect and
sequence number, appended only; an erasure rewrites its notes in place),
``prospect_contacts`` and ``prospect_reports``, and run the same queries; the dialect's hooks
(:class:`~custmgmt.adapters._sql_repository.SqlRepository`) say how instants, money
and lists are stored, how many rows are written at once, how a read sees one state and
which lock an update takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Final

from custmgmt.adapters._sql_codecs import datetime_of
from custmgmt.adapters._sql_repository import DECODE_ERRORS, Row, SqlRepository
from custmgmt.domain.money import Money
from custmgmt.errors import Conflict, ValidationError
from custmgmt.privacy.ports import ERASED_TEXT
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
    ProspectKind,
    StageChange,
)

__all__ = ["SqlProspectRepository"]

_COLUMNS: Final = (
    "id, version, kind, name, source, owner, interests, value_amount, value_currency, info, "
    "stage, {created}, created_off, lost_reason, customer_id"
)
_HISTORY: Final = "prospect_id, seq, {at}, at_off, from_stage, to_stage, actor, note, approved_by"
_CONTACT: Final = (
    "id, prospect_id, kind, {at}, at_off, actor, summary, outcome, next_step, campaign_id"
)
_REPORT: Final = (
    "id, prospect_id, {at}, at_off, author, credit, business_situation, revenue_amount, "
    "revenue_currency, employees, risks, recommendation"
)
_READING: Final = "reading prospects"


def _money(amount: Any, currency: str | None) -> Money | None:
    return None if amount is None or currency is None else Money(Decimal(amount), currency)


def _contact(row: Row) -> ContactRecord:
    return ContactRecord(id=row[0], prospect_id=row[1], kind=row[2], at=datetime_of(row[3], row[4]),
                         actor=row[5], summary=row[6], outcome=row[7], next_step=row[8],
                         campaign_id=row[9])


class SqlProspectRepository(SqlRepository):
    """Prospects in a SQL store, in its transactions (see
    :class:`custmgmt.prospects.ports.ProspectRepository`); subclasses name the dialect.

    Args:
        store: the store (``store.prospects`` makes one on first use).
        pipeline: the pipeline every saved prospect's history must follow.

    Raises:
        StorageError: the schema cannot be created.
        ValidationError: ``pipeline`` is not a Pipeline.
    """

    component = "prospects"
    #: What ends the query that reads the prospects an erasure rewrites: the dialect's
    #: row lock (SQLite's write transaction already holds the database).
    redact_lock: ClassVar[str] = ""
    decode_errors: ClassVar[tuple[type[Exception], ...]] = (*DECODE_ERRORS, ArithmeticError)

    def __init__(self, store: Any, *, pipeline: Pipeline = DEFAULT_PIPELINE) -> None:
        if not isinstance(pipeline, Pipeline):
            raise ValidationError("pipeline", pipeline, "a Pipeline")
        self._pipeline = pipeline
        super().__init__(store)

    @property
    def pipeline(self) -> Pipeline:
        """The pipeline every saved prospect's history must follow."""
        return self._pipeline

    # -- rows --------------------------------------------------------------------------
    def _money_columns(self, value: Money | None) -> tuple[Any, str | None]:
        return (None, None) if value is None else (self.codec.money(value.amount), value.currency)

    def _prospect_row(self, p: Prospect) -> Row:
        json = self.codec.json_list
        at, off = self.codec.instant(p.created_at)
        return (
            p.id, p.version, p.kind.value, p.name, p.source, p.owner, json(sorted(p.interests)),
            *self._money_columns(p.estimated_value), json([list(pair) for pair in p.info]),
            p.stage, at, off, p.lost_reason, p.customer_id,
        )  # fmt: skip

    def _history_rows(self, p: Prospect, start: int) -> list[Row]:
        rows = []
        for seq in range(start, len(p.history)):
            e = p.history[seq]
            at, off = self.codec.instant(e.at)
            rows.append((p.id, seq, at, off, e.from_stage, e.to_stage, e.actor, e.note,
                         self.codec.json_list(list(e.approved_by))))
        return rows

    def _prospect(self, row: Row, history: Sequence[Row]) -> Prospect:
        read = self.codec.read_json
        entries = tuple(
            StageChange(at=datetime_of(h[2], h[3]), from_stage=h[4], to_stage=h[5], actor=h[6],
                        note=h[7], approved_by=read(h[8]))
            for h in history
        )
        return Prospect(
            id=row[0], version=row[1], kind=row[2], name=row[3], source=row[4], owner=row[5],
            interests=read(row[6]), estimated_value=_money(row[7], row[8]),
            info=[tuple(pair) for pair in read(row[9])], stage=row[10],
            created_at=datetime_of(row[11], row[12]), history=entries, lost_reason=row[13],
            customer_id=row[14],
        )

    def _contact_row(self, r: ContactRecord) -> Row:
        at, off = self.codec.instant(r.at)
        return (r.id, r.prospect_id, r.kind.value, at, off, r.actor, r.summary, r.outcome,
                r.next_step, r.campaign_id)

    def _report_row(self, r: InvestigationReport) -> Row:
        at, off = self.codec.instant(r.at)
        return (r.id, r.prospect_id, at, off, r.author, r.credit.value, r.business_situation,
                *self._money_columns(r.annual_revenue), r.employees,
                self.codec.json_list(list(r.risks)), r.recommendation.value)

    def _report(self, row: Row) -> InvestigationReport:
        return InvestigationReport(
            id=row[0], prospect_id=row[1], at=datetime_of(row[2], row[3]), author=row[4],
            credit=row[5], business_situation=row[6], annual_revenue=_money(row[7], row[8]),
            employees=row[9], risks=self.codec.read_json(row[10]), recommendation=row[11],
        )

    def _add_history(self, conn: Any, prospect: Prospect, start: int) -> None:
        rows = self._history_rows(prospect, start)
        self._insert_rows(conn, "prospect_history", self._q(_HISTORY), rows)

    # -- the ProspectRepository protocol -----------------------------------------------
    def get(self, prospect_id: str) -> Prospect:
        """The stored prospect (see ``ProspectRepository.get``)."""
        return self._one("prospect", prospect_id, lambda: self._load(
            f"SELECT {self._select(_COLUMNS)} FROM prospects WHERE id = ?", (prospect_id,)))

    def add(self, prospect: Prospect) -> None:
        """Store a new prospect (see ``ProspectRepository.add``)."""
        _check(prospect)
        self._pipeline.check_path(prospect)
        try:
            with self._store.writing() as conn:
                conn.execute(self._insert_sql("prospects", _COLUMNS), self._prospect_row(prospect))
                self._add_history(conn, prospect, 0)
        except Conflict as exc:
            raise Conflict("prospect", prospect.id, "a prospect with this id exists") from exc

    def update(self, prospect: Prospect, *, expected_version: int | None = None) -> None:
        """Replace a stored prospect (see ``ProspectRepository.update``)."""
        _check(prospect)
        with self._store.writing() as conn:
            stored = self._locked(conn, "prospects", "prospect", prospect.id, self.get)
            check_versioned_update("prospect", prospect.id, stored.version, prospect.version,
                                   expected_version, unchanged=stored == prospect)
            check_history_extends(stored, prospect)
            self._pipeline.check_path(prospect, stored=stored)
            changed = conn.execute(
                self._update_sql("prospects", _COLUMNS),
                (*self._prospect_row(prospect)[1:], prospect.id, stored.version),
            ).rowcount
            if changed != 1:  # pragma: no cover - the write (or the row) is locked
                raise Conflict("prospect", prospect.id, "changed while updating")
            self._add_history(conn, prospect, len(stored.history))

    def count(self) -> int:
        """How many prospects are stored."""
        return int(self._query_keyed("SELECT count(*) FROM prospects", (), _READING)[0][0])

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
        sql = f"SELECT {self._select(_COLUMNS)} FROM prospects"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._load(sql + " ORDER BY {created}, id", params)

    def add_contact(self, record: ContactRecord) -> None:
        """Store a contact record (see ``ProspectRepository.add_contact``)."""
        if not isinstance(record, ContactRecord):
            raise ValidationError("record", record, "a ContactRecord")
        self._insert_one("prospect_contacts", _CONTACT, lambda: self._contact_row(record),
                         ("contact record", record.id, "a record with this id exists"),
                         check=lambda: self.get(record.prospect_id))

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
            where.append("{at} >= ?")
            params.append(self._instant(since))
        if until is not None:
            where.append("{at} < ?")
            params.append(self._instant(until))
        sql = f"SELECT {self._select(_CONTACT)} FROM prospect_contacts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._query_keyed(sql + " ORDER BY {at}, id", params, _READING)
        return self._decoded("row", _contact, rows)

    def add_report(self, report: InvestigationReport) -> None:
        """Store an investigation report (see ``ProspectRepository.add_report``)."""
        if not isinstance(report, InvestigationReport):
            raise ValidationError("report", report, "an InvestigationReport")
        self._insert_one("prospect_reports", _REPORT, lambda: self._report_row(report),
                         ("investigation report", report.id, "a report with this id exists"),
                         check=lambda: self.get(report.prospect_id))

    def reports(self, prospect_id: str) -> list[InvestigationReport]:
        """The prospect's reports (see ``ProspectRepository.reports``)."""
        check_filter("prospect_id", prospect_id)
        rows = self._query_keyed(f"SELECT {self._select(_REPORT)} FROM prospect_reports "
                                 "WHERE prospect_id = ? ORDER BY {at}, id", (prospect_id,),
                                 _READING)
        return self._decoded("row", self._report, rows)

    # -- erasure (custmgmt.privacy.SubjectRedaction) -----------------------------------
    def redact_subject(self, customer_id: str, pseudonym: str) -> int:
        """Erase what the prospects linked to the customer hold on them: a person's
        name becomes ``pseudonym``, the collected information is cleared, the notes
        of the stage history and the lost reason are erased (an empty note stays
        empty, so a move that needs a note still has one), and their contact
        records' summary, outcome and next step are erased (an empty outcome or next
        step stays empty). A prospect that changes gets its version bumped by one
        (the history rows keep their sequence numbers), so a copy read before the
        erasure is a stale copy that ``update`` refuses with ``Conflict`` instead of
        writing the personal data back. The number of prospects and records
        changed: 0 when run again or for an unknown customer. The linked prospects'
        rows are locked while they and their history are rewritten
        (:attr:`redact_lock`)."""
        if not _storable(customer_id):
            return 0  # no stored row can name it
        changed = 0
        with self._store.writing() as conn:
            rows = conn.execute(
                self._q("SELECT id, kind, name, info, lost_reason FROM prospects"
                        " WHERE customer_id = ? ORDER BY id" + self.redact_lock),
                (customer_id,),
            ).fetchall()
            for prospect_id, kind, name, info, lost_reason in rows:
                # The stage history's notes ("王先生说预算不够"): rewritten in place,
                # the rows keep their sequence numbers.
                notes = conn.execute(
                    self._q("UPDATE prospect_history SET note = ? WHERE prospect_id = ?"
                            " AND note NOT IN ('', ?)"),
                    (ERASED_TEXT, prospect_id, ERASED_TEXT),
                ).rowcount
                new_name = pseudonym if kind == ProspectKind.PERSON.value else name
                new_reason = (lost_reason if lost_reason in (None, "", ERASED_TEXT)
                              else ERASED_TEXT)
                rewrite = ((new_name, new_reason) != (name, lost_reason)
                           or bool(self.codec.read_json(info)))
                if rewrite or notes > 0:
                    # A redaction is a change: the version is bumped, so a copy read
                    # before it cannot be saved after it (and write the data back).
                    conn.execute(
                        self._q("UPDATE prospects SET name = ?, info = ?, lost_reason = ?,"
                                " version = version + 1 WHERE id = ?"),
                        (new_name, self.codec.json_list([]), new_reason, prospect_id),
                    )
                    changed += 1  # one per prospect, as in memory
            changed += int(conn.execute(
                self._q(
                    "UPDATE prospect_contacts SET summary = ?,"
                    " outcome = CASE WHEN outcome = '' THEN '' ELSE ? END,"
                    " next_step = CASE WHEN next_step = '' THEN '' ELSE ? END"
                    " WHERE prospect_id IN (SELECT id FROM prospects WHERE customer_id = ?)"
                    " AND (summary <> ? OR outcome NOT IN ('', ?)"
                    " OR next_step NOT IN ('', ?))"
                ),
                (ERASED_TEXT, ERASED_TEXT, ERASED_TEXT, customer_id, *[ERASED_TEXT] * 3),
            ).rowcount)
        return changed

    # -- helpers -----------------------------------------------------------------------
    def _load(self, sql: str, params: Sequence[Any]) -> list[Prospect]:
        with self._reading():  # the prospects and their history: one state
            rows = self._query_keyed(sql, params, _READING)
            history: dict[str, list[Row]] = {row[0]: [] for row in rows}
            ids = list(history)
            for start in range(0, len(ids), self.ids_per_query):
                condition, part = self._any("prospect_id", ids[start : start + self.ids_per_query])
                for entry in self._query_keyed(
                    f"SELECT {self._select(_HISTORY)} FROM prospect_history WHERE {condition} "
                    "ORDER BY prospect_id, seq", part, _READING,
                ):
                    history[entry[0]].append(entry)
        return self._decoded("row", lambda r: self._prospect(r, history[r[0]]), rows)


def _storable(key: Any) -> bool:
    """Whether ``key`` can be a stored id (text that encodes: no lone surrogates)."""
    if not isinstance(key, str):
        return False
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check(prospect: Any) -> None:
    if not isinstance(prospect, Prospect):
        raise ValidationError("prospect", prospect, "a Prospect")
