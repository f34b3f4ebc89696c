"""An erasure bumps the version of the prospects and follow-up plans it redacts, so a
copy read before it is a stale copy and cannot write the personal text back.

Was: ``redact_subject`` rewrote a linked prospect (a person's name, the collected
information) and a customer's follow-up plans (goal, content, approval note) in
place, versions kept. A host that had read a prospect or plan before the erasure
could change that copy afterwards and save it: the optimistic-concurrency check
(``copy.version == stored version + 1``) passed, and the name "欧阳娜娜", the phone and
the plan's text were stored again. Now a redaction is a change (version + 1), and
such a save is the library's stale-copy ``Conflict``, in memory, SQLite and
PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any

import attrs
import pytest
from _privacy_support import OFFICER, encrypted
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custmgmt.errors import Conflict
from custmgmt.followup.plan import FollowUpPlan, PlanStatus
from custmgmt.privacy import ERASED_TEXT, add_customer, erase_subject
from custmgmt.prospects.prospect import Prospect
from custmgmt.testing import make_customer
from custmgmt.testing.followup_contract import make_plan
from custmgmt.testing.prospect_contract import make_prospect

NAME = "欧阳娜娜"
PHONE = "13812345678"
GOAL = f"了解{NAME}女儿住院后的情况"
CONTENT = f"致电 {PHONE} 询问{NAME}的近况"
APPROVAL = f"同意, {NAME}是老客户"


@pytest.fixture
def store(store_of_each_kind: Any) -> Any:
    return store_of_each_kind


def _customer(store: Any, cid: str = "C-1") -> None:
    add_customer(store, encrypted(), OFFICER, make_customer(id=cid, name=NAME, phone=PHONE))


def _person(pid: str, cid: str = "C-1") -> Prospect:
    # No stage history note: only the name and the information are personal, so the
    # history of a copy read before the erasure still extends the stored one.
    return make_prospect(pid, name=NAME, kind="person", info={"电话": PHONE},
                         customer_id=cid)


def _holds_no_personal_text(prospect: Prospect) -> bool:
    text = repr(prospect)
    return NAME not in text and PHONE not in text


def test_a_prospect_read_before_the_erasure_cannot_write_the_name_back(store: Any) -> None:
    _customer(store)
    store.prospects.add(_person("PR-1"))
    stale = store.prospects.get("PR-1")
    record = erase_subject(store, encrypted(), OFFICER, "C-1")

    with pytest.raises(Conflict) as caught:
        store.prospects.update(stale.revised(owner="销售-2"))
    # The stale-copy Conflict: the stored version is the redacted one, version + 1.
    assert (caught.value.entity, caught.value.key) == ("prospect", "PR-1")
    assert (caught.value.expected_version, caught.value.actual_version) == (
        stale.version, stale.version + 1)
    assert "was stored first" in str(caught.value)
    assert NAME not in str(caught.value)
    assert PHONE not in str(caught.value)

    fresh = store.prospects.get("PR-1")
    assert (fresh.name, fresh.info, fresh.version) == (record.pseudonym, (), stale.version + 1)
    assert (fresh.stage, fresh.history) == (stale.stage, stale.history)  # no stage change
    # A copy read after the erasure is saved as usual, without the personal data.
    store.prospects.update(fresh.revised(owner="销售-2"))
    saved = store.prospects.get("PR-1")
    assert (saved.owner, saved.version) == ("销售-2", stale.version + 2)
    assert _holds_no_personal_text(saved)


def test_redact_subject_alone_refuses_the_stale_prospect_and_runs_again_unchanged(
    store: Any,
) -> None:
    store.prospects.add(_person("PR-1"))
    store.prospects.add(_person("PR-2", cid="C-2"))  # another customer's: untouched
    stale, other = store.prospects.get("PR-1"), store.prospects.get("PR-2")
    assert store.prospects.redact_subject("C-1", "匿名-1") == 1
    with pytest.raises(Conflict):
        store.prospects.update(stale.revised(owner="销售-2"))
    assert store.prospects.get("PR-1").version == stale.version + 1
    # Run again: nothing left to change, so the version stays.
    assert store.prospects.redact_subject("C-1", "匿名-1") == 0
    assert store.prospects.get("PR-1").version == stale.version + 1
    assert store.prospects.get("PR-2") == other
    store.prospects.update(other.revised(owner="销售-2"))  # its copy is still current


def test_a_prospect_with_only_history_notes_to_erase_gets_a_new_version_too(
    store: Any,
) -> None:
    # A business prospect (its name is no personal data) without information, whose
    # one personal text is a stage history note: in SQL only the history rows change.
    prospect = make_prospect("PR-1", name="杭州某某贸易有限公司", kind="business", info={},
                             customer_id="C-1", note=f"{NAME}介绍的客户")
    store.prospects.add(prospect)
    stale = store.prospects.get("PR-1")
    assert store.prospects.redact_subject("C-1", "匿名-1") == 1
    fresh = store.prospects.get("PR-1")
    assert [e.note for e in fresh.history] == [ERASED_TEXT]
    assert fresh.version == stale.version + 1
    with pytest.raises(Conflict):
        store.prospects.update(stale.revised(owner="销售-2"))


def _approved_plan(store: Any, pid: str, cid: str = "C-1") -> FollowUpPlan:
    plan = make_plan(pid, customer_id=cid, goal=GOAL, content=CONTENT,
                     requires_approval=True, approver="经理-1",
                     status="pending_approval")
    store.followups.add_plan(plan)
    store.followups.update_plan(plan.approved("经理-1", plan.created_at + timedelta(hours=1),
                                              APPROVAL))
    approved: FollowUpPlan = store.followups.get_plan(pid)
    return approved


def test_a_plan_read_before_the_erasure_cannot_write_its_text_back(store: Any) -> None:
    _customer(store)
    stale = _approved_plan(store, "P-1")
    erase_subject(store, encrypted(), OFFICER, "C-1")

    with pytest.raises(Conflict) as caught:
        store.followups.update_plan(stale.with_status(PlanStatus.PAUSED))
    assert (caught.value.entity, caught.value.key) == ("follow-up plan", "P-1")
    assert caught.value.actual_version == stale.version + 1
    assert NAME not in str(caught.value)

    fresh = store.followups.get_plan("P-1")
    assert fresh.approval is not None
    assert (fresh.goal, fresh.content, fresh.approval.note) == (ERASED_TEXT,) * 3
    assert (fresh.status, fresh.version) == (PlanStatus.ACTIVE, stale.version + 1)
    # A copy read after the erasure moves on as usual.
    store.followups.update_plan(fresh.with_status(PlanStatus.PAUSED))
    paused = store.followups.get_plan("P-1")
    assert (paused.status, paused.goal, paused.version) == (
        PlanStatus.PAUSED, ERASED_TEXT, stale.version + 2)


def test_a_pending_plan_read_before_the_erasure_cannot_be_approved_with_its_text(
    store: Any,
) -> None:
    plan = make_plan("P-1", customer_id="C-1", goal=GOAL, content=CONTENT,
                     requires_approval=True, approver="经理-1", status="pending_approval")
    store.followups.add_plan(plan)
    other = make_plan("P-2", customer_id="C-2", goal=GOAL, content=CONTENT)
    store.followups.add_plan(other)
    stale = store.followups.get_plan("P-1")
    assert store.followups.redact_subject("C-1", "匿名-1") == 1
    with pytest.raises(Conflict):
        store.followups.update_plan(stale.approved("经理-1", stale.created_at, "同意"))
    assert store.followups.get_plan("P-1").goal == ERASED_TEXT
    # Run again: nothing to change, the version stays; another customer's plan is kept.
    assert store.followups.redact_subject("C-1", "匿名-1") == 0
    assert store.followups.get_plan("P-1").version == stale.version + 1
    assert store.followups.get_plan("P-2") == other


_ids = count()
_INFO = st.dictionaries(st.sampled_from(["电话", "微信", "地址"]),
                        st.sampled_from([PHONE, f"{NAME}的微信", "杭州市西湖区"]), max_size=3)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kind=st.sampled_from(["person", "business"]), info=_INFO,
       note=st.sampled_from(["", f"{NAME}来电"]), goal=st.sampled_from([GOAL, "了解使用体验"]))
def test_after_an_erasure_no_save_of_an_earlier_copy_stores_personal_text(
    store: Any, kind: str, info: dict[str, str], note: str, goal: str,
) -> None:
    # Whatever a linked prospect or a plan holds: a copy read before the redaction
    # is either refused, or (when the redaction changed nothing) what it saves
    # holds no personal text; the version goes up exactly when something changed.
    n = next(_ids)
    cid, pid, plan_id = f"C-{n}", f"PR-{n}", f"P-{n}"
    name = NAME if kind == "person" else "杭州某某贸易有限公司"
    store.prospects.add(make_prospect(pid, name=name, kind=kind, info=info,
                                      customer_id=cid, note=note))
    store.followups.add_plan(make_plan(plan_id, customer_id=cid, goal=goal))
    prospect, plan = store.prospects.get(pid), store.followups.get_plan(plan_id)
    store.prospects.redact_subject(cid, "匿名-1")
    store.followups.redact_subject(cid, "匿名-1")

    redacted = store.prospects.get(pid)
    changed = attrs.evolve(redacted, version=prospect.version) != prospect
    assert redacted.version == prospect.version + changed
    try:
        store.prospects.update(prospect.revised(owner="销售-2"))
    except Conflict:
        assert redacted.version == prospect.version + 1
    assert _holds_no_personal_text(store.prospects.get(pid))

    assert store.followups.get_plan(plan_id).version == plan.version + 1  # goal, content
    with pytest.raises(Conflict):
        store.followups.update_plan(plan.with_status(PlanStatus.PAUSED))
    assert store.followups.get_plan(plan_id).goal == ERASED_TEXT
