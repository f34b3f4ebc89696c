"""A deadline past the end of year 9999: sla_status names what the caller passed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from _ticket_support import new_ticket

from custmgmt.errors import ValidationError
from custmgmt.tickets import default_calendar, default_sla_policy, sla_status, sla_status_many


def test_a_ticket_whose_deadline_falls_past_9999_names_as_of_not_delta() -> None:
    ticket = new_ticket(at=datetime(9999, 12, 30, 9, tzinfo=UTC))
    as_of = datetime(9999, 12, 31, 9, tzinfo=UTC)
    policy, calendar = default_sla_policy(), default_calendar()
    with pytest.raises(ValidationError) as caught:
        sla_status(ticket, policy, calendar, as_of)
    assert caught.value.field == "as_of"
    assert "within years 1 to 9999" in str(caught.value)
    assert "9999-12-30T09:00:00+00:00" in str(caught.value)
    # Both engines refuse it the same way.
    with pytest.raises(ValidationError) as many:
        sla_status_many([ticket], policy, calendar, as_of)
    assert many.value.field == caught.value.field

