"""Review and complaint text is shown as its length only in reprs.

Complaints quote phone numbers and names ("王芳 13912345678 催发货"); their reprs
printed the whole text, so a log line or a notebook cell showed it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from custmgmt.domain import Interaction
from custmgmt.domain.interaction import Complaint, Review
from custmgmt.domain.masking import hide_text

TEXT = "王芳 13912345678 催发货"


def test_an_interaction_with_a_complaint_shows_no_part_of_its_text() -> None:
    complaint = Interaction(
        id="I-1", customer_id="C-1", kind="complaint", at=datetime(2026, 1, 1, tzinfo=UTC),
        details=Complaint(category="logistics", text=TEXT),
    )
    shown = repr(complaint)
    assert "<18 characters>" in shown
    for part in ("王", "1391", "5678", "催发货"):
        assert part not in shown
    assert complaint.details.text == TEXT  # type: ignore[union-attr]


def test_a_review_without_text_shows_none() -> None:
    assert "text=None" in repr(Review(rating=4))


@given(st.text(st.characters(categories=["L", "N", "P", "Zs"]), min_size=1, max_size=60))
def test_hidden_text_shows_only_the_length(text: str) -> None:
    assert hide_text(text) == f"<{len(text)} characters>"
    assert repr(Review(rating=5, text=text)) == f"Review(rating=5, text=<{len(text)} characters>)"
