"""The sandbox's refunds: the ``GET /orders/<id>/refunds`` contract, the seeded refunds on the
data clock, ``_fields``, and the ``returns`` admin action the returns contract suite drives."""

from __future__ import annotations

import math
import re
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
import requests

from connectors._sandbox import SandboxClock
from connectors.woocommerce import client, sandbox
from connectors.woocommerce.sandbox import WooCommerceSandbox
from mappings import woocommerce_returns as mapping
from simpul.canonical import MappingError
from tests.woocommerce.support import FROZEN, ORDERS, admin, epoch, list_orders, modified

# storefronts_couriers.md §2.4 (_order-refunds.md), typed from it (not from the code).
DOCUMENTED_FIELDS = {"id", "date_created", "date_created_gmt", "amount", "reason", "refunded_by", "refunded_payment", "meta_data", "line_items"}
# ...and what core's get_formatted_item_data() renders besides (order-refunds v2 controller).
SOURCE_FIELDS = {"shipping_lines", "tax_lines", "fee_lines", "_links"}


def refunds(server, order_id: Any, auth: tuple[str, str] | None = None, **params: Any) -> requests.Response:  # noqa: ANN001
    if auth is None:
        creds = server.app.demo_credentials()
        auth = (creds["consumer_key"], creds["consumer_secret"])
    return requests.get(f"{server.url}/wp-json/wc/v3/orders/{order_id}/refunds", params=params, auth=auth, timeout=10)


def refunded_order(server, at_least: int = 1) -> dict[str, Any]:  # noqa: ANN001
    return next(o for o in server.app.dump_orders() if len(o["refunds"]) >= at_least and o["status"] != "trash")


def test_both_sides_hold_the_documented_refunds_route() -> None:
    assert client.REFUNDS.format(order_id=723) == "/wp-json/wc/v3/orders/723/refunds"
    assert sandbox.REFUNDS_PATH.fullmatch("/wp-json/wc/v3/orders/723/refunds").group(1) == "723"


def test_refunds_need_credentials_and_only_get_has_a_route(server) -> None:  # noqa: ANN001
    order = refunded_order(server)
    key = server.app.demo_credentials()["consumer_key"]
    assert refunds(server, order["id"], auth=("", "")).json()["code"] == "woocommerce_rest_cannot_view"
    wrong = refunds(server, order["id"], auth=(key, "cs_wrong"))
    assert wrong.status_code == 401 and wrong.json()["code"] == "woocommerce_rest_authentication_error"
    creds = server.app.demo_credentials()
    posted = requests.post(f"{server.url}/wp-json/wc/v3/orders/{order['id']}/refunds", auth=(creds["consumer_key"], creds["consumer_secret"]), timeout=10)
    assert posted.status_code == 404 and posted.json()["code"] == "rest_no_route"  # the twin is read-only
    assert refunds(server, "abc").json()["code"] == "rest_no_route"


def test_a_refund_renders_as_the_documentation_and_the_order_summary_agrees(server) -> None:  # noqa: ANN001
    order = refunded_order(server)
    response = refunds(server, order["id"])
    assert response.status_code == 200
    body = response.json()
    assert [r["id"] for r in body] == [r["id"] for r in order["refunds"]]  # newest first, as the summary
    lines = {str(line["id"]): line for line in order["line_items"]}
    for refund, summary in zip(body, order["refunds"]):
        assert set(refund) == DOCUMENTED_FIELDS | SOURCE_FIELDS
        assert re.fullmatch(r"\d+\.\d\d", refund["amount"]) and summary == {"id": refund["id"], "reason": refund["reason"], "total": "-" + refund["amount"]}
        assert isinstance(refund["refunded_payment"], bool) and refund["refunded_by"] == sandbox.SHOP_MANAGER
        assert epoch(refund["date_created_gmt"]) <= modified(order)  # the refund saved its order
        assert refund["_links"]["up"] == [{"href": f"{sandbox.SITE_URL}/wp-json/wc/v3/orders/{order['id']}"}]
        for item in refund["line_items"]:
            assert item["quantity"] < 0 and item["total"].startswith("-") and item["price"] < 0
            [meta] = item["meta_data"]
            assert meta["key"] == "_refunded_item_id" and meta["value"] in lines
            assert item["sku"] == lines[meta["value"]]["sku"] and -item["quantity"] <= lines[meta["value"]]["quantity"]
        if refund["line_items"]:
            assert sum(-Decimal(i["total"]) for i in refund["line_items"]) == Decimal(refund["amount"])
        else:
            assert refund["amount"] == order["total"]  # the whole order, by amount


def test_refund_listing_pages_sorts_and_checks_its_parameters(server) -> None:  # noqa: ANN001
    order = server.app._orders[refunded_order(server)["id"]]
    order.refunds += tuple(sandbox.RefundState(80_000_000 + n, FROZEN - 1000 + n, "partial") for n in range(24))
    total = len(order.refunds)
    first = refunds(server, order.id)
    assert first.headers["X-WP-Total"] == str(total) and first.headers["X-WP-TotalPages"] == str(math.ceil(total / 10))  # per_page defaults to 10
    assert len(first.json()) == 10 and 'rel="next"' in first.headers["Link"]
    by_id = [r["id"] for page in (1, 2) for r in refunds(server, order.id, per_page=20, page=page, orderby="id", order="asc").json()]
    assert by_id == sorted(r.id for r in order.refunds)
    newest = refunds(server, order.id, per_page=100).json()
    assert [(r["date_created_gmt"], r["id"]) for r in newest] == sorted(((r["date_created_gmt"], r["id"]) for r in newest), reverse=True)
    bad = refunds(server, order.id, per_page=101, orderby="price")
    assert bad.status_code == 400 and set(bad.json()["data"]["params"]) == {"per_page", "orderby"}
    nobody = refunds(server, 999999)
    assert nobody.json() == [] and nobody.headers["X-WP-Total"] == "0"  # get_items filters refunds by parent


def test_fields_keeps_only_the_named_fields(server) -> None:  # noqa: ANN001
    orders = list_orders(server, per_page=5, _fields="id,date_modified_gmt,refunds,billing.city,line_items.sku,nonsense").json()
    assert orders and all(set(o) == {"id", "date_modified_gmt", "refunds", "billing", "line_items"} for o in orders)
    assert all(set(o["billing"]) == {"city"} and o["line_items"] == [] for o in orders)  # keys intersected: a list keeps nothing
    order = refunded_order(server)
    assert set(refunds(server, order["id"], _fields="id,amount").json()[0]) == {"id", "amount"}


def test_seeded_refunds_are_a_quarter_of_the_orders_or_more_of_both_kinds(app) -> None:  # noqa: ANN001
    records = app.dump_returns()
    assert len(records) >= ORDERS // 4
    assert Counter(r["refunded_payment"] for r in records).keys() == {True, False}
    orders = {o["id"]: o for o in app.dump_orders()}
    for r in records:
        assert r["order"] == {"id": r["order"]["id"], "currency": "IDR"} and r["id"] in {s["id"] for s in orders[r["order"]["id"]]["refunds"]}
        assert r["refunded_payment"] == (orders[r["order"]["id"]]["payment_method"] == "midtrans")


def test_refunds_happen_later_in_an_orders_life_on_the_data_clock() -> None:
    app = WooCommerceSandbox(orders=120, seed=2, clock=SandboxClock(frozen_at=FROZEN))
    before = {r["id"] for r in app.dump_returns()}
    app.clock.advance(6 * 86400)
    after = {r["id"]: r for r in app.dump_returns()}
    new = [r for i, r in after.items() if i not in before]
    assert new and set(before) <= set(after)
    orders = {o["id"]: o for o in app.dump_orders()}
    for r in new:
        created, order = epoch(r["date_created_gmt"]), orders[r["order"]["id"]]
        assert FROZEN < created <= FROZEN + 6 * 86400 and epoch(order["date_created_gmt"]) < created
        assert modified(order) >= created


def test_touch_re_dates_refunds_and_saves_their_orders(server) -> None:  # noqa: ANN001
    ids = [r["id"] for r in server.app.dump_returns()[:3]]
    reply = admin(server, "returns", {"touch": ids, "at": FROZEN - 50})
    assert reply["touched"] == 3
    now = {r["id"]: r for r in server.app.dump_returns()}
    orders = {o["id"]: o for o in server.app.dump_orders()}
    for i in ids:
        assert epoch(now[i]["date_created_gmt"]) == FROZEN - 50 and modified(orders[now[i]["order"]["id"]]) == FROZEN - 50
        assert mapping.map_return(now[i]).ret.updated_at.timestamp() == FROZEN - 50


def test_advance_only_touches_a_final_refund_and_corrupt_breaks_its_amount(server) -> None:  # noqa: ANN001
    first, second, *_ = server.app.dump_returns()
    before = mapping.map_return(first).ret.status
    assert admin(server, "returns", {"advance": [first["id"]]}) == {"touched": 1, "advanced": 0, "now": FROZEN}
    moved = next(r for r in server.app.dump_returns() if r["id"] == first["id"])
    assert mapping.map_return(moved).ret.status == before and epoch(moved["date_created_gmt"]) == FROZEN
    admin(server, "returns", {"corrupt": second["id"]})
    broken = next(r for r in server.app.dump_returns() if r["id"] == second["id"])
    with pytest.raises(MappingError, match="^amount: "):
        mapping.map_return(broken)
    order = next(o for o in server.app.dump_orders() if o["id"] == second["order"]["id"])
    assert modified(order) == FROZEN and all(s["total"].startswith("-") and s["total"][1:] != "abc" for s in order["refunds"])  # the order stays readable
    missing = requests.post(f"{server.url}/_sandbox/returns", json={"touch": [123]}, timeout=10)
    assert missing.status_code == 400
