"""Files a stranger points the privacy commands at: odd names, missing folders, modes.

Backups, restored stores, exports and key files hold personal data or secrets: none
may be more readable than the store it came from, none may be made world-readable
even for a moment, and a file name with ``#``, ``?`` or ``%`` must name that file.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.adapters.sqlite.backup import backup, check_integrity, restore
from custmgmt.cli import main
from custmgmt.errors import StorageError, ValidationError
from custmgmt.privacy import FileKeyProvider, write_key_file
from custmgmt.testing import make_customer


def _store(path: Path, name: str = "王芳") -> Path:
    with SQLiteStore(path) as store:
        store.customers.add(make_customer(id="C-1", name=name))
    return path


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(("-wal", "-shm")))


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("name", ["shop#1.sqlite3", "shop?x.sqlite3", "50%41.sqlite3"])
def test_a_file_name_with_uri_characters_is_backed_up_and_restored_itself(
    tmp_path: Path, name: str
) -> None:
    source = _store(tmp_path / name)
    # A decoy with the name a raw URI would decode "50%41" to: it must not be copied.
    _store(tmp_path / "50A.sqlite3", name="别人")
    before = _names(tmp_path)
    assert check_integrity(source) == []
    backup(source, tmp_path / "copy.bak")
    restore(tmp_path / "copy.bak", tmp_path / "back.sqlite3")
    with SQLiteStore(tmp_path / "back.sqlite3", mode="existing") as copy:
        assert copy.customers.get("C-1").name == "王芳"
    after = _names(tmp_path)
    assert after == sorted([*before, "copy.bak", "back.sqlite3"])  # no stray empty file


def test_a_backup_is_no_more_readable_than_the_store(tmp_path: Path) -> None:
    source = _store(tmp_path / "private.sqlite3")
    os.chmod(source, 0o600)
    old = os.umask(0)
    try:
        backup(source, tmp_path / "private.bak")
        with SQLiteStore(source, mode="existing") as open_store:
            backup(open_store, tmp_path / "from-open.bak")
        restore(tmp_path / "private.bak", tmp_path / "restored.sqlite3")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "private.bak") == 0o600
    assert _mode(tmp_path / "from-open.bak") == 0o600
    assert _mode(tmp_path / "restored.sqlite3") == 0o600


def test_a_restore_keeps_the_permissions_of_the_store_it_replaces(tmp_path: Path) -> None:
    backup(_store(tmp_path / "a.sqlite3"), tmp_path / "a.bak")
    target = _store(tmp_path / "live.sqlite3", name="李雷")
    os.chmod(target, 0o640)
    restore(tmp_path / "a.bak", target, force=True)
    assert _mode(target) == 0o640


def test_a_key_file_in_a_missing_folder_is_a_validation_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="existing"):
        write_key_file(tmp_path / "missing" / "keys.json")
    assert not (tmp_path / "missing").exists()


def _no_chmod(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make a later ``chmod`` do nothing: what is left is the mode the file was
    created with, which is what others could read while it was being written."""
    monkeypatch.setattr(os, "chmod", lambda *args, **kwargs: None)


def test_a_key_file_is_never_readable_by_others_whatever_the_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_chmod(monkeypatch)
    old = os.umask(0)
    try:
        write_key_file(tmp_path / "keys.json")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "keys.json") == 0o600


def test_keygen_into_a_missing_folder_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["privacy", "keygen", "--to", str(tmp_path / "no" / "keys.json")]) == 2
    assert "custmgmt: error: --to:" in capsys.readouterr().err


def test_export_into_a_missing_folder_is_refused_before_anything_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _store(tmp_path / "shop.sqlite3")
    out = tmp_path / "no" / "c1.json"
    code = main(["privacy", "export", "--db", str(db), "--customer", "C-1",
                 "--actor", "dpo", "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "custmgmt: error: --out" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_an_export_is_never_readable_by_others_whatever_the_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _store(tmp_path / "shop.sqlite3")
    out = tmp_path / "c1.json"
    _no_chmod(monkeypatch)
    old = os.umask(0)
    try:
        code = main(["privacy", "export", "--db", str(db), "--customer", "C-1",
                     "--actor", "dpo", "--out", str(out)])
    finally:
        os.umask(old)
    assert code == 0
    assert _mode(out) == 0o600
    assert "王芳" in out.read_text(encoding="utf-8")


_LEAVE_A_WAL = """
import os, sys
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.testing import make_customer
store = SQLiteStore(sys.argv[1])
store.customers.add_many(make_customer(id=f"OLD-{i}", name="旧数据") for i in range(500))
os._exit(0)  # killed: the commits stay in the WAL, never checkpointed into the file
"""


def _leave_a_wal(path: Path) -> None:
    subprocess.run([sys.executable, "-c", _LEAVE_A_WAL, str(path)], check=True)
    assert Path(f"{path}-wal").stat().st_size > 0


def _ids(path: Path) -> set[str]:
    with SQLiteStore(path, mode="existing") as store:
        return {c.id for chunk in store.customers.iter_chunks() for c in chunk}


def test_a_wal_left_by_a_deleted_database_is_not_replayed_onto_the_restored_one(
    tmp_path: Path,
) -> None:
    backup(_store(tmp_path / "shop.sqlite3"), tmp_path / "shop.bak")
    live = tmp_path / "live.sqlite3"
    _leave_a_wal(live)
    live.unlink()  # the user deletes the database file; its WAL stays behind
    report = restore(tmp_path / "shop.bak", live)
    assert _ids(live) == {"C-1"}  # the backup, not the deleted store's WAL
    assert report.kept is not None
    assert Path(f"{report.kept}-wal").stat().st_size > 0  # kept, not destroyed


def test_a_backup_written_over_a_file_with_a_wal_is_the_backup_alone(tmp_path: Path) -> None:
    source = _store(tmp_path / "shop.sqlite3")
    old = tmp_path / "old.bak"
    _leave_a_wal(old)
    backup(source, old, overwrite=True)
    assert not Path(f"{old}-wal").exists()
    assert _ids(old) == {"C-1"}
    assert check_integrity(old) == []


def test_a_restore_that_cannot_rename_leaves_the_old_store_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup(_store(tmp_path / "a.sqlite3"), tmp_path / "a.bak")
    target = _store(tmp_path / "live.sqlite3", name="李雷")
    real = os.replace

    def refuse_the_last_rename(src: Any, dst: Any) -> None:
        if str(src).endswith(".partial"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(os, "replace", refuse_the_last_rename)
    with pytest.raises(StorageError, match="No space left"):
        restore(tmp_path / "a.bak", target, force=True)
    monkeypatch.undo()
    with SQLiteStore(target, mode="existing") as store:
        assert store.customers.get("C-1").name == "李雷"
    assert sorted(p.name for p in tmp_path.iterdir() if "pre-restore" in p.name) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_a_backup_that_cannot_be_written_is_a_storage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _store(tmp_path / "a.sqlite3")

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StorageError, match="No space left"):
        backup(source, tmp_path / "a.bak")
    monkeypatch.undo()
    assert not (tmp_path / "a.bak").exists()
    assert [p.name for p in tmp_path.iterdir() if ".partial" in p.name] == []


def test_a_folder_that_refuses_new_files_is_a_validation_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _store(tmp_path / "a.sqlite3")

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(ValidationError, match="writable folder"):
        backup(source, tmp_path / "a.bak")
    with pytest.raises(ValidationError, match="writable folder"):
        restore(source, tmp_path / "b.sqlite3")


def _within(seconds: float, call: Callable[[], object]) -> object:
    """``call()``'s result or the exception it raised, failing the test when it is
    still blocked after ``seconds`` (a daemon thread keeps a hang from hanging the run)."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "blocked (reading a FIFO without a writer?)"
    return outcome[0]


def test_a_fifo_as_the_key_file_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "keys.fifo"
    os.mkfifo(fifo)
    raised = _within(10, lambda: FileKeyProvider(fifo))
    assert isinstance(raised, ValidationError)
    assert "a regular file" in str(raised)


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"\xff\xfe\xfa", "JSON"), (b"{" * (2 << 20), "at most")],
)
def test_a_key_file_of_junk_is_a_validation_error(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    junk = tmp_path / "keys.json"
    junk.write_bytes(content)
    with pytest.raises(ValidationError, match=expected):
        FileKeyProvider(junk)


def test_export_with_a_fifo_as_keys_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _store(tmp_path / "shop.sqlite3")
    fifo = tmp_path / "keys.fifo"
    os.mkfifo(fifo)
    code = _within(10, lambda: main([
        "privacy", "export", "--db", str(db), "--customer", "C-1", "--actor", "dpo",
        "--keys", str(fifo), "--out", str(tmp_path / "c1.json"),
    ]))
    assert code == 2
    assert "a regular file" in capsys.readouterr().err


def test_backing_up_a_store_inside_its_own_transaction_is_refused_not_a_hang(
    tmp_path: Path,
) -> None:
    def back_up_inside_a_transaction(store: SQLiteStore) -> object:
        try:
            with store.transaction():
                store.customers.add(make_customer(id="HALF"))
                # SQLite answers SQLITE_LOCKED forever here; the backup used to spin.
                return backup(store, tmp_path / "shop.bak")
        except StorageError as exc:
            return exc

    store = SQLiteStore(tmp_path / "shop.sqlite3")
    store.customers.add(make_customer(id="C-1"))
    # The transaction and the backup run in one thread, as a caller would have it (a
    # hung thread keeps the store's lock: the store is closed only when it did not hang).
    raised = _within(10, lambda: back_up_inside_a_transaction(store))
    try:
        assert isinstance(raised, StorageError)
        assert "transaction" in str(raised)
        assert not (tmp_path / "shop.bak").exists()
        assert [p.name for p in tmp_path.iterdir() if ".partial" in p.name] == []
        backup(store, tmp_path / "shop.bak")  # after the transaction: fine
    finally:
        store.close()
    assert _ids(tmp_path / "shop.bak") == {"C-1"}


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
def test_a_store_s_own_wal_is_never_a_backup_or_restore_target(
    tmp_path: Path, suffix: str
) -> None:
    live = tmp_path / "live.sqlite3"
    _leave_a_wal(live)  # 500 customers committed, still in the WAL
    companion = Path(f"{live}{suffix}")
    companion.touch()
    backup(live, tmp_path / "a.bak")
    before = companion.stat().st_ino
    with pytest.raises(ValidationError, match="file of the database"):
        backup(live, companion, overwrite=True)
    with pytest.raises(ValidationError, match="file of the database"):
        restore(tmp_path / "a.bak", companion, force=True)
    assert companion.stat().st_ino == before  # not renamed over, not moved away
    assert len(_ids(live)) == 500
