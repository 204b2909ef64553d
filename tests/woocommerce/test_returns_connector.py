"""The returns walk against the sandbox: the refunds of the orders modified in a window,
through the orders walk (same window parameters, pages and positions), each refunded
order's refunds read and paged, unreadable replies isolated, refusals."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from connectors._http import CredentialError, ImplausibleReply, MalformedReply
from connectors._sandbox import Reply
from connectors.contract import ReturnSource, Window
from connectors._sandbox import SandboxClock, SandboxServer
from connectors.woocommerce import client
from connectors.woocommerce import sandbox as twin
from connectors.woocommerce.client import WooCommerceConnector
from tests.woocommerce.support import FROZEN, admin, gmt, modified

UTC = timezone.utc
DOCUMENTED_REFUNDS = "/wp-json/wc/v3/orders/{id}/refunds"  # storefronts_couriers.md §2.4
EVERYTHING = Window(datetime.fromtimestamp(FROZEN - 60 * 86400, UTC), datetime.fromtimestamp(FROZEN + 1, UTC))


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def key(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True)


def spy(monkeypatch: pytest.MonkeyPatch, connector: WooCommerceConnector) -> list[tuple[str, dict[str, Any]]]:
    """Every request the connector sends: (path, params)."""
    calls: list[tuple[str, dict[str, Any]]] = []
    real = connector._http.request

    def request(method: str, path: str, **kw: Any) -> Any:
        calls.append((path, dict(kw.get("params") or {})))
        return real(method, path, **kw)

    monkeypatch.setattr(connector._http, "request", request)
    return calls


def expected(server, window: Window) -> list[dict[str, Any]]:  # noqa: ANN001
    """The sandbox's refund records whose order was modified inside ``window``."""
    inside = {o["id"] for o in server.app.dump_orders() if window.since <= at(modified(o)) < window.until}
    return [r for r in server.app.dump_returns() if r["order"]["id"] in inside]


def test_it_meets_the_protocol(connector) -> None:  # noqa: ANN001
    assert isinstance(connector, ReturnSource)


def test_the_whole_history_yields_every_refund_once_over_several_pages(server, connector) -> None:  # noqa: ANN001
    pages = list(connector.return_pages(EVERYTHING))
    records = [r for p in pages for r in p.records]
    assert len(pages) >= 3 and pages[-1].position is None and all(p.position for p in pages[:-1])  # 250 orders: 3 pages of 100
    assert len(records) == len({r["id"] for r in records}) >= 250 // 4
    assert sorted(map(key, records)) == sorted(map(key, server.app.dump_returns()))  # exactly what the sandbox says it holds
    assert {r["order"]["currency"] for r in records} == {"IDR"}


def test_a_window_yields_the_refunds_of_the_orders_modified_in_it(server, connector) -> None:  # noqa: ANN001
    stamps = sorted({modified(o) for o in server.app.dump_orders() if o["refunds"]})
    window = Window(at(stamps[10]), at(stamps[-10]))  # since is in, until is out
    got = [r for p in connector.return_pages(window) for r in p.records]
    assert sorted(map(key, got)) == sorted(map(key, expected(server, window))) and got


def test_the_listing_asks_for_the_window_and_four_fields_then_each_refunded_order(server, connector, monkeypatch) -> None:  # noqa: ANN001
    calls = spy(monkeypatch, connector)
    window = Window(at(FROZEN - 20 * 86400 + 0.4), at(FROZEN - 86400 + 0.6))
    first = next(connector.return_pages(window))
    path, params = calls[0]
    assert path == "/wp-json/wc/v3/orders"
    assert params == {
        "modified_after": gmt(FROZEN - 20 * 86400),  # ceil(since) - 1 s: the bound is exclusive
        "modified_before": gmt(FROZEN - 86400 + 1),  # ceil(until)
        "dates_are_gmt": "true",
        "_fields": "id,currency,date_modified_gmt,refunds",
        "orderby": "modified", "order": "asc", "status": "any", "per_page": 100, "page": 1,
    }  # fmt: skip
    listed = server.app.handle(_get(server, path, params)).body
    refunded = [o["id"] for o in listed if o["refunds"]]
    assert set(listed[0]) == {"id", "currency", "date_modified_gmt", "refunds"}  # the sandbox honours _fields
    assert [c[0] for c in calls[1:]] == [DOCUMENTED_REFUNDS.format(id=i) for i in refunded]
    assert all(c[1] == {"per_page": 100, "page": 1, "orderby": "id", "order": "asc"} for c in calls[1:])
    assert first.requests == 1 + len(refunded) and first.reported_pages == int(server.app.handle(_get(server, path, params)).headers["X-WP-TotalPages"])
    assert {r["order"]["id"] for r in first.records} == set(refunded)


def test_each_listing_page_names_the_orders_it_walked_past(monkeypatch) -> None:
    """1,000 orders, one refunded order in the middle: every listing page is its own page,
    the refunded order's refunds are its only records, and every other order it listed is
    named in ``scanned`` with its version (the engine's idle guard counts them); every
    request is counted."""
    app = twin.WooCommerceSandbox(orders=1000, seed=12, clock=SandboxClock(frozen_at=FROZEN))
    by_time = sorted(app._orders.values(), key=lambda o: (o.modified, o.id))
    keep = next(o for o in by_time[500:] if o.refunds)
    for order in by_time:
        if order is not keep:
            order.refunds = ()
    with SandboxServer(app, seed=12) as server:
        connector = WooCommerceConnector(server.url, app.demo_credentials())
        calls = spy(monkeypatch, connector)
        pages = list(connector.return_pages(EVERYTHING))
        listings = sum(1 for path, _ in calls if path == "/wp-json/wc/v3/orders")
        assert len(pages) == listings >= 10 and len(calls) == listings + 1  # one refunds read
        assert [len(p.records) for p in pages if p.records] == [len(keep.refunds)] and pages[-1].position is None
        scanned = [s for p in pages for s in p.scanned]
        assert len(scanned) == len(set(scanned)) == len(app._orders) - 1 and not any(s.startswith(f"{keep.id}@") for s in scanned)
        assert all(s.partition("@")[2] not in ("", "None") for s in scanned)  # each with its version
        assert sorted(map(key, (r for p in pages for r in p.records))) == sorted(map(key, app.dump_returns()))
        assert server.stats.snapshot()["requests"] == len(calls) == sum(p.requests for p in pages)


def test_resuming_from_a_position_in_a_fresh_connector_leaves_no_gap(server, connector) -> None:  # noqa: ANN001
    pages = connector.return_pages(EVERYTHING)
    first = next(pages)
    position = json.loads(json.dumps(first.position))  # what the engine commits
    rest = [r for p in WooCommerceConnector(server.url, server.app.demo_credentials()).return_pages(EVERYTHING, position) for r in p.records]
    seen = first.records + rest
    assert sorted(map(key, seen)) == sorted(map(key, server.app.dump_returns()))


def test_refunds_appear_as_the_data_clock_passes_them(server, connector) -> None:  # noqa: ANN001
    before = {r["id"] for r in server.app.dump_returns()}
    server.app.clock.advance(7 * 86400)
    later = Window(at(FROZEN + 1), at(FROZEN + 7 * 86400 + 1))
    new = [r for p in connector.return_pages(later) for r in p.records if r["id"] not in before]
    assert new and all(FROZEN < _epoch(r["date_created_gmt"]) <= FROZEN + 7 * 86400 for r in new)


def test_an_order_with_more_than_a_page_of_refunds_is_paged(server, connector, monkeypatch) -> None:  # noqa: ANN001
    order = next(o for o in server.app._orders.values() if o.refunds and o.status != "trash")
    base = order.refunds[0]
    order.refunds += tuple(twin.RefundState(80_000_000 + n, base.created, "partial") for n in range(150))
    calls = spy(monkeypatch, connector)
    got = [r for p in connector.return_pages(EVERYTHING) for r in p.records if r["order"]["id"] == order.id]
    assert len(got) == len(order.refunds) == len({r["id"] for r in got})
    assert [c[1]["page"] for c in calls if c[0] == DOCUMENTED_REFUNDS.format(id=order.id)] == [1, 2]


def test_an_unreadable_refunds_reply_is_isolated_to_its_order(server, connector, monkeypatch) -> None:  # noqa: ANN001
    victim = next(o["id"] for o in server.app.dump_orders() if o["refunds"])
    real = connector._http.request

    def request(method: str, path: str, **kw: Any) -> Any:
        if path == DOCUMENTED_REFUNDS.format(id=victim):
            raise MalformedReply(f"GET {path}: HTTP 200, malformed response body (invalid JSON)")
        return real(method, path, **kw)

    monkeypatch.setattr(connector._http, "request", request)
    pages = list(connector.return_pages(EVERYTHING))
    assert [u[0] for p in pages for u in p.unreadable] == [str(victim)]  # quarantined under its order
    got = [r for p in pages for r in p.records]
    assert sorted(map(key, got)) == sorted(key(r) for r in server.app.dump_returns() if r["order"]["id"] != victim)


def test_an_order_gone_since_the_listing_has_no_refunds_any_more(server, connector, monkeypatch) -> None:  # noqa: ANN001
    victim = next(o["id"] for o in server.app.dump_orders() if o["refunds"])
    real = server.app._list_refunds
    gone = twin.error(404, "woocommerce_rest_invalid_order_id", "Invalid order ID.")
    monkeypatch.setattr(server.app, "_list_refunds", lambda order_id, request: gone if order_id == victim else real(order_id, request))
    got = [r for p in connector.return_pages(EVERYTHING) for r in p.records]
    assert sorted(map(key, got)) == sorted(key(r) for r in server.app.dump_returns() if r["order"]["id"] != victim)


@pytest.mark.parametrize("fault", ["too_many", "endless"])
def test_implausible_refund_replies_fail_the_walk(server, connector, monkeypatch, fault: str) -> None:  # noqa: ANN001
    def reply(order_id: int, request: Any) -> Reply:
        body = [{"id": n, "amount": "1.00"} for n in range(101 if fault == "too_many" else 100)]
        return Reply(200, body, {"X-WP-Total": "1000000", "X-WP-TotalPages": "10000"})

    monkeypatch.setattr(server.app, "_list_refunds", reply)
    with pytest.raises(ImplausibleReply, match="refunds"):
        list(connector.return_pages(EVERYTHING))


def test_trashed_orders_and_their_refunds_are_not_listed(server, connector) -> None:  # noqa: ANN001
    victim = next(o["id"] for o in server.app.dump_orders() if o["refunds"])
    admin(server, "mutate", {"touch": [victim], "status": "trash"})
    got = [r for p in connector.return_pages(EVERYTHING) for r in p.records]
    assert victim not in {r["order"]["id"] for r in got} and victim not in {r["order"]["id"] for r in server.app.dump_returns()}


def test_a_refused_credential_stops_the_walk_at_the_first_request(server) -> None:  # noqa: ANN001
    bad = {**server.app.demo_credentials(), "consumer_secret": "cs_wrong"}
    with pytest.raises(CredentialError):
        list(WooCommerceConnector(server.url, bad).return_pages(EVERYTHING))
    assert server.stats.snapshot()["requests"] == 1


def test_faults_on_a_refunds_read_are_retried(server, connector) -> None:  # noqa: ANN001
    server.faults.update({"fail_next": [None, 503, 429]})  # the listing, then the first refunds read twice
    first = next(connector.return_pages(EVERYTHING))
    assert first.requests == 3 + sum(1 for o in {r["order"]["id"] for r in first.records})
    assert server.stats.snapshot()["by_status"][503] == 1


def _get(server, path: str, params: dict[str, Any]) -> Any:  # noqa: ANN001
    from connectors._sandbox import Request

    creds = server.app.demo_credentials()
    return Request("GET", path, {k: str(v) for k, v in params.items()} | {"consumer_key": creds["consumer_key"], "consumer_secret": creds["consumer_secret"]}, {}, b"")


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())
