"""The connector against its sandbox: exact windows, the offset cap, safe resumption, tokens, refusals."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from connectors._http import ApiError, ConnectorError, CredentialError, PaginationLoop, RetryConfig
from connectors._http.walk import TimeCursorWalk
from connectors._sandbox import SandboxServer
from connectors.contract import OrderSource, RefreshableSource, Window
from connectors.lazada import api, client
from connectors.lazada.client import LazadaConnector, epoch_of
from connectors.lazada.sandbox import LazadaSandbox
from simpul.canonical import FulfillmentStatus, OrderStatus
from simpul.engine import SyncRequest
from tests.lazada.support import FROZEN, admin

UTC = timezone.utc
DAY = 86400
QUICK = RetryConfig(attempts=2, base_delay=0.01)


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def walk(connector: LazadaConnector, window: Window, position=None) -> list[str]:  # noqa: ANN001
    return [r["order_id"] for page in connector.order_pages(window, position) for r in page.records]


def expected(server, window: Window) -> set[str]:  # noqa: ANN001
    return {o["order_id"] for o in server.app.dump_orders() if window.since <= at(epoch_of(o["updated_at"])) < window.until}


def everything() -> Window:
    return Window(at(FROZEN - 60 * DAY), at(FROZEN + 1))


def test_it_meets_the_protocols_and_check_is_one_signed_call(server, connector) -> None:  # noqa: ANN001
    assert isinstance(connector, OrderSource) and isinstance(connector, RefreshableSource) and connector.channel == "lazada"
    connector.check()
    assert server.stats.snapshot()["by_path"] == {api.SELLER: 1}


def test_a_window_returns_exactly_its_orders_once_and_the_bounds_are_half_open(server, connector) -> None:  # noqa: ANN001
    stamps = sorted({epoch_of(o["updated_at"]) for o in server.app.dump_orders()})
    since, until = stamps[10], stamps[-10]
    for window in (Window(at(since), at(until)), Window(at(since - 0.4), at(until + 0.6))):
        seen = walk(connector, window)
        assert len(seen) == len(set(seen)) and set(seen) == expected(server, window)
    assert walk(connector, Window(at(since), at(since))) == []


def test_inclusive_bounds_would_not_double_or_lose_an_order(server, connector) -> None:  # noqa: ANN001
    server.app.inclusive_bounds = True  # the other reading of update_after/update_before
    stamps = sorted({epoch_of(o["updated_at"]) for o in server.app.dump_orders()})
    window = Window(at(stamps[5]), at(stamps[-5]))
    seen = walk(connector, window)
    assert len(seen) == len(set(seen)) and set(seen) == expected(server, window)


def test_a_page_is_one_list_call_and_two_item_batches_and_carries_the_items(server, connector) -> None:  # noqa: ANN001
    page = next(connector.order_pages(everything()))
    by_path = server.stats.snapshot()["by_path"]
    assert by_path == {api.ORDERS: 1, api.ORDER_ITEMS: 2} and page.requests == 3  # 100 listed, 50 per items call
    truth = {o["order_id"]: o for o in server.app.dump_orders()}
    assert len(page.records) == 100 and all(r == truth[r["order_id"]] for r in page.records)


def test_resuming_from_a_position_in_a_fresh_connector_leaves_no_gap(server, connector) -> None:  # noqa: ANN001
    window = everything()
    first = next(connector.order_pages(window))
    position = json.loads(json.dumps(first.position))  # what the engine commits
    fresh = LazadaConnector(server.url, server.app.demo_credentials())
    seen = [r["order_id"] for r in first.records] + walk(fresh, window, position)
    assert len(seen) == len(set(seen)) and set(seen) == expected(server, window)


def test_the_walk_restarts_at_the_newest_update_time_so_the_offset_cap_is_never_reached(server, connector) -> None:  # noqa: ANN001
    """[L5]: at the offset cap, restart at the last order's time with offset 0. The walk does
    that after every page. Negative control: the same walk paging by offset alone (no time
    to restart from) runs into the cap the sandbox enforces."""
    server.app.offset_cap = 150  # a small cap; 250 orders are 3 pages
    window = everything()
    assert sorted(walk(connector, window)) == sorted(expected(server, window))
    offset_only = TimeCursorWalk("lazada", "/orders/get", key=client._order_id, stamp=lambda r: None, format=client.WALK.format, first=0, follow_unplaced=True)
    with pytest.raises(ApiError, match="InvalidParameter: offset must be between 0 and 150"):
        list(offset_only.pages(window, None, connector._list_page, counter=connector._http.counter))


def test_more_than_a_page_sharing_one_second_each_appear_once(server, connector) -> None:  # noqa: ANN001
    ids = [o["order_id"] for o in server.app.dump_orders()[:230]]
    second = FROZEN - 7200
    admin(server, "mutate", {"touch": ids, "at": second})
    window = Window(at(second - 5), at(second + 5))
    pages = list(connector.order_pages(window))
    assert sorted(r["order_id"] for p in pages for r in p.records) == sorted(ids)
    # The first page was asked from before the second: the walk restarts there at offset 0
    # (the 100 it yielded come back once and are dropped), then follows the offset.
    assert pages[0].position == {"update_second": second, "offset": 0, "seen": sorted(r["order_id"] for r in pages[0].records)}
    resumed = [r["order_id"] for r in pages[0].records] + walk(LazadaConnector(server.url, server.app.demo_credentials()), window, pages[0].position)
    assert sorted(resumed) == sorted(ids)


def test_more_orders_in_one_second_than_the_offset_cap_stop_the_walk_instead_of_skipping(server, connector, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(api, "OFFSET_CAP", 150)
    ids = [o["order_id"] for o in server.app.dump_orders()[:230]]
    admin(server, "mutate", {"touch": ids, "at": FROZEN - 7200})
    with pytest.raises(ConnectorError, match="more than 150 orders share the update second"):
        walk(connector, Window(at(FROZEN - 7205), at(FROZEN - 7195)))


def test_an_order_updated_mid_walk_does_not_hide_any_other(server, connector) -> None:  # noqa: ANN001
    window = everything()
    want = expected(server, window)
    pages = connector.order_pages(window)
    first = next(pages)
    moved = [r["order_id"] for r in first.records[:5]]  # already yielded; they jump out of the window
    admin(server, "mutate", {"touch": moved, "at": FROZEN + 3600})
    seen = [r["order_id"] for r in first.records] + [r["order_id"] for page in pages for r in page.records]
    assert set(seen) == want and len(seen) == len(set(seen))


@pytest.mark.parametrize("kind", ["repeat", "empty"])
def test_a_stale_or_empty_page_claiming_more_stops_the_walk_instead_of_skipping(server, connector, kind) -> None:  # noqa: ANN001
    server.faults.update({"page_size": 20, "page_faults": [None, None, kind]})
    with pytest.raises(PaginationLoop):
        walk(connector, everything())


def test_orders_by_id_reads_items_then_each_order_and_names_the_unknown(server, connector) -> None:  # noqa: ANN001
    truth = {o["order_id"]: o for o in server.app.dump_orders()}
    wanted = list(truth)[:3]
    [page] = list(connector.orders_by_id([*wanted, "999999", "not-a-number"]))
    assert sorted(r["order_id"] for r in page.records) == sorted(wanted) and all(r == truth[r["order_id"]] for r in page.records)
    assert sorted(page.missing) == ["999999", "not-a-number"]
    assert server.stats.snapshot()["by_path"] == {api.ORDER_ITEMS: 1, api.ORDER: 3}


def test_an_expired_access_token_is_refreshed_once_and_persisted_before_use(server) -> None:  # noqa: ANN001
    saved: list[dict] = []
    old = server.app.demo_credentials()
    connector = LazadaConnector(server.url, old, on_credentials=saved.append)
    server.app.expire_tokens()
    connector.check()
    [new] = saved
    assert new["refresh_token"] != old["refresh_token"] and new["access_token"] != old["access_token"] and new["app_secret"] == old["app_secret"]
    assert new["refresh_expires_at"] - new["access_expires_at"] > 100 * DAY  # 180 days against 30
    assert server.stats.snapshot()["by_path"] == {api.SELLER: 2, api.REFRESH: 1}
    connector.check()
    assert server.stats.snapshot()["by_path"][api.SELLER] == 3


def test_refresh_happens_before_expiry_and_not_when_the_token_is_fresh(server) -> None:  # noqa: ANN001
    saved: list[dict] = []
    connector = LazadaConnector(server.url, server.app.demo_credentials(), on_credentials=saved.append)
    assert connector.refresh(within=timedelta(days=1)) is True  # expiry unknown: refreshed
    expiry = connector.credential_expiry()
    assert expiry.access is not None and timedelta(days=29) < expiry.access - datetime.now(UTC) <= timedelta(days=30)
    assert connector.refresh(within=timedelta(days=1)) is False
    assert connector.refresh(within=timedelta(days=31)) is True and len(saved) == 2
    connector.check()  # the newest pair works; the retired one does not
    stale = LazadaConnector(server.url, {**saved[0]}, retry=QUICK)
    with pytest.raises(CredentialError, match="IllegalRefreshToken"):
        stale.check()


def test_a_lowercase_signature_is_refused_without_retry(server, monkeypatch) -> None:  # noqa: ANN001
    """Broken on purpose: [L1] wants UPPERCASE hex; the sandbox's own signer refuses the rest."""
    monkeypatch.setattr(client.api, "sign", lambda secret, base: api.hmac.new(secret.encode(), base.encode(), api.hashlib.sha256).hexdigest())
    connector = LazadaConnector(server.url, server.app.demo_credentials(), retry=QUICK)
    with pytest.raises(CredentialError, match="IncompleteSignature"):
        connector.check()
    assert server.stats.snapshot()["requests"] == 1


def test_base_urls_must_be_https_and_the_token_service_is_lazadas_central_one(server) -> None:  # noqa: ANN001
    creds = server.app.demo_credentials()
    with pytest.raises(ConnectorError, match="must use https"):
        LazadaConnector("http://api.lazada.co.id/rest", creds)
    assert LazadaConnector("https://api.lazada.co.id/rest", creds)._auth_http.base_url == api.AUTH_URL
    assert LazadaConnector(server.url, creds)._auth_http.base_url == server.url  # a sandbox serves both
    with pytest.raises(CredentialError, match="credentials need"):
        LazadaConnector(server.url, {**creds, "app_secret": ""})


def test_a_sync_stores_partial_orders_as_partial(hub) -> None:  # noqa: ANN001
    """No migration: the status columns are plain strings (SQLite and PostgreSQL)."""
    app = LazadaSandbox(orders=120, seed=3)
    app.clock.freeze(app.clock.now())  # the engine syncs up to now: the data must be recent
    with SandboxServer(app, seed=3) as server:
        hub.accounts.add("lz", "lazada", "Lazada", server.url, app.demo_credentials(), history_days=60)
        run = hub.engine.run(SyncRequest("lz"))
    assert run.status == "completed" and (run.counts.new, run.returns.new) == (120, len(app.dump_returns()))  # the orders, then the reverse orders
    from simpul.model import Order
    import sqlalchemy as sa

    with hub.db.connect() as conn:
        rows = conn.execute(sa.select(Order.__table__.c.status, Order.__table__.c.fulfillment_status)).all()
    assert (OrderStatus.PARTIAL, FulfillmentStatus.PARTIAL) in {tuple(r) for r in rows}
