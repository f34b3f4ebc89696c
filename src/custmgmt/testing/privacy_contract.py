"""The contract every :class:`~custmgmt.privacy.ports.PrivacyRepository` keeps, as a test suite.

A host checks its own implementation by subclassing with one method::

    from custmgmt.testing import PrivacyRepositoryContract

    class TestMyPrivacy(PrivacyRepositoryContract):
        def make_repository(self):
            return MyPrivacyRepository(...)

``close_repository`` and ``transaction`` are optional hooks as in the other suites.
The key fingerprint test runs only for a repository that implements the optional
:class:`~custmgmt.privacy.ports.KeyFingerprints`; for one that does not it raises
:class:`unittest.SkipTest`, which pytest and unittest report as a skip.
"""

from __future__ import annotations

import unittest
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.privacy.audit import AuditEntry, verify_chain
from custmgmt.privacy.crypto import WrappedKey
from custmgmt.privacy.ports import (
    ErasureRecord,
    KeyFingerprints,
    PrivacyRepository,
    SealedRecord,
)
from custmgmt.testing._contract import Boom, RepositoryContract, raises

__all__ = ["PrivacyRepositoryContract", "make_audit_log"]

_T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))


def make_audit_log(n: int, *, start: datetime = _T0) -> list[AuditEntry]:
    """``n`` chained entries, one a minute, with Chinese purposes.

    >>> verify_chain(make_audit_log(3)).ok
    True
    """
    entries: list[AuditEntry] = []
    for i in range(n):
        fields = {
            "at": start + timedelta(minutes=i), "actor": f"staff-{i % 3}",
            "action": ("view_contact", "erase_subject", "export_subject")[i % 3],
            "resource": f"customer:C-{i}", "purpose": f"回访 {i}",
        }
        entries.append(
            AuditEntry.first(**fields) if not entries else entries[-1].next(**fields)  # type: ignore[arg-type]
        )
    return entries


def _key(kek: str = "kek-1", fill: int = 1) -> WrappedKey:
    return WrappedKey(kek_id=kek, blob=bytes([fill]) * 60)


def _sealed(cid: str, *, email: bytes = b"e" * 8, fill: int = 7) -> SealedRecord:
    return SealedRecord(
        customer_id=cid, ciphertext=bytes([fill]) * 40,
        indexes=(("email", email), ("phone", b"p" * 8 + cid.encode()[:2])),
    )


class PrivacyRepositoryContract(RepositoryContract[PrivacyRepository]):
    """Tests every privacy repository must pass; subclass as ``TestSomething``."""

    # -- the audit log --------------------------------------------------------------
    def test_audit_entries_come_back_in_order_and_equal(self) -> None:
        repo = self.repository()
        log = make_audit_log(5)
        assert repo.last_audit() is None
        for entry in log:
            repo.append_audit(entry)
        assert repo.audit_entries() == log
        assert repo.last_audit() == log[-1]
        assert repo.audit_entries(2, 2) == log[2:4]
        assert repo.audit_entries(9) == []
        assert repo.audit_entries()[0].at.utcoffset() == timedelta(hours=8)
        assert verify_chain(repo.audit_entries()).ok

    def test_an_entry_that_does_not_link_onto_the_tail_is_a_conflict(self) -> None:
        repo = self.repository()
        log = make_audit_log(3)
        repo.append_audit(log[0])
        with raises(Conflict):
            repo.append_audit(log[2])  # skips one
        with raises(Conflict):
            repo.append_audit(log[0])  # again
        forged = AuditEntry.first(at=_T0, actor="x", action="a", resource="r")
        forged_next = forged.next(at=_T0, actor="x", action="a", resource="r")
        with raises(Conflict):
            repo.append_audit(forged_next)  # right seq, wrong previous hash
        assert repo.audit_entries() == log[:1]

    def test_bad_audit_arguments_are_refused(self) -> None:
        repo = self.repository()
        with raises(ValidationError):
            repo.append_audit("entry")  # type: ignore[arg-type]
        with raises(ValidationError):
            repo.audit_entries(-1)
        with raises(ValidationError):
            repo.audit_entries(0, -5)

    # -- data keys ------------------------------------------------------------------
    def test_keys_are_stored_replaced_and_shredded(self) -> None:
        repo = self.repository()
        repo.put_key("C-1", _key())
        repo.put_key("客户-2", _key(fill=2))
        assert repo.get_key("C-1") == _key()
        with raises(Conflict):
            repo.put_key("C-1", _key(fill=9))
        assert repo.get_key("C-1") == _key()
        repo.replace_key("C-1", _key("kek-2", 3), expected_kek_id="kek-1")
        assert repo.get_key("C-1") == _key("kek-2", 3)
        with raises(Conflict):
            repo.replace_key("C-1", _key("kek-3", 4), expected_kek_id="kek-1")
        assert repo.key_counts() == {"kek-1": 1, "kek-2": 1}
        assert repo.shred_key("C-1") is True
        assert repo.shred_key("C-1") is False
        with raises(NotFound):
            repo.get_key("C-1")
        with raises(NotFound):
            repo.replace_key("C-1", _key(), expected_kek_id="kek-2")

    def test_keys_wrapped_with_a_kek_come_sorted_up_to_the_limit(self) -> None:
        repo = self.repository()
        for cid in ("C-3", "C-1", "C-2", "C-4"):
            repo.put_key(cid, _key("old" if cid != "C-4" else "new"))
        some = repo.keys_wrapped_with("old", 2)
        assert len(some) == 2
        assert some == sorted(some)
        assert set(some) <= {"C-1", "C-2", "C-3"}
        assert repo.keys_wrapped_with("old", 10) == ["C-1", "C-2", "C-3"]
        assert repo.keys_wrapped_with("none", 10) == []
        with raises(ValidationError):
            repo.keys_wrapped_with("old", -1)

    def test_bad_key_arguments_are_refused(self) -> None:
        repo = self.repository()
        with raises(ValidationError):
            repo.put_key("C-1", b"raw")  # type: ignore[arg-type]
        with raises(ValidationError):
            repo.put_key("", _key())
        assert repo.key_counts() == {}

    # -- sealed records -------------------------------------------------------------
    def test_sealed_records_round_trip_and_are_found_by_index(self) -> None:
        repo = self.repository()
        repo.put_sealed(_sealed("C-1"))
        repo.put_sealed(_sealed("C-2"))  # the same email digest: a collision
        back = repo.get_sealed("C-1")
        assert back.ciphertext == _sealed("C-1").ciphertext
        assert sorted(back.indexes) == sorted(_sealed("C-1").indexes)
        assert repo.find_by_index("email", b"e" * 8) == ["C-1", "C-2"]
        assert repo.find_by_index("phone_last4", b"e" * 8) == []

    def test_replacing_a_sealed_record_replaces_its_indexes(self) -> None:
        repo = self.repository()
        repo.put_sealed(_sealed("C-1"))
        repo.put_sealed(_sealed("C-1", email=b"x" * 8, fill=8))
        assert repo.find_by_index("email", b"e" * 8) == []
        assert repo.find_by_index("email", b"x" * 8) == ["C-1"]
        assert repo.get_sealed("C-1").ciphertext == bytes([8]) * 40
        assert repo.remove_sealed("C-1") is True
        assert repo.remove_sealed("C-1") is False
        assert repo.find_by_index("email", b"x" * 8) == []
        with raises(NotFound):
            repo.get_sealed("C-1")

    def test_sealed_records_in_bulk_are_all_or_nothing(self) -> None:
        repo = self.repository()
        repo.put_key("C-3", _key())
        batch = [(_sealed(f"C-{i}"), _key()) for i in (1, 2, 3)]
        with raises(Conflict):
            repo.put_sealed_many(batch)
        assert repo.key_counts() == {"kek-1": 1}
        with raises(NotFound):
            repo.get_sealed("C-1")
        assert repo.put_sealed_many(batch[:2]) == 2
        assert repo.get_key("C-2") == _key()
        assert repo.find_by_index("email", b"e" * 8) == ["C-1", "C-2"]

    def test_bad_sealed_arguments_are_refused(self) -> None:
        repo = self.repository()
        with raises(ValidationError):
            repo.put_sealed({"customer_id": "C-1"})  # type: ignore[arg-type]
        with raises(ValidationError):
            repo.find_by_index("name", b"x")
        with raises(ValidationError):
            repo.find_by_index("email", "text")  # type: ignore[arg-type]

    def test_sealed_records_and_keys_are_counted_as_the_customer_s_dependents(self) -> None:
        repo = self.repository()
        assert {k: n for k, n in repo.customer_dependents("C-1").items() if n} == {}
        repo.put_sealed_many([(_sealed("C-1"), _key())])
        assert repo.customer_dependents("C-1") == {"sealed records": 1, "data keys": 1}
        repo.shred_key("C-1")
        repo.remove_sealed("C-1")
        repo.record_erasure(ErasureRecord(customer_id="C-1", pseudonym="p", at=_T0))
        assert {k: n for k, n in repo.customer_dependents("C-1").items() if n} == {}

    # -- erasures -------------------------------------------------------------------
    def test_erasures_are_recorded_once(self) -> None:
        repo = self.repository()
        record = ErasureRecord(customer_id="客户-1", pseudonym="匿名-0a1b2c", at=_T0)
        assert repo.erasure("客户-1") is None
        repo.record_erasure(record)
        assert repo.erasure("客户-1") == record
        assert repo.erasure("客户-1").at.utcoffset() == timedelta(hours=8)  # type: ignore[union-attr]
        with raises(Conflict):
            repo.record_erasure(
                ErasureRecord(customer_id="客户-1", pseudonym="other", at=datetime.now(UTC))
            )
        repo.record_erasure(ErasureRecord(customer_id="A-0", pseudonym="p", at=_T0))
        assert list(repo.erased_ids()) == ["A-0", "客户-1"]
        assert repo.erasure("客户-1") == record

    # -- key fingerprints (optional: KeyFingerprints) --------------------------------
    def test_key_fingerprints_are_recorded_once_and_read_back(self) -> None:
        repo = self.repository()
        if not isinstance(repo, KeyFingerprints):
            raise unittest.SkipTest(
                f"{type(repo).__name__} does not implement the optional KeyFingerprints"
            )
        assert repo.key_fingerprints() == {}
        first = {"kek-1": bytes(range(16)), "索引-1": bytes(range(100, 164))}  # 16, 64 bytes
        for key_id, fingerprint in first.items():
            repo.put_key_fingerprint(key_id, fingerprint)
        assert repo.key_fingerprints() == first
        assert all(isinstance(f, bytes) for f in repo.key_fingerprints().values())
        with raises(Conflict):
            repo.put_key_fingerprint("kek-1", bytes(range(1, 17)))  # never replaced
        bad: list[tuple[Any, Any]] = [
            ("", bytes(16)), ("   ", bytes(16)), (7, bytes(16)), (None, bytes(16)),
            ("kek-2", bytes(15)), ("kek-2", bytes(65)), ("kek-2", "f" * 16),
        ]
        for key_id, fingerprint in bad:
            with raises(ValidationError):
                repo.put_key_fingerprint(key_id, fingerprint)
        assert repo.key_fingerprints() == first
        scope = self.transaction(repo)
        if scope is None:
            return
        with raises(Boom), scope:
            repo.put_key_fingerprint("kek-2", bytes(16))
            assert repo.key_fingerprints() == {**first, "kek-2": bytes(16)}
            raise Boom("roll back")
        assert repo.key_fingerprints() == first

    # -- transactions ---------------------------------------------------------------
    def test_every_write_rolls_back_with_the_store_transaction(self) -> None:
        repo = self.repository()
        scope = self.transaction(repo)
        if scope is None:
            return
        repo.put_key("C-0", _key())
        log = make_audit_log(2)
        try:
            with scope:
                repo.append_audit(log[0])
                repo.append_audit(log[1])
                repo.put_key("C-1", _key())
                repo.replace_key("C-0", _key("kek-2"), expected_kek_id="kek-1")
                repo.put_sealed(_sealed("C-1"))
                repo.record_erasure(ErasureRecord(customer_id="C-1", pseudonym="p", at=_T0))
                raise Boom
        except Boom:
            pass
        assert repo.audit_entries() == []
        assert repo.key_counts() == {"kek-1": 1}
        assert repo.get_key("C-0") == _key()
        assert repo.find_by_index("email", b"e" * 8) == []
        assert repo.erasure("C-1") is None
