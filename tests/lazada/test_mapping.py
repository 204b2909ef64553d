"""The Lazada mapping: golden files, the item-status rule table, refusals, scrubbing, stability.

Golden files: ``official_example_sg`` is the documented ``/orders/get`` order object of
marketplaces.md §4.7 ([L9], verbatim) with two constructed items (the doc example has
none; their fields are the §4.7 inferred item shape, ``items_count`` "2" and ``price``
"106.00" make them two units of 53.00). The other five are the project's own sandbox output
(``connectors/lazada/sandbox.py``, seed 3, data clock 1,750,000,000): a COD order delivered,
a COD order with one unit cancelled while three ship (*partial*), a prepaid order of five
units in three lines ready to ship, an unpaid order cancelled, and a refused COD order with
one unit cancelled by the buyer (written after the sandbox's buyer cancellations took a
documented reason, "Change of mind"; the older files keep the Indonesian wording). Every
``*.expected.json`` is a snapshot of this mapping's output; FACTS below are what a person
reads off each payload with §4 open, typed by hand.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from connectors._sandbox import SandboxClock
from connectors.lazada.sandbox import LazadaSandbox
from mappings import lazada as mapping
from simpul.canonical import FulfillmentStatus as F
from simpul.canonical import MappingError, bundle_to_dict
from simpul.canonical import OrderStatus as O
from simpul.canonical import PaymentStatus as P
from simpul.cli import main
from simpul.jsoncodec import dumps, loads
from tests.lazada.support import FROZEN

GOLDEN = Path(__file__).with_name("golden")
RAW_FILES = sorted(p for p in GOLDEN.glob("*.json") if not p.name.endswith(".expected.json"))
# §4.3: the /orders/get status filter values [L9] plus the item statuses the reference infers.
DOCUMENTED_FILTER = {"unpaid", "pending", "canceled", "ready_to_ship", "delivered", "returned", "shipped", "failed", "topack", "toship"}
INFERRED = {"packed", "repacked", "lost_by_3pl", "damaged_by_3pl", "shipped_back", "shipped_back_success", "failed_delivery"}


def raw(name: str) -> dict:
    return loads((GOLDEN / f"{name}.json").read_text())


def canonical(payload: dict) -> dict:
    return json.loads(dumps(bundle_to_dict(mapping.map_order(payload))))


@pytest.mark.parametrize("path", RAW_FILES, ids=lambda p: p.stem)
def test_golden_files(path: Path) -> None:
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text())
    assert canonical(loads(path.read_text())) == expected


# Read off each payload, typed by hand:
# - statuses: the items' statuses and the three axes the rule table makes of them;
# - total: price - voucher + shipping_fee ([L5]'s "buyer paid" formula), in the items' currency;
# - cod: payment_method "COD" ([L9]); the courier collects the buyer-paid total;
# - times: created_at/updated_at as sent (ISO 8601 with an offset) and the UTC instant;
# - lines: (sku, units, unit price, total paid): one line per sku and price, units counted;
# - tracking: the tracking_code of the package (none before packing).
FACTS = {
    "official_example_sg": {  # §4.7: pending, COD, S$106.00 + 0.54 shipping, no voucher
        "statuses": (["pending", "pending"], O.OPEN, P.COD_PENDING, F.UNFULFILLED),
        "total": ("SGD", "106.00", "0.00", "0.54", "106.54"),
        "cod": (True, "106.54"),
        "times": {"created_at": ("2018-02-09T22:44:30+08:00", "2018-02-09T14:44:30+00:00"), "updated_at": ("2018-02-09T22:44:30+08:00", "2018-02-09T14:44:30+00:00")},
        "lines": [("SAMPLE-SKU", 2, "53.00", "106.00")],
        "tracking": [],
        "phone": "6****67",  # masked by Lazada (§4.3), kept as sent
    },
    "cod_delivered": {
        "statuses": (["delivered"], O.COMPLETED, P.PAID, F.DELIVERED),  # COD collected on delivery
        "total": ("IDR", "45000.00", "16000.00", "28000.00", "57000.00"),
        "cod": (True, "57000.00"),
        "times": {"created_at": ("2025-05-04T03:46:56+07:00", "2025-05-03T20:46:56+00:00"), "updated_at": ("2025-05-06T21:59:33+07:00", "2025-05-06T14:59:33+00:00")},
        "lines": [("SAMBAL-PDS", 1, "45000", "29000")],
        "tracking": ["LXAD-4755005601"],
        "phone": "81****5",
    },
    "partial_cancel_shipped": {  # one unit cancelled by the buyer, three shipped: not forced into one status
        "statuses": (["shipped", "shipped", "shipped", "canceled"], O.PARTIAL, P.COD_PENDING, F.PARTIAL),
        "total": ("IDR", "480000.00", "16000.00", "21000.00", "485000.00"),
        "cod": (True, "485000.00"),
        "times": {"created_at": ("2025-06-13T20:40:12+07:00", "2025-06-13T13:40:12+00:00"), "updated_at": ("2025-06-15T13:35:59+07:00", "2025-06-15T06:35:59+00:00")},
        "lines": [("KOPI-GAYO-250", 3, "115000", "345000"), ("MADU-500", 1, "135000", "119000")],
        "tracking": ["LXAD-2666351216"],
        "returns": [("cancellation", "Berubah pikiran", "unknown")],  # a reason no table names (the old sandbox's wording)
        "phone": "81****3",
    },
    "multi_unit_packed": {  # five units, three of one sku: one item per unit [L5]
        "statuses": (["ready_to_ship"] * 5, O.OPEN, P.PAID, F.READY_TO_SHIP),
        "total": ("IDR", "385000.00", "34000.00", "25000.00", "376000.00"),
        "cod": (False, None),
        "times": {"created_at": ("2025-06-14T12:43:10+07:00", "2025-06-14T05:43:10+00:00"), "updated_at": ("2025-06-15T12:40:34+07:00", "2025-06-15T05:40:34+00:00")},
        "lines": [("KOPI-GAYO-250", 1, "115000", "115000"), ("SAMBAL-PDS", 3, "45000", "117000"), ("MADU-500", 1, "135000", "119000")],
        "tracking": ["LXAD-8667408249"],
        "phone": "81****8",
    },
    "cancelled_unpaid": {
        "statuses": (["canceled", "canceled"], O.CANCELLED, P.VOIDED, F.CANCELLED),
        "total": ("IDR", "348000.00", "50000.00", "22000.00", "320000.00"),
        "cod": (False, None),
        "times": {"created_at": ("2025-05-02T06:03:04+07:00", "2025-05-01T23:03:04+00:00"), "updated_at": ("2025-05-03T00:16:34+07:00", "2025-05-02T17:16:34+00:00")},
        "lines": [("KAOS-POLOS-L", 1, "89000", "74000"), ("BATIK-PRG-XL", 1, "259000", "224000")],
        "tracking": [],
        "returns": [("cancellation", "Pembayaran tidak diterima", "unknown")],
        "phone": "81****2",
    },
    "cod_failed_one_cancelled": {  # COD refused (three units come back), one unit the buyer cancelled
        "statuses": (["failed", "failed", "failed", "canceled"], O.CANCELLED, P.VOIDED, F.RETURNED),
        "total": ("IDR", "390000.00", "6000.00", "24000.00", "408000.00"),
        "cod": (True, "408000.00"),
        "times": {"created_at": ("2025-05-04T19:04:31+07:00", "2025-05-04T12:04:31+00:00"), "updated_at": ("2025-05-07T11:03:58+07:00", "2025-05-07T04:03:58+00:00")},
        "lines": [("KOPI-GAYO-250", 3, "115000", "345000"), ("SAMBAL-PDS", 1, "45000", "39000")],
        "tracking": ["LXAD-9506121528"],
        # a documented reason [L16] through lazada_returns.REASONS; a failed delivery is failed_delivery whatever its text
        "returns": [("cancellation", "Change of mind", "changed_mind"), ("return_to_sender", None, "failed_delivery")],
        "phone": "81****7",
    },
}  # fmt: skip


def test_every_golden_case_has_its_facts_and_the_main_shapes_are_there() -> None:
    assert set(FACTS) == {p.stem for p in RAW_FILES}
    assert {"official_example_sg", "cod_delivered", "partial_cancel_shipped", "multi_unit_packed", "cancelled_unpaid", "cod_failed_one_cancelled"} <= set(FACTS)


@pytest.mark.parametrize("name", sorted(FACTS))
def test_golden_cases_hold_the_facts_a_person_checked(name: str) -> None:
    facts, payload = FACTS[name], raw(name)
    bundle = mapping.map_order(payload)
    order = bundle.order
    statuses, *axes = facts["statuses"]
    assert [i["status"] for i in payload["order_items"]] == statuses
    assert (order.status, order.payment_status, order.fulfillment_status) == tuple(axes)
    assert order.raw_status == ",".join(sorted(set(statuses)))
    currency, price, voucher, shipping, total = facts["total"]
    assert (payload["price"], payload["voucher"], payload["shipping_fee"]) == (price, voucher, shipping)  # text, as [L9] sends it
    assert (order.currency, order.subtotal, order.discount_total, order.shipping_fee, order.total) == (currency, Decimal(price), Decimal(voucher), Decimal(shipping), Decimal(total))
    is_cod, cod_amount = facts["cod"]
    assert (payload["payment_method"] == "COD") is is_cod and order.is_cod is is_cod
    assert order.cod_amount == (None if cod_amount is None else Decimal(cod_amount))
    for field, (sent, instant) in facts["times"].items():
        assert payload[field] == sent
        value = getattr(order, field)
        assert value.isoformat() == instant and value.utcoffset().total_seconds() == 0
    assert [(line.sku, line.quantity, line.unit_price, line.total) for line in bundle.lines] == [(s, q, Decimal(u), Decimal(t)) for s, q, u, t in facts["lines"]]
    assert sum(line.quantity for line in bundle.lines) == len(payload["order_items"])  # every unit counted once
    assert [s.tracking_number for s in bundle.shipments] == facts["tracking"]
    assert [(r.type.value, r.reason, r.reason_code.value) for r in bundle.returns] == facts.get("returns", [])
    for ret in bundle.returns:  # canonical item keys: the order item's id as line_id, one unit each
        assert all(set(i) <= {"line_id", "sku", "quantity"} and i["quantity"] == 1 for i in ret.items)
    assert order.buyer_phone_masked == facts["phone"] and order.buyer_is_masked


# -- the rule table ---------------------------------------------------------------------------
RULES = [
    (["unpaid", "unpaid"], False, (O.PENDING, P.UNPAID, F.UNFULFILLED)),
    (["pending"], True, (O.OPEN, P.COD_PENDING, F.UNFULFILLED)),
    (["packed", "shipped"], False, (O.OPEN, P.PAID, F.READY_TO_SHIP)),  # shipped only when all of it is
    (["shipped", "delivered"], True, (O.OPEN, P.COD_PENDING, F.SHIPPED)),  # cash not all collected
    (["shipped", "canceled"], False, (O.PARTIAL, P.PARTIALLY_REFUNDED, F.PARTIAL)),  # the brief's example
    (["shipped", "canceled"], True, (O.PARTIAL, P.COD_PENDING, F.PARTIAL)),
    (["delivered", "canceled"], False, (O.COMPLETED, P.PARTIALLY_REFUNDED, F.PARTIAL)),  # finished, partly
    (["delivered", "returned"], False, (O.COMPLETED, P.PARTIALLY_REFUNDED, F.PARTIAL)),
    (["canceled", "returned"], False, (O.CANCELLED, P.REFUNDED, F.RETURNED)),
    (["canceled", "failed"], True, (O.CANCELLED, P.VOIDED, F.RETURNED)),
    (["delivered", "teleported"], False, (O.UNKNOWN, P.UNKNOWN, F.UNKNOWN)),  # never a guess
]


@pytest.mark.parametrize(("statuses", "cod", "expected"), RULES, ids=lambda v: str(v))
def test_the_order_status_is_derived_from_the_item_statuses_by_the_rule_table(statuses, cod, expected) -> None:  # noqa: ANN001
    assert mapping.derive(statuses, is_cod=cod) == expected


def test_every_documented_and_inferred_item_status_is_in_the_table_and_the_sandbox_invents_none() -> None:
    assert set(mapping.ITEM_STATUS) == DOCUMENTED_FILTER | INFERRED
    seen = {i["status"] for o in LazadaSandbox(orders=300, seed=6, clock=SandboxClock(frozen_at=FROZEN)).dump_orders() for i in o["order_items"]}
    assert seen <= DOCUMENTED_FILTER | {"packed"}


def test_an_unknown_item_status_maps_to_unknown_and_keeps_the_raw_value() -> None:
    payload = raw("cod_delivered")
    payload["order_items"][0]["status"] = "confirmed"
    order = mapping.map_order(payload).order
    assert (order.status, order.payment_status, order.fulfillment_status) == (O.UNKNOWN, P.UNKNOWN, F.UNKNOWN) and order.raw_status == "confirmed"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda o: o.update(price="abc"), "price"),
        (lambda o: o.update(price=12.5), "price"),  # a binary float: refused, not rounded
        (lambda o: o.pop("order_id"), "order_id"),
        (lambda o: o.update(updated_at="kemarin"), "updated_at"),
        (lambda o: o.update(created_at="2025-05-04T03:46:56"), "created_at"),  # no offset
        (lambda o: o.update(order_items=[]), "order_items"),
        (lambda o: o["order_items"][0].pop("currency"), "currency"),
        (lambda o: o["order_items"][0].pop("status"), "order_items[0].status"),
        (lambda o: o["order_items"][0].update(paid_price="dua"), "order_items[0].paid_price"),
    ],
)
def test_unmappable_payloads_name_the_field_and_no_buyer_data(change, field: str) -> None:  # noqa: ANN001
    payload = raw("cod_delivered")
    change(payload)
    with pytest.raises(MappingError) as info:
        mapping.map_order(payload)
    assert str(info.value).startswith(f"{field}: ")
    assert "Budi" not in str(info.value) and "****" not in str(info.value)


def test_every_sandbox_order_maps_with_consistent_axes_and_totals() -> None:
    for payload in LazadaSandbox(orders=300, seed=6, clock=SandboxClock(frozen_at=FROZEN)).dump_orders():
        bundle = mapping.map_order(payload)
        order = bundle.order
        assert order.external_id == payload["order_id"] and order.status is not O.UNKNOWN
        assert order.total == sum((line.total for line in bundle.lines), order.shipping_fee)  # price - voucher = what the units paid
        assert sum(line.quantity for line in bundle.lines) == len(payload["order_items"])
        kept = {i["status"] for i in payload["order_items"]} - mapping.DROPPED
        if order.fulfillment_status in (F.SHIPPED, F.READY_TO_SHIP, F.DELIVERED):
            assert all(s.tracking_number for s in bundle.shipments) and bundle.shipments  # packed: the number came with it
        if kept and len({i["status"] for i in payload["order_items"]}) > len(kept):
            assert order.fulfillment_status is F.PARTIAL


def test_mapping_is_deterministic_and_survives_a_json_round_trip() -> None:
    payloads = [raw(p.stem) for p in RAW_FILES] + LazadaSandbox(orders=60, seed=4, clock=SandboxClock(frozen_at=FROZEN)).dump_orders()
    for payload in payloads:
        again = loads(dumps(payload))
        assert mapping.map_order(payload) == mapping.map_order(again)
        assert mapping.map_order(payload).payload_hash == mapping.map_order(again).payload_hash


def test_scrub_masks_the_buyer_even_when_unmasked_and_replay_maps_the_same() -> None:
    payload = raw("cod_delivered")
    payload["address_shipping"].update(phone="081234567890", address1="Jl. Melati No. 5")
    scrubbed = mapping.scrub(payload)
    text = dumps(scrubbed)
    assert not any(p in text for p in ("081234567890", "Melati", "Santoso", '"Budi"'))
    assert scrubbed["address_shipping"]["phone"] == "**********90"
    assert mapping.scrub(scrubbed) == scrubbed
    assert mapping.map_order(scrubbed).order == mapping.map_order(payload).order
    assert mapping.map_order(payload).order.buyer_is_masked is False  # Lazada sent it unmasked
    assert payload["address_shipping"]["phone"] == "081234567890"  # the input is untouched


def test_simpul_map_reads_the_order_with_its_items(capsys) -> None:  # noqa: ANN001
    assert main(["map", "lazada", str(GOLDEN / "official_example_sg.json")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["order"]["external_id"] == "1895464" and out["order"]["total"] == "106.54" and out["lines"][0]["quantity"] == 2
    assert out == json.loads((GOLDEN / "official_example_sg.expected.json").read_text())
