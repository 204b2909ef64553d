"""The connector against its sandbox: exact windows, safe resumption, retries, refusals."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from connectors._http import ConnectorError, CredentialError, RetryConfig, TransientError
from connectors.contract import OrderSource, Window
from connectors.woocommerce.client import WooCommerceConnector
from tests.woocommerce.support import FROZEN, admin, modified

UTC = timezone.utc


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def walk(connector: WooCommerceConnector, window: Window, position=None) -> list[int]:  # noqa: ANN001
    return [r["id"] for page in connector.order_pages(window, position) for r in page.records]


def expected(server, window: Window) -> set[int]:  # noqa: ANN001
    return {o["id"] for o in server.app.dump_orders() if window.since <= at(modified(o)) < window.until}


def test_it_meets_the_protocol_and_check_is_one_call(server, connector) -> None:  # noqa: ANN001
    assert isinstance(connector, OrderSource) and connector.channel == "woocommerce"
    connector.check()
    assert server.stats.snapshot()["requests"] == 1


def test_a_window_returns_exactly_its_orders_once(server, connector) -> None:  # noqa: ANN001
    stamps = sorted({modified(o) for o in server.app.dump_orders()})
    since, until = stamps[20], stamps[-20]  # bounds on real update times: since is in, until is out
    for window in (Window(at(since), at(until)), Window(at(since - 0.4), at(until + 0.6))):
        seen = walk(connector, window)
        assert len(seen) == len(set(seen))
        assert set(seen) == expected(server, window)
    assert walk(connector, Window(at(since), at(since))) == []


def test_resuming_from_a_position_in_a_fresh_connector_leaves_no_gap(server, connector) -> None:  # noqa: ANN001
    window = Window(at(FROZEN - 60 * 86400), at(FROZEN + 1))
    pages = connector.order_pages(window)
    first = next(pages)
    position = json.loads(json.dumps(first.position))  # what the engine commits
    fresh = WooCommerceConnector(server.url, server.app.demo_credentials())
    rest = walk(fresh, window, position)
    seen = [r["id"] for r in first.records] + rest
    assert len(seen) == len(set(seen)) and set(seen) == expected(server, window)


def test_more_than_a_page_sharing_one_second_each_appear_once(server, connector) -> None:  # noqa: ANN001
    ids = [o["id"] for o in server.app.dump_orders()[:230]]
    second = FROZEN - 7200
    admin(server, "mutate", {"touch": ids, "at": second})
    window = Window(at(second - 5), at(second + 5))
    pages = list(connector.order_pages(window))
    seen = [r["id"] for p in pages for r in p.records]
    assert sorted(seen) == sorted(ids)
    resumed = [r["id"] for r in pages[0].records] + walk(WooCommerceConnector(server.url, server.app.demo_credentials()), window, pages[0].position)
    assert sorted(resumed) == sorted(ids)


def test_an_order_modified_mid_walk_does_not_hide_any_other(server, connector) -> None:  # noqa: ANN001
    window = Window(at(FROZEN - 60 * 86400), at(FROZEN + 1))
    want = expected(server, window)
    pages = connector.order_pages(window)
    first = next(pages)
    moved = [r["id"] for r in first.records[:5]]  # already delivered; they jump out of the window
    admin(server, "mutate", {"touch": moved, "at": FROZEN + 3600})
    seen = [r["id"] for r in first.records] + [r["id"] for page in pages for r in page.records]
    assert set(seen) == want and len(seen) == len(set(seen))


def test_page_numbers_alone_would_have_skipped_orders(server, connector) -> None:  # noqa: ANN001
    """The hazard the keyset restart avoids: a touched order shifts later pages up."""
    window = Window(at(FROZEN - 60 * 86400), at(FROZEN + 1))
    want = expected(server, window)
    pages = connector.order_pages(window)
    first = next(pages)
    admin(server, "mutate", {"touch": [first.records[0]["id"]], "at": FROZEN + 3600})
    params = {"dates_are_gmt": "true", "orderby": "modified", "order": "asc", "per_page": 100, "modified_after": "2000-01-01T00:00:00"}
    naive = [o["id"] for page in (2, 3) for o in connector._http.request("GET", "/wp-json/wc/v3/orders", params={**params, "page": page})[0]]
    assert want - {r["id"] for r in first.records} - set(naive)  # something fell through the crack


def test_rate_limits_and_server_errors_are_retried(server, connector) -> None:  # noqa: ANN001
    server.faults.update({"fail_next": [429, 500, 503]})
    page = next(connector.order_pages(Window(at(FROZEN - 86400), at(FROZEN + 1))))
    assert page.requests == 4
    assert server.stats.snapshot()["by_status"] == {429: 1, 500: 1, 503: 1, 200: 1}


def test_retries_end_within_their_budget(server) -> None:  # noqa: ANN001
    connector = WooCommerceConnector(server.url, server.app.demo_credentials(), retry=RetryConfig(attempts=3, base_delay=0.0))
    server.faults.update({"fail_next": [500, 500, 500, 500]})
    with pytest.raises(TransientError):
        connector.check()
    assert server.stats.snapshot()["requests"] == 3


def test_refused_credentials_are_not_retried_and_never_echoed(server) -> None:  # noqa: ANN001
    good = server.app.demo_credentials()
    for bad in ({**good, "consumer_secret": "cs_canary_secret_0042"}, {**good, "consumer_key": "ck_canary_key_0042"}):
        before = server.stats.snapshot()["requests"]
        with pytest.raises(CredentialError) as info:
            WooCommerceConnector(server.url, bad).check()
        assert server.stats.snapshot()["requests"] == before + 1
        text = f"{info.value} {info.value!r}"
        assert "canary" not in text and good["consumer_secret"] not in text and good["consumer_key"] not in text
        assert info.value.code in ("woocommerce_rest_authentication_error", "woocommerce_rest_cannot_view")


def test_no_secret_in_any_error_message(server) -> None:  # noqa: ANN001
    secret = "cs_canary_secret_0042"
    errors = []
    for make in (
        lambda: WooCommerceConnector("http://shop.example", {"consumer_key": "ck_x", "consumer_secret": secret}),
        lambda: WooCommerceConnector(server.url, {"consumer_key": "ck_x"}),
        lambda: WooCommerceConnector(server.url, {"consumer_key": "ck_x", "consumer_secret": secret}, retry=RetryConfig(attempts=1)).check(),
    ):
        with pytest.raises(ConnectorError) as info:
            make()
        errors.append(f"{info.value} {info.value!r}")
    server.faults.update({"fail_next": [500]})
    with pytest.raises(TransientError) as info:
        WooCommerceConnector(server.url, {"consumer_key": "ck_x", "consumer_secret": secret}, retry=RetryConfig(attempts=1)).check()
    errors.append(str(info.value))
    assert all(secret not in text for text in errors)


def test_orders_by_id_reports_unknown_ids_as_missing(server, connector) -> None:  # noqa: ANN001
    known = [str(o["id"]) for o in server.app.dump_orders()[:130]]
    asked = [*known, "999999", "abc", "0727", known[0]]
    pages = list(connector.orders_by_id(asked))
    assert len(pages) == 2 and sum(p.requests for p in pages) == 2  # 100 ids per request
    assert sorted(str(r["id"]) for p in pages for r in p.records) == sorted(known)
    assert sorted(m for p in pages for m in p.missing) == sorted(["999999", "abc", "0727"])
    assert list(connector.orders_by_id(["nope"]))[0].missing == ["nope"]


def test_base_url_must_be_https_unless_loopback() -> None:
    creds = {"consumer_key": "ck_x", "consumer_secret": "cs_y"}
    for ok in ("https://toko.example", "https://toko.example/shop", "http://127.0.0.1:8080", "http://localhost:9000", "http://[::1]:8000"):
        WooCommerceConnector(ok, creds)
    for bad in ("http://toko.example", "ftp://toko.example", "toko.example"):
        with pytest.raises(ConnectorError, match="https"):
            WooCommerceConnector(bad, creds)


def test_positions_are_json_and_ties_resume_from_the_second_before(server, connector) -> None:  # noqa: ANN001
    window = Window(at(FROZEN - 60 * 86400), at(FROZEN + 1))
    first = next(connector.order_pages(window))
    newest = max(modified(r) for r in first.records)
    assert first.position["page"] == 1
    assert first.position["modified_after"] == at(newest - 1).strftime("%Y-%m-%dT%H:%M:%S")
    assert set(first.position["seen"]) == {str(r["id"]) for r in first.records if modified(r) == newest}
    assert json.loads(json.dumps(first.position)) == first.position
    assert connector.lookback == timedelta(minutes=10) and connector.max_window is None
