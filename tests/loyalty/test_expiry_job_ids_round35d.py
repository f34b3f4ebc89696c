"""The expiry job checks every customer id before it expires anything (round 35d).

``expire_points(customer_ids=["客户-1", 5])`` expired 客户-1's lots, committed, then
refused 5: the job failed and still wrote half its work.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from _loyalty_support import add_customer

from custmgmt.errors import ValidationError
from custmgmt.loyalty import EntryKind, earn_points, expire_points
from custmgmt.loyalty.ports import LoyaltyStore

AWARDED = datetime(2025, 1, 2, tzinfo=UTC)
LATER = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("bad", [5, None, "", "客户\x00"])
def test_a_bad_id_late_in_the_list_writes_nothing(store: LoyaltyStore, bad: object) -> None:
    add_customer(store, "客户-1", at=datetime(2025, 1, 1, tzinfo=UTC))
    earn_points(store, "客户-1", rule="lottery", key="抽奖-1", at=AWARDED)
    with pytest.raises(ValidationError) as info:
        expire_points(store, as_of=LATER, customer_ids=["客户-1", bad])  # type: ignore[list-item]
    assert info.value.field == "customer_id"
    assert [e.kind for e in store.loyalty.entries("客户-1")] == [EntryKind.EARN]
    # The same job with good ids expires the lot, once.
    assert [e.kind for e in expire_points(store, as_of=LATER, customer_ids=["客户-1"])] == [
        EntryKind.EXPIRE
    ]
    assert expire_points(store, as_of=LATER, customer_ids=["客户-1"]) == []
