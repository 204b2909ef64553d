"""The sandbox enforces the LazOP contract: signing, timestamps, tokens, limits, offsets."""

from __future__ import annotations

import ast
import inspect
import json
import time

import pytest

from connectors.lazada import api, sandbox
from tests.lazada.support import FROZEN, admin, call

DAY = 86400

# What marketplaces.md §4 documents, typed from it (not from the code). The sandbox and the
# client may share exactly these constants, and each must equal the documentation.
DOCUMENTED_CONSTANTS = {
    "ORDERS": "/orders/get",  # §4.3 GetOrders
    "ORDER": "/order/get",  # §4.3 GetOrder (one order_id)
    "ORDER_ITEMS": "/orders/items/get",  # §4.3 GetMultipleOrderItems
    "SELLER": "/seller/get",  # NOT in §4: the GetSeller path, from the API reference's seller-api list
    "REFRESH": "/auth/token/refresh",  # §4.2 [L4]
    "PAGE_SIZE": 100,  # §4.3 limit: "The supported maximum number is 100"
    "OFFSET_CAP": 4500,  # §4.3: "Max Length: 4500" [L9] (the guide says 5000 [L5]; the smaller one)
    "ITEMS_BATCH": 50,  # §4.3 "unconfirmed (I recall 50)"; third-party SDKs say 50: the assumption client.py records
    "TIMESTAMP_TOLERANCE_MS": 7_200_000,  # §4.1 [L2] "should not exceed 7200 seconds"
    "ACCESS_TOKEN_SECONDS": 30 * DAY,  # §4.2 expires_in, Online apps
    "REFRESH_TOKEN_SECONDS": 180 * DAY,  # §4.2 refresh_expires_in, Online apps
}
# §4.1 [L1]: the documented example of the string to sign.
EXAMPLE_PATH, EXAMPLE_PARAMS, EXAMPLE_BASE = "/test/api", {"foo": "1", "bar": "2", "foo_bar": "3", "foobar": "4"}, "/test/apibar2foo1foo_bar3foobar4"
# RFC 4231 test case 2: HMAC-SHA256 with key "Jefe", hex in upper case as [L1] step 5 asks.
RFC4231_CASE_2 = ("Jefe", "what do ya want for nothing?", "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843")


def listing(server, **params):  # noqa: ANN001, ANN201
    query = {"update_after": "2025-05-01T00:00:00+07:00", "sort_by": "updated_at", "sort_direction": "ASC", "offset": 0, "limit": 100}
    return call(server, "GET", api.ORDERS, **{**query, **params})


def body(response) -> dict:  # noqa: ANN001
    assert response.status_code == 200, response.text
    return response.json()


def test_the_shared_constants_are_the_documented_ones() -> None:
    assert {name: getattr(api, name) for name in DOCUMENTED_CONSTANTS} == DOCUMENTED_CONSTANTS


def test_the_sandbox_imports_only_plain_constants_from_the_client_side() -> None:
    tree = ast.parse(inspect.getsource(sandbox))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("connectors.lazada") for a in n.names}
    assert imported <= set(DOCUMENTED_CONSTANTS) and "sign" not in imported and "base_string" not in imported


@pytest.mark.parametrize(("base", "sign"), [(api.base_string, api.sign), (lambda p, q: sandbox.signature_base(p, q), sandbox.signature)], ids=["client", "sandbox"])
def test_both_signers_match_the_documented_example_and_rfc_4231_in_upper_case(base, sign) -> None:  # noqa: ANN001
    assert base(EXAMPLE_PATH, EXAMPLE_PARAMS) == EXAMPLE_BASE
    assert base(EXAMPLE_PATH, {**EXAMPLE_PARAMS, "sign": "ignored"}) == EXAMPLE_BASE  # sign is never signed
    key, message, digest = RFC4231_CASE_2
    assert sign(key, message) == digest


def test_a_signed_call_is_served_and_a_lowercase_or_wrong_signature_is_refused(server) -> None:  # noqa: ANN001
    assert body(call(server, "GET", api.SELLER))["code"] == "0"
    from tests.lazada.support import signed

    query = signed(server, api.SELLER)
    for bad in (query["sign"].lower(), query["sign"][:-1] + ("0" if query["sign"][-1] != "0" else "1")):
        import requests

        refused = requests.get(server.url + api.SELLER, params={**query, "sign": bad}, timeout=10).json()
        assert (refused["code"], refused["type"]) == ("IncompleteSignature", "ISV")


def test_timestamps_are_milliseconds_within_7200_seconds_of_the_real_clock(server) -> None:  # noqa: ANN001
    now_ms = int(time.time() * 1000)
    assert body(call(server, "GET", api.SELLER, timestamp=now_ms - 7100 * 1000))["code"] == "0"
    assert body(call(server, "GET", api.SELLER, timestamp="2099-01-01T00:00:00Z"))["code"] == "InvalidTimestamp"
    assert body(call(server, "GET", api.SELLER, timestamp=now_ms + 7300 * 1000))["code"] == "InvalidTimestamp"
    assert body(call(server, "GET", api.SELLER, timestamp=now_ms // 1000))["code"] == "InvalidTimestamp"  # seconds, not ms


def test_tokens_expire_and_a_refresh_retires_the_old_pair(server) -> None:  # noqa: ANN001
    old = server.app.demo_credentials()
    server.app.expire_tokens()
    assert body(call(server, "GET", api.SELLER))["code"] == "IllegalAccessToken"
    fresh = body(call(server, "POST", api.REFRESH, public=True, refresh_token=old["refresh_token"]))
    assert fresh["code"] == "0" and fresh["expires_in"] == 30 * DAY and fresh["refresh_expires_in"] <= 180 * DAY
    assert body(call(server, "POST", api.REFRESH, public=True, refresh_token=old["refresh_token"]))["code"] == "IllegalRefreshToken"
    creds = {**old, "access_token": fresh["access_token"]}
    assert body(call(server, "GET", api.SELLER, creds=creds))["code"] == "0"


def test_orders_get_limits_and_the_offset_cap(server) -> None:  # noqa: ANN001
    assert body(call(server, "GET", api.ORDERS, limit=10))["code"] == "MissingParameter"  # update_after or created_after
    assert body(listing(server, limit=101))["code"] == "InvalidParameter"
    assert body(listing(server, offset=4500))["code"] == "0"
    assert body(listing(server, offset=4501))["code"] == "InvalidParameter"
    data = body(listing(server, limit=7))["data"]
    assert data["count"] == "7" and int(data["countTotal"]) > 7 and len(data["orders"]) == 7  # counts as text, like [L9]
    times = [o["updated_at"] for o in body(listing(server))["data"]["orders"]]
    assert times == sorted(times)


def test_update_bounds_are_strict_unless_the_knob_makes_them_inclusive(server) -> None:  # noqa: ANN001
    order = server.app.dump_orders()[0]
    at = order["updated_at"]
    window = {"update_after": at, "update_before": at}
    assert body(listing(server, **window))["data"]["orders"] == []
    server.app.inclusive_bounds = True
    assert order["order_id"] in [o["order_id"] for o in body(listing(server, **window))["data"]["orders"]]


def test_items_take_at_most_50_ids_and_leave_unknown_ones_out(server) -> None:  # noqa: ANN001
    ids = [int(o["order_id"]) for o in server.app.dump_orders()]
    assert body(call(server, "GET", api.ORDER_ITEMS, order_ids=json.dumps(ids[:51])))["code"] == "InvalidParameter"
    groups = body(call(server, "GET", api.ORDER_ITEMS, order_ids=json.dumps([*ids[:3], 1])))["data"]
    assert [g["order_id"] for g in groups] == ids[:3] and all(g["order_items"] for g in groups)


def test_every_unit_is_its_own_item_and_the_order_statuses_are_the_item_statuses(app) -> None:  # noqa: ANN001
    for order in app.dump_orders():
        items = order["order_items"]
        assert int(order["items_count"]) == len(items) and len({i["order_item_id"] for i in items}) == len(items)
        assert order["statuses"] == sorted({i["status"] for i in items})
        assert all("****" in order[a]["phone"] for a in ("address_shipping", "address_billing"))  # masked, like [L9]
        packed = [i for i in items if i["status"] in ("packed", "ready_to_ship", "shipped", "delivered", "failed", "returned")]
        assert all(i["tracking_code"] and i["package_id"] for i in packed)  # the pack call assigns both
    assert any(len(set(o["statuses"])) > 1 for o in app.dump_orders())  # some orders are partial


def test_mutate_and_corrupt_move_the_update_time(server) -> None:  # noqa: ANN001
    order_id = server.app.dump_orders()[0]["order_id"]
    admin(server, "mutate", {"touch": [order_id], "at": FROZEN - 5})
    [order] = [o for o in server.app.dump_orders() if o["order_id"] == order_id]
    assert order["updated_at"] == sandbox._iso(FROZEN - 5)
    admin(server, "corrupt", {"id": order_id})
    [order] = [o for o in server.app.dump_orders() if o["order_id"] == order_id]
    assert order["price"] == "abc"
