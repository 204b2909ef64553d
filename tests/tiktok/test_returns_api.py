"""The returns stream against the sandbox: both listings walked once, half-open windows sent
as documented, safe resumption across the two listings, signing refused when wrong, and
the sandbox's own contract (parameters, seeding, the documented flows, admin actions)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from urllib.parse import parse_qsl, urlsplit

from connectors._http import ConnectorError, CredentialError, ImplausibleReply, RetryConfig
from connectors._sandbox import Reply, SandboxClock, SandboxServer
from connectors.contract import ReturnSource, Window
from connectors.tiktok import api, sandbox
from connectors.tiktok.client import TikTokConnector
from connectors.tiktok.sandbox import TikTokSandbox
from mappings import tiktok as order_mapping
from mappings import tiktok_returns as mapping
from simpul.canonical import MappingError, ReturnType
from simpul.engine import SyncRequest
from simpul.model import Return
from tests.tiktok.support import FROZEN, ORDERS, admin, call

UTC = timezone.utc
DAY, HOUR = 86400, 3600
ALL = Window(datetime.fromtimestamp(FROZEN - 60 * DAY, UTC), datetime.fromtimestamp(FROZEN + 1, UTC))

# The documented flows, typed from the "Return, refund and cancel API overview" (its steps
# in the API's spellings) and the type 11 webhook (cancellations): status -> next statuses.
RETURN_EDGES = {
    "RETURN_OR_REFUND_REQUEST_PENDING": {"AWAITING_BUYER_SHIP", "REFUND_OR_RETURN_REQUEST_REJECT", "RETURN_OR_REFUND_REQUEST_CANCEL", "RETURN_OR_REFUND_REQUEST_SUCCESS"},
    "AWAITING_BUYER_SHIP": {"BUYER_SHIPPED_ITEM"},
    "BUYER_SHIPPED_ITEM": {"RETURN_OR_REFUND_REQUEST_SUCCESS", "REJECT_RECEIVE_PACKAGE"},
    "RETURN_OR_REFUND_REQUEST_SUCCESS": {"RETURN_OR_REFUND_REQUEST_COMPLETE"},
    "REFUND_OR_RETURN_REQUEST_REJECT": {"RETURN_OR_REFUND_REQUEST_CANCEL", "AWAITING_BUYER_SHIP", "RETURN_OR_REFUND_REQUEST_SUCCESS"},
    "REJECT_RECEIVE_PACKAGE": {"RETURN_OR_REFUND_REQUEST_SUCCESS", "RETURN_OR_REFUND_REQUEST_CANCEL"},
}  # fmt: skip
CANCEL_EDGES = {
    "CANCELLATION_REQUEST_PENDING": {"CANCELLATION_REQUEST_SUCCESS", "CANCELLATION_REQUEST_CANCELLED"},
    "CANCELLATION_REQUEST_SUCCESS": {"CANCELLATION_REQUEST_COMPLETE"},
}
STARTS = {"RETURN_OR_REFUND_REQUEST_PENDING", "CANCELLATION_REQUEST_PENDING", "CANCELLATION_REQUEST_SUCCESS"}  # a direct cancel starts accepted
FINAL = {"RETURN_OR_REFUND_REQUEST_COMPLETE", "RETURN_OR_REFUND_REQUEST_CANCEL", "CANCELLATION_REQUEST_COMPLETE", "CANCELLATION_REQUEST_CANCELLED"}
# search-cancellations.spec.json / search-returns.spec.json: the record fields each page lists
DOCUMENTED_CANCELLATION_FIELDS = {
    "order_id", "cancel_type", "cancel_status", "role", "cancel_reason", "cancel_reason_text", "create_time", "update_time",
    "seller_next_action_response", "refund_amount", "cancel_line_items", "cancel_id",
}  # fmt: skip
DOCUMENTED_RETURN_FIELDS = {
    "order_id", "return_id", "return_type", "return_status", "arbitration_status", "role", "return_reason", "return_reason_text",
    "shipment_type", "handover_method", "return_tracking_number", "return_provider_name", "return_provider_id", "pre_return_id",
    "next_return_id", "can_buyer_keep_item", "update_time", "seller_next_action_response", "create_time", "return_line_items",
    "discount_amount", "shipping_fee_amount", "refund_amount", "return_shipping_document_type", "return_method", "is_combined_return",
    "combined_return_id", "seller_proposed_return_type", "partial_refund", "buyer_rejected_partial_refund", "return_warehouse_address",
}  # fmt: skip
DOCUMENTED_LINE_FIELDS = {
    "cancel_line_item_id", "return_line_item_id", "order_line_item_id", "sku_id", "sku_name", "product_name", "seller_sku", "product_image", "refund_amount",
}  # fmt: skip
DOCUMENTED_REFUND_FIELDS = {"currency", "refund_total", "refund_subtotal", "refund_shipping_fee", "refund_tax", "retail_delivery_fee", "buyer_service_fee"}


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def key(record: dict[str, Any]) -> str:
    return record.get("cancel_id") or record["return_id"]


def walk(connector: TikTokConnector, window: Window = ALL, position=None) -> list[str]:  # noqa: ANN001
    return [key(r) for page in connector.return_pages(window, position) for r in page.records]


def expected(server: SandboxServer, window: Window = ALL) -> set[str]:
    return {key(r) for r in server.app.dump_returns() if window.since <= at(r["update_time"]) < window.until}


def recorded(server: SandboxServer) -> list[Any]:
    """Every request the app answers from now on (path, query, body)."""
    seen: list[Any] = []
    handle = server.app.handle

    def spy(request):  # noqa: ANN001, ANN202
        seen.append(request)
        return handle(request)

    server.app.handle = spy  # type: ignore[method-assign]
    return seen


def search(server: SandboxServer, path: str, *, body: dict | None = None, **params: Any) -> Any:
    return call(server, "POST", path, body=body if body is not None else {}, **params)


# -- the connector ---------------------------------------------------------------------------
def test_both_listings_are_walked_once_cancellations_first_each_page_one_signed_call(server, connector) -> None:  # noqa: ANN001
    assert isinstance(connector, ReturnSource)
    calls = recorded(server)
    pages = list(connector.return_pages(ALL))
    truth = {key(r): r for r in server.app.dump_returns()}
    got = [r for p in pages for r in p.records]
    assert len(got) == len(truth) == len({key(r) for r in got}) and all(r == truth[key(r)] for r in got)  # exactly as the listing has them
    listings = [p.position["listing"] if p.position else None for p in pages]
    last_cancellation = max(i for i, p in enumerate(pages) if any("cancel_id" in r for r in p.records))
    assert listings[last_cancellation] == "returns" and all(name == "cancellations" for name in listings[:last_cancellation])
    assert set(listings[last_cancellation + 1 : -1]) == {"returns"} and listings[-1] is None
    assert all("return_id" in r for p in pages[last_cancellation + 1 :] for r in p.records)
    assert all(len(p.records) <= sandbox.RETURN_PAGE_CAP and p.requests == 1 for p in pages)  # the sandbox's pages are short: paging exercised
    assert len(pages) > 3 and [r.path for r in calls] == [api.CANCELLATION_SEARCH] * (last_cancellation + 1) + [api.RETURN_SEARCH] * (len(pages) - last_cancellation - 1)
    for request in calls:  # documented query and body, signed like every call
        q = request.query
        assert (q["sort_field"], q["sort_order"], q["page_size"]) == ("update_time", "ASC", str(api.RETURN_PAGE_SIZE))
        assert q["sign"] and q["shop_cipher"] and q["app_key"] and request.headers.get("x-tts-access-token")
        assert set(json.loads(request.body)) == {"update_time_ge", "update_time_lt"}


def test_a_window_is_half_open_and_sent_as_update_time_ge_and_lt(server, connector) -> None:  # noqa: ANN001
    stamps = sorted({r["update_time"] for r in server.app.dump_returns()})
    since, until = stamps[5], stamps[-5]
    calls = recorded(server)
    for window in (Window(at(since), at(until)), Window(at(since - 0.4), at(until + 0.6))):
        seen = walk(connector, window)
        assert len(seen) == len(set(seen)) and set(seen) == expected(server, window)
    first = json.loads(calls[0].body)
    assert first == {"update_time_ge": since, "update_time_lt": until}  # [since, until): ge inclusive, lt exclusive
    assert json.loads(calls[-1].body)["update_time_lt"] == until + 1  # ceil(until + 0.6)
    assert walk(connector, Window(at(since), at(since))) == []


def test_resuming_from_every_position_in_a_fresh_connector_leaves_no_gap(server, connector) -> None:  # noqa: ANN001
    pages = list(connector.return_pages(ALL))
    truth = expected(server)
    for n, page in enumerate(pages[:-1]):
        position = json.loads(json.dumps(page.position))  # what the engine commits
        fresh = TikTokConnector(server.url, server.app.demo_credentials())
        seen = [key(r) for p in pages[: n + 1] for r in p.records] + walk(fresh, ALL, position)
        assert len(seen) == len(set(seen)) and set(seen) == truth, n
    with pytest.raises(ConnectorError, match="unreadable resume position"):
        next(connector.return_pages(ALL, {"listing": "refunds"}))


def test_many_returns_in_one_second_follow_the_page_token(server, connector) -> None:  # noqa: ANN001
    ids = sorted(key(r) for r in server.app.dump_returns() if "return_id" in r)
    second = FROZEN - 2 * HOUR
    admin(server, "returns", {"touch": ids, "at": second})
    window = Window(at(second - 5), at(second + 5))
    pages = list(connector.return_pages(window))
    assert sorted(key(r) for p in pages for r in p.records) == ids  # more than a page shares the second: nothing lost, nothing twice
    tokens = [p.position["page_token"] for p in pages if p.position and p.position["listing"] == "returns" and "page_token" in p.position]
    assert any(tokens)  # a whole page in one second: the query's own token was followed


def test_a_return_advanced_mid_walk_hides_no_other(server, connector) -> None:  # noqa: ANN001
    want = expected(server)
    pages = connector.return_pages(ALL)
    first, second = next(pages), next(pages)
    moved = [key(r) for r in first.records[:3] + second.records[:3]]
    admin(server, "returns", {"touch": moved, "at": FROZEN + HOUR})  # out of the window now
    seen = [key(r) for r in first.records + second.records] + [key(r) for page in pages for r in page.records]
    assert set(seen) == want and len(seen) == len(set(seen))


def test_a_wrong_secret_or_cipher_is_refused_by_the_sandbox_without_retry(server) -> None:  # noqa: ANN001
    creds = server.app.demo_credentials()
    wrong = TikTokConnector(server.url, {**creds, "app_secret": "0" * 40}, retry=RetryConfig(attempts=3, base_delay=0.01))
    with pytest.raises(CredentialError, match="signature refused") as caught:
        next(wrong.return_pages(ALL))
    assert "0" * 40 not in str(caught.value)
    other = TikTokConnector(server.url, {**creds, "shop_cipher": "ROW_someone_else"})
    with pytest.raises(CredentialError, match="shop_cipher refused"):
        next(other.return_pages(ALL))
    by_path = server.stats.snapshot()["by_path"]
    assert by_path == {api.CANCELLATION_SEARCH: 2}  # refused, never retried


@pytest.mark.parametrize("path", [api.CANCELLATION_SEARCH, api.RETURN_SEARCH])
def test_the_sandbox_checks_the_signature_of_the_return_listings_itself(server, path: str) -> None:  # noqa: ANN001
    good = search(server, path, page_size=20)
    assert good.json()["code"] == 0
    creds = server.app.demo_credentials()
    assert search(server, path, page_size=20, creds={**creds, "app_secret": "f" * 40}).json()["code"] == 106001
    signed = call(server, "POST", path, body={"update_time_ge": 1}, page_size=20)  # signed for this body ...
    query = dict(parse_qsl(urlsplit(signed.request.url).query))
    other_body = json.dumps({"update_time_ge": 2}).encode()  # ... sent with another
    refused = requests.post(server.url + path, params=query, data=other_body, headers={"x-tts-access-token": creds["access_token"]}, timeout=10)
    assert signed.json()["code"] == 0 and refused.json()["code"] == 106001


def test_an_implausible_listing_is_refused(server, connector) -> None:  # noqa: ANN001
    real = server.app.handle

    def too_many(request):  # noqa: ANN001, ANN202
        reply = real(request)
        reply.body["data"]["cancellations"] = reply.body["data"]["cancellations"] * 60
        return reply

    server.app.handle = too_many  # type: ignore[method-assign]
    with pytest.raises(ImplausibleReply, match="asked for 50 records a page"):
        next(connector.return_pages(ALL))

    def token_not_text(request):  # noqa: ANN001, ANN202
        reply = real(request)
        return Reply(200, {**reply.body, "data": {**reply.body["data"], "next_page_token": 7}})

    server.app.handle = token_not_text  # type: ignore[method-assign]
    with pytest.raises(ImplausibleReply, match="next_page_token is not text"):
        next(connector.return_pages(ALL))


def test_an_engine_sync_lands_each_return_once_and_it_supersedes_the_orders_own_cancellation(hub, server) -> None:  # noqa: ANN001
    hub.accounts.add("tt", "tiktok", "TikTok", server.url, server.app.demo_credentials(), history_days=60)
    hub.engine.clock = lambda: at(server.app.clock.now())
    run = hub.engine.run(SyncRequest("tt"))
    assert run.status == "completed" and run.counts.quarantined == 0
    with hub.db.connect() as conn:
        rows = conn.execute(sa.select(Return.__table__)).mappings().all()
    stream = [r for r in rows if r["source"] == "stream"]
    assert sorted(r["external_id"] for r in stream) == sorted(key(r) for r in server.app.dump_returns())
    cancelled = {o["id"] for o in server.app.dump_orders() if o["status"] == "CANCELLED"}
    cancellations = [r for r in rows if r["type"] == ReturnType.CANCELLATION.value]
    assert sorted(r["order_external_id"] for r in cancellations) == sorted(cancelled)  # one row each: the stream's
    assert {r["source"] for r in cancellations} == {"stream"}
    assert all(order_mapping.map_order(o).returns for o in server.app.dump_orders() if o["id"] in cancelled)  # which it superseded


# -- the sandbox ------------------------------------------------------------------------------
def test_seeded_returns_cover_a_quarter_of_the_orders_several_kinds_each_of_a_seeded_order(app) -> None:  # noqa: ANN001
    records = app.dump_returns()
    orders = {o["id"]: o for o in app.dump_orders()}
    assert len(records) >= ORDERS // 4
    mapped = [mapping.map_return(r) for r in records]
    assert {r.order_external_id for r in mapped} <= set(orders)
    assert {r.ret.type for r in mapped} >= {ReturnType.CANCELLATION, ReturnType.REFUND, ReturnType.BUYER_RETURN}
    assert len({r["return_status"] for r in records if "return_status" in r}) > 2
    assert {o for o, order in orders.items() if order["status"] == "CANCELLED"} == {r.order_external_id for r in mapped if r.ret.type is ReturnType.CANCELLATION}
    for record in records:  # every line is one of the order's, refunded what the buyer paid for it (nothing, unpaid or COD)
        order = orders[record["order_id"]]
        lines = {line["id"]: line for line in order["line_items"]}
        for item in record.get("cancel_line_items") or record["return_line_items"]:
            line = lines[item["order_line_item_id"]]
            assert (item["sku_id"], item["seller_sku"]) == (line["sku_id"], line["seller_sku"])
            paid = int(line["original_price"]) - int(line["seller_discount"]) - int(line["platform_discount"])
            nothing = "cancel_id" in record and ("paid_time" not in order or order["is_cod"])
            assert item["refund_amount"]["refund_total"] == ("0" if nothing else str(paid))
        assert record["create_time"] <= record["update_time"] <= FROZEN
    small = TikTokSandbox(orders=8, seed=1, clock=SandboxClock(frozen_at=FROZEN))
    assert len(small.dump_returns()) >= 2  # topped up when the draw leaves fewer than a quarter
    again = TikTokSandbox(orders=ORDERS, seed=3, clock=SandboxClock(frozen_at=FROZEN))
    assert again.dump_returns() == records  # the same seed gives the same returns


def test_the_sandbox_renders_documented_fields_only(app) -> None:  # noqa: ANN001
    assert set(sandbox.CANCELLATION_FIELDS) <= DOCUMENTED_CANCELLATION_FIELDS and set(sandbox.RETURN_FIELDS) <= DOCUMENTED_RETURN_FIELDS
    for record in app.dump_returns():
        fields = sandbox.CANCELLATION_FIELDS if "cancel_id" in record else sandbox.RETURN_FIELDS
        assert set(record) <= set(fields)
        assert set(record["refund_amount"]) <= DOCUMENTED_REFUND_FIELDS
        for item in record.get("cancel_line_items") or record["return_line_items"]:
            assert set(item) <= DOCUMENTED_LINE_FIELDS


def test_returns_move_through_the_documented_flows_on_the_data_clock(app) -> None:  # noqa: ANN001
    """Every flow the sandbox plans is a path of the documented graph, from a start to an end;
    what the listing shows as the clock runs is that path, in order (seen every 3 hours,
    so quick steps may be skipped over)."""
    inserted = set(app._mutate({"insert": 40, "at": FROZEN})["inserted"])  # new orders: their returns happen from now on
    planned = {r.id: [status for _, status in r.path] for r in app._returns.values()}
    for states in planned.values():
        edges = CANCEL_EDGES if states[0].startswith("CANCELLATION") else RETURN_EDGES
        assert states[0] in STARTS and states[-1] in FINAL, states
        assert all(b in edges.get(a, set()) for a, b in zip(states, states[1:])), states
    assert {states[-1] for states in planned.values()} >= {"RETURN_OR_REFUND_REQUEST_COMPLETE", "RETURN_OR_REFUND_REQUEST_CANCEL"}
    history: dict[str, list[str]] = {}
    for _ in range(25 * 8):  # twenty-five days in three hours
        app.clock.advance(3 * HOUR)
        for record in app.dump_returns():
            states = history.setdefault(key(record), [])
            status = record.get("cancel_status") or record["return_status"]
            if not states or states[-1] != status:
                states.append(status)
    new = {key(r) for r in app.dump_returns() if r["order_id"] in inserted}
    assert new, "none of the inserted orders had a return"
    for return_id, seen in history.items():
        path = iter(planned[return_id])
        assert all(status in path for status in seen), (seen, planned[return_id])  # in the planned order
        if return_id in new:
            assert seen[-1] in FINAL, seen
    assert any(len(history[i]) >= 4 for i in new)  # returned, inspected, refunded


def test_a_pending_request_and_a_shipped_return_carry_the_sellers_deadline(app) -> None:  # noqa: ANN001
    app._mutate({"insert": 60, "at": FROZEN})
    seen: dict[str, set[tuple[str, int]]] = {}
    for _ in range(20 * 4):
        app.clock.advance(6 * HOUR)
        for record in app.dump_returns():
            status = record.get("cancel_status") or record["return_status"]
            for action in record["seller_next_action_response"]:
                seen.setdefault(status, set()).add((action["action"], action["deadline"] - record["update_time"]))
    assert seen["RETURN_OR_REFUND_REQUEST_PENDING"] <= {("SELLER_RESPOND_RETURN", 48 * HOUR), ("SELLER_RESPOND_REFUND", 48 * HOUR)}
    assert seen["BUYER_SHIPPED_ITEM"] == {("SELLER_RESPOND_RECEIVE_PACKAGE", sandbox.RESPOND_RECEIVED)}
    assert set(seen) <= {"RETURN_OR_REFUND_REQUEST_PENDING", "BUYER_SHIPPED_ITEM", "CANCELLATION_REQUEST_PENDING"}


def test_the_returns_admin_action_touches_advances_and_corrupts(server) -> None:  # noqa: ANN001
    records = {key(r): r for r in server.app.dump_returns()}
    moving = next(i for i, r in records.items() if r.get("return_status") == "AWAITING_BUYER_SHIP")
    final = next(i for i, r in records.items() if r.get("cancel_status") == "CANCELLATION_REQUEST_COMPLETE")
    reply = admin(server, "returns", {"touch": [final], "at": FROZEN - 5})
    assert reply["touched"] == 1 and {key(r): r for r in server.app.dump_returns()}[final]["update_time"] == FROZEN - 5
    reply = admin(server, "returns", {"advance": [moving, final]})
    assert reply["advanced"] == {moving: "BUYER_SHIPPED_ITEM", final: "CANCELLATION_REQUEST_COMPLETE"}  # the next step; a final one is only touched
    now = {key(r): r for r in server.app.dump_returns()}
    assert now[moving]["update_time"] == now[final]["update_time"] == FROZEN
    assert now[moving]["return_tracking_number"] and now[moving]["seller_next_action_response"][0]["action"] == "SELLER_RESPOND_RECEIVE_PACKAGE"
    admin(server, "returns", {"corrupt": moving})
    broken = {key(r): r for r in server.app.dump_returns()}[moving]
    with pytest.raises(MappingError, match="refund_amount.refund_total"):
        mapping.map_return(broken)
    response = requests.post(f"{server.url}/_sandbox/returns", json={"advance": ["4035000000000000000"]}, timeout=10)
    assert response.status_code == 400 and "no return" in response.json()["error"]


def test_page_size_sort_and_tokens_are_checked_with_the_documented_code(server) -> None:  # noqa: ANN001
    for path, least in ((api.CANCELLATION_SEARCH, 1), (api.RETURN_SEARCH, 10)):
        for size in (least - 1, api.RETURN_PAGE_SIZE + 1):
            response = search(server, path, page_size=size)
            assert response.status_code == 400 and response.json()["code"] == sandbox.RETURN_PARAM_ERROR == 25001001
        assert search(server, path, page_size=least).json()["code"] == 0
        assert search(server, path, page_size=20, sort_field="return_id").json()["code"] == 25001001
        assert search(server, path, page_size=20, page_token="not-a-token").json()["code"] == 25001001
        assert search(server, path, body={"update_time_ge": "yesterday"}, page_size=20).json()["code"] == 25001001
    data = search(server, api.RETURN_SEARCH).json()["data"]  # no page_size: the documented default of 10
    assert len(data["return_orders"]) == 10 and data["next_page_token"]
    created = [r["create_time"] for r in data["return_orders"]]
    assert created == sorted(created)  # default sort: create_time ASC
    foreign = search(server, api.RETURN_SEARCH, body={"update_time_ge": 1}, page_size=20, page_token=data["next_page_token"])
    assert foreign.json()["code"] == 25001001  # a token belongs to the query it came from


def test_the_listings_filter_by_order_status_type_and_id(server) -> None:  # noqa: ANN001
    records = server.app.dump_returns()
    refunds = sorted(key(r) for r in records if r.get("return_type") == "REFUND")
    got = search(server, api.RETURN_SEARCH, body={"return_types": ["REFUND"]}, page_size=50).json()["data"]
    assert got["total_count"] == len(refunds) > 0 and {r["return_type"] for r in got["return_orders"]} == {"REFUND"}
    assert len(got["return_orders"]) == min(len(refunds), sandbox.RETURN_PAGE_CAP)
    cancellation = next(r for r in records if "cancel_id" in r)
    got = search(server, api.CANCELLATION_SEARCH, body={"order_ids": [cancellation["order_id"]]}, page_size=50).json()["data"]
    assert [key(r) for r in got["cancellations"]] == [key(cancellation)]
    got = search(server, api.CANCELLATION_SEARCH, body={"cancel_status": ["CANCELLATION_REQUEST_PENDING"]}, page_size=50).json()["data"]
    assert all(r["cancel_status"] == "CANCELLATION_REQUEST_PENDING" for r in got["cancellations"])
    newest_first = search(server, api.RETURN_SEARCH, page_size=50, sort_field="update_time", sort_order="DESC").json()["data"]["return_orders"]
    stamps = [r["update_time"] for r in newest_first]
    assert stamps == sorted(stamps, reverse=True)


def test_paging_faults_and_the_page_size_knob_reach_the_return_listings(server, connector) -> None:  # noqa: ANN001
    server.faults.update({"page_size": 7, "page_faults": ["empty", None, "empty"]})
    pages = list(connector.return_pages(ALL))
    assert all(len(p.records) <= 7 for p in pages)
    assert sorted(key(r) for p in pages for r in p.records) == sorted(expected(server))
