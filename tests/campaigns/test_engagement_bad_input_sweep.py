"""Random junk in any field of the engagement value types ends in a custmgmt error."""

from __future__ import annotations

import contextlib
from datetime import datetime, time, timedelta, timezone
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.campaigns import FrequencyCap, QuietHours, SendDecision, Suppression, draw_winners
from custmgmt.errors import CustMgmtError
from custmgmt.followup import ApprovalPolicy, CarePolicy
from custmgmt.testing.campaign_contract import make_campaign, make_offer
from custmgmt.testing.followup_contract import make_contact, make_plan

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 6, 18, 10, tzinfo=CST)

VALID: list[Any] = [
    make_campaign(),
    make_offer(),
    make_plan(),
    make_contact(),
    ApprovalPolicy(approvers={"a"}, min_stars=4),
    CarePolicy(),
    FrequencyCap(messages=2, window_days=7),
    QuietHours(start=time(21), end=time(9)),
    SendDecision(campaign_id="C", customer_id="c", reason="sent", channel="sms",
                 decided_at=T0, send_at=T0, offer_index=0, message_id="m"),
    Suppression(customer_id="c", reason="erased", at=T0),
    draw_winners("D", campaign_id="C", entrants=["a", "b"], winners=1, seed="s", prize="p",
                 at=T0),
]

JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(allow_nan=True),
    st.text(max_size=20), st.binary(max_size=5), st.just(datetime(2026, 1, 1)),
    st.lists(st.integers(), max_size=3), st.just(object()), st.just("\x00"), st.just(()),
)


@given(index=st.integers(0, len(VALID) - 1), data=st.data())
def test_junk_in_any_field_is_refused_with_a_custmgmt_error(index: int, data: Any) -> None:
    value = VALID[index]
    fields = [f.name for f in attrs.fields(type(value)) if f.init]
    chosen = data.draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True))
    changes = {name: data.draw(JUNK) for name in chosen}
    with contextlib.suppress(CustMgmtError):
        attrs.evolve(value, **changes)
