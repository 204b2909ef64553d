"""Buyer data: sealed or not stored, matched by keyed tokens, purged after retention (P-1..P-4)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from connectors._sandbox import SandboxServer
from connectors.woocommerce.sandbox import WooCommerceSandbox
from simpul import audit, pii
from simpul.engine import SyncRequest
from simpul.model import Order, RawPayload
from simpul.runtime import Hub
from tests.oracle import database_text


@pytest.mark.parametrize("written", ["0812-3456-7890", "+62 812 3456 7890", "6281234567890", "(0812) 34567890", "0062 81234567890"])
def test_phone_numbers_normalise_to_one_e164_form(written: str) -> None:
    assert pii.normalise_phone(written) == "+6281234567890"


def test_match_tokens_are_keyed_and_masked_values_get_none() -> None:
    pepper, other = os.urandom(32), os.urandom(32)
    token = pii.match_token(pepper, "phone", "+6281234567890")
    assert token == pii.match_token(pepper, "phone", pii.normalise_phone("0812-3456-7890"))
    assert token != pii.match_token(other, "phone", "+6281234567890"), "a different pepper gives a different token"
    import hashlib

    assert token != hashlib.sha256(b"+6281234567890").hexdigest(), "never a plain hash"
    assert pii.normalise_phone("******89") is None and pii.normalise_email("b***@example.com") is None
    assert pii.normalise_email("  Budi.Contoh@Example.COM ") == "budi.contoh@example.com"


@pytest.fixture
def shop() -> Iterator[SandboxServer]:
    app = WooCommerceSandbox(orders=60, seed=5)
    with SandboxServer(app, seed=5) as server:
        yield server


def _synced(hub: Hub, server: SandboxServer) -> None:
    hub.accounts.add("toko-w", "woocommerce", "Toko W", server.url, server.app.demo_credentials(), history_days=60)
    assert hub.engine.run(SyncRequest("toko-w")).status == "completed"


def test_buyer_contact_is_sealed_and_matchable_never_plain(hub: Hub, shop: SandboxServer) -> None:
    _synced(hub, shop)
    raws = shop.app.dump_orders()
    text = database_text(hub.db)
    for raw in raws:
        billing = raw["billing"]
        for value in (billing["phone"], billing["email"], billing["address_1"], f"{billing['first_name']} {billing['last_name']}"):
            assert value not in text, "buyer data stored in plain text"
        assert pii.normalise_phone(billing["phone"]) not in text
    raw = raws[0]
    with hub.db.connect() as conn:
        row = conn.execute(sa.select(Order.__table__).where(Order.__table__.c.external_id == str(raw["id"]))).mappings().one()
    assert row["buyer_phone_token"] == hub.engine.buyers.phone_token(raw["billing"]["phone"].replace("-", " "))
    contact = hub.engine.buyers.reveal("toko-w", row["external_id"], row["buyer_contact"])
    assert (contact.phone, contact.email) == (raw["billing"]["phone"], raw["billing"]["email"])
    assert "Contoh" not in repr(contact)
    with hub.db.connect() as conn:  # the same buyer's orders are found by token
        same = conn.execute(sa.select(sa.func.count()).select_from(Order.__table__).where(Order.__table__.c.buyer_phone_token == row["buyer_phone_token"])).scalar_one()
    assert same == sum(1 for r in raws if r["billing"]["phone"] == raw["billing"]["phone"])


def test_a_sealed_contact_does_not_open_on_another_order(hub: Hub, shop: SandboxServer) -> None:
    _synced(hub, shop)
    with hub.db.connect() as conn:
        a, b = conn.execute(sa.select(Order.__table__.c.external_id, Order.__table__.c.buyer_contact).limit(2)).all()
    from simpul.vault import VaultError

    with pytest.raises(VaultError, match=f"buyer data of order '{b[0]}' .* does not decrypt"):
        hub.engine.buyers.reveal("toko-w", b[0], a[1])


def test_purge_removes_buyer_data_of_old_finished_orders_once_and_audits_it(hub: Hub, shop: SandboxServer) -> None:
    _synced(hub, shop)
    orders = Order.__table__
    with hub.db.connect() as conn:
        finished = {r[0] for r in conn.execute(sa.select(orders.c.external_id).where(orders.c.status.in_(pii.FINISHED)))}
        total = conn.execute(sa.select(sa.func.count()).select_from(orders)).scalar_one()
    assert 0 < len(finished) < total
    later = datetime.now(timezone.utc) + timedelta(days=400)

    result = pii.purge(hub.db, now=later, retention_days=365, actor="test", batch=7)

    assert result.orders == len(finished) and result.raw_payloads == len(finished)
    with hub.db.connect() as conn:
        rows = conn.execute(sa.select(orders)).mappings().all()
        kept_raw = {r[0] for r in conn.execute(sa.select(RawPayload.__table__.c.external_id))}
        purged_entries = audit.entries(conn, action_prefix="pii.purged")
        assert audit.verify(conn).ok
    for row in rows:
        gone = row["external_id"] in finished
        assert (row["pii_purged_at"] is not None) == gone
        if gone:
            assert all(row[c] is None for c in pii.PII_COLUMNS)
            assert row["total"] is not None and row["ship_city"], "order facts are kept"
        else:
            assert row["buyer_contact"] is not None and row["buyer_phone_token"] is not None
    assert kept_raw.isdisjoint(finished)
    assert sum(len(json.loads(e["summary"])["orders"]) for e in purged_entries) == len(finished)
    assert pii.purge(hub.db, now=later, retention_days=365, actor="test").orders == 0, "idempotent"

    rerun = hub.engine.run(SyncRequest("toko-w"))  # unchanged orders stay purged
    assert rerun.counts.written == 0
    with hub.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(orders).where(orders.c.pii_purged_at.is_not(None))).scalar_one() == len(finished)


def test_nothing_recent_is_purged(hub: Hub, shop: SandboxServer) -> None:
    _synced(hub, shop)
    assert pii.purge(hub.db, now=datetime.now(timezone.utc), retention_days=365, actor="test").orders == 0
    with pytest.raises(ValueError):
        pii.purge(hub.db, now=datetime.now(timezone.utc), retention_days=-1, actor="test")
