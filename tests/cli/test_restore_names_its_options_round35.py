"""``custmgmt restore`` names its own options and refuses a store as its own backup.

Errors named the library's parameters ("backup_file: got ...", "to: got ... a path in
an existing folder"); ``restore --db S --from S --force`` "restored" the store over
itself and kept a pre-restore copy beside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import main
from custmgmt.testing import make_customer


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "shop.sqlite3"
    with SQLiteStore(path) as s:
        s.customers.add(make_customer(id="C-1"))
    return path


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_store_is_not_restored_over_itself(
    store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store.parent)
    before = _names(store.parent)
    assert main(["restore", "--db", store.name, "--from", f"./{store.name}", "--force"]) == 2
    assert capsys.readouterr().err == (
        "custmgmt: error: --from: got './shop.sqlite3', expected a backup other than the "
        "store --db\n"
    )
    assert _names(store.parent) == before


@pytest.mark.parametrize(
    ("db", "source", "expected"),
    [
        ("new.sqlite3", "missing.bak", "--from: got '{source}', expected an existing backup"),
        ("no/such/folder/new.sqlite3", "STORE",
         "--db: got '{db}', expected a path in an existing folder"),
    ],
)
def test_restore_errors_name_the_options(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, db: str, source: str, expected: str,
) -> None:
    monkeypatch.chdir(tmp_path)  # short relative paths: errors cut long values off
    db_path = db
    source_path = store.name if source == "STORE" else source
    before = _names(tmp_path)
    assert main(["restore", "--db", db_path, "--from", source_path]) == 2
    message = expected.format(db=db_path, source=source_path)
    assert capsys.readouterr().err.startswith(f"custmgmt: error: {message}")
    assert _names(tmp_path) == before
