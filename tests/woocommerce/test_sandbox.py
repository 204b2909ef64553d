"""The sandbox enforces the wc/v3 contract: auth, parameter checks, filters, headers, data."""

from __future__ import annotations

import ast
import base64
import inspect
import math
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests

from connectors._http.auth import BasicAuth, Outgoing
from connectors._sandbox import Request, SandboxClock
from connectors.woocommerce import client, sandbox
from connectors.woocommerce.sandbox import ORDERS_ROUTE, ListQuery, WooCommerceSandbox
from mappings import woocommerce as mapping
from simpul.canonical import MappingError
from tests.woocommerce.support import FROZEN, ORDERS, admin, epoch, gmt, list_orders, modified


# storefronts_couriers.md §2, typed from it (not from the code).
DOCUMENTED_ROUTE = "/wp-json/wc/v3/orders"  # §2.2
DOCUMENTED_PER_PAGE_MAX = 100  # §2.2 "per_page minimum 1, maximum 100" (core source)
DOCUMENTED_STATUSES = {"pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash"}  # §2.3 (_orders.md)
DOCUMENTED_ORDERBY = {"date", "id", "include", "title", "slug", "modified"}  # §2.2: the docs' five, and modified from core source
# RFC 7617 §2: user-id "Aladdin", password "open sesame"; §2.1: username = consumer key, password = consumer secret.
RFC7617 = ("Aladdin", "open sesame", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")


def test_the_sandbox_and_the_client_share_no_code() -> None:
    """Each side implements §2 on its own; only documented facts tie them (pinned below)."""

    def imported(module) -> set[str]:  # noqa: ANN001
        names = set()
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.ImportFrom):
                names.add(node.module or "")
            elif isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
        return names

    assert not {m for m in imported(sandbox) if m.startswith("connectors.woocommerce")}
    assert not {m for m in imported(client) if m.startswith("connectors.woocommerce")}


def test_both_sides_hold_the_documented_route_limits_and_enums() -> None:
    assert sandbox.ORDERS_ROUTE == client.ORDERS == DOCUMENTED_ROUTE
    assert client.PER_PAGE == DOCUMENTED_PER_PAGE_MAX
    assert set(sandbox.ORDER_STATUSES) | {"trash"} >= DOCUMENTED_STATUSES
    assert set(sandbox.ORDERBY_ENUM) == DOCUMENTED_ORDERBY


def test_basic_auth_matches_the_rfc_example_on_both_sides() -> None:
    user, password, header = RFC7617
    outgoing = Outgoing("GET", DOCUMENTED_ROUTE)
    BasicAuth(user, password).apply(outgoing)  # what the client sends
    assert outgoing.headers["Authorization"] == header
    app = WooCommerceSandbox(orders=3, seed=1, clock=SandboxClock(frozen_at=FROZEN))
    app._key, app._secret = user, password  # what the sandbox accepts
    assert app.handle(Request("GET", DOCUMENTED_ROUTE, {}, {"Authorization": header}, b"")).status == 200
    wrong = "Basic " + base64.b64encode(b"Aladdin:open sesamE").decode()
    assert app.handle(Request("GET", DOCUMENTED_ROUTE, {}, {"Authorization": wrong}, b"")).status == 401


def test_missing_unknown_or_wrong_credentials_get_401_envelopes(server) -> None:  # noqa: ANN001
    key = server.app.demo_credentials()["consumer_key"]
    cases = {
        None: "woocommerce_rest_cannot_view",  # anonymous
        ("ck_" + "0" * 40, "cs_whatever"): "woocommerce_rest_cannot_view",  # unknown key: still anonymous
        (key, "cs_wrong"): "woocommerce_rest_authentication_error",  # known key, wrong secret
    }
    for auth, code in cases.items():
        response = list_orders(server, auth=auth or ("", ""))
        assert response.status_code == 401
        assert response.json() == {"code": code, "message": response.json()["message"], "data": {"status": 401}}


def test_per_page_outside_1_to_100_and_bad_dates_are_400_rest_invalid_param(server) -> None:  # noqa: ANN001
    for value in ("101", "0", "ten"):
        response = list_orders(server, per_page=value)
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "rest_invalid_param" and body["data"]["status"] == 400
        assert set(body["data"]["params"]) == {"per_page"}
    response = list_orders(server, per_page=100, modified_after="yesterday", orderby="price")
    assert response.status_code == 400
    assert response.json()["data"]["params"] == {"modified_after": "Invalid date.", "orderby": "orderby is not one of date, id, include, title, slug, modified."}


def test_list_headers_count_pages_and_link_neighbours(server) -> None:  # noqa: ANN001
    first = list_orders(server, per_page=100, status="any")
    assert first.status_code == 200
    assert first.headers["X-WP-Total"] == str(ORDERS)
    assert first.headers["X-WP-TotalPages"] == str(math.ceil(ORDERS / 100))
    assert 'rel="next"' in first.headers["Link"] and "page=2" in first.headers["Link"] and 'rel="prev"' not in first.headers["Link"]
    middle = list_orders(server, per_page=100, page=2)
    assert 'rel="prev"' in middle.headers["Link"] and 'rel="next"' in middle.headers["Link"]
    last = list_orders(server, per_page=100, page=3)
    assert len(last.json()) == ORDERS - 200 and 'rel="next"' not in last.headers["Link"]
    beyond = list_orders(server, per_page=100, page=9)
    assert beyond.json() == [] and beyond.headers["X-WP-Total"] == str(ORDERS)


def test_modified_bounds_are_exclusive_and_ties_sort_by_id(server) -> None:  # noqa: ANN001
    ids = [o["id"] for o in server.app.dump_orders()[:3]]
    second = FROZEN - 3600
    admin(server, "mutate", {"touch": ids, "at": second})
    params = {"dates_are_gmt": "true", "orderby": "modified", "order": "asc", "per_page": 100}
    around = list_orders(server, modified_after=gmt(second - 1), modified_before=gmt(second + 1), **params).json()
    assert [o["id"] for o in around] == sorted(ids)
    assert [o["id"] for o in list_orders(server, **{**params, "order": "desc"}, modified_after=gmt(second - 1), modified_before=gmt(second + 1)).json()] == sorted(ids, reverse=True)
    assert not [o for o in list_orders(server, modified_after=gmt(second), modified_before=gmt(second + 1), **params).json()]
    assert not [o for o in list_orders(server, modified_after=gmt(second - 1), modified_before=gmt(second), **params).json()]
    whole = list_orders(server, **params).json() + list_orders(server, page=2, **params).json() + list_orders(server, page=3, **params).json()
    assert [(modified(o), o["id"]) for o in whole] == sorted((modified(o), o["id"]) for o in whole)


def test_an_offset_with_dates_are_gmt_is_read_in_site_time(server) -> None:  # noqa: ANN001
    """WP_Date_Query converts a value with an offset to the site's zone (+07), even for GMT columns."""
    order = server.app.dump_orders()[0]
    admin(server, "mutate", {"touch": [order["id"]], "at": FROZEN - 3600})
    hour_before = gmt(FROZEN - 7200)
    found = {o["id"] for o in list_orders(server, per_page=100, dates_are_gmt="true", modified_after=hour_before).json()}
    assert order["id"] in found
    shifted = {o["id"] for o in list_orders(server, per_page=100, dates_are_gmt="true", modified_after=hour_before + "Z").json()}
    assert order["id"] not in shifted  # the bound moved 7 hours later
    local = (datetime.fromtimestamp(FROZEN - 7200, timezone.utc) + timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M:%S")
    assert order["id"] in {o["id"] for o in list_orders(server, per_page=100, modified_after=local).json()}  # dates_are_gmt=false: site time


def test_include_status_and_trash(server) -> None:  # noqa: ANN001
    ids = [o["id"] for o in server.app.dump_orders()[:2]]
    found = list_orders(server, include=f"{ids[0]},{ids[1]},999999,abc", per_page=10).json()
    assert sorted(o["id"] for o in found) == sorted(ids)
    admin(server, "mutate", {"touch": [ids[0]], "status": "trash"})
    assert [o["id"] for o in list_orders(server, include=",".join(map(str, ids))).json()] == [ids[1]]  # status=any hides trash
    assert [o["id"] for o in list_orders(server, status="trash").json()] == [ids[0]]
    assert list_orders(server, status="shipped").status_code == 400


def test_seeded_orders_look_like_woocommerce(app) -> None:  # noqa: ANN001
    orders = app.dump_orders()
    assert len(orders) == ORDERS and len({o["id"] for o in orders}) == ORDERS
    assert set(Counter(o["status"] for o in orders)) >= {"pending", "processing", "completed", "cancelled", "refunded", "failed", "on-hold"}
    for o in orders:
        assert o["currency"] == "IDR" and o["total"].endswith(".00") and Decimal(o["total"]) > 0
        assert all(isinstance(line["price"], int) and line["total"].endswith(".00") for line in o["line_items"])
        local, utc = datetime.fromisoformat(o["date_created"]), datetime.fromisoformat(o["date_created_gmt"])
        assert local - utc == timedelta(hours=7) and "+" not in o["date_created"]
        assert modified(o) <= FROZEN and modified(o) >= epoch(o["date_created_gmt"])
        assert o["billing"]["last_name"] == "Contoh" and o["billing"]["phone"].startswith("0800-0000-")
        assert o["customer_ip_address"].startswith("192.0.2.")  # documentation range
        assert all(r["total"].startswith("-") for r in o["refunds"])
        if o["payment_method"] == "cod":
            assert (o["date_paid_gmt"] is None) == (o["status"] != "completed")
    shipped = [o for o in orders if any(m["key"].startswith("_resi_") or m["key"] == "_wc_shipment_tracking_items" for m in o["meta_data"])]
    assert shipped and all(o["status"] in ("processing", "completed", "cancelled") for o in shipped)


def test_the_same_seed_and_clock_give_the_same_shop() -> None:
    def shop() -> list[dict]:
        return WooCommerceSandbox(orders=60, seed=9, clock=SandboxClock(frozen_at=FROZEN)).dump_orders()

    assert shop() == shop()
    assert shop() != WooCommerceSandbox(orders=60, seed=10, clock=SandboxClock(frozen_at=FROZEN)).dump_orders()


def test_orders_move_on_as_the_data_clock_advances(app) -> None:  # noqa: ANN001
    before = {o["id"]: o for o in app.dump_orders()}
    app.clock.advance(10 * 86400)
    after = {o["id"]: o for o in app.dump_orders()}
    moved = [i for i in before if after[i]["date_modified_gmt"] != before[i]["date_modified_gmt"]]
    assert moved and all(after[i]["status"] != before[i]["status"] or after[i]["meta_data"] != before[i]["meta_data"] or after[i]["refunds"] != before[i]["refunds"] for i in moved)
    assert all(FROZEN < modified(after[i]) <= FROZEN + 10 * 86400 for i in moved)
    late_waybills = [i for i in moved if len(after[i]["meta_data"]) > len(before[i]["meta_data"])]
    assert late_waybills  # tracking numbers appear after the order was paid


def test_mutate_inserts_at_an_exact_second_and_corrupt_makes_an_order_unmappable(server) -> None:  # noqa: ANN001
    inserted = admin(server, "mutate", {"insert": 2, "at": FROZEN - 10})["inserted"]
    created = {o["id"]: o for o in server.app.dump_orders() if o["id"] in inserted}
    assert [epoch(created[i]["date_created_gmt"]) for i in inserted] == [FROZEN - 10] * 2
    victim = inserted[0]
    admin(server, "corrupt", {"id": victim, "field": "total"})
    corrupted = next(o for o in server.app.dump_orders() if o["id"] == victim)
    assert modified(corrupted) == FROZEN
    with pytest.raises(MappingError, match="^total: "):
        mapping.map_order(corrupted)
    response = list_orders(server)  # the rest still lists
    assert response.status_code == 200
    bad = admin_status(server, "corrupt", {"id": victim, "field": "nope"})
    assert bad == 400


def test_faults_use_the_wordpress_envelope(server) -> None:  # noqa: ANN001
    server.faults.update({"fail_next": [429, 500]})
    limited, broken = list_orders(server), list_orders(server)
    assert limited.status_code == 429 and limited.json()["data"]["status"] == 429
    assert broken.status_code == 500 and broken.json()["code"] == "internal_server_error"


def test_a_hundred_thousand_orders_list_a_page_for_the_cost_of_a_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """A listing by modification time reads the sorted index (bisect and slice), so a page of
    a 100k shop renders its 100 orders and looks at no other: counted, not timed."""
    app = WooCommerceSandbox(orders=100_000, seed=1, clock=SandboxClock(frozen_at=FROZEN))
    creds = app.demo_credentials()
    rendered, examined = Counter(), Counter()
    render, matches = app._render, ListQuery.matches
    monkeypatch.setattr(app, "_render", lambda order: (rendered.update([order.id]), render(order))[1])
    monkeypatch.setattr(ListQuery, "matches", lambda self, order: (examined.update([order.id]), matches(self, order))[1])
    query = {"per_page": "100", "orderby": "modified", "order": "asc", "dates_are_gmt": "true", "modified_after": gmt(FROZEN - 20 * 86400), "page": "3"}
    request = Request("GET", ORDERS_ROUTE, query, {"Authorization": _basic(creds)}, b"")
    reply = app.handle(request)
    assert reply.status == 200 and len(reply.body) == 100
    assert int(reply.headers["X-WP-Total"]) > 10_000
    assert sorted(rendered) == sorted(o["id"] for o in reply.body) and sum(rendered.values()) == 100  # the page, once each
    assert sum(examined.values()) == 0  # no order outside the page was looked at
    # The slow path (a filter the index cannot serve) does scan, so the counters see a scan:
    app.handle(Request("GET", ORDERS_ROUTE, {**query, "status": "completed"}, {"Authorization": _basic(creds)}, b""))
    assert sum(examined.values()) == 100_000


def _basic(creds: dict[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{creds['consumer_key']}:{creds['consumer_secret']}".encode()).decode()


def admin_status(server, action: str, body: dict) -> int:  # noqa: ANN001
    return requests.post(f"{server.url}/_sandbox/{action}", json=body, timeout=10).status_code
