"""The sandbox enforces the v2 contract: signing, timestamps, tokens, ranges, page sizes, fields."""

from __future__ import annotations

import ast
import hashlib
import hmac
import inspect
import time

import pytest
import requests

from connectors.shopee import api, sandbox
from tests.shopee.support import FROZEN, ORDERS, admin, call, signed

DAY = 86400

# What marketplaces.md §1 documents, typed from it (not from the code). The sandbox and the
# client may share exactly these constants, and each must equal the documentation.
DOCUMENTED_CONSTANTS = {
    "ORDER_LIST": "/api/v2/order/get_order_list",  # §1.3 [S8]
    "ORDER_DETAIL": "/api/v2/order/get_order_detail",  # §1.3 [S10]
    "MASS_TRACKING": "/api/v2/logistics/get_mass_tracking_number",  # §1.5 [S3] v2.logistics.get_mass_tracking_number
    "SHOP_INFO": "/api/v2/shop/get_shop_info",  # §1.1 [S1], the path of the signing example
    "REFRESH": "/api/v2/auth/access_token/get",  # §1.1 [S2]/[S8]
    # §1.1: the token endpoints and the authorisation link are Public APIs
    "PUBLIC_PATHS": frozenset({"/api/v2/auth/access_token/get", "/api/v2/auth/token/get", "/api/v2/shop/auth_partner"}),
    "PAGE_SIZE": 100,  # §1.3 get_order_list page_size "between 1 and 100"
    "DETAIL_BATCH": 50,  # §1.3 get_order_detail order_sn_list "limit [1,50]"
    "MAX_RANGE_SECONDS": 15 * DAY,  # §1.3 "The maximum date range ... is 15 days"
    "TIMESTAMP_TOLERANCE": 300,  # §1.1 "requested within 5 minutes of a timestamp"
    "ACCESS_TOKEN_SECONDS": 14400,  # §1.1 access_token valid 4 hours, expire_in typically 14400
    "OLD_TOKEN_GRACE": 300,  # §1.1 [S8] the previous access_token stays valid for 5 more minutes
    "TRACKING_BATCH": 50,  # NOT documented (§1.5 names the endpoint only): the assumption client.py records
    "RETURN_LIST": "/api/v2/returns/get_return_list",  # §1.7 [S6] v2.returns.get_return_list
    "RETURN_DETAIL": "/api/v2/returns/get_return_detail",  # §1.7 [S6] v2.returns.get_return_detail
    "RETURN_PAGE_SIZE": 100,  # [R1] get_return_list page_size: "the maximum number of entries (<= 100)"
    "ESCROW_LIST": "/api/v2/payment/get_escrow_list",  # [P1] v2.payment.get_escrow_list
    "ESCROW_DETAIL": "/api/v2/payment/get_escrow_detail",  # [P1] v2.payment.get_escrow_detail
    "ESCROW_PAGE_SIZE": 100,  # [P1] get_escrow_list page_size "max: 100, default: 40"
    "ESCROW_FIRST_PAGE": 1,  # [P1] get_escrow_list page_no "min: 1, default: 1"
}
# §1.3 get_order_detail: the default fields, and response_optional_fields as [S10] lists them.
DOCUMENTED_DEFAULT_FIELDS = {"order_sn", "region", "currency", "cod", "order_status", "message_to_seller", "create_time", "update_time", "days_to_ship", "ship_by_date", "booking_sn"}
DOCUMENTED_OPTIONAL_FIELDS = {
    "buyer_user_id", "buyer_username", "estimated_shipping_fee", "recipient_address", "actual_shipping_fee", "goods_to_declare", "note",
    "note_update_time", "item_list", "pay_time", "dropshipper", "dropshipper_phone", "split_up", "buyer_cancel_reason", "cancel_by",
    "cancel_reason", "actual_shipping_fee_confirmed", "buyer_cpf_id", "fulfillment_flag", "pickup_done_time", "package_list",
    "shipping_carrier", "payment_method", "total_amount", "invoice_data", "no_plastic_packing", "order_chargeable_weight_gram", "edt",
    "return_due_date",
}  # fmt: skip
# §1.1 [S1]: the documented Shop-API signing example.
EXAMPLE = {"partner_id": 2001887, "path": "/api/v2/shop/get_shop_info", "timestamp": 1655714431, "access_token": "59777174636562737266615546704c6d", "shop_id": 14701711}
EXAMPLE_BASE = "2001887/api/v2/shop/get_shop_info165571443159777174636562737266615546704c6d14701711"
# RFC 4231 test case 2: HMAC-SHA256 with key "Jefe" (the key as text, as [S2]'s demos use it).
RFC4231_CASE_2 = ("Jefe", "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


def listing(server, **params):  # noqa: ANN001, ANN201
    query = {"time_range_field": "update_time", "time_from": FROZEN - 10 * DAY, "time_to": FROZEN, "page_size": 100, "cursor": ""}
    return call(server, "GET", api.ORDER_LIST, **{**query, **params})


def test_the_clients_signature_matches_shopees_documented_base_string() -> None:
    # [S1]: partner 2001887, path /api/v2/shop/get_shop_info, ts 1655714431, token, shop 14701711
    base = api.base_string(2001887, "/api/v2/shop/get_shop_info", 1655714431, "59777174636562737266615546704c6d", 14701711)
    assert base == "2001887/api/v2/shop/get_shop_info165571443159777174636562737266615546704c6d14701711"
    assert api.base_string(2001887, api.REFRESH, 1655714431) == "2001887/api/v2/auth/access_token/get1655714431"
    signature = api.sign("shpk72616e646f6d", base)
    assert len(signature) == 64 and signature == signature.lower()
    # RFC 4231 test case 2: the key is used as UTF-8 text, not hex-decoded
    assert api.sign("Jefe", "what do ya want for nothing?") == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_the_sandboxs_own_signer_matches_the_documented_example() -> None:
    assert sandbox.signature_base(**EXAMPLE) == EXAMPLE_BASE  # Shop API
    public = {k: EXAMPLE[k] for k in ("partner_id", "timestamp")}
    assert sandbox.signature_base(path="/api/v2/auth/access_token/get", **public) == "2001887/api/v2/auth/access_token/get1655714431"  # Public API
    key, message, digest = RFC4231_CASE_2
    assert sandbox.signature(key, message) == digest  # HMAC-SHA256, key as UTF-8 text, lowercase hex
    assert sandbox.signature("shpk" + "A" * 60, EXAMPLE_BASE) == sandbox.signature("shpk" + "A" * 60, EXAMPLE_BASE).lower()


def test_the_sandbox_shares_only_documented_constants_with_the_client() -> None:
    """A twin that signs with the client's own signer or reads the client's field list
    agrees with the client by construction; only plain, documented constants may cross."""
    tree = ast.parse(inspect.getsource(sandbox))
    shared, modules = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("connectors.shopee"):
            modules.add(node.module)
            shared |= {alias.name for alias in node.names}
        if isinstance(node, ast.Import):
            assert not any(alias.name.startswith("connectors.shopee") for alias in node.names)
    assert modules == {"connectors.shopee.api"}
    assert shared == set(DOCUMENTED_CONSTANTS)
    for name, documented in DOCUMENTED_CONSTANTS.items():
        value = getattr(api, name)
        assert not callable(value) and value == documented, name


def test_the_detail_field_lists_are_the_documented_ones() -> None:
    assert set(sandbox.DEFAULT_FIELDS) == DOCUMENTED_DEFAULT_FIELDS
    assert set(sandbox.OPTIONAL_FIELDS) <= DOCUMENTED_OPTIONAL_FIELDS
    assert set(api.DETAIL_FIELDS) <= DOCUMENTED_OPTIONAL_FIELDS  # the client asks for documented fields only


def test_a_detail_has_the_default_fields_and_only_the_optional_ones_asked_for(server) -> None:  # noqa: ANN001
    sn = server.app.dump_orders()[0]["order_sn"]
    bare = call(server, "GET", api.ORDER_DETAIL, order_sn_list=sn).json()["response"]["order_list"][0]
    assert set(bare) == DOCUMENTED_DEFAULT_FIELDS
    asked = "total_amount,goods_to_declare,not_a_field"  # a documented field without data, and a made-up one
    some = call(server, "GET", api.ORDER_DETAIL, order_sn_list=sn, response_optional_fields=asked).json()["response"]["order_list"][0]
    assert set(some) == DOCUMENTED_DEFAULT_FIELDS | {"total_amount"}
    everything = call(server, "GET", api.ORDER_DETAIL, order_sn_list=sn, response_optional_fields=",".join(sorted(DOCUMENTED_OPTIONAL_FIELDS))).json()
    assert set(everything["response"]["order_list"][0]) == DOCUMENTED_DEFAULT_FIELDS | set(sandbox.OPTIONAL_FIELDS)


def test_a_correct_call_succeeds_with_an_empty_error(server) -> None:  # noqa: ANN001
    body = listing(server).json()
    assert body["error"] == "" and body["request_id"] and len(body["response"]["order_list"]) > 0


@pytest.mark.parametrize(
    ("tamper", "code", "message"),
    [
        (lambda q: q.update(sign="0" * 64), "error_sign", "Wrong sign."),
        (lambda q: q.update(access_token="f" * 32), "error_sign", "Wrong sign."),  # the token is signed too
        (lambda q: q.pop("sign"), "error_param", "Wrong parameters, detail: sign is required."),
    ],
)
def test_tampered_requests_are_refused_in_the_envelope_with_http_200(server, tamper, code, message) -> None:  # noqa: ANN001
    query = signed(server, api.SHOP_INFO)
    tamper(query)
    response = requests.get(server.url + api.SHOP_INFO, params=query, timeout=10)
    assert response.status_code == 200
    assert (response.json()["error"], response.json()["message"]) == (code, message)


def test_only_the_documented_base_string_signs_a_call(server) -> None:  # noqa: ANN001
    """Signed here a third way (plain hmac), so neither the client's nor the sandbox's
    signer vouches for itself: the documented base string passes, near misses do not."""
    creds = server.app.demo_credentials()
    pid, path, ts, token, shop = creds["partner_id"], api.SHOP_INFO, int(time.time()), creds["access_token"], creds["shop_id"]
    server.app.real_time = lambda: ts  # the timestamp is always fresh: only the signature is under test
    bases = {
        f"{pid}{path}{ts}{token}{shop}": "",  # [S1]: partner_id, path, timestamp, access_token, shop_id
        f"{pid}|{path}|{ts}|{token}|{shop}": "error_sign",  # separators
        f"{pid}{path}{ts}{shop}{token}": "error_sign",  # shop_id and access_token swapped
        f"{pid}{path}{ts}": "error_sign",  # the Public-API form on a Shop API
    }
    for base, error in bases.items():
        sign = hmac.new(creds["partner_key"].encode(), base.encode(), hashlib.sha256).hexdigest()
        query = {"partner_id": pid, "timestamp": ts, "access_token": token, "shop_id": shop, "sign": sign}
        assert requests.get(server.url + path, params=query, timeout=10).json()["error"] == error, base
    query["sign"] = hmac.new(creds["partner_key"].encode(), f"{pid}{path}{ts}{token}{shop}".encode(), hashlib.sha256).hexdigest().upper()
    assert requests.get(server.url + path, params=query, timeout=10).json()["error"] == "error_sign"  # lowercase hex only


def test_a_timestamp_more_than_five_minutes_off_is_expired(server) -> None:  # noqa: ANN001
    now = int(time.time())
    server.app.real_time = lambda: now  # the sandbox's real clock, held still: exact boundaries
    for offset, error in ((-301, "error_param"), (-300, ""), (300, ""), (301, "error_param")):
        body = call(server, "GET", api.SHOP_INFO, timestamp=now + offset).json()
        assert body["error"] == error, offset
        if error:
            assert body["message"] == "Timestamp is expired"


def test_an_unknown_or_expired_access_token_is_error_auth(server) -> None:  # noqa: ANN001
    creds = {**server.app.demo_credentials(), "access_token": "a" * 32}
    assert call(server, "GET", api.SHOP_INFO, creds=creds).json()["message"] == "Invalid access_token."
    server.app.expire_tokens()
    body = call(server, "GET", api.SHOP_INFO).json()
    assert (body["error"], body["message"]) == ("error_auth", "Invalid access_token.")


def test_refresh_rotates_a_single_use_token_and_the_old_access_token_lives_five_minutes(server) -> None:  # noqa: ANN001
    creds = server.app.demo_credentials()
    body = {"refresh_token": creds["refresh_token"], "partner_id": creds["partner_id"], "shop_id": creds["shop_id"]}
    first = call(server, "POST", api.REFRESH, public=True, body=body).json()
    assert first["error"] == "" and first["expire_in"] == 14400 and "response" not in first  # top-level
    assert first["refresh_token"] != creds["refresh_token"] and first["access_token"] != creds["access_token"]
    again = call(server, "POST", api.REFRESH, public=True, body=body).json()
    assert (again["error"], again["message"]) == ("error_auth", "Invalid refresh_token.")  # single use
    assert call(server, "GET", api.SHOP_INFO, creds=creds).json()["error"] == ""  # old token: grace period
    fresh = {**creds, "access_token": first["access_token"]}
    assert call(server, "GET", api.SHOP_INFO, creds=fresh).json()["error"] == ""


def test_the_refresh_endpoint_is_a_public_api_signed_without_token(server) -> None:  # noqa: ANN001
    creds = server.app.demo_credentials()
    body = {"refresh_token": creds["refresh_token"], "partner_id": creds["partner_id"], "shop_id": creds["shop_id"]}
    as_shop_api = call(server, "POST", api.REFRESH, body=body).json()  # signed with token and shop: wrong
    assert as_shop_api["error"] == "error_sign"


def test_a_range_over_fifteen_days_or_reversed_is_refused(server) -> None:  # noqa: ANN001
    for time_from, time_to in ((FROZEN - 15 * DAY - 1, FROZEN), (FROZEN, FROZEN - 1)):
        body = listing(server, time_from=time_from, time_to=time_to).json()
        assert body["error"] == "order.order_list_invalid_time"
        assert body["message"] == "Start time must be earlier than end time and diff in 15days."
    assert listing(server, time_from=FROZEN - 15 * DAY, time_to=FROZEN).json()["error"] == ""


def test_page_size_over_100_is_refused_with_the_documented_text(server) -> None:  # noqa: ANN001
    body = listing(server, page_size=101).json()
    assert (body["error"], body["message"]) == ("error_param", "Wrong parameters, detail: page_size must be 100 or less.")
    assert listing(server, page_size=0).json()["error"] == "error_param"


def test_cursor_paging_covers_the_range_once_in_update_time_order(server) -> None:  # noqa: ANN001
    seen, cursor, pages = [], "", 0
    while True:
        response = listing(server, time_from=FROZEN - 15 * DAY, page_size=40, cursor=cursor).json()["response"]
        seen += [o["order_sn"] for o in response["order_list"]]
        pages += 1
        if not response["more"]:
            assert response["next_cursor"] == ""
            break
        cursor = response["next_cursor"]
    truth = sorted((o["update_time"], o["order_sn"]) for o in server.app.dump_orders() if FROZEN - 15 * DAY <= o["update_time"] <= FROZEN)
    assert seen == [sn for _, sn in truth] and pages == -(-len(truth) // 40)


def test_detail_returns_optional_fields_only_when_asked_and_at_most_50(server) -> None:  # noqa: ANN001
    sns = [o["order_sn"] for o in server.app.dump_orders()]
    bare = call(server, "GET", api.ORDER_DETAIL, order_sn_list=",".join(sns[:3])).json()["response"]["order_list"]
    assert len(bare) == 3 and all("item_list" not in o and "total_amount" not in o and "update_time" in o for o in bare)
    rich = call(server, "GET", api.ORDER_DETAIL, order_sn_list=sns[0], response_optional_fields="item_list,total_amount").json()
    assert {"item_list", "total_amount"} <= set(rich["response"]["order_list"][0]) and "package_list" not in rich["response"]["order_list"][0]
    assert call(server, "GET", api.ORDER_DETAIL, order_sn_list=",".join(sns[:51])).json()["error"] == "error_param"
    missing = call(server, "GET", api.ORDER_DETAIL, order_sn_list="2401010000000X").json()
    assert missing["error"] == "error_not_found"


def test_the_buyer_is_masked_like_shopee_masks(app) -> None:  # noqa: ANN001
    for order in app.dump_orders():
        address = order["recipient_address"]
        assert address["name"][1:-1] == "*" * (len(address["name"]) - 2)
        assert address["phone"].startswith("******") and address["full_address"].startswith("******")


def test_tracking_numbers_arrive_late_without_a_new_update_time(server) -> None:  # noqa: ANN001
    app = server.app
    inserted = admin(server, "mutate", {"insert": 12, "at": FROZEN})["inserted"]
    history: dict[str, list[tuple[str, int, str | None]]] = {sn: [] for sn in inserted}
    for _ in range(3 * 24 * 4):  # three days in quarter hours
        app.clock.advance(900)
        for order in app.dump_orders():
            if order["order_sn"] in history:
                history[order["order_sn"]].append((order["order_status"], order["update_time"], order["package_list"][0].get("tracking_number")))
    arranged = {sn: [h for h in states if h[0] == "PROCESSED"] for sn, states in history.items()}
    waited = [states for states in arranged.values() if states]
    assert waited, "no inserted order reached PROCESSED"
    for states in waited:
        assert states[0][2] is not None  # an arranged package carries the field...
        assert {s[1] for s in states} == {states[0][1]}  # ...and PROCESSED keeps one update_time
    late = [states for states in waited if states[0][2] == "" and states[-1][2]]
    assert late, "every number arrived together with PROCESSED"  # numbers come later, silently


def test_mass_tracking_answers_per_package(server) -> None:  # noqa: ANN001
    order = next(o for o in server.app.dump_orders() if o["order_status"] == "COMPLETED")
    package = order["package_list"][0]["package_number"]
    body = call(server, "POST", api.MASS_TRACKING, body={"package_list": [{"package_number": package}, {"package_number": "OFG0"}]}).json()
    [ok] = body["response"]["success_list"]
    assert ok["package_number"] == package and ok["tracking_number"] == order["package_list"][0]["tracking_number"]
    assert [f["package_number"] for f in body["response"]["fail_list"]] == ["OFG0"]


def test_admin_corrupt_and_mutate(server) -> None:  # noqa: ANN001
    sn = server.app.dump_orders()[0]["order_sn"]
    admin(server, "mutate", {"touch": [sn], "at": FROZEN - 5})
    assert next(o for o in server.app.dump_orders() if o["order_sn"] == sn)["update_time"] == FROZEN - 5
    admin(server, "corrupt", {"id": sn})
    corrupted = next(o for o in server.app.dump_orders() if o["order_sn"] == sn)
    assert corrupted["total_amount"] == "abc" and corrupted["update_time"] == FROZEN
    assert len(server.app.dump_orders()) == ORDERS
