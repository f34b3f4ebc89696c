"""Follow-up plans and contact records in SQLite (see
:class:`custmgmt.followup.ports.FollowUpRepository`).

Two tables owned by the component ``"followups"``: ``followup_plans`` (the plan as
JSON beside its id, version, customer, status and creation time) and
``followup_contacts`` (one row per contact, its time as microseconds since the epoch
plus the UTC offset).

>>> from custmgmt.adapters.sqlite import SQLiteStore
>>> store = SQLiteStore(":memory:")
>>> store.followups.plans()
[]
>>> store.close()
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import attrs

from custmgmt.adapters._checks import stale_copy
from custmgmt.adapters._engagement_checks import check_contact, check_plan
from custmgmt.adapters._engagement_codecs import plan_from_dict, plan_to_dict
from custmgmt.adapters._redaction import ERASED_TEXT, redacted_plan
from custmgmt.adapters._sql_engagement import contact_record_from_row, contact_record_row
from custmgmt.adapters.sqlite._engagement import EngagementRepository, json_text
from custmgmt.adapters.sqlite.codecs import _instant
from custmgmt.adapters.sqlite.schema import Migration
from custmgmt.domain._validate import check_aware, coerce_enum
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import Conflict
from custmgmt.followup.plan import ContactRecord, FollowUpPlan, PlanStatus

__all__ = ["FOLLOWUP_MIGRATIONS", "SQLiteFollowUpRepository"]

_V1 = """
CREATE TABLE followup_plans (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    customer_id TEXT,
    status TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX followup_plans_by_customer ON followup_plans (customer_id);
CREATE TABLE followup_contacts (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    plan_id TEXT REFERENCES followup_plans (id),
    at_us INTEGER NOT NULL,
    at_off INTEGER NOT NULL,
    channel TEXT NOT NULL,
    staff TEXT NOT NULL,
    outcome TEXT NOT NULL,
    notes TEXT NOT NULL,
    satisfaction INTEGER
);
CREATE INDEX followup_contacts_by_time ON followup_contacts (at_us, id);
CREATE INDEX followup_contacts_by_customer ON followup_contacts (customer_id, at_us);
CREATE INDEX followup_contacts_by_plan ON followup_contacts (plan_id, at_us);
"""

#: The follow-up schema's migrations, applied in order under the component ``"followups"``.
FOLLOWUP_MIGRATIONS: Final[tuple[Migration, ...]] = (_V1,)

_CONTACT_COLUMNS: Final = (
    "id, customer_id, plan_id, at_us, at_off, channel, staff, outcome, notes, satisfaction"
)


class SQLiteFollowUpRepository(EngagementRepository):
    """Plans and contact records in an SQLite store, in its transactions.

    Args:
        store: the SQLite store (``store.followups`` makes one).

    Raises:
        StorageError: the schema cannot be created.
    """

    component = "followups"
    migrations = FOLLOWUP_MIGRATIONS
    holding = "follow-ups"

    def add_plan(self, plan: FollowUpPlan) -> None:
        """Store a new plan (see ``FollowUpRepository.add_plan``)."""
        check_plan(plan)
        try:
            with self._store.writing() as conn:
                conn.execute(
                    "INSERT INTO followup_plans (id, version, customer_id, status, created_us, "
                    "data) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        plan.id,
                        plan.version,
                        plan.customer_id,
                        plan.status.value,
                        to_epoch_micros(plan.created_at),
                        _json(plan),
                    ),
                )
        except Conflict as exc:
            raise Conflict("follow-up plan", plan.id, "a plan with this id exists") from exc

    def get_plan(self, plan_id: str) -> FollowUpPlan:
        """The stored plan."""
        return self._get_json("follow-up plan", "followup_plans", plan_id, plan_from_dict)

    def update_plan(self, plan: FollowUpPlan) -> None:
        """Replace a plan (see ``FollowUpRepository.update_plan``)."""
        check_plan(plan)
        with self._store.writing() as conn:
            stored = self.get_plan(plan.id)
            if stored.version != plan.version - 1:
                raise stale_copy(
                    "follow-up plan", plan.id, stored.version, plan.version,
                    unchanged=plan == stored,
                )
            conn.execute(
                "UPDATE followup_plans SET version = ?, customer_id = ?, status = ?, data = ? "
                "WHERE id = ?",
                (plan.version, plan.customer_id, plan.status.value, _json(plan), plan.id),
            )

    def plans(
        self, *, customer_id: str | None = None, status: PlanStatus | None = None
    ) -> list[FollowUpPlan]:
        """Matching plans by creation then id."""
        where, params = [], []
        if customer_id is not None:
            where.append("customer_id = ?")
            params.append(customer_id)
        if status is not None:
            where.append("status = ?")
            params.append(coerce_enum(PlanStatus, status, "status").value)
        sql = "SELECT id, data FROM followup_plans"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [self._plan(r) for r in self._fetch(sql + " ORDER BY created_us, id", params)]

    def add_contact(self, record: ContactRecord) -> None:
        """Store a contact record (see ``FollowUpRepository.add_contact``)."""
        check_contact(record)
        r = record
        with self._store.writing() as conn:
            if r.plan_id is not None:
                self.get_plan(r.plan_id)
            try:
                conn.execute(
                    f"INSERT INTO followup_contacts ({_CONTACT_COLUMNS}) "
                    f"VALUES ({', '.join('?' * 10)})",
                    contact_record_row(r, _instant),
                )
            except Conflict as exc:
                raise Conflict("contact record", r.id, "a record with this id exists") from exc

    def contacts(
        self,
        *,
        customer_id: str | None = None,
        plan_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ContactRecord]:
        """Matching contact records by time then id."""
        where: list[str] = []
        params: list[Any] = []
        if customer_id is not None:
            where.append("customer_id = ?")
            params.append(customer_id)
        if plan_id is not None:
            where.append("plan_id = ?")
            params.append(plan_id)
        if since is not None:
            where.append("at_us >= ?")
            params.append(to_epoch_micros(check_aware("since", since)))
        if until is not None:
            where.append("at_us < ?")
            params.append(to_epoch_micros(check_aware("until", until)))
        sql = f"SELECT {_CONTACT_COLUMNS} FROM followup_contacts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._fetch(sql + " ORDER BY at_us, id", params)
        return [self._decode("contact record", r[0], contact_record_from_row, r) for r in rows]

    def redact_subject(self, customer_id: str, pseudonym: str) -> int:
        """Erase the goal, content and approval note of the customer's own plans and
        the notes of their contact records (in place); the number of plans and
        records changed. A plan that changes gets its version bumped by one, so a
        copy read before the erasure is a stale copy: ``update_plan`` refuses it with
        ``Conflict`` instead of writing the erased text back."""
        changed = 0
        with self._store.writing() as conn:
            for plan in self.plans(customer_id=customer_id):
                redacted = redacted_plan(plan)
                if redacted is not None:
                    redacted = attrs.evolve(redacted, version=plan.version + 1)
                    conn.execute(
                        "UPDATE followup_plans SET version = ?, data = ? WHERE id = ?",
                        (redacted.version, _json(redacted), plan.id),
                    )
                    changed += 1
            cur = conn.execute(
                "UPDATE followup_contacts SET notes = ? WHERE customer_id = ?"
                " AND notes NOT IN ('', ?)",
                (ERASED_TEXT, customer_id, ERASED_TEXT),
            )
            changed += cur.rowcount
        return changed

    def _plan(self, row: Sequence[Any]) -> FollowUpPlan:
        return self._decode_json("follow-up plan", row[0], plan_from_dict, row[1])


def _json(plan: FollowUpPlan) -> str:
    return json_text(plan_to_dict(plan))
