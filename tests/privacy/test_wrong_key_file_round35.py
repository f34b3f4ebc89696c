"""A wrong key file is refused before anything is changed, on every store.

Was: the services used whatever keys the provider held under the expected ids. An
erasure with another key file (``custmgmt privacy keygen`` makes files with the same
ids, ``kek-1`` and ``index-1``) succeeded and stored a pseudonym made with the wrong
index key; adding or updating customers sealed them under a KEK and indexes the
store's own key file cannot use; a lookup found no one, silently; a rotation resumed
with another new KEK left data keys that no single key file opens.

Now each key's keyed fingerprint is recorded when it is first written with, and
compared before every use that writes or computes with it (``KeyMismatch``, a
``ValidationError`` naming the key's id). A store written before fingerprints were
kept is checked against its data the first time: a KEK must open a stored data key,
the index key must give the blind indexes stored beside a decrypted record.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from _privacy_support import ADMIN, OFFICER, encrypted, keys
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.privacy import (
    DecryptionFailed,
    FieldCipher,
    FileKeyProvider,
    KeyFingerprints,
    KeyMismatch,
    Privacy,
    StaticKeyProvider,
    add_customer,
    erase_subject,
    export_subject,
    find_customers,
    read_customer,
    rotate_keys,
    update_customer,
    write_key_file,
)
from custmgmt.testing import make_customer

NAME, EMAIL, PHONE = "欧阳娜娜", "nana@example.cn", "13812345678"


@pytest.fixture
def store(store_of_each_kind: Any) -> Any:
    return store_of_each_kind


def _two_key_files(tmp_path: Path) -> tuple[Privacy, Privacy]:
    """The store's key file and another one made the same way (same key ids)."""
    right = FileKeyProvider(write_key_file(tmp_path / "keys.json").path)
    wrong = FileKeyProvider(write_key_file(tmp_path / "other-keys.json").path)
    assert right.key_ids == wrong.key_ids == ("index-1", "kek-1")
    return encrypted(right), encrypted(wrong)


def _snapshot(store: Any, customer_id: str) -> tuple[Any, ...]:
    repo = store.privacy
    return (
        store.customers.get(customer_id), repo.get_key(customer_id),
        repo.get_sealed(customer_id), repo.erasure(customer_id),
        len(repo.audit_entries()), repo.key_counts(), repo.key_fingerprints(),
    )


def _forget_fingerprints(store: Any) -> None:
    """Make the store look like one written before fingerprints were kept."""
    repo = store.privacy
    if hasattr(repo, "_fingerprints"):  # memory
        repo._fingerprints.clear()
        return
    with store.writing() as conn:
        conn.execute("DELETE FROM privacy_key_checks")
    assert repo.key_fingerprints() == {}


def test_an_erasure_with_another_key_file_is_refused_before_anything_changes(
    store: Any, tmp_path: Path
) -> None:
    right, wrong = _two_key_files(tmp_path)
    add_customer(store, right, OFFICER, make_customer(id="C-1", name=NAME, email=EMAIL,
                                                      phone=PHONE))
    before = _snapshot(store, "C-1")
    with pytest.raises(KeyMismatch) as refused:
        erase_subject(store, wrong, OFFICER, "C-1", purpose="PIPL art. 47")
    assert isinstance(refused.value, ValidationError)
    assert refused.value.key_id == "index-1"
    message = str(refused.value)
    assert "index-1" in message
    assert "does not match" in message
    assert "this store was written with" in message
    # Nothing changed: profile, key, sealed record, no erasure, not even an audit entry.
    assert _snapshot(store, "C-1") == before
    assert read_customer(store, right, OFFICER, "C-1").name == NAME
    # The right key file erases, with the pseudonym of the right index key.
    record = erase_subject(store, right, OFFICER, "C-1")
    assert right.cipher is not None
    assert record.pseudonym == right.cipher.pseudonym("C-1")
    assert store.customers.get("C-1").name == record.pseudonym


def test_writes_and_lookups_with_a_wrong_key_file_are_refused(
    store: Any, tmp_path: Path
) -> None:
    right, wrong = _two_key_files(tmp_path)
    customer = make_customer(id="C-1", name=NAME, email=EMAIL, phone=PHONE)
    add_customer(store, right, OFFICER, customer)
    before = _snapshot(store, "C-1")
    with pytest.raises(KeyMismatch):
        add_customer(store, wrong, OFFICER, make_customer(id="C-2", name="王芳"))
    with pytest.raises(NotFound):
        store.customers.get("C-2")
    with pytest.raises(KeyMismatch):
        update_customer(store, wrong, OFFICER,
                        customer.update_profile(at=customer.updated_at, name="欧阳娜"))
    with pytest.raises(KeyMismatch):  # was: [] (the wrong index finds no one)
        find_customers(store, wrong, OFFICER, email=EMAIL)
    assert _snapshot(store, "C-1") == before
    assert find_customers(store, right, OFFICER, email=EMAIL) == ["C-1"]
    # Reads stay authenticated by the cipher itself: never garbage.
    with pytest.raises(DecryptionFailed):
        export_subject(store, wrong, OFFICER, "C-1")


def test_a_rotation_resumed_with_another_new_kek_is_refused(store: Any) -> None:
    old = keys("kek-1")
    privacy = encrypted(old)
    for i in range(4):
        add_customer(store, privacy, OFFICER, make_customer(id=f"C-{i}", email=f"u{i}@x.cn"))
    first = encrypted(old.with_current("kek-2", secrets.token_bytes(32)))
    done = rotate_keys(store, first, ADMIN, old_kek_id="kek-1", batch_size=2, max_batches=1)
    assert (done.rewrapped, done.remaining) == (2, 2)
    audited = len(store.privacy.audit_entries())
    other = encrypted(old.with_current("kek-2", secrets.token_bytes(32)))
    with pytest.raises(KeyMismatch) as refused:
        rotate_keys(store, other, ADMIN, old_kek_id="kek-1")
    assert refused.value.key_id == "kek-2"
    assert store.privacy.key_counts() == {"kek-1": 2, "kek-2": 2}
    assert len(store.privacy.audit_entries()) == audited
    # A wrong old KEK is refused too, before anything is rewrapped or audited.
    wrong_old = encrypted(StaticKeyProvider(
        {"kek-1": secrets.token_bytes(32), "kek-2": first.cipher.keys.key("kek-2"),  # type: ignore[union-attr]
         "index-1": old.key("index-1")}, current="kek-2", index="index-1"))
    with pytest.raises(KeyMismatch) as refused_old:
        rotate_keys(store, wrong_old, ADMIN, old_kek_id="kek-1")
    assert refused_old.value.key_id == "kek-1"
    assert len(store.privacy.audit_entries()) == audited
    # The right keys finish the rotation, and every customer still opens.
    rotate_keys(store, first, ADMIN, old_kek_id="kek-1")
    assert store.privacy.key_counts() == {"kek-2": 4}
    for i in range(4):
        assert read_customer(store, first, OFFICER, f"C-{i}").email == f"u{i}@x.cn"


def test_a_store_without_fingerprints_checks_keys_against_its_data(store: Any) -> None:
    right = encrypted(keys("kek-1"))
    add_customer(store, right, OFFICER, make_customer(id="C-1", name=NAME, email=EMAIL))
    _forget_fingerprints(store)
    wrong = encrypted(keys("kek-1"))
    before = _snapshot(store, "C-1")
    with pytest.raises(KeyMismatch) as index_refused:  # its blind index disagrees
        erase_subject(store, wrong, OFFICER, "C-1")
    assert index_refused.value.key_id == "index-1"
    assert right.cipher is not None
    mixed = encrypted(StaticKeyProvider(
        {"kek-1": secrets.token_bytes(32), "index-1": right.cipher.keys.key("index-1")},
        current="kek-1", index="index-1"))
    with pytest.raises(KeyMismatch) as kek_refused:  # opens no stored data key
        add_customer(store, mixed, OFFICER, make_customer(id="C-2", name="王芳"))
    assert kek_refused.value.key_id == "kek-1"
    assert _snapshot(store, "C-1") == before
    # The right keys pass the check, and their fingerprints are recorded from then on.
    add_customer(store, right, OFFICER, make_customer(id="C-2", name="王芳"))
    assert sorted(store.privacy.key_fingerprints()) == ["index-1", "kek-1"]
    with pytest.raises(KeyMismatch):
        erase_subject(store, wrong, OFFICER, "C-1")


def test_fingerprints_are_recorded_once_and_hold_no_key(store: Any) -> None:
    repo = store.privacy
    assert isinstance(repo, KeyFingerprints)
    provider = keys("kek-1")
    add_customer(store, encrypted(provider), OFFICER, make_customer(id="C-1"))
    recorded = repo.key_fingerprints()
    assert sorted(recorded) == ["index-1", "kek-1"]
    for key_id, fingerprint in recorded.items():
        assert len(fingerprint) == 16
        assert provider.key(key_id) not in fingerprint
    with pytest.raises(Conflict):
        repo.put_key_fingerprint("kek-1", bytes(16))
    # Refused inside a transaction too, which goes on and commits its other writes.
    with store.transaction():
        with pytest.raises(Conflict):
            repo.put_key_fingerprint("index-1", bytes(16))
        repo.put_key_fingerprint("kek-2", bytes(range(16)))
    assert repo.key_fingerprints() == {**recorded, "kek-2": bytes(range(16))}
    recorded = repo.key_fingerprints()
    with pytest.raises(ValidationError):
        repo.put_key_fingerprint("", bytes(16))
    with pytest.raises(ValidationError):
        repo.put_key_fingerprint("kek-9", b"short")
    assert repo.key_fingerprints() == recorded


@settings(max_examples=50)
@given(a=st.binary(min_size=32, max_size=32), b=st.binary(min_size=32, max_size=32),
       key_id=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
                      max_size=20))
def test_a_fingerprint_depends_on_the_key_and_its_id_only(
    a: bytes, b: bytes, key_id: str
) -> None:
    def cipher(key: bytes) -> FieldCipher:
        return FieldCipher(StaticKeyProvider({key_id: key}, current=key_id, index=key_id))

    assert cipher(a).key_fingerprint(key_id) == cipher(a).key_fingerprint(key_id)
    assert (cipher(a).key_fingerprint(key_id) == cipher(b).key_fingerprint(key_id)) == (a == b)
