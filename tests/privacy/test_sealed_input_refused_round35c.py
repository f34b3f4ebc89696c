"""The privacy service refuses a customer read back sealed (round 35c).

With a cipher, the customers table keeps a pseudonym (``匿名-`` and 12 hex digits)
for the name and no phone, email, birth date, street, postal code, recipient or
contact person. ``store.customers.get(id)`` returns that core copy. Passed to
``update_customer``, the old code sealed the pseudonym as if it were the real name
and replaced the ciphertext: the real name, phone and email were gone for good.
``add_customer(s)`` stored such a copy under a new id the same way. Both now raise
:class:`ValidationError` on ``customer.name`` before anything is written (no audit
entry), and an erased customer stays a :class:`Conflict` as documented.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from _privacy_support import NOW, OFFICER, encrypted, plain
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.domain import Customer
from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.privacy import (
    add_customer,
    add_customers,
    erase_subject,
    read_customer,
    update_customer,
)
from custmgmt.testing import make_customer

NAME, PHONE, EMAIL = "欧阳娜娜", "13812345678", "nana@example.cn"


def _real(cid: str = "C-1") -> Customer:
    return make_customer(id=cid, name=NAME, phone=PHONE, email=EMAIL)


def _state(store: Any, cid: str = "C-1") -> tuple[Any, ...]:
    """What a refused call must leave as it was (read without auditing)."""
    return (
        store.customers.get(cid), store.privacy.get_sealed(cid),
        len(store.privacy.audit_entries()),
    )


def _refused(call: Any, field: str = "customer.name") -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        call()
    error = caught.value
    assert error.field == field
    assert "sealed" in error.expected
    assert "read_customer" in error.expected
    text = str(error)
    for personal in (NAME, PHONE, EMAIL):
        assert personal not in text
    return error


def test_update_of_a_customer_read_back_sealed_is_refused_and_keeps_the_data(
    store_of_each_kind: Any,
) -> None:
    store, privacy = store_of_each_kind, encrypted()
    add_customer(store, privacy, OFFICER, _real())
    core = store.customers.get("C-1")
    assert core.name == privacy.cipher.pseudonym("C-1")  # what the repository returns
    before = _state(store)
    error = _refused(lambda: update_customer(
        store, privacy, OFFICER, core.update_profile(at=NOW)))
    assert core.name not in str(error)  # the pseudonym is masked too
    # A phone set on the sealed copy does not make its name real.
    _refused(lambda: update_customer(
        store, privacy, OFFICER, core.update_profile(at=NOW, phone="13900001111")))
    # Without a cipher the update would have replaced the ciphertext by nothing.
    _refused(lambda: update_customer(store, plain(), OFFICER, core.update_profile(at=NOW)))
    assert _state(store) == before
    assert read_customer(store, privacy, OFFICER, "C-1") == _real()
    # The service's own read gives the real customer, which updates as before.
    real = read_customer(store, privacy, OFFICER, "C-1")
    update_customer(store, privacy, OFFICER, real.update_profile(at=NOW, phone="13900001111"))
    assert read_customer(store, privacy, OFFICER, "C-1").name == NAME


def test_adding_a_sealed_copy_is_refused_and_writes_nothing(store_of_each_kind: Any) -> None:
    store, privacy = store_of_each_kind, encrypted()
    add_customer(store, privacy, OFFICER, _real())
    copy = attrs.evolve(store.customers.get("C-1"), id="C-2")
    before = _state(store)
    _refused(lambda: add_customer(store, privacy, OFFICER, copy))
    _refused(lambda: add_customers(store, privacy, OFFICER, [_real("C-3"), copy]),
             field="customers[1].name")
    assert _state(store) == before
    for cid in ("C-2", "C-3"):
        with pytest.raises(NotFound):
            store.customers.get(cid)
    # Into another store (a copy taken from the customers table) just the same.
    other = MemoryStore()
    _refused(lambda: add_customer(other, privacy, OFFICER, store.customers.get("C-1")))
    with pytest.raises(NotFound):
        other.customers.get("C-1")
    assert other.privacy.audit_entries() == []


@pytest.mark.parametrize("mode", ["encrypted", "plain"])
def test_an_erased_customer_cannot_be_updated_or_re_added_under_its_pseudonym(
    store_of_each_kind: Any, mode: str,
) -> None:
    store = store_of_each_kind
    privacy = encrypted() if mode == "encrypted" else plain()
    add_customer(store, privacy, OFFICER, _real())
    record = erase_subject(store, privacy, OFFICER, "C-1", purpose="PIPL art. 47")
    erased = store.customers.get("C-1")
    assert erased.name == record.pseudonym
    before = (erased, len(store.privacy.audit_entries()))
    # The documented answer for an erased customer: Conflict, whatever name it carries.
    with pytest.raises(Conflict, match="erased"):
        update_customer(store, privacy, OFFICER, erased.update_profile(at=NOW))
    with pytest.raises(Conflict, match="erased"):
        update_customer(store, privacy, OFFICER, erased.update_profile(at=NOW, name="回来"))
    # The pseudonym is no name to store a new customer under.
    _refused(lambda: add_customer(
        store, privacy, OFFICER, attrs.evolve(erased, id="C-2", version=1)))
    assert (store.customers.get("C-1"), len(store.privacy.audit_entries())) == before
    with pytest.raises(NotFound):
        store.customers.get("C-2")
    assert read_customer(store, privacy, OFFICER, "C-1").name == record.pseudonym


_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗" + "欧阳司马诸葛"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰名匿"
_chinese = st.builds(
    lambda s, g: s + g, st.sampled_from(["王", "李", "欧阳", "司马", "诸葛", "匿"]) | st.text(
        alphabet=_SURNAMES, min_size=1, max_size=2),
    st.text(alphabet=_GIVEN, min_size=1, max_size=3))
_latin = st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-'",
                          min_size=1, max_size=12), min_size=1, max_size=3).map(" ".join)
_near_pseudonyms = st.sampled_from([
    "匿名", "匿名先生", "匿名-", "匿名-abc", "匿名-0123456789AB", "匿名-0123456789abc",
    "匿名 0123456789ab", "匿名-0123456789ag", "x匿名-0123456789ab",
])
_anything = st.text(min_size=1, max_size=40)


def _valid(name: str) -> bool:
    try:
        make_customer(id="probe", name=name)
    except ValidationError:
        return False
    return True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=(_chinese | _latin | _near_pseudonyms | _anything).filter(_valid),
       renamed=(_chinese | _latin | _anything).filter(_valid))
def test_real_names_are_never_taken_for_sealed_data(name: str, renamed: str) -> None:
    store, privacy = MemoryStore(), encrypted()
    customer = make_customer(id="C-1", name=name, phone=PHONE, email=EMAIL)
    add_customer(store, privacy, OFFICER, customer)
    assert read_customer(store, privacy, OFFICER, "C-1") == customer
    changed = customer.update_profile(at=NOW, name=renamed)
    update_customer(store, privacy, OFFICER, changed)
    assert read_customer(store, privacy, OFFICER, "C-1") == changed
