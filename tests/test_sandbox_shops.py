"""One sandbox process standing in for many shops (``SandboxServer.hosting``).

Each ``/shops/<n>`` is its own seeded app with its own credentials, knobs and counters; a
connector pointed at ``<server>/shops/<n>`` works unchanged, and the channel's contract
(signatures over the API path, each shop's request budget) still holds per shop.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import requests

from connectors.contract import Window
from connectors.shopee import api
from connectors.shopee.client import ShopeeConnector
from connectors.shopee.sandbox import ShopeeSandbox
from connectors.woocommerce.client import WooCommerceConnector
from connectors.woocommerce.sandbox import ORDERS_ROUTE, WooCommerceSandbox
from connectors._sandbox import SandboxServer
from connectors._http import RetryConfig

WINDOW = Window(datetime.now(timezone.utc) - timedelta(days=14), datetime.now(timezone.utc))
NO_RETRY = RetryConfig(attempts=1)


@pytest.fixture
def shopee_shops():
    with SandboxServer.hosting(lambda n: ShopeeSandbox(orders=12, seed=n)) as server:
        yield server


def order_numbers(connector: ShopeeConnector) -> set[str]:
    return {r["order_sn"] for page in connector.order_pages(WINDOW, None) for r in page.records}


def test_each_shop_is_its_own_seeded_app_behind_its_prefix(shopee_shops: SandboxServer) -> None:
    one, two = shopee_shops.shop(1), shopee_shops.shop(2)
    assert one.app.demo_credentials()["shop_id"] != two.app.demo_credentials()["shop_id"]

    seen = {n: order_numbers(ShopeeConnector(shopee_shops.shop_url(n), shopee_shops.shop(n).app.demo_credentials())) for n in (1, 2)}

    for n in (1, 2):
        truth = {o["order_sn"] for o in shopee_shops.shop(n).app.dump_orders() if WINDOW.since.timestamp() <= o["update_time"] < WINDOW.until.timestamp()}
        assert seen[n] == truth and truth
    assert not seen[1] & seen[2]
    assert one.stats.snapshot()["by_path"][api.ORDER_LIST] == two.stats.snapshot()["by_path"][api.ORDER_LIST] == 1  # each counted where it landed


def test_a_shop_refuses_another_shops_credentials(shopee_shops: SandboxServer) -> None:
    stranger = ShopeeConnector(shopee_shops.shop_url(2), shopee_shops.shop(1).app.demo_credentials(), retry=NO_RETRY)
    with pytest.raises(Exception, match="partner_id is invalid|Wrong sign|credential"):
        stranger.check()


def test_signatures_are_over_the_api_path_not_the_shop_prefix(shopee_shops: SandboxServer) -> None:
    creds = shopee_shops.shop(4).app.demo_credentials()
    timestamp = int(datetime.now(timezone.utc).timestamp())
    prefixed = "/shops/4" + api.SHOP_INFO

    def signed_over(path: str) -> str:
        base = api.base_string(creds["partner_id"], path, timestamp, creds["access_token"], creds["shop_id"])
        query = {"partner_id": creds["partner_id"], "timestamp": timestamp, "access_token": creds["access_token"], "shop_id": creds["shop_id"], "sign": api.sign(creds["partner_key"], base)}
        return requests.get(shopee_shops.url + prefixed, params=query, timeout=5).json()["error"]

    assert signed_over(api.SHOP_INFO) == ""
    assert signed_over(prefixed) == "error_sign"


def test_root_knobs_reach_every_shop_and_each_shop_keeps_its_own_budget(shopee_shops: SandboxServer) -> None:
    shopee_shops.shop(0)  # exists before the knobs are set
    requests.post(f"{shopee_shops.url}/_sandbox/faults", json={"max_rps": 1, "retry_after": None}, timeout=5).raise_for_status()
    assert shopee_shops.shop(0).faults.max_rps == shopee_shops.shop(7).faults.max_rps == 1  # old and new shops

    def two_calls(n: int) -> list[str]:
        c = ShopeeConnector(shopee_shops.shop_url(n), shopee_shops.shop(n).app.demo_credentials(), retry=NO_RETRY)
        out = []
        for _ in range(2):
            try:
                c.check()
                out.append("ok")
            except Exception:  # noqa: BLE001 - the budget's 429
                out.append("429")
        return out

    # The second call within a second is over one shop's budget, but never over another's.
    assert two_calls(0)[0] == "ok" and two_calls(7)[0] == "ok"
    assert shopee_shops.shop(0).stats.snapshot()["by_status"].get(429, 0) <= 1


def test_shops_list_their_credentials_and_the_host_sums_their_stats(shopee_shops: SandboxServer) -> None:
    listed = requests.get(f"{shopee_shops.url}/_sandbox/shops", params={"first": 10, "count": 3}, timeout=5).json()["shops"]
    assert [s["shop"] for s in listed] == [10, 11, 12]
    assert listed[0]["credentials"] == shopee_shops.shop(10).app.demo_credentials()
    for s in listed:
        ShopeeConnector(shopee_shops.url + s["path"], s["credentials"]).check()
    stats = requests.get(f"{shopee_shops.url}/_sandbox/stats", timeout=5).json()
    assert (stats["shops"], stats["requests"]) == (3, 3)
    assert requests.get(f"{shopee_shops.url}/api/v2/shop/get_shop_info", timeout=5).status_code == 404  # no shop without a prefix


def test_latency_is_slept_per_request_so_concurrent_requests_overlap(shopee_shops: SandboxServer) -> None:
    """Ten clients of ten shops release together into a 1 s latency: all ten are in flight at
    once (a lock around the sleep would show a peak of 1)."""
    shopee_shops.shop(0)
    requests.post(f"{shopee_shops.url}/_sandbox/faults", json={"latency_ms": 1000}, timeout=5).raise_for_status()
    connectors = [ShopeeConnector(shopee_shops.shop_url(n), shopee_shops.shop(n).app.demo_credentials()) for n in range(10)]
    start = threading.Barrier(len(connectors))

    def call(c: ShopeeConnector) -> None:
        start.wait()
        c.check()

    threads = [threading.Thread(target=call, args=(c,)) for c in connectors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert requests.get(f"{shopee_shops.url}/_sandbox/stats", timeout=5).json()["peak_in_flight"] == 10


def test_woocommerce_links_keep_the_shop_prefix() -> None:
    with SandboxServer.hosting(lambda n: WooCommerceSandbox(orders=30, seed=n)) as server:
        creds = server.shop(5).app.demo_credentials()
        reply = requests.get(
            server.shop_url(5) + ORDERS_ROUTE, params={"per_page": 10, "orderby": "modified", "order": "asc"}, auth=(creds["consumer_key"], creds["consumer_secret"]), timeout=5
        )
        assert reply.status_code == 200 and len(reply.json()) == 10
        assert "/shops/5" + ORDERS_ROUTE in reply.headers["Link"]
        orders = [r for page in WooCommerceConnector(server.shop_url(5), creds).order_pages(WINDOW, None) for r in page.records]
        assert {o["id"] for o in orders} <= {o["id"] for o in server.shop(5).app.dump_orders()}
