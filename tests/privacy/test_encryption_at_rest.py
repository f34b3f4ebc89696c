"""Field encryption: no plaintext on disk, lookups through blind indexes, key rotation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _privacy_support import (
    ADMIN,
    NOW,
    OFFICER,
    encrypted,
    file_bytes,
    filled_store,
    keys,
    personal_values,
    plain,
)

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.adapters.sqlite.backup import backup
from custmgmt.errors import Conflict, MissingDependency, NotFound, ValidationError
from custmgmt.privacy import (
    DecryptionFailed,
    FieldCipher,
    KeyUnavailable,
    Privacy,
    StaticKeyProvider,
    add_customer,
    environment_key_provider,
    find_customers,
    read_customer,
    rotate_keys,
    update_customer,
    write_key_file,
)
from custmgmt.privacy.crypto import FileKeyProvider
from custmgmt.testing import make_customer


def test_the_file_its_wal_and_a_backup_hold_no_plaintext_and_lookups_work(
    tmp_path: Path,
) -> None:
    privacy = encrypted()
    store, customers = filled_store(tmp_path / "shop.db", privacy)
    try:
        assert Path(f"{tmp_path / 'shop.db'}-wal").exists()
        backup(store, tmp_path / "shop.bak")
        on_disk = file_bytes(tmp_path / "shop.db") + (tmp_path / "shop.bak").read_bytes()
        secrets_seen = [v for c in customers for v in personal_values(c)
                        if v.encode() in on_disk]
        assert secrets_seen == []
        assert sum(len(personal_values(c)) for c in customers) > 2 * len(customers)
        reachable = [c for c in customers if c.email and c.phone][:25]
        assert len(reachable) == 25
        for customer in reachable:
            email = customer.email.upper()  # type: ignore[union-attr]
            assert customer.id in find_customers(store, privacy, OFFICER, email=email)
            assert customer.id in find_customers(store, privacy, OFFICER, phone=customer.phone)
            assert read_customer(store, privacy, OFFICER, customer.id) == customer
    finally:
        store.close()


def test_an_unencrypted_store_keeps_plaintext_and_finds_all_the_same(tmp_path: Path) -> None:
    privacy = plain()
    store, customers = filled_store(tmp_path / "plain.db", privacy, n=30)
    try:
        assert customers[0].name.encode() in file_bytes(tmp_path / "plain.db")
        assert find_customers(store, privacy, OFFICER, email=customers[0].email) == [
            customers[0].id
        ]
        last4 = customers[1].phone[-4:]
        assert customers[1].id in find_customers(store, privacy, OFFICER, phone_last4=last4)
    finally:
        store.close()


@pytest.mark.parametrize("make", [MemoryStore, lambda: SQLiteStore(":memory:")])
def test_a_half_done_rotation_keeps_every_read_and_lookup_working(make: object) -> None:
    provider = keys("kek-1")
    old = encrypted(provider)
    store = make()  # type: ignore[operator]
    customers = [make_customer(id=f"C-{i:03d}", name=f"欧阳{i}", email=f"u{i}@example.cn",
                               phone=f"1381234{i:04d}") for i in range(30)]
    from custmgmt.privacy import add_customers

    add_customers(store, old, OFFICER, customers)
    rotated = encrypted(provider.with_current("kek-2", bytes(range(32))))
    half = rotate_keys(store, rotated, ADMIN, old_kek_id="kek-1", batch_size=10, max_batches=1)
    assert (half.rewrapped, half.remaining) == (10, 20)
    assert store.privacy.key_counts() == {"kek-1": 20, "kek-2": 10}
    for c in customers:
        assert read_customer(store, rotated, OFFICER, c.id) == c
        assert find_customers(store, rotated, OFFICER, email=c.email) == [c.id]
        assert find_customers(store, rotated, OFFICER, phone=c.phone) == [c.id]
    done = rotate_keys(store, rotated, ADMIN, old_kek_id="kek-1", batch_size=7)
    assert (done.rewrapped, done.remaining) == (20, 0)
    only_new = StaticKeyProvider(
        {"kek-2": bytes(range(32)), "index-1": provider.key("index-1")},
        current="kek-2", index="index-1",
    )
    after = encrypted(only_new)
    for c in customers:
        assert read_customer(store, after, OFFICER, c.id) == c
    # The old KEK is gone from the provider: nothing still needs it.
    assert store.privacy.keys_wrapped_with("kek-1", 10) == []


def test_a_missing_or_wrong_key_is_a_clear_error_never_garbage() -> None:
    store = MemoryStore()
    privacy = encrypted(keys("kek-1"))
    customer = make_customer(id="C-1", name="司马光", email="sima@example.cn")
    add_customer(store, privacy, OFFICER, customer)
    lacking = encrypted(keys("kek-9"))
    with pytest.raises(KeyUnavailable) as missing:
        read_customer(store, lacking, OFFICER, "C-1")
    assert missing.value.key == "kek-1"
    wrong = encrypted(keys("kek-1"))
    with pytest.raises(DecryptionFailed, match="C-1"):
        read_customer(store, wrong, OFFICER, "C-1")
    with pytest.raises(ValidationError, match="stored encrypted"):
        read_customer(store, plain(), OFFICER, "C-1")
    assert read_customer(store, privacy, OFFICER, "C-1") == customer


def test_a_changed_ciphertext_does_not_authenticate() -> None:
    store = MemoryStore()
    privacy = encrypted()
    add_customer(store, privacy, OFFICER, make_customer(id="C-1", name="王芳"))
    record = store.privacy.get_sealed("C-1")
    flipped = bytearray(record.ciphertext)
    flipped[-1] ^= 1
    import attrs

    store.privacy.put_sealed(attrs.evolve(record, ciphertext=bytes(flipped)))
    with pytest.raises(DecryptionFailed):
        read_customer(store, privacy, OFFICER, "C-1")


def test_rotation_refuses_bad_arguments_and_changes_nothing() -> None:
    store = MemoryStore()
    privacy = encrypted(keys("kek-1"))
    add_customer(store, privacy, OFFICER, make_customer(id="C-1", name="王芳"))
    with pytest.raises(ValidationError):
        rotate_keys(store, privacy, ADMIN, old_kek_id="kek-1")  # the current one
    with pytest.raises(ValidationError):
        rotate_keys(store, plain(), ADMIN, old_kek_id="kek-1")
    with pytest.raises(ValidationError):
        rotate_keys(store, privacy, ADMIN, old_kek_id="kek-0", batch_size=0)
    with pytest.raises(KeyUnavailable):
        rotate_keys(store, privacy, ADMIN, old_kek_id="kek-0")
    assert store.privacy.key_counts() == {"kek-1": 1}


def test_updates_reseal_and_keep_the_index_current() -> None:
    store = MemoryStore()
    privacy = encrypted()
    customer = make_customer(id="C-1", name="王芳", email="old@example.cn")
    add_customer(store, privacy, OFFICER, customer)
    changed = customer.update_profile(at=NOW, email="new@example.cn", name="王芳芳")
    update_customer(store, privacy, OFFICER, changed)
    assert find_customers(store, privacy, OFFICER, email="old@example.cn") == []
    assert find_customers(store, privacy, OFFICER, email="new@example.cn") == ["C-1"]
    assert read_customer(store, privacy, OFFICER, "C-1") == changed
    with pytest.raises(Conflict):
        update_customer(store, privacy, OFFICER, changed)  # stale now


def test_truncated_indexes_collide_and_lookups_discard_the_false_candidates() -> None:
    store = MemoryStore()
    privacy = encrypted(index_bytes=1)
    customers = [make_customer(id=f"C-{i}", email=f"user{i}@example.cn") for i in range(600)]
    from custmgmt.privacy import add_customers

    add_customers(store, privacy, OFFICER, customers)
    # 600 customers in 256 buckets: some bucket holds two or more (pigeonhole), whatever
    # the random index key; look up a customer in such a bucket.
    cipher = privacy.cipher
    assert cipher is not None
    buckets: dict[object, list[int]] = {}
    for i in range(600):
        buckets.setdefault(cipher.blind_index("email", f"user{i}@example.cn"), []).append(i)
    digest, members = next((d, m) for d, m in buckets.items() if len(m) > 1)
    candidates = store.privacy.find_by_index("email", digest)
    assert len(candidates) == len(members) > 1
    chosen = members[-1]
    assert find_customers(store, privacy, OFFICER, email=f"user{chosen}@example.cn") == [
        f"C-{chosen}"
    ]


def test_lookups_refuse_bad_criteria() -> None:
    store = MemoryStore()
    with pytest.raises(ValidationError):
        find_customers(store, plain(), OFFICER)
    with pytest.raises(ValidationError):
        find_customers(store, plain(), OFFICER, email="a@b.cn", phone="13812345678")
    with pytest.raises(ValidationError):
        find_customers(store, plain(), OFFICER, phone_last4="12a4")
    with pytest.raises(ValidationError):
        find_customers(store, plain(), OFFICER, phone="not a phone")
    with pytest.raises(NotFound):
        read_customer(store, plain(), OFFICER, "nobody")


def test_key_providers_from_a_file_and_the_environment(tmp_path: Path) -> None:
    provider = write_key_file(tmp_path / "keys.json")
    assert FileKeyProvider(tmp_path / "keys.json").key("kek-1") == provider.key("kek-1")
    with pytest.raises(ValidationError):
        write_key_file(tmp_path / "keys.json")  # never overwritten
    assert json.loads((tmp_path / "keys.json").read_text())["current"] == "kek-1"
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValidationError):
        FileKeyProvider(tmp_path / "bad.json")
    import base64

    k = base64.b64encode(bytes(32)).decode()
    env = {"CUSTMGMT_KEYS": f"a:{k},i:{k}", "CUSTMGMT_KEK": "a", "CUSTMGMT_INDEX_KEY": "i"}
    assert environment_key_provider(env).current_key_id == "a"
    with pytest.raises(ValidationError):
        environment_key_provider({**env, "CUSTMGMT_KEK": "missing"})
    with pytest.raises(ValidationError):
        environment_key_provider({})
    with pytest.raises(ValidationError):
        StaticKeyProvider({"a": b"short"}, current="a", index="a")
    with pytest.raises(ValidationError):
        FieldCipher(provider, index_bytes=0)


def test_without_the_cryptography_package_encryption_is_a_missing_dependency(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives.ciphers.aead", None)
    with pytest.raises(MissingDependency, match="privacy"):
        FieldCipher(keys())
    assert isinstance(Privacy(), Privacy)  # unencrypted use needs nothing extra


def test_an_empty_batch_stores_nothing_and_logs_nothing() -> None:
    from custmgmt.privacy import add_customers

    store = MemoryStore()
    assert add_customers(store, encrypted(), OFFICER, []) == 0
    assert store.privacy.audit_entries() == []
    with pytest.raises(ValidationError):
        add_customers(store, encrypted(), OFFICER, ["not a customer"])  # type: ignore[list-item]
