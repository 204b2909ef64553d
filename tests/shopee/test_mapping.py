"""The Shopee mapping: golden files (one is Shopee's own documented example), the status
tables, refusals, scrubbing, stability."""

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
