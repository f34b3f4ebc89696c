"""A Conflict about a stale copy or a taken id says only what is true, in the same
words in every adapter (the stores' own contract checks them on memory, SQLite and
PostgreSQL: ``StoreContract``); here the shared wording of the other repositories
that use it (tickets, risk, prospects, the service team)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.adapters._checks import check_update, first_taken_id, stale_copy, taken_id
from custmgmt.adapters._risk_rows import check_log_update
from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import Conflict
from custmgmt.prospects._storage import check_versioned_update
from custmgmt.testing import make_customer
from custmgmt.tickets import Ticket
from custmgmt.tickets.workflow import DEFAULT_WORKFLOW

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@given(
    stored=st.integers(1, 10**6),
    version=st.integers(1, 10**6),
    unchanged=st.sampled_from([None, True, False]),
)
def test_a_stale_copy_message_never_names_a_version_the_copy_was_not_made_from(
    stored: int, version: int, unchanged: bool | None
) -> None:
    if version == stored + 1:
        version += 1  # that one is no conflict
    if unchanged and version != stored:
        unchanged = False  # equal to the stored entity means the same version
    error = stale_copy("customer", "c-1", stored, version, unchanged=unchanged)
    text = str(error)
    assert "made from version" not in text
    assert "version 0" not in text
    assert f"stored version is {stored}" in text
    assert f"version {version}" in text or (unchanged and version == stored)
    assert (error.expected_version, error.actual_version) == (version - 1, stored)


def test_each_kind_of_stale_copy_is_told_apart() -> None:
    said = {
        "new": stale_copy("customer", "c", 3, 1),
        "older": stale_copy("customer", "c", 3, 2),
        "same, unknown": stale_copy("customer", "c", 3, 3),
        "same, changed": stale_copy("customer", "c", 3, 3, unchanged=False),
        "same, unchanged": stale_copy("customer", "c", 3, 3, unchanged=True),
        "ahead": stale_copy("customer", "c", 3, 6),
        "expected": stale_copy("ticket", "t", 3, 5, expected_version=2),
    }
    assert "version 1, never changed" in str(said["new"])
    assert "version 2, older: it is stale" in str(said["older"])
    assert "either it is unchanged, or another version 3 was stored first" in str(
        said["same, unknown"]
    )
    assert "differs from it: another version 3 was stored first" in str(said["same, changed"])
    assert "unchanged: there is nothing to update" in str(said["same, unchanged"])
    assert "version 6, 3 changes ahead" in str(said["ahead"])
    assert "stored version is 3, not version 2 as this update expects" in str(said["expected"])
    assert said["expected"].expected_version == 2
    assert len({str(e) for e in said.values()}) == len(said)


def _ticket() -> Ticket:
    return DEFAULT_WORKFLOW.open(
        id="T-1", customer_id="c-1", category="inquiry", priority="normal",
        subject="发票", at=T0, actor="web",
    )


def _assign(ticket: Ticket, who: str, minutes: int) -> Ticket:
    return DEFAULT_WORKFLOW.fire(
        ticket, "assign", at=T0 + timedelta(minutes=minutes), actor="lead", assignee=who
    )


@pytest.mark.parametrize("store", [MemoryStore, lambda: SQLiteStore(":memory:")])
def test_updating_a_ticket_with_an_unchanged_stale_copy_says_it_is_older(store: object) -> None:
    opened = _ticket()
    assigned = _assign(opened, "alice", 1)
    again = DEFAULT_WORKFLOW.fire(assigned, "start", at=T0 + timedelta(minutes=2), actor="a")
    repo = store().tickets  # type: ignore[operator]
    repo.add(opened)
    repo.update(assigned)
    repo.update(again)
    with pytest.raises(Conflict) as caught:
        repo.update(assigned)  # read at version 2, never changed: not "made from 1"
    assert str(caught.value) == (
        "ticket 'T-1': stored version is 3, but this copy is version 2, older: it is "
        "stale (reload, apply the change again, then update)"
    )


def test_the_ticket_check_says_an_unchanged_copy_is_unchanged() -> None:
    opened = _ticket()
    assigned = _assign(opened, "alice", 1)
    with pytest.raises(Conflict, match="that version, unchanged"):
        check_update(assigned, assigned, None)


def test_the_risk_log_check_says_a_copy_of_version_1_was_never_changed() -> None:
    stored = make_customer(id="c-1").update_profile(at=T0 + timedelta(days=400), region="华南")

    class Logged:  # what check_log_update reads of an alert, restriction or appeal
        def __init__(self, version: int) -> None:
            self.id, self.version, self.events = "A-1", version, ()

    with pytest.raises(Conflict) as caught:
        check_log_update("alert", Logged(stored.version), Logged(1))
    assert str(caught.value) == (
        "alert 'A-1': stored version is 2, but this copy is version 1, never changed: "
        "update takes the stored version changed once (get it, change it, then update)"
    )


def test_the_prospect_and_team_check_does_not_guess_what_a_copy_was_made_from() -> None:
    with pytest.raises(Conflict) as caught:
        check_versioned_update("prospect", "P-1", 3, 3, None)
    assert "made from" not in str(caught.value)
    assert "either it is unchanged, or another version 3 was stored first" in str(caught.value)
    with pytest.raises(Conflict, match="that version, unchanged"):
        check_versioned_update("agent", "A-1", 3, 3, None, unchanged=True)
    with pytest.raises(Conflict, match="not version 2 as this update expects"):
        check_versioned_update("agent", "A-1", 3, 5, 2)


@given(ids=st.lists(st.sampled_from(["a", "b", "c", "x", "y"]), max_size=8),
       stored=st.sets(st.sampled_from(["a", "b", "c", "x", "y"])))
def test_the_first_taken_id_is_the_first_offender_in_batch_order(
    ids: list[str], stored: set[str]
) -> None:
    expected = None
    for n, key in enumerate(ids):
        if key in stored or key in ids[:n]:
            expected = taken_id("thing", key, stored=key in stored)
            break
    found = first_taken_id("thing", ids, stored)
    assert (None if found is None else str(found)) == (
        None if expected is None else str(expected)
    )
    # Checked part by part, with the ids seen so far carried over: the same answer.
    seen: set[str] = set()
    parts = [ids[i : i + 3] for i in range(0, len(ids), 3)]
    by_parts = next(
        (c for c in (first_taken_id("thing", p, stored, seen) for p in parts) if c), None
    )
    assert (None if by_parts is None else str(by_parts)) == (
        None if expected is None else str(expected)
    )


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_stale_override_update_is_worded_like_every_other_stale_copy(kind: str) -> None:
    from custmgmt.rating import Override

    store = MemoryStore() if kind == "memory" else SQLiteStore(":memory:")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    store.customers.add(make_customer(id="c-1"))
    requested = Override.request(
        id="ov-1", customer_id="c-1", stars=5, reason="key account", requested_by="ana",
        at=at, expires_at=at + timedelta(days=30),
    )
    store.ratings.add_override(requested)
    approved = requested.approve(by="bo", at=at)
    store.ratings.update_override(approved)
    with pytest.raises(Conflict) as caught:
        store.ratings.update_override(approved)  # unchanged stale copy, stored again
    assert "made from version" not in str(caught.value)
    assert caught.value.actual_version == approved.version
    store.close()


def test_the_demo_masks_a_password_whatever_the_schemes_case() -> None:
    from custmgmt.cli.demo import _shown

    for scheme in ("postgresql", "PostgreSQL", "POSTGRES"):
        assert _shown(f"{scheme}://u:s3cret@h/db") == f"{scheme}://u:***@h/db"


@pytest.mark.parametrize("store", [MemoryStore, lambda: SQLiteStore(":memory:")])
def test_updating_a_ticket_with_its_never_changed_first_copy_is_a_stale_copy(
    store: object,
) -> None:
    # It was "ValidationError expected_version: got None, expected an int from 1 to 0",
    # naming an argument the caller never passed and an empty range.
    opened = _ticket()
    repo = store().tickets  # type: ignore[operator]
    repo.add(opened)
    repo.update(_assign(opened, "alice", 1))
    with pytest.raises(Conflict) as caught:
        repo.update(opened)
    assert "stored version is 2, but this copy is version 1, never changed" in str(caught.value)


def test_a_never_changed_prospect_or_agent_copy_is_a_stale_copy() -> None:
    with pytest.raises(Conflict, match="version 1, never changed"):
        check_versioned_update("prospect", "P-1", 2, 1, None, unchanged=False)


@pytest.mark.parametrize("key", ["\ud800", "a\x00b"])
def test_a_ticket_key_that_can_be_no_id_is_not_found_in_sqlite(key: str) -> None:
    # SQLite raised UnicodeEncodeError for a lone surrogate; memory said NotFound.
    from custmgmt.errors import NotFound

    for store in (MemoryStore(), SQLiteStore(":memory:")):
        with pytest.raises(NotFound):
            store.tickets.get(key)
        with pytest.raises(NotFound):
            store.tickets.remove(key)
        assert store.tickets.customer_dependents(key) == {"tickets": 0}
