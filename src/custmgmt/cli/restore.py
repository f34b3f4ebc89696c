"""``custmgmt restore``: restore a store from a backup file, checked first.

The backup must pass ``PRAGMA integrity_check`` and be a custmgmt store. A ``--db``
that holds data is replaced only with ``--force``, and even then it is kept beside
the restored one as ``PATH.pre-restore-<time>`` (with its WAL): nothing the user
points at is destroyed. Stop the store's writers first.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from custmgmt._text import one_line
from custmgmt.adapters.sqlite.backup import restore
from custmgmt.cli._inputs import check_db_path, options_named
from custmgmt.errors import ValidationError

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``restore`` command."""
    parser = subparsers.add_parser(
        "restore",
        help="restore a store from a backup (checked; the old store is kept)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--db", required=True, metavar="PATH", help="the store to restore into")
    parser.add_argument(
        "--from", dest="source", required=True, metavar="FILE", help="the backup to restore"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace a store that holds data (it is kept as PATH.pre-restore-<time>)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Restore ``--from`` into ``--db``; prints what happened."""

    check_db_path(args.db)
    if _same_file(args.source, args.db):
        # It was "restored" over itself (with --force), the store kept beside it as a
        # pre-restore copy: a mistyped option, never a restore.
        raise ValidationError("--from", args.source, "a backup other than the store --db")
    with options_named(_OPTIONS):
        report = restore(args.source, args.db, force=args.force)
    print(f"restored {one_line(report.source)} into {one_line(report.path)}", file=sys.stdout)
    if report.kept is not None:
        print(f"the previous store is kept as {one_line(report.kept)}", file=sys.stdout)
    return 0


#: The library's names of what ``restore`` options set, for errors that name the option.
_OPTIONS = {"backup_file": "--from", "to": "--db"}


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them is missing: the restore itself says what is wrong
        return False
