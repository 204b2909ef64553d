"""The canary (S-1, A-6): secrets and a buyer's phone appear nowhere but as ciphertext.

Every credential is a unique canary string, and so are one buyer's name, e-mail and phone.
The sync, refresh-tokens, resync and purge-pii flows run on the real Prefect test API
through the sandboxes' fault knobs (401, 429, 5xx, a reset connection, a truncated body,
a token that expires mid-run, an unmappable payload), with every channel request recorded
into a cassette. Then we look everywhere a leak could land: logs at DEBUG, stdout and
stderr, error texts, Prefect's flow-run parameters, state messages, artifacts and stored
run logs, the audit log, a dump of every database table, and the cassette.

Negative controls prove each canary really went through the hub (the vault and the
sealed buyer contact give them back), so a clean scan is not a vacuous one.

A second case (issue 9 §2) runs the sync flow on PostgreSQL with the boundary check
switched off, so the database itself refuses a page whose order carries the buyer's note
and contact next to a too-long country: the driver's ``DataError`` holds every parameter
of the page. The audit log, the run rows, the flow result and Prefect's flow- and
task-run states, artifacts and logs must show the reason without any of them.
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from prefect.client.orchestration import get_client

from connectors._http.secret import plain
from connectors._sandbox import SandboxServer
from connectors.shopee.sandbox import ShopeeSandbox
from connectors.tiktok.sandbox import TikTokSandbox
from connectors.woocommerce.sandbox import WooCommerceSandbox
from flows.maintenance import purge_pii, refresh_tokens
from flows.seller_reports import seller_reports
from flows.sync_orders import run_sync_flow
from simpul.engine import RESYNC, SyncRequest
from simpul.model import Order
from simpul.runtime import Hub, open_hub
from simpul.vault import KeyRing
from tests.cassettes import recorder
from tests.oracle import database_text

MARK = "kn4ry" + uuid.uuid4().hex[:10]
PHONE = "0812" + "".join(random.choice("123456789") for _ in range(8))
PHONE_FORMS = (PHONE, "+62" + PHONE[1:], "62" + PHONE[1:], PHONE[1:])
NAME, EMAIL = f"Budi{MARK}", f"{MARK}@example.com"
CANARY_ORDER = 1003  # the WooCommerce order whose buyer carries the canaries


class CanaryShopee(ShopeeSandbox):
    """Shopee whose partner key and every token it issues carry the mark."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._partner_key = f"shpk{MARK}partnerkey"

    def _issue(self, now: float) -> tuple[str, str]:
        access, refresh = super()._issue(now)
        marked = (f"{MARK}acc{access[:12]}", f"{MARK}ref{refresh[:12]}")
        self._access[marked[0]] = self._access.pop(access)
        self._refresh[marked[1]] = self._refresh.pop(refresh)
        self._current = marked
        return marked

    def _render_return(self, state: Any, *, detail: bool) -> dict[str, Any]:
        """Every return's buyer and pickup contact carry the canaries (a shop with unmasked access)."""
        body = super()._render_return(state, detail=detail)
        if "user" in body:
            body["user"].update(username=NAME, email=EMAIL)
        if body.get("return_pickup_address"):
            body["return_pickup_address"].update(name=NAME, phone=PHONE)
        return body

    def _render_escrow(self, order: Any) -> dict[str, Any]:
        """Every escrow detail names the buyer (``buyer_user_name``)."""
        return {**super()._render_escrow(order), "buyer_user_name": NAME}


class CanaryTikTok(TikTokSandbox):
    """TikTok Shop whose app secret and every token it issues carry the mark (the token
    refresh sends the app secret in its query, [T1])."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._app_secret = f"{MARK}appsecret"

    def _issue(self, now: float) -> tuple[str, str]:
        access, refresh = super()._issue(now)
        marked = (f"TTP_{MARK}acc{access[4:16]}", f"TTP_{MARK}ref{refresh[4:16]}")
        self._access[marked[0]] = self._access.pop(access)
        self._refresh[marked[1]] = self._refresh.pop(refresh)
        self._current = marked
        return marked


class CanaryWoo(WooCommerceSandbox):
    """WooCommerce whose keys carry the mark, and one order whose buyer does."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._key, self._secret = f"ck_{MARK}key", f"cs_{MARK}secret"

    def _render(self, order: Any) -> dict[str, Any]:
        body = super()._render(order)
        if order.id == CANARY_ORDER:
            body["billing"].update(first_name=NAME, last_name="", email=EMAIL, phone=PHONE)
            body["shipping"].update(first_name=NAME, last_name="", phone=PHONE)
        return body

    def _refund_bodies(self, order: Any, bp: Any = None) -> list[dict[str, Any]]:
        """Every refund's reason names where the money went: the buyer's phone and mailbox."""
        bodies = super()._refund_bodies(order, bp)
        for body in bodies:
            body["reason"] = body["summary"]["reason"] = f"refund ditransfer ke {PHONE} / {MARK}@gmail.com"  # a real mailbox: no example.com
        return bodies


@pytest.fixture
def canary_hub(prefect_api: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    monkeypatch.setenv("SIMPUL_HOME", str(tmp_path))
    monkeypatch.setenv("SIMPUL_DATABASE_URL", f"sqlite:///{tmp_path / 'simpul.db'}")
    monkeypatch.setenv("SIMPUL_KEYRING", str(tmp_path / "keyring.json"))
    monkeypatch.delenv("SIMPUL_MASTER_KEY", raising=False)
    KeyRing.create()  # set-up (`simpul keys init`)
    hub = open_hub(actor="test")
    yield hub
    hub.close()


def _everything_prefect_kept(since: datetime, *, min_flow_runs: int = 4, tasks: bool = True) -> str:
    """Flow-run parameters and state messages, task-run state messages, artifacts and the
    run logs Prefect stored."""
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterStartTime,
        LogFilter,
        LogFilterTimestamp,
        TaskRunFilter,
        TaskRunFilterStartTime,
    )

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(after_=since)))
        task_runs = client.read_task_runs(task_run_filter=TaskRunFilter(start_time=TaskRunFilterStartTime(after_=since)))
        artifacts = client.read_artifacts()
        logs = client.read_logs(log_filter=LogFilter(timestamp=LogFilterTimestamp(after_=since)), limit=200)
    parts = [json.dumps(r.parameters, default=str) + " " + (r.state.message or "" if r.state else "") for r in runs]
    parts += [f"{t.name} {t.state.name} {t.state.message or ''}" for t in task_runs if t.state]
    parts += [json.dumps(a.data, default=str) + " " + (a.description or "") for a in artifacts]
    parts += [entry.message for entry in logs]
    assert {r.flow_id for r in runs} and len(runs) >= min_flow_runs, "the flows did run on the Prefect API"
    assert task_runs or not tasks, "the flows' tasks did run on the Prefect API"
    return "\n".join(parts)


def _assert_clean(where: str, text: str) -> None:
    assert MARK not in text, f"a canary secret or buyer name leaked into {where}"
    for form in PHONE_FORMS:
        assert form not in text, f"the buyer's phone leaked into {where}"


@pytest.mark.prefect
def test_canaries_appear_nowhere_but_as_ciphertext(canary_hub: Hub, tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    started = datetime.now(timezone.utc) - timedelta(seconds=1)
    shopee, woo, tiktok = CanaryShopee(orders=40, seed=4), CanaryWoo(orders=40, seed=4), CanaryTikTok(orders=40, seed=4)
    with SandboxServer(shopee, seed=4) as shopee_server, SandboxServer(woo, seed=4) as woo_server, SandboxServer(tiktok, seed=4) as tiktok_server:
        for server in (shopee_server, woo_server, tiktok_server):
            server.faults.update({"retry_after": "0"})
        hub = canary_hub
        hub.accounts.add("canary-shopee", "shopee", "Canary Shopee", shopee_server.url, shopee.demo_credentials(), history_days=60, verify=True)
        hub.accounts.add("canary-woo", "woocommerce", "Canary Woo", woo_server.url, woo.demo_credentials(), history_days=60, verify=True)
        hub.accounts.add("canary-tiktok", "tiktok", "Canary TikTok", tiktok_server.url, tiktok.demo_credentials(), history_days=60, verify=True)
        wrong = {**woo.demo_credentials(), "consumer_secret": f"cs_{MARK}wrong"}
        hub.accounts.add("canary-refused", "woocommerce", "Refused", woo_server.url, wrong, history_days=60)  # 401 path
        requests.post(f"{woo_server.url}/_sandbox/corrupt", json={"id": 1007, "field": "total"}, timeout=5).raise_for_status()
        shopee_server.faults.update({"fail_next": [None, 429, 503, "expire_tokens", None, "reset", "truncate"]})
        woo_server.faults.update({"fail_next": [500, 429, "truncate"]})
        tiktok_server.faults.update({"fail_next": [None, 429, "expire_tokens", None, "truncate"]})

        with recorder(tmp_path / "cassettes", hosts=[shopee_server.url, woo_server.url, tiktok_server.url]).use_cassette("canary.yaml"):
            rows = run_sync_flow([SyncRequest(a) for a in ("canary-shopee", "canary-woo", "canary-refused", "canary-tiktok")])
            refreshed = refresh_tokens(force=True, return_state=True).result(raise_on_failure=False)
            resync_rows = run_sync_flow([SyncRequest("canary-woo", job=RESYNC, order_ids=(str(CANARY_ORDER), "999999"))])
            purged = purge_pii(retention_days=3650)
            reports = seller_reports(return_state=True)
        shopee_served, woo_served = (srv.stats.snapshot()["by_status"] for srv in (shopee_server, woo_server))
        tiktok_paths = tiktok_server.stats.snapshot()["by_path"]

    # The run went through the fault paths it claims to.
    by_account = {r["account"]: r for r in rows}
    assert by_account["canary-shopee"]["status"] == "completed" and by_account["canary-shopee"]["new"] == 40
    assert by_account["canary-woo"]["status"] == "completed" and by_account["canary-woo"]["quarantined"] == 1
    assert by_account["canary-tiktok"]["status"] == "completed" and by_account["canary-tiktok"]["new"] == 40
    assert tiktok_paths.get("/api/v2/token/refresh", 0) >= 2, tiktok_paths  # the expired token mid-run, then the forced refresh
    assert by_account["canary-refused"]["status"] == "failed" and "401" in by_account["canary-refused"]["error"]
    assert hub.accounts.get("canary-refused").status == "credential_error"
    assert {r["account"]: r["result"] for r in refreshed} == {"canary-shopee": "refreshed", "canary-woo": "no_tokens", "canary-refused": "skipped", "canary-tiktok": "refreshed"}
    assert resync_rows[0]["status"] == "completed" and resync_rows[0]["missing"] == ["999999"]
    assert purged["orders"] == 0
    assert reports.is_completed(), reports.message
    with hub.db.connect() as conn:  # the returns streams ran, carrying the canaries (negative control below)
        sources = dict(conn.execute(sa.text("SELECT source, count(*) FROM order_return GROUP BY source")).all())
        settled = conn.execute(sa.text("SELECT count(*) FROM order_settlement")).scalar_one()
    assert sources.get("stream", 0) >= 10, sources
    assert settled >= 5, settled  # the settlements stream ran, its escrow details naming the buyer
    assert shopee_served.get(429) and shopee_served.get(503) and woo_served.get(401) and woo_served.get(500), (shopee_served, woo_served)

    # Negative controls: the canaries did reach the hub, sealed.
    assert MARK in json.dumps(plain(hub.accounts.credentials("canary-shopee")))
    assert MARK in json.dumps(plain(hub.accounts.credentials("canary-tiktok")))
    with hub.db.connect() as conn:
        envelope = conn.execute(sa.select(Order.__table__.c.buyer_contact).where(Order.__table__.c.external_id == str(CANARY_ORDER))).scalar_one()
    contact = hub.engine.buyers.reveal("canary-woo", str(CANARY_ORDER), envelope)
    assert (contact.name, contact.phone, contact.email) == (NAME, PHONE, EMAIL)
    # ...and the scanner sees every one of them, in every form, wherever it sits in a text.
    for canary in (MARK, NAME, EMAIL, *PHONE_FORMS, json.dumps(plain(hub.accounts.credentials("canary-shopee")))):
        with pytest.raises(AssertionError):
            _assert_clean("a negative control", f"log line: {{'x': 1}} {canary}.")
    with pytest.raises(AssertionError):
        _assert_clean("the sandbox's own records", json.dumps(woo.dump_orders()))
    for sandbox in (shopee, woo):
        with pytest.raises(AssertionError):
            _assert_clean("the sandbox's own returns", json.dumps(sandbox.dump_returns()))
    with pytest.raises(AssertionError):
        _assert_clean("the sandbox's escrow detail", json.dumps(shopee._render_escrow(next(iter(shopee._orders.values())))))

    out, err = capfd.readouterr()
    cassette = (tmp_path / "cassettes" / "canary.yaml").read_text()
    assert "get_order_detail" in cassette and "/wp-json/wc/v3/orders" in cassette
    assert "/order/202309/orders/search" in cassette and "/api/v2/token/refresh" in cassette
    for where, text in (
        ("logs at DEBUG", caplog.text),
        ("stdout", out),
        ("stderr", err),
        ("error texts and flow results", json.dumps([rows, refreshed, resync_rows, purged], default=str)),
        ("Prefect's runs, artifacts and logs", _everything_prefect_kept(started)),
        ("the database (every table, audit log included)", database_text(hub.db)),
        ("the cassette", cassette),
    ):
        _assert_clean(where, text)


class CountryTooLong(CanaryWoo):
    """The canary order also carries the buyer's note and a 9-letter country, which
    ``orders.ship_country`` (varchar(2)) cannot hold."""

    def _render(self, order: Any) -> dict[str, Any]:
        body = super()._render(order)
        if order.id == CANARY_ORDER:
            body["customer_note"] = f"{NAME} minta antar sore, telepon {PHONE}"
            body["shipping"].update(country="INDONESIA", postcode=f"9{MARK}")
        return body


@pytest.mark.prefect
@pytest.mark.postgres
def test_a_database_error_carrying_buyer_data_leaves_it_nowhere(
    prefect_api: None, pg_db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture
) -> None:
    from simpul import store
    from simpul.limits import Boundary
    from simpul.model import AuditEntry, SyncRun

    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SIMPUL_HOME", str(tmp_path))
    monkeypatch.setenv("SIMPUL_DATABASE_URL", pg_db.url)
    monkeypatch.setenv("SIMPUL_KEYRING", str(tmp_path / "keyring.json"))
    monkeypatch.delenv("SIMPUL_MASTER_KEY", raising=False)
    KeyRing.create()  # set-up (`simpul keys init`)
    monkeypatch.setattr(Boundary, "check", lambda self, bundle: bundle)  # the database itself must refuse the page
    refused: list[str] = []
    apply_page = store.apply_page

    def recording(*args: Any, **kwargs: Any) -> Any:
        try:
            return apply_page(*args, **kwargs)
        except sa.exc.DBAPIError as exc:
            refused.append(str(exc))
            raise

    monkeypatch.setattr(store, "apply_page", recording)
    started = datetime.now(timezone.utc) - timedelta(seconds=1)
    hub = open_hub(actor="test")
    try:
        woo = CountryTooLong(orders=20, seed=4)
        with SandboxServer(woo, seed=4) as server:
            hub.accounts.add("canary-pg", "woocommerce", "Canary PG", server.url, woo.demo_credentials(), history_days=60)
            rows = run_sync_flow([SyncRequest("canary-pg")])
        with hub.db.connect() as conn:
            run_rows = [tuple(r) for r in conn.execute(sa.select(SyncRun.__table__))]
            audit_rows = [tuple(r) for r in conn.execute(sa.select(AuditEntry.__table__))]
    finally:
        hub.close()

    # The driver's error did carry the buyer's data (negative control), and the run failed on it.
    assert refused and MARK in refused[0] and PHONE in refused[0]
    [row] = rows
    assert row["status"] == "failed" and row["error"] == "database error (StringDataRightTruncation): value too long for type character varying(2)"
    assert any("sync.failed" in r for r in audit_rows) and any(row["error"] in str(r) for r in run_rows)

    out, err = capfd.readouterr()
    # sync-all has no task per account (flows/sync_orders.py): its flow run, summary
    # artifacts and logs are where the error text goes, and where it must be clean.
    kept = _everything_prefect_kept(started, min_flow_runs=1, tasks=False)
    assert row["error"] in kept  # the scan does cover where the error went
    for where, text in (
        ("the audit log", str(audit_rows)),
        ("the run rows", str(run_rows)),
        ("the flow result", json.dumps(rows, default=str)),
        ("Prefect's flow runs, artifacts and logs", kept),
        ("logs at DEBUG", caplog.text),
        ("stdout", out),
        ("stderr", err),
    ):
        _assert_clean(where, text)
