"""The sandbox enforces the v202309 contract: signing, timestamp window, tokens, paging, ids."""

from __future__ import annotations

import ast
import hashlib
import hmac
import inspect
import time

import pytest
import requests
from urllib.parse import parse_qsl, urlsplit

from connectors.tiktok import api, sandbox
from tests.tiktok.support import FROZEN, ORDERS, admin, call, search

DAY = 86400

# What marketplaces.md §2 documents, typed from it (not from the code). The sandbox and the
# client may share exactly these constants, and each must equal the documentation.
DOCUMENTED_CONSTANTS = {
    "ORDER_SEARCH": "/order/202309/orders/search",  # §2.4 [T8] Get Order List, POST
    "ORDER_DETAIL": "/order/202309/orders",  # §2.4 [T9] Get Order Detail, GET ?ids=
    "AUTHORIZED_SHOPS": "/authorization/202309/shops",  # §2.2 [T2] Get Authorized Shops (the signing example's path)
    "TOKEN_REFRESH": "/api/v2/token/refresh",  # §2.3 [T1]
    "PAGE_SIZE": 100,  # §2.4 page_size "1-100"
    "DETAIL_BATCH": 50,  # §2.4 ids "Max count: 50"
    "TIMESTAMP_PAST": 300,  # §2.2 [T3] "5 minutes before ..."
    "TIMESTAMP_FUTURE": 30,  # §2.2 [T3] "... to 30 seconds beyond the current time"
    "ACCESS_TOKEN_SECONDS": 7 * DAY,  # §2.3 [T1] "must be refreshed every 7 days"
    # [T12]/[T13] (client.py: the doc pages' specifications): Search Cancellations, Search Returns, POST
    "CANCELLATION_SEARCH": "/return_refund/202309/cancellations/search",
    "RETURN_SEARCH": "/return_refund/202309/returns/search",
    "RETURN_PAGE_SIZE": 50,  # page_size "Upper limit 50" (both pages)
}
# §2.4/§2.7/§2.11 [T8]/[T9]: the order, line item and payment fields named in the sources
# (the response fields of Get Order List, as [T8] lists them; commerce_platform is from a
# captured reply, see client.py).
DOCUMENTED_ORDER_FIELDS = {
    "id", "buyer_message", "cancellation_initiator", "shipping_provider_id", "create_time", "shipping_provider", "packages",
    "payment", "recipient_address", "status", "fulfillment_type", "delivery_type", "paid_time", "rts_sla_time", "tts_sla_time",
    "cancel_reason", "update_time", "payment_method_name", "rts_time", "tracking_number", "split_or_combine_tag",
    "has_updated_recipient_address", "cancel_order_sla_time", "warehouse_id", "request_cancel_time", "shipping_type",
    "user_id", "buyer_email", "is_cod", "is_buyer_request_cancel", "is_on_hold_order", "line_items", "shipping_due_time",
    "collection_due_time", "delivery_due_time", "collection_time", "delivery_time", "cancel_time", "delivery_option_name",
    "commerce_platform",
}  # fmt: skip
DOCUMENTED_LINE_FIELDS = {
    "id", "sku_id", "product_id", "product_name", "sku_name", "seller_sku", "sku_image", "original_price", "sale_price",
    "seller_discount", "platform_discount", "currency", "display_status", "package_status", "package_id", "tracking_number",
    "shipping_provider_name", "is_gift", "sku_type", "cancel_user", "cancel_reason",
}  # fmt: skip
DOCUMENTED_PAYMENT_FIELDS = {
    "currency", "sub_total", "shipping_fee", "seller_discount", "platform_discount", "total_amount", "original_total_product_price",
    "original_shipping_fee", "shipping_fee_seller_discount", "shipping_fee_platform_discount", "tax", "small_order_fee",
    "shipping_fee_tax", "product_tax", "retail_delivery_fee", "buyer_service_fee",
}  # fmt: skip

# §2.2 [T2]: the official worked example, and the example with a body (signed byte for byte).
EXAMPLE_SECRET, EXAMPLE_PATH, EXAMPLE_QUERY = "e59af819cc", "/authorization/202309/shops", {"app_key": "29a39d", "timestamp": "1623812664"}
EXAMPLE_WRAPPED = "e59af819cc/authorization/202309/shopsapp_key29a39dtimestamp1623812664e59af819cc"
BODY_PATH, BODY_QUERY = "/event/202309/webhooks", {"app_key": "68xu9ks5p4i8", "shop_cipher": "ROW_xkMbgAAAeVAQra0eZWebFQq5aIKt", "timestamp": "1696909648"}
BODY = b'{    "address":"https://partner.tiktokshop.com",    "event_type": "PACKAGE_UPDATE"}'
BODY_STRING = '/event/202309/webhooksapp_key68xu9ks5p4i8shop_cipherROW_xkMbgAAAeVAQra0eZWebFQq5aIKttimestamp1696909648{    "address":"https://partner.tiktokshop.com",    "event_type": "PACKAGE_UPDATE"}'
# The documented string's HMAC, computed a third way (plain hmac over the documented text).
EXAMPLE_SIGN = hmac.new(EXAMPLE_SECRET.encode(), EXAMPLE_WRAPPED.encode(), hashlib.sha256).hexdigest()


def test_the_clients_signer_reproduces_the_documented_example() -> None:
    assert api.string_to_sign(EXAMPLE_PATH, EXAMPLE_QUERY).decode() == EXAMPLE_WRAPPED[len(EXAMPLE_SECRET) : -len(EXAMPLE_SECRET)]
    assert api.sign(EXAMPLE_SECRET, EXAMPLE_PATH, EXAMPLE_QUERY) == EXAMPLE_SIGN
    assert len(EXAMPLE_SIGN) == 64 and EXAMPLE_SIGN == EXAMPLE_SIGN.lower()  # hex.EncodeToString: lowercase
    # sign and access_token are never signed; the order of the query does not matter
    assert api.sign(EXAMPLE_SECRET, EXAMPLE_PATH, {"timestamp": "1623812664", "sign": "x", "access_token": "t", "app_key": "29a39d"}) == EXAMPLE_SIGN
    assert api.string_to_sign(BODY_PATH, BODY_QUERY, BODY).decode() == BODY_STRING
    assert api.string_to_sign(BODY_PATH, BODY_QUERY, BODY, multipart=True).decode() == BODY_STRING[: BODY_STRING.index("{")]


def test_the_sandboxs_own_signer_reproduces_the_documented_example() -> None:
    assert sandbox.signature(EXAMPLE_SECRET, EXAMPLE_PATH, dict(EXAMPLE_QUERY), b"") == EXAMPLE_SIGN
    assert sandbox.signature(EXAMPLE_SECRET, EXAMPLE_PATH, {**EXAMPLE_QUERY, "sign": "x", "access_token": "t"}, b"") == EXAMPLE_SIGN
    wrapped = (BODY_QUERY_SECRET := "s3cr3t") + BODY_STRING + BODY_QUERY_SECRET
    assert sandbox.signature(BODY_QUERY_SECRET, BODY_PATH, dict(BODY_QUERY), BODY, "application/json") == hmac.new(b"s3cr3t", wrapped.encode(), hashlib.sha256).hexdigest()


def test_the_sandbox_shares_only_documented_constants_with_the_client() -> None:
    """A twin that signs with the client's own signer agrees with the client by
    construction; only plain, documented constants may cross."""
    tree = ast.parse(inspect.getsource(sandbox))
    shared, modules = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("connectors.tiktok"):
            modules.add(node.module)
            shared |= {alias.name for alias in node.names}
        if isinstance(node, ast.Import):
            assert not any(alias.name.startswith("connectors.tiktok") for alias in node.names)
    assert modules == {"connectors.tiktok.api"}
    assert shared == set(DOCUMENTED_CONSTANTS)
    for name, documented in DOCUMENTED_CONSTANTS.items():
        value = getattr(api, name)
        assert not callable(value) and value == documented, name


def test_the_sandbox_renders_documented_field_names_only(app) -> None:  # noqa: ANN001
    assert set(sandbox.ORDER_FIELDS) <= DOCUMENTED_ORDER_FIELDS
    assert set(sandbox.LINE_ITEM_FIELDS) <= DOCUMENTED_LINE_FIELDS and set(sandbox.PAYMENT_FIELDS) <= DOCUMENTED_PAYMENT_FIELDS
    for order in app.dump_orders():
        assert set(order) <= set(sandbox.ORDER_FIELDS)
        assert set(order["payment"]) <= set(sandbox.PAYMENT_FIELDS)
        assert all(set(line) <= set(sandbox.LINE_ITEM_FIELDS) for line in order["line_items"])
        assert ("recipient_address" in order) is (order["status"] != "UNPAID")  # [T8]: not available while unpaid


def test_only_the_documented_string_signs_a_call(server) -> None:  # noqa: ANN001
    """Signed here a third way (plain hmac): the documented string passes, near misses do not."""
    creds = server.app.demo_credentials()
    ts = int(time.time())
    server.app.real_time = lambda: ts  # the timestamp is always fresh: only the signature is under test
    secret, path = creds["app_secret"], api.ORDER_DETAIL
    order_id = server.app.dump_orders()[0]["id"]
    query = {"app_key": creds["app_key"], "ids": order_id, "shop_cipher": creds["shop_cipher"], "timestamp": str(ts)}
    documented = path + "".join(f"{k}{query[k]}" for k in sorted(query))
    near_misses = {
        documented: 0,
        path + "".join(f"{k}{query[k]}" for k in reversed(sorted(query))): 106001,  # not sorted
        path + "".join(f"{k}={query[k]}" for k in sorted(query)): 106001,  # key=value
        "".join(f"{k}{query[k]}" for k in sorted(query)): 106001,  # no path
    }
    for text, code in near_misses.items():
        sign = hmac.new(secret.encode(), (secret + text + secret).encode(), hashlib.sha256).hexdigest()
        got = requests.get(server.url + path, params={**query, "sign": sign}, headers={"x-tts-access-token": creds["access_token"]}, timeout=10).json()
        assert got["code"] == code, text
    unwrapped = hmac.new(secret.encode(), documented.encode(), hashlib.sha256).hexdigest()  # the secret not wrapped around it
    assert requests.get(server.url + path, params={**query, "sign": unwrapped}, headers={"x-tts-access-token": creds["access_token"]}, timeout=10).json()["code"] == 106001
    upper = hmac.new(secret.encode(), (secret + documented + secret).encode(), hashlib.sha256).hexdigest().upper()
    assert requests.get(server.url + path, params={**query, "sign": upper}, headers={"x-tts-access-token": creds["access_token"]}, timeout=10).json()["code"] == 106001


def test_the_body_is_signed_byte_for_byte(server) -> None:  # noqa: ANN001
    creds = server.app.demo_credentials()
    good = call(server, "POST", api.ORDER_SEARCH, body={"update_time_ge": FROZEN - DAY}, page_size=5)
    assert good.json()["code"] == 0
    query = dict(parse_qsl(urlsplit(good.request.url).query))
    other = b'{"update_time_ge": 1}'  # a body the signature does not cover
    refused = requests.post(server.url + api.ORDER_SEARCH, params=query, data=other, headers={"x-tts-access-token": creds["access_token"], "Content-Type": "application/json"}, timeout=10)
    assert refused.json()["code"] == 106001


def test_the_timestamp_window_is_five_minutes_back_and_thirty_seconds_ahead(server) -> None:  # noqa: ANN001
    now = int(time.time())
    server.app.real_time = lambda: now  # the sandbox's real clock, held still: exact boundaries
    for offset, code in ((-301, 36009004), (-300, 0), (30, 0), (31, 36009004), (120, 36009004)):
        body = call(server, "GET", api.AUTHORIZED_SHOPS, timestamp=now + offset).json()
        assert body["code"] == code, offset
        if code:
            assert "5 minutes before to 30 seconds beyond" in body["message"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda c: c.update(app_key="6a0000"), 36009004),  # unknown app_key
        (lambda c: c.update(app_secret="wrong"), 106001),  # the signature does not match
        (lambda c: c.update(access_token="TTP_unknown"), 101000),
        (lambda c: c.update(shop_cipher="ROW_other"), 101000),
    ],
)
def test_refusals_carry_the_documented_codes(server, change, code) -> None:  # noqa: ANN001
    creds = dict(server.app.demo_credentials())
    change(creds)
    assert call(server, "GET", api.ORDER_DETAIL, creds=creds, ids="1").json()["code"] == code


def test_the_token_header_and_the_cipher_are_required(server) -> None:  # noqa: ANN001
    assert call(server, "GET", api.AUTHORIZED_SHOPS, headers={"x-tts-access-token": ""}).json()["code"] == 36009004
    creds = server.app.demo_credentials()
    query = {"app_key": creds["app_key"], "timestamp": str(int(time.time())), "ids": "1"}
    query["sign"] = sandbox.signature(creds["app_secret"], api.ORDER_DETAIL, query, b"")
    body = requests.get(server.url + api.ORDER_DETAIL, params=query, headers={"x-tts-access-token": creds["access_token"]}, timeout=10).json()
    assert body["code"] == 106013  # shop-scoped call without shop_cipher
    assert call(server, "GET", api.AUTHORIZED_SHOPS).json()["data"]["shops"][0]["cipher"] == creds["shop_cipher"]


def test_expired_tokens_are_105002_and_a_refresh_gives_absolute_expiries(server) -> None:  # noqa: ANN001
    creds = server.app.demo_credentials()
    server.app.expire_tokens()
    body = call(server, "GET", api.AUTHORIZED_SHOPS).json()
    assert body["code"] == 105002 and body["message"].startswith("Expired credentials.")
    query = {"app_key": creds["app_key"], "app_secret": creds["app_secret"], "refresh_token": creds["refresh_token"], "grant_type": "refresh_token"}
    before = int(time.time())
    data = requests.get(server.url + api.TOKEN_REFRESH, params=query, timeout=10).json()["data"]
    assert before + 7 * DAY <= data["access_token_expire_in"] <= int(time.time()) + 7 * DAY  # an epoch, not a duration
    assert data["refresh_token_expire_in"] == server.app.authorized_at + 365 * DAY
    fresh = {**creds, "access_token": data["access_token"], "refresh_token": data["refresh_token"]}
    assert call(server, "GET", api.AUTHORIZED_SHOPS, creds=fresh).json()["code"] == 0
    assert requests.get(server.url + api.TOKEN_REFRESH, params={**query, "app_secret": "x"}, timeout=10).json()["code"] == 36009004
    assert requests.get(server.url + api.TOKEN_REFRESH, params={**query, "refresh_token": "TTP_x"}, timeout=10).json()["code"] == 105002


def test_search_pages_through_the_range_once_in_update_time_order(server) -> None:  # noqa: ANN001
    seen, token, pages = [], "", 0
    while True:
        body = search(server, page_size=40, page_token=token, update_time_ge=FROZEN - 30 * DAY, update_time_lt=FROZEN + 1)
        assert body["code"] == 0
        seen += [o["id"] for o in body["data"]["orders"]]
        pages += 1
        token = body["data"]["next_page_token"]
        if not token:
            break
    truth = sorted((o["update_time"], o["id"]) for o in server.app.dump_orders() if FROZEN - 30 * DAY <= o["update_time"] <= FROZEN)
    assert seen == [i for _, i in truth] and pages == -(-len(truth) // 40)


def test_page_size_and_tokens_are_checked(server) -> None:  # noqa: ANN001
    for size in (0, 101):
        response = call(server, "POST", api.ORDER_SEARCH, body={}, page_size=size)
        assert response.status_code == 400 and response.json()["code"] == sandbox.PARAM_ERROR
    assert call(server, "POST", api.ORDER_SEARCH, body={}, page_size=10, page_token="not-a-token").json()["code"] == sandbox.PARAM_ERROR


def test_detail_takes_one_to_fifty_ids_and_leaves_unknown_ones_out(server) -> None:  # noqa: ANN001
    ids = [o["id"] for o in server.app.dump_orders()]
    got = call(server, "GET", api.ORDER_DETAIL, ids=",".join([*ids[:3], "579900000000000000"])).json()["data"]["orders"]
    assert [o["id"] for o in got] == ids[:3]
    assert call(server, "GET", api.ORDER_DETAIL, ids=",".join(ids[:51])).json()["code"] == sandbox.PARAM_ERROR
    assert call(server, "GET", api.ORDER_DETAIL, ids=",".join(ids[:50])).json()["code"] == 0


def test_buyers_are_desensitised_for_platform_logistics_only(app) -> None:  # noqa: ANN001
    for order in app.dump_orders():
        address = order.get("recipient_address")
        if address is None:
            continue
        masked = "*" in address["name"] and "*" in address["phone_number"]
        assert masked is (order["shipping_type"] == "TIKTOK"), order["id"]


def test_tracking_numbers_arrive_after_arrangement_without_a_new_update_time(server) -> None:  # noqa: ANN001
    app = server.app
    inserted = admin(server, "mutate", {"insert": 12, "at": FROZEN})["inserted"]
    history: dict[str, list[tuple[str, int, str]]] = {i: [] for i in inserted}
    for _ in range(3 * 24 * 4):  # three days in quarter hours
        app.clock.advance(900)
        for order in app.dump_orders():
            if order["id"] in history:
                history[order["id"]].append((order["status"], order["update_time"], order["tracking_number"]))
    for states in history.values():
        assert all(t == "" for s, _, t in states if s in ("UNPAID", "AWAITING_SHIPMENT"))  # [T6]: empty until shipped
        assert all(t for s, _, t in states if s in ("IN_TRANSIT", "DELIVERED", "COMPLETED"))
    waiting = [[h for h in states if h[0] == "AWAITING_COLLECTION"] for states in history.values()]
    waiting = [w for w in waiting if w]
    assert waiting, "no inserted order was arranged"
    assert all({s[1] for s in w} == {w[0][1]} for w in waiting)  # one update_time while waiting
    assert any(w[0][2] == "" and w[-1][2] for w in waiting), "every number arrived together with the arrangement"


def test_admin_corrupt_and_mutate(server) -> None:  # noqa: ANN001
    order_id = server.app.dump_orders()[0]["id"]
    admin(server, "mutate", {"touch": [order_id], "at": FROZEN - 5})
    assert next(o for o in server.app.dump_orders() if o["id"] == order_id)["update_time"] == FROZEN - 5
    admin(server, "corrupt", {"id": order_id})
    corrupted = next(o for o in server.app.dump_orders() if o["id"] == order_id)
    assert corrupted["payment"]["total_amount"] == "abc" and corrupted["update_time"] == FROZEN
    assert len(server.app.dump_orders()) == ORDERS
