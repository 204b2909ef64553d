"""Key rotation over every sealed column, resumable and idempotent, on SQLite and PostgreSQL.

Also: ciphertexts swapped between rows do not open, retiring a key still in use is
refused, and a missing key is named (S-2, S-3 in shared/reference/reliability.md §4).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from simpul import keys
from simpul.accounts import Accounts
from simpul.canonical import BuyerContact
from simpul.db import Database
from simpul.model import Credential, Order
from simpul.pii import BuyerVault
from simpul.vault import KeyRing, Vault, VaultError

CREDS = {"consumer_key": "ck_canary_0001", "consumer_secret": "cs_canary_0001"}


def _seed(db: Database, vault: Vault, accounts: int = 3, orders: int = 4) -> None:
    """Credentials, the hub secrets, and orders with sealed buyer contacts."""
    book = Accounts(db, vault, actor="test")
    for a in range(accounts):
        book.add(f"shop-{a}", "woocommerce", f"Shop {a}", "https://shop.example", {**CREDS, "consumer_key": f"ck_canary_{a}"})
    buyers = BuyerVault(vault, keys.hub_secret(db, vault, keys.PII_PEPPER))  # `accounts add` created both
    rows = []
    for a in range(accounts):
        for o in range(orders):
            contact = BuyerContact(name=f"Buyer {a}-{o}", phone=f"0812000{a}{o:04d}", email=f"b{a}{o}@example.com", street="Jl. Contoh 1")
            rows.append({"account_id": f"shop-{a}", "external_id": f"o{o}", **buyers.columns(f"shop-{a}", f"o{o}", contact)})
    with db.begin() as conn:
        for row in rows:
            conn.execute(
                sa.insert(Order.__table__).values(
                    **row, channel="woocommerce", status="open", payment_status="paid", fulfillment_status="unfulfilled", raw_status="processing",
                    created_at=sa.func.current_timestamp(), updated_at=sa.func.current_timestamp(), currency="IDR", payload_hash=row["external_id"] * 8,
                    mapping_version="t", written_at=sa.func.current_timestamp(),
                )
            )


def _open_everything(db: Database, vault: Vault) -> int:
    """Decrypt every sealed value; returns how many opened."""
    opened = 0
    with db.connect() as conn:
        for sealed in keys.SEALED:
            t = sealed.table
            for row in conn.execute(sa.select(t).where(t.c[sealed.envelope_column].is_not(None))).mappings():
                vault.open(sealed.context(row), row[sealed.envelope_column])
                opened += 1
    return opened


@pytest.fixture
def ring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KeyRing:
    monkeypatch.delenv("SIMPUL_MASTER_KEY", raising=False)
    return KeyRing.create(tmp_path / "keyring.json")


def test_rotate_rewraps_everything_and_retires_the_old_key(db: Database, ring: KeyRing) -> None:
    _seed(db, Vault(ring))
    total = _open_everything(db, Vault(ring))
    assert total == 3 + 2 + 12 and keys.key_use(db).keys() == {"k1"}

    report = keys.rotate(db, ring, retire=True)

    assert report.added == "k2" and report.active == "k2" and report.retired == ("k1",)
    assert sum(report.rewrapped.values()) == total
    after = KeyRing.load(ring.path)
    assert set(after.keys) == {"k2"} and not after.rotating
    assert _open_everything(db, Vault(after)) == total
    assert keys.key_use(db).keys() == {"k2"}
    assert Accounts(db, Vault(after)).credentials("shop-1")["consumer_key"].get_secret_value() == "ck_canary_1"


def test_a_killed_rotation_resumes_without_a_new_key(db: Database, ring: KeyRing, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(db, Vault(ring), accounts=2, orders=6)
    monkeypatch.setattr(keys, "BATCH", 4)
    batches = []

    def crash_after_two(name: str, n: int) -> None:
        batches.append((name, n))
        if len(batches) == 2:
            raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        keys.rotate(db, ring, on_batch=crash_after_two)
    half = KeyRing.load(ring.path)
    assert half.active == "k2" and half.rotating and set(half.keys) == {"k1", "k2"}
    assert keys.key_use(db).keys() == {"k1", "k2"}, "the crash left a mix of old and new"
    assert _open_everything(db, Vault(half)) == 2 + 2 + 12  # both keys still open everything

    report = keys.rotate(db, half)  # the rerun finishes the same rotation
    assert report.added is None and report.active == "k2"
    assert keys.key_use(db).keys() == {"k2"}
    again = keys.rotate(db, KeyRing.load(ring.path), retire=True)  # a new rotation, idempotent over data
    assert again.added == "k3" and again.retired == ("k1", "k2")
    assert _open_everything(db, Vault(KeyRing.load(ring.path))) == 16


def test_retiring_a_key_in_use_is_refused_with_what_needs_it(db: Database, ring: KeyRing) -> None:
    _seed(db, Vault(ring), accounts=1, orders=2)
    bigger = ring.with_new_key()
    bigger.save()
    with pytest.raises(VaultError, match=r"still in use \(k1: 2 buyer contacts, 1 credentials, 2 hub secrets\)"):
        keys.retire(db, bigger, {"k1"})
    assert set(KeyRing.load(ring.path).keys) == {"k1", "k2"}


def test_environment_ring_rotates_to_its_first_key(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = os.urandom(32), os.urandom(32)
    monkeypatch.setenv("SIMPUL_MASTER_KEY", "old:" + base64.b64encode(old).decode())
    _seed(db, Vault(KeyRing.load()), accounts=1, orders=1)
    monkeypatch.setenv("SIMPUL_MASTER_KEY", f"new:{base64.b64encode(new).decode()},old:{base64.b64encode(old).decode()}")
    ring = KeyRing.load()
    assert ring.active == "new" and ring.path is None
    report = keys.rotate(db, ring)
    assert report.added is None and keys.key_use(db).keys() == {"new"}
    monkeypatch.setenv("SIMPUL_MASTER_KEY", "new:" + base64.b64encode(new).decode())
    assert _open_everything(db, Vault(KeyRing.load())) == 1 + 2 + 1


def test_swapped_credential_ciphertexts_do_not_open(db: Database, ring: KeyRing) -> None:
    vault = Vault(ring)
    _seed(db, vault, accounts=2, orders=0)
    table = Credential.__table__
    with db.begin() as conn:
        a, b = (conn.execute(sa.select(table.c.envelope).where(table.c.account_id == f"shop-{i}")).scalar_one() for i in (0, 1))
        conn.execute(sa.update(table).where(table.c.account_id == "shop-0").values(envelope=b))
        conn.execute(sa.update(table).where(table.c.account_id == "shop-1").values(envelope=a))
    book = Accounts(db, vault)
    for account in ("shop-0", "shop-1"):
        with pytest.raises(VaultError, match=f"credential of account '{account}' does not decrypt"):
            book.credentials(account)


def test_a_missing_key_is_named_not_a_traceback(db: Database, ring: KeyRing) -> None:
    _seed(db, Vault(ring), accounts=1, orders=0)
    stranger = KeyRing(active="k9", keys={"k9": os.urandom(32)})
    with pytest.raises(VaultError, match=r"credential of account 'shop-0' needs key 'k1', which is not in the key ring"):
        Accounts(db, Vault(stranger)).credentials("shop-0")
