"""The sandbox's escrow API ([P1] v2.payment.get_escrow_list / get_escrow_detail): signing,
the documented parameters, paging by release time with ties, the income arithmetic, and the
``escrow`` admin action. Everything is asked over HTTP and checked against the orders, the
returns and ``dump_settlements()``."""

from __future__ import annotations

import pytest
import requests

from connectors._sandbox import SandboxClock
from connectors.shopee import api
from connectors.shopee.sandbox import ShopeeSandbox
from tests.shopee.support import FROZEN, ORDERS, admin, call, signed

DAY = 86400
# [P1] as the SDK types transcribe the reference pages (typed from them, not from the code).
INCOME_FIELDS = {
    "escrow_amount", "buyer_total_amount", "original_price", "seller_discount", "shopee_discount", "voucher_from_seller",
    "voucher_from_shopee", "coins", "buyer_paid_shipping_fee", "commission_fee", "service_fee", "seller_transaction_fee",
    "actual_shipping_fee", "final_shipping_fee", "shopee_shipping_rebate", "estimated_shipping_fee", "reverse_shipping_fee",
    "seller_return_refund", "order_adjustment", "total_adjustment_amount", "escrow_amount_after_adjustment", "items",
}  # fmt: skip
ITEM_FIELDS = {"item_id", "item_name", "item_sku", "model_id", "model_sku", "original_price", "discounted_price", "quantity_purchased"}
DETAIL_FIELDS = {"order_sn", "buyer_user_name", "return_order_sn_list", "order_income", "buyer_payment_info"}
PAYMENT_FIELDS = {"buyer_payment_method", "buyer_total_amount", "shipping_fee", "merchant_subtotal"}
EVER = {"release_time_from": FROZEN - 60 * DAY, "release_time_to": FROZEN + 60 * DAY}  # wider than the seeded history


def escrow_page(server, **params):  # noqa: ANN001, ANN201
    return call(server, "GET", api.ESCROW_LIST, **{**EVER, "page_size": 100, "page_no": 1, **params}).json()


def escrow_detail(server, order_sn: str):  # noqa: ANN001, ANN201
    return call(server, "GET", api.ESCROW_DETAIL, order_sn=order_sn).json()


def walk(server, page_size: int, **params) -> list[list[tuple[str, int | float, int]]]:  # noqa: ANN001
    """Every page of the list, by page number until ``more`` is false."""
    pages, page_no = [], 1
    while True:
        body = escrow_page(server, page_size=page_size, page_no=page_no, **params)
        assert body["error"] == "", body
        pages.append([(r["order_sn"], r["payout_amount"], r["escrow_release_time"]) for r in body["response"]["escrow_list"]])
        if not body["response"]["more"]:
            return pages
        page_no += 1


def settled(app: ShopeeSandbox) -> list[dict]:
    """``dump_settlements()`` (the oracle's terms) in the list's and the detail's names."""
    return [{"order_sn": d["order"], "payout_amount": d["payout"], "escrow_release_time": d["released_at"], "escrow_amount": d["expected"]} for d in app.dump_settlements()]


def truth(app: ShopeeSandbox) -> list[tuple[str, int | float, int]]:
    return [(s["order_sn"], s["payout_amount"], s["escrow_release_time"]) for s in settled(app)]


def open_orders(app: ShopeeSandbox, before: int) -> list[str]:
    """Orders neither completed nor cancelled, last changed at or before ``before``."""
    return [o["order_sn"] for o in app.dump_orders() if o["order_status"] not in ("COMPLETED", "CANCELLED") and o["update_time"] <= before]


def test_signing_is_checked_on_both_endpoints(server) -> None:  # noqa: ANN001
    sn = settled(server.app)[0]["order_sn"]
    for path, params in ((api.ESCROW_LIST, {**EVER, "page_no": 1}), (api.ESCROW_DETAIL, {"order_sn": sn})):
        good = requests.get(server.url + path, params=signed(server, path, **params), timeout=10).json()
        assert good["error"] == "" and good["response"], path
        query = signed(server, path, **params)
        query["sign"] = query["sign"][::-1]
        refused = requests.get(server.url + path, params=query, timeout=10).json()
        assert (refused["error"], refused["message"]) == ("error_sign", "Wrong sign."), path
        assert "response" not in refused
        other = signed(server, api.SHOP_INFO, **params)  # signed for another path
        assert requests.get(server.url + path, params=other, timeout=10).json()["error"] == "error_sign", path
        public = signed(server, path, public=True, **params)  # a shop API signed as a public one
        assert requests.get(server.url + path, params=public, timeout=10).json()["error"] == "error_param", path


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"page_size": 0}, "Wrong parameters, detail: page_size must be greater than 0."),
        ({"page_size": 101}, "Wrong parameters, detail: page_size must be 100 or less."),
        ({"page_no": 0}, "Wrong parameters, detail: page_no must be 1 or more."),
        ({"page_no": "x"}, "Wrong parameters, detail: page_no must be an integer."),
        ({"release_time_from": FROZEN, "release_time_to": FROZEN - 1}, "Wrong parameters, detail: release_time_from must not be later than release_time_to."),
        ({"release_time_from": None}, "Wrong parameters, detail: release_time_from is required and must be an integer."),
        ({"release_time_to": None}, "Wrong parameters, detail: release_time_to is required and must be an integer."),
    ],
)
def test_the_list_refuses_what_the_reference_forbids(server, params: dict, message: str) -> None:  # noqa: ANN001
    query = {**EVER, "page_size": 100, "page_no": 1, **params}
    body = call(server, "GET", api.ESCROW_LIST, **{k: v for k, v in query.items() if v is not None}).json()
    assert (body["error"], body["message"]) == ("error_param", message)
    assert "response" not in body


def test_the_documented_bounds_and_defaults_are_accepted(server) -> None:  # noqa: ANN001
    settlements = settled(server.app)
    assert len(settlements) > 40
    assert len(escrow_page(server, page_size=100)["response"]["escrow_list"]) == min(100, len(settlements))
    assert len(escrow_page(server, page_size=1)["response"]["escrow_list"]) == 1
    bare = call(server, "GET", api.ESCROW_LIST, **EVER).json()["response"]  # page_size "default: 40", page_no "default: 1"
    assert [r["order_sn"] for r in bare["escrow_list"]] == [s["order_sn"] for s in settlements[:40]] and bare["more"] is True
    one = settlements[len(settlements) // 2]
    same_second = escrow_page(server, release_time_from=one["escrow_release_time"], release_time_to=one["escrow_release_time"])["response"]
    assert one["order_sn"] in [r["order_sn"] for r in same_second["escrow_list"]]  # both bounds inclusive


def test_paging_covers_the_settlements_exactly_once_with_ties_across_pages(server) -> None:  # noqa: ANN001
    app = server.app
    middle = settled(app)[len(settled(app)) // 2]
    tie = middle["escrow_release_time"]
    chosen = open_orders(app, tie)[:6]
    assert len(chosen) == 6
    reply = admin(server, "escrow", {"release": chosen, "at": tie})
    assert reply["released"] == chosen
    expected = truth(app)
    group = [sn for sn, _, at in expected if at == tie]
    assert sorted(group) == sorted([*chosen, middle["order_sn"]]) and group == sorted(group)  # ties by order_sn
    assert [(at, sn) for sn, _, at in expected] == sorted((at, sn) for sn, _, at in expected)
    for size in (3, 4, 100):
        pages = walk(server, size)
        assert [row for page in pages for row in page] == expected, size
        assert all(len(page) == size for page in pages[:-1]) and 0 < len(pages[-1]) <= size
    pages = walk(server, 3)
    splits = [i for i in range(len(pages) - 1) if pages[i][-1][2] == pages[i + 1][0][2] == tie]
    assert splits, "the tie group spans a page boundary"
    beyond = escrow_page(server, page_size=3, page_no=len(pages) + 1)["response"]
    assert beyond == {"escrow_list": [], "more": False}
    window = escrow_page(server, release_time_from=tie, release_time_to=tie)["response"]["escrow_list"]
    assert [r["order_sn"] for r in window] == group


def test_only_completed_orders_are_listed_and_nothing_from_the_future(app, server) -> None:  # noqa: ANN001
    def listed() -> dict[str, int]:
        return {sn: at for page in walk(server, 100) for sn, _, at in page}

    orders, settled = {o["order_sn"]: o for o in app.dump_orders()}, truth(app)
    now = listed()
    completed = {sn for sn, o in orders.items() if o["order_status"] == "COMPLETED"}
    assert set(now) == completed and len(completed) < len(orders)
    assert all(at == orders[sn]["update_time"] <= FROZEN for sn, at in now.items())  # released when completed, not later
    ahead = escrow_page(server, release_time_from=FROZEN + 1, release_time_to=FROZEN + 30 * DAY)["response"]
    assert ahead == {"escrow_list": [], "more": False}
    app.clock.advance(3 * DAY)
    later, orders = listed(), {o["order_sn"]: o for o in app.dump_orders()}
    assert {sn: later[sn] for sn in now} == now  # a release never moves
    new = set(later) - set(now)
    assert new and all(FROZEN < later[sn] <= FROZEN + 3 * DAY and orders[sn]["order_status"] == "COMPLETED" for sn in new)
    assert set(later) == {sn for sn, o in orders.items() if o["order_status"] == "COMPLETED"}
    assert truth(ShopeeSandbox(orders=ORDERS, seed=3, clock=SandboxClock(frozen_at=FROZEN))) == settled  # the same seed, the same payouts
    assert {sn for sn, _, _ in truth(ShopeeSandbox(orders=ORDERS, seed=4, clock=SandboxClock(frozen_at=FROZEN)))}.isdisjoint(now)


def test_the_income_follows_the_formula_and_the_orders_money_for_every_order(server) -> None:  # noqa: ANN001
    app = server.app
    returns: dict[str, list[str]] = {}
    for r in app.dump_returns():
        returns.setdefault(r["order_sn"], []).append(r["return_sn"])
    payouts = {sn: payout for sn, payout, _ in truth(app)}
    assert any(returns) and len(payouts) < len(app.dump_orders())
    for order in app.dump_orders():
        body = escrow_detail(server, order["order_sn"])
        assert body["error"] == "", body
        detail = body["response"]
        assert set(detail) == DETAIL_FIELDS and detail["order_sn"] == order["order_sn"]
        income, paid = detail["order_income"], detail["buyer_payment_info"]
        assert set(income) == INCOME_FIELDS - {"order_adjustment"} and set(paid) == PAYMENT_FIELDS  # [P1]: absent without adjustments
        assert all(set(item) == ITEM_FIELDS for item in income["items"])
        subtotal = sum(i["model_discounted_price"] * i["model_quantity_purchased"] for i in order["item_list"])
        assert income["escrow_amount"] == (  # the documented formula's terms that are not zero here (FACTS.md)
            subtotal - income["commission_fee"] - income["service_fee"] - income["seller_transaction_fee"]
            + income["buyer_paid_shipping_fee"] - income["actual_shipping_fee"] + income["shopee_shipping_rebate"]
        ), order["order_sn"]  # fmt: skip
        assert income["final_shipping_fee"] == income["buyer_paid_shipping_fee"] - income["actual_shipping_fee"] + income["shopee_shipping_rebate"]
        assert income["escrow_amount_after_adjustment"] == income["escrow_amount"] + income["total_adjustment_amount"] == income["escrow_amount"]
        # the order's own money, at 5% commission and 2% service of the item subtotal
        assert income["buyer_total_amount"] == paid["buyer_total_amount"] == order["total_amount"] == subtotal + order["actual_shipping_fee"]
        assert paid["merchant_subtotal"] == subtotal and paid["shipping_fee"] == income["buyer_paid_shipping_fee"] == order["actual_shipping_fee"]
        assert (income["commission_fee"], income["service_fee"]) == (subtotal * 5 // 100, subtotal * 2 // 100)
        assert income["escrow_amount"] < income["buyer_total_amount"]
        assert income["original_price"] - income["seller_discount"] == subtotal == sum(i["discounted_price"] for i in income["items"])
        assert [(i["item_id"], i["model_id"], i["quantity_purchased"]) for i in income["items"]] == [
            (i["item_id"], i["model_id"], i["model_quantity_purchased"]) for i in order["item_list"]
        ]
        assert detail["return_order_sn_list"] == returns.get(order["order_sn"], [])
        assert detail["buyer_user_name"] == order["buyer_username"]  # the sandbox's fake one
        if order["order_sn"] in payouts:
            assert payouts[order["order_sn"]] == income["escrow_amount_after_adjustment"]


def test_adjust_moves_the_payout_but_not_the_release(server) -> None:  # noqa: ANN001
    app = server.app
    before = settled(app)
    target = before[3]
    order = next(o for o in app.dump_orders() if o["order_sn"] == target["order_sn"])
    reply = admin(server, "escrow", {"adjust": target["order_sn"], "amount": -12_500})
    assert reply["adjusted"] == target["order_sn"]
    admin(server, "escrow", {"adjust": target["order_sn"], "amount": 2_000, "reason": "marketing fee deduction"})
    income = escrow_detail(server, target["order_sn"])["response"]["order_income"]
    assert set(income) == INCOME_FIELDS
    assert [(a["amount"], a["date"], a["currency"]) for a in income["order_adjustment"]] == [(-12_500, FROZEN, "IDR"), (2_000, FROZEN, "IDR")]
    assert income["order_adjustment"][1]["adjustment_reason"] == "marketing fee deduction" and income["order_adjustment"][0]["adjustment_reason"]
    assert income["total_adjustment_amount"] == -10_500 and income["escrow_amount"] == target["escrow_amount"]
    assert income["escrow_amount_after_adjustment"] == target["escrow_amount"] - 10_500
    after = {s["order_sn"]: s for s in settled(app)}
    assert after[target["order_sn"]] == {**target, "payout_amount": target["escrow_amount"] - 10_500}
    assert after[target["order_sn"]]["payout_amount"] != after[target["order_sn"]]["escrow_amount"]
    assert all(after[s["order_sn"]] == s for s in before if s["order_sn"] != target["order_sn"])  # no other escrow moved
    rows = [r for page in walk(server, 100) for r in page if r[0] == target["order_sn"]]
    assert rows == [(target["order_sn"], target["escrow_amount"] - 10_500, target["escrow_release_time"])]
    assert next(o for o in app.dump_orders() if o["order_sn"] == target["order_sn"])["update_time"] == order["update_time"]


def test_an_order_that_is_not_the_shops_is_order_not_found(server) -> None:  # noqa: ANN001
    body = escrow_detail(server, "2206140TA5PM808")
    # [P1] the detail page's error table (FACTS.md)
    assert (body["error"], body["message"]) == ("order_not_found", "Order SN provided is invalid or does not belong to you. Please enter a valid Order SN.")
    assert "response" not in body
    missing = call(server, "GET", api.ESCROW_DETAIL).json()
    assert (missing["error"], missing["message"]) == ("error_param", "Wrong parameters, detail: order_sn is required.")


def test_the_payment_method_is_the_orders_cash_on_delivery_for_cod(server) -> None:  # noqa: ANN001
    orders = server.app.dump_orders()
    cod = next(o for o in orders if o["cod"])
    paid_online = next(o for o in orders if not o["cod"])
    assert escrow_detail(server, cod["order_sn"])["response"]["buyer_payment_info"]["buyer_payment_method"] == "Cash on Delivery"
    online = escrow_detail(server, paid_online["order_sn"])["response"]["buyer_payment_info"]["buyer_payment_method"]
    assert online == paid_online["payment_method"] != "Cash on Delivery"


def test_release_completes_an_order_now_once(server) -> None:  # noqa: ANN001
    app = server.app
    sn = next(o["order_sn"] for o in app.dump_orders() if o["order_status"] == "SHIPPED")  # its life cycle has steps to come
    assert sn not in {s["order_sn"] for s in settled(app)}
    assert admin(server, "escrow", {"release": [sn]}) == {"released": [sn], "adjusted": None, "corrupted": None, "now": FROZEN}
    assert [s for s in settled(app) if s["order_sn"] == sn][0]["escrow_release_time"] == FROZEN
    assert escrow_page(server, release_time_from=FROZEN, release_time_to=FROZEN)["response"]["escrow_list"][-1]["order_sn"] == sn
    assert admin(server, "escrow", {"release": [sn]})["released"] == []  # already released: nothing moves
    app.clock.advance(10 * DAY)  # its old life cycle's steps are stale now
    order = next(o for o in app.dump_orders() if o["order_sn"] == sn)
    assert (order["order_status"], order["update_time"]) == ("COMPLETED", FROZEN)
    assert [s["escrow_release_time"] for s in settled(app) if s["order_sn"] == sn] == [FROZEN]


@pytest.mark.parametrize(
    "body",
    [
        {"release": ["nope"]},
        {"release": ["<cancelled>"]},
        {"release": ["<open>"], "at": FROZEN + 1},  # not in the future
        {"adjust": "<open>", "amount": "12"},
        {"adjust": "nope", "amount": 1},
        {"corrupt": "nope"},
    ],
)
def test_the_escrow_action_refuses_what_it_cannot_do(server, body: dict) -> None:  # noqa: ANN001
    orders = server.app.dump_orders()
    names = {"<cancelled>": next(o["order_sn"] for o in orders if o["order_status"] == "CANCELLED"), "<open>": open_orders(server.app, FROZEN)[0]}
    body = {k: [names.get(v, v) for v in value] if isinstance(value, list) else names.get(value, value) for k, value in body.items()}
    before = settled(server.app)
    response = requests.post(f"{server.url}/_sandbox/escrow", json=body, timeout=10)
    assert response.status_code == 400 and response.json()["error"]
    assert settled(server.app) == before


def test_corrupt_breaks_the_detail_only(server) -> None:  # noqa: ANN001
    app = server.app
    target, other = settled(app)[:2]
    assert admin(server, "escrow", {"corrupt": target["order_sn"]})["corrupted"] == target["order_sn"]
    broken = escrow_detail(server, target["order_sn"])
    assert broken["error"] == "" and not isinstance(broken["response"]["order_income"], dict)
    assert isinstance(escrow_detail(server, other["order_sn"])["response"]["order_income"], dict)
    assert settled(app)[0] == target  # the truth is unchanged
    assert escrow_page(server, page_size=1)["response"]["escrow_list"] == [{k: target[k] for k in ("order_sn", "payout_amount", "escrow_release_time")}]


def test_paging_faults_cover_the_list_without_losing_a_row(server) -> None:  # noqa: ANN001
    expected = truth(server.app)
    server.faults.update({"page_faults": [None, "empty"]})
    pages = walk(server, 20)
    assert pages[1] == [] and all(pages[:1] + pages[2:])  # the phantom second page, then the rest one page on
    assert [row for page in pages for row in page] == expected
    server.faults.update({"page_faults": [None, "repeat"]})
    first = escrow_page(server, page_size=10, release_time_to=FROZEN)["response"]
    repeated = escrow_page(server, page_size=10, page_no=2, release_time_to=FROZEN)["response"]
    assert repeated == first and first["escrow_list"] and first["more"]
    assert escrow_page(server, page_size=10, page_no=2, release_time_to=FROZEN)["response"]["escrow_list"][0]["order_sn"] == expected[10][0]
    server.faults.update({"page_size": 7})  # the page-size knob caps this listing too
    assert len(escrow_page(server, page_size=100)["response"]["escrow_list"]) == 7
