"""Online backup, integrity check and restore of an SQLite store.

:func:`backup` copies a live database with SQLite's backup API: it reads one
consistent snapshot (every transaction committed before it began, none half), while
other connections keep writing (WAL mode lets them). The copy is written to a
temporary file beside the target, checked with ``PRAGMA integrity_check``, switched to
a self-contained rollback journal and only then renamed onto the target, so a failed
backup never leaves a half-written file, and an existing file is replaced only when
asked (``overwrite=True``), atomically.

:func:`restore` checks the backup first, refuses to replace a database that holds
data unless ``force=True``, and even then keeps the replaced file (and its WAL)
beside it as ``<name>.pre-restore-<timestamp>``: no file the user points at is ever
destroyed. Stop the writers of the target before restoring.

Encrypted stores stay encrypted: a backup is a page copy, so sealed fields stay
ciphertext and the keys stay with the host's key provider, not in the file.

>>> import tempfile, pathlib
>>> from custmgmt.adapters.sqlite import SQLiteStore
>>> from custmgmt.testing import make_customer
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with SQLiteStore(folder / "shop.sqlite3") as store:
...     store.customers.add(make_customer(id="C-1", name="王芳"))
>>> backup(folder / "shop.sqlite3", folder / "shop.bak").integrity
'ok'
>>> restore(folder / "shop.bak", folder / "copy.sqlite3").kept is None
True
>>> with SQLiteStore(folder / "copy.sqlite3", mode="existing") as copy:
...     copy.customers.get("C-1").name
'王芳'
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import tempfile
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

import attrs

from custmgmt.adapters.sqlite._files import (
    MIN_DATABASE_SIZE,
    is_foreign_file,
    special_file_kind,
)
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.errors import Conflict, StorageError, ValidationError

__all__ = ["BackupReport", "RestoreReport", "backup", "check_integrity", "restore"]

_COMPANIONS = ("-wal", "-shm", "-journal")


@attrs.frozen(kw_only=True)
class BackupReport:
    """What :func:`backup` wrote.

    Attributes:
        path: the backup file.
        pages: database pages copied.
        size: the file's size in bytes.
        integrity: ``"ok"`` (anything else raised instead).
    """

    path: Path
    pages: int
    size: int
    integrity: str


@attrs.frozen(kw_only=True)
class RestoreReport:
    """What :func:`restore` did.

    Attributes:
        path: the restored database.
        source: the backup it came from.
        kept: where the replaced database was moved (with its WAL or journal, which
            are moved even when the database file itself was gone), or None when
            there was nothing to move.
    """

    path: Path
    source: Path
    kept: Path | None


def _path(value: object, name: str) -> Path:
    if not isinstance(value, str | os.PathLike) or not os.fspath(value) or os.fspath(
        value
    ) == ":memory:":
        raise ValidationError(name, value, "a file path")
    return Path(os.fspath(value))


def _read_only_uri(path: Path) -> str:
    """A read-only SQLite URI for ``path``, percent-encoded: a raw ``#``, ``?`` or ``%``
    in a file name would otherwise end the path or be decoded, so another file (made
    empty on the spot, without ``mode=ro``) would be opened instead."""
    return f"file:{urllib.parse.quote(os.path.abspath(path))}?mode=ro"


def _file_mode(path: Path) -> int | None:
    """The permission bits of the file at ``path``, or None when there is none."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def _connection_file_mode(database: SQLiteDatabase) -> int | None:
    """The permission bits of an open store's main file (None in memory)."""
    for row in database.connection.execute("PRAGMA database_list"):
        if row[1] == "main" and row[2]:
            return _file_mode(Path(row[2]))
    return None


def _problems(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("PRAGMA integrity_check").fetchall()
    problems = [r[0] for r in rows if r[0] != "ok"]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "custmgmt_schema" not in tables:
        problems.append("not a custmgmt store (no custmgmt_schema table)")
    return problems


def check_integrity(path: str | os.PathLike[str]) -> list[str]:
    """What is wrong with the database at ``path`` (empty when it is a sound store).

    Runs ``PRAGMA integrity_check`` read-only and checks that it is a custmgmt store.

    Raises:
        ValidationError: ``path`` is not an existing file.
    """
    file = _path(path, "path")
    if not file.is_file():
        raise ValidationError("path", str(file), "an existing database file")
    try:
        conn = sqlite3.connect(_read_only_uri(file), uri=True)
        try:
            return _problems(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return [f"not an SQLite database ({exc})"]


def _copy(source: sqlite3.Connection, target: Path, mode: int | None) -> int:
    """Back ``source`` up into the new, empty file ``target``; returns the page count.

    ``target`` was made 0600 (:func:`_temporary`), so the personal data being copied
    is never readable by others meanwhile; once sound it gets ``mode`` (the
    permissions of the store it copies), never more open than the original.
    """
    dest = sqlite3.connect(target, isolation_level=None)
    try:
        source.backup(dest)  # all pages in one step: one consistent snapshot
        problems = _problems(dest)
        if problems:
            raise StorageError(f"sqlite: the copy failed its integrity check: {problems[:3]}")
        # A self-contained file: no WAL beside it to lose when it is copied around.
        dest.execute("PRAGMA journal_mode = DELETE")
        pages = int(dest.execute("PRAGMA page_count").fetchone()[0])
    finally:
        dest.close()
    if mode is not None:
        os.chmod(target, mode)
    with open(target, "rb") as fh:
        os.fsync(fh.fileno())
    return pages


def _destination(path: Path, name: str) -> Path:
    """Where a file written to ``path`` by renaming goes: a symbolic link's destination
    (the link stays, pointing at the new file), and never anything but a regular file:
    a rename replaces whatever the name points at, so ``/dev/null`` or a FIFO would be
    destroyed and a folder refused with a raw OS error."""
    real = Path(os.path.realpath(path)) if path.is_symlink() else path
    kind = special_file_kind(real)
    if kind is not None:
        raise ValidationError(name, str(path), f"a regular file (it is {kind})")
    return real


def _refuse_companion(path: Path, name: str) -> None:
    """Refuse the WAL, shared-memory file or journal of a database beside ``path``:
    written over, it takes that database's committed transactions with it."""
    for suffix in _COMPANIONS:
        if path.name.endswith(suffix) and len(path.name) > len(suffix):
            database = path.with_name(path.name[: -len(suffix)])
            if database.is_file():
                raise ValidationError(
                    name, str(path),
                    f"a file other than the {suffix[1:]} file of the database {str(database)!r}",
                )


def _temporary(beside: Path, name: str) -> Path:
    # mkstemp makes an empty file of mode 0600: SQLite writes a new database into it,
    # and nobody else can read the copy while it is made.
    try:
        fd, made = tempfile.mkstemp(
            prefix=f".{beside.name}.", suffix=".partial", dir=beside.parent
        )
    except OSError as exc:
        raise ValidationError(
            name, str(beside), f"a path in a writable folder ({exc.strerror or exc})"
        ) from None
    os.close(fd)
    return Path(made)


def _replace_without_companions(partial: Path, target: Path) -> None:
    """Rename ``partial`` onto ``target``, and take away the WAL, shared memory and
    journal of the file it replaces: SQLite would replay that old WAL (or roll back
    that journal) onto the new file when it is opened, mixing the two databases.
    They are moved aside first and deleted only once the new file is in place."""
    aside: list[tuple[str, str]] = []
    try:
        for suffix in _COMPANIONS:
            if os.path.lexists(f"{target}{suffix}"):
                os.replace(f"{target}{suffix}", f"{partial}.replaced{suffix}")
                aside.append((f"{target}{suffix}", f"{partial}.replaced{suffix}"))
        os.replace(partial, target)
    except BaseException:
        for original, moved in aside:  # the old file stays whole, WAL and all
            with contextlib.suppress(OSError):
                os.replace(moved, original)
        raise
    for _, moved in aside:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(moved)


def _discard(path: Path) -> None:
    for suffix in ("", *_COMPANIONS):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


def backup(
    source: str | os.PathLike[str] | SQLiteDatabase,
    to: str | os.PathLike[str],
    *,
    overwrite: bool = False,
) -> BackupReport:
    """Copy a live store to ``to`` (see the module docstring).

    Args:
        source: the database file, or an open store (an in-memory one included: its
            own connection is used, under its lock).
        to: the backup file to write.
        overwrite: replace an existing ``to`` (atomically, once the copy is sound).

    Raises:
        ValidationError: a bad argument, or ``to`` exists and ``overwrite`` is False
            (nothing is written), or ``to`` is the source itself or the WAL,
            shared-memory file or journal of a database beside it.
        StorageError: the source cannot be read, the copy is unsound or cannot be
            written (a full disk), or ``source`` is a store whose transaction this
            thread has open; the target is left as it was.
    """
    target = _destination(_path(to, "to"), "to")
    _refuse_companion(target, "to")
    if target.exists() and not overwrite:
        raise ValidationError(
            "to", str(target), "a file that does not exist (or overwrite=True, --force)"
        )
    if not target.parent.is_dir():
        raise ValidationError("to", str(target), "a path in an existing folder")
    if not isinstance(source, SQLiteDatabase):
        origin = _path(source, "source")
        if not origin.is_file():
            raise ValidationError("source", str(origin), "an existing database file")
        size = origin.stat().st_size
        if size == 0 or is_foreign_file(origin):
            # SQLite reads such a file as an empty database: the copy then failed its
            # check as "not a custmgmt store", without naming the source.
            raise ValidationError("source", str(origin), f"an SQLite database (a {size}-byte "
                                  "file is smaller than the smallest one, "
                                  f"{MIN_DATABASE_SIZE} bytes)")
        if target.exists() and origin.resolve() == target.resolve():
            raise ValidationError("to", str(target), "a file other than the source")
    partial = _temporary(target, "to")
    try:
        if isinstance(source, SQLiteDatabase):
            with source.lock:
                # Under the lock, an open transaction is this thread's own: SQLite
                # answers every backup step with SQLITE_LOCKED then, and Python's
                # backup retries forever.
                if source.connection.in_transaction:
                    raise StorageError(
                        "sqlite: cannot back up a store from inside its own open "
                        "transaction; back it up once the transaction has ended"
                    )
                pages = _copy(source.connection, partial, _connection_file_mode(source))
        else:
            conn = sqlite3.connect(_read_only_uri(origin), uri=True, timeout=30.0)
            try:
                pages = _copy(conn, partial, _file_mode(origin))
            finally:
                conn.close()
        _replace_without_companions(partial, target)
    except sqlite3.Error as exc:
        _discard(partial)
        # The source is named too: "file is not a database" is about it, not the target.
        named = "" if isinstance(source, SQLiteDatabase) else f"{str(source)!r} "
        raise StorageError(f"sqlite: backing up {named}to {str(target)!r} failed: {exc}"
                           ) from exc
    except OSError as exc:  # a full disk, a folder that refuses the rename
        _discard(partial)
        raise StorageError(
            f"backing up to {str(target)!r} failed: {exc.strerror or exc}"
        ) from exc
    except BaseException:
        _discard(partial)
        raise
    return BackupReport(path=target, pages=pages, size=target.stat().st_size, integrity="ok")


def _holds_data(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    if is_foreign_file(path):
        return True  # SQLite would read a one-byte file as an empty database
    try:
        conn = sqlite3.connect(_read_only_uri(path), uri=True)
        try:
            tables = [
                r[0] for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table'"
                    " AND name NOT LIKE 'sqlite_%' AND name != 'custmgmt_schema'"
                )
            ]
            return any(
                conn.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone() for t in tables
            )
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return True  # not a database we can read: certainly not ours to replace silently


def restore(
    backup_file: str | os.PathLike[str],
    to: str | os.PathLike[str],
    *,
    force: bool = False,
) -> RestoreReport:
    """Restore ``backup_file`` as the database ``to`` (see the module docstring).

    Raises:
        ValidationError: a bad argument, the backup is missing, or ``to`` is the
            WAL, shared-memory file or journal of a database beside it.
        StorageError: the backup fails its integrity check, or the restored file
            cannot be written or renamed into place (nothing changes).
        Conflict: ``to`` holds data and ``force`` is False (nothing changes).
    """
    source = _path(backup_file, "backup_file")
    target = _destination(_path(to, "to"), "to")
    _refuse_companion(target, "to")
    if not source.is_file():
        raise ValidationError("backup_file", str(source), "an existing backup file")
    if not target.parent.is_dir():
        raise ValidationError("to", str(target), "a path in an existing folder")
    problems = check_integrity(source)
    if problems:
        raise StorageError(f"sqlite: {str(source)!r} is not a sound backup: {problems[:3]}")
    if _holds_data(target) and not force:
        raise Conflict(
            "database", str(target),
            "it holds data; restore with force=True (--force) to replace it "
            "(the old file is kept beside it)",
        )
    partial = _temporary(target, "to")
    try:
        conn = sqlite3.connect(_read_only_uri(source), uri=True)
        try:
            # The restored store is no more open than the one it replaces (or the
            # backup, when there is none).
            replaced = _file_mode(target)
            _copy(conn, partial, _file_mode(source) if replaced is None else replaced)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        _discard(partial)
        raise StorageError(f"sqlite: restoring {str(source)!r} failed: {exc}") from exc
    except OSError as exc:
        _discard(partial)
        raise StorageError(f"restoring {str(source)!r} failed: {exc.strerror or exc}") from exc
    except BaseException:
        _discard(partial)
        raise
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    stem = target.with_name(f"{target.name}.pre-restore-{stamp}")
    moved: list[tuple[str, str]] = []
    try:
        # The old WAL belongs with the old file: moved with it, never applied to the
        # restored one. That holds for a WAL left behind by a database file that was
        # deleted too: SQLite would replay it onto the restored file on opening.
        for suffix in ("", *_COMPANIONS):
            if os.path.lexists(f"{target}{suffix}"):
                os.replace(f"{target}{suffix}", f"{stem}{suffix}")
                moved.append((f"{target}{suffix}", f"{stem}{suffix}"))
        os.replace(partial, target)
    except OSError as exc:
        for original, kept in moved:  # put the old store back as it was
            with contextlib.suppress(OSError):
                os.replace(kept, original)
        _discard(partial)
        raise StorageError(f"restoring {str(source)!r} failed: {exc.strerror or exc}") from exc
    return RestoreReport(path=target, source=source, kept=stem if moved else None)
