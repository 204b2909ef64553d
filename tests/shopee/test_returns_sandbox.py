"""The sandbox's returns API: the documented parameters and fields, seeded returns that move
through the documented statuses on the data clock, and the ``returns`` admin action."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import requests

from connectors._sandbox import Request, SandboxClock
from connectors.shopee import api, sandbox
from connectors.shopee.sandbox import ShopeeSandbox
from mappings import shopee_returns as mapping
from simpul.canonical import MappingError
from tests.shopee.support import FROZEN, ORDERS, admin, call, signed

DAY = 86400
# [R1] a get_return_list element's fields and [R2] get_return_detail's, typed from the reference
# pages (client.py's sources), not from the code.
DOCUMENTED_LIST_FIELDS = {
    "image", "reason", "text_reason", "reassessed_request_reason", "return_sn", "refund_amount", "currency", "create_time", "update_time",
    "status", "due_date", "tracking_number", "dispute_reason", "dispute_text_reason", "needs_logistics", "amount_before_discount", "user",
    "item", "order_sn", "return_ship_due_date", "return_seller_due_date", "negotiation_status", "seller_proof_status",
    "seller_compensation_status", "return_refund_type", "return_solution", "is_seller_arrange", "is_shipping_proof_mandatory",
    "return_refund_request_type", "validation_type", "is_arrived_at_warehouse", "follow_up_action_list",
}  # fmt: skip
DOCUMENTED_DETAIL_FIELDS = {
    "image", "buyer_videos", "reason", "text_reason", "reassessed_request_reason", "return_sn", "refund_amount", "currency", "create_time",
    "update_time", "status", "due_date", "tracking_number", "dispute_reason", "dispute_text_reason", "needs_logistics",
    "amount_before_discount", "user", "item", "order_sn", "return_ship_due_date", "return_seller_due_date", "activity", "seller_proof",
    "seller_compensation", "negotiation", "logistics_status", "reverse_logistics_status", "return_pickup_address", "virtual_contact_number",
    "package_query_number", "return_address", "return_refund_type", "return_solution", "is_seller_arrange", "is_shipping_proof_mandatory",
    "has_uploaded_shipping_proof", "is_reverse_logistics_channel_integrated", "reverse_logistics_channel_name", "return_refund_request_type",
    "validation_type", "is_arrived_at_warehouse", "follow_up_action_list",
}  # fmt: skip
DOCUMENTED_ITEM_FIELDS = {"model_id", "name", "images", "amount", "item_price", "is_add_on_deal", "is_main_item", "add_on_deal_id", "item_id", "item_sku", "variation_sku"}
DOCUMENTED_STATUSES = {"REQUESTED", "ACCEPTED", "CANCELLED", "JUDGING", "CLOSED", "PROCESSING", "SELLER_DISPUTE"}  # [S6]
DOCUMENTED_PARCEL = {  # [S6] reverse logistics statuses (normal RR, then in-transit RR / return-on-the-spot)
    "LOGISTICS_PENDING_ARRANGE", "LOGISTICS_READY", "LOGISTICS_REQUEST_CREATED", "LOGISTICS_PICKUP_RETRY", "LOGISTICS_PICKUP_FAILED",
    "LOGISTICS_PICKUP_DONE", "LOGISTICS_DELIVERY_FAILED", "LOGISTICS_LOST", "LOGISTICS_DELIVERY_DONE",
    "Preparing", "Delivered", "Delivery Failed", "Lost",
}  # fmt: skip


def returns_page(server, **params):  # noqa: ANN001, ANN201
    query = {"page_no": 0, "page_size": 100, "update_time_from": FROZEN - 15 * DAY, "update_time_to": FROZEN}
    return call(server, "GET", api.RETURN_LIST, **{**query, **params}).json()


def test_seeded_returns_are_a_quarter_of_the_orders_of_several_kinds_and_deterministic(app) -> None:  # noqa: ANN001
    records = app.dump_returns()
    orders = {o["order_sn"]: o for o in app.dump_orders()}
    assert len(records) >= ORDERS // 4 and len({r["return_sn"] for r in records}) == len(records)
    assert {r["order_sn"] for r in records} <= set(orders)
    assert all(o["order_status"] != "TO_RETURN" or any(r["order_sn"] == sn for r in records) for sn, o in orders.items())  # every TO_RETURN order has one
    assert len(Counter(r["status"] for r in records)) >= 4 and {r["return_solution"] for r in records} == {0, 1}
    assert {r["status"] for r in records} <= DOCUMENTED_STATUSES and {r["reverse_logistics_status"] for r in records} - {""} <= DOCUMENTED_PARCEL
    assert all(r["create_time"] <= r["update_time"] <= FROZEN for r in records)
    again = ShopeeSandbox(orders=ORDERS, seed=3, clock=SandboxClock(frozen_at=FROZEN)).dump_returns()
    assert again == records  # the same seed, the same shop
    other = ShopeeSandbox(orders=ORDERS, seed=4, clock=SandboxClock(frozen_at=FROZEN)).dump_returns()
    assert {r["return_sn"] for r in other}.isdisjoint(r["return_sn"] for r in records)


def test_the_sandboxs_field_lists_are_the_documented_ones(server) -> None:  # noqa: ANN001
    assert set(sandbox.RETURN_LIST_FIELDS) <= DOCUMENTED_LIST_FIELDS and set(sandbox.RETURN_DETAIL_FIELDS) <= DOCUMENTED_DETAIL_FIELDS
    assert set(sandbox.RETURN_STATUSES) == DOCUMENTED_STATUSES
    [listed, *_] = returns_page(server)["response"]["return"]
    assert set(listed) == set(sandbox.RETURN_LIST_FIELDS) and all(set(i) == DOCUMENTED_ITEM_FIELDS for i in listed["item"])
    detail = call(server, "GET", api.RETURN_DETAIL, return_sn=listed["return_sn"]).json()["response"]
    assert set(detail) == set(sandbox.RETURN_DETAIL_FIELDS) and all(set(i) == DOCUMENTED_ITEM_FIELDS | {"refund_amount"} for i in detail["item"])
    assert {k: v for k, v in detail.items() if k in listed and k != "item"} == {k: v for k, v in listed.items() if k in detail and k != "item"}


def test_the_list_pages_by_page_number_in_update_time_order(server) -> None:  # noqa: ANN001
    seen, page_no = [], 0
    while True:
        body = returns_page(server, page_no=page_no)["response"]
        assert len(body["return"]) <= sandbox.RETURN_PAGE_CAP
        seen += [(r["update_time"], r["return_sn"]) for r in body["return"]]
        page_no += 1
        if not body["more"]:
            break
    truth = sorted((r["update_time"], r["return_sn"]) for r in server.app.dump_returns() if FROZEN - 15 * DAY <= r["update_time"] <= FROZEN)
    assert seen == truth and page_no == -(-len(truth) // sandbox.RETURN_PAGE_CAP) > 1
    assert returns_page(server, page_no=page_no)["response"] == {"more": False, "return": []}


def test_the_list_filters_by_create_time_and_status(server) -> None:  # noqa: ANN001
    records = server.app.dump_returns()
    start = sorted(r["create_time"] for r in records)[len(records) // 2]
    created = returns_page(server, create_time_from=start, create_time_to=start + 10 * DAY, update_time_from=start, update_time_to=start + 15 * DAY)
    assert {r["return_sn"] for r in created["response"]["return"]} == {
        r["return_sn"] for r in records if start <= r["create_time"] <= start + 10 * DAY and start <= r["update_time"] <= start + 15 * DAY
    }
    accepted = returns_page(server, status="ACCEPTED")["response"]["return"]
    assert accepted and {r["status"] for r in accepted} == {"ACCEPTED"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"page_size": 101}, "Wrong parameters, detail: page_size must be 100 or less."),
        ({"page_size": 0}, "Wrong parameters, detail: page_no must be 0 or more and page_size greater than 0."),
        ({"page_no": -1}, "Wrong parameters, detail: page_no must be 0 or more and page_size greater than 0."),
        ({"page_no": None}, "Wrong parameters, detail: page_no is required and must be an integer."),
        ({"update_time_from": FROZEN - 15 * DAY - 1}, "Wrong parameters, detail: The period between update_time_from and update_time_to must not more than 15 days."),
        ({"update_time_to": None}, "Wrong parameters, detail: update_time_to is required and must be an integer."),
        ({"create_time_from": FROZEN - 14 * DAY, "create_time_to": FROZEN}, "Wrong parameters, detail: The update_time_from must be after create_time_from."),
    ],
)
def test_the_list_refuses_what_the_reference_forbids(server, params: dict, message: str) -> None:  # noqa: ANN001
    query = {"page_no": 0, "page_size": 100, "update_time_from": FROZEN - 15 * DAY, "update_time_to": FROZEN, **params}
    body = call(server, "GET", api.RETURN_LIST, **{k: v for k, v in query.items() if v is not None}).json()
    assert (body["error"], body["message"]) == ("error_param", message)
    assert returns_page(server, update_time_from=FROZEN - 15 * DAY)["error"] == ""  # exactly 15 days is allowed


def test_an_unknown_return_is_error_data_and_signing_is_checked_on_both_endpoints(server) -> None:  # noqa: ANN001
    body = call(server, "GET", api.RETURN_DETAIL, return_sn="2206140TA5PM808").json()
    assert (body["error"], body["message"]) == ("error_data", "The return you queried doesn't exist.")
    for path, params in ((api.RETURN_LIST, {"page_no": 0, "page_size": 10}), (api.RETURN_DETAIL, {"return_sn": "x"})):
        query = signed(server, path, **params)
        query["sign"] = query["sign"][::-1]
        refused = requests.get(server.url + path, params=query, timeout=10).json()
        assert (refused["error"], refused["message"]) == ("error_sign", "Wrong sign."), path
        other = signed(server, api.SHOP_INFO, **params)  # signed for another path
        assert requests.get(server.url + path, params=other, timeout=10).json()["error"] == "error_sign", path


def test_returns_move_through_documented_statuses_on_the_data_clock(app) -> None:  # noqa: ANN001
    def states() -> dict[str, tuple[str, str, int]]:
        return {r["return_sn"]: (r["status"], r["reverse_logistics_status"], r["update_time"]) for r in app.dump_returns()}

    history = [states()]
    for _ in range(10 * 4):  # ten days in quarter days
        app.clock.advance(DAY // 4)
        history.append(states())
    moves = Counter()
    for before, after in zip(history, history[1:]):
        for sn, (status, parcel, updated) in after.items():
            if (status, parcel) != before[sn][:2]:
                assert updated > before[sn][2], sn  # every change moves update_time
                moves[(before[sn][0], status)] += 1
            else:
                assert updated == before[sn][2]
    allowed = {
        ("REQUESTED", "PROCESSING"), ("REQUESTED", "ACCEPTED"), ("REQUESTED", "CANCELLED"), ("REQUESTED", "SELLER_DISPUTE"),
        ("PROCESSING", "PROCESSING"), ("PROCESSING", "ACCEPTED"), ("PROCESSING", "SELLER_DISPUTE"), ("SELLER_DISPUTE", "JUDGING"),
        ("JUDGING", "ACCEPTED"), ("JUDGING", "CLOSED"),
    }  # fmt: skip
    assert moves and set(moves) <= allowed
    final = [sn for sn, (status, _, _) in history[0].items() if status in mapping.FINAL]
    assert all(history[-1][sn] == history[0][sn] for sn in final)  # a final return stays put


def test_admin_touch_advance_and_corrupt(server) -> None:  # noqa: ANN001
    app = server.app
    by_sn = {r["return_sn"]: r for r in app.dump_returns()}
    open_ = [sn for sn, r in by_sn.items() if r["status"] not in mapping.FINAL]
    final = next(sn for sn, r in by_sn.items() if r["status"] in mapping.FINAL)
    reply = admin(server, "returns", {"touch": open_[:2], "at": FROZEN - 5})
    assert reply["touched"] == 2 and {r["update_time"] for r in app.dump_returns() if r["return_sn"] in open_[:2]} == {FROZEN - 5}
    reply = admin(server, "returns", {"advance": [open_[0], final]})
    now = {r["return_sn"]: r for r in app.dump_returns()}
    [moved] = reply["advanced"]
    assert moved == {"return_sn": open_[0], "status": now[open_[0]]["status"]} and now[open_[0]]["status"] != by_sn[open_[0]]["status"]
    assert now[open_[0]]["update_time"] == FROZEN and now[final]["update_time"] == FROZEN  # the final one is only touched
    assert now[final]["status"] == by_sn[final]["status"]
    admin(server, "returns", {"corrupt": open_[1]})
    broken = next(r for r in app.dump_returns() if r["return_sn"] == open_[1])
    assert broken["update_time"] == FROZEN
    with pytest.raises(MappingError, match="^refund_amount: "):
        mapping.map_return(broken)
    bad = requests.post(f"{server.url}/_sandbox/returns", json={"advance": ["nope"]}, timeout=10)
    assert bad.status_code == 400


def test_advancing_walks_a_return_to_its_end_one_status_at_a_time(app) -> None:  # noqa: ANN001
    sn = next(r["return_sn"] for r in app.dump_returns() if r["status"] == "REQUESTED")
    seen = [next(r for r in app.dump_returns() if r["return_sn"] == sn)["status"]]
    for _ in range(8):
        app.admin("returns", Request("POST", "/_sandbox/returns", {}, {}, json.dumps({"advance": [sn]}).encode()))
        seen.append(next(r for r in app.dump_returns() if r["return_sn"] == sn)["status"])
    statuses = [s for i, s in enumerate(seen) if i == 0 or s != seen[i - 1]]
    assert statuses[0] == "REQUESTED" and statuses[-1] in mapping.FINAL and set(statuses) <= DOCUMENTED_STATUSES
    assert len(statuses) == len(set(statuses))  # each step is a new status, never back
