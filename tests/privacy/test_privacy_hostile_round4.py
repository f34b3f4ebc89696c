"""Hostile round 4: garbled key files and key ids, what an erasure leaves in the
process (the loyalty running state), and what an export must hold (every bundled
capability's records on the customer)."""

from __future__ import annotations

import getpass
import json
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _privacy_support import ADMIN, NOW, OFFICER, encrypted, plain
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.campaigns.records import Suppression
from custmgmt.cli import main
from custmgmt.errors import ValidationError
from custmgmt.loyalty import _running
from custmgmt.loyalty.services import adjust_points, statement
from custmgmt.privacy import (
    ERASED_TEXT,
    FieldCipher,
    FileKeyProvider,
    Privacy,
    StaticKeyProvider,
    add_customer,
    erase_subject,
    export_subject,
    export_subject_json,
    read_customer,
    rotate_keys,
    verify_audit_log,
    write_key_file,
)
from custmgmt.prospects.prospect import ContactRecord
from custmgmt.risk.alerts import Alert, AlertFinding
from custmgmt.risk.restrictions import APPEAL_WORKFLOW
from custmgmt.testing import FixedClock, make_customer
from custmgmt.testing.followup_contract import make_contact, make_plan
from custmgmt.testing.prospect_contract import make_prospect
from custmgmt.testing.risk_contract import make_alert, make_restriction

PHONE = "13812345678"
SECRET = "私密：欧阳娜娜的女儿在第三人民医院住院"


@pytest.fixture
def store(store_of_each_kind: Any) -> Any:
    return store_of_each_kind


# -- key files and key ids ----------------------------------------------------------
@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,
    '{"current": ' * 50_000 + "1" + "}" * 50_000,
    '{"current": "k", "index": "i", "keys": ' + '{"k": ' * 50_000 + '""' + "}" * 50_001,
])
def test_a_key_file_nested_thousands_deep_is_a_validation_error(
    tmp_path: Path, text: str
) -> None:
    # Was a RecursionError out of json.loads: not a library error, and it named no file.
    path = tmp_path / "keys.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        FileKeyProvider(path)
    assert caught.value.field == "key file"
    assert caught.value.value == str(path)


def test_the_command_line_reports_a_nested_key_file_as_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "shop.db"
    with SQLiteStore(db) as shop:
        add_customer(shop, plain(), OFFICER, make_customer(id="C-1", name="王芳"))
    keys = tmp_path / "keys.json"
    keys.write_text("[" * 100_000, encoding="utf-8")
    code = main(["privacy", "export", "--db", str(db), "--customer", "C-1", "--keys",
                 str(keys), "--out", str(tmp_path / "out.json")])
    assert code == 2
    assert "key file" in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("key_id", ["", "   ", "k" * 201, "kek\x001", "kek\x7f"])
def test_a_key_id_a_stored_wrapped_key_cannot_carry_is_refused(key_id: str) -> None:
    with pytest.raises(ValidationError) as caught:
        StaticKeyProvider({key_id: bytes(32), "index-1": bytes(32)}, current=key_id,
                          index="index-1")
    assert caught.value.field == "keys"


class _HostProvider:
    """A host's KMS adapter whose current KEK id is longer than a stored key allows."""

    def __init__(self, current: str) -> None:
        self._keys = {current: secrets.token_bytes(32), "index-1": secrets.token_bytes(32)}
        self.current_key_id = current
        self.index_key_id = "index-1"

    def key(self, key_id: str) -> bytes:
        return self._keys[key_id]


@pytest.mark.parametrize("kek_id", ["k" * 201, " "])
def test_a_host_kek_id_a_wrapped_key_cannot_carry_stores_nothing(
    store: Any, kek_id: str
) -> None:
    # The sealing path builds WrappedKey.trusted without validation: the customer was
    # stored, and SQLite could then never read the key back (ValidationError on read).
    privacy = Privacy(cipher=FieldCipher(_HostProvider(kek_id)), clock=FixedClock(NOW))
    with pytest.raises(ValidationError) as caught:
        add_customer(store, privacy, OFFICER, make_customer(id="C-1", name="王芳",
                                                            phone=PHONE))
    assert caught.value.field == "kek_id"
    assert store.customers.count() == 0


@settings(max_examples=25, deadline=None)
@given(st.text(min_size=1, max_size=200).filter(
    lambda s: s.strip() and not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0
                                    or 0xD800 <= ord(c) < 0xE000 for c in s)))
def test_every_key_id_a_provider_accepts_reads_back_from_sqlite(kek_id: str) -> None:
    provider = StaticKeyProvider({kek_id: secrets.token_bytes(32),
                                  "index-1": secrets.token_bytes(32)},
                                 current=kek_id, index="index-1")
    privacy = Privacy(cipher=FieldCipher(provider), clock=FixedClock(NOW))
    with SQLiteStore(":memory:") as shop:
        add_customer(shop, privacy, OFFICER, make_customer(id="C-1", name="欧阳娜娜",
                                                           phone=PHONE))
        assert read_customer(shop, privacy, OFFICER, "C-1").name == "欧阳娜娜"


# -- the loyalty running state ------------------------------------------------------
def _kept_reasons(shop: Any, customer_id: str) -> list[str]:
    """The reasons the running-state cache keeps on ``customer_id`` in this process."""
    found = _running._CACHES.get(id(shop.loyalty))
    if found is None or found[0]() is not shop.loyalty:
        return []
    state = found[1].states.get(customer_id)
    if state is None:
        return []
    return [] if state.last is None else [state.last.reason]


def test_an_erasure_leaves_no_reason_in_the_loyalty_running_state(store: Any) -> None:
    privacy = plain()
    customer = make_customer(id="C-1", name="欧阳娜娜", phone=PHONE)
    add_customer(store, privacy, OFFICER, customer)
    add_customer(store, privacy, OFFICER, make_customer(id="C-2", name="王芳"))
    at = customer.registered_at + timedelta(days=1)
    for cid in ("C-1", "C-2"):
        adjust_points(store, cid, 100, key="k1", at=at, actor="agent-1", reason=SECRET)
        adjust_points(store, cid, 10, key="k2", at=at + timedelta(hours=1), actor="agent-1",
                      reason=SECRET + cid)
    # The test can fail: before the erasure the state keeps the customer's reason.
    assert [r[: len(SECRET)] for r in _kept_reasons(store, "C-1")] == [SECRET]
    erase_subject(store, privacy, OFFICER, "C-1")
    assert _kept_reasons(store, "C-1") == []
    # Only the erased customer's state is dropped.
    assert [r[: len(SECRET)] for r in _kept_reasons(store, "C-2")] == [SECRET]
    # And the points themselves are untouched.
    lines = statement(store, "C-1", as_of=at + timedelta(days=1))
    assert {e.reason for e in lines.entries} == {ERASED_TEXT}
    assert sum(e.points for e in lines.entries) == 110


# -- export -------------------------------------------------------------------------
def _fill(shop: Any, privacy: Privacy) -> None:
    customer = make_customer(id="C-1", name="欧阳娜娜", phone=PHONE)
    add_customer(shop, privacy, OFFICER, customer)
    at = customer.registered_at + timedelta(days=1)
    adjust_points(shop, "C-1", 100, key="k1", at=at, actor="agent-1", reason="生日礼\u3000积分")
    restriction = make_restriction("R-1", customer_id="C-1", at=NOW)
    shop.risk.add_restriction(restriction)
    shop.risk.add_appeal(APPEAL_WORKFLOW.submit(
        id="A-1", restriction_id="R-1", customer_id="C-1", statement="我是真实买家",
        at=NOW + timedelta(hours=1), deadline=NOW + timedelta(days=3), actor="C-1"))
    shop.risk.add_alert(make_alert("AL-1", customer_id="C-1", at=NOW))
    shop.followups.add_plan(make_plan("P-1", customer_id="C-1", goal="回访欧阳娜娜"))
    shop.followups.add_contact(make_contact("K-1", customer_id="C-1", notes="已回访"))
    shop.prospects.add(make_prospect("PR-1", name="欧阳娜娜", kind="person",
                                     info={"电话": PHONE}, customer_id="C-1"))
    shop.prospects.add_contact(ContactRecord(
        id="CR-1", prospect_id="PR-1", kind="call", at=NOW, actor="sales-1",
        summary="致电欧阳娜娜"))
    shop.campaigns.add_suppression(Suppression(customer_id="C-1", reason="unsubscribed",
                                               at=NOW, note="本人来电退订"))
    # Another customer's records never show in C-1's export.
    add_customer(shop, privacy, OFFICER, make_customer(id="C-2", name="王芳"))
    shop.risk.add_alert(make_alert("AL-2", customer_id="C-2", at=NOW))
    shop.campaigns.add_suppression(Suppression(customer_id="C-2", reason="unsubscribed",
                                               at=NOW))


def test_an_export_holds_what_every_bundled_capability_keeps_on_the_customer(
    store: Any,
) -> None:
    # Was: orders, interactions, tickets and ratings only; points, risk records,
    # follow-ups, linked prospects and suppressions needed host-made sections, and the
    # command line (which passes none) left them out.
    privacy = encrypted()
    _fill(store, privacy)
    data = json.loads(json.dumps(export_subject(store, privacy, OFFICER, "C-1"),
                                 ensure_ascii=False))
    assert [e["reason"] for e in data["points"]] == ["生日礼\u3000积分"]
    assert data["tier_history"] == []
    assert [r["id"] for r in data["risk"]["restrictions"]] == ["R-1"]
    assert [a["statement"] for a in data["risk"]["appeals"]] == ["我是真实买家"]
    assert [a["id"] for a in data["risk"]["alerts"]] == ["AL-1"]
    assert data["risk"]["scores"] == []
    assert [p["goal"] for p in data["followups"]["plans"]] == ["回访欧阳娜娜"]
    assert [c["notes"] for c in data["followups"]["contacts"]] == ["已回访"]
    [prospect] = data["prospects"]
    assert prospect["prospect"]["name"] == "欧阳娜娜"
    assert [c["summary"] for c in prospect["contacts"]] == ["致电欧阳娜娜"]
    assert [s["note"] for s in data["suppressions"]] == ["本人来电退订"]
    # A host's section of the same name replaces the bundled one.
    replaced = export_subject(store, privacy, OFFICER, "C-1",
                              sections={"points": lambda s, cid: "host"})
    assert replaced["points"] == "host"


def test_the_command_line_export_holds_the_points_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "shop.db"
    with SQLiteStore(db) as shop:
        _fill(shop, plain())
    out = tmp_path / "c1.json"
    assert main(["privacy", "export", "--db", str(db), "--customer", "C-1", "--actor",
                 "dpo-1", "--out", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [e["reason"] for e in data["points"]] == ["生日礼\u3000积分"]
    assert [s["note"] for s in data["suppressions"]] == ["本人来电退订"]


# -- what an erasure still leaves (adapters; see the round-4 report) -----------------
def test_an_erasure_leaves_no_personal_text_in_prospects_suppressions_or_alerts(
    store: Any,
) -> None:
    privacy = encrypted()
    _fill(store, privacy)
    alert = store.risk.get_alert("AL-1")
    store.risk.update_alert(alert.moved("acknowledged", at=NOW + timedelta(hours=1),
                                        actor="risk-1", note=f"联系欧阳娜娜 {PHONE}"))
    erase_subject(store, privacy, OFFICER, "C-1")
    held: list[Any] = [
        [(p.name, p.info) for p in store.prospects.find(customer_id="C-1")],
        [c.summary for c in store.prospects.contacts(prospect_id="PR-1")],
        [s.note for s in store.campaigns.suppressions() if s.customer_id == "C-1"],
        [e.note for a in store.risk.find_alerts(customer_id="C-1") for e in a.events],
    ]
    text = json.dumps(held, ensure_ascii=False)
    for secret in ("欧阳娜娜", PHONE, "本人来电退订"):
        assert secret not in text, secret


# -- the audit log's anchor and resources -------------------------------------------
def _logged(n: int) -> tuple[MemoryStore, str]:
    shop = MemoryStore()
    for i in range(n):
        add_customer(shop, plain(), OFFICER, make_customer(id=f"C-{i}", name="王芳"))
    return shop, verify_audit_log(shop).head


def test_an_anchor_in_upper_case_or_with_spaces_is_the_same_anchor() -> None:
    # Was: a correct head copied in upper case (or with a newline) reported the log
    # as BROKEN, "entries were removed or rewritten".
    shop, head = _logged(3)
    for anchor in (head.upper(), f" {head}\n"):
        assert verify_audit_log(shop, head=anchor).ok
    assert not verify_audit_log(shop, head=head.replace(head[0], "0" if head[0] != "0"
                                                          else "1", 1)).ok


@pytest.mark.parametrize("head", ["", "ABC", "g" * 64, "0" * 63, 12])
def test_a_malformed_anchor_is_a_validation_error_not_a_broken_log(head: Any) -> None:
    shop, _ = _logged(1)
    with pytest.raises(ValidationError) as caught:
        verify_audit_log(shop, head=head)
    assert caught.value.field == "head"


def test_the_command_line_reports_a_malformed_anchor_as_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "shop.db"
    with SQLiteStore(db) as shop:
        add_customer(shop, plain(), OFFICER, make_customer(id="C-1", name="王芳"))
        head = verify_audit_log(shop).head
    assert main(["privacy", "verify", "--db", str(db), "--head", "ABC"]) == 2
    assert "--head" in capsys.readouterr().err
    assert main(["privacy", "verify", "--db", str(db), "--head", head.upper()]) == 0
    assert "intact" in capsys.readouterr().out


def test_keys_with_the_longest_ids_rotate(store: Any) -> None:
    # Was: the rotation's audit resource "kek:OLD->NEW" exceeded 300 characters, so a
    # rotation between two accepted 200-character ids was refused before it began.
    old, new = "旧" * 200, "新" * 200
    provider = StaticKeyProvider({old: secrets.token_bytes(32),
                                  "index-1": secrets.token_bytes(32)},
                                 current=old, index="index-1")
    first = Privacy(cipher=FieldCipher(provider), clock=FixedClock(NOW))
    add_customer(store, first, OFFICER, make_customer(id="C-1", name="王芳", phone=PHONE))
    second = Privacy(cipher=FieldCipher(provider.with_current(new, secrets.token_bytes(32))),
                     clock=FixedClock(NOW))
    progress = rotate_keys(store, second, ADMIN, old_kek_id=old)
    assert (progress.rewrapped, progress.remaining) == (1, 0)
    assert store.privacy.get_key("C-1").kek_id == new
    assert read_customer(store, second, OFFICER, "C-1").phone == PHONE
    assert verify_audit_log(store).ok


# -- the command line's default actor -----------------------------------------------
@pytest.mark.parametrize("error", [KeyError("getpwuid(): uid not found: 1000650000"),
                                   OSError("No username set in the environment")])
def test_no_login_name_for_the_default_actor_is_a_usage_error_naming_actor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    error: Exception,
) -> None:
    # A container run under an arbitrary uid without USER set: getpass raised through
    # the command line (a traceback, exit 1) instead of asking for --actor.
    db = tmp_path / "shop.db"
    with SQLiteStore(db) as shop:
        add_customer(shop, plain(), OFFICER, make_customer(id="C-1", name="王芳"))

    def no_login() -> str:
        raise error

    monkeypatch.setattr(getpass, "getuser", no_login)
    out = tmp_path / "c1.json"
    assert main(["privacy", "export", "--db", str(db), "--customer", "C-1",
                 "--out", str(out)]) == 2
    assert "--actor" in capsys.readouterr().err
    assert not out.exists()
    assert main(["privacy", "erase", "--db", str(db), "--customer", "C-1"]) == 2
    with SQLiteStore(db) as shop:
        assert shop.privacy.erasure("C-1") is None


# -- strict JSON --------------------------------------------------------------------
def _strict(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_an_export_is_strict_json_whatever_floats_and_numpy_values_it_holds(
    store: Any,
) -> None:
    # Was: NaN / Infinity written as bare NaN and Infinity (which JSON parsers refuse),
    # and a NumPy integer a TypeError out of json.dumps.
    add_customer(store, plain(), OFFICER, make_customer(id="C-1", name="王芳"))
    finding = AlertFinding(customer_id="C-1", rule="r-1",
                           values=(("ratio", float("nan")), ("trend", float("inf"))),
                           window_start=NOW - timedelta(days=30), window_end=NOW)
    store.risk.add_alert(Alert.raised(finding, id="AL-1", at=NOW))
    host = {"model": lambda s, cid: {"n": np.int64(3), "low": np.float64("-inf"),
                                     "scores": np.array([1.5, np.nan])}}
    data = _strict(export_subject_json(store, plain(), OFFICER, "C-1", sections=host))
    assert data["risk"]["alerts"][0]["values"] == [["ratio", "NaN"], ["trend", "Infinity"]]
    assert data["model"] == {"n": 3, "low": "-Infinity", "scores": [1.5, "NaN"]}


# -- key file paths -----------------------------------------------------------------
@pytest.mark.parametrize("path", ["keys\x00.json", Path("keys\x00.json"), "", b"keys.json",
                                  None, 5])
def test_a_key_file_path_that_is_no_path_is_a_validation_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: Any
) -> None:
    # Was a bare ValueError (NUL) or TypeError (bytes, None) out of os.open / Path.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError) as caught:
        FileKeyProvider(path)
    assert caught.value.field == "key file"
    with pytest.raises(ValidationError) as caught:
        write_key_file(path)
    assert caught.value.field == "path"
    assert list(tmp_path.iterdir()) == []


# -- a rotation racing an erasure ---------------------------------------------------
def test_a_customer_erased_while_a_rotation_runs_is_skipped_not_fatal(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Was: the batch listed C-1, an erasure shredded its key before the batch's
    # transaction, and get_key's NotFound stopped the whole rotation.
    provider = StaticKeyProvider({"kek-1": secrets.token_bytes(32),
                                  "index-1": secrets.token_bytes(32)},
                                 current="kek-1", index="index-1")
    first = Privacy(cipher=FieldCipher(provider), clock=FixedClock(NOW))
    for i in range(3):
        add_customer(store, first, OFFICER, make_customer(id=f"C-{i}", name="王芳",
                                                          phone=f"1381234567{i}"))
    second = Privacy(cipher=FieldCipher(provider.with_current("kek-2",
                                                              secrets.token_bytes(32))),
                     clock=FixedClock(NOW))
    listed = store.privacy.keys_wrapped_with

    def list_then_erase(kek_id: str, limit: int) -> list[str]:
        ids = listed(kek_id, limit)
        if "C-1" in ids and store.privacy.erasure("C-1") is None:
            erase_subject(store, first, OFFICER, "C-1")  # "another process", meanwhile
        return ids

    monkeypatch.setattr(store.privacy, "keys_wrapped_with", list_then_erase)
    progress = rotate_keys(store, second, ADMIN, old_kek_id="kek-1")
    assert (progress.rewrapped, progress.remaining) == (2, 0)
    assert store.privacy.key_counts() == {"kek-2": 2}
    assert read_customer(store, second, OFFICER, "C-2").phone == "13812345672"


# -- an export racing an erasure ----------------------------------------------------
def test_an_export_racing_an_erasure_returns_the_erased_profile(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Was: the export read the sealed record, an erasure then shredded the key, and the
    # export failed with "key 'C-1' not found".
    privacy = encrypted()
    add_customer(store, privacy, OFFICER, make_customer(id="C-1", name="欧阳娜娜",
                                                        phone=PHONE))
    sealed = store.privacy.get_sealed

    def read_then_erase(customer_id: str) -> Any:
        record = sealed(customer_id)
        if store.privacy.erasure(customer_id) is None:
            erase_subject(store, privacy, OFFICER, customer_id)  # "another process"
        return record

    monkeypatch.setattr(store.privacy, "get_sealed", read_then_erase)
    data = export_subject(store, privacy, OFFICER, "C-1")
    assert data["customer"]["name"].startswith("匿名-")
    assert data["customer"]["phone"] is None
    assert data["erasure"] is not None
