"""What kind of file a path names, for refusing the ones a database must never be."""

from __future__ import annotations

import os
import stat

__all__ = ["MIN_DATABASE_SIZE", "is_foreign_file", "special_file_kind"]

#: The smallest SQLite database file: one page of the smallest page size.
MIN_DATABASE_SIZE = 512

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def special_file_kind(path: str | os.PathLike[str]) -> str | None:
    """``"a folder"``, ``"a character device"``, ... for what ``path`` (a link followed)
    names when it is not a regular file; None for a regular file or nothing at all.

    SQLite writes a journal beside a database and a backup is renamed over its
    target: on ``/dev/null`` the first leaves ``/dev/null-journal`` behind and the
    second replaces the device, so such paths are refused before anything is done.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:  # nothing there, or unreadable: the caller's own open says why
        return None
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return None


def is_foreign_file(path: str | os.PathLike[str]) -> bool:
    """Whether the file at ``path`` holds data yet cannot be a database: fewer bytes
    than the smallest SQLite database (one page of :data:`MIN_DATABASE_SIZE` bytes);
    False for an empty or missing file, a larger one (SQLite itself refuses one
    without its header, untouched) or a file that cannot be read (the caller's own
    open says why).

    SQLite takes a one-byte file for an empty database and writes a new one over it,
    so such files are refused before SQLite opens them.
    """
    try:
        size = os.stat(path).st_size
    except OSError:
        return False
    return 0 < size < MIN_DATABASE_SIZE
