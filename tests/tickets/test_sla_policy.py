"""SLA policies, bad input to the engines, and escalation rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest
from _sla_support import (
    SHANGHAI,
    Category,
    Event,
    LooseRecord,
    Priority,
    Status,
    loose,
    make_ticket,
)
from dateutil import tz

from custmgmt.errors import ValidationError
from custmgmt.tickets.sla import (
    Escalation,
    EscalationRule,
    SLAMetric,
    SLAPolicy,
    SLAState,
    SLATargets,
    escalations,
    sla_status,
)
from custmgmt.tickets.sla_vectorised import SLAEventFrame, sla_status_many

SH = tz.gettz("Asia/Shanghai")
H = timedelta(hours=1)
POLICY = SLAPolicy(
    targets={
        Priority.URGENT: SLATargets(first_response=H, next_response=2 * H, resolution=4 * H),
        Priority.NORMAL: SLATargets(first_response=2 * H, next_response=4 * H, resolution=8 * H),
    }
)


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


def both_refuse(ticket: Any, as_of: datetime) -> tuple[ValidationError, ValidationError]:
    """Both engines refuse the input with a ValidationError; returns them."""
    with pytest.raises(ValidationError) as reference:
        sla_status(ticket, POLICY, SHANGHAI, as_of)
    with pytest.raises(ValidationError) as vectorised:
        sla_status_many([ticket], POLICY, SHANGHAI, as_of)
    return reference.value, vectorised.value


# -- policies -----------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-H, timedelta(0), 3600, "2h"])
def test_targets_must_be_positive_timedeltas(bad: object) -> None:
    with pytest.raises(ValidationError) as caught:
        SLATargets(resolution=bad)  # type: ignore[arg-type]
    assert caught.value.field == "SLATargets.resolution"


def test_a_negative_target_names_the_metric() -> None:
    with pytest.raises(ValidationError, match=r"first_response.*positive"):
        SLATargets(first_response=-2 * H)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"targets": {}}, "SLAPolicy.targets"),
        ({"targets": {Priority.NORMAL: 8 * H}}, "SLAPolicy.targets[<Priority.NORMAL: 'normal'>]"),
        ({"category_targets": {Priority.NORMAL: SLATargets()}}, "SLAPolicy.category_targets"),
        ({"paused_in": {"resolution": set()}}, "SLAPolicy.paused_in"),
        (
            {"paused_in": {SLAMetric.RESOLUTION: "waiting_on_customer"}},
            "SLAPolicy.paused_in[resolution]",
        ),
        (
            {"paused_in": {SLAMetric.RESOLUTION: {Status.RESOLVED}}},
            "SLAPolicy.paused_in[resolution]",
        ),
        ({"warning_share": 0}, "SLAPolicy.warning_share"),
        ({"warning_share": 1.5}, "SLAPolicy.warning_share"),
        ({"warning_share": True}, "SLAPolicy.warning_share"),
        ({"warning_share": float("nan")}, "SLAPolicy.warning_share"),
    ],
)
def test_bad_policies_are_refused_naming_the_field(kwargs: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {"targets": POLICY.targets}
    arguments.update(kwargs)
    with pytest.raises(ValidationError) as caught:
        SLAPolicy(**arguments)
    assert caught.value.field == field


def test_policies_accept_members_or_values_and_compare_by_value() -> None:
    by_value = SLAPolicy(
        targets={"urgent": POLICY.targets["urgent"], "normal": POLICY.targets["normal"]}
    )
    assert by_value == POLICY
    assert POLICY.targets_for(Priority.LOW, Category.OTHER) == SLATargets()
    assert POLICY.paused_in[SLAMetric.RESOLUTION] == {"waiting_on_customer"}
    assert POLICY.paused_in[SLAMetric.FIRST_RESPONSE] == frozenset()
    assert POLICY.warning_threshold(2 * H) == 96 * timedelta(minutes=1)
    assert POLICY.longest_target == 8 * H
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        POLICY.warning_share = 0.5  # type: ignore[misc]


# -- bad tickets --------------------------------------------------------------------


# A Ticket refuses such logs itself; the engines read any SLATicket, so they check too.


def test_events_out_of_time_order_are_refused() -> None:
    ordered = loose(
        make_ticket(
            sh(2024, 9, 23, 9),
            [(sh(2024, 9, 23, 10), Event.RESPOND), (sh(2024, 9, 23, 11), Event.RESOLVE)],
        )
    )
    first, second, third = ordered.events
    ticket = attrs.evolve(
        ordered,
        events=(first, attrs.evolve(second, at=third.at), attrs.evolve(third, at=second.at)),
    )
    reference, vectorised = both_refuse(ticket, sh(2024, 9, 24, 9))
    assert reference.field == "ticket.events[2].at"
    assert "time order" in str(reference)
    assert vectorised.field == "tickets['T-1'].events[2].at"


def test_events_before_the_creation_are_refused() -> None:
    ticket = loose(make_ticket(sh(2024, 9, 23, 9), []))
    early = attrs.evolve(ticket, created_at=sh(2024, 9, 23, 10))
    reference, vectorised = both_refuse(early, sh(2024, 9, 24, 9))
    assert "creation" in str(reference)
    assert "creation" in str(vectorised)


def test_naive_datetimes_are_refused() -> None:
    ticket = loose(make_ticket(sh(2024, 9, 23, 9), []))
    reference, vectorised = both_refuse(ticket, datetime(2024, 9, 24, 9))
    assert reference.field == vectorised.field == "as_of"
    naive_event = attrs.evolve(
        ticket,
        events=(
            *ticket.events,
            LooseRecord(datetime(2024, 9, 23, 10), Event.RESPOND, Status.NEW, Status.NEW),
        ),
    )
    reference, vectorised = both_refuse(naive_event, sh(2024, 9, 24, 9))
    assert "naive" in str(reference)
    assert "naive" in str(vectorised)
    naive_created = attrs.evolve(ticket, created_at=datetime(2024, 9, 23, 9))
    reference, vectorised = both_refuse(naive_created, sh(2024, 9, 24, 9))
    assert "created_at" in reference.field


def test_as_of_before_the_creation_is_refused() -> None:
    ticket = make_ticket(sh(2024, 9, 23, 9), [])
    reference, vectorised = both_refuse(ticket, sh(2024, 9, 22, 9))
    assert reference.field == vectorised.field == "as_of"


def test_an_empty_log_is_refused() -> None:
    ticket = attrs.evolve(loose(make_ticket(sh(2024, 9, 23, 9), [])), events=())
    reference, vectorised = both_refuse(ticket, sh(2024, 9, 24, 9))
    assert "non-empty" in reference.expected
    assert "non-empty" in vectorised.expected


def test_no_tickets_give_an_empty_frame() -> None:
    result = sla_status_many([], POLICY, SHANGHAI, sh(2024, 9, 24, 9))
    assert len(result) == 0
    assert result.to_list() == []


def test_an_event_frame_can_be_reused_for_several_moments() -> None:
    tickets = [
        make_ticket(sh(2024, 9, 23, 9), [(sh(2024, 9, 23, 12), Event.RESPOND)], id="A"),
        make_ticket(sh(2024, 9, 23, 10), [], id="B", priority=Priority.URGENT),
    ]
    frame = SLAEventFrame.from_tickets(tickets)
    for as_of in (sh(2024, 9, 23, 10), sh(2024, 9, 23, 11), sh(2024, 9, 25, 9)):
        expected = [sla_status(t, POLICY, SHANGHAI, as_of) for t in tickets]
        result = sla_status_many(frame, POLICY, SHANGHAI, as_of)
        assert result.to_list() == expected
        assert result.status(-1) == expected[-1]
    with pytest.raises(ValidationError):
        result.status(2)
    assert result.first_response.count(SLAState.BREACHED) == 2


# -- escalations --------------------------------------------------------------------


RULES = [
    EscalationRule(name="urgent-breach", when=SLAState.BREACHED, priorities={Priority.URGENT}),
    EscalationRule(name="long-breach", when=SLAState.BREACHED, min_lateness=4 * H),
    EscalationRule(name="resolution-warning", when=SLAState.WARNING, metrics=SLAMetric.RESOLUTION),
]


def test_escalations_say_which_tickets_and_why() -> None:
    as_of = sh(2024, 9, 24, 16)
    tickets = [
        # Urgent, unanswered since Mon 09:00: first response 1 h late by Mon 10:00.
        make_ticket(sh(2024, 9, 23, 9), [], id="urgent", priority=Priority.URGENT),
        # Normal, answered on time, resolution 7 h of 8 h (warning) at Tue 16:00:
        # Tue 09:00-12:00 + 13:00-16:00 = 6 h... plus Mon 17:00-18:00 = 7 h.
        make_ticket(sh(2024, 9, 23, 17), [(sh(2024, 9, 23, 17, 30), Event.RESPOND)], id="warn"),
        # Normal, never answered since Mon 09:00: 8 h + 6 h = 14 h, first response
        # 12 h late (over the 4 h threshold).
        make_ticket(sh(2024, 9, 23, 9), [], id="late"),
        # Resolved late: nothing more to escalate.
        make_ticket(sh(2024, 9, 23, 9), [(sh(2024, 9, 24, 9), Event.RESOLVE)], id="done"),
    ]
    statuses = [sla_status(t, POLICY, SHANGHAI, as_of) for t in tickets]
    found = escalations(statuses, RULES)
    assert [(e.ticket_id, e.rule, e.metric) for e in found] == [
        ("urgent", "urgent-breach", SLAMetric.FIRST_RESPONSE),
        ("warn", "resolution-warning", SLAMetric.RESOLUTION),
        ("late", "long-breach", SLAMetric.FIRST_RESPONSE),
    ]
    assert found[2].reason == (
        "first_response breached: late by 12h00m business hours (rule 'long-breach')"
    )
    assert isinstance(found[0], Escalation)
    # Solved tickets are skipped by default. Skipping nothing, the resolved one is
    # escalated too: its first answer was the resolution at Tue 09:00, after Monday's
    # 8 h against a 2 h target: 6 h late, over the long-breach threshold of 4 h.
    everything = escalations(statuses, RULES, skip_statuses=())
    assert (everything[-1].ticket_id, everything[-1].rule) == ("done", "long-breach")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": " ", "when": SLAState.BREACHED}, "EscalationRule.name"),
        ({"name": "x", "when": SLAState.OK}, "EscalationRule.when"),
        ({"name": "x", "when": SLAState.BREACHED, "metrics": []}, "EscalationRule.metrics"),
        (
            {"name": "x", "when": SLAState.BREACHED, "metrics": ["resolution"]},
            "EscalationRule.metrics",
        ),
        (
            {"name": "x", "when": SLAState.BREACHED, "min_lateness": -H},
            "EscalationRule.min_lateness",
        ),
        (
            {"name": "x", "when": SLAState.BREACHED, "priorities": "urgent"},
            "EscalationRule.priorities",
        ),
    ],
)
def test_bad_escalation_rules_are_refused(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        EscalationRule(**kwargs)
    assert caught.value.field == field
