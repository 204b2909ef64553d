"""Shopee's settlements stream (escrow payouts) through the real engine against the Shopee
sandbox, on SQLite (the store's path runs on both databases in
``tests/test_settlements_store.py``): a full read lands every released payout once and a
rerun writes nothing; payouts that share one release second across pages land once; a
bad escrow detail is quarantined and the rest lands; transient faults are retried; a
later adjustment is read by a resync over its release window (not by an incremental run:
Shopee lists a payout once) and makes the order's COD payout differ. What the store must
hold comes from the sandbox's own figures (``dump_settlements``), never from the code
under test."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import requests

from connectors._sandbox import SandboxServer
from connectors.contract import SettlementSource
from connectors.shopee.client import ShopeeConnector
from connectors.shopee import api
from connectors.shopee.sandbox import ShopeeSandbox, _error
from mappings import shopee_settlements as settlements_mapping
from simpul import audit, cod, quarantine, store
from simpul.accounts import Accounts
from simpul.channels import SETTLEMENTS
from simpul.cli import orders as orders_cli
from simpul.engine import RESYNC, Engine, SyncRequest
from simpul.runtime import Hub
from simpul.vault import Vault
from tests.conftest import sqlite_database
from tests.faults.harness import QUICK_RETRY
from tests.oracle import assert_settlements_converged, settlements_source_state, settlements_stored_state

ORDERS = 260
ACCOUNT = "s-shopee"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    app = ShopeeSandbox(orders=ORDERS, seed=7)
    app.clock.freeze(app.clock.now())
    with SandboxServer(app, seed=7) as server:
        yield server


@pytest.fixture
def hub(tmp_path, keyring, sandbox) -> Iterator[Hub]:  # noqa: ANN001
    db = sqlite_database(tmp_path)
    accounts = Accounts(db, Vault(keyring), actor="test")
    accounts.add(ACCOUNT, "shopee", "Settlements", sandbox.url, sandbox.app.demo_credentials(), history_days=60)
    yield Hub(db, accounts.vault, accounts, Engine(db, accounts, actor="test", rate_limits={"*": None}))
    db.dispose()


def escrow(server: SandboxServer, body: dict[str, Any]) -> Any:
    response = requests.post(f"{server.url}/_sandbox/escrow", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def audited(hub: Hub, action: str) -> list[dict[str, Any]]:
    with hub.db.connect() as conn:
        assert audit.verify(conn).ok
        return [{**e, "summary": json.loads(e["summary"])} for e in audit.entries(conn, action_prefix=action)]


def unreleased(server: SandboxServer) -> list[str]:
    released = {t["order"] for t in server.app.dump_settlements()}
    return sorted(o["order_sn"] for o in server.app.dump_orders() if o["order_sn"] not in released and o["order_status"] not in ("CANCELLED", "IN_CANCEL"))


def test_the_connector_meets_the_contract_and_the_sandbox_has_payouts(sandbox) -> None:  # noqa: ANN001
    assert isinstance(ShopeeConnector(sandbox.url, sandbox.app.demo_credentials()), SettlementSource)
    truth = sandbox.app.dump_settlements()
    assert len(truth) >= ORDERS // 4  # a sandbox of completed orders pays most of them out


def test_a_sync_lands_every_payout_once_and_a_rerun_writes_nothing(hub, sandbox, capsys) -> None:  # noqa: ANN001
    first = hub.engine.run(SyncRequest(ACCOUNT))
    assert first.status == "completed" and first.settlements.new == len(sandbox.app.dump_settlements())
    assert_settlements_converged(hub.db, ACCOUNT, sandbox.app.dump_settlements())
    assert len(audited(hub, "settlement.created")) == first.settlements.new
    second = hub.engine.run(SyncRequest(ACCOUNT))
    assert second.settlements.written == second.returns.written == second.counts.written == 0
    with hub.db.connect() as conn:
        assert store.load_cursor(conn, ACCOUNT, stream=SETTLEMENTS) is not None
        one = sandbox.app.dump_settlements()[0]
        assert orders_cli.show(conn, argparse.Namespace(order=one["order"], account=ACCOUNT, json=True)) == 0
    [shown] = json.loads(capsys.readouterr().out)["settlement"]  # `simpul orders show` names the payout
    assert (Decimal(shown["payout_amount"]), Decimal(shown["expected_amount"])) == (Decimal(str(one["payout"])), Decimal(str(one["expected"])))


def test_payouts_sharing_one_release_second_across_pages_land_once(hub, sandbox) -> None:  # noqa: ANN001
    hub.engine.run(SyncRequest(ACCOUNT))
    with hub.db.connect() as conn:
        cursor = store.load_cursor(conn, ACCOUNT, stream=SETTLEMENTS)
    tie = int(cursor.timestamp()) - 1  # inside the next run's lookback, a second before the bookmark
    batch = unreleased(sandbox)
    sandbox.faults.update({"page_size": 7})  # pages of 7, whatever the connector asks
    assert len(batch) > 2 * 7  # more than two pages in one second
    escrow(sandbox, {"release": batch, "at": tie})
    run = hub.engine.run(SyncRequest(ACCOUNT))
    assert run.settlements.new == len(batch)
    assert_settlements_converged(hub.db, ACCOUNT, sandbox.app.dump_settlements())


def test_a_bad_escrow_detail_is_quarantined_and_the_rest_lands(hub, sandbox, monkeypatch) -> None:  # noqa: ANN001
    original = settlements_mapping.map_settlement
    victim, *others = unreleased(sandbox)[:5]
    escrow(sandbox, {"release": [victim, *others]})
    escrow(sandbox, {"corrupt": victim})
    run = hub.engine.run(SyncRequest(ACCOUNT))
    assert run.status == "completed" and run.settlements.quarantined == 1
    stored = settlements_stored_state(hub.db, ACCOUNT)
    truth = settlements_source_state(sandbox.app.dump_settlements())
    assert victim not in stored and stored == {k: v for k, v in truth.items() if k != victim}
    with hub.db.connect() as conn:
        [row] = store.open_quarantine(conn, ACCOUNT)
    assert (row["stream"], row["external_id"]) == (SETTLEMENTS, victim) and "order_income" in row["reason"]
    result = quarantine.replay(hub.db, account_id=ACCOUNT, actor="test")
    assert (result.replayed, result.still_failing) == (0, 1)  # replayed through the settlements mapping: still broken
    # A mapping that reads the broken income as none: the replay writes the payout, no fees known.
    monkeypatch.setattr(settlements_mapping, "map_settlement", lambda raw: original({**raw, "order_income": {}}))
    result = quarantine.replay(hub.db, account_id=ACCOUNT, actor="test")
    assert (result.replayed, result.still_failing, result.written) == (1, 0, 1)
    assert settlements_stored_state(hub.db, ACCOUNT)[victim] == (truth[victim][0], None, truth[victim][2])


@pytest.mark.parametrize("code", ["order_not_found", "common.error_not_found", "error_param", "error_data"])
def test_a_detail_refused_for_its_order_lands_the_listed_payout(hub, sandbox, monkeypatch, code) -> None:  # noqa: ANN001
    """The detail page's documented refusals of one order (FACTS.md): the run goes on with
    what the list said (the payout and its time), the fees unknown."""
    refused = sandbox.app.dump_settlements()[3]["order"]
    served = sandbox.app._escrow_detail

    def detail(request):  # noqa: ANN001, ANN202
        return _error(code, "The information you queried is not found.") if request.query.get("order_sn") == refused else served(request)

    monkeypatch.setitem(sandbox.app._routes, api.ESCROW_DETAIL, ("GET", detail))
    run = hub.engine.run(SyncRequest(ACCOUNT))
    assert run.status == "completed" and run.settlements.quarantined == 0
    truth = settlements_source_state(sandbox.app.dump_settlements())
    stored = settlements_stored_state(hub.db, ACCOUNT)
    assert stored[refused] == (truth[refused][0], None, truth[refused][2])  # the payout and its time; expected unknown
    assert {k: v for k, v in stored.items() if k != refused} == {k: v for k, v in truth.items() if k != refused}


@pytest.mark.parametrize("field", ["payout_amount", "released_at", "updated_at"])
def test_a_settlement_without_a_required_value_is_quarantined_by_the_boundary(hub, sandbox, monkeypatch, field) -> None:  # noqa: ANN001
    original = settlements_mapping.map_settlement
    monkeypatch.setattr(settlements_mapping, "map_settlement", lambda raw: replace(r := original(raw), settlement=replace(r.settlement, **{field: None})))
    run = hub.engine.run(SyncRequest(ACCOUNT))
    assert run.status == "completed" and run.settlements.quarantined == len(sandbox.app.dump_settlements()) and run.counts.new == ORDERS
    with hub.db.connect() as conn:
        assert {r["reason"] for r in store.open_quarantine(conn, ACCOUNT)} == {f"{field}: missing"}


def test_transient_faults_in_the_escrow_walk_are_retried(hub, sandbox) -> None:  # noqa: ANN001
    hub.engine.connector_options["retry"] = QUICK_RETRY
    sandbox.faults.update({"error_rate": 0.1, "rate_limit_rate": 0.1, "retry_after": "0"})
    run = hub.engine.run(SyncRequest(ACCOUNT))
    assert run.status == "completed"
    by_status = sandbox.stats.snapshot()["by_status"]
    assert by_status.get(429) and sum(n for s, n in by_status.items() if int(s) >= 500)
    assert_settlements_converged(hub.db, ACCOUNT, sandbox.app.dump_settlements())


def test_an_adjustment_is_read_by_a_resync_and_makes_the_cod_payout_differ(hub, sandbox) -> None:  # noqa: ANN001
    hub.engine.run(SyncRequest(ACCOUNT))
    with hub.db.connect() as conn:
        settled = {i.order: i for i in cod.cod_orders(conn) if i.settled is not None}
    assert settled and all(i.match == "paid" and i.state == "delivered" for i in settled.values())
    order = sorted(settled)[0]
    escrow(sandbox, {"adjust": order, "amount": -1500})
    truth = {t["order"]: t for t in sandbox.app.dump_settlements()}
    released = datetime.fromtimestamp(truth[order]["released_at"], timezone.utc)
    assert hub.engine.run(SyncRequest(ACCOUNT)).settlements.written == 0  # Shopee lists a payout once
    run = hub.engine.run(SyncRequest(ACCOUNT, job=RESYNC, since=released - timedelta(seconds=1), until=released + timedelta(seconds=1)))
    assert run.settlements.changed == 1
    assert_settlements_converged(hub.db, ACCOUNT, sandbox.app.dump_settlements())
    [event] = [e for e in audited(hub, "settlement.updated") if e["entity_key"] == order]
    assert Decimal(event["summary"]["before"]["payout"]) - Decimal(event["summary"]["after"]["payout"]) == 1500
    with hub.db.connect() as conn:
        item = next(i for i in cod.cod_orders(conn) if i.order == order)
    assert item.match == "amount_differs" and item.expected - item.remitted == 1500
    assert item.kept == item.amount - item.settled


@pytest.mark.parametrize(("path", "stream", "other"), [(api.ESCROW_LIST, SETTLEMENTS, "returns"), (api.RETURN_LIST, "returns", SETTLEMENTS)])
def test_an_app_without_a_modules_permission_keeps_its_orders_and_its_account(hub, sandbox, monkeypatch, path, stream, other) -> None:  # noqa: ANN001
    """Shopee's escrow pages list ``error_auth`` "No permission to current api.": refused
    even with a fresh token, that side stream is skipped (audited) and its cursor stays; the
    orders and the other side stream land, the account stays active."""
    refused = lambda request: _error("error_auth", "No permission to current api.")  # noqa: E731
    monkeypatch.setitem(sandbox.app._routes, path, ("GET", refused))
    run = hub.engine.run(SyncRequest(ACCOUNT))
    assert run.status == "completed" and run.counts.new == ORDERS and run.of(stream).written == 0 and run.of(other).new > 0
    assert hub.accounts.get(ACCOUNT).status == "active"
    [event] = audited(hub, "stream.refused")
    assert event["summary"]["stream"] == stream and "error_auth" in event["summary"]["reason"]
    with hub.db.connect() as conn:
        assert store.load_cursor(conn, ACCOUNT, stream=stream) is None and store.load_cursor(conn, ACCOUNT, stream=other) is not None
    monkeypatch.undo()  # the seller grants the permission: the next run reads everything the stream missed
    assert hub.engine.run(SyncRequest(ACCOUNT)).of(stream).new > 0
