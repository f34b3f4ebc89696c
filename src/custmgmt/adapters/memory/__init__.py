"""The in-memory adapter: :class:`MemoryStore`, the default backend and the fast fake.

Capability repositories live beside the core store in this package (``ratings.py``,
``tickets.py``), each joining the store's :class:`TransactionLog`; the store class
registers each with one ``Capability(...)`` line.
"""

from custmgmt.adapters.memory.store import (
    MemoryCustomerRepository,
    MemoryInteractionRepository,
    MemoryOrderRepository,
    MemoryStore,
)
from custmgmt.adapters.memory.transaction import TransactionLog

__all__ = [
    "MemoryCustomerRepository",
    "MemoryInteractionRepository",
    "MemoryOrderRepository",
    "MemoryStore",
    "TransactionLog",
]
