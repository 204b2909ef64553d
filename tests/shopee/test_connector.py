"""The connector against its sandbox: exact windows, safe resumption, tokens, retries, refusals."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from connectors._http import ApiError, ConnectorError, CredentialError, RetryConfig, TransientError
from connectors._http.secret import plain
from connectors.contract import OrderSource, Window
from connectors.shopee import api
from connectors.shopee.client import ShopeeConnector
from simpul import store
from simpul.engine import SyncRequest
from simpul.model import Shipment
from tests.shopee.support import FROZEN, admin

UTC = timezone.utc
DAY = 86400


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def walk(connector: ShopeeConnector, window: Window, position=None) -> list[str]:  # noqa: ANN001
    return [r["order_sn"] for page in connector.order_pages(window, position) for r in page.records]


def expected(server, window: Window) -> set[str]:  # noqa: ANN001
    return {o["order_sn"] for o in server.app.dump_orders() if window.since <= at(o["update_time"]) < window.until}


def stored_tracking(hub, sn: str) -> str | None:  # noqa: ANN001
    shipments = Shipment.__table__
    with hub.db.connect() as conn:
        return conn.execute(sa.select(shipments.c.tracking_number).where(shipments.c.order_external_id == sn)).scalar_one()


def recent(days: int = 15) -> Window:
    return Window(at(FROZEN - days * DAY + 1), at(FROZEN + 1))


def test_it_meets_the_protocol_and_check_is_one_signed_call(server, connector) -> None:  # noqa: ANN001
    assert isinstance(connector, OrderSource) and connector.channel == "shopee"
    assert connector.max_window == timedelta(days=15)
    connector.check()
    assert server.stats.snapshot()["by_path"] == {api.SHOP_INFO: 1}


def test_a_window_returns_exactly_its_orders_once_and_the_bounds_are_half_open(server, connector) -> None:  # noqa: ANN001
    stamps = sorted({o["update_time"] for o in server.app.dump_orders() if o["update_time"] > FROZEN - 15 * DAY})
    since, until = stamps[10], stamps[-10]
    for window in (Window(at(since), at(until)), Window(at(since - 0.4), at(until + 0.6))):
        seen = walk(connector, window)
        assert len(seen) == len(set(seen)) and set(seen) == expected(server, window)
    assert walk(connector, Window(at(since), at(since))) == []


def test_a_page_is_one_list_call_two_detail_batches_and_tracking(server, connector) -> None:  # noqa: ANN001
    page = next(connector.order_pages(recent()))
    by_path = server.stats.snapshot()["by_path"]
    assert by_path[api.ORDER_LIST] == 1 and by_path[api.ORDER_DETAIL] == 2  # 100 listed, 50 per detail call
    assert page.requests == sum(by_path.values())
    truth = {o["order_sn"]: o for o in server.app.dump_orders()}
    assert all(r == truth[r["order_sn"]] for r in page.records)  # tracking merged as the sandbox says


def test_resuming_from_a_position_in_a_fresh_connector_leaves_no_gap(server, connector) -> None:  # noqa: ANN001
    window = recent()
    first = next(connector.order_pages(window))
    assert first.position is not None
    position = json.loads(json.dumps(first.position))  # what the engine commits
    fresh = ShopeeConnector(server.url, server.app.demo_credentials())
    seen = [r["order_sn"] for r in first.records] + walk(fresh, window, position)
    assert len(seen) == len(set(seen)) and set(seen) == expected(server, window)


def test_more_than_a_page_sharing_one_second_each_appear_once(server, connector) -> None:  # noqa: ANN001
    sns = [o["order_sn"] for o in server.app.dump_orders()[:230]]
    second = FROZEN - 7200
    admin(server, "mutate", {"touch": sns, "at": second})
    window = Window(at(second - 5), at(second + 5))
    pages = list(connector.order_pages(window))
    assert sorted(r["order_sn"] for p in pages for r in p.records) == sorted(sns)
    assert pages[0].position == {"time_from": second, "cursor": "", "seen": sorted(r["order_sn"] for r in pages[0].records)}
    resumed = [r["order_sn"] for r in pages[0].records] + walk(ShopeeConnector(server.url, server.app.demo_credentials()), window, pages[0].position)
    assert sorted(resumed) == sorted(sns)


def test_an_order_updated_mid_walk_does_not_hide_any_other(server, connector) -> None:  # noqa: ANN001
    window = recent()
    want = expected(server, window)
    pages = connector.order_pages(window)
    first = next(pages)
    moved = [r["order_sn"] for r in first.records[:5]]  # already delivered; they jump out of the window
    admin(server, "mutate", {"touch": moved, "at": FROZEN + 3600})
    seen = [r["order_sn"] for r in first.records] + [r["order_sn"] for page in pages for r in page.records]
    assert set(seen) == want and len(seen) == len(set(seen))


def test_an_expired_access_token_is_refreshed_once_and_persisted_before_use(server) -> None:  # noqa: ANN001
    saved: list[dict] = []
    old = server.app.demo_credentials()
    connector = ShopeeConnector(server.url, old, on_credentials=saved.append)
    server.app.expire_tokens()
    connector.check()
    new, with_grant = saved  # the refreshed pair first, then the grant's expiry check() read
    assert new["refresh_token"] != old["refresh_token"] and new["access_token"] != old["access_token"]
    assert new["access_expires_at"] > FROZEN and new["partner_key"] == old["partner_key"]
    assert new["refresh_expires_at"] - new["access_expires_at"] > 29 * 86400
    assert with_grant["authorization_expires_at"] == server.app.authorized_at + 365 * 86400
    assert server.app.demo_credentials()["refresh_token"] == new["refresh_token"]
    by_path = server.stats.snapshot()["by_path"]
    assert by_path == {api.SHOP_INFO: 2, api.REFRESH: 1}
    connector.check()
    assert len(saved) == 2  # the new token works: no second refresh, the grant is unchanged


def test_a_token_near_expiry_is_refreshed_before_the_call(server) -> None:  # noqa: ANN001
    saved: list[dict] = []
    soon = int(time.time()) + 60  # inside REFRESH_MARGIN
    connector = ShopeeConnector(server.url, {**server.app.demo_credentials(), "access_expires_at": soon}, on_credentials=saved.append)
    connector.check()
    assert server.stats.snapshot()["by_path"] == {api.REFRESH: 1, api.SHOP_INFO: 1}, "refreshed first, no refused call"
    assert saved[0]["access_expires_at"] > soon
    expiry = connector.credential_expiry()
    assert expiry.access is not None and expiry.access.timestamp() == saved[0]["access_expires_at"]
    assert connector.refresh(within=timedelta(minutes=30)) is False  # 4 h left: nothing to do
    assert connector.refresh(force=True) is True
    assert server.stats.snapshot()["by_path"][api.REFRESH] == 2


def test_a_spent_refresh_token_is_a_credential_error_not_a_loop(server) -> None:  # noqa: ANN001
    old = server.app.demo_credentials()
    ShopeeConnector(server.url, old).check()
    server.app.expire_tokens()
    ShopeeConnector(server.url, old).check()  # refreshes with the only refresh token: spends it
    server.app.expire_tokens()
    stale = ShopeeConnector(server.url, old)  # still holds the spent refresh token
    before = server.stats.requests
    with pytest.raises(CredentialError, match="refreshing the access token failed") as info:
        stale.check()
    assert server.stats.requests - before == 2  # one refused call, one refused refresh
    assert old["refresh_token"] not in str(info.value) and old["access_token"] not in str(info.value)


def test_rate_limits_and_system_errors_are_retried_even_inside_http_200(server, connector) -> None:  # noqa: ANN001
    server.faults.update({"fail_next": [429, 500], "retry_after": None})
    connector.check()
    assert server.stats.snapshot()["by_status"] == {429: 1, 500: 1, 200: 1}


def test_parameter_errors_fail_at_once_with_the_shopee_message(server, connector) -> None:  # noqa: ANN001
    with pytest.raises(ApiError) as info:
        connector._call("GET", api.ORDER_LIST, params={"time_range_field": "update_time", "time_from": 1, "time_to": FROZEN, "page_size": 10})
    assert info.value.code == "order.order_list_invalid_time" and "15days" in str(info.value)
    assert server.stats.requests == 1


def test_retries_end_within_their_budget(server) -> None:  # noqa: ANN001
    connector = ShopeeConnector(server.url, server.app.demo_credentials(), retry=RetryConfig(attempts=3, base_delay=0.0))
    server.faults.update({"fail_next": [500, 500, 500, 500]})
    with pytest.raises(TransientError):
        connector.check()
    assert server.stats.requests == 3


def test_a_wrong_partner_key_is_refused_without_retry_and_never_echoed(server) -> None:  # noqa: ANN001
    good = server.app.demo_credentials()
    bad = {**good, "partner_key": "shpk_canary_secret_0042"}
    with pytest.raises(CredentialError) as info:
        ShopeeConnector(server.url, bad).check()
    assert server.stats.requests == 1 and info.value.code == "error_sign"
    text = f"{info.value} {info.value!r}"
    assert "canary" not in text and good["access_token"] not in text and "sign=" not in text


def test_orders_by_id_reports_unknown_order_numbers_as_missing(server, connector) -> None:  # noqa: ANN001
    known = [o["order_sn"] for o in server.app.dump_orders()[:70]]
    pages = list(connector.orders_by_id([*known, "240101UNKNOWN1", known[0]]))
    assert len(pages) == 2  # 50 order numbers per detail call
    assert sorted(r["order_sn"] for p in pages for r in p.records) == sorted(known)
    assert [m for p in pages for m in p.missing] == ["240101UNKNOWN1"]
    assert list(connector.orders_by_id(["240101UNKNOWN2"]))[0].missing == ["240101UNKNOWN2"]


def test_bad_credentials_and_plain_http_give_clear_errors() -> None:
    with pytest.raises(CredentialError, match="partner_id"):
        ShopeeConnector("https://partner.shopeemobile.com", {"partner_id": "x", "partner_key": "k"})
    creds = {"partner_id": 1, "partner_key": "k", "shop_id": 2, "access_token": "a", "refresh_token": "r"}
    with pytest.raises(ConnectorError, match="https"):
        ShopeeConnector("http://partner.shopeemobile.com", creds)
    ShopeeConnector("https://partner.shopeemobile.com", creds)


def test_the_engine_picks_up_a_tracking_number_that_came_without_an_update(hub, server) -> None:  # noqa: ANN001
    """Shopee assigns the number after the shipment is arranged, without a new update_time
    ([S3]/[S4], marketplaces.md §1.5). The order is synced while it waits, more than a
    lookback after its last update, so no later list by update time reaches back to it:
    only the follow-up phase, which re-reads waiting orders by number, can bring the number."""
    hub.accounts.add("s1", "shopee", "Shopee", server.url, server.app.demo_credentials(), history_days=60)
    lookback = ShopeeConnector.lookback.total_seconds()
    inserted = set(admin(server, "mutate", {"insert": 8, "at": FROZEN})["inserted"])
    order = None
    for _ in range(400):  # the data clock in 5-minute steps until an order has waited a lookback
        server.app.clock.advance(300)
        now = server.app.clock.now()
        order = next(
            (o for o in server.app.dump_orders()
             if o["order_sn"] in inserted and o["order_status"] == "PROCESSED"
             and o["package_list"][0].get("tracking_number") == "" and now - o["update_time"] > lookback),
            None,
        )  # fmt: skip
        if order is not None:
            break
    if order is None:
        pytest.fail("no seeded order waited a whole lookback for its tracking number")
    sn, update_time = order["order_sn"], order["update_time"]
    hub.engine.clock = lambda: at(server.app.clock.now())
    hub.engine.run(SyncRequest("s1"))
    assert stored_tracking(hub, sn) is None
    while not next(o for o in server.app.dump_orders() if o["order_sn"] == sn)["package_list"][0]["tracking_number"]:
        server.app.clock.advance(300)
    final = next(o for o in server.app.dump_orders() if o["order_sn"] == sn)
    assert final["update_time"] == update_time  # the number came without an update...
    with hub.db.connect() as conn:
        cursor = store.load_cursor(conn, "s1")
    assert at(update_time) < cursor - ShopeeConnector.lookback  # ...and before the next list window: the list cannot see it
    run = hub.engine.run(SyncRequest("s1"))
    assert run.counts.changed >= 1
    assert stored_tracking(hub, sn) == final["package_list"][0]["tracking_number"]


def test_tokens_rotated_during_a_sync_are_persisted_and_the_next_run_uses_them(hub, server) -> None:  # noqa: ANN001
    hub.accounts.add("s2", "shopee", "Shopee", server.url, server.app.demo_credentials(), history_days=60)
    for _ in range(2):  # the second refresh needs the refresh token the first one stored
        server.app.expire_tokens()
        run = hub.engine.run(SyncRequest("s2"))
        assert run.status == "completed"
        wrapped = hub.accounts.credentials("s2")
        assert "**********" in repr(wrapped) and server.app.demo_credentials()["refresh_token"] not in repr(wrapped)
        stored = plain(wrapped)
        assert stored["refresh_token"] == server.app.demo_credentials()["refresh_token"]
        assert stored["access_token"] == server.app.demo_credentials()["access_token"]
    assert server.stats.snapshot()["by_path"][api.REFRESH] == 2
    assert hub.accounts.get("s2").status == "active"
