"""Test support for host projects: contract suites, a fixed clock and factories.

Nothing in the library imports this package; host test suites do::

    from custmgmt.testing import StoreContract, FixedClock, make_customer

    class TestMyStore(StoreContract):
        def make_store(self):
            return MyStore(...)
"""

from custmgmt.testing.clock import FixedClock
from custmgmt.testing.factories import (
    make_customer,
    make_interaction,
    make_order,
    make_order_line,
)

__all__ = [
    "FixedClock",
    "make_customer",
    "make_interaction",
    "make_order",
    "make_order_line",
]
