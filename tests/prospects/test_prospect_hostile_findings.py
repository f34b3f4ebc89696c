"""Defects found by hostile testing of the prospects area, each with its regression test."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli.prospects import print_development
from custmgmt.errors import ValidationError
from custmgmt.prospects import DEFAULT_PIPELINE, as_of_view, funnel, loss_reasons, win_rate
from custmgmt.prospects.services import convert_to_customer, find_leads
from custmgmt.testing import make_customer, make_interaction
from custmgmt.testing.prospect_contract import make_prospect

T0 = datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=8)))


def _won_and_lost() -> list:  # type: ignore[type-arg]
    won = make_prospect("P-1", at=T0, steps=6)  # won on day 6
    lost = DEFAULT_PIPELINE.move(make_prospect("P-2", at=T0, steps=1), "lost",
                                 at=T0 + timedelta(days=5), actor="销售-1", note="预算不足")
    return [won, lost]


def test_a_past_as_of_view_undoes_later_moves_and_leaves_out_later_prospects() -> None:
    later = make_prospect("P-3", at=T0 + timedelta(days=30))
    view = as_of_view([*_won_and_lost(), later], DEFAULT_PIPELINE,
                      as_of=T0 + timedelta(days=2, hours=1))
    assert [p.id for p in view] == ["P-1", "P-2"]
    assert [p.stage for p in view] == ["investigation_planned", "qualified"]
    assert all(p.lost_reason is None for p in view)
    assert funnel(view, DEFAULT_PIPELINE).won == 0
    assert win_rate(view, DEFAULT_PIPELINE) is None
    assert loss_reasons(view, DEFAULT_PIPELINE) == []


def test_the_development_report_at_a_past_date_does_not_count_later_wins() -> None:
    store = MemoryStore()
    for p in _won_and_lost():
        store.prospects.add(p)
    out = io.StringIO()
    print_development(store, T0 + timedelta(days=2, hours=1), out)
    text = out.getvalue()
    won_line = next(line for line in text.splitlines() if line.strip().startswith("won "))
    assert won_line.split()[1] == "0", text
    assert "win rate (won among decided): -" in text
    assert "预算不足" not in text


@pytest.mark.parametrize("make_store", [MemoryStore, lambda: SQLiteStore(":memory:")],
                         ids=["memory", "sqlite"])
def test_a_customer_with_a_longest_id_becomes_a_lead_without_blocking_the_others(
        make_store: Any) -> None:
    store = make_store()
    long_id = "客" * 128
    for i, cid in enumerate((long_id, "C-2")):
        store.customers.add(make_customer(id=cid, registered_at=T0 - timedelta(days=30)))
        store.interactions.add(make_interaction(id=f"I-{i}", customer_id=cid, kind="cart",
                                                at=T0 - timedelta(days=1)))
    found = find_leads(store, as_of=T0, owner="销售-1")
    assert sorted(p.customer_id or "" for p in found) == sorted([long_id, "C-2"])
    assert find_leads(store, as_of=T0, owner="销售-1") == []  # a rerun finds them stored


def test_a_won_prospect_with_a_longest_id_converts_to_a_customer() -> None:
    store = MemoryStore()
    store.prospects.add(make_prospect("P" * 128, steps=6))
    customer = convert_to_customer(store, "P" * 128, at=T0 + timedelta(days=30))
    assert len(customer.id) <= 128
    assert store.prospects.get("P" * 128).customer_id == customer.id
    assert convert_to_customer(store, "P" * 128, at=T0 + timedelta(days=31)) == customer


@pytest.mark.parametrize("info", [{"电话": "1381234\x005678"}, {"备\x07注": "x"}])
def test_collected_information_with_control_characters_is_refused(info: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="control characters"):
        DEFAULT_PIPELINE.new_prospect(id="P-1", name="李四", source="展会", owner="s1",
                                      actor="s1", at=T0, info=info)


def test_a_refused_collected_text_is_masked_in_the_error() -> None:
    phone = "13812345678"
    with pytest.raises(ValidationError) as info:
        DEFAULT_PIPELINE.new_prospect(id="P-1", name="李四", source="展会", owner="s1",
                                      actor="s1", at=T0, info={"电话": phone * 400})
    assert phone not in str(info.value)
    assert phone not in repr(info.value.value)


def test_notes_with_line_breaks_and_tabs_are_still_accepted() -> None:
    p = DEFAULT_PIPELINE.new_prospect(id="P-1", name="李四", source="展会", owner="s1",
                                      actor="s1", at=T0, info={"备注": "第一行\n第二行\t完"})
    assert p.info_dict["备注"] == "第一行\n第二行\t完"
