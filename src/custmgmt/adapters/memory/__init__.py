"""The in-memory adapter: :class:`MemoryStore`, the default backend and the fast fake.

Capability repositories live beside the core store in this package (``ratings.py``,
``tickets.py``), each joining the store's :class:`TransactionLog`.
"""

from custmgmt.adapters.memory.store import (
    MemoryCustomerRepository,
    MemoryInteractionRepository,
    MemoryOrderRepository,
    MemoryStore,
    TransactionLog,
)

__all__ = [
    "MemoryCustomerRepository",
    "MemoryInteractionRepository",
    "MemoryOrderRepository",
    "MemoryStore",
    "TransactionLog",
]
