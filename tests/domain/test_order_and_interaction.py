from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from custmgmt.domain import (
    Complaint,
    InteractionKind,
    Money,
    OrderStatus,
    Referral,
    Review,
    Search,
)
from custmgmt.errors import TransitionNotAllowed, ValidationError
from custmgmt.testing import make_interaction, make_order, make_order_line

T0 = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def cny(text: str) -> Money:
    return Money(Decimal(text), "CNY")


def test_total_is_derived_from_the_lines() -> None:
    order = make_order(
        lines=[
            make_order_line(quantity=3, unit_price=cny("0.10")),
            make_order_line(sku="SKU-2", quantity=1, unit_price=cny("0.20")),
        ]
    )
    assert order.total == cny("0.50")


def test_an_order_walks_its_life_cycle_keeping_each_timestamp() -> None:
    order = make_order(placed_at=T0, lines=[make_order_line(unit_price=cny("100"))])
    done = (
        order.pay(T0 + timedelta(minutes=5))
        .ship(T0 + timedelta(days=1))
        .deliver(T0 + timedelta(days=3))
    )
    assert done.status is OrderStatus.DELIVERED
    assert (done.paid_at, done.delivered_at) == (T0 + timedelta(minutes=5), T0 + timedelta(days=3))
    partly = done.record_return(cny("40"), T0 + timedelta(days=5))
    assert partly.status is OrderStatus.PARTIALLY_RETURNED
    assert partly.net_total == cny("60")
    fully = partly.record_return(cny("60"), T0 + timedelta(days=6))
    assert fully.status is OrderStatus.RETURNED
    assert fully.net_total == cny("0")
    assert fully.version == order.version + 5


def test_skipping_a_step_is_not_allowed_and_names_the_state() -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        make_order().ship(T0)
    assert info.value.state is OrderStatus.PLACED


def test_shipped_orders_cannot_be_cancelled() -> None:
    shipped = make_order(placed_at=T0).pay(T0).ship(T0)
    with pytest.raises(TransitionNotAllowed):
        shipped.cancel(T0)


def test_a_return_larger_than_what_is_left_is_refused() -> None:
    paid = make_order(placed_at=T0, lines=[make_order_line(unit_price=cny("10"))]).pay(T0)
    with pytest.raises(ValidationError, match="at most 10 CNY more"):
        paid.record_return(cny("10.01"), T0)


def test_unpaid_orders_cannot_be_returned() -> None:
    with pytest.raises(TransitionNotAllowed):
        make_order().record_return(cny("1"), T0)


@pytest.mark.parametrize("quantity", [0, -1, 1.5, True])
def test_quantities_must_be_positive_integers(quantity: object) -> None:
    with pytest.raises(ValidationError, match=r"OrderLine\.quantity"):
        make_order_line(quantity=quantity)


def test_negative_prices_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"OrderLine\.unit_price"):
        make_order_line(unit_price=cny("-1"))


def test_lines_in_two_currencies_are_refused() -> None:
    with pytest.raises(ValidationError, match="one currency"):
        make_order(lines=[make_order_line(), make_order_line(unit_price=Money(Decimal(1), "USD"))])


def test_steps_cannot_precede_placement() -> None:
    with pytest.raises(ValidationError, match=r"Order\.paid_at"):
        make_order(placed_at=T0, status="paid", paid_at=T0 - timedelta(seconds=1))


def test_a_status_needs_its_timestamp() -> None:
    with pytest.raises(ValidationError, match=r"Order\.shipped_at"):
        make_order(placed_at=T0, status="shipped", paid_at=T0)


def test_empty_orders_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"Order\.lines"):
        make_order(lines=[])


@pytest.mark.parametrize("rating", [0, 6, -1, 3.5, "5"])
def test_review_ratings_must_be_1_to_5(rating: object) -> None:
    with pytest.raises(ValidationError, match=r"Review\.rating.*1 to 5"):
        Review(rating=rating)  # type: ignore[arg-type]


def test_details_must_match_the_kind() -> None:
    with pytest.raises(ValidationError, match="a Review for a 'review'"):
        make_interaction(kind="review", details=Search(query="茶"))
    with pytest.raises(ValidationError, match="None for a 'browse'"):
        make_interaction(kind="browse", details=Review(rating=3))
    with pytest.raises(ValidationError, match="a Complaint"):
        make_interaction(kind="complaint")


def test_kind_specific_data_is_kept() -> None:
    review = make_interaction(details=Review(rating=2, text="包装破损，客服态度差"))
    assert review.rating == 2
    complaint = make_interaction(kind="complaint", details=Complaint(category="logistics"))
    assert complaint.resolve_complaint().details.resolved is True  # type: ignore[union-attr]
    referral = make_interaction(kind="referral", details=Referral(referred_customer_id="c-9"))
    assert referral.details == Referral(referred_customer_id="c-9")
    browse = make_interaction(kind=InteractionKind.BROWSE, sku="SKU-7")
    assert browse.rating is None


def test_only_complaints_can_be_resolved() -> None:
    with pytest.raises(ValidationError, match="a complaint"):
        make_interaction().resolve_complaint()


def test_an_order_whose_total_reaches_10_to_the_14_is_refused_naming_the_order() -> None:
    half = make_order_line(sku="a", quantity=1, unit_price=cny("50000000000000"))
    other = make_order_line(sku="b", quantity=1, unit_price=cny("50000000000000"))
    with pytest.raises(ValidationError, match=r"^Order\.lines: got \"order 'o-big': total"):
        make_order(id="o-big", lines=[half, other])
    assert make_order(lines=[half]).total == cny("50000000000000")


def test_a_line_whose_subtotal_reaches_10_to_the_14_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"^OrderLine\.quantity: got 1000000"):
        make_order_line(quantity=10**6, unit_price=cny("100000000"))


@pytest.mark.parametrize("quantity", [2**63, 10**400], ids=["2**63", "10**400"])
def test_quantities_beyond_int64_are_refused(quantity: int) -> None:
    with pytest.raises(ValidationError, match=r"^OrderLine\.quantity"):
        make_order_line(quantity=quantity, unit_price=cny("0"))


def test_text_with_a_lone_surrogate_is_refused_in_orders_and_interactions() -> None:
    with pytest.raises(ValidationError, match=r"^OrderLine\.category.*lone surrogates"):
        make_order_line(category="茶\ud800")
    with pytest.raises(ValidationError, match=r"^Search\.query.*lone surrogates"):
        Search(query="\udfff")
