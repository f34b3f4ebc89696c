"""The KPI inputs' SLA clocks for customers rated above the service map's top.

A 10-level rating policy gives customers up to 10 stars; the default service levels
map 1 to 5, and ``KpiInputs.from_store`` raised a ValidationError for 6 stars and
more instead of giving them the top's service, as ``response_time_factors`` does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custmgmt.kpi.inputs import _ticket_fields
from custmgmt.tickets import DEFAULT_WORKFLOW, default_calendar, default_sla_policy

OPENED = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


class _Tickets:
    def __init__(self, *tickets: object) -> None:
        self.tickets = list(tickets)

    def iter_chunks(self) -> list[list[object]]:
        return [self.tickets]


@pytest.mark.parametrize("stars", [5, 6, 10])
def test_stars_above_the_top_get_the_tops_service(stars: int) -> None:
    ticket = DEFAULT_WORKFLOW.open(
        id="T-1", at=OPENED, customer_id="C-1", category="logistics", priority="normal",
        subject="快递三天没动", actor="web",
    )
    fields = _ticket_fields(_Tickets(ticket), OPENED + timedelta(days=3), {"C-1": stars},
                            default_sla_policy(), default_calendar("Asia/Shanghai"))
    top = _ticket_fields(_Tickets(ticket), OPENED + timedelta(days=3), {"C-1": 5},
                         default_sla_policy(), default_calendar("Asia/Shanghai"))
    assert fields["sla_met"].tolist() == top["sla_met"].tolist()
    assert fields["sla_stars"].tolist() == [stars]
