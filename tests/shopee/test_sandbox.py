"""The sandbox enforces the v2 contract: signing, timestamps, tokens, ranges, page sizes, fields."""

from __future__ import annotations

import time

import pytest
import requests

from connectors.shopee import api
from tests.shopee.support import FROZEN, ORDERS, admin, call, signed

DAY = 86400


def listing(server, **params):  # noqa: ANN001, ANN201
    query = {"time_range_field": "update_time", "time_from": FROZEN - 10 * DAY, "time_to": FROZEN, "page_size": 100, "cursor": ""}
    return call(server, "GET", api.ORDER_LIST, **{**query, **params})


def test_the_signature_matches_shopees_documented_base_string() -> None:
    # [S1]: partner 2001887, path /api/v2/shop/get_shop_info, ts 1655714431, token, shop 14701711
    base = api.base_string(2001887, "/api/v2/shop/get_shop_info", 1655714431, "59777174636562737266615546704c6d", 14701711)
    assert base == "2001887/api/v2/shop/get_shop_info165571443159777174636562737266615546704c6d14701711"
    assert api.base_string(2001887, api.REFRESH, 1655714431) == "2001887/api/v2/auth/access_token/get1655714431"
    signature = api.sign("shpk72616e646f6d", base)
    assert len(signature) == 64 and signature == signature.lower()
    # RFC 4231 test case 2: the key is used as UTF-8 text, not hex-decoded
    assert api.sign("Jefe", "what do ya want for nothing?") == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


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


def test_a_timestamp_older_than_five_minutes_is_expired(server) -> None:  # noqa: ANN001
    stale = call(server, "GET", api.SHOP_INFO, timestamp=int(time.time()) - 301).json()
    assert (stale["error"], stale["message"]) == ("error_param", "Timestamp is expired")
    assert call(server, "GET", api.SHOP_INFO, timestamp=int(time.time()) - 200).json()["error"] == ""


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
