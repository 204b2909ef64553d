"""The connector against its sandbox: exact windows, safe resumption, tokens, retries, refusals."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from connectors._http import ConnectorError, CredentialError, RetryConfig, TransientError
from connectors._http.secret import plain
from connectors.contract import OrderSource, RefreshableSource, Window
from connectors.tiktok import api
from connectors.tiktok.client import TikTokConnector, auth_base_url
from simpul import store
from simpul.engine import SyncRequest
from simpul.model import Shipment
from tests.tiktok.support import FROZEN, admin

UTC = timezone.utc
DAY = 86400


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def walk(connector: TikTokConnector, window: Window, position=None) -> list[str]:  # noqa: ANN001
    return [r["id"] for page in connector.order_pages(window, position) for r in page.records]


def expected(server, window: Window) -> set[str]:  # noqa: ANN001
    return {o["id"] for o in server.app.dump_orders() if window.since <= at(o["update_time"]) < window.until}


def recent(days: int = 15) -> Window:
    return Window(at(FROZEN - days * DAY + 1), at(FROZEN + 1))


def test_it_meets_the_protocols_and_check_is_one_signed_call(server, connector) -> None:  # noqa: ANN001
    assert isinstance(connector, OrderSource) and isinstance(connector, RefreshableSource) and connector.channel == "tiktok"
    connector.check()
    assert server.stats.snapshot()["by_path"] == {api.AUTHORIZED_SHOPS: 1}
    other = TikTokConnector(server.url, {**server.app.demo_credentials(), "shop_cipher": "ROW_someone_else"})
    with pytest.raises(CredentialError, match="not among the shops"):
        other.check()


def test_a_window_returns_exactly_its_orders_once_and_the_bounds_are_half_open(server, connector) -> None:  # noqa: ANN001
    stamps = sorted({o["update_time"] for o in server.app.dump_orders() if o["update_time"] > FROZEN - 15 * DAY})
    since, until = stamps[10], stamps[-10]
    for window in (Window(at(since), at(until)), Window(at(since - 0.4), at(until + 0.6))):
        seen = walk(connector, window)
        assert len(seen) == len(set(seen)) and set(seen) == expected(server, window)
    assert walk(connector, Window(at(since), at(since))) == []


def test_a_list_page_is_one_search_call_with_full_orders(server, connector) -> None:  # noqa: ANN001
    page = next(connector.order_pages(recent()))
    assert server.stats.snapshot()["by_path"] == {api.ORDER_SEARCH: 1} and page.requests == 1
    truth = {o["id"]: o for o in server.app.dump_orders()}
    assert page.records and all(r == truth[r["id"]] for r in page.records)  # the same object Get Order Detail returns


def test_resuming_from_a_position_in_a_fresh_connector_leaves_no_gap(server, connector) -> None:  # noqa: ANN001
    server.faults.update({"page_size": 30})
    window = recent()
    first = next(connector.order_pages(window))
    assert first.position is not None and set(first.position) == {"update_time_ge", "page_token", "seen"}
    position = json.loads(json.dumps(first.position))  # what the engine commits
    fresh = TikTokConnector(server.url, server.app.demo_credentials())
    seen = [r["id"] for r in first.records] + walk(fresh, window, position)
    assert len(seen) == len(set(seen)) and set(seen) == expected(server, window)


def test_more_than_a_page_sharing_one_second_follows_the_page_token(server, connector) -> None:  # noqa: ANN001
    ids = [o["id"] for o in server.app.dump_orders()[:230]]
    second = FROZEN - 7200
    admin(server, "mutate", {"touch": ids, "at": second})
    window = Window(at(second - 5), at(second + 5))
    pages = list(connector.order_pages(window))
    assert sorted(r["id"] for p in pages for r in p.records) == sorted(ids)
    assert pages[0].position == {"update_time_ge": second, "page_token": "", "seen": sorted(r["id"] for r in pages[0].records)}  # restart at the second
    assert pages[1].position["update_time_ge"] == second and pages[1].position["page_token"]  # a whole page in it: the query's own token
    resumed = [r["id"] for r in pages[0].records] + walk(TikTokConnector(server.url, server.app.demo_credentials()), window, pages[0].position)
    assert sorted(resumed) == sorted(ids)


def test_an_order_updated_mid_walk_does_not_hide_any_other(server, connector) -> None:  # noqa: ANN001
    server.faults.update({"page_size": 25})
    window = recent()
    want = expected(server, window)
    pages = connector.order_pages(window)
    first = next(pages)
    moved = [r["id"] for r in first.records[:5]]  # they jump out of the window
    admin(server, "mutate", {"touch": moved, "at": FROZEN + 3600})
    seen = [r["id"] for r in first.records] + [r["id"] for page in pages for r in page.records]
    assert set(seen) == want and len(seen) == len(set(seen))


def test_an_expired_access_token_is_refreshed_once_and_persisted_before_use(server) -> None:  # noqa: ANN001
    saved: list[dict] = []
    old = server.app.demo_credentials()
    connector = TikTokConnector(server.url, old, on_credentials=saved.append)
    server.app.expire_tokens()
    before = int(time.time())
    connector.check()
    [new] = saved
    assert new["access_token"] != old["access_token"] and new["refresh_token"] != old["refresh_token"]
    assert before + 7 * DAY <= new["access_expires_at"] <= int(time.time()) + 7 * DAY  # the absolute epoch as sent
    assert new["refresh_expires_at"] == new["authorization_expires_at"] == server.app.authorized_at + 365 * DAY
    assert server.stats.snapshot()["by_path"] == {api.AUTHORIZED_SHOPS: 2, api.TOKEN_REFRESH: 1}
    connector.check()
    assert len(saved) == 1  # the new token works: no second refresh


def test_a_token_near_expiry_is_refreshed_before_the_call(server) -> None:  # noqa: ANN001
    saved: list[dict] = []
    soon = int(time.time()) + 60  # inside REFRESH_MARGIN
    connector = TikTokConnector(server.url, {**server.app.demo_credentials(), "access_expires_at": soon}, on_credentials=saved.append)
    connector.check()
    assert server.stats.snapshot()["by_path"] == {api.TOKEN_REFRESH: 1, api.AUTHORIZED_SHOPS: 1}, "refreshed first, no refused call"
    expiry = connector.credential_expiry()
    assert expiry.access is not None and expiry.access.timestamp() == saved[0]["access_expires_at"] > soon
    assert connector.refresh(within=timedelta(days=1)) is False  # 7 days left
    assert connector.refresh(within=timedelta(days=8)) is True


def test_a_refused_refresh_is_a_credential_error_not_a_loop(server) -> None:  # noqa: ANN001
    creds = {**server.app.demo_credentials(), "refresh_token": "TTP_revoked"}
    server.app.expire_tokens()
    before = server.stats.requests
    with pytest.raises(CredentialError, match="refreshing the access token failed") as info:
        TikTokConnector(server.url, creds).check()
    assert server.stats.requests - before == 2  # one refused call, one refused refresh
    text = f"{info.value} {info.value!r}"
    assert creds["app_secret"] not in text and creds["access_token"] not in text


def test_throttling_and_server_errors_are_retried(server, connector) -> None:  # noqa: ANN001
    server.faults.update({"fail_next": [429, 503], "retry_after": None})
    connector.check()
    assert server.stats.snapshot()["by_status"] == {429: 1, 503: 1, 200: 1}


def test_retries_end_within_their_budget(server) -> None:  # noqa: ANN001
    connector = TikTokConnector(server.url, server.app.demo_credentials(), retry=RetryConfig(attempts=3, base_delay=0.0))
    server.faults.update({"fail_next": [500, 500, 500, 500]})
    with pytest.raises(TransientError):
        connector.check()
    assert server.stats.requests == 3


def test_a_wrong_app_secret_is_refused_without_retry_and_never_echoed(server) -> None:  # noqa: ANN001
    good = server.app.demo_credentials()
    with pytest.raises(CredentialError) as info:
        TikTokConnector(server.url, {**good, "app_secret": "canary_secret_0042"}).check()
    assert server.stats.requests == 1 and info.value.code == "106001"
    text = f"{info.value} {info.value!r}"
    assert "canary" not in text and good["access_token"] not in text and "sign=" not in text


def test_a_stale_clock_is_refused_as_36009004_without_retry(server, connector) -> None:  # noqa: ANN001
    server.app.real_time = lambda: time.time() - 120  # the machine runs 2 minutes fast for TikTok
    with pytest.raises(CredentialError, match="timestamp outside -300 s/\\+30 s") as info:
        connector.check()
    assert info.value.code == "36009004" and server.stats.requests == 1


def test_orders_by_id_uses_get_order_detail_in_batches_of_fifty(server, connector) -> None:  # noqa: ANN001
    known = [o["id"] for o in server.app.dump_orders()[:70]]
    pages = list(connector.orders_by_id([*known, "579900000000000000", known[0], "1,2"]))
    assert len(pages) == 2 and server.stats.snapshot()["by_path"] == {api.ORDER_DETAIL: 2}
    assert sorted(r["id"] for p in pages for r in p.records) == sorted(known)
    assert sorted(m for p in pages for m in p.missing) == ["1,2", "579900000000000000"]


def test_bad_credentials_plain_http_and_the_auth_host() -> None:
    with pytest.raises(CredentialError, match="app_key"):
        TikTokConnector(api.API_HOST, {"app_key": "x", "app_secret": "s"})
    creds = {"app_key": "k", "app_secret": "s", "access_token": "a", "refresh_token": "r", "shop_cipher": "ROW_x"}
    with pytest.raises(ConnectorError, match="https"):
        TikTokConnector("http://open-api.tiktokglobalshop.com", creds)
    TikTokConnector(api.API_HOST, creds)
    assert auth_base_url(api.API_HOST) == "https://auth.tiktok-shops.com"  # §2.2: tokens live on another host
    assert auth_base_url("http://127.0.0.1:8000/shops/3") == "http://127.0.0.1:8000/shops/3"  # a sandbox serves both


def test_many_shops_on_one_host_each_enforce_their_own_keys() -> None:
    from connectors._sandbox import SandboxServer
    from connectors.tiktok.sandbox import TikTokSandbox

    with SandboxServer.hosting(lambda n: TikTokSandbox(seed=n, orders=5)) as hub:
        one, two = hub.shop(1).app.demo_credentials(), hub.shop(2).app.demo_credentials()
        TikTokConnector(hub.shop_url(1), one).check()
        hub.shop(2).app.expire_tokens()
        TikTokConnector(hub.shop_url(2), two).check()  # refreshed through /shops/2
        with pytest.raises(CredentialError):
            TikTokConnector(hub.shop_url(2), one).check()


def stored_tracking(hub, order_id: str) -> str | None:  # noqa: ANN001
    shipments = Shipment.__table__
    with hub.db.connect() as conn:
        return conn.execute(sa.select(shipments.c.tracking_number).where(shipments.c.order_external_id == order_id)).scalar_one()


def test_the_engine_picks_up_a_tracking_number_that_came_without_an_update(hub, server) -> None:  # noqa: ANN001
    """[T6]: an arranged package gets its number later, without a new status, so without a
    new update_time. The order is synced while it waits, more than a lookback after its
    last update: only the engine's follow-up (re-reading waiting orders by id through Get
    Order Detail, ``reread_awaiting_tracking``) can bring the number."""
    hub.accounts.add("t1", "tiktok", "TikTok", server.url, server.app.demo_credentials(), history_days=60)
    lookback = TikTokConnector.lookback.total_seconds()
    inserted = set(admin(server, "mutate", {"insert": 8, "at": FROZEN})["inserted"])
    order = None
    for _ in range(400):  # the data clock in 5-minute steps until an order has waited a lookback
        server.app.clock.advance(300)
        now = server.app.clock.now()
        order = next(
            (o for o in server.app.dump_orders()
             if o["id"] in inserted and o["status"] == "AWAITING_COLLECTION" and o["tracking_number"] == "" and now - o["update_time"] > lookback),
            None,
        )  # fmt: skip
        if order is not None:
            break
    if order is None:
        pytest.fail("no seeded order waited a whole lookback for its tracking number")
    order_id, update_time = order["id"], order["update_time"]
    hub.engine.clock = lambda: at(server.app.clock.now())
    hub.engine.run(SyncRequest("t1"))
    assert stored_tracking(hub, order_id) is None
    while not next(o for o in server.app.dump_orders() if o["id"] == order_id)["tracking_number"]:
        server.app.clock.advance(300)
    final = next(o for o in server.app.dump_orders() if o["id"] == order_id)
    assert final["update_time"] == update_time  # the number came without an update...
    with hub.db.connect() as conn:
        cursor = store.load_cursor(conn, "t1")
    assert at(update_time) < cursor - TikTokConnector.lookback  # ...and before the next list window
    run = hub.engine.run(SyncRequest("t1"))
    assert run.counts.changed >= 1
    assert stored_tracking(hub, order_id) == final["tracking_number"]
    assert server.stats.snapshot()["by_path"][api.ORDER_DETAIL] >= 1  # through Get Order Detail


def test_tokens_rotated_during_a_sync_are_persisted_and_the_next_run_uses_them(hub, server) -> None:  # noqa: ANN001
    hub.accounts.add("t2", "tiktok", "TikTok", server.url, server.app.demo_credentials(), history_days=60)
    for _ in range(2):
        server.app.expire_tokens()
        run = hub.engine.run(SyncRequest("t2"))
        assert run.status == "completed"
        wrapped = hub.accounts.credentials("t2")
        assert "**********" in repr(wrapped) and server.app.demo_credentials()["access_token"] not in repr(wrapped)
        stored = plain(wrapped)
        assert stored["access_token"] == server.app.demo_credentials()["access_token"]
        assert stored["refresh_token"] == server.app.demo_credentials()["refresh_token"]
    assert server.stats.snapshot()["by_path"][api.TOKEN_REFRESH] == 2
    assert hub.accounts.get("t2").status == "active"
