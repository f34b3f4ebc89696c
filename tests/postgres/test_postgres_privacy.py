"""Privacy on PostgreSQL: the repository contract, no plaintext in a ``pg_dump`` of an
encrypted store, lookups and erasure, and a ``pg_dump`` / ``pg_restore`` round trip
after which the data is still encrypted and still decrypts with the host's keys."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import psycopg.conninfo
import pytest
from _pg_support import OnPostgres, drop_schema, new_schema

from custmgmt.adapters.postgres import PostgresStore
from custmgmt.cli import main
from custmgmt.datasets import make_dataset
from custmgmt.domain import Customer, CustomerKind
from custmgmt.privacy import (
    ERASED_TEXT,
    Actor,
    FieldCipher,
    FileKeyProvider,
    Privacy,
    StaticKeyProvider,
    SubjectRedaction,
    add_customers,
    erase_subject,
    find_customers,
    read_customer,
    verify_audit_log,
)
from custmgmt.privacy.ports import PrivacyRepository
from custmgmt.testing import FixedClock, PrivacyRepositoryContract
from custmgmt.testing.rating_contract import _override

BIN = Path("/usr/lib/postgresql/15/bin")
OFFICER = Actor(id="dpo-1", roles={"privacy_officer", "agent"})
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _tool(name: str) -> str:
    found = BIN / name if (BIN / name).exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")
    return str(found)


def _keys() -> StaticKeyProvider:
    return StaticKeyProvider(
        {"kek-1": secrets.token_bytes(32), "index-1": secrets.token_bytes(32)},
        current="kek-1", index="index-1",
    )


def _personal(customer: Customer) -> list[str]:
    values = [customer.phone, customer.email]
    if customer.kind is CustomerKind.PERSON:
        values.append(customer.name)
    if customer.business is not None:
        values.append(customer.business.contact_person)
    if customer.address is not None:
        values += [customer.address.street, customer.address.recipient]
    return [v for v in values if v]


class TestPostgresPrivacy(OnPostgres, PrivacyRepositoryContract):
    def make_repository(self) -> PrivacyRepository:
        schema = new_schema()
        store = PostgresStore(self.dsn, schema=schema, pool_size=2)
        self.stores = {**getattr(self, "stores", {}), id(store.privacy): (store, schema)}
        return store.privacy

    def close_repository(self, repository: PrivacyRepository) -> None:
        store, schema = self.stores.pop(id(repository))
        store.close()
        drop_schema(self.dsn, schema)

    def transaction(self, repository: PrivacyRepository) -> AbstractContextManager[None]:
        return self.stores[id(repository)][0].transaction()


def _dump(dsn: str, schema: str, target: Path, *, custom: bool) -> bytes:
    args = [_tool("pg_dump"), f"--dbname={dsn}", f"--schema={schema}", f"--file={target}"]
    subprocess.run([*args, "--format=custom" if custom else "--format=plain"],
                   check=True, capture_output=True)
    return target.read_bytes()


def test_an_encrypted_store_dumps_no_plaintext_finds_erases_and_restores(
    postgres_dsn: str, tmp_path: Path,
) -> None:
    keys = _keys()
    privacy = Privacy(cipher=FieldCipher(keys), clock=FixedClock(NOW))
    data = make_dataset(60, 300, seed=5)
    customers = data.customers()
    schema = new_schema()
    store = PostgresStore(postgres_dsn, schema=schema, pool_size=2)
    restored_db = f"restored_{schema}"
    try:
        assert "privacy" in store.capabilities
        assert isinstance(store.ratings, SubjectRedaction)
        add_customers(store, privacy, OFFICER, customers)
        store.orders.add_many(data.orders())
        with_email = next(c for c in customers[1:] if c.email)
        assert find_customers(store, privacy, OFFICER, email=with_email.email.upper()) == [
            with_email.id]
        erased = customers[0]
        secret = f"私密：{erased.id} 的星级理由"
        store.ratings.add_override(_override("ov-1", erased.id, reason=secret))

        dump = _dump(postgres_dsn, schema, tmp_path / "plain.sql", custom=False)
        assert with_email.id.encode() in dump  # the dump holds the store's rows
        for customer in customers:
            for value in _personal(customer):
                assert value.encode() not in dump, (customer.id, "personal value in dump")
        assert secret.encode() in dump  # free text is plain until erased

        erase_subject(store, privacy, OFFICER, erased.id, purpose="GDPR art. 17")
        assert store.ratings.get_override("ov-1").reason == ERASED_TEXT
        assert secret.encode() not in _dump(postgres_dsn, schema, tmp_path / "after.sql",
                                            custom=False)

        archive = tmp_path / "store.dump"
        _dump(postgres_dsn, schema, archive, custom=True)
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {restored_db}")
        restored_dsn = psycopg.conninfo.make_conninfo(postgres_dsn, dbname=restored_db)
        subprocess.run([_tool("pg_restore"), f"--dbname={restored_dsn}", "--no-owner",
                        str(archive)], check=True, capture_output=True)
        again = PostgresStore(restored_dsn, schema=schema, pool_size=2, create=False)
        try:
            # Still sealed: the restored rows are ciphertext ...
            sealed = again.privacy.get_sealed(with_email.id)
            assert with_email.email.encode() not in sealed.ciphertext
            assert again.customers.get(with_email.id).email is None
            # ... and the host's keys open them; the erased customer stays erased.
            assert read_customer(again, privacy, OFFICER, with_email.id) == with_email
            assert find_customers(again, privacy, OFFICER, email=with_email.email) == [
                with_email.id]
            assert again.privacy.erased_ids() == [erased.id]
            assert verify_audit_log(again).ok
            assert len(again.orders.for_customer(with_email.id)) == len(
                store.orders.for_customer(with_email.id))
        finally:
            again.close()
    finally:
        store.close()
        drop_schema(postgres_dsn, schema)
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {restored_db}")




def test_the_privacy_commands_accept_a_postgresql_dsn(
    postgres_dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    keyfile = tmp_path / "keys.json"
    assert main(["privacy", "keygen", "--to", str(keyfile)]) == 0
    privacy = Privacy(cipher=FieldCipher(FileKeyProvider(keyfile)), clock=FixedClock(NOW))
    customers = make_dataset(5, 10, seed=2).customers()
    with PostgresStore(postgres_dsn) as store:  # the commands' schema, custmgmt
        add_customers(store, privacy, OFFICER, customers)
    target = customers[1]
    out = tmp_path / "export.json"
    base = ["--db", postgres_dsn, "--customer", target.id, "--keys", str(keyfile),
            "--actor", "dpo-1"]
    assert main(["privacy", "export", *base, "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["customer"]["name"] == target.name
    assert main(["privacy", "erase", *base, "--purpose", "GDPR art. 17"]) == 0
    assert main(["privacy", "verify", "--db", postgres_dsn]) == 0
    printed = capsys.readouterr().out
    assert "audit log:" in printed
    assert "intact" in printed
    assert target.name not in printed
    with PostgresStore(postgres_dsn, create=False) as store:
        assert store.privacy.erased_ids() == [target.id]
        assert store.customers.get(target.id).name != target.name
