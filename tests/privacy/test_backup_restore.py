"""Online backup while writers write, integrity checks, restore that destroys nothing."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.adapters.sqlite.backup import backup, check_integrity, restore
from custmgmt.errors import Conflict, StorageError, ValidationError
from custmgmt.testing import make_customer


def _writer(path: Path, stop: threading.Event, committed: list[str]) -> None:
    store = SQLiteStore(path, mode="existing")
    try:
        i = 0
        while not stop.is_set():
            cid = f"W-{i:06d}"
            store.customers.add(make_customer(id=cid, name=f"并发写入{i}"))
            committed.append(cid)  # appended only after the commit returned
            i += 1
    finally:
        store.close()


@pytest.mark.parametrize("from_open_store", [False, True])
def test_a_backup_during_writes_holds_every_earlier_commit_and_passes_the_check(
    tmp_path: Path, from_open_store: bool
) -> None:
    path = tmp_path / "live.db"
    with SQLiteStore(path) as store:
        store.customers.add_many(
            make_customer(id=f"C-{i:04d}", name=f"客户{i}") for i in range(2000)
        )
    committed: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(target=_writer, args=(path, stop, committed))
    thread.start()
    try:
        while len(committed) < 50:
            time.sleep(0.005)
        before = list(committed)
        if from_open_store:
            with SQLiteStore(path, mode="existing") as source:
                report = backup(source, tmp_path / "live.bak")
        else:
            report = backup(path, tmp_path / "live.bak")
        while len(committed) < len(before) + 20:
            time.sleep(0.005)  # the writer kept going during and after the backup
    finally:
        stop.set()
        thread.join()
    assert report.integrity == "ok"
    assert report.pages > 0
    assert check_integrity(tmp_path / "live.bak") == []
    assert not Path(f"{tmp_path / 'live.bak'}-wal").exists()
    restored = tmp_path / "restored.db"
    restore(tmp_path / "live.bak", restored)
    conn = sqlite3.connect(restored)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    with SQLiteStore(restored, mode="existing") as copy:
        for cid in before:
            assert copy.customers.get(cid).name.startswith("并发写入")
        assert copy.customers.get("C-1999").name == "客户1999"
        assert copy.customers.count() < 2000 + len(committed)


def test_restore_refuses_a_store_with_data_without_force_and_changes_nothing(
    tmp_path: Path,
) -> None:
    with SQLiteStore(tmp_path / "a.db") as a:
        a.customers.add(make_customer(id="A-1", name="张三"))
    with SQLiteStore(tmp_path / "b.db") as b:
        b.customers.add(make_customer(id="B-1", name="李四"))
    backup(tmp_path / "a.db", tmp_path / "a.bak")
    before = (tmp_path / "b.db").read_bytes()
    with pytest.raises(Conflict, match="force"):
        restore(tmp_path / "a.bak", tmp_path / "b.db")
    assert (tmp_path / "b.db").read_bytes() == before
    report = restore(tmp_path / "a.bak", tmp_path / "b.db", force=True)
    assert report.kept is not None
    assert report.kept.exists()
    with SQLiteStore(report.kept, mode="existing") as kept:
        assert kept.customers.get("B-1").name == "李四"  # the replaced store survives
    with SQLiteStore(tmp_path / "b.db", mode="existing") as b:
        assert b.customers.get("A-1").name == "张三"
        assert b.customers.count() == 1


def test_a_backup_never_overwrites_a_file_unless_asked(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "a.db") as a:
        a.customers.add(make_customer(id="A-1", name="张三"))
    (tmp_path / "precious.txt").write_text("我的论文", encoding="utf-8")
    with pytest.raises(ValidationError, match="overwrite"):
        backup(tmp_path / "a.db", tmp_path / "precious.txt")
    assert (tmp_path / "precious.txt").read_text(encoding="utf-8") == "我的论文"
    with pytest.raises(ValidationError):
        backup(tmp_path / "a.db", tmp_path / "a.db", overwrite=True)
    with pytest.raises(ValidationError):
        backup(tmp_path / "missing.db", tmp_path / "x.bak")
    with pytest.raises(ValidationError):
        backup(tmp_path / "a.db", tmp_path / "no" / "such" / "folder.bak")
    backup(tmp_path / "a.db", tmp_path / "precious.txt", overwrite=True)
    assert check_integrity(tmp_path / "precious.txt") == []
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_an_unsound_backup_is_never_restored(tmp_path: Path) -> None:
    (tmp_path / "junk.bak").write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    (tmp_path / "text.bak").write_text("not a database")
    with SQLiteStore(tmp_path / "target.db") as t:
        t.customers.add(make_customer(id="T-1", name="王五"))
    before = (tmp_path / "target.db").read_bytes()
    for bad in ("junk.bak", "text.bak"):
        assert check_integrity(tmp_path / bad) != []
        with pytest.raises(StorageError):
            restore(tmp_path / bad, tmp_path / "target.db", force=True)
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE t (x)")
    other.close()
    assert "not a custmgmt store" in check_integrity(tmp_path / "other.db")[0]
    with pytest.raises(StorageError):
        restore(tmp_path / "other.db", tmp_path / "target.db", force=True)
    assert (tmp_path / "target.db").read_bytes() == before
    with pytest.raises(ValidationError):
        restore(tmp_path / "absent.bak", tmp_path / "target.db")


def test_an_in_memory_store_can_be_backed_up(tmp_path: Path) -> None:
    with SQLiteStore(":memory:") as store:
        store.customers.add(make_customer(id="M-1", name="欧阳修"))
        backup(store, tmp_path / "memory.bak")
    restore(tmp_path / "memory.bak", tmp_path / "from-memory.db")
    with SQLiteStore(tmp_path / "from-memory.db", mode="existing") as copy:
        assert copy.customers.get("M-1").name == "欧阳修"


def test_a_fifo_or_a_folder_is_never_replaced_by_a_backup_or_a_restore(tmp_path: Path) -> None:
    # Regression: `custmgmt backup --to /dev/null --force` renamed the backup over the
    # device (and `restore --db /dev/null` did so without --force). A FIFO takes the same
    # path through the code as a device and is safe to try.
    with SQLiteStore(tmp_path / "a.db") as a:
        a.customers.add(make_customer(id="A-1", name="张三"))
    backup(tmp_path / "a.db", tmp_path / "a.bak")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "folder").mkdir()
    for target, kind in ((fifo, "a FIFO"), (tmp_path / "folder", "a folder")):
        with pytest.raises(ValidationError, match=f"^to: got .*a regular file \\(it is {kind}\\)"):
            backup(tmp_path / "a.db", target, overwrite=True)
        with pytest.raises(ValidationError, match=f"it is {kind}"):
            restore(tmp_path / "a.bak", target, force=True)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert list((tmp_path / "folder").iterdir()) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no partials


def test_through_a_symbolic_link_the_file_it_points_at_is_replaced(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "a.db") as a:
        a.customers.add(make_customer(id="A-1", name="张三"))
    (tmp_path / "backups").mkdir()
    (tmp_path / "backups" / "latest.bak").write_text("an older backup")
    (tmp_path / "latest").symlink_to(tmp_path / "backups" / "latest.bak")
    report = backup(tmp_path / "a.db", tmp_path / "latest", overwrite=True)
    assert (tmp_path / "latest").is_symlink()  # the link is kept, its file replaced
    assert report.path == tmp_path / "backups" / "latest.bak"
    assert check_integrity(tmp_path / "latest") == []
    with SQLiteStore(tmp_path / "b.db") as b:
        b.customers.add(make_customer(id="B-1", name="李四"))
    (tmp_path / "live").symlink_to(tmp_path / "b.db")
    restored = restore(tmp_path / "latest", tmp_path / "live", force=True)
    assert (tmp_path / "live").is_symlink()
    assert restored.kept is not None
    assert restored.kept.parent == tmp_path
    with SQLiteStore(tmp_path / "live", mode="existing") as live:
        assert live.customers.get("A-1").name == "张三"
