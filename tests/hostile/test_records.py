"""Issue 9 §1: one bad record never poisons the account (SQLite and PostgreSQL).

Each channel's sandbox sends a page in which several orders carry a value the canonical
model or a database cannot hold: a 10 kB order number, a total beyond NUMERIC(20,4) or a
5,000-digit integer, a NUL character, a 9-character country, an update time in year
9999, a quantity beyond a 32-bit integer, and (Shopee) a raw control character that makes
the whole detail reply unparseable. Every case ends the same way: the run completes, the
good orders of the page land exactly as the source has them, each bad one is quarantined
with a reason naming the field and never the value, the next run completes too, and every
stored order reads back.
"""

from __future__ import annotations

import pytest

from connectors.shopee import api as shopee_api
from simpul.engine import RESYNC, SyncRequest
from simpul.limits import Boundary
from simpul.runner import Runner
from tests.hostile import support
from tests.hostile.support import add_account, admin, assert_good_orders_landed, order_ids, quarantine_reasons, read_back_every_order

LONG_SN = "2601" + "X" * 10_236  # a 10 kB order number
MARK = "pz9"  # in every poisoned text value: it must never reach a reason

# field poisoned -> (the poison as the admin action takes it, what the reason says)
SHOPEE = {
    "total_amount": ({"raw": "1E+308"}, "total: beyond what NUMERIC(20,4) holds"),
    "message_to_seller": ({"value": f"{MARK} a\u0000b"}, "note: holds a NUL character"),
    "recipient_address.region": ({"value": "INDONESIA"}, "ship_country: 9 characters, more than the 2"),
    "update_time": ({"raw": "253402300799"}, "updated_at: more than a day in the future"),  # 9999-12-31
    "buyer_user_id": ({"raw": "9" * 5000}, "buyer_ref: 5000 characters, more than the 100"),  # a 5,000-digit integer
    "item_list[0].model_quantity_purchased": ({"raw": "1000000000000"}, "lines[0].quantity: beyond a 32-bit integer"),
    "cancel_reason": ({"raw": f'"{MARK}\x01"'}, "the channel's reply for this order cannot be parsed"),  # a raw control character
}
WOOCOMMERCE = {
    "total": ({"value": "1E+308"}, "total: beyond what NUMERIC(20,4) holds"),
    "customer_note": ({"value": f"{MARK} a\u0000b"}, "note: holds a NUL character"),
    "shipping.country": ({"value": "INDONESIA"}, "ship_country: 9 characters, more than the 2"),
    "date_modified_gmt": ({"value": "9999-12-31T23:59:59"}, "updated_at: more than a day in the future"),
    "customer_id": ({"raw": "9" * 5000}, "buyer_ref: 5000 characters, more than the 100"),
    "line_items[0].quantity": ({"raw": "1000000000000"}, "lines[0].quantity: beyond a 32-bit integer"),
}
LAZADA = {
    "price": ({"value": "1E+308"}, "total: beyond what NUMERIC(20,4) holds"),
    "remarks": ({"value": f"{MARK} a\u0000b"}, "note: holds a NUL character"),
    "updated_at": ({"value": "9999-12-31T23:59:59+07:00"}, "updated_at: more than a day in the future"),
    "order_items[0].order_item_id": ({"raw": "9" * 5000}, "5000 characters, more than the"),  # a 5,000-digit integer
    "order_items[0].reason": ({"raw": f'"{MARK}\x01"'}, "the channel's reply for this order cannot be parsed"),  # a raw control character
}
# TikTok: no quantity field (one line item per unit), and no raw control character: Search
# Orders returns whole orders, so one such character makes the whole listing page unreadable
# (a known limit, see connectors/tiktok/client.py); the lookup test below covers it by id.
TIKTOK = {
    "payment.total_amount": ({"raw": "1E+308"}, "total: beyond what NUMERIC(20,4) holds"),
    "buyer_message": ({"value": f"{MARK} a\u0000b"}, "note: holds a NUL character"),
    "recipient_address.region_code": ({"value": "INDONESIA"}, "ship_country: 9 characters, more than the 2"),
    "update_time": ({"raw": "253402300799"}, "updated_at: more than a day in the future"),
    "user_id": ({"raw": "9" * 5000}, "buyer_ref: 5000 characters, more than the 100"),
}
SPLIT_FIELD = {"shopee": "cancel_reason", "woocommerce": "customer_note", "lazada": "order_items[0].reason", "tiktok": "cancel_reason", "blibli": "customer_note"}  # in the lookup's reply
BLIBLI = {  # paths inside the order's first item detail (connectors/blibli/sandbox.py)
    "finalPrice": ({"raw": "1E+308"}, "total: beyond what NUMERIC(20,4) holds"),
    "shippingCity": ({"value": f"{MARK} a\u0000b"}, "ship_city: holds a NUL character"),
    "updatedDate": ({"raw": "253402300799000"}, "updated_at: more than a day in the future"),
    "gdnSku": ({"value": "9" * 5000}, "lines[0].item_id: 5000 characters"),
    "qty": ({"raw": "1000000000000"}, "lines[0].quantity: beyond a 32-bit integer"),
}
POISONS = {"shopee": SHOPEE, "woocommerce": WOOCOMMERCE, "lazada": LAZADA, "tiktok": TIKTOK, "blibli": BLIBLI}


def poison_page(server, poisons) -> dict[str, str]:  # noqa: ANN001
    """One order per poison; returns victim id -> expected reason."""
    expected = {}
    for victim, (field, (value, reason)) in zip(order_ids(server)[3:], poisons.items()):
        admin(server, "poison", {"id": victim, "field": field, **value})
        expected[victim] = reason
    return expected


def test_bad_records_are_quarantined_by_field_and_the_rest_of_the_page_lands(hostile_hub, sandbox) -> None:  # noqa: ANN001
    channel = sandbox.app.channel
    account = add_account(hostile_hub, sandbox)
    expected = poison_page(sandbox, POISONS[channel])
    if channel == "shopee":  # an order number of 10 kB, in the listing and the detail alike
        admin(sandbox, "mutate", {"insert_as": [LONG_SN]})
        expected[None] = "external_id: 10240 characters, more than the 100"  # kept out of keys: no id stored

    run = hostile_hub.engine.run(SyncRequest(account))
    assert run.status == "completed"
    assert run.counts.quarantined == len(expected) and run.counts.new == len(order_ids(sandbox)) - len(expected)
    assert_good_orders_landed(hostile_hub, account, sandbox, set(expected) | {LONG_SN})
    reasons = quarantine_reasons(hostile_hub, account)
    assert set(reasons) == set(expected)
    for victim, reason in expected.items():
        assert reason in reasons[victim], (victim, reasons[victim])
        assert MARK not in reasons[victim] and "9999" not in reasons[victim] and "INDONESIA" not in reasons[victim]
    assert read_back_every_order(hostile_hub.db) == run.counts.new

    if channel == "shopee":  # the 5,000-digit integer was read, not retried; the control character split its batch
        detail_calls = sandbox.stats.snapshot()["by_path"][shopee_api.ORDER_DETAIL]
        assert detail_calls <= 6 + 3 * 6 + 2, detail_calls  # 6 tries, then halves (2 tries each) down to one order

    rerun = hostile_hub.engine.run(SyncRequest(account))  # the victims are re-read (lookback) and refused again
    assert rerun.status == "completed" and rerun.counts.written == 0 and rerun.counts.quarantined == len(expected)


def test_a_lookup_batch_that_cannot_be_parsed_is_split_until_the_bad_order_is_isolated(hostile_hub, sandbox) -> None:  # noqa: ANN001
    """A resync by order number: one order whose JSON is broken costs its batch nothing."""
    account = add_account(hostile_hub, sandbox)
    ids = order_ids(sandbox)
    victim = ids[7]
    field = SPLIT_FIELD[sandbox.app.channel]
    admin(sandbox, "poison", {"id": victim, "field": field, "raw": '"\x01"', "touch": False})

    run = hostile_hub.engine.run(SyncRequest(account, job=RESYNC, order_ids=tuple(ids)))
    assert run.status == "completed" and run.missing == []  # unreadable is not "missing": the order exists
    assert (run.counts.new, run.counts.quarantined) == (len(ids) - 1, 1)
    assert quarantine_reasons(hostile_hub, account) == {victim: "the channel's reply for this order cannot be parsed (not valid JSON); the next sync asks again"}
    assert_good_orders_landed(hostile_hub, account, sandbox, {victim})

    admin(sandbox, "poison", {"id": victim, "clear": True, "touch": False})  # the channel fixed it
    again = hostile_hub.engine.run(SyncRequest(account, job=RESYNC, order_ids=(victim,)))
    assert (again.status, again.counts.new) == ("completed", 1)
    assert quarantine_reasons(hostile_hub, account) == {}  # resolved by the order that now maps


def test_a_far_future_update_time_does_not_make_the_listing_skip_the_rest_of_the_window(sqlite_hub) -> None:  # noqa: ANN001
    """WooCommerce restarts its walk from the newest time on a page: a year-9999 time
    there would jump past every later order. Times outside the asked range are ignored."""
    server = support.start_sandbox("woocommerce", orders=60)
    try:
        account = add_account(sqlite_hub, server)
        server.faults.update({"page_size": 10})
        first_page = support.listing_order(server)[:10]
        victim = first_page[4]
        admin(server, "poison", {"id": victim, "field": "date_modified_gmt", "value": "9999-12-31T23:59:59", "touch": False})
        run = sqlite_hub.engine.run(SyncRequest(account))
        assert run.status == "completed" and run.counts.quarantined == 1 and run.counts.new == 59
        assert_good_orders_landed(sqlite_hub, account, server, {victim})
    finally:
        server.stop()


def test_an_order_stored_before_the_check_existed_still_reads_back(sqlite_hub, sandbox, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    """SQLite stored ``1E+308`` when nothing checked it; listing orders then crashed."""
    account = add_account(sqlite_hub, sandbox)
    field = {"shopee": "total_amount", "woocommerce": "total", "lazada": "price", "tiktok": "payment.total_amount", "blibli": "total"}[sandbox.app.channel]
    admin(sandbox, "poison", {"id": order_ids(sandbox)[0], "field": field, "raw": "1E+308" if field in ("total_amount", "payment.total_amount") else '"1E+308"'})
    monkeypatch.setattr(Boundary, "check", lambda self, bundle: bundle)  # the engine before this fix
    assert Runner(sqlite_hub.engine).run(SyncRequest(account)).status == "completed"
    assert read_back_every_order(sqlite_hub.db) == len(order_ids(sandbox))


@pytest.mark.parametrize("kind", ["lone surrogate", "deep nesting"])
def test_text_no_database_can_encode_and_json_no_parser_can_nest_are_refused_not_fatal(sqlite_hub, kind) -> None:  # noqa: ANN001
    server = support.start_sandbox("woocommerce")
    try:
        account = add_account(sqlite_hub, server)
        victim = order_ids(server)[2]
        raw = '"\\ud800"' if kind == "lone surrogate" else "[" * 100_000 + "]" * 100_000
        field = "shipping.city" if kind == "lone surrogate" else "meta_data[0].value"
        admin(server, "poison", {"id": victim, "field": field, "raw": raw, "touch": False})
        run = sqlite_hub.engine.run(SyncRequest(account, job=RESYNC, order_ids=tuple(order_ids(server))))
        assert run.status == "completed" and run.counts.quarantined == 1
        reason = quarantine_reasons(sqlite_hub, account)[victim]
        assert reason.startswith("ship_city: not valid Unicode" if kind == "lone surrogate" else "the channel's reply for this order cannot be parsed")
        assert_good_orders_landed(sqlite_hub, account, server, {victim})
    finally:
        server.stop()


def test_replay_leaves_an_unreadable_order_for_the_next_sync(sqlite_hub) -> None:  # noqa: ANN001
    from simpul import quarantine

    server = support.start_sandbox("shopee")
    try:
        account = add_account(sqlite_hub, server)
        victim = order_ids(server)[1]
        admin(server, "poison", {"id": victim, "field": "cancel_reason", "raw": '"\x01"', "touch": False})
        sqlite_hub.engine.run(SyncRequest(account, job=RESYNC, order_ids=(victim,)))
        before = quarantine_reasons(sqlite_hub, account)
        result = quarantine.replay(sqlite_hub.db, account_id=account, actor="test")
        assert (result.replayed, result.still_failing) == (0, 1)
        assert quarantine_reasons(sqlite_hub, account) == before  # the reason still says what happened
    finally:
        server.stop()
