"""An as_of centuries after the tickets: a clear error at once, not minutes of work.

``custmgmt tickets --as-of 8999-12-31`` on tickets opened in 2026 tabulated every
working day of seven thousand years (about 0.1 ms a day through the time zone) and
printed nothing for minutes; ``BusinessTimeTable`` now refuses spans of 400 years
(MAX_SPAN_DAYS) and the SLA clocks name ``as_of`` (``--as-of`` on the command line).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from _ticket_support import new_ticket

from custmgmt.calendars import BusinessTimeTable
from custmgmt.calendars.table import MAX_SPAN_DAYS
from custmgmt.cli import main
from custmgmt.errors import ValidationError
from custmgmt.tickets import default_calendar, default_sla_policy, sla_status_many


def test_a_table_of_400_years_is_refused_before_any_day_is_walked() -> None:
    calendar = default_calendar("Asia/Shanghai")
    with pytest.raises(ValidationError) as caught:
        BusinessTimeTable.build(calendar, date(2026, 1, 1), date(8999, 12, 31))
    assert caught.value.field == "last_day"
    assert "400 years" in str(caught.value)
    first = date(2026, 1, 1)
    last = date.fromordinal(first.toordinal() + MAX_SPAN_DAYS)
    with pytest.raises(ValidationError):
        BusinessTimeTable.build(calendar, first, last)


def test_sla_clocks_centuries_after_the_tickets_name_as_of() -> None:
    ticket = new_ticket(at=datetime(2026, 6, 1, tzinfo=UTC))
    with pytest.raises(ValidationError) as caught:
        sla_status_many([ticket], default_sla_policy(), default_calendar("Asia/Shanghai"),
                        datetime(8999, 12, 31, tzinfo=UTC))
    assert caught.value.field == "as_of"
    assert "400 years" in caught.value.expected


def test_the_tickets_command_refuses_an_as_of_millennia_away(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.sqlite3"
    assert main(["demo", "--db", str(db), "--customers", "60"]) == 0
    capsys.readouterr()
    assert main(["tickets", "--db", str(db), "--as-of", "8999-12-31"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("custmgmt: error: --as-of: got '8999-12-31T23:59:59.999999")
    assert "Traceback" not in err
