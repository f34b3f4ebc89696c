"""A demo section interrupted part-way (Ctrl-C, an error) leaves the store so that the
next ``demo`` run completes the section: never a half-written state reported as
complete, never a crash, never data lost.

Found by interrupting each section at each library call and at each store write:

* team: an interrupted run kept its first tickets, and the next run, which looks for
  the first ticket only, said "already stored: nothing added" over a team of a few
  tickets and printed its performance as the demo's;
* risk: a restriction without its appeal (or with the appeal still under review) was
  taken for the finished walk, "nothing added", the restriction left in force;
* follow-ups: a key plan created but not yet approved made every later run fail
  (``assert key_plan.approval is not None``), and a plan without its first contact
  never got it;
* rating: an override requested but not yet approved stayed pending for good, its
  customer's stars not raised, while the section printed it as the demo's override;
* privacy: a customer sealed by an interrupted run was sealed again from the
  customers table, which holds the pseudonym: the real name, phone and email were
  replaced by ``匿名-...`` and ``None`` for good.
"""

from __future__ import annotations

import io
import random
import shutil
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import (
    demo_engagement,
    demo_loyalty,
    demo_privacy,
    demo_rating,
    demo_risk,
    demo_team,
)
from custmgmt.cli.demo_context import DemoContext
from custmgmt.datasets import load_into, make_dataset

CST = timezone(timedelta(hours=8))
AS_OF = datetime(2026, 6, 30, 23, 59, tzinfo=CST)

SECTIONS: dict[str, ModuleType] = {
    "rating": demo_rating,
    "team": demo_team,
    "risk": demo_risk,
    "engagement": demo_engagement,
    "loyalty": demo_loyalty,
    "privacy": demo_privacy,
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("interrupted") / "base.sqlite3"
    with SQLiteStore(path) as store:
        load_into(store, make_dataset(n_customers=120, seed=7, as_of=AS_OF))
    return path


def _copy(base: Path, tmp_path: Path, name: str) -> Path:
    target = tmp_path / f"{name}.sqlite3"
    shutil.copy(base, target)
    return target


def _run(db: Path, section: ModuleType) -> str:
    out = io.StringIO()
    with SQLiteStore(db) as store:
        section.demo_section(DemoContext(store=store, as_of=AS_OF, seed=7, out=out,
                                         rng=random.Random(7)))
    return out.getvalue()


def _steady(text: str) -> list[str]:
    # The audit log counts every access, an interrupted run's too: its length differs.
    return [line for line in text.splitlines() if not line.startswith("audit log:")]


def _reference(base: Path, tmp_path: Path, section: ModuleType) -> list[str]:
    """What a second run prints on a store whose first run was not interrupted."""
    db = _copy(base, tmp_path, "reference")
    _run(db, section)
    return _steady(_run(db, section))


def _failing_on_call(real: Callable[..., Any], k: int, exc: BaseException) -> Any:
    calls = {"n": 0}

    def fake(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == k:
            raise exc
        return real(*args, **kwargs)

    return fake


@pytest.mark.parametrize(
    ("name", "function", "k"),
    [
        ("rating", "approve_override", 2),
        ("team", "_walk", 5),
        ("team", "assign_ticket", 20),
        ("risk", "submit_appeal", 1),
        ("risk", "start_review", 1),
        ("risk", "decide_appeal", 1),
        ("engagement", "approve_plan", 1),
        ("engagement", "record_contact", 1),
        ("privacy", "update_customer", 2),
        ("privacy", "erase_subject", 1),
    ],
)
@pytest.mark.parametrize("exc", [KeyboardInterrupt(), RuntimeError("disk full")],
                         ids=["ctrl-c", "error"])
def test_the_next_run_completes_a_section_interrupted_at_a_library_call(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    name: str, function: str, k: int, exc: BaseException,
) -> None:
    section = SECTIONS[name]
    expected = _reference(base, tmp_path, section)
    db = _copy(base, tmp_path, "interrupted")
    with monkeypatch.context() as patch:
        patch.setattr(section, function, _failing_on_call(getattr(section, function), k, exc))
        with pytest.raises(type(exc)):
            _run(db, section)
    _run(db, section)  # completes what the interrupted run left
    assert _steady(_run(db, section)) == expected


def test_a_team_interrupted_mid_tickets_is_not_reported_as_stored(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _copy(base, tmp_path, "team")
    with monkeypatch.context() as patch:
        patch.setattr(demo_team, "_walk",
                      _failing_on_call(demo_team._walk, 5, KeyboardInterrupt()))
        with pytest.raises(KeyboardInterrupt):
            _run(db, demo_team)
    text = _run(db, demo_team)
    assert "already stored" not in text
    with SQLiteStore(db, mode="read_only") as store:
        tickets = [t for t in store.tickets.find() if t.id.startswith("DEMO-S")]
        assert len(tickets) == demo_team.DEMO_TEAM_TICKETS
        assert all(t.status.value == "closed" for t in tickets)


def test_a_customer_sealed_before_an_interruption_keeps_their_real_details(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("cryptography")
    from custmgmt.privacy import Actor, read_customer

    db = _copy(base, tmp_path, "privacy")
    with SQLiteStore(db) as store:
        last: list[Any] = []
        for chunk in store.customers.iter_chunks(1000):
            last = (last + list(chunk))[-3:]
    before = {c.id: (c.name, c.phone, c.email) for c in last}
    with monkeypatch.context() as patch:
        patch.setattr(demo_privacy, "update_customer", _failing_on_call(
            demo_privacy.update_customer, 2, KeyboardInterrupt()))
        with pytest.raises(KeyboardInterrupt):
            _run(db, demo_privacy)
    _run(db, demo_privacy)
    officer = Actor(id="dpo", roles={"privacy_officer"})
    with SQLiteStore(db) as store:
        ctx = DemoContext(store=store, as_of=AS_OF, seed=7, out=io.StringIO(),
                          rng=random.Random(7))
        privacy, mode = demo_privacy._privacy(ctx)
        assert mode.startswith("sealed")
        for cid in list(before)[:2]:  # the third is erased on request
            seen = read_customer(store, privacy, officer, cid)
            assert (seen.name, seen.phone, seen.email) == before[cid]


# -- interrupted at any store write, inside the library too ------------------------------
_WRITES = ("add", "save", "update", "put", "record", "append", "delete", "remove",
           "replace", "shred", "redact", "create", "assign", "upsert", "mark")
_REPOSITORIES = ("customers", "orders", "interactions", "ratings", "tickets", "agents",
                 "assignments", "prospects", "campaigns", "followups", "risk", "loyalty",
                 "privacy")


@pytest.fixture
def write_counter(monkeypatch: pytest.MonkeyPatch, base: Path) -> dict[str, int]:
    """Counts the SQLite repositories' writes; raises KeyboardInterrupt at ``stop``."""
    state = {"n": 0, "stop": 0}
    with SQLiteStore(base, mode="read_only") as store:
        classes = {type(getattr(store, r)) for r in _REPOSITORIES if hasattr(store, r)}
    for cls in classes:
        for attr in dir(cls):
            if attr.startswith("_") or not attr.startswith(_WRITES):
                continue
            real = getattr(cls, attr)
            if not callable(real):
                continue

            def counted(self: Any, *args: Any, __real: Any = real, **kwargs: Any) -> Any:
                state["n"] += 1
                if state["stop"] and state["n"] == state["stop"]:
                    raise KeyboardInterrupt
                return __real(self, *args, **kwargs)

            monkeypatch.setattr(cls, attr, counted)
    return state


@pytest.mark.parametrize("name", sorted(SECTIONS))
@pytest.mark.parametrize("where", [0.0, 0.5, 1.0], ids=["first", "middle", "last"])
def test_the_next_run_completes_a_section_interrupted_at_a_store_write(
    base: Path, tmp_path: Path, write_counter: dict[str, int], name: str, where: float
) -> None:
    section = SECTIONS[name]
    expected = _reference(base, tmp_path, section)
    write_counter["n"] = 0
    _run(_copy(base, tmp_path, "count"), section)
    writes = write_counter["n"]
    assert writes > 0
    db = _copy(base, tmp_path, "interrupted")
    write_counter["n"], write_counter["stop"] = 0, max(1, round(where * writes))
    with pytest.raises(KeyboardInterrupt):
        _run(db, section)
    write_counter["stop"] = 0
    _run(db, section)
    assert _steady(_run(db, section)) == expected


def test_a_follow_up_plan_interrupted_before_its_first_contact_gets_it(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _copy(base, tmp_path, "followups")
    with monkeypatch.context() as patch:
        patch.setattr(demo_engagement, "record_contact", _failing_on_call(
            demo_engagement.record_contact, 1, KeyboardInterrupt()))
        with pytest.raises(KeyboardInterrupt):
            _run(db, demo_engagement)
    _run(db, demo_engagement)
    with SQLiteStore(db, mode="read_only") as store:
        plan = store.followups.get_plan(demo_engagement.DEMO_PLAN_IDS[1])
        assert [c.id for c in store.followups.contacts(plan_id=plan.id)] == ["DEMO-CONTACT-1"]
        key = store.followups.get_plan(demo_engagement.DEMO_PLAN_IDS[0])
        assert key.approval is not None
