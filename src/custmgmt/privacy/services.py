"""The privacy use cases: sealed customers, access checks with audit, subject rights.

Every function takes a :class:`~custmgmt.privacy.ports.PrivacyStore`, a
:class:`Privacy` (the access policy, the optional field cipher and the clock) and the
:class:`~custmgmt.privacy.access.Actor` acting; each checks the policy first (a
refusal is audited and raised as :class:`~custmgmt.privacy.access.AccessDenied`) and
writes its change and its audit entry in one transaction.

With a cipher, a customer is stored *sealed*: the core customer row keeps a
pseudonym for the name and no phone, email, birth date, street, postal code,
recipient or contact person; those live in one AES-256-GCM ciphertext under the
customer's own data key, found again through blind indexes. Without a cipher the
customer is stored as it is, and only the (unkeyed) lookup index is kept.

>>> from datetime import datetime, timezone
>>> from custmgmt.adapters.memory import MemoryStore
>>> from custmgmt.privacy.access import Actor
>>> from custmgmt.testing import FixedClock, make_customer
>>> store = MemoryStore()
>>> privacy = Privacy(clock=FixedClock(datetime(2025, 3, 1, tzinfo=timezone.utc)))
>>> officer = Actor(id="dpo-1", roles={"privacy_officer", "agent"})
>>> add_customer(store, privacy, officer, make_customer(id="C-1", name="欧阳娜娜",
...              email="nana@example.cn", phone="13812345678"))
>>> find_customers(store, privacy, officer, email="NANA@example.cn")
['C-1']
>>> erase_subject(store, privacy, officer, "C-1", purpose="PIPL art. 47").customer_id
'C-1'
>>> store.customers.get("C-1").email is None
True
>>> verify_audit_log(store).ok
True
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import math
import operator
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from custmgmt.domain import (
    Address,
    Clock,
    Complaint,
    Consent,
    Customer,
    Interaction,
    Review,
    Search,
    SystemClock,
)
from custmgmt.domain.customer import BusinessProfile
from custmgmt.domain.masking import mask_text
from custmgmt.errors import Conflict, NotFound, StorageError, ValidationError
from custmgmt.privacy.access import AccessDenied, AccessPolicy, Actor, Permission
from custmgmt.privacy.audit import AuditEntry, AuditVerification, verify_chain
from custmgmt.privacy.crypto import (
    DecryptionFailed,
    FieldCipher,
    KeyMismatch,
    WrappedKey,
    is_pseudonym,
    normalise_for_index,
    random_pseudonym,
)
from custmgmt.privacy.ports import (
    ERASED_TEXT,
    ErasureRecord,
    KeyFingerprints,
    PrivacyStore,
    SealedRecord,
    SubjectRedaction,
)
from custmgmt.rating.ports import RatingStore
from custmgmt.tickets.ports import TicketStore
from custmgmt.tickets.ticket import Ticket, TicketStatus

__all__ = [
    "ERASED_TEXT",
    "Privacy",
    "RotationProgress",
    "add_customer",
    "add_customers",
    "authorise",
    "erase_subject",
    "export_subject",
    "export_subject_json",
    "find_customers",
    "is_suppressed",
    "read_customer",
    "record_audit",
    "rotate_keys",
    "update_customer",
    "verify_audit_log",
]


# A ticket in one of these states is open: its assignee may see the customer's contacts.
_OPEN = frozenset(TicketStatus) - {
    TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.CANCELLED, TicketStatus.MERGED,
}


@attrs.frozen(kw_only=True)
class Privacy:
    """What the privacy services need besides the store.

    Attributes:
        policy: the access policy in force (default: :meth:`AccessPolicy.default`).
        cipher: the field cipher; None stores customers unencrypted.
        clock: where "now" comes from (audit entries, erasures).
    """

    policy: AccessPolicy = attrs.field(factory=AccessPolicy.default)
    cipher: FieldCipher | None = None
    clock: Clock = attrs.field(factory=SystemClock)


@attrs.frozen(kw_only=True)
class RotationProgress:
    """How far a key-encryption-key rotation got.

    Attributes:
        rewrapped: data keys rewrapped by this call.
        remaining: data keys still wrapped by the old KEK.
    """

    rewrapped: int
    remaining: int


def _check_store(store: Any) -> None:
    """Refuse what is not a store with privacy records (None, a repository, the
    arguments passed the wrong way round) before anything is read or written."""
    if not (hasattr(store, "customers") and hasattr(store, "privacy")):
        raise ValidationError(
            "store", type(store).__name__, "a store that keeps privacy records (store.privacy)"
        )


def _check_context(store: Any, privacy: Any) -> None:
    """:func:`_check_store`, and refuse a ``privacy`` that is not a :class:`Privacy`."""
    _check_store(store)
    if not isinstance(privacy, Privacy):
        raise ValidationError("privacy", type(privacy).__name__, "a Privacy")


# -- audit and access ---------------------------------------------------------------
def record_audit(
    store: PrivacyStore, privacy: Privacy, actor: Actor, action: str, resource: str, *,
    purpose: str = "", outcome: str = "done",
) -> AuditEntry:
    """Append one entry to the audit log (inside the caller's transaction, if any)."""
    _check_context(store, privacy)
    with store.transaction():
        last = store.privacy.last_audit()
        at = privacy.clock.now()
        fields: dict[str, Any] = {
            "at": at, "actor": actor.id, "action": action, "resource": resource,
            "purpose": purpose, "outcome": outcome,
        }
        entry = AuditEntry.first(**fields) if last is None else last.next(**fields)
        store.privacy.append_audit(entry)
        return entry


def authorise(
    store: PrivacyStore, privacy: Privacy, actor: Actor, action: Permission | str,
    resource: str, *, purpose: str = "", assigned: bool = False,
) -> None:
    """Check ``actor`` may do ``action`` on ``resource``; audit the decision.

    Both outcomes are audited; call it outside the transaction that does the work, so
    a refusal's entry is kept.

    Raises:
        AccessDenied: the policy refuses (after auditing the refusal).
        ValidationError: an unknown action, or a role the policy lacks.
    """
    _check_context(store, privacy)
    allowed = privacy.policy.allows(actor, action, assigned=assigned)
    name = action.value if isinstance(action, Permission) else str(action)
    record_audit(
        store, privacy, actor, name, resource, purpose=purpose,
        outcome="allowed" if allowed else "denied",
    )
    if not allowed:
        raise AccessDenied(actor.id, actor.roles, name, resource)


def verify_audit_log(
    store: PrivacyStore, *, head: str | None = None, page: int = 10_000
) -> AuditVerification:
    """Check the stored audit log's chain (see :func:`~custmgmt.privacy.audit.verify_chain`).

    ``page`` is how many entries are read at a time.

    Raises:
        ValidationError: ``page`` is not a positive integer (0 read nothing, forever).
    """
    _check_store(store)
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise ValidationError("page", page, "a positive integer")
    def entries() -> Iterable[AuditEntry]:
        start = 0
        while True:
            chunk = store.privacy.audit_entries(start, page)
            yield from chunk
            if len(chunk) < page:
                return
            start += page

    return verify_chain(entries(), head=head)


# -- key checks ---------------------------------------------------------------------
_INDEX_ROLE, _KEK_ROLE = "index key", "key-encryption key"
#: How many stored customers a key new to the fingerprint table is checked against.
_ADOPTION_SAMPLE = 16


def _check_keys(
    store: PrivacyStore, privacy: Privacy, *, index: bool = False, keks: Iterable[str] = ()
) -> list[tuple[str, bytes]]:
    """Refuse keys that are not the ones this store was written with, before any use.

    Each key named (the index key when ``index``, and the KEKs ``keks``) is compared
    with the fingerprint the store recorded for its id
    (:meth:`~custmgmt.privacy.FieldCipher.key_fingerprint`). A key id the store has no
    fingerprint for (its first use, or a store written before fingerprints were kept)
    is checked against what is stored instead (:func:`_adopt`). Returns those new
    keys' fingerprints: a use case that writes with them records them in its
    transaction (:func:`_record_keys`), so a key is the store's from its first write.
    Without a cipher, or with a host's repository that keeps no fingerprints, there
    is nothing to check.

    Raises:
        KeyMismatch: a key differs from the one of its id the store was written with.
        KeyUnavailable: the provider lacks a key named.
    """
    cipher = privacy.cipher
    repository = store.privacy
    if cipher is None or not isinstance(repository, KeyFingerprints):
        return []
    wanted: dict[str, str] = dict.fromkeys(keks, _KEK_ROLE)
    if index:
        wanted[cipher.keys.index_key_id] = _INDEX_ROLE
    if not wanted:
        return []
    recorded = repository.key_fingerprints()
    new: list[tuple[str, bytes]] = []
    for key_id, role in wanted.items():
        fingerprint = cipher.key_fingerprint(key_id)
        known = recorded.get(key_id)
        if known is None:
            _adopt(store, cipher, key_id, role)
            new.append((key_id, fingerprint))
        elif not hmac.compare_digest(known, fingerprint):
            raise KeyMismatch.of(role, key_id)
    return new


def _record_keys(store: PrivacyStore, privacy: Privacy, new: list[tuple[str, bytes]]) -> None:
    """Record the fingerprints :func:`_check_keys` found new (inside the caller's write).

    Raises:
        KeyMismatch: another process recorded a different key of the same id meanwhile
            (raised inside the transaction, so its work is rolled back).
    """
    repository: Any = store.privacy
    for key_id, fingerprint in new:
        try:
            repository.put_key_fingerprint(key_id, fingerprint)
        except Conflict:
            known = repository.key_fingerprints().get(key_id)
            if known is None or not hmac.compare_digest(known, fingerprint):
                assert privacy.cipher is not None
                role = _INDEX_ROLE if key_id == privacy.cipher.keys.index_key_id else _KEK_ROLE
                raise KeyMismatch.of(role, key_id) from None


def _checked_authorise(
    store: PrivacyStore, privacy: Privacy, actor: Actor, action: Permission, resource: str,
    *, purpose: str, index: bool = False, keks: Iterable[str] = (),
) -> list[tuple[str, bytes]]:
    """:func:`_check_keys`, then :func:`authorise`: a wrong key is refused before the
    audit log records the action as allowed; a refused actor is audited as before
    (keys are checked only for an actor the policy allows)."""
    new: list[tuple[str, bytes]] = []
    if privacy.policy.allows(actor, action):
        new = _check_keys(store, privacy, index=index, keks=keks)
    authorise(store, privacy, actor, action, resource, purpose=purpose)
    return new


def _adopt(store: PrivacyStore, cipher: FieldCipher, key_id: str, role: str) -> None:
    """Check a key the store has no fingerprint for against the data it keeps.

    A KEK must open a data key it wraps. The index key is tried on a few sealed
    customers: their core name is the pseudonym the index key makes, and, where the
    record decrypts, its stored blind indexes are what the index key gives; one
    customer that agrees is proof (an HMAC of another key agrees by no chance), and
    disagreement with none agreeing is a :class:`KeyMismatch`. A store holding
    nothing made with the key (a new store, a rotation's new KEK) has nothing to
    contradict it: the key becomes the store's with its first write.

    Raises:
        KeyMismatch: the stored data was written with another key of this id.
    """
    repository = store.privacy
    if role == _KEK_ROLE:
        for cid in repository.keys_wrapped_with(key_id, 1):
            try:
                cipher.unwrap(cid, repository.get_key(cid))
            except NotFound:
                continue  # erased meanwhile
            except DecryptionFailed as exc:
                raise KeyMismatch.of(role, key_id) from exc
        return
    disagreed = False
    for cid in _sealed_sample(store):
        verdict = _index_verdict(store, cipher, cid)
        if verdict:
            return
        disagreed = disagreed or verdict is False
    if disagreed:
        raise KeyMismatch.of(role, key_id)


def _sealed_sample(store: PrivacyStore) -> list[str]:
    """A few customers with a data key (so, with a sealed record), for :func:`_adopt`."""
    repository = store.privacy
    found: list[str] = []
    for kek_id in sorted(repository.key_counts()):
        found += repository.keys_wrapped_with(kek_id, _ADOPTION_SAMPLE - len(found))
        if len(found) >= _ADOPTION_SAMPLE:
            break
    return found


def _index_verdict(store: PrivacyStore, cipher: FieldCipher, cid: str) -> bool | None:
    """Whether the cipher's index key made ``cid``'s sealed data (None: no evidence)."""
    repository = store.privacy
    try:
        record = repository.get_sealed(cid)
        core = store.customers.get(cid)
    except NotFound:
        return None  # erased meanwhile
    if not record.ciphertext:
        return None  # stored unencrypted: its indexes are no keyed digests
    if core.name == cipher.pseudonym(cid):
        return True
    try:
        data = _decode_sealed(
            cipher.open(cid, cipher.unwrap(cid, repository.get_key(cid)), record.ciphertext)
        )
    except (NotFound, DecryptionFailed, StorageError):
        # A KEK the provider lacks (KeyUnavailable is a NotFound) or does not open:
        # the name alone disagrees, which a host's own write of the core row could
        # also explain, so it counts only while no other customer agrees.
        return False
    matches = _indexes_match(cipher, data, dict(record.indexes))
    return False if matches is None else matches


def _indexes_match(
    cipher: FieldCipher, data: Mapping[str, str | None], stored: Mapping[str, bytes]
) -> bool | None:
    """Whether the blind indexes of a decrypted record's email and phone are the stored
    ones (compared over the shorter digest's length: a store may keep fewer bytes);
    None when the record has no index to compare."""
    digest = cipher.digest_normalised
    computed: dict[str, bytes] = {}
    if data.get("email"):
        computed["email"] = digest("email", str(data["email"]).strip().lower())
    phone = data.get("phone")
    if phone:
        e164 = phone if phone[0] == "+" else "+86" + phone
        computed["phone"] = digest("phone", e164)
    common = [kind for kind in computed if kind in stored]
    if not common:
        return None
    return all(
        hmac.compare_digest(computed[k][: len(stored[k])], stored[k][: len(computed[k])])
        for k in common
    )


# -- sealing ------------------------------------------------------------------------
T = TypeVar("T")


def _replaced(instance: T, **changes: Any) -> T:
    """A copy of a frozen attrs value with fields replaced, without re-validating.

    Only for changes the caller knows to be valid (None for an optional field, a
    pseudonym for a name, a coarser copy of a valid address): ``attrs.evolve`` would
    re-run every validator of the customer, which was most of the cost of sealing.
    All fields are read by one ``attrgetter`` and written through the slots'
    descriptors (a loop of ``getattr`` / ``object.__setattr__`` cost twice as much).
    """
    cls: Any = type(instance)
    copier = _COPIERS.get(cls)
    if copier is None:
        copier = _COPIERS[cls] = _Copier(cls)
    values = list(copier.get(instance))
    position = copier.position
    for name, value in changes.items():
        values[position[name]] = value
    copy: T = object.__new__(cls)
    for setter, value in zip(copier.setters, values, strict=True):
        setter(copy, value)
    return copy


class _Copier:
    """How :func:`_replaced` reads and writes the fields of one attrs class."""

    def __init__(self, cls: Any) -> None:
        names = tuple(f.name for f in attrs.fields(cls))
        self.position = {name: i for i, name in enumerate(names)}
        getter = operator.attrgetter(*names)
        # attrgetter of one name returns the value itself, not a 1-tuple.
        self.get: Callable[[Any], tuple[Any, ...]] = (
            getter if len(names) > 1 else (lambda obj: (getter(obj),))
        )
        slotted = "__slots__" in cls.__dict__
        self.setters: tuple[Callable[[Any, Any], None], ...] = tuple(
            getattr(cls, name).__set__ if slotted else _attribute_setter(name)
            for name in names
        )


def _attribute_setter(name: str) -> Callable[[Any, Any], None]:
    def set_attribute(obj: Any, value: Any) -> None:
        object.__setattr__(obj, name, value)

    return set_attribute


_COPIERS: dict[type, _Copier] = {}


def _index_digest(privacy: Privacy, kind: str, value: str) -> bytes:
    if privacy.cipher is not None:
        return privacy.cipher.blind_index(kind, value)
    # Unencrypted stores keep a plain hash: a lookup index, not a protection.
    return _plain_digest(kind, normalise_for_index(kind, value))


def _indexes(privacy: Privacy, customer: Customer) -> tuple[tuple[str, bytes], ...]:
    # The customer's fields are validated already (the phone normalised), so the index
    # forms are computed here directly: the same as normalise_for_index gives.
    digest = (
        privacy.cipher.digest_normalised if privacy.cipher is not None else _plain_digest
    )
    pairs: list[tuple[str, bytes]] = []
    if customer.email is not None:
        pairs.append(("email", digest("email", customer.email.strip().lower())))
    phone = customer.phone
    if phone is not None:
        e164 = phone if phone[0] == "+" else "+86" + phone
        pairs.append(("phone", digest("phone", e164)))
        pairs.append(("phone_last4", digest("phone_last4", e164[-4:])))
    return tuple(pairs)


def _plain_digest(kind: str, normalised: str) -> bytes:
    return hashlib.sha256((kind + "\x00" + normalised).encode()).digest()[:8]


def _split(privacy: Privacy, customer: Customer) -> tuple[Customer, bytes]:
    """The core copy without identifying and contact fields, and those fields as JSON."""
    address = customer.address
    business = customer.business
    values = (
        customer.name, customer.phone, customer.email,
        None if customer.birth_date is None else customer.birth_date.isoformat(),
        None if address is None else address.street,
        None if address is None else address.postal_code,
        None if address is None else address.recipient,
        None if business is None else business.contact_person,
    )
    coarse = None
    if address is not None and any(
        (address.country, address.province, address.city, address.district)
    ):
        coarse = _replaced(address, street=None, postal_code=None, recipient=None)
    assert privacy.cipher is not None
    core = _replaced(
        customer, name=privacy.cipher.pseudonym(customer.id), phone=None, email=None,
        birth_date=None, address=coarse,
        business=None if business is None else _replaced(business, contact_person=None),
    )
    return core, _encode_sealed(values)


# The sealed fields, in this order, joined by the ASCII unit separator: domain text
# never holds control characters (its validators refuse them), so the separator and
# the NUL that stands for None cannot occur inside a value. Faster than JSON, which
# was a tenth of the cost of sealing.
_SEALED_FIELDS = (
    "name", "phone", "email", "birth_date", "street", "postal_code", "recipient",
    "contact_person",
)
_SEP, _NONE, _VERSION = "\x1f", "\x00", "v1\x1e"


def _encode_sealed(values: tuple[str | None, ...]) -> bytes:
    return (_VERSION + _SEP.join([_NONE if v is None else v for v in values])).encode()


def _decode_sealed(payload: bytes) -> dict[str, str | None]:
    text = payload.decode()
    if not text.startswith(_VERSION):
        raise StorageError("sealed customer fields: unknown format")
    parts = text[len(_VERSION) :].split(_SEP)
    if len(parts) != len(_SEALED_FIELDS):
        raise StorageError("sealed customer fields: wrong number of fields")
    return {k: None if v == _NONE else v for k, v in zip(_SEALED_FIELDS, parts, strict=True)}


def _join(core: Customer, payload: bytes) -> Customer:
    data = _decode_sealed(payload)
    address = core.address
    if data["street"] or data["postal_code"] or data["recipient"]:
        parts = {"street": data["street"], "postal_code": data["postal_code"],
                 "recipient": data["recipient"]}
        address = Address(**parts) if address is None else attrs.evolve(address, **parts)
    business = core.business
    if business is not None:
        business = attrs.evolve(business, contact_person=data["contact_person"])
    birth = data["birth_date"]
    assert data["name"] is not None
    return attrs.evolve(
        core, name=data["name"], phone=data["phone"], email=data["email"],
        birth_date=None if birth is None else date.fromisoformat(birth),
        address=address, business=business,
    )


def _seal(privacy: Privacy, customer: Customer, dek: bytes | None) -> tuple[Customer, SealedRecord]:
    indexes = _indexes(privacy, customer)
    if privacy.cipher is None:
        return customer, SealedRecord.trusted(customer.id, b"", indexes)
    assert dek is not None
    core, payload = _split(privacy, customer)
    blob = privacy.cipher.seal(customer.id, dek, payload)
    return core, SealedRecord.trusted(customer.id, blob, indexes)


def _check_customer(
    customer: Any, position: int | None = None, *, sealed: bool = True
) -> Customer:
    """Refuse what is not a :class:`Customer` and (``sealed``) a customer read back
    sealed (:func:`_is_pseudonym`); the field is ``customer``, or ``customers[i]``
    for the item at ``position`` of a batch."""
    if isinstance(customer, Customer) and not (sealed and _is_pseudonym(customer.name)):
        return customer
    field = "customer" if position is None else f"customers[{position}]"
    if not isinstance(customer, Customer):
        raise ValidationError(field, type(customer).__name__, "a Customer")
    raise _sealed_input(customer, field)


def _is_pseudonym(name: str) -> bool:
    """Whether ``name`` is a pseudonym the privacy service wrote, not a real name.

    With a cipher the customers table keeps, in place of the name, the pseudonym
    :meth:`~custmgmt.privacy.FieldCipher.pseudonym` makes (``匿名-`` and 12 lowercase
    hex digits; an erasure without a cipher writes the same form), and none of the
    sealed fields: that is what ``store.customers.get`` returns. Saved through the
    privacy service, such a copy was sealed as if the pseudonym were the real name,
    over the ciphertext that held the real name, phone and email: the personal data
    was lost for good. No real name has exactly that form (``匿名先生``, ``匿名-abc`` or
    upper-case hex digits stay ordinary names).
    """
    return is_pseudonym(name)


def _sealed_input(customer: Customer, field: str) -> ValidationError:
    """The refusal of a customer whose name is a pseudonym (the value masked)."""
    return ValidationError(
        f"{field}.name", mask_text(customer.name),
        f"a real name, not a pseudonym: customer {customer.id!r} is sealed data read "
        "without the privacy service (store.customers.get) or an erased customer; read "
        "it with read_customer, change that copy and save it",
    )




def add_customer(
    store: PrivacyStore, privacy: Privacy, actor: Actor, customer: Customer, *,
    purpose: str = "",
) -> None:
    """Store a new customer, sealed when ``privacy`` has a cipher (action ``change_customer``).

    Raises:
        ValidationError: ``customer`` is no Customer, or its name is a pseudonym
            (``customer.name``: a sealed or erased customer read back from a customers
            table, see :func:`update_customer`); nothing is written or audited.
        AccessDenied: the actor may not change customers.
        Conflict: the id is taken; nothing is written.
    """
    _check_context(store, privacy)
    add_customers(store, privacy, actor, [_check_customer(customer)], purpose=purpose)


def add_customers(
    store: PrivacyStore, privacy: Privacy, actor: Actor, customers: Iterable[Customer], *,
    purpose: str = "",
) -> int:
    """Store new customers in bulk, all or nothing; one audit entry for the batch.

    Raises:
        ValidationError: an item is no Customer, or its name is a pseudonym
            (``customers[i].name``, as in :func:`add_customer`); nothing is written.
        AccessDenied: the actor may not change customers.
        Conflict: an id is taken or repeats; nothing is written.
        KeyMismatch: the cipher's index key or current KEK is not the one of its id
            this store was written with (a wrong key file); nothing is written.
    """
    _check_context(store, privacy)
    batch = [_check_customer(c, i) for i, c in enumerate(customers)]
    if not batch:
        return 0
    resource = f"customer:{batch[0].id}" if len(batch) == 1 else f"customers:{len(batch)}"
    privacy.policy.check(actor, Permission.CHANGE_CUSTOMER, resource)
    new_keys = (
        [] if privacy.cipher is None
        else _check_keys(store, privacy, index=True, keks=[privacy.cipher.keys.current_key_id])
    )
    cores: list[Customer] = []
    sealed: list[tuple[SealedRecord, WrappedKey | None]] = []
    trusted = SealedRecord.trusted
    if privacy.cipher is None:
        for customer in batch:
            cores.append(customer)
            sealed.append((trusted(customer.id, b"", _indexes(privacy, customer)), None))
    else:
        # Split every customer first, then seal the whole batch in one call: the
        # cipher draws the batch's keys and nonces at once (see seal_new_many).
        payloads: list[tuple[str, bytes]] = []
        for customer in batch:
            core, payload = _split(privacy, customer)
            cores.append(core)
            payloads.append((customer.id, payload))
        blobs = privacy.cipher.seal_new_many(payloads)
        for customer, (blob, wrapped) in zip(batch, blobs, strict=True):
            sealed.append((trusted(customer.id, blob, _indexes(privacy, customer)), wrapped))
    with store.transaction():
        _record_keys(store, privacy, new_keys)
        store.customers.add_many(cores)
        store.privacy.put_sealed_many(sealed)
        record_audit(store, privacy, actor, "add_customer", resource, purpose=purpose)
    return len(batch)


def _unsealed(store: PrivacyStore, privacy: Privacy, core: Customer) -> Customer:
    try:
        record = store.privacy.get_sealed(core.id)
    except NotFound:
        return core
    if not record.ciphertext:
        return core
    if privacy.cipher is None:
        raise ValidationError(
            "privacy.cipher", None, f"a FieldCipher: customer {core.id!r} is stored encrypted"
        )
    cipher = privacy.cipher
    try:
        wrapped = store.privacy.get_key(core.id)
    except NotFound:
        if store.privacy.erasure(core.id) is None:
            raise
        # Erased (by another process) between reading the record and its key: what
        # is left is the pseudonymised profile, not a "key not found".
        return store.customers.get(core.id)
    dek = cipher.unwrap(core.id, wrapped)
    return _join(core, cipher.open(core.id, dek, record.ciphertext))


def _assigned(store: PrivacyStore, actor: Actor, customer_id: str) -> bool:
    if not isinstance(store, TicketStore):
        return False
    return any(
        t.assignee == actor.id and t.status in _OPEN
        for t in store.tickets.find(customer_id=customer_id)
    )


def read_customer(
    store: PrivacyStore, privacy: Privacy, actor: Actor, customer_id: str, *,
    purpose: str = "",
) -> Customer:
    """The customer with every personal field readable (action ``view_contact``; audited).

    An agent may read a customer with an open ticket assigned to them. An erased
    customer comes back with their pseudonym only.

    Raises:
        NotFound: no such customer.
        AccessDenied: the policy refuses.
        KeyUnavailable: the key provider lacks the KEK wrapping the customer's data key.
        DecryptionFailed: the stored ciphertext does not authenticate.
    """
    _check_context(store, privacy)
    core = store.customers.get(customer_id)
    authorise(
        store, privacy, actor, Permission.VIEW_CONTACT, f"customer:{core.id}",
        purpose=purpose, assigned=_assigned(store, actor, core.id),
    )
    return _unsealed(store, privacy, core)


def update_customer(
    store: PrivacyStore, privacy: Privacy, actor: Actor, customer: Customer, *,
    purpose: str = "",
) -> None:
    """Save a changed customer (one version past the stored one), resealing its fields.

    ``customer`` is a copy of what :func:`read_customer` returned (every personal field
    readable), changed. The core copy ``store.customers.get`` returns of a sealed
    customer carries the pseudonym for a name and none of the sealed fields: it is
    refused, since saving it would replace the personal data by the pseudonym for good.
    An erased customer cannot be updated at all (its data is gone and it stays
    suppressed; a person who comes back is a new customer with a new id).

    Raises:
        AccessDenied: the actor may not change customers.
        ValidationError: ``customer`` is no Customer, or its name is a pseudonym
            (``customer.name``: sealed data read without the privacy service);
            nothing is written or audited.
        NotFound: no such customer.
        Conflict: a stale version, or the customer was erased (whatever name the
            copy carries); nothing is written.
        KeyMismatch: the cipher's index key or current KEK is not the one of its id
            this store was written with; nothing is written.
    """
    _check_context(store, privacy)
    customer = _check_customer(customer, sealed=False)
    privacy.policy.check(actor, Permission.CHANGE_CUSTOMER, f"customer:{customer.id}")
    if _is_pseudonym(customer.name):
        # Read back from the customers table (store.customers.get): sealing it would
        # replace the real name, phone and email by the pseudonym and nothing. An
        # erased customer is a Conflict whatever its name (checked again below, in the
        # transaction, for an erasure racing this call).
        if store.privacy.erasure(customer.id) is not None:
            raise Conflict("customer", customer.id, "the customer was erased")
        raise _sealed_input(customer, "customer")
    new_keys = (
        [] if privacy.cipher is None
        else _check_keys(store, privacy, index=True, keks=[privacy.cipher.keys.current_key_id])
    )
    with store.transaction():
        if store.privacy.erasure(customer.id) is not None:
            raise Conflict("customer", customer.id, "the customer was erased")
        _record_keys(store, privacy, new_keys)
        dek = None
        if privacy.cipher is not None:
            try:
                dek = privacy.cipher.unwrap(customer.id, store.privacy.get_key(customer.id))
            except NotFound:
                dek, wrapped = privacy.cipher.new_data_key(customer.id)
                store.privacy.put_key(customer.id, wrapped)
        core, record = _seal(privacy, customer, dek)
        store.customers.update(core)
        store.privacy.put_sealed(record)
        record_audit(
            store, privacy, actor, "update_customer", f"customer:{customer.id}", purpose=purpose
        )


def find_customers(
    store: PrivacyStore, privacy: Privacy, actor: Actor, *, email: str | None = None,
    phone: str | None = None, phone_last4: str | None = None, purpose: str = "",
) -> list[str]:
    """Ids of customers with this email, phone or phone ending (exactly one given).

    Goes through the blind index and discards the false candidates of its truncation
    by decrypting them. Needs ``view_masked``; audited (the value is not logged).

    Raises:
        ValidationError: not exactly one criterion, or a malformed value.
        AccessDenied: the policy refuses.
        KeyMismatch: the cipher's index key is not the one this store was written
            with (the lookup would find no one); nothing is audited.
    """
    _check_context(store, privacy)
    given = [(k, v) for k, v in (("email", email), ("phone", phone),
                                 ("phone_last4", phone_last4)) if v is not None]
    if len(given) != 1:
        raise ValidationError("criteria", [k for k, _ in given], "exactly one of email, phone, "
                              "phone_last4")
    kind, value = given[0]
    if kind == "phone_last4":
        if not isinstance(value, str) or len(value) != 4 or not value.isdigit():
            raise ValidationError("phone_last4", value, "four digits")
        wanted = value
        digest = _index_digest(privacy, kind, "+8600000000" + value)
    else:
        wanted = normalise_for_index(kind, value)
        digest = _index_digest(privacy, kind, value)
    # A lookup through the wrong index key finds no one, silently: refused instead.
    _checked_authorise(
        store, privacy, actor, Permission.VIEW_MASKED, f"lookup:{kind}", purpose=purpose,
        index=True,
    )
    found: list[str] = []
    for candidate in store.privacy.find_by_index(kind, digest):
        try:
            customer = _unsealed(store, privacy, store.customers.get(candidate))
        except NotFound:
            continue
        stored = customer.email if kind == "email" else customer.phone
        if stored is not None and normalise_for_index(kind, stored) == wanted:
            found.append(candidate)
    return found


def rotate_keys(
    store: PrivacyStore, privacy: Privacy, actor: Actor, *, old_kek_id: str,
    batch_size: int = 1000, max_batches: int | None = None,
) -> RotationProgress:
    """Rewrap the data keys wrapped by ``old_kek_id`` with the provider's current KEK.

    Fields are not re-encrypted: only the 60-byte wrapped keys change, a batch per
    transaction, so a rotation can stop (``max_batches``) and resume, and reads keep
    working meanwhile (each key names the KEK that opens it; the provider must hold
    both until the rotation finishes). A customer erased after its batch was listed
    (no key left) or whose key a concurrent rotation rewrapped meanwhile is skipped,
    not an error that stops the rotation.

    Raises:
        AccessDenied: the actor may not manage keys.
        ValidationError: no cipher, a bad batch size or ``max_batches``, or
            ``old_kek_id`` is current.
        KeyUnavailable: the provider lacks ``old_kek_id``.
        KeyMismatch: ``old_kek_id`` or the current KEK is not the key of its id this
            store was written with; nothing is rewrapped or audited.
    """
    _check_context(store, privacy)
    if privacy.cipher is None:
        raise ValidationError("privacy.cipher", None, "a FieldCipher to rotate keys with")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValidationError("batch_size", batch_size, "a positive integer")
    if max_batches is not None and (
        isinstance(max_batches, bool) or not isinstance(max_batches, int) or max_batches < 0
    ):
        raise ValidationError("max_batches", max_batches, "None or a non-negative integer")
    cipher = privacy.cipher
    new = cipher.keys.current_key_id
    if old_kek_id == new:
        raise ValidationError("old_kek_id", old_kek_id, f"a KEK other than the current {new!r}")
    cipher.keys.key(old_kek_id)
    # Both KEKs checked first: rewrapping with a wrong new KEK would leave data keys
    # that the right key file cannot open.
    new_keys = _checked_authorise(
        store, privacy, actor, Permission.MANAGE_KEYS, f"kek:{old_kek_id}->{new}",
        purpose="", keks=[old_kek_id, new],
    )
    if new_keys:
        with store.transaction():
            _record_keys(store, privacy, new_keys)
    done = batches = 0
    while max_batches is None or batches < max_batches:
        ids = store.privacy.keys_wrapped_with(old_kek_id, batch_size)
        if not ids:
            break
        with store.transaction():
            for cid in ids:
                try:
                    wrapped = store.privacy.get_key(cid)
                except NotFound:
                    continue  # erased since the batch was listed: no key left to rewrap
                if wrapped.kek_id != old_kek_id:
                    continue  # rewrapped since by a concurrent rotation
                store.privacy.replace_key(
                    cid, cipher.rewrap(cid, wrapped, new), expected_kek_id=old_kek_id
                )
                done += 1
        batches += 1
    remaining = store.privacy.key_counts().get(old_kek_id, 0)
    record_audit(
        store, privacy, actor, "rotate_keys", f"kek:{old_kek_id}->{new}",
        purpose=f"rewrapped {done}, remaining {remaining}",
    )
    return RotationProgress(rewrapped=done, remaining=remaining)


# -- subject rights -----------------------------------------------------------------
def is_suppressed(store: PrivacyStore, customer_id: str) -> bool:
    """Whether ``customer_id`` was erased: campaigns must never contact them again."""
    _check_store(store)
    return store.privacy.erasure(customer_id) is not None


def _plain(value: Any) -> Any:
    """A JSON-ready copy of a domain value.

    Strict JSON has no NaN or infinity (``json.dumps`` writes ``NaN``, which most
    parsers refuse): a non-finite float becomes the string ``"NaN"``, ``"Infinity"`` or
    ``"-Infinity"``. A NumPy scalar becomes its Python value.
    """
    if getattr(value, "shape", None) == () and hasattr(value, "item"):
        value = value.item()  # a NumPy scalar (np.int64 is no int to json)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if attrs.has(type(value)):
        return {f.name: _plain(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, frozenset | set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list) or (
        hasattr(value, "__len__") and hasattr(value, "__getitem__") and not isinstance(value, str)
    ):
        return [_plain(v) for v in value]
    return value


#: An extra export section: ``(store, customer_id) -> JSON-ready data``.
ExportSection = Callable[[Any, str], Any]


def export_subject(
    store: PrivacyStore, privacy: Privacy, actor: Actor, customer_id: str, *,
    purpose: str = "", sections: Mapping[str, ExportSection] | None = None,
) -> dict[str, Any]:
    """Everything held on one customer, JSON-ready (action ``export_subject``; audited).

    Holds the profile (decrypted), orders, interactions, and what every bundled
    capability the store has keeps on the customer: tickets, star history and rating
    overrides, points entries and tier history (``points``, ``tier_history``), risk
    restrictions with their appeals, alerts and scores (``risk``), follow-up plans and
    contacts (``followups``), prospects linked to the customer with their contact
    records and reports (``prospects``), campaign suppressions (``suppressions``) and
    every campaign's send decision about the customer (``campaign_decisions``: sent,
    held, holdout or why dropped, channel, times, offer and message id); the erasure
    if any; and ``sections`` a host adds (a section of the same name replaces
    the bundled one). After an erasure the profile carries only the pseudonym.

    Raises:
        NotFound: no such customer.
        AccessDenied: the policy refuses.
    """
    _check_context(store, privacy)
    core = store.customers.get(customer_id)
    authorise(
        store, privacy, actor, Permission.EXPORT_SUBJECT, f"customer:{core.id}", purpose=purpose
    )
    profile = _unsealed(store, privacy, core)
    erasure = store.privacy.erasure(core.id)  # after the profile: an erasure racing it shows
    data: dict[str, Any] = {
        "customer": _plain(profile),
        "erasure": None if erasure is None else _plain(erasure),
        "orders": [_plain(o) for o in store.orders.for_customer(core.id)],
        "interactions": [_plain(i) for i in store.interactions.for_customer(core.id)],
    }
    if isinstance(store, TicketStore):
        data["tickets"] = [_plain(t) for t in store.tickets.find(customer_id=core.id)]
    if isinstance(store, RatingStore):
        data["star_history"] = [_plain(h) for h in store.ratings.star_history(core.id)]
        data["rating_overrides"] = [_plain(o) for o in store.ratings.overrides_for(core.id)]
    for name, section in {**_bundled_sections(store), **(sections or {})}.items():
        data[name] = _plain(section(store, core.id))
    return data


def _points(store: Any, cid: str) -> Any:
    return store.loyalty.entries(cid)


def _tier_history(store: Any, cid: str) -> Any:
    return store.loyalty.tier_history(cid)


def _risk(store: Any, cid: str) -> Any:
    restrictions = store.risk.find_restrictions(customer_id=cid)
    return {
        "restrictions": restrictions,
        "appeals": [a for r in restrictions for a in store.risk.find_appeals(restriction_id=r.id)
                    if a.customer_id == cid],
        "alerts": store.risk.find_alerts(customer_id=cid),
        "scores": store.risk.score_history(cid),
    }


def _followups(store: Any, cid: str) -> Any:
    return {"plans": store.followups.plans(customer_id=cid),
            "contacts": store.followups.contacts(customer_id=cid)}


def _prospects(store: Any, cid: str) -> Any:
    return [
        {"prospect": p, "contacts": store.prospects.contacts(prospect_id=p.id),
         "reports": store.prospects.reports(p.id)}
        for p in store.prospects.find(customer_id=cid)
    ]


def _suppressions(store: Any, cid: str) -> Any:
    return [s for s in store.campaigns.suppressions() if s.customer_id == cid]


def _campaign_decisions(store: Any, cid: str) -> Any:
    return store.campaigns.customer_decisions(cid)


def _bundled_sections(store: Any) -> dict[str, ExportSection]:
    """The export sections of the bundled capabilities the store has.

    Without them an export (and ``custmgmt privacy export``, which passes no sections)
    left out the points ledger, risk records, follow-ups, linked prospects,
    suppressions and campaign send decisions a store keeps on the customer.
    """
    found: dict[str, ExportSection] = {}
    for capability, methods, sections in _SECTIONS:
        repository = getattr(store, capability, None)
        if repository is not None and all(
            callable(getattr(repository, m, None)) for m in methods
        ):
            found.update(sections)
    return found


# capability attribute, the methods its sections read, the sections. Checked by the
# methods (as the capability ports declare them) rather than by importing each
# capability's store Protocol: importing the privacy package stays as cheap as it was.
_SECTIONS: tuple[tuple[str, tuple[str, ...], dict[str, ExportSection]], ...] = (
    ("loyalty", ("entries", "tier_history"),
     {"points": _points, "tier_history": _tier_history}),
    ("risk", ("find_restrictions", "find_appeals", "find_alerts", "score_history"),
     {"risk": _risk}),
    ("followups", ("plans", "contacts"), {"followups": _followups}),
    ("prospects", ("find", "contacts", "reports"), {"prospects": _prospects}),
    ("campaigns", ("suppressions",), {"suppressions": _suppressions}),
    ("campaigns", ("customer_decisions",), {"campaign_decisions": _campaign_decisions}),
)


def export_subject_json(
    store: PrivacyStore, privacy: Privacy, actor: Actor, customer_id: str, *,
    purpose: str = "", sections: Mapping[str, ExportSection] | None = None,
) -> str:
    """:func:`export_subject` as UTF-8-ready JSON text (Chinese kept as it is)."""
    data = export_subject(
        store, privacy, actor, customer_id, purpose=purpose, sections=sections
    )
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, allow_nan=False)


def _redact_interaction(interaction: Interaction) -> Interaction | None:
    details = interaction.details
    if isinstance(details, Review | Complaint) and details.text is not None:
        details = attrs.evolve(details, text=None)
    elif isinstance(details, Search):
        details = attrs.evolve(details, query=ERASED_TEXT)
    else:
        return None
    return attrs.evolve(interaction, details=details, version=interaction.version + 1)


def _redact_ticket(ticket: Ticket) -> Ticket:
    events = [attrs.evolve(e, reason="") for e in ticket.events]
    return attrs.evolve(
        ticket, subject=ERASED_TEXT, description="",
        solution=None if ticket.solution is None else ERASED_TEXT, events=events,
    )


def erase_subject(
    store: PrivacyStore, privacy: Privacy, actor: Actor, customer_id: str, *,
    purpose: str = "",
) -> ErasureRecord:
    """Erase a customer's personal data, keeping every order, rating and KPI right.

    In one transaction: the customer's data key is shredded and the sealed record and
    blind indexes removed (crypto-shredding: copies of the ciphertext in the WAL or a
    backup become unreadable); the profile keeps its id but its name becomes a stable
    pseudonym and every other personal field (sensitive ones too) is cleared, consent
    withdrawn; the free text of their interactions and tickets is replaced, and so is
    every capability repository's that implements
    :class:`~custmgmt.privacy.ports.SubjectRedaction` (points reasons, override reasons,
    appeal statements, follow-up notes); orders, points, ratings and ticket timings
    stay as they were. On SQLite the WAL is then checkpointed and emptied and
    ``secure_delete`` zeroes the replaced text (``docs/privacy.md``). The customer is
    suppressed from campaigns for good (:func:`is_suppressed`). Audited.

    Raises:
        NotFound: no such customer; nothing changes.
        Conflict: the customer was erased already; nothing changes.
        AccessDenied: the policy refuses.
        KeyMismatch: the cipher's index key (which makes the pseudonym) is not the
            one this store was written with (a wrong key file); nothing changes, the
            audit log included.
    """
    _check_context(store, privacy)
    core = store.customers.get(customer_id)
    resource = f"customer:{core.id}"
    # The pseudonym comes from the index key: a wrong key file is refused here, before
    # anything is written (the audit log included).
    new_keys = _checked_authorise(
        store, privacy, actor, Permission.ERASE_SUBJECT, resource, purpose=purpose, index=True
    )
    at = max(privacy.clock.now(), core.updated_at)
    pseudonym = (
        privacy.cipher.pseudonym(core.id) if privacy.cipher is not None
        else random_pseudonym()
    )
    business = core.business
    with store.transaction():
        if store.privacy.erasure(core.id) is not None:
            raise Conflict("customer", core.id, "the customer was erased already")
        _record_keys(store, privacy, new_keys)
        erased = core.update_profile(
            at=at, name=pseudonym, phone=None, email=None, birth_date=None, address=None,
            gender=None, occupation=None, credit_rating=None, tags=frozenset(),
            consent=Consent(updated_at=at),
            business=None if business is None else BusinessProfile(
                legal_name=business.legal_name, industry=business.industry,
                employees=business.employees, annual_revenue=business.annual_revenue,
            ),
        )
        store.customers.update(erased)
        store.privacy.shred_key(core.id)
        store.privacy.remove_sealed(core.id)
        for interaction in store.interactions.for_customer(core.id):
            redacted = _redact_interaction(interaction)
            if redacted is not None:
                store.interactions.update(redacted)
        if isinstance(store, TicketStore):
            for ticket in store.tickets.find(customer_id=core.id):
                store.tickets.remove(ticket.id)
                store.tickets.add(_redact_ticket(ticket))
        for repository in _capability_repositories(store):
            if isinstance(repository, SubjectRedaction):
                repository.redact_subject(core.id, pseudonym)
        record = ErasureRecord(customer_id=core.id, pseudonym=pseudonym, at=at)
        store.privacy.record_erasure(record)
        record_audit(store, privacy, actor, "erase_subject", resource, purpose=purpose)
    _forget_running_state(store, core.id)
    purge = getattr(store.privacy, "purge_history", None)
    if callable(purge):
        # After the commit: an SQLite store moves the WAL into the database file and
        # empties it, so the replaced text is left neither there nor in free pages.
        purge()
    return record


def _forget_running_state(store: PrivacyStore, customer_id: str) -> None:
    """Drop the loyalty running state kept in memory for ``customer_id``.

    The state (:mod:`custmgmt.loyalty._running`) holds the customer's last ledger
    entry and lots as they were read, reasons included: after an erasure redacted
    those reasons in the store, the process still kept the personal text until the
    next points operation on the customer noticed the change. Called after the commit.
    """
    running: Any = sys.modules.get("custmgmt.loyalty._running")
    repo = getattr(store, "loyalty", None)
    if running is None or repo is None:
        return  # never imported in this process: nothing is kept
    running.forget(repo, customer_id)


def _capability_repositories(store: PrivacyStore) -> tuple[Any, ...]:
    """The store's capability repositories (a bundled store lists them; a host's
    store without ``capability_repositories`` offers none beyond the core)."""
    listing = getattr(store, "capability_repositories", None)
    return tuple(listing()) if callable(listing) else ()
