"""Survey policies of centuries and tickets given twice: clear answers, no crash."""

from __future__ import annotations

from datetime import timedelta

import pytest
from _ticket_support import PATHS, new_ticket, walk

from custmgmt.errors import ValidationError
from custmgmt.tickets import (
    SurveyAction,
    SurveyPolicy,
    TicketStatus,
    due_actions,
    record_reply,
    ticket_statistics,
)

HUGE = timedelta.max


def _resolved():  # type: ignore[no-untyped-def]
    return walk(new_ticket(), PATHS[TicketStatus.RESOLVED])


def test_a_follow_up_due_past_year_9999_is_a_validation_error_naming_the_policy() -> None:
    ticket = _resolved()
    with pytest.raises(ValidationError, match=r"SurveyPolicy\.follow_up_within"):
        record_reply(ticket, 1, at=ticket.updated_at, policy=SurveyPolicy(follow_up_within=HUGE))


def test_a_survey_delay_past_year_9999_means_the_survey_is_never_due() -> None:
    ticket = _resolved()
    as_of = ticket.updated_at + timedelta(days=30)
    assert due_actions([ticket], SurveyPolicy(delay=HUGE), as_of) == []


def test_a_reply_window_past_year_9999_keeps_sending_the_survey_and_never_closes() -> None:
    ticket = _resolved()
    as_of = ticket.updated_at + timedelta(days=30)
    actions = due_actions([ticket], SurveyPolicy(reply_within=HUGE), as_of)
    assert [a.action for a in actions] == [SurveyAction.SEND_SURVEY]


def test_a_statistics_window_reaching_before_year_one_counts_everything() -> None:
    ticket = _resolved()
    stats = ticket_statistics([ticket], ticket.updated_at, window=HUGE)
    assert stats.tickets.tolist() == [1]


def test_the_same_ticket_twice_is_refused_rather_than_counted_twice() -> None:
    ticket = _resolved()
    with pytest.raises(ValidationError, match="each ticket id once"):
        ticket_statistics([ticket, ticket], ticket.updated_at)
