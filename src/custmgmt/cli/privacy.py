"""``custmgmt privacy``: verify the audit log, export or erase a customer, make dev keys.

``verify`` checks the audit log's hash chain (with ``--head``, against an anchored
hash too) and exits 1 when it is broken. ``export`` writes everything held on one
customer as JSON to a new file; ``erase`` erases a customer (PIPL / GDPR). Both act
as ``--actor`` with ``--role`` (default ``privacy_officer``) under the default access
policy and are written to the audit log; an encrypted store needs ``--keys``.
``--db`` is an SQLite file or a ``postgresql://`` DSN (an existing store either way).
``keygen`` writes a development key file (never over an existing file).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from typing import Any

from custmgmt._text import one_line
from custmgmt.cli._inputs import open_existing_store
from custmgmt.domain.masking import mask_text
from custmgmt.errors import ValidationError
from custmgmt.privacy import (
    Actor,
    FieldCipher,
    FileKeyProvider,
    KeyMismatch,
    Privacy,
    PrivacyStore,
    erase_subject,
    export_subject_json,
    verify_audit_log,
    write_key_file,
)

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``privacy`` command and its sub-commands."""
    parser = subparsers.add_parser(
        "privacy",
        help="verify the audit log, export or erase a customer, make development keys",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    actions = parser.add_subparsers(title="actions", dest="action", metavar="ACTION")
    verify = actions.add_parser("verify", help="check the audit log's hash chain")
    verify.add_argument("--db", required=True, metavar="PATH",
                        help="an SQLite store, or a postgresql://... DSN")
    verify.add_argument("--head", metavar="HASH", help="the anchored hash of the last entry")
    for name, text in (("export", "write everything held on a customer as JSON"),
                       ("erase", "erase a customer's personal data")):
        sub = actions.add_parser(name, help=text)
        sub.add_argument("--db", required=True, metavar="PATH",
                         help="an SQLite store, or a postgresql://... DSN")
        sub.add_argument("--customer", required=True, metavar="ID")
        sub.add_argument("--actor", default=None, help="who acts (default: the login name)")
        sub.add_argument("--role", default="privacy_officer", help="the actor's role")
        sub.add_argument("--purpose", default="", help="why (written to the audit log)")
        sub.add_argument("--keys", metavar="FILE", help="key file of an encrypted store")
        if name == "export":
            sub.add_argument("--out", required=True, metavar="FILE.json",
                             help="a new file to write (an existing one is refused)")
    keygen = actions.add_parser("keygen", help="write a development key file")
    keygen.add_argument("--to", required=True, metavar="FILE")
    parser.set_defaults(func=run)


def _open(db: str, *, writable: bool = False) -> PrivacyStore:
    """``--db`` (an SQLite file or a ``postgresql://`` DSN) as a store with privacy data."""
    store: Any = open_existing_store(db, writable=writable)
    if not isinstance(store, PrivacyStore):
        store.close()
        raise ValidationError("--db", db, "a store that keeps the privacy records")
    return store


def _privacy(args: argparse.Namespace) -> Any:

    cipher = None if args.keys is None else FieldCipher(FileKeyProvider(args.keys))
    return Privacy(cipher=cipher)


@contextmanager
def _keys_named(args: argparse.Namespace) -> Iterator[None]:
    """Name ``--keys`` when a sealed customer is read without a key file (the library
    names its ``privacy.cipher`` argument, which the command line does not have) or
    with a key file the store was not written with."""
    try:
        yield
    except KeyMismatch as exc:
        raise ValidationError(
            "--keys", args.keys,
            f"the key file this store was written with (its {exc.field} {exc.key_id!r} "
            "does not match; nothing was changed)",
        ) from exc
    except ValidationError as exc:
        if exc.field != "privacy.cipher" or args.keys is not None:
            raise
        raise ValidationError(
            "--keys", None,
            f"the key file of this store: customer {args.customer!r} is stored encrypted",
        ) from exc


def _check_new_file(path: str) -> None:
    """Refuse an ``--out`` that exists or cannot be created, before the store is read
    (and before the export is written to the audit log)."""
    if os.path.lexists(path):
        raise ValidationError("--out", path, "a file that does not exist yet")
    if not path or not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise ValidationError("--out", path, "a new file in an existing folder")


def _write_private(path: str, text: str) -> None:
    """Write ``text`` to the new file ``path``, mode 0600 from the start (it holds
    personal data); on a failure no partial file is left behind."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ValidationError("--out", path, "a file that does not exist yet") from None
    except OSError as exc:
        raise ValidationError("--out", path, f"a writable new file ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(path, 0o600)
    except OSError as exc:
        with suppress(OSError):
            os.unlink(path)
        raise ValidationError("--out", path, f"a writable file ({exc.strerror})") from None


def _actor(args: argparse.Namespace) -> Any:
    actor = args.actor
    if actor is None:
        try:
            actor = getpass.getuser()
        except (OSError, KeyError):
            # No LOGNAME / USER and no passwd entry for this uid (a container run
            # under an arbitrary uid): getpass raises rather than return a name.
            raise ValidationError(
                "--actor", None, "who acts (no login name could be found for the default)"
            ) from None
    return Actor(id=actor, roles={args.role})


def run(args: argparse.Namespace) -> int:
    """Run one privacy action."""

    if args.action is None:
        raise ValidationError("action", None, "one of verify, export, erase, keygen")
    if args.action == "keygen":
        try:
            provider = write_key_file(args.to)
        except ValidationError as exc:  # named as the command line names it
            if exc.field != "path":
                raise
            raise ValidationError("--to", args.to, exc.expected) from None
        print(f"wrote development keys {list(provider.key_ids)} to {one_line(args.to)} "
              "(mode 0600); "
              "keep it out of backups and version control")
        return 0
    if args.action == "verify":
        with closing(_open(args.db)) as store:
            try:
                result = verify_audit_log(store, head=args.head)
            except ValidationError as exc:  # a mistyped anchor: a usage error, not a broken log
                if exc.field != "head":
                    raise
                raise ValidationError("--head", args.head, exc.expected) from None
        state = "intact" if result.ok else f"BROKEN: {one_line(result.problem)}"
        print(f"audit log: {result.checked:,} entries, {state}; head {one_line(result.head)}")
        return 0 if result.ok else 1
    if args.action == "export":
        _check_new_file(args.out)
        with closing(_open(args.db, writable=True)) as store, _keys_named(args):
            text = export_subject_json(store, _privacy(args), _actor(args), args.customer,
                                       purpose=args.purpose)
        _write_private(args.out, text)
        print(f"exported customer {one_line(args.customer)} to {one_line(args.out)}")
        return 0
    with closing(_open(args.db, writable=True)) as store, _keys_named(args):
        record = erase_subject(store, _privacy(args), _actor(args), args.customer,
                               purpose=args.purpose)
    print(f"erased customer {one_line(record.customer_id)}: "
          f"now {one_line(mask_text(record.pseudonym, keep=3))} "
          f"({record.at.isoformat()})", file=sys.stdout)
    return 0
