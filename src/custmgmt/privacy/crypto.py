"""Field encryption: keys from the host, per-customer data keys, blind indexes.

A store that encrypts keeps each customer's identifying and contact fields as one
AES-256-GCM ciphertext under a *data key* of that customer's own; the data key is
stored wrapped (encrypted) by a *key-encryption key* (KEK) that the host's
:class:`KeyProvider` holds, with the KEK's id beside it. So

* erasure shreds one customer's data key and their ciphertext becomes noise
  (crypto-shredding: old copies in the WAL or a backup are unreadable too);
* rotating the KEK rewraps the small data keys, never re-encrypts the fields, and
  during a rotation every data key names the KEK that opens it, so reads and
  lookups keep working while some keys are old and some new;
* lookups by email or phone go through *blind indexes*: a keyed HMAC-SHA256 of the
  normalised value, truncated to ``index_bytes`` (the index key never rotates with the
  KEK, so indexes stay valid).

Authenticated encryption needs the ``cryptography`` package (``pip install
'custmgmt[privacy]'``); custmgmt never implements a cipher itself. A wrong key or a
tampered ciphertext is a :class:`DecryptionFailed`, a key the provider does not hold
a :class:`KeyUnavailable`, never garbage.

>>> keys = StaticKeyProvider({"kek-1": bytes(32), "index": bytes(range(32))},
...                          current="kek-1", index="index")
>>> cipher = FieldCipher(keys)
>>> dek, wrapped = cipher.new_data_key("C-1")
>>> wrapped.kek_id
'kek-1'
>>> blob = cipher.seal("C-1", dek, "王芳".encode())
>>> cipher.open("C-1", cipher.unwrap("C-1", wrapped), blob).decode()
'王芳'
>>> cipher.blind_index("email", "Wang@Example.com") == cipher.blind_index(
...     "email", "wang@example.com ")
True
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs

from custmgmt._extras import require
from custmgmt.domain import _validate as v
from custmgmt.domain.customer import normalise_phone
from custmgmt.errors import NotFound, StorageError, ValidationError

__all__ = [
    "INDEX_KINDS",
    "PSEUDONYM_PREFIX",
    "DecryptionFailed",
    "FieldCipher",
    "FileKeyProvider",
    "KeyMismatch",
    "KeyProvider",
    "KeyUnavailable",
    "StaticKeyProvider",
    "WrappedKey",
    "environment_key_provider",
    "is_pseudonym",
    "normalise_for_index",
    "random_pseudonym",
    "write_key_file",
]

#: How a sealed or erased customer's name reads in the customers table: this prefix and
#: 12 lowercase hex digits (:meth:`FieldCipher.pseudonym`, :func:`random_pseudonym`).
PSEUDONYM_PREFIX = "匿名-"
_PSEUDONYM = re.compile(re.escape(PSEUDONYM_PREFIX) + r"[0-9a-f]{12}")


def is_pseudonym(name: str) -> bool:
    """Whether ``name`` has the form of a pseudonym the privacy service writes in place
    of a sealed or erased customer's name (no real name has exactly that form:
    ``匿名先生``, ``匿名-abc`` or upper-case hex digits are ordinary names)."""
    return name.startswith(PSEUDONYM_PREFIX) and _PSEUDONYM.fullmatch(name) is not None


def random_pseudonym() -> str:
    """A pseudonym of the same form for an erasure without a cipher (nothing to key it)."""
    return PSEUDONYM_PREFIX + secrets.token_hex(6)


#: What a blind index can be built on: an email, a phone (E.164), its last four digits.
INDEX_KINDS = ("email", "phone", "phone_last4")

_KEY_BYTES = 32
_NONCE_BYTES = 12
_FORMAT = b"\x01"


class KeyUnavailable(NotFound):
    """The key provider holds no key under the id asked for (``.key`` is the id)."""

    def __init__(self, key_id: Any) -> None:
        super().__init__("key", key_id)


class DecryptionFailed(StorageError):
    """A ciphertext did not authenticate: the wrong key, or the bytes were changed."""


class KeyMismatch(ValidationError):
    """The provider's key of some id is not the key of that id this store was written
    with (a wrong key file): refused before anything is read into a result or written.

    A :class:`~custmgmt.errors.ValidationError` (the key given is bad input) whose
    ``field`` says which key (``"index key"`` or ``"key-encryption key"``) and whose
    ``value`` is the key's id, never the key. See :meth:`FieldCipher.key_fingerprint`.
    """

    @property
    def key_id(self) -> Any:
        """The id of the key that does not match."""
        return self.value

    @classmethod
    def of(cls, role: str, key_id: str) -> KeyMismatch:
        """The error for the key ``key_id`` used as ``role``.

        >>> str(KeyMismatch.of("index key", "index-1"))  # doctest: +ELLIPSIS
        "index key: got 'index-1', expected the key of this id that this store was ..."
        """
        return cls(
            role, key_id,
            "the key of this id that this store was written with; this key does not "
            "match it (its fingerprint differs: a wrong key file?), so nothing was "
            "changed",
        )


@runtime_checkable
class KeyProvider(Protocol):
    """Where keys come from: the host implements it on its KMS, HSM or vault.

    Keys are 32 random bytes. ``current_key_id`` names the KEK new data keys are
    wrapped with; during a rotation the provider must still hold the old KEK, so data
    keys not yet rewrapped can be opened. ``index_key_id`` names the blind-index key.
    """

    @property
    def current_key_id(self) -> str:
        """The id of the key-encryption key to wrap new data keys with."""
        ...

    @property
    def index_key_id(self) -> str:
        """The id of the key blind indexes are computed with."""
        ...

    def key(self, key_id: str) -> bytes:
        """The 32-byte key named ``key_id``.

        Raises:
            KeyUnavailable: the provider holds no key under ``key_id``.
        """
        ...


def _check_key(key_id: str, key: Any) -> bytes:
    if not isinstance(key, bytes) or len(key) != _KEY_BYTES:
        raise ValidationError(f"keys[{key_id!r}]", "<secret>", "32 bytes")
    return key


#: The longest key id: a wrapped data key stores its KEK's id, and a stored
#: :class:`WrappedKey` allows this many characters.
_MAX_KEY_ID = 200


def _check_key_id(field: str, key_id: Any) -> str:
    """A key id a :class:`WrappedKey` can carry: non-blank text of at most 200 characters
    without control characters. A longer or blank KEK id wrapped data keys that the
    store then could not read back (SQLite re-validates the stored id)."""
    if (
        not isinstance(key_id, str) or not key_id.strip() or len(key_id) > _MAX_KEY_ID
        or any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or 0xD800 <= ord(c) < 0xE000
               for c in key_id)
    ):
        shown = key_id if not isinstance(key_id, str) else key_id[:40]
        raise ValidationError(
            field, shown, f"a key id of 1 to {_MAX_KEY_ID} characters, not blank, "
            "without control characters"
        )
    return key_id


class StaticKeyProvider:
    """Keys held in memory: for tests, development and hosts that load keys themselves.

    Args:
        keys: key id -> 32 bytes.
        current: the id of the KEK new data keys are wrapped with.
        index: the id of the blind-index key.

    Raises:
        ValidationError: a key is not 32 bytes, or ``current`` / ``index`` is not in ``keys``.
    """

    def __init__(self, keys: Mapping[str, bytes], *, current: str, index: str) -> None:
        if not isinstance(keys, Mapping):
            raise ValidationError("keys", type(keys).__name__, "a mapping of key id -> 32 bytes")
        self._keys = {
            _check_key_id("keys", str(k)): _check_key(str(k), v) for k, v in keys.items()
        }
        for name, value in (("current", current), ("index", index)):
            if not isinstance(value, str) or value not in self._keys:
                raise ValidationError(name, value, f"one of the key ids {sorted(self._keys)}")
        self._current = current
        self._index = index

    def __repr__(self) -> str:
        return f"StaticKeyProvider(key_ids={sorted(self._keys)}, current={self._current!r})"

    @property
    def current_key_id(self) -> str:
        """The KEK new data keys are wrapped with."""
        return self._current

    @property
    def index_key_id(self) -> str:
        """The blind-index key's id."""
        return self._index

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every key id held, sorted."""
        return tuple(sorted(self._keys))

    def key(self, key_id: str) -> bytes:
        """The key named ``key_id`` (see :meth:`KeyProvider.key`)."""
        try:
            return self._keys[key_id]
        except (KeyError, TypeError):
            raise KeyUnavailable(key_id) from None

    def with_current(self, key_id: str, key: bytes | None = None) -> StaticKeyProvider:
        """A copy whose current KEK is ``key_id`` (added with ``key`` if given).

        The old keys stay, so data keys wrapped with them still open: what a rotation
        needs.
        """
        keys = dict(self._keys)
        if key is not None:
            keys[key_id] = key
        return StaticKeyProvider(keys, current=key_id, index=self._index)


def _decode_keys(raw: Mapping[str, Any], source: str) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for key_id, text in raw.items():
        try:
            keys[str(key_id)] = base64.b64decode(str(text), validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError(f"{source}: keys[{key_id!r}]", "<secret>", "base64") from None
    return keys


def _check_path(field: str, path: Any) -> Path:
    """``path`` as a Path: a non-empty str or ``os.PathLike[str]`` without NUL
    characters (a ``ValidationError`` naming ``field`` otherwise; ``os.open`` raised a
    bare ``ValueError`` on a NUL and ``Path`` a ``TypeError`` on bytes or None)."""
    text = os.fspath(path) if isinstance(path, os.PathLike) else path
    if not isinstance(text, str):
        raise ValidationError(field, type(path).__name__, "a path (str or os.PathLike)")
    if not text or "\x00" in text:
        raise ValidationError(field, text, "a path, not empty and without NUL characters")
    return Path(text)


#: A key file holds a few keys; anything much larger is not one.
_MAX_KEY_FILE_BYTES = 1 << 20


def _read_key_file(path: Path) -> bytes:
    """The bytes of a key file, which must be a regular file of modest size
    (a ``ValidationError`` naming what is wrong otherwise).

    Opened without blocking and checked before reading: a FIFO would wait forever for
    a writer, and a device such as ``/dev/zero`` never ends.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            regular = stat.S_ISREG(os.fstat(fh.fileno()).st_mode)
            data = fh.read(_MAX_KEY_FILE_BYTES + 1) if regular else b""
    except OSError as exc:
        raise ValidationError(
            "key file", str(path), f"a readable key file ({exc.strerror or exc})"
        ) from None
    if not regular:
        raise ValidationError("key file", str(path), "a regular file")
    if len(data) > _MAX_KEY_FILE_BYTES:
        raise ValidationError("key file", str(path), f"at most {_MAX_KEY_FILE_BYTES:,} bytes")
    return data


class FileKeyProvider(StaticKeyProvider):
    """Keys from a JSON file, for development (production keys belong in a KMS).

    The file is ``{"current": ID, "index": ID, "keys": {ID: base64, ...}}``; make one
    with :func:`write_key_file`.

    Raises:
        ValidationError: the file is missing, not JSON of that shape, or a key is
            not 32 bytes of base64.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = _check_path("key file", path)
        raw_file = _read_key_file(self.path)
        try:
            data = json.loads(raw_file.decode("utf-8"))
            current, index, raw = data["current"], data["index"], data["keys"]
            if not isinstance(raw, dict):
                raise TypeError
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
            # RecursionError: JSON nested thousands deep (a garbled or hostile file).
            raise ValidationError(
                "key file", str(path), 'JSON {"current": .., "index": .., "keys": {..}}'
            ) from (None if isinstance(exc, RecursionError) else exc)
        super().__init__(_decode_keys(raw, str(path)), current=current, index=index)


def write_key_file(path: str | os.PathLike[str]) -> FileKeyProvider:
    """Create a key file with a fresh KEK and index key (never overwrites a file).

    The file is created with mode 0600 (never readable by others, not for a moment).

    Raises:
        ValidationError: ``path`` exists already, its folder does not exist, or it
            cannot be written (nothing is left behind).
    """
    target = _check_path("path", path)
    payload = {
        "current": "kek-1",
        "index": "index-1",
        "keys": {k: base64.b64encode(secrets.token_bytes(_KEY_BYTES)).decode()
                 for k in ("kek-1", "index-1")},
    }
    try:
        # Created 0600 from the start: secrets are never readable by others, not even
        # for the moment between creating the file and changing its mode.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ValidationError("path", str(path), "a file that does not exist yet") from None
    except OSError as exc:
        raise ValidationError(
            "path", str(path), f"a new file in an existing, writable folder ({exc.strerror})"
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2)
        os.chmod(target, 0o600)  # the umask may have taken bits off; never added any
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(target)  # no half-written key file left behind
        raise ValidationError("path", str(path), f"a writable file ({exc.strerror})") from None
    return FileKeyProvider(target)


def environment_key_provider(environ: Mapping[str, str] | None = None) -> StaticKeyProvider:
    """Keys from environment variables, for development and containers.

    ``CUSTMGMT_KEYS`` is ``id:base64,id:base64``; ``CUSTMGMT_KEK`` names the current
    KEK and ``CUSTMGMT_INDEX_KEY`` the index key.

    Raises:
        ValidationError: a variable is missing or malformed.
    """
    env = os.environ if environ is None else environ
    missing = [n for n in ("CUSTMGMT_KEYS", "CUSTMGMT_KEK", "CUSTMGMT_INDEX_KEY") if n not in env]
    if missing:
        raise ValidationError("environment", missing, "CUSTMGMT_KEYS, _KEK and _INDEX_KEY set")
    pairs: dict[str, str] = {}
    for item in env["CUSTMGMT_KEYS"].split(","):
        key_id, sep, text = item.strip().partition(":")
        if not sep or not key_id:
            raise ValidationError("CUSTMGMT_KEYS", "<secret>", "id:base64 pairs, comma separated")
        pairs[key_id] = text
    return StaticKeyProvider(
        _decode_keys(pairs, "CUSTMGMT_KEYS"),
        current=env["CUSTMGMT_KEK"],
        index=env["CUSTMGMT_INDEX_KEY"],
    )


@attrs.frozen(kw_only=True)
class WrappedKey:
    """A customer's data key encrypted by a key-encryption key.

    Attributes:
        kek_id: the id of the KEK that opens it.
        blob: nonce and ciphertext (not shown in ``repr``).
    """

    kek_id: str = attrs.field(validator=v.text(max_length=200))
    blob: bytes = attrs.field(
        validator=v.instance_of(bytes, "bytes"), repr=lambda b: f"<{len(b)} bytes>"
    )

    @classmethod
    def trusted(cls, kek_id: str, blob: bytes) -> WrappedKey:
        """A wrapped key the cipher made itself, without re-validating it (bulk sealing
        makes a million of these; the validators were a fifth of the cost of a key)."""
        key = object.__new__(cls)
        object.__setattr__(key, "kek_id", kek_id)
        object.__setattr__(key, "blob", blob)
        return key


def normalise_for_index(kind: str, value: str) -> str:
    """The form of ``value`` a blind index of ``kind`` is computed on.

    Emails are trimmed and lower-cased; phones become E.164 (a mainland mobile gets
    ``+86``); ``phone_last4`` is the last four digits.

    >>> normalise_for_index("phone", "138 1234 5678")
    '+8613812345678'
    >>> normalise_for_index("phone_last4", "+86 138-1234-5678")
    '5678'

    Raises:
        ValidationError: an unknown kind, or a value that is not an email / phone.
    """
    if kind not in INDEX_KINDS:
        raise ValidationError("kind", kind, f"one of {INDEX_KINDS}")
    if not isinstance(value, str):
        raise ValidationError(kind, type(value).__name__, "a string")
    if kind == "email":
        text = value.strip().lower()
        if "@" not in text:
            raise ValidationError("email", "<not shown>", "an email address")
        return text
    phone = normalise_phone(value, kind)
    e164 = phone if phone.startswith("+") else "+86" + phone
    return e164 if kind == "phone" else e164[-4:]


class FieldCipher:
    """AES-256-GCM for sealed fields and wrapped data keys, HMAC-SHA256 for indexes.

    Args:
        keys: the host's key provider.
        index_bytes: how many bytes of the HMAC a blind index keeps (1-32). Fewer
            bytes leak less (many customers share an index value) but give more false
            candidates, which lookups discard after decrypting: with ``n`` customers
            a lookup meets about ``n / 256**index_bytes`` of them (see
            ``docs/privacy.md`` for measured rates).

    Raises:
        MissingDependency: the ``cryptography`` package is not installed.
        ValidationError: ``index_bytes`` is out of range.
    """

    def __init__(self, keys: KeyProvider, *, index_bytes: int = 8) -> None:
        if not isinstance(keys, KeyProvider):
            raise ValidationError("keys", type(keys).__name__, "a KeyProvider")
        if isinstance(index_bytes, bool) or not isinstance(index_bytes, int) or not (
            1 <= index_bytes <= 32
        ):
            raise ValidationError("index_bytes", index_bytes, "an integer from 1 to 32")
        aead = require(
            "cryptography.hazmat.primitives.ciphers.aead",
            extra="privacy",
            purpose="field encryption",
        )
        invalid = require("cryptography.exceptions", extra="privacy", purpose="field encryption")
        self._aesgcm: Any = aead.AESGCM
        self._invalid: type[Exception] = invalid.InvalidTag
        self.keys = keys
        self.index_bytes = index_bytes
        self._keks: dict[str, Any] = {}
        self._index_pads: tuple[Any, Any] | None = None

    def __repr__(self) -> str:
        return f"FieldCipher(keys={self.keys!r}, index_bytes={self.index_bytes})"

    def _kek(self, kek_id: str) -> Any:
        aes = self._keks.get(kek_id)
        if aes is None:
            # Checked once per KEK: a host's provider may name its KEK with an id a
            # stored WrappedKey cannot carry (blank, over 200 characters).
            _check_key_id("kek_id", kek_id)
            aes = self._aesgcm(_check_key(kek_id, self.keys.key(kek_id)))
            self._keks[kek_id] = aes
        return aes

    @staticmethod
    def _wrap_aad(kek_id: str, customer_id: str) -> bytes:
        return b"custmgmt-dek\x00" + kek_id.encode() + b"\x00" + customer_id.encode()

    def new_data_key(self, customer_id: str) -> tuple[bytes, WrappedKey]:
        """A fresh data key for ``customer_id`` and its copy wrapped by the current KEK."""
        dek = secrets.token_bytes(_KEY_BYTES)
        return dek, self.wrap(customer_id, dek, self.keys.current_key_id)

    def wrap(self, customer_id: str, dek: bytes, kek_id: str) -> WrappedKey:
        """``dek`` wrapped by the KEK ``kek_id``, bound to ``customer_id``.

        Raises:
            KeyUnavailable: the provider holds no ``kek_id``.
        """
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._kek(kek_id).encrypt(nonce, dek, self._wrap_aad(kek_id, customer_id))
        return WrappedKey.trusted(kek_id, nonce + sealed)

    def unwrap(self, customer_id: str, wrapped: WrappedKey) -> bytes:
        """The data key inside ``wrapped``.

        Raises:
            KeyUnavailable: the provider no longer holds the KEK it was wrapped with.
            DecryptionFailed: the blob was changed, or belongs to another customer.
        """
        blob = wrapped.blob
        try:
            return bytes(
                self._kek(wrapped.kek_id).decrypt(
                    blob[:_NONCE_BYTES], blob[_NONCE_BYTES:],
                    self._wrap_aad(wrapped.kek_id, customer_id),
                )
            )
        except self._invalid as exc:
            raise DecryptionFailed(
                f"the data key of customer {customer_id!r} (KEK {wrapped.kek_id!r}) "
                "does not authenticate: wrong key or changed bytes"
            ) from exc

    def rewrap(self, customer_id: str, wrapped: WrappedKey, kek_id: str) -> WrappedKey:
        """``wrapped``'s data key wrapped again by ``kek_id`` (rotation)."""
        return self.wrap(customer_id, self.unwrap(customer_id, wrapped), kek_id)

    def seal(self, customer_id: str, dek: bytes, plaintext: bytes) -> bytes:
        """``plaintext`` encrypted under ``dek``, bound to ``customer_id``."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        aad = b"custmgmt-record\x00" + customer_id.encode()
        sealed: bytes = self._aesgcm(dek).encrypt(nonce, plaintext, aad)
        return _FORMAT + nonce + sealed

    def seal_new_many(
        self, items: Sequence[tuple[str, bytes]]
    ) -> list[tuple[bytes, WrappedKey]]:
        """Seal each ``(customer_id, plaintext)`` under a fresh data key of its own.

        Returns, per item and in order, the sealed blob (as :meth:`seal` makes it) and
        the new data key wrapped by the current KEK (as :meth:`new_data_key` makes it).
        The bulk path of adding customers: the randomness of the whole batch (data
        keys and both nonces of every customer) comes from one ``os.urandom`` call
        sliced up, and the KEK's cipher object is made once.

        Raises:
            KeyUnavailable: the provider lacks its current KEK.
        """
        kek_id = self.keys.current_key_id
        kek = self._kek(kek_id)
        aesgcm = self._aesgcm
        record_aad = b"custmgmt-record\x00"
        wrap_aad = b"custmgmt-dek\x00" + kek_id.encode() + b"\x00"
        step = _KEY_BYTES + 2 * _NONCE_BYTES
        pool = os.urandom(step * len(items))
        trusted = WrappedKey.trusted
        out: list[tuple[bytes, WrappedKey]] = []
        append = out.append
        at = 0
        for customer_id, plaintext in items:
            dek = pool[at : at + _KEY_BYTES]
            nonce = pool[at + _KEY_BYTES : at + _KEY_BYTES + _NONCE_BYTES]
            wrap_nonce = pool[at + _KEY_BYTES + _NONCE_BYTES : at + step]
            at += step
            cid = customer_id.encode()
            blob = _FORMAT + nonce + aesgcm(dek).encrypt(nonce, plaintext, record_aad + cid)
            wrapped = wrap_nonce + kek.encrypt(wrap_nonce, dek, wrap_aad + cid)
            append((blob, trusted(kek_id, wrapped)))
        return out

    def open(self, customer_id: str, dek: bytes, blob: bytes) -> bytes:
        """The plaintext sealed in ``blob``.

        Raises:
            DecryptionFailed: wrong key, another customer's blob, or changed bytes.
        """
        if blob[:1] != _FORMAT:
            raise DecryptionFailed(f"the record of customer {customer_id!r} has an unknown format")
        aad = b"custmgmt-record\x00" + customer_id.encode()
        try:
            return bytes(self._aesgcm(dek).decrypt(blob[1:13], blob[13:], aad))
        except self._invalid as exc:
            raise DecryptionFailed(
                f"the record of customer {customer_id!r} does not authenticate: "
                "wrong key or changed bytes"
            ) from exc

    def blind_index(self, kind: str, value: str) -> bytes:
        """The truncated keyed HMAC of ``value`` normalised for ``kind``.

        Raises:
            ValidationError: see :func:`normalise_for_index`.
            KeyUnavailable: the provider holds no index key.
        """
        return self.digest_normalised(kind, normalise_for_index(kind, value))

    def _pads(self) -> tuple[Any, Any]:
        pads = self._index_pads
        if pads is None:
            key = _check_key("index", self.keys.key(self.keys.index_key_id))
            pads = self._index_pads = (
                hashlib.sha256(bytes(b ^ 0x36 for b in key.ljust(64, b"\x00"))),
                hashlib.sha256(bytes(b ^ 0x5C for b in key.ljust(64, b"\x00"))),
            )
        return pads

    def _hmac(self, message: bytes) -> bytes:
        # HMAC-SHA256 (RFC 2104) from the key's inner and outer pads hashed once: the
        # same digest as hmac.digest, at less than half its cost (it re-hashes the
        # padded key on every call, and sealing computes four HMACs per customer).
        inner, outer = self._pads()
        ihash = inner.copy()
        ihash.update(message)
        ohash = outer.copy()
        ohash.update(ihash.digest())
        digest: bytes = ohash.digest()
        return digest

    def digest_normalised(self, kind: str, normalised: str) -> bytes:
        """The blind index of a value already in its :func:`normalise_for_index` form."""
        return self._hmac((kind + "\x00" + normalised).encode())[: self.index_bytes]

    def key_fingerprint(self, key_id: str) -> bytes:
        """A keyed fingerprint of the key ``key_id``: 16 bytes of HMAC-SHA256 keyed by
        the key itself over a fixed label and the id.

        Stores keep it per key id when a key is first used, and the privacy services
        compare it before using a key again, so a wrong key file with the same key ids
        is refused (:class:`KeyMismatch`) instead of writing pseudonyms, indexes or
        data keys no one can use with the right keys. It reveals nothing of the key
        (finding a key from it means guessing 32 random bytes).

        Raises:
            KeyUnavailable: the provider holds no ``key_id``.
        """
        key = _check_key(key_id, self.keys.key(key_id))
        label = b"custmgmt-key-check\x00v1\x00" + key_id.encode()
        return hmac.digest(key, label, "sha256")[:16]

    def pseudonym(self, customer_id: str) -> str:
        """A stable pseudonym for ``customer_id`` that cannot be reversed without the key."""
        return PSEUDONYM_PREFIX + self._hmac(b"pseudonym\x00" + customer_id.encode())[:6].hex()
