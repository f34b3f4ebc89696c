"""Random bad input to the privacy types and entry points ends in a custmgmt error."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.errors import CustMgmtError
from custmgmt.privacy import (
    AccessPolicy,
    Actor,
    ErasureRecord,
    SealedRecord,
    StaticKeyProvider,
    WrappedKey,
    normalise_for_index,
)
from custmgmt.privacy.crypto import FieldCipher
from custmgmt.testing.privacy_contract import make_audit_log

junk = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30),
    st.binary(max_size=30), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.datetimes(), st.just(datetime(2025, 1, 1, tzinfo=UTC)), st.just(b""), st.just("\x00"),
    st.just("\ud800"), st.just("x" * 5000),
)

VALID: list[Any] = [
    make_audit_log(2)[1],
    SealedRecord(customer_id="C-1", ciphertext=b"x" * 40, indexes=(("email", b"12345678"),)),
    ErasureRecord(customer_id="C-1", pseudonym="匿名-1", at=datetime(2025, 1, 1, tzinfo=UTC)),
    WrappedKey(kek_id="kek-1", blob=b"k" * 60),
    Actor(id="a-1", roles={"analyst"}),
]


@given(st.sampled_from(VALID), st.data())
def test_value_types_rebuilt_with_junk_fields_raise_only_custmgmt_errors(
    valid: Any, data: st.DataObject
) -> None:
    fields = {f.name: getattr(valid, f.name) for f in attrs.fields(type(valid))}
    names = data.draw(st.lists(st.sampled_from(sorted(fields)), min_size=1, unique=True))
    for name in names:
        fields[name] = data.draw(junk, label=name)
    with contextlib.suppress(CustMgmtError):
        type(valid)(**fields)


@given(st.one_of(junk, st.dictionaries(st.one_of(junk.filter(lambda x: isinstance(x, str)),
                                                 st.integers()),
                                       st.one_of(junk, st.lists(junk, max_size=3)),
                                       max_size=3)))
def test_policies_from_junk_raise_only_custmgmt_errors(mapping: Any) -> None:
    with contextlib.suppress(CustMgmtError):
        policy = AccessPolicy.from_mapping(mapping)
        assert policy.roles


@given(st.sampled_from(["email", "phone", "phone_last4", "name", ""]), junk)
def test_index_normalisation_of_junk_raises_only_custmgmt_errors(kind: str, value: Any) -> None:
    with contextlib.suppress(CustMgmtError):
        assert isinstance(normalise_for_index(kind, value), str)


@given(st.dictionaries(st.text(max_size=5), junk, max_size=3), junk, junk, junk)
def test_key_providers_and_ciphers_from_junk_raise_only_custmgmt_errors(
    keys: Any, current: Any, index: Any, index_bytes: Any
) -> None:
    with contextlib.suppress(CustMgmtError):
        provider = StaticKeyProvider(keys, current=current, index=index)
        FieldCipher(provider, index_bytes=index_bytes)


@given(junk, junk)
def test_repository_calls_with_junk_raise_only_custmgmt_errors(a: Any, b: Any) -> None:
    repo = MemoryStore().privacy
    calls = [
        lambda: repo.append_audit(a), lambda: repo.audit_entries(a, b),
        lambda: repo.put_key(a, b), lambda: repo.get_key(a), lambda: repo.put_sealed(a),
        lambda: repo.find_by_index(a, b), lambda: repo.record_erasure(a),
        lambda: repo.keys_wrapped_with(a, b), lambda: repo.get_sealed(a),
    ]
    for call in calls:
        with contextlib.suppress(CustMgmtError):
            call()
