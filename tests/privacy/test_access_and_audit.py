"""Access control (role x action matrix) and the audit chain's tamper evidence."""

from __future__ import annotations

import attrs
import pytest
from _privacy_support import NOW, OFFICER, plain
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.errors import PermissionDenied, ValidationError
from custmgmt.privacy import (
    ACTIONS,
    AccessDenied,
    AccessPolicy,
    Actor,
    AuditEntry,
    Permission,
    Privacy,
    add_customer,
    authorise,
    read_customer,
    verify_audit_log,
    verify_chain,
)
from custmgmt.testing import FixedClock, make_customer
from custmgmt.testing.privacy_contract import make_audit_log
from custmgmt.testing.ticket_contract import make_ticket

P = Permission
#: The default policy, written out independently of the code: role -> allowed actions.
EXPECTED = {
    "analyst": {P.VIEW_MASKED, P.VIEW_AGGREGATES},
    "agent": {P.VIEW_MASKED, P.CHANGE_CUSTOMER},
    "manager": {P.VIEW_MASKED, P.VIEW_AGGREGATES, P.APPROVE_OVERRIDE, P.APPROVE_PLAN,
                P.APPROVE_APPEAL},
    "privacy_officer": {P.VIEW_MASKED, P.VIEW_CONTACT, P.EXPORT_SUBJECT, P.ERASE_SUBJECT,
                        P.VERIFY_AUDIT},
    "admin": {P.MANAGE_KEYS, P.MANAGE_ROLES, P.BACKUP, P.VERIFY_AUDIT},
}


def test_exactly_the_allowed_actions_pass_for_each_role_and_all_are_audited() -> None:
    store = MemoryStore()
    privacy = plain()
    expected_log: list[tuple[str, str, str]] = []
    for role, allowed in EXPECTED.items():
        actor = Actor(id=f"{role}-1", roles={role})
        for action in ACTIONS:
            denied: AccessDenied | None = None
            try:
                authorise(store, privacy, actor, action, "customer:C-1", purpose="矩阵测试")
            except AccessDenied as refusal:
                denied = refusal
            passed = denied is None
            assert passed == (action in allowed), (role, action)
            if denied is not None:
                assert (denied.actor, denied.action, denied.resource) == (
                    actor.id, action.value, "customer:C-1")
                assert isinstance(denied, PermissionDenied)
            expected_log.append((actor.id, action.value, "allowed" if passed else "denied"))
    log = store.privacy.audit_entries()
    assert [(e.actor, e.action, e.outcome) for e in log] == expected_log
    assert all(e.purpose == "矩阵测试" and e.at == NOW for e in log)
    assert verify_audit_log(store).ok


def test_an_agent_sees_contact_data_only_with_an_open_ticket_assigned_to_them() -> None:
    store = MemoryStore()
    privacy = plain()
    customer = make_customer(id="C-1", name="王芳", phone="13812345678")
    add_customer(store, privacy, OFFICER, customer)
    agent = Actor(id="agent-王", roles={"agent"})
    with pytest.raises(AccessDenied, match="agent-王"):
        read_customer(store, privacy, agent, "C-1")
    store.tickets.add(make_ticket("T-1", customer_id="C-1", steps=1))  # assigned to agent-王
    assert read_customer(store, privacy, agent, "C-1", purpose="工单 T-1") == customer
    other = Actor(id="agent-李", roles={"agent"})
    with pytest.raises(AccessDenied):
        read_customer(store, privacy, other, "C-1")
    store.tickets.remove("T-1")
    store.tickets.add(make_ticket("T-1", customer_id="C-1", steps=7))  # closed
    with pytest.raises(AccessDenied):
        read_customer(store, privacy, agent, "C-1")
    outcomes = [(e.actor, e.outcome) for e in store.privacy.audit_entries()
                if e.action == "view_contact"]
    assert outcomes == [("agent-王", "denied"), ("agent-王", "allowed"),
                        ("agent-李", "denied"), ("agent-王", "denied")]


def test_unknown_roles_and_permissions_are_clear_errors() -> None:
    with pytest.raises(ValidationError, match="read_everything"):
        AccessPolicy.from_mapping({"analyst": ["view_masked", "read_everything"]})
    with pytest.raises(ValidationError):
        AccessPolicy.from_mapping({})
    with pytest.raises(ValidationError):
        AccessPolicy.from_mapping({"analyst": "view_masked"})
    policy = AccessPolicy.default()
    store = MemoryStore()
    with pytest.raises(ValidationError, match="intern"):
        authorise(store, plain(), Actor(id="x", roles={"intern"}), "view_masked", "r")
    with pytest.raises(ValidationError):
        policy.allows(Actor(id="x", roles={"analyst"}), "fly")
    with pytest.raises(ValidationError):
        policy.allows(Actor(id="x", roles={"agent"}), "view_contact_assigned")
    assert store.privacy.audit_entries() == []


def test_a_custom_policy_is_data() -> None:
    policy = AccessPolicy.from_mapping({"auditor": [P.VERIFY_AUDIT, "view_masked"]})
    store = MemoryStore()
    privacy = Privacy(policy=policy, clock=FixedClock(NOW))
    auditor = Actor(id="a1", roles={"auditor"})
    authorise(store, privacy, auditor, "verify_audit", "audit")
    with pytest.raises(AccessDenied):
        authorise(store, privacy, auditor, "erase_subject", "customer:C-1")


# -- the chain ---------------------------------------------------------------------
def _tamper(entries: list[AuditEntry], how: str, i: int, j: int) -> list[AuditEntry]:
    out = list(entries)
    if how == "edit":
        out[i] = attrs.evolve(out[i], purpose=out[i].purpose + "!")
    elif how == "edit-time":
        out[i] = attrs.evolve(out[i], at=out[i].at.replace(microsecond=1))
    elif how == "edit-and-rehash":
        # Rewrites the entry and its own hash: the next link no longer matches.
        changed = attrs.evolve(out[i], actor="intruder")
        out[i] = attrs.evolve(changed, hash=changed.expected_hash())
    elif how == "delete":
        del out[i]
    elif how == "insert":
        forged = AuditEntry.first(at=NOW, actor="intruder", action="erase_subject",
                                  resource="customer:X")
        out.insert(i, attrs.evolve(forged, seq=i))
    elif how == "swap":
        out[i], out[j] = out[j], out[i]
    return out


@given(
    n=st.integers(min_value=2, max_value=25),
    how=st.sampled_from(["edit", "edit-time", "edit-and-rehash", "delete", "insert", "swap"]),
    data=st.data(),
)
def test_verify_finds_every_edit_deletion_insertion_and_reordering(
    n: int, how: str, data: st.DataObject
) -> None:
    entries = make_audit_log(n)
    head = verify_chain(entries).head
    i = data.draw(st.integers(min_value=0, max_value=n - 1), label="i")
    j = data.draw(st.integers(min_value=0, max_value=n - 1).filter(lambda k: k != i), label="j")
    if how == "edit-and-rehash" and i == n - 1:
        # The last entry rehashed is only caught against the anchored head.
        assert not verify_chain(_tamper(entries, how, i, j), head=head).ok
        return
    tampered = _tamper(entries, how, i, j)
    result = verify_chain(tampered, head=head)
    assert not result.ok
    assert result.first_bad is not None
    assert result.first_bad <= max(i, j) + 1
    if how != "delete" or i != n - 1:
        assert not verify_chain(tampered).ok  # caught even without the anchor


@given(st.integers(min_value=0, max_value=30))
def test_an_untouched_log_always_verifies(n: int) -> None:
    entries = make_audit_log(n)
    result = verify_chain(entries)
    assert result.ok
    assert result.checked == n
    assert verify_chain(entries, head=result.head).ok


def test_bad_audit_entries_are_refused() -> None:
    with pytest.raises(ValidationError):
        AuditEntry.first(at=NOW.replace(tzinfo=None), actor="a", action="x", resource="r")
    with pytest.raises(ValidationError):
        AuditEntry.first(at=NOW, actor="", action="x", resource="r")
    with pytest.raises(ValidationError):
        AuditEntry.first(at=NOW, actor="a", action="x", resource="r", outcome="maybe")
