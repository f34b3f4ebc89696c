"""Ids refuse control characters at the domain boundary (round 35).

An id used to refuse only the C0 controls other than tab, line feed and carriage
return, and DEL: ``"c1\\n"``, ``"c1\\t"``, ``"c1\\r"`` and the C1 controls
(``"\\x85"``, the 8-bit CSI ``"\\x9b"``) were accepted and only escaped when printed,
so a pasted ``"C1\\t"`` was a second, invisible customer beside ``"C1"``. Every
control character (Unicode category Cc, tab included) and lone surrogates are now
refused with a ValidationError naming the field; free text keeps its tabs and line
breaks.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.domain import Interaction, InteractionKind, Order, OrderLine, Referral
from custmgmt.domain._bulk import check_ids
from custmgmt.domain._validate import MAX_ID_LENGTH, check_id
from custmgmt.errors import ValidationError
from custmgmt.testing import make_customer, make_interaction, make_order, make_order_line

T0 = datetime(2026, 1, 1, tzinfo=UTC)

#: Each character the old check let through, and a few it already refused.
CONTROLS = ["\t", "\n", "\r", "\x0b", "\x1c", "\x85", "\x9b", "\x80", "\x9f", "\x00",
            "\x1b", "\x7f"]  # fmt: skip

# How to build each domain value with ``bad`` in one id field, and the field's name.
BUILDERS: dict[str, Callable[[str], Any]] = {
    "Customer.id": lambda bad: make_customer(id=bad),
    "Order.id": lambda bad: make_order(id=bad),
    "Order.customer_id": lambda bad: make_order(customer_id=bad),
    "OrderLine.sku": lambda bad: make_order_line(sku=bad),
    "Interaction.id": lambda bad: make_interaction(id=bad),
    "Interaction.customer_id": lambda bad: make_interaction(customer_id=bad),
    "Interaction.order_id": lambda bad: make_interaction(order_id=bad),
    "Interaction.sku": lambda bad: make_interaction(sku=bad),
    "Referral.referred_customer_id": lambda bad: Referral(referred_customer_id=bad),
}


def _refused(ch: str) -> bool:
    """The reference: what an id may not hold, by Unicode category."""
    return unicodedata.category(ch) in ("Cc", "Cs")


@pytest.mark.parametrize("control", CONTROLS, ids=ascii)
@pytest.mark.parametrize("field", BUILDERS)
def test_every_domain_id_field_refuses_a_control_character_naming_the_field(
    field: str, control: str
) -> None:
    bad = f"C1{control}"
    with pytest.raises(ValidationError) as caught:
        BUILDERS[field](bad)
    assert caught.value.field == field
    assert caught.value.value == bad
    assert "control characters" in caught.value.expected
    message = str(caught.value)
    assert message.isprintable()  # one line: the id is shown escaped
    assert repr(bad) in message


def test_a_tab_pasted_after_an_id_no_longer_makes_a_second_customer() -> None:
    make_customer(id="C1")
    with pytest.raises(ValidationError, match=r"Customer\.id: got 'C1\\t'"):
        make_customer(id="C1\t")


def test_free_text_keeps_its_tabs_and_line_breaks() -> None:
    # Only ids are keys: a category or a note may hold a tab or span lines.
    line = OrderLine(sku="S-1", category="茶\t叶\n礼盒", quantity=1,
                     unit_price=make_order_line().unit_price)  # fmt: skip
    assert line.category == "茶\t叶\n礼盒"


def test_printable_ids_in_any_script_are_still_accepted() -> None:
    # Not control characters: a zero-width space, a line separator (shown escaped).
    for good in ("客户-1", "a b", " pad ", "=1+1", "x" * MAX_ID_LENGTH, "a\u200bb", "a\u2028",
                 "😀"):  # fmt: skip
        assert check_id("id", good) == good
        assert make_order(id=good, customer_id=good).id == good


def test_an_interaction_refuses_a_line_break_in_its_referred_customer() -> None:
    with pytest.raises(ValidationError) as caught:
        Interaction(id="i1", customer_id="c1", kind=InteractionKind.REFERRAL, at=T0,
                    details=Referral(referred_customer_id="c2\r\nFAKE"))  # fmt: skip
    assert caught.value.field == "Referral.referred_customer_id"


@given(st.text(max_size=12))
def test_check_id_refuses_exactly_the_texts_with_a_refused_character(text: str) -> None:
    expected_ok = bool(text.strip()) and not any(_refused(c) for c in text)
    try:
        check_id("id", text)
    except ValidationError:
        assert not expected_ok
    else:
        assert expected_ok


@given(st.lists(st.text(max_size=6), max_size=6))
def test_a_column_of_ids_is_refused_exactly_when_one_id_is(items: list[str]) -> None:
    # The bulk check (batches of orders, rating results) agrees with the entity's own
    # and names a row that the entity's check refuses.
    def refused(item: str) -> bool:
        try:
            check_id("id", item)
        except ValidationError:
            return True
        return False

    bad_rows = [row for row, item in enumerate(items) if refused(item)]
    if not bad_rows:
        check_ids(items, "order_id")
        return
    with pytest.raises(ValidationError) as caught:
        check_ids(items, "order_id")
    assert caught.value.field in {f"order_id[{row}]" for row in bad_rows}


def test_orders_built_whole_refuse_a_bad_id_before_anything_else_uses_it() -> None:
    with pytest.raises(ValidationError) as caught:
        Order(id="o1", customer_id="c1\x85", placed_at=T0, lines=[make_order_line()])
    assert caught.value.field == "Order.customer_id"
