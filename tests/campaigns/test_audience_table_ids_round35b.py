"""audience_table keeps the ids its features give, exactly: a host store's customer
"a\\x00" is refused (naming the row), not merged with the customer "a" by a numpy text
conversion that drops a trailing NUL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.campaigns import audience_table
from custmgmt.errors import ValidationError
from custmgmt.testing import make_order

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)


class _HostStore(MemoryStore):
    """A host's store whose columnar port gives the customer "b" as ``renamed``."""

    def __init__(self, renamed: str) -> None:
        super().__init__()
        self.renamed = renamed

    def order_frame(self, **kwargs: Any) -> Any:
        frame = super().order_frame(**kwargs)
        ids = frame.customer_ids.copy()
        ids[ids.tolist().index("b")] = self.renamed
        return attrs.evolve(frame, customer_ids=ids)


def _store(renamed: str) -> _HostStore:
    store = _HostStore(renamed)
    store.orders.add(make_order(id="o1", customer_id="a", placed_at=AS_OF - timedelta(days=3)))
    store.orders.add(make_order(id="o2", customer_id="b", placed_at=AS_OF - timedelta(days=2)))
    return store


def test_a_customer_id_with_a_trailing_nul_is_refused_not_merged() -> None:
    with pytest.raises(ValidationError, match="NUL") as info:
        audience_table(_store("a\x00"), as_of=AS_OF)
    assert info.value.field == "Columns.customer_ids[1]"
    assert info.value.value == "a\x00"


@pytest.mark.parametrize("renamed", ["b\t", "b\x85", "b\n"])
def test_a_customer_id_with_another_control_character_is_refused(renamed: str) -> None:
    with pytest.raises(ValidationError, match="control characters"):
        audience_table(_store(renamed), as_of=AS_OF)


def test_plain_ids_are_kept_one_row_per_customer() -> None:
    table = audience_table(_store("b\u2028"), as_of=AS_OF)
    assert table.customer_ids.tolist() == ["a", "b\u2028"]
    assert len(set(table.customer_ids.tolist())) == 2
