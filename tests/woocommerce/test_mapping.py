"""The WooCommerce mapping: golden files, the status table, refusals, scrubbing, stability.

Golden files are hand-written payloads in the documented shape (``cod_processing`` follows
the sample of storefronts_couriers.md §2.7); every ``*.expected.json`` is a snapshot of
what this mapping produced. A snapshot only proves the output did not change, so each
case also has a short list of FACTS a person checked against §2: statuses, totals, COD,
refunds, times. Those are typed here, not generated.
"""

from __future__ import annotations

import json
from decimal import Decimal
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


# What a person reads off each golden payload with storefronts_couriers.md §2 open, typed by hand:
# - status: the raw status (§2.3 enum) and what it means on the order/payment/fulfillment axes;
# - total: currency and total, money as strings with two decimals (§2.3), kept exact;
# - cod: (is COD, COD amount): payment_method "cod" (§2.3, §14), the courier collects the total;
# - refunds: embedded refunds[] carry negative totals (§2.3); a refund amount is positive;
# - reasons: each embedded refund's reason (§2.3: "the refund field holds the reason
#   string") and its code, read as Indonesian: "Barang rusak" is a broken item (damaged),
#   "Stok habis" out of stock (the shop's side: other), an empty reason says nothing (unknown);
# - times: date_*_gmt is GMT (§2.3); with only the site-local date_* the site zone is
#   Asia/Jakarta, WIB, +07:00 all year (§15), and the mapping records that zone.
U = None  # unset
FACTS = {
    # §2.7's sample order: COD, processing, not paid until the cash arrives, a JNE waybill in meta.
    "cod_processing": {
        "status": ("processing", OrderStatus.OPEN, PaymentStatus.COD_PENDING),
        "total": ("IDR", "413000.00"),
        "cod": (True, "413000.00"),
        "refunds": [],
        "times": {"created_at": ("2025-03-01T03:00:00", "2025-03-01T03:00:00+00:00"), "updated_at": ("2025-03-01T09:40:12", "2025-03-01T09:40:12+00:00"), "paid_at": (U, U)},
        "source_zone": U,
        "tracking": "CGK0123456789012",  # meta _resi_jne
    },
    # Bank transfer, completed, then one line partly refunded (refunds[].total "-103500.00").
    "completed_with_refund": {
        "status": ("completed", OrderStatus.COMPLETED, PaymentStatus.PARTIALLY_REFUNDED),
        "total": ("IDR", "556600.00"),
        "cod": (False, U),
        "refunds": ["103500.00"],
        "reasons": [("Barang rusak", "damaged")],
        "times": {"created_at": ("2025-02-10T12:15:30", "2025-02-10T12:15:30+00:00"), "updated_at": ("2025-02-18T01:02:45", "2025-02-18T01:02:45+00:00"),
                  "paid_at": ("2025-02-10T14:03:11", "2025-02-10T14:03:11+00:00")},
        "source_zone": U,
        "tracking": "002345678901",  # the Shipment Tracking extension's item
    },
    # Card payment never made, cancelled (the hold-stock timeout): nothing was paid.
    "cancelled": {
        "status": ("cancelled", OrderStatus.CANCELLED, PaymentStatus.VOIDED),
        "total": ("IDR", "99000.00"),
        "cod": (False, U),
        "refunds": [],
        "times": {"created_at": ("2025-03-05T16:40:05", "2025-03-05T16:40:05+00:00"), "updated_at": ("2025-03-05T17:40:05", "2025-03-05T17:40:05+00:00"), "paid_at": (U, U)},
        "source_zone": U,
        "tracking": U,
    },
    # Awaiting payment (the default status); the total includes total_tax "19250.00".
    "pending": {
        "status": ("pending", OrderStatus.PENDING, PaymentStatus.UNPAID),
        "total": ("IDR", "212250.00"),
        "cod": (False, U),
        "refunds": [],
        "times": {"created_at": ("2025-03-07T01:01:59", "2025-03-07T01:01:59+00:00"), "updated_at": ("2025-03-07T01:01:59", "2025-03-07T01:01:59+00:00"), "paid_at": (U, U)},
        "source_zone": U,
        "tracking": U,
    },
    # Refunded in full in two refunds (51000.00 + 50000.00 = the total), an old payload with
    # only site-local times: 13:00 in Jakarta is 06:00 UTC. Its currency is written "idr".
    "refunded_local_times_only": {
        "status": ("refunded", OrderStatus.CANCELLED, PaymentStatus.REFUNDED),
        "total": ("IDR", "101000.00"),
        "cod": (False, U),
        "refunds": ["51000.00", "50000.00"],
        "reasons": [("Stok habis", "other"), (U, "unknown")],
        "times": {"created_at": ("2025-01-20T13:00:00", "2025-01-20T06:00:00+00:00"), "updated_at": ("2025-01-22T09:30:00", "2025-01-22T02:30:00+00:00"),
                  "paid_at": ("2025-01-20T13:05:00", "2025-01-20T06:05:00+00:00")},
        "source_zone": "Asia/Jakarta",
        "tracking": "JP0000000505",
    },
}  # fmt: skip
RAW_TIME_FIELDS = {"created_at": "date_created", "updated_at": "date_modified", "paid_at": "date_paid"}


def test_every_golden_case_has_its_documented_facts() -> None:
    assert set(FACTS) == {p.stem for p in RAW_FILES}


@pytest.mark.parametrize("name", sorted(FACTS))
def test_golden_cases_hold_the_facts_a_person_checked_against_the_documentation(name: str) -> None:
    facts, payload = FACTS[name], raw(name)
    bundle = mapping.map_order(payload)
    order = bundle.order
    raw_status, status, payment = facts["status"]
    assert payload["status"] == raw_status and order.raw_status == raw_status
    assert (order.status, order.payment_status) == (status, payment)
    currency, total = facts["total"]
    assert payload["total"] == total and (order.currency, order.total) == (currency, Decimal(total))
    is_cod, cod_amount = facts["cod"]
    assert (payload["payment_method"] == "cod") is is_cod and order.is_cod is is_cod
    assert order.cod_amount == (None if cod_amount is None else Decimal(cod_amount))
    assert [r["total"] for r in payload["refunds"]] == ["-" + amount for amount in facts["refunds"]]
    assert [r.refund_amount for r in bundle.returns] == [Decimal(amount) for amount in facts["refunds"]]
    assert [(r.reason, r.reason_code.value) for r in bundle.returns] == facts.get("reasons", [])
    # a summary row's id is its own (the returns stream's row of the refund is another)
    assert [r.external_id for r in bundle.returns] == [f"{payload['id']}-refund-{r['id']}" for r in payload["refunds"]]
    local_only = facts["source_zone"] is not None
    for field, (text, instant) in facts["times"].items():
        name_in_payload = RAW_TIME_FIELDS[field] + ("" if local_only else "_gmt")
        assert payload.get(name_in_payload) == text, field  # the table was read off this payload
        value = getattr(order, field)
        assert (value.isoformat() if value else None) == instant, field
    assert order.source_zone == facts["source_zone"]
    assert (bundle.shipments[0].tracking_number if bundle.shipments else None) == facts["tracking"]


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
