"""Satisfaction follow-up: surveys due, replies, reopen or escalate, closing in silence."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest
from _ticket_support import PATHS, T0, new_ticket, walk

from custmgmt.errors import TransitionNotAllowed, ValidationError
from custmgmt.tickets import (
    DEFAULT_WORKFLOW,
    FollowUpKind,
    SurveyAction,
    SurveyPolicy,
    Ticket,
    TicketEvent,
    TicketStatus,
    apply_due,
    due_actions,
    record_reply,
    ticket_statistics,
)

WF = DEFAULT_WORKFLOW
DAY = timedelta(days=1)


def resolved(id: str = "T-1", customer_id: str = "C-1", category: str = "product_quality",
             ) -> Ticket:
    """Resolved exactly at T0."""
    ticket = walk(new_ticket(id, at=T0 - timedelta(hours=1), customer_id=customer_id,
                             category=category), PATHS[TicketStatus.IN_PROGRESS])
    return WF.fire(ticket, "resolve", at=T0, actor="a", solution="换新")


def test_a_survey_is_due_after_the_delay_and_silence_closes_the_ticket() -> None:
    policy = SurveyPolicy(delay=DAY, reply_within=3 * DAY)
    ticket = resolved()
    assert due_actions([ticket], policy, T0 + DAY - timedelta(seconds=1)) == []
    [send] = due_actions([ticket], policy, T0 + DAY)
    assert (send.ticket_id, send.action, send.due_at) == ("T-1", SurveyAction.SEND_SURVEY,
                                                          T0 + DAY)
    [close] = due_actions([ticket], policy, T0 + 4 * DAY)
    assert (close.action, close.due_at) == (SurveyAction.CLOSE, T0 + 4 * DAY)
    closed = apply_due(ticket, policy, T0 + 10 * DAY)
    assert closed.status is TicketStatus.CLOSED
    # recorded when it became due, not when the job ran
    assert closed.events[-1].at == T0 + 4 * DAY
    assert apply_due(ticket, policy, T0 + 2 * DAY) is ticket


def test_nothing_is_due_for_open_rated_or_closed_tickets() -> None:
    ticket = resolved()
    rated = WF.fire(ticket, "rate", at=T0 + DAY, actor="customer", score=4)
    open_ = walk(new_ticket("T-2"), PATHS[TicketStatus.IN_PROGRESS])
    closed = WF.fire(ticket, "close", at=T0, actor="a")
    assert due_actions([rated, open_, closed], None, T0 + 30 * DAY) == []


def test_a_good_score_is_recorded_and_closes_the_ticket() -> None:
    outcome = record_reply(resolved(), 4, at=T0 + 2 * DAY)
    ticket = outcome.ticket
    assert ticket.satisfaction == 4
    assert ticket.status is TicketStatus.CLOSED
    assert [e.event for e in ticket.events[-2:]] == [TicketEvent.RATE, TicketEvent.CLOSE]
    assert ticket.events[-2].score == 4
    assert (outcome.created, outcome.task) == (None, None)
    kept = record_reply(resolved(), 5, at=T0 + DAY,
                        policy=SurveyPolicy(close_when_satisfied=False)).ticket
    assert kept.status is TicketStatus.RESOLVED


def test_a_bad_score_reopens_the_ticket_with_a_follow_up_task() -> None:
    outcome = record_reply(resolved(), 2, at=T0 + 2 * DAY)
    ticket, task = outcome.ticket, outcome.task
    assert ticket.status is TicketStatus.IN_PROGRESS
    assert ticket.satisfaction == 2
    assert ticket.times_reopened == 1
    assert task is not None
    assert (task.ticket_id, task.customer_id, task.kind, task.score) == (
        "T-1", "C-1", FollowUpKind.REOPEN, 2)
    assert task.due_at == T0 + 3 * DAY
    assert outcome.created is None


def test_a_second_bad_score_after_a_reopen_escalates() -> None:
    first = record_reply(resolved(), 1, at=T0 + DAY).ticket
    again = WF.fire(first, "resolve", at=T0 + 2 * DAY, actor="a", solution="退款")
    outcome = record_reply(again, 1, at=T0 + 3 * DAY)
    assert outcome.ticket.status is TicketStatus.ESCALATED
    assert outcome.task is not None
    assert outcome.task.kind is FollowUpKind.ESCALATE
    assert outcome.ticket.events[-1].event is TicketEvent.ESCALATE


def test_a_bad_score_after_the_window_opens_a_linked_ticket_and_closes_the_old() -> None:
    policy = SurveyPolicy(reply_within=30 * DAY)
    outcome = record_reply(resolved(), 1, at=T0 + 9 * DAY, policy=policy)
    assert outcome.ticket.status is TicketStatus.CLOSED
    assert outcome.created is not None
    assert outcome.created.reopened_from == "T-1"
    assert outcome.task is not None
    assert outcome.task.ticket_id == outcome.created.id == "T-1-R1"
    # The follow-up ticket already counts as reopened once: a bad score there escalates.
    follow = walk(outcome.created, PATHS[TicketStatus.RESOLVED])
    assert record_reply(follow, 2, at=follow.updated_at + DAY).task.kind is (  # type: ignore[union-attr]
        FollowUpKind.ESCALATE
    )


def test_the_threshold_and_reopen_count_are_configurable() -> None:
    strict = SurveyPolicy(threshold=3, max_reopens=0)
    outcome = record_reply(resolved(), 3, at=T0 + DAY, policy=strict)
    assert outcome.ticket.status is TicketStatus.ESCALATED


def test_replies_outside_the_survey_are_refused() -> None:
    closed = WF.fire(resolved(), "close", at=T0, actor="a")
    with pytest.raises(TransitionNotAllowed):
        record_reply(closed, 5, at=T0 + DAY)
    with pytest.raises(ValidationError, match="score"):
        record_reply(resolved(), 0, at=T0 + DAY)
    with pytest.raises(ValidationError, match="time order"):
        record_reply(resolved(), 4, at=T0 - DAY)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"threshold": 0}, "SurveyPolicy.threshold"), ({"delay": -DAY}, "SurveyPolicy.delay"),
     ({"max_reopens": -1}, "SurveyPolicy.max_reopens"),
     ({"close_when_satisfied": 1}, "SurveyPolicy.close_when_satisfied")],
)
def test_bad_policies_are_named(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SurveyPolicy(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


# -- statistics -----------------------------------------------------------------------


def test_statistics_per_customer() -> None:
    a1 = record_reply(resolved("A1", "C-A"), 1, at=T0 + DAY).ticket  # reopened, open
    a2 = record_reply(resolved("A2", "C-A", "inquiry"), 5, at=T0 + DAY).ticket
    b1 = resolved("B1", "C-B", "logistics")
    c1 = WF.fire(new_ticket("C1", customer_id="C-C", category="other"), "cancel", at=T0,
                 actor="c")
    stats = ticket_statistics([b1, a2, c1, a1], T0 + 2 * DAY)
    assert stats.customer_ids.tolist() == ["C-A", "C-B", "C-C"]
    assert stats.tickets.tolist() == [2, 1, 1]
    assert stats.complaints.tolist() == [1, 1, 0]
    assert stats.open.tolist() == [1, 0, 0]
    assert stats.reopened.tolist() == [1, 0, 0]
    assert stats.surveys.tolist() == [2, 0, 0]
    assert stats.low_scores.tolist() == [1, 0, 0]
    assert stats.mean_satisfaction[0] == 3.0
    assert np.isnan(stats.mean_satisfaction[1:]).all()
    assert stats.tickets.dtype == np.int64
    assert stats.row("C-A")["reopened"] == 1
    nobody = stats.row("C-Z")
    assert nobody["tickets"] == 0
    assert math.isnan(nobody["mean_satisfaction"])
    assert set(stats.to_dict()) == {"C-A", "C-B", "C-C"}
    assert len(stats) == 3


def test_statistics_look_only_at_what_happened_by_as_of_and_in_the_window() -> None:
    a1 = record_reply(resolved("A1", "C-A"), 1, at=T0 + DAY).ticket
    before = ticket_statistics([a1], T0 + timedelta(hours=1))
    assert before.surveys.tolist() == [0]
    assert before.open.tolist() == [0]  # resolved then, reopened later
    assert before.reopened.tolist() == [0]
    later = ticket_statistics([a1], T0 + 100 * DAY, window=30 * DAY)
    assert later.tickets.tolist() == [0]
    assert later.surveys.tolist() == [0]
    empty = ticket_statistics([], T0)
    assert len(empty) == 0
    assert empty.mean_satisfaction.shape == (0,)


def test_statistics_refuse_bad_input() -> None:
    with pytest.raises(ValidationError, match="as_of"):
        ticket_statistics([], T0.replace(tzinfo=None))
    with pytest.raises(ValidationError, match="window"):
        ticket_statistics([], T0, window=-DAY)
    with pytest.raises(ValidationError, match=r"tickets\[0\]"):
        ticket_statistics(["T-1"], T0)  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="tickets"):
        ticket_statistics(None, T0)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="complaint_categories"):
        ticket_statistics([], T0, complaint_categories=None)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="tickets"):
        due_actions(None, None, T0)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="policy"):
        due_actions([], "strict", T0)  # type: ignore[arg-type]
