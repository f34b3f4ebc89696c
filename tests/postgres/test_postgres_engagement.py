"""Campaigns and follow-ups on a real server, written by several processes at once: a
campaign run stores its decisions exactly once, one approval of a plan wins, and the
decisions equal those the memory store makes from the same data."""

from __future__ import annotations

import multiprocessing
import time
import traceback
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from _pg_support import OnPostgres, drop_schema, new_schema

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.postgres import PostgresStore
from custmgmt.campaigns import MemoryNotifier, SendReason, create_campaign, run_campaign, suppress
from custmgmt.campaigns.records import SendDecision
from custmgmt.errors import Conflict, NotFound, StorageError, TransitionNotAllowed
from custmgmt.followup import approve_plan
from custmgmt.followup.plan import PlanStatus
from custmgmt.segmentation import Columns
from custmgmt.testing import make_customer
from custmgmt.testing.campaign_contract import make_campaign
from custmgmt.testing.followup_contract import make_contact, make_plan

CST = timezone(timedelta(hours=8))
RUN_AT = datetime(2026, 6, 18, 14, 0, tzinfo=CST)
REGISTERED = datetime(2025, 1, 1, tzinfo=CST)
IDS = [f"客户{i:04d}" for i in range(400)]
# fork: the children inherit the test's modules; the parent holds no connection then.
FORK = multiprocessing.get_context("fork")


def _fill(store: Any) -> None:
    """400 customers, one in ten without SMS consent, two suppressed; campaign C-1."""
    store.customers.add_many(
        make_customer(id=cid, name="王芳", registered_at=REGISTERED).with_consent(
            "sms", i % 10 != 0, at=REGISTERED + timedelta(days=1)
        )
        for i, cid in enumerate(IDS)
    )
    suppress(store, IDS[1], "blacklisted", at=RUN_AT - timedelta(days=3), note="刷单")
    suppress(store, IDS[2], "unsubscribed", at=RUN_AT - timedelta(days=2))
    create_campaign(store, make_campaign(quiet_hours=None, holdout_share=0.3))


def _table() -> Columns:
    return Columns(IDS, {"stars": [5] * len(IDS)})


def _run(dsn: str, schema: str, start: Any, out: Any) -> None:
    """Run C-1 once everyone is ready; report what happened."""
    try:
        with PostgresStore(dsn, schema=schema, pool_size=1) as store:
            table = _table()
            start.wait(30)
            try:
                result = run_campaign(store, "C-1", table, MemoryNotifier(), at=RUN_AT)
            except Conflict as exc:
                out.put(("conflict", str(exc)))
            else:
                out.put(("ran", result.messages))
    except BaseException:
        out.put(("error", traceback.format_exc()))


def _hold_decisions(dsn: str, schema: str, stored: Any, release: Any, out: Any) -> None:
    """Store C-1's decisions for every customer in a transaction kept open until
    ``release`` is set, then commit."""
    try:
        with PostgresStore(dsn, schema=schema, pool_size=1) as store, store.transaction():
            store.campaigns.add_decisions([
                SendDecision(campaign_id="C-1", customer_id=cid, reason="holdout",
                             channel="sms", decided_at=RUN_AT)
                for cid in IDS
            ])
            stored.set()
            release.wait(60)
        out.put(("committed", len(IDS)))
    except BaseException:
        out.put(("error", traceback.format_exc()))


def _approve(dsn: str, schema: str, start: Any, out: Any) -> None:
    try:
        with PostgresStore(dsn, schema=schema, pool_size=1) as store:
            start.wait(30)
            try:
                approve_plan(store, "P-1", by="经理-李", at=RUN_AT, note="同意")
            except (Conflict, TransitionNotAllowed) as exc:
                out.put((type(exc).__name__, str(exc)))
            else:
                out.put(("approved", ""))
    except BaseException:
        out.put(("error", traceback.format_exc()))


def _outcomes(processes: list[Any], out: Any) -> list[tuple[str, Any]]:
    try:
        results = [out.get(timeout=240) for _ in processes]
        for process in processes:
            process.join(timeout=60)
            assert process.exitcode == 0
    finally:
        for process in processes:
            process.kill()
    return sorted(results)


def _as_memory_run() -> list[SendDecision]:
    """The decisions the memory store makes from the same data."""
    store = MemoryStore()
    _fill(store)
    run_campaign(store, "C-1", _table(), MemoryNotifier(), at=RUN_AT)
    return store.campaigns.decisions("C-1")


@pytest.mark.slow
class TestCampaignRunsFromSeveralProcesses(OnPostgres):
    def test_four_processes_running_one_campaign_store_its_decisions_once(self) -> None:
        schema = new_schema()
        with PostgresStore(self.dsn, schema=schema) as store:
            _fill(store)
        start, out = FORK.Event(), FORK.Queue()
        processes = [FORK.Process(target=_run, args=(self.dsn, schema, start, out))
                     for _ in range(4)]  # fmt: skip
        for process in processes:
            process.start()
        time.sleep(0.5)  # all four are connected and waiting
        start.set()
        outcomes = _outcomes(processes, out)
        with PostgresStore(self.dsn, schema=schema) as store:
            decisions = store.campaigns.decisions("C-1")
            campaign = store.campaigns.get_campaign("C-1")
            log = store.campaigns.send_log(RUN_AT - timedelta(days=1))
        drop_schema(self.dsn, schema)
        assert [kind for kind, _ in outcomes] == ["conflict"] * 3 + ["ran"], outcomes
        # One decision per customer, exactly the memory store's for the same data.
        assert decisions == _as_memory_run()
        assert len({d.customer_id for d in decisions}) == len(IDS) == len(decisions)
        sent = [d for d in decisions if d.reason is SendReason.SENT]
        assert outcomes[-1][1] == len(sent) == len(log)
        assert campaign.ran_at == RUN_AT
        assert campaign.version == 2  # one run recorded, by one process

    def test_a_run_meeting_uncommitted_decisions_waits_then_is_a_conflict(self) -> None:
        schema = new_schema()
        with PostgresStore(self.dsn, schema=schema) as store:
            _fill(store)
        stored, release, out = FORK.Event(), FORK.Event(), FORK.Queue()
        holder = FORK.Process(target=_hold_decisions,
                              args=(self.dsn, schema, stored, release, out))
        holder.start()
        assert stored.wait(60)
        start = FORK.Event()
        start.set()
        runner = FORK.Process(target=_run, args=(self.dsn, schema, start, out))
        runner.start()
        time.sleep(2.0)
        # The run found the campaign not run yet and now waits on the held rows' keys.
        waiting = out.empty() and runner.is_alive()
        release.set()
        outcomes = _outcomes([holder, runner], out)
        with PostgresStore(self.dsn, schema=schema) as store:
            decisions = store.campaigns.decisions("C-1")
            campaign = store.campaigns.get_campaign("C-1")
        drop_schema(self.dsn, schema)
        assert waiting
        assert [kind for kind, _ in outcomes] == ["committed", "conflict"], outcomes
        assert "one per customer and campaign" in outcomes[1][1]
        # The held transaction's decisions only; the run left nothing, not even ran_at.
        assert [d.reason for d in decisions] == [SendReason.HOLDOUT] * len(IDS)
        assert campaign.ran_at is None
        assert campaign.version == 1


@pytest.mark.slow
class TestPlanApprovalsFromSeveralProcesses(OnPostgres):
    def test_one_of_four_concurrent_approvals_is_recorded(self) -> None:
        schema = new_schema()
        with PostgresStore(self.dsn, schema=schema) as store:
            store.followups.add_plan(make_plan(
                requires_approval=True, approver="经理-李", status=PlanStatus.PENDING_APPROVAL
            ))
        start, out = FORK.Event(), FORK.Queue()
        processes = [FORK.Process(target=_approve, args=(self.dsn, schema, start, out))
                     for _ in range(4)]  # fmt: skip
        for process in processes:
            process.start()
        time.sleep(0.5)
        start.set()
        outcomes = _outcomes(processes, out)
        with PostgresStore(self.dsn, schema=schema) as store:
            plan = store.followups.get_plan("P-1")
        drop_schema(self.dsn, schema)
        kinds = [kind for kind, _ in outcomes]
        assert kinds.count("approved") == 1, outcomes
        # The others read the plan before (a stale version) or after (no longer pending).
        assert set(kinds) <= {"approved", "Conflict", "TransitionNotAllowed"}
        assert plan.status is PlanStatus.ACTIVE
        assert plan.version == 2
        assert plan.approval is not None
        assert plan.approval.by == "经理-李"


class TestKeysRowsAndUpgrades(OnPostgres):
    def test_keys_that_are_not_valid_text_match_nothing(self) -> None:
        # As in the memory store: no stored row can have such a key, so it matches
        # nothing instead of failing in the driver.
        schema = new_schema()
        memory = MemoryStore()
        with PostgresStore(self.dsn, schema=schema) as store:
            for s in (store, memory):
                s.campaigns.add_campaign(make_campaign())
                s.followups.add_plan(make_plan())
                s.followups.add_contact(make_contact(plan_id="P-1"))
            for s in (store, memory):
                for bad in ("\ud800", 5):
                    assert s.campaigns.decisions(bad) == []
                    assert s.campaigns.count_decisions(bad) == 0
                    assert s.campaigns.draws(bad) == []
                    assert s.followups.plans(customer_id=bad) == []
                    assert s.followups.contacts(plan_id=bad) == []
                    assert s.followups.contacts(customer_id=bad) == []
                    for lookup in (s.campaigns.get_campaign, s.campaigns.get_draw,
                                   s.followups.get_plan):
                        with pytest.raises(NotFound):
                            lookup(bad)
                    with pytest.raises(NotFound):
                        s.campaigns.remove_suppression(bad, "erased")  # type: ignore[arg-type]
            assert len(store.followups.contacts(customer_id="C-1")) == 1
        drop_schema(self.dsn, schema)

    def test_a_row_changed_behind_the_store_is_a_storage_error_naming_it(self) -> None:
        schema = new_schema()
        with PostgresStore(self.dsn, schema=schema) as store:
            store.campaigns.add_campaign(make_campaign())
            store.followups.add_plan(make_plan())
            with self.connect(autocommit=True) as admin:
                admin.execute(f"UPDATE {schema}.campaigns SET data = data - 'salt'")
                admin.execute(f"UPDATE {schema}.followup_plans SET data = "
                              "jsonb_set(data, '{cadence}', '\"FREQ=NEVER\"')")
            with pytest.raises(StorageError, match="stored campaign 'C-1' is not valid"):
                store.campaigns.list_campaigns()
            with pytest.raises(StorageError, match="stored follow-up plan 'P-1' is not valid"):
                store.followups.get_plan("P-1")
        drop_schema(self.dsn, schema)

    def test_a_store_made_before_these_capabilities_gets_their_tables_when_reopened(
        self,
    ) -> None:
        schema = new_schema()
        PostgresStore(self.dsn, schema=schema).close()
        # Forget the two components, as in a store written by an earlier version.
        with self.connect(autocommit=True) as admin:
            admin.execute(f"DELETE FROM {schema}.custmgmt_schema "
                          "WHERE component IN ('campaigns', 'followups')")
            for table in ("campaign_sends", "campaign_suppressions", "campaign_draws",
                          "campaigns", "followup_contacts", "followup_plans"):
                admin.execute(f"DROP TABLE {schema}.{table}")
        with PostgresStore(self.dsn, schema=schema, create=False) as store:
            assert store.schema_version("campaigns") == store.schema_version("followups") == 1
            assert store.campaigns.list_campaigns() == []
            assert store.followups.contacts() == []
            store.campaigns.add_campaign(make_campaign())
            assert store.campaigns.get_campaign("C-1") == make_campaign()
        drop_schema(self.dsn, schema)


class TestRedaction(OnPostgres):
    def test_redact_subject_erases_the_same_text_as_sqlite_and_only_once(self) -> None:
        from custmgmt.adapters.sqlite import SQLiteStore
        from custmgmt.privacy import ERASED_TEXT, SubjectRedaction

        def fill(s: Any) -> None:
            for cid in ("C-1", "C-2"):
                plan = make_plan(f"P-{cid}", customer_id=cid, requires_approval=True,
                                 approver="经理-李", status=PlanStatus.PENDING_APPROVAL,
                                 goal=f"{cid} 的私事", content=f"{cid} 的女儿住院")
                s.followups.add_plan(plan)
                s.followups.update_plan(plan.approved("经理-李", RUN_AT, f"{cid} 批准"))
                s.followups.add_contact(make_contact(f"K-{cid}", customer_id=cid,
                                                     plan_id=plan.id, notes=f"{cid} 说了私事"))
                s.followups.add_contact(make_contact(f"K0-{cid}", customer_id=cid, notes=""))
            s.followups.add_plan(make_plan("P-seg", customer_id=None, segment="VIP"))

        def state(s: Any) -> Any:
            return s.followups.plans(), s.followups.contacts()

        schema = new_schema()
        sqlite = SQLiteStore(":memory:")
        with PostgresStore(self.dsn, schema=schema) as store:
            assert isinstance(store.followups, SubjectRedaction)
            fill(store)
            fill(sqlite)
            assert store.followups.redact_subject("C-1", "ANON-1") == \
                sqlite.followups.redact_subject("C-1", "ANON-1") == 2
            assert state(store) == state(sqlite)
            plan = store.followups.get_plan("P-C-1")
            # approved at version 2; the redaction is a change a stale copy must not undo
            assert (plan.goal, plan.content, plan.version) == (ERASED_TEXT, ERASED_TEXT, 3)
            assert plan.approval is not None
            assert plan.approval.note == ERASED_TEXT
            assert store.followups.get_plan("P-C-2").goal == "C-2 的私事"  # not this subject
            # Again, or for nobody: nothing changes.
            assert store.followups.redact_subject("C-1", "ANON-1") == 0
            assert store.followups.redact_subject("nobody", "ANON-9") == 0
            assert store.followups.redact_subject("\ud800", "ANON-9") == 0
            # Inside a transaction that fails, nothing is redacted.
            def redact_then_fail() -> None:
                with store.transaction():
                    assert store.followups.redact_subject("C-2", "ANON-2") == 2
                    raise RuntimeError("roll back")

            with pytest.raises(RuntimeError):
                redact_then_fail()
            assert store.followups.get_plan("P-C-2").goal == "C-2 的私事"
        sqlite.close()
        drop_schema(self.dsn, schema)
