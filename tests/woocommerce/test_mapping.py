"""The WooCommerce mapping: golden files, the status table, refusals, scrubbing, stability."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors._sandbox import SandboxClock
from connectors.woocommerce.sandbox import ORDER_STATUSES, WooCommerceSandbox
from mappings import woocommerce as mapping
from simpul.canonical import FulfillmentStatus, MappingError, OrderStatus, PaymentStatus
from simpul.canonical import bundle_to_dict
from simpul.jsoncodec import dumps, loads
from tests.woocommerce.support import FROZEN

GOLDEN = Path(__file__).with_name("golden")
RAW_FILES = sorted(p for p in GOLDEN.glob("*.json") if not p.name.endswith(".expected.json"))
PII = ("Contoh", "Budi", "Siti", "0800", "example.com", "Jl. ", "192.0.2.", "Mozilla")


def raw(name: str) -> dict:
    return loads((GOLDEN / f"{name}.json").read_text())


def canonical(payload: dict) -> dict:
    return json.loads(dumps(bundle_to_dict(mapping.map_order(payload))))


@pytest.mark.parametrize("path", RAW_FILES, ids=lambda p: p.stem)
def test_golden_files(path: Path) -> None:
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text())
    assert canonical(loads(path.read_text())) == expected


def test_there_are_goldens_for_the_main_shapes() -> None:
    assert {p.stem for p in RAW_FILES} >= {"cod_processing", "completed_with_refund", "cancelled", "pending"}


def test_every_documented_status_is_in_the_table() -> None:
    assert set(mapping.STATUS_TABLE) == {*ORDER_STATUSES, "trash"}


def test_an_unknown_status_maps_to_unknown_and_keeps_the_raw_value() -> None:
    order = mapping.map_order({**raw("pending"), "status": "wc-awaiting-shipment"}).order
    assert (order.status, order.payment_status, order.fulfillment_status) == (OrderStatus.UNKNOWN, PaymentStatus.UNKNOWN, FulfillmentStatus.UNKNOWN)
    assert order.raw_status == "wc-awaiting-shipment"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda o: o.update(total="abc"), "total"),
        (lambda o: o.pop("currency"), "currency"),
        (lambda o: o.pop("id"), "id"),
        (lambda o: o.update(date_modified_gmt="yesterday"), "date_modified_gmt"),
        (lambda o: o.update(date_modified_gmt=None, date_modified=None), "date_modified_gmt"),
        (lambda o: o["line_items"][0].update(quantity="dua"), "line_items[0].quantity"),
        (lambda o: o["line_items"][0].update(subtotal=1.5), "line_items[0].subtotal"),
        (lambda o: o.update(refunds={"id": 1}), "refunds"),
        (lambda o: o.update(status=None), "status"),
    ],
)
def test_unmappable_payloads_name_the_field_and_no_buyer_data(change, field: str) -> None:  # noqa: ANN001
    payload = raw("cod_processing")
    change(payload)
    with pytest.raises(MappingError) as info:
        mapping.map_order(payload)
    assert str(info.value).startswith(f"{field}: ")
    assert not any(p in str(info.value) for p in PII)


def test_mapping_is_deterministic_and_survives_a_json_round_trip() -> None:
    payloads = [loads(p.read_text()) for p in RAW_FILES] + WooCommerceSandbox(orders=150, seed=4, clock=SandboxClock(frozen_at=FROZEN)).dump_orders()
    for payload in payloads:
        again = loads(dumps(payload))
        assert mapping.map_order(payload) == mapping.map_order(again) == mapping.map_order(payload)
        assert mapping.map_order(payload).payload_hash == mapping.map_order(again).payload_hash


def test_every_sandbox_order_maps_with_consistent_axes() -> None:
    for payload in WooCommerceSandbox(orders=300, seed=6, clock=SandboxClock(frozen_at=FROZEN)).dump_orders():
        bundle = mapping.map_order(payload)
        order = bundle.order
        assert order.external_id == str(payload["id"]) and order.status is not OrderStatus.UNKNOWN
        assert order.total == sum((line.total for line in bundle.lines), order.shipping_fee)
        if order.is_cod and payload["status"] in ("processing", "on-hold"):
            assert order.payment_status is PaymentStatus.COD_PENDING and order.cod_amount == order.total
        if bundle.shipments and bundle.shipments[0].tracking_number:
            assert order.fulfillment_status in (FulfillmentStatus.SHIPPED, FulfillmentStatus.DELIVERED, FulfillmentStatus.CANCELLED)
        assert all(r.refund_amount > 0 for r in bundle.returns)


def test_scrub_masks_buyer_data_and_replay_maps_the_same() -> None:
    for name in ("cod_processing", "completed_with_refund", "cancelled"):
        payload = raw(name)
        scrubbed = mapping.scrub(payload)
        text = dumps(scrubbed)
        assert not any(p in text for p in PII), name
        assert "customer_ip_address" not in scrubbed and "email" not in scrubbed["billing"]
        assert mapping.scrub(scrubbed) == scrubbed
        assert mapping.map_order(scrubbed).order == mapping.map_order(payload).order
        assert mapping.map_order(payload).raw == scrubbed
        assert payload["billing"]["first_name"] in ("Budi", "Siti", "Agus")  # the input is untouched


def test_external_id_is_the_order_id_not_its_number() -> None:
    payload = raw("completed_with_refund")
    assert payload["number"] == "INV/2025/0042"
    assert mapping.external_id(payload) == mapping.map_order(payload).order.external_id == "1042"
    assert mapping.external_id({"number": "5"}) is None
