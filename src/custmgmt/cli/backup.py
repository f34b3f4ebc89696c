"""``custmgmt backup``: copy a live SQLite store to a file, checked, atomically.

Uses SQLite's online backup API, so writers may keep writing; the copy holds every
transaction committed before it began, passes ``PRAGMA integrity_check`` and is a
single self-contained file. An existing ``--to`` file is replaced only with
``--force`` (and then atomically, once the copy is sound). An encrypted store's
backup stays encrypted.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from custmgmt._text import one_line
from custmgmt.adapters.sqlite.backup import backup
from custmgmt.cli._inputs import check_db_path, options_named

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``backup`` command."""
    parser = subparsers.add_parser(
        "backup",
        help="back a store up to a file while it is in use (checked, atomic)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--db", required=True, metavar="PATH", help="the store to back up")
    parser.add_argument("--to", required=True, metavar="FILE", help="the backup file to write")
    parser.add_argument(
        "--force", action="store_true", help="replace FILE if it exists (never the store itself)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Back ``--db`` up to ``--to``; prints what was written."""

    check_db_path(args.db)
    with options_named(_OPTIONS):
        report = backup(args.db, args.to, overwrite=args.force)
    print(
        f"backed up {one_line(args.db)} to {one_line(report.path)}: {report.pages:,} pages, "
        f"{report.size:,} bytes, integrity {report.integrity}",
        file=sys.stdout,
    )
    return 0


#: The library's names of what ``backup`` options set, for errors that name the option.
_OPTIONS = {"source": "--db", "to": "--to"}
