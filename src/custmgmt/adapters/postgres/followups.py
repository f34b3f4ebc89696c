"""Follow-up plans and contact records in PostgreSQL (see
:class:`custmgmt.followup.ports.FollowUpRepository`).

Two tables owned by the component ``"followups"``: ``followup_plans`` (the plan as
``jsonb`` beside its id, version, customer, status and creation time) and
``followup_contacts`` (one row per contact, its time as ``timestamptz`` plus the
original UTC offset). A plan's update checks its version in the ``UPDATE`` itself, so
of two concurrent writers of one version exactly one wins and the other gets a
:class:`~custmgmt.errors.Conflict`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import attrs
from psycopg.types.json import Jsonb

from custmgmt.adapters._engagement_checks import check_contact, check_plan
from custmgmt.adapters._engagement_codecs import plan_from_dict, plan_to_dict
from custmgmt.adapters._redaction import redacted_plan
from custmgmt.adapters._sql_engagement import contact_record_from_row, contact_record_row
from custmgmt.adapters.postgres._engagement import EngagementRepository, lookup_key
from custmgmt.adapters.postgres.codecs import when as _instant
from custmgmt.adapters.postgres.database import PostgresDatabase
from custmgmt.adapters.postgres.schema import Migration, Row, insert_sql, select_list
from custmgmt.domain._validate import check_aware, coerce_enum
from custmgmt.errors import Conflict, NotFound
from custmgmt.followup.plan import ContactRecord, FollowUpPlan, PlanStatus
from custmgmt.privacy.ports import ERASED_TEXT

__all__ = ["FOLLOWUP_MIGRATIONS", "PostgresFollowUpRepository"]

_V1 = """
CREATE TABLE followup_plans (
    id text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL,
    customer_id text COLLATE "C",
    status text NOT NULL,
    created_at timestamptz NOT NULL,
    data jsonb NOT NULL
);
CREATE INDEX followup_plans_by_customer ON followup_plans (customer_id);
CREATE TABLE followup_contacts (
    id text COLLATE "C" PRIMARY KEY,
    customer_id text COLLATE "C" NOT NULL,
    plan_id text COLLATE "C" REFERENCES followup_plans (id),
    at timestamptz NOT NULL,
    at_off integer NOT NULL,
    channel text NOT NULL,
    staff text NOT NULL,
    outcome text NOT NULL,
    notes text NOT NULL,
    satisfaction integer
);
CREATE INDEX followup_contacts_by_time ON followup_contacts (at, id);
CREATE INDEX followup_contacts_by_customer ON followup_contacts (customer_id, at);
CREATE INDEX followup_contacts_by_plan ON followup_contacts (plan_id, at);
"""

#: The follow-up schema's migrations, applied in order under the component ``"followups"``.
FOLLOWUP_MIGRATIONS: Final[tuple[Migration, ...]] = (_V1,)

_CONTACT: Final = (
    "id, customer_id, plan_id, at, at_off, channel, staff, outcome, notes, satisfaction"
)


class PostgresFollowUpRepository(EngagementRepository):
    """Plans and contact records in a PostgreSQL store, in its transactions.

    Args:
        store: the PostgreSQL store (``store.followups`` makes one when it opens).

    Raises:
        StorageError: the schema cannot be created.
    """

    def __init__(self, store: PostgresDatabase) -> None:
        super().__init__(store, "followups", FOLLOWUP_MIGRATIONS, "follow-ups")

    def add_plan(self, plan: FollowUpPlan) -> None:
        """Store a new plan (see ``FollowUpRepository.add_plan``)."""
        check_plan(plan)
        try:
            with self._store.writing() as conn:
                conn.execute(
                    "INSERT INTO followup_plans (id, version, customer_id, status, created_at, "
                    "data) VALUES (%s, %s, %s, %s, %s, %s)",
                    (
                        plan.id,
                        plan.version,
                        plan.customer_id,
                        plan.status.value,
                        plan.created_at,
                        Jsonb(plan_to_dict(plan)),
                    ),
                )
        except Conflict as exc:
            raise Conflict("follow-up plan", plan.id, "a plan with this id exists") from exc

    def get_plan(self, plan_id: str) -> FollowUpPlan:
        """The stored plan."""
        key = lookup_key(plan_id)
        rows = (
            []
            if key is None
            else self._fetch("SELECT id, data FROM followup_plans WHERE id = %s", (key,))
        )
        if not rows:
            raise NotFound("follow-up plan", plan_id)
        return self._plan(rows[0])

    def update_plan(self, plan: FollowUpPlan) -> None:
        """Replace a plan (see ``FollowUpRepository.update_plan``); the version is checked
        in the ``UPDATE``, so a concurrent writer of the same version updates nothing."""
        check_plan(plan)
        self._update_versioned(
            "follow-up plan",
            "followup_plans",
            plan,
            plan_from_dict,
            "customer_id = %s, status = %s, data = %s",
            (plan.customer_id, plan.status.value, Jsonb(plan_to_dict(plan))),
        )

    def plans(
        self, *, customer_id: str | None = None, status: PlanStatus | None = None
    ) -> list[FollowUpPlan]:
        """Matching plans by creation then id."""
        where: list[str] = []
        params: list[Any] = []
        if customer_id is not None:
            key = lookup_key(customer_id)
            if key is None:
                return []
            where.append("customer_id = %s")
            params.append(key)
        if status is not None:
            where.append("status = %s")
            params.append(coerce_enum(PlanStatus, status, "status").value)
        sql = "SELECT id, data FROM followup_plans"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [self._plan(r) for r in self._fetch(sql + " ORDER BY created_at, id", params)]

    def add_contact(self, record: ContactRecord) -> None:
        """Store a contact record (see ``FollowUpRepository.add_contact``)."""
        check_contact(record)
        r = record
        try:
            with self._store.writing() as conn:
                if r.plan_id is not None:
                    self.get_plan(r.plan_id)
                conn.execute(
                    insert_sql("followup_contacts", _CONTACT),
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
        if since is not None:
            where.append("at >= %s")
            params.append(check_aware("since", since))
        if until is not None:
            where.append("at < %s")
            params.append(check_aware("until", until))
        for column, value in (("customer_id", customer_id), ("plan_id", plan_id)):
            if value is not None:
                key = lookup_key(value)
                if key is None:
                    return []
                where.append(f"{column} = %s")
                params.append(key)
        sql = f"SELECT {select_list(_CONTACT)} FROM followup_contacts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._fetch(sql + " ORDER BY at, id", params)
        return [self._decode("contact record", r[0], contact_record_from_row, r) for r in rows]

    # -- erasure (custmgmt.privacy.SubjectRedaction) -----------------------------------
    def redact_subject(self, customer_id: str, pseudonym: str) -> int:
        """Erase the goal, content and approval note of the customer's own plans and
        the notes of their contact records (in place); the number of plans and
        records changed (0 when run again, or for an unknown customer).

        A plan that changes gets its version bumped by one, so a copy read before
        the erasure is a stale copy: ``update_plan`` refuses it with ``Conflict``
        instead of writing the erased text back. The customer's plans are locked
        (``FOR UPDATE``) while they are rewritten, so a concurrent ``update_plan``
        either lands before (and is redacted) or waits and then finds the version
        changed.
        """
        key = lookup_key(customer_id)
        if key is None:
            return 0
        changed = 0
        with self._store.writing() as conn:
            rows = conn.execute(
                "SELECT id, data FROM followup_plans WHERE customer_id = %s ORDER BY id FOR UPDATE",
                (key,),
            ).fetchall()
            for row in rows:
                plan = self._plan(row)
                redacted = redacted_plan(plan)
                if redacted is not None:
                    redacted = attrs.evolve(redacted, version=plan.version + 1)
                    conn.execute(
                        "UPDATE followup_plans SET version = %s, data = %s WHERE id = %s",
                        (redacted.version, Jsonb(plan_to_dict(redacted)), row[0]),
                    )
                    changed += 1
            changed += conn.execute(
                "UPDATE followup_contacts SET notes = %s WHERE customer_id = %s "
                "AND notes NOT IN ('', %s)",
                (ERASED_TEXT, key, ERASED_TEXT),
            ).rowcount
        return changed

    def _plan(self, row: Row) -> FollowUpPlan:
        return self._decode("follow-up plan", row[0], plan_from_dict, row[1])
