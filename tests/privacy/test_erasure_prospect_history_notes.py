"""What an erasure does to a linked prospect's stage history and lost reason.

Was: ``redact_subject`` of the prospect repositories erased a linked person's name,
the collected information and the contact records, but left each stage change's
``note`` (staff write why they moved it: "王先生说预算不够") and the prospect's
``lost_reason`` (the note of the move into a lost stage) readable, in the SQLite
file too. Now a non-empty note and the lost reason become ``ERASED_TEXT`` (an empty
note stays empty), in place, inside the erasure's transaction; the prospect's version
goes up by one, so a copy read before cannot write the notes back.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from _privacy_support import NOW, OFFICER, encrypted, file_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import Conflict
from custmgmt.privacy import ERASED_TEXT, add_customer, erase_subject
from custmgmt.prospects import DEFAULT_PIPELINE, as_of_view, loss_reasons
from custmgmt.prospects.prospect import Prospect
from custmgmt.prospects.services import move_prospect
from custmgmt.testing import make_customer

PHONE = "13812345678"
NAME = "欧阳娜娜"
OPENED = "展会上认识欧阳女士"  # the creation's note
QUALIFIED = f"{NAME}说预算充足, 电话 {PHONE}"
LOST = "王先生说预算不够"
OTHER_LOST = "王芳说预算不够"  # another customer's: kept
SECRETS = (OPENED, QUALIFIED, LOST, "欧阳说下月再谈")


def _new(pid: str, customer_id: str, *, kind: str = "person", name: str = NAME,
         note: str = "") -> Prospect:
    return DEFAULT_PIPELINE.new_prospect(
        id=pid, name=name, kind=kind, source="展会", owner="sales-1", actor="sales-1",
        at=NOW, customer_id=customer_id, note=note)


def _move(prospect: Prospect, to: str, days: int, note: str = "") -> Prospect:
    return DEFAULT_PIPELINE.move(prospect, to, at=NOW + timedelta(days=days),
                                 actor="sales-1", note=note)


def _fill(shop: Any) -> None:
    privacy = encrypted()
    for cid, name in (("C-1", NAME), ("C-2", "王芳")):
        add_customer(shop, privacy, OFFICER, make_customer(id=cid, name=name, phone=PHONE))
    # C-1: PR-1 lost with a reason; PR-2 qualified (one note, one empty note).
    # C-2: PR-3 lost with a reason of its own.
    pr1 = _new("PR-1", "C-1", note=OPENED)
    pr1 = _move(_move(pr1, "qualified", 1, QUALIFIED), "lost", 2, LOST)
    pr2 = _move(_new("PR-2", "C-1", kind="business", name="杭州某某贸易有限公司"),
                "qualified", 1, "欧阳说下月再谈")
    pr3 = _move(_new("PR-3", "C-2", name="王芳"), "lost", 1, OTHER_LOST)
    for prospect in (pr1, pr2, pr3):
        shop.prospects.add(prospect)


def _shape(prospect: Prospect, bumped: int = 0) -> Any:
    """Everything of a prospect's history but the notes (its version plus ``bumped``)."""
    return (prospect.id, prospect.version + bumped, prospect.stage, prospect.created_at,
            [(e.at, e.from_stage, e.to_stage, e.actor, e.approved_by)
             for e in prospect.history])


def test_an_erasure_erases_the_history_notes_and_the_lost_reason(
    store_of_each_kind: Any,
) -> None:
    store = store_of_each_kind
    _fill(store)
    before = {p.id: p for p in store.prospects.find()}
    erase_subject(store, encrypted(), OFFICER, "C-1")

    lost, open_ = store.prospects.get("PR-1"), store.prospects.get("PR-2")
    assert [e.note for e in lost.history] == [ERASED_TEXT] * 3
    assert lost.lost_reason == ERASED_TEXT
    assert [e.note for e in open_.history] == ["", ERASED_TEXT]  # empty stays empty
    assert open_.lost_reason is None
    # Stages, times, actors and approvals kept; the version goes up by one (a copy
    # read before the erasure is stale).
    assert [_shape(p) for p in (lost, open_)] == [
        _shape(before[i], bumped=1) for i in ("PR-1", "PR-2")]
    # Another customer's prospect is untouched.
    assert store.prospects.get("PR-3") == before["PR-3"]
    # Read back, the histories are still paths of the pipeline: the move into "lost"
    # needs a note and has one (ERASED_TEXT).
    for prospect in store.prospects.find():
        DEFAULT_PIPELINE.check_path(prospect)
    # The loss analysis counts an erased reason under ERASED_TEXT.
    assert loss_reasons(store.prospects.find(), DEFAULT_PIPELINE) == sorted(
        [(ERASED_TEXT, 1), (OTHER_LOST, 1)], key=lambda kv: (-kv[1], kv[0]))
    past = as_of_view(store.prospects.find(), DEFAULT_PIPELINE,
                      as_of=NOW + timedelta(days=3))
    assert {p.id: p.lost_reason for p in past} == {
        "PR-1": ERASED_TEXT, "PR-2": None, "PR-3": OTHER_LOST}


def test_a_prospect_read_after_the_erasure_moves_on_and_a_stale_one_cannot_write_back(
    store_of_each_kind: Any,
) -> None:
    store = store_of_each_kind
    _fill(store)
    stale = store.prospects.get("PR-2")
    erase_subject(store, encrypted(), OFFICER, "C-1")
    # A copy read before the erasure carries the old notes: writing it back is refused.
    with pytest.raises(Conflict):
        store.prospects.update(_move(stale, "lost", 3, "客户不再回复"))
    moved = move_prospect(store, "PR-2", "lost", at=NOW + timedelta(days=3),
                          actor="sales-1", note="客户不再回复")
    assert store.prospects.get("PR-2") == moved
    assert [e.note for e in moved.history] == ["", ERASED_TEXT, "客户不再回复"]
    assert moved.lost_reason == "客户不再回复"


def test_redaction_of_history_notes_counts_each_prospect_once_and_runs_again_without_change(
    store_of_each_kind: Any,
) -> None:
    store = store_of_each_kind
    # Name already the pseudonym, no info, no contacts: only notes to erase.
    prospect = _move(_move(_new("PR-1", "C-1", name="匿名-1", note=OPENED), "qualified", 1,
                           QUALIFIED), "lost", 2, LOST)
    store.prospects.add(prospect)
    assert store.prospects.redact_subject("C-1", "匿名-1") == 1
    after = store.prospects.get("PR-1")
    assert ([e.note for e in after.history], after.lost_reason) == (
        [ERASED_TEXT] * 3, ERASED_TEXT)
    assert store.prospects.redact_subject("C-1", "匿名-1") == 0
    assert store.prospects.redact_subject("无此人", "匿名-2") == 0
    assert store.prospects.get("PR-1") == after


def test_a_failed_erasure_leaves_the_history_notes_as_they_were(
    store_of_each_kind: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = store_of_each_kind
    _fill(store)
    before = store.prospects.find()

    def refuse(self: Any, record: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(type(store.privacy), "record_erasure", refuse)
    with pytest.raises(RuntimeError):
        erase_subject(store, encrypted(), OFFICER, "C-1")
    assert store.prospects.find() == before


def test_no_history_note_is_left_in_the_sqlite_file_or_its_wal(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    with SQLiteStore(path) as shop:
        _fill(shop)
        data = file_bytes(path)
        assert all(secret.encode() in data for secret in SECRETS)  # the check can see
        erase_subject(shop, encrypted(), OFFICER, "C-1")
        data = file_bytes(path)
    for secret in SECRETS:
        assert secret.encode() not in data, secret
    assert OTHER_LOST.encode() in data  # another customer's note is kept


_NOTE = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=20)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(opened=_NOTE, qualified=_NOTE, reason=_NOTE.filter(str.strip))
def test_redaction_erases_notes_keeps_empty_notes_empty_and_is_idempotent(
    kind: str, opened: str, qualified: str, reason: str
) -> None:
    shop: Any = MemoryStore() if kind == "memory" else SQLiteStore(":memory:")
    try:
        prospect = _move(_move(_new("PR-1", "C-1", note=opened), "qualified", 1, qualified),
                         "lost", 2, reason)
        shop.prospects.add(prospect)
        shop.prospects.redact_subject("C-1", "匿名-1")
        after = shop.prospects.get("PR-1")
        assert [e.note for e in after.history] == [
            "" if note == "" else ERASED_TEXT for note in (opened, qualified, reason)]
        assert after.lost_reason == ERASED_TEXT
        assert _shape(after) == _shape(prospect, bumped=1)  # the name changed at least
        DEFAULT_PIPELINE.check_path(after)
        assert shop.prospects.redact_subject("C-1", "匿名-1") == 0
        assert shop.prospects.get("PR-1") == after
    finally:
        if kind == "sqlite":
            shop.close()
