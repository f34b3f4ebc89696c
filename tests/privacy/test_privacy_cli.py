"""The backup, restore and privacy commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import main
from custmgmt.privacy import Actor, FieldCipher, FileKeyProvider, Privacy, add_customer
from custmgmt.testing import make_customer


@pytest.fixture
def shop(tmp_path: Path) -> tuple[Path, Path]:
    keys = tmp_path / "keys.json"
    assert main(["privacy", "keygen", "--to", str(keys)]) == 0
    db = tmp_path / "shop.db"
    privacy = Privacy(cipher=FieldCipher(FileKeyProvider(keys)))
    with SQLiteStore(db) as store:
        add_customer(store, privacy, Actor(id="loader", roles={"agent"}),
                     make_customer(id="C-1", name="诸葛亮", phone="13912345678",
                                   email="kongming@example.cn"))
    return db, keys


def test_backup_then_restore_round_trips_and_keeps_the_replaced_store(
    shop: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, _keys = shop
    bak = tmp_path / "shop.bak"
    assert main(["backup", "--db", str(db), "--to", str(bak)]) == 0
    assert main(["backup", "--db", str(db), "--to", str(bak)]) == 2
    assert "--force" in capsys.readouterr().err
    assert "诸葛亮".encode() not in bak.read_bytes()
    assert main(["restore", "--db", str(db), "--from", str(bak)]) == 2
    assert main(["restore", "--db", str(db), "--from", str(bak), "--force"]) == 0
    out = capsys.readouterr().out
    assert "kept as" in out
    assert len(list(tmp_path.glob("shop.db.pre-restore-*"))) >= 1


def test_export_erase_and_verify_from_the_command_line(
    shop: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, keys = shop
    out = tmp_path / "export.json"
    args = ["--db", str(db), "--customer", "C-1", "--keys", str(keys), "--actor", "dpo"]
    assert main(["privacy", "export", *args, "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["customer"]["name"] == "诸葛亮"
    assert main(["privacy", "export", *args, "--out", str(out)]) == 2  # never overwritten
    assert main(["privacy", "erase", *args, "--role", "analyst"]) == 2
    assert "may not erase_subject" in capsys.readouterr().err
    assert main(["privacy", "erase", *args, "--purpose", "删除请求"]) == 0
    printed = capsys.readouterr().out
    assert "诸葛亮" not in printed
    assert "13912345678" not in printed
    assert main(["privacy", "verify", "--db", str(db)]) == 0
    assert "intact" in capsys.readouterr().out
    assert main(["privacy", "verify", "--db", str(db), "--head", "0" * 64]) == 1
    assert main(["privacy", "erase", *args[:2], "--customer", "nobody"]) == 2


def test_a_sealed_customer_without_keys_names_the_keys_option(
    shop: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # It named the library's 'privacy.cipher' argument, which the command line lacks.
    db, _keys = shop
    out = tmp_path / "export.json"
    args = ["--db", str(db), "--customer", "C-1", "--actor", "dpo"]
    assert main(["privacy", "export", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("custmgmt: error: --keys: ")
    assert "'C-1' is stored encrypted" in err
    assert "privacy.cipher" not in err
    assert not out.exists()


def test_an_erasure_with_another_key_file_names_the_keys_option_and_changes_nothing(
    shop: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, _keys = shop
    other = tmp_path / "other-keys.json"
    assert main(["privacy", "keygen", "--to", str(other)]) == 0
    before = db.read_bytes()
    args = ["--db", str(db), "--customer", "C-1", "--keys", str(other), "--actor", "dpo"]
    assert main(["privacy", "erase", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("custmgmt: error: --keys: ")
    assert "does not match" in err
    assert err.count("\n") == 1
    assert db.read_bytes() == before
