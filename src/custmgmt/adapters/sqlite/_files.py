"""What kind of file a path names, for refusing the ones a database must never be."""

from __future__ import annotations

import os
import stat

__all__ = ["special_file_kind"]

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
