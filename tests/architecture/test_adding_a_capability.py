"""A toy capability added from outside the library: no file of the library is edited.

The capability is a tiny notes repository with a memory and an SQLite implementation,
registered in one line per store class (or per store, by key).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pytest

from custmgmt import MemoryStore, SQLiteStore
from custmgmt.adapters._registry import Capability
from custmgmt.adapters.memory import TransactionLog
from custmgmt.adapters.sqlite import SQLiteDatabase
from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.ports import CapabilityKey, Store
from custmgmt.rating.ports import RatingStore
from custmgmt.tickets.ports import TicketStore


@runtime_checkable
class Notes(Protocol):
    def add(self, note_id: str, text: str) -> None: ...
    def get(self, note_id: str) -> str: ...


NOTES: CapabilityKey[Notes] = CapabilityKey("notes", Notes)


@runtime_checkable
class NotesStore(Store, Protocol):
    @property
    def notes(self) -> Notes: ...


class MemoryNotes:
    def __init__(self, tx: TransactionLog) -> None:
        self._tx = tx
        self._texts: dict[str, str] = {}

    def add(self, note_id: str, text: str) -> None:
        with self._tx.lock:
            if note_id in self._texts:
                raise Conflict("note", note_id, "a new id")
            self._texts[note_id] = text
            self._tx.record(lambda: self._texts.pop(note_id))

    def get(self, note_id: str) -> str:
        try:
            return self._texts[note_id]
        except KeyError:
            raise NotFound("note", note_id) from None


class SQLiteNotes:
    def __init__(self, db: SQLiteDatabase) -> None:
        self._db = db
        db.apply_migrations("notes", ["CREATE TABLE notes (id TEXT PRIMARY KEY, text TEXT)"])

    def add(self, note_id: str, text: str) -> None:
        with self._db.writing() as conn:
            conn.execute("INSERT INTO notes VALUES (?, ?)", (note_id, text))

    def get(self, note_id: str) -> str:
        with self._db.lock:
            row = self._db.connection.execute(
                "SELECT text FROM notes WHERE id = ?", (note_id,)
            ).fetchone()
        if row is None:
            raise NotFound("note", note_id)
        return str(row[0])


class NotesMemoryStore(MemoryStore):
    notes = Capability(NOTES, MemoryNotes)


class NotesSQLiteStore(SQLiteStore):
    notes = Capability(NOTES, SQLiteNotes)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> NotesStore:
    if request.param == "memory":
        return NotesMemoryStore()
    return NotesSQLiteStore(":memory:")


def test_a_registered_capability_is_reachable_typed_and_made_once(store: NotesStore) -> None:
    store.notes.add("n1", "回访记录：客户满意")
    assert store.notes.get("n1") == "回访记录：客户满意"
    assert store.notes is store.notes
    assert isinstance(store, NotesStore)
    assert isinstance(store, RatingStore)
    assert isinstance(store, TicketStore)


def test_a_capability_joins_the_stores_transaction(store: NotesStore) -> None:
    def fail_after_a_write() -> None:
        with store.transaction():
            store.notes.add("n1", "will be undone")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_after_a_write()
    with pytest.raises(NotFound):
        store.notes.get("n1")


def test_adding_a_capability_in_a_subclass_leaves_the_base_class_alone() -> None:
    assert set(NotesMemoryStore().capabilities) == {"notes", *MemoryStore().capabilities}
    assert "notes" not in MemoryStore().capabilities
    with pytest.raises(NotFound):
        MemoryStore().repository(NOTES)


def test_one_store_can_take_a_capability_by_key_without_a_subclass() -> None:
    store = SQLiteStore(":memory:", capabilities={NOTES: SQLiteNotes})
    store.repository(NOTES).add("n1", "备注")
    assert store.repository(NOTES).get("n1") == "备注"
    store.close()


def test_a_factory_that_makes_the_wrong_thing_is_refused_naming_the_capability() -> None:
    store = MemoryStore(capabilities={NOTES: lambda tx: object()})
    with pytest.raises(ValidationError, match="notes"):
        store.repository(NOTES)


def test_the_attribute_must_carry_the_keys_name() -> None:
    # Python 3.11 wraps errors raised in __set_name__ in a RuntimeError naming the
    # attribute; 3.12 and later let the ValidationError through.
    with pytest.raises((ValidationError, RuntimeError), match="memos"):

        class Misnamed(MemoryStore):
            memos = Capability(NOTES, MemoryNotes)


def test_capabilities_given_to_a_store_must_be_keyed_by_capability_keys() -> None:
    with pytest.raises(ValidationError, match="capabilities"):
        MemoryStore(capabilities={"notes": MemoryNotes})  # type: ignore[dict-item]
