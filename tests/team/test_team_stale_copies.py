"""A stale agent copy: the Conflict says what the copy is, and only what is true."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import Conflict
from custmgmt.team import Agent
from custmgmt.team.services import add_agent, update_agent


def _stores() -> list[Any]:
    return [MemoryStore(), SQLiteStore(":memory:")]


def _stored(store: Any) -> tuple[Agent, Agent]:
    first = Agent(id="a1", name="张三", role="agent", skills=["inquiry"])
    add_agent(store, first)
    second = first.revised(name="李四")
    update_agent(store, second)
    return first, second


@pytest.mark.parametrize("store", _stores(), ids=["memory", "sqlite"])
def test_a_never_changed_copy_is_a_stale_copy_not_a_bad_expected_version(store: Any) -> None:
    first, _ = _stored(store)
    with pytest.raises(Conflict) as caught:
        store.agents.update(first)
    text = str(caught.value)
    assert "stored version is 2" in text
    assert "version 1, never changed" in text
    assert "expected_version" not in text


@pytest.mark.parametrize("store", _stores(), ids=["memory", "sqlite"])
def test_saving_the_stored_agent_again_says_there_is_nothing_to_update(store: Any) -> None:
    _, second = _stored(store)
    with pytest.raises(Conflict) as caught:
        store.agents.update(attrs.evolve(second))
    text = str(caught.value)
    assert "unchanged: there is nothing to update" in text
    assert "either" not in text
    assert "stored first" not in text


@pytest.mark.parametrize("store", _stores(), ids=["memory", "sqlite"])
def test_a_different_copy_of_the_stored_version_says_another_was_stored_first(
        store: Any) -> None:
    first, _ = _stored(store)
    with pytest.raises(Conflict) as caught:
        store.agents.update(first.revised(name="王五"))
    text = str(caught.value)
    assert "but differs from it: another version 2 was stored first" in text
    assert store.agents.get("a1").name == "李四"
