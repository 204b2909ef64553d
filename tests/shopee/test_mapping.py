"""The Shopee mapping: golden files, the status tables, refusals, scrubbing, stability.

Golden files: ``official_example_vn`` is Shopee's own documented ``get_order_detail``
example ([S9], marketplaces.md §1.10). The other five are the project's own sandbox output
(seeded orders of ``connectors/shopee/sandbox.py``), and every ``*.expected.json`` is a
snapshot of what this mapping produced. A snapshot only proves the output did not change,
so each case also has a short list of FACTS a person checked against the documentation:
statuses, totals, COD, times. Those are typed here, not generated.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from connectors._sandbox import SandboxClock
from connectors.shopee.sandbox import STEPS, ShopeeSandbox
from mappings import shopee as mapping
from simpul.canonical import FulfillmentStatus, MappingError, OrderStatus, PaymentStatus, ReturnType, TrackingStatus
from simpul.canonical import bundle_to_dict
from simpul.jsoncodec import dumps, loads
from tests.shopee.support import FROZEN

GOLDEN = Path(__file__).with_name("golden")
RAW_FILES = sorted(p for p in GOLDEN.glob("*.json") if not p.name.endswith(".expected.json"))
# [S5] OrderStatus and LogisticsStatus, as the data definition lists them
DOCUMENTED_STATUSES = {"UNPAID", "READY_TO_SHIP", "PROCESSED", "RETRY_SHIP", "SHIPPED", "TO_CONFIRM_RECEIVE", "IN_CANCEL", "CANCELLED", "TO_RETURN", "COMPLETED", "PENDING", "INVOICE_PENDING"}
DOCUMENTED_LOGISTICS = {
    "LOGISTICS_NOT_START", "LOGISTICS_PENDING_ARRANGE", "LOGISTICS_COD_REJECTED", "LOGISTICS_READY", "LOGISTICS_REQUEST_CREATED",
    "LOGISTICS_PICKUP_DONE", "LOGISTICS_DELIVERY_DONE", "LOGISTICS_INVALID", "LOGISTICS_REQUEST_CANCELED", "LOGISTICS_PICKUP_FAILED",
    "LOGISTICS_PICKUP_RETRY", "LOGISTICS_DELIVERY_FAILED", "LOGISTICS_LOST",
}  # fmt: skip


def raw(name: str) -> dict:
    return loads((GOLDEN / f"{name}.json").read_text())


def canonical(payload: dict) -> dict:
    return json.loads(dumps(bundle_to_dict(mapping.map_order(payload))))


@pytest.mark.parametrize("path", RAW_FILES, ids=lambda p: p.stem)
def test_golden_files(path: Path) -> None:
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text())
    assert canonical(loads(path.read_text())) == expected


# What a person reads off each golden payload with marketplaces.md §1 open, typed by hand:
# - status: the raw order_status and what its documented meaning ([S5], §1.4) makes of it
#   on the three axes (order, payment, fulfillment);
# - total: total_amount as sent, an exact amount in major units (§1.9: JSON numbers);
# - cod: (is COD, COD amount): cod is a default field and "Cash on Delivery" the payment
#   method (§1.7); the courier collects the order's total_amount;
# - times: epoch seconds (§1.9) and the UTC instant each is; 0 or null means unset;
# - tracking: the number merged into the package ("" or none means not assigned yet, §1.5);
# - returns: (type, reason code) of the returns the order itself reveals (§1.7).
U = None  # unset
FACTS = {
    # Shopee's documented example ([S9], §1.10): VND, COD, completed and delivered.
    "official_example_vn": {
        "status": ("COMPLETED", OrderStatus.COMPLETED, PaymentStatus.PAID, FulfillmentStatus.DELIVERED),  # "The order has been completed."
        "total": ("VND", "32119"),
        "cod": (True, "32119"),
        "times": {"created_at": (1712601591, "2024-04-08T18:39:51+00:00"), "updated_at": (1713139948, "2024-04-15T00:12:28+00:00"),
                  "paid_at": (1712817766, "2024-04-11T06:42:46+00:00"), "ship_by": (1712671200, "2024-04-09T14:00:00+00:00")},
        "tracking": U,  # §1.10 note (c): get_order_detail carries no tracking_number
    },
    # Sandbox output: a COD order the courier delivered and Shopee completed.
    "cod_completed": {
        "status": ("COMPLETED", OrderStatus.COMPLETED, PaymentStatus.PAID, FulfillmentStatus.DELIVERED),
        "total": ("IDR", "927000"),
        "cod": (True, "927000"),
        "times": {"created_at": (1746116765, "2025-05-01T16:26:05+00:00"), "updated_at": (1746479129, "2025-05-05T21:05:29+00:00"),
                  "paid_at": (1746379697, "2025-05-04T17:28:17+00:00"), "ship_by": (1746289565, "2025-05-03T16:26:05+00:00")},
        "tracking": "007252141180",
    },
    # Sandbox output: never paid, cancelled by the system (cancel_by "system", "Unpaid").
    "cancelled_unpaid": {
        "status": ("CANCELLED", OrderStatus.CANCELLED, PaymentStatus.VOIDED, FulfillmentStatus.CANCELLED),  # "The order has been canceled."
        "total": ("IDR", "556000"),
        "cod": (False, U),
        "times": {"created_at": (1746159147, "2025-05-02T04:12:27+00:00"), "updated_at": (1746184346, "2025-05-02T11:12:26+00:00"),
                  "paid_at": (U, U), "ship_by": (0, U)},  # pay_time null while unpaid; ship_by_date 0 = unset (§1.9)
        "tracking": U,
    },
    # Sandbox output: a COD parcel refused at the door: CANCELLED with LOGISTICS_DELIVERY_FAILED
    # ([S5]); no cash was collected, the parcel goes back to the seller.
    "cod_refused_at_the_door": {
        "status": ("CANCELLED", OrderStatus.CANCELLED, PaymentStatus.VOIDED, FulfillmentStatus.RETURNED),
        "total": ("IDR", "1241000"),
        "cod": (True, "1241000"),
        "times": {"created_at": (1747150888, "2025-05-13T15:41:28+00:00"), "updated_at": (1747384296, "2025-05-16T08:31:36+00:00"),
                  "paid_at": (U, U), "ship_by": (1747323688, "2025-05-15T15:41:28+00:00")},
        "tracking": "JP5781075009",
        "returns": [("return_to_sender", "failed_delivery")],  # the package failed delivery ([S5]): that is the reason
    },
    # Sandbox output: PROCESSED, "Seller has arranged shipment online" ([S5]); the courier's
    # number has not arrived yet (it may come later without an update, §1.5).
    "processed_awaiting_tracking": {
        "status": ("PROCESSED", OrderStatus.OPEN, PaymentStatus.PAID, FulfillmentStatus.READY_TO_SHIP),
        "total": ("IDR", "943000"),
        "cod": (False, U),
        "times": {"created_at": (1749915589, "2025-06-14T15:39:49+00:00"), "updated_at": (1749987826, "2025-06-15T11:43:46+00:00"),
                  "paid_at": (1749920129, "2025-06-14T16:55:29+00:00"), "ship_by": (1750092929, "2025-06-16T16:55:29+00:00")},
        "tracking": U,  # tracking_number "" in the payload
    },
    # Sandbox output: TO_RETURN, "The buyer requested to return the order and order's return
    # is processing" ([S5]): paid, delivered goods on their way back, a buyer return open.
    "to_return": {
        "status": ("TO_RETURN", OrderStatus.OPEN, PaymentStatus.PAID, FulfillmentStatus.RETURNED),
        "total": ("IDR", "756000"),
        "cod": (False, U),
        "times": {"created_at": (1746385738, "2025-05-04T19:08:58+00:00"), "updated_at": (1746651234, "2025-05-07T20:53:54+00:00"),
                  "paid_at": (1746387599, "2025-05-04T19:39:59+00:00"), "ship_by": (1746560399, "2025-05-06T19:39:59+00:00")},
        "tracking": "SPXID0748418948006",
        "returns": [("buyer_return", "unknown")],  # the order payload names no return reason
    },
}  # fmt: skip
RAW_TIME_FIELDS = {"created_at": "create_time", "updated_at": "update_time", "paid_at": "pay_time", "ship_by": "ship_by_date"}


def test_every_golden_case_has_its_documented_facts() -> None:
    assert set(FACTS) == {p.stem for p in RAW_FILES}


@pytest.mark.parametrize("name", sorted(FACTS))
def test_golden_cases_hold_the_facts_a_person_checked_against_the_documentation(name: str) -> None:
    facts, payload = FACTS[name], raw(name)
    bundle = mapping.map_order(payload)
    order = bundle.order
    raw_status, *axes = facts["status"]
    assert payload["order_status"] == raw_status and order.raw_status == raw_status
    assert (order.status, order.payment_status, order.fulfillment_status) == tuple(axes)
    currency, total = facts["total"]
    assert payload["total_amount"] == Decimal(total) and (order.currency, order.total) == (currency, Decimal(total))
    is_cod, cod_amount = facts["cod"]
    assert payload["cod"] is is_cod and order.is_cod is is_cod
    assert order.cod_amount == (None if cod_amount is None else Decimal(cod_amount))
    for field, (epoch, instant) in facts["times"].items():
        assert payload.get(RAW_TIME_FIELDS[field]) == epoch, field  # the table was read off this payload
        value = getattr(order, field)
        assert (value.isoformat() if value else None) == instant, field
        assert value is None or value.utcoffset().total_seconds() == 0, field  # UTC
    assert bundle.shipments[0].tracking_number == facts["tracking"]
    assert [(r.type.value, r.reason_code.value) for r in bundle.returns] == facts.get("returns", [])


def test_there_are_goldens_for_the_main_shapes() -> None:
    assert {p.stem for p in RAW_FILES} >= {"official_example_vn", "cod_completed", "processed_awaiting_tracking", "cancelled_unpaid", "cod_refused_at_the_door", "to_return"}


def test_every_documented_status_is_in_the_tables() -> None:
    assert set(mapping.STATUS_TABLE) == DOCUMENTED_STATUSES
    assert set(mapping.TRACKING_TABLE) == DOCUMENTED_LOGISTICS
    assert {status for status, _ in STEPS.values()} <= DOCUMENTED_STATUSES  # the sandbox invents none


def test_an_unknown_status_maps_to_unknown_and_keeps_the_raw_value() -> None:
    bundle = mapping.map_order({**raw("cod_completed"), "order_status": "AWAITING_PICKUP_V3"})
    order = bundle.order
    assert (order.status, order.payment_status, order.fulfillment_status) == (OrderStatus.UNKNOWN, PaymentStatus.UNKNOWN, FulfillmentStatus.UNKNOWN)
    assert order.raw_status == "AWAITING_PICKUP_V3"
    package = {**raw("cod_completed")["package_list"][0], "logistics_status": "LOGISTICS_TELEPORTED"}
    [shipment] = mapping.map_order({**raw("cod_completed"), "package_list": [package]}).shipments
    assert shipment.tracking_status is TrackingStatus.UNKNOWN and shipment.raw_status == "LOGISTICS_TELEPORTED"


def test_the_documented_example_keeps_exact_amounts_and_masked_buyer() -> None:
    order = mapping.map_order(raw("official_example_vn")).order
    assert (order.total, order.currency, order.is_cod) == (Decimal("32119"), "VND", True)
    assert (order.buyer_name_masked, order.buyer_phone_masked, order.buyer_is_masked) == ("P******n", "******64", True)
    assert order.external_id == "2404098R48U37H"


def test_late_tracking_and_cod_statuses() -> None:
    waiting = mapping.map_order(raw("processed_awaiting_tracking"))
    assert waiting.order.fulfillment_status is FulfillmentStatus.READY_TO_SHIP and waiting.shipments[0].tracking_number is None
    refused = mapping.map_order(raw("cod_refused_at_the_door"))
    assert refused.order.fulfillment_status is FulfillmentStatus.RETURNED
    assert [r.type for r in refused.returns] == [ReturnType.RETURN_TO_SENDER]
    completed = mapping.map_order(raw("cod_completed")).order
    assert completed.payment_status is PaymentStatus.PAID and completed.cod_amount == completed.total


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda o: o.update(total_amount="abc"), "total_amount"),
        (lambda o: o.update(total_amount=12.5), "total_amount"),  # a binary float: refused, not rounded
        (lambda o: o.pop("currency"), "currency"),
        (lambda o: o.pop("order_sn"), "order_sn"),
        (lambda o: o.update(update_time="yesterday"), "update_time"),
        (lambda o: o.update(create_time=0), "create_time"),
        (lambda o: o["item_list"][0].update(model_quantity_purchased="dua"), "item_list[0].model_quantity_purchased"),
        (lambda o: o["item_list"][0].update(model_discounted_price=None), "item_list[0].model_discounted_price"),
        (lambda o: o.pop("item_list"), "total_amount/item_list"),
        (lambda o: o.update(order_status=None), "order_status"),
    ],
)
def test_unmappable_payloads_name_the_field_and_no_buyer_data(change, field: str) -> None:  # noqa: ANN001
    payload = raw("cod_completed")
    change(payload)
    with pytest.raises(MappingError) as info:
        mapping.map_order(payload)
    assert str(info.value).startswith(f"{field}: ")
    assert "*" not in str(info.value) and "pembeli" not in str(info.value)


def test_every_sandbox_order_maps_with_consistent_axes() -> None:
    for payload in ShopeeSandbox(orders=300, seed=6, clock=SandboxClock(frozen_at=FROZEN)).dump_orders():
        bundle = mapping.map_order(payload)
        order = bundle.order
        assert order.external_id == payload["order_sn"] and order.status is not OrderStatus.UNKNOWN
        assert order.total == sum((line.total for line in bundle.lines), order.shipping_fee)
        assert order.buyer_is_masked and order.buyer_ref
        if order.is_cod and payload["order_status"] in ("READY_TO_SHIP", "PROCESSED", "SHIPPED"):
            assert order.payment_status is PaymentStatus.COD_PENDING
        if payload["order_status"] in ("SHIPPED", "TO_CONFIRM_RECEIVE", "COMPLETED"):
            assert bundle.shipments[0].tracking_number  # a parcel with the courier has a number


def test_mapping_is_deterministic_and_survives_a_json_round_trip() -> None:
    payloads = [raw(p.stem) for p in RAW_FILES] + ShopeeSandbox(orders=100, seed=4, clock=SandboxClock(frozen_at=FROZEN)).dump_orders()
    for payload in payloads:
        again = loads(dumps(payload))
        assert mapping.map_order(payload) == mapping.map_order(again)
        assert mapping.map_order(payload).payload_hash == mapping.map_order(again).payload_hash


def test_scrub_drops_buyer_identity_even_when_unmasked_and_replay_maps_the_same() -> None:
    payload = raw("cod_completed")
    payload["recipient_address"].update(name="Budi Santoso", phone="081234567890", full_address="Jl. Melati No. 5, Gubeng")
    payload["buyer_username"] = "budi.santoso88"
    scrubbed = mapping.scrub(payload)
    text = dumps(scrubbed)
    assert not any(p in text for p in ("Budi Santoso", "081234567890", "Melati", "budi.santoso88"))
    assert scrubbed["recipient_address"]["name"] == "B**********o" and scrubbed["recipient_address"]["phone"] == "**********90"
    assert mapping.scrub(scrubbed) == scrubbed
    assert mapping.map_order(scrubbed).order == mapping.map_order(payload).order
    assert mapping.map_order(payload).raw == scrubbed
    assert payload["recipient_address"]["name"] == "Budi Santoso"  # the input is untouched
