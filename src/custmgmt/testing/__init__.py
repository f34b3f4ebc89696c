"""Test support for host projects: contract suites, a fixed clock and factories.

Nothing in the library imports this package; host test suites do::

    from custmgmt.testing import StoreContract, FixedClock, make_customer

    class TestMyStore(StoreContract):
        def make_store(self):
            return MyStore(...)
"""

from custmgmt.testing.campaign_contract import CampaignRepositoryContract
from custmgmt.testing.clock import FixedClock
from custmgmt.testing.columnar_contract import ColumnarStoreContract, assert_frames_equal
from custmgmt.testing.factories import (
    make_customer,
    make_interaction,
    make_order,
    make_order_line,
)
from custmgmt.testing.followup_contract import FollowUpRepositoryContract
from custmgmt.testing.loyalty_contract import PointsRepositoryContract
from custmgmt.testing.privacy_contract import PrivacyRepositoryContract
from custmgmt.testing.rating_contract import RatingRepositoryContract
from custmgmt.testing.store_contract import StoreContract
from custmgmt.testing.ticket_contract import TicketRepositoryContract

__all__ = [
    "CampaignRepositoryContract",
    "ColumnarStoreContract",
    "FixedClock",
    "FollowUpRepositoryContract",
    "PointsRepositoryContract",
    "PrivacyRepositoryContract",
    "RatingRepositoryContract",
    "StoreContract",
    "TicketRepositoryContract",
    "assert_frames_equal",
    "make_customer",
    "make_interaction",
    "make_order",
    "make_order_line",
]
