"""Privacy and security: classification and masking, field encryption with blind
indexes, access control with a verifiable audit log, and subject rights.

:mod:`~custmgmt.privacy.classification` says which field of which type is personal;
:mod:`~custmgmt.privacy.masking` masks names, phones, emails, addresses and ID numbers
for display; :mod:`~custmgmt.privacy.crypto` holds the key provider port and the field
cipher (AES-256-GCM, per-customer data keys, blind indexes; the ``privacy`` extra);
:mod:`~custmgmt.privacy.access` the roles and the policy;
:mod:`~custmgmt.privacy.audit` the hash-chained audit log;
:mod:`~custmgmt.privacy.ports` the repository a store offers as ``store.privacy``;
:mod:`~custmgmt.privacy.services` the use cases (sealed customers, lookups, key
rotation, export and erasure). Backup and restore of an SQLite store live in
:mod:`custmgmt.adapters.sqlite.backup`. ``docs/privacy.md`` walks through it all.
"""

from custmgmt.privacy.access import ACTIONS, AccessDenied, AccessPolicy, Actor, Permission
from custmgmt.privacy.audit import AuditEntry, AuditVerification, verify_chain
from custmgmt.privacy.classification import (
    CLASSIFICATION,
    Sensitivity,
    classify,
    personal_fields,
)
from custmgmt.privacy.crypto import (
    DecryptionFailed,
    FieldCipher,
    FileKeyProvider,
    KeyMismatch,
    KeyProvider,
    KeyUnavailable,
    StaticKeyProvider,
    WrappedKey,
    environment_key_provider,
    normalise_for_index,
    write_key_file,
)
from custmgmt.privacy.masking import (
    is_valid_id_number,
    mask_address,
    mask_email,
    mask_id_number,
    mask_name,
    mask_phone,
)
from custmgmt.privacy.ports import (
    ERASED_TEXT,
    PRIVACY,
    ErasureRecord,
    KeyFingerprints,
    PrivacyRepository,
    PrivacyStore,
    SealedRecord,
    SubjectRedaction,
)
from custmgmt.privacy.services import (
    Privacy,
    RotationProgress,
    add_customer,
    add_customers,
    authorise,
    erase_subject,
    export_subject,
    export_subject_json,
    find_customers,
    is_suppressed,
    read_customer,
    record_audit,
    rotate_keys,
    update_customer,
    verify_audit_log,
)

__all__ = [
    "ACTIONS",
    "CLASSIFICATION",
    "ERASED_TEXT",
    "PRIVACY",
    "AccessDenied",
    "AccessPolicy",
    "Actor",
    "AuditEntry",
    "AuditVerification",
    "DecryptionFailed",
    "ErasureRecord",
    "FieldCipher",
    "FileKeyProvider",
    "KeyFingerprints",
    "KeyMismatch",
    "KeyProvider",
    "KeyUnavailable",
    "Permission",
    "Privacy",
    "PrivacyRepository",
    "PrivacyStore",
    "RotationProgress",
    "SealedRecord",
    "Sensitivity",
    "StaticKeyProvider",
    "SubjectRedaction",
    "WrappedKey",
    "add_customer",
    "add_customers",
    "authorise",
    "classify",
    "environment_key_provider",
    "erase_subject",
    "export_subject",
    "export_subject_json",
    "find_customers",
    "is_suppressed",
    "is_valid_id_number",
    "mask_address",
    "mask_email",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "normalise_for_index",
    "personal_fields",
    "read_customer",
    "record_audit",
    "rotate_keys",
    "update_customer",
    "verify_audit_log",
    "verify_chain",
    "write_key_file",
]
