"""Writing a file the user named without ever destroying it.

One rule for every output the library or its command line writes to a path it was
given (a CSV, a report, exported charts): a link is followed and stays a link; a FIFO
or a character device is written through (replacing it would destroy it); a regular
file is replaced atomically, so readers see the old file or the whole new one, with
its mode kept (and, for root, its owner); on any failure the temporary file is removed
and an older file stays untouched.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from typing import IO, Any

__all__ = ["write_file"]


def write_file(path: str, write: Callable[[Any], object], *, binary: bool = False) -> None:
    """Call ``write`` with a stream for ``path`` (UTF-8 text, or bytes with ``binary``)
    by the module's rules.

    Raises:
        OSError: the path cannot be written (a missing folder, no permission, a full
            disk); callers name their option or field in their own error.
    """
    target = os.path.realpath(path)
    try:
        found: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        found = None
    if found is not None and not stat.S_ISREG(found.st_mode):
        with _open(target, binary) as stream:
            write(stream)
        return
    directory = os.path.dirname(target) or "."
    handle, temp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", dir=directory)
    try:
        if found is None:
            os.fchmod(handle, 0o666 & ~_umask())  # what a plain open() would have made
        else:
            os.fchmod(handle, stat.S_IMODE(found.st_mode))
            if os.geteuid() == 0 and (found.st_uid, found.st_gid) != (0, 0):
                os.fchown(handle, found.st_uid, found.st_gid)
        with (
            os.fdopen(handle, "wb")
            if binary
            else os.fdopen(handle, "w", encoding="utf-8", newline="")
        ) as stream:
            write(stream)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _open(target: str, binary: bool) -> IO[Any]:
    if binary:
        return open(target, "wb")
    return open(target, "w", encoding="utf-8", newline="")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
