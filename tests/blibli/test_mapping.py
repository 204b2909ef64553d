"""The Blibli mapping: golden files with hand-typed FACTS, the status table, refusals.

``reference_5_3_sample`` is marketplaces.md §5.3's orderDetail sample, which the
reference marks **inferred, from memory**: it is wrapped in the record the connector
assembles (one package, ``packageId`` unknown) and the FP time is ours. The other case is
constructed: two packages, one item in delivery and one cancelled. Each ``*.expected.json``
is the mapping's own snapshot; the FACTS are what a person reads off the payload.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from mappings import blibli as mapping
from simpul.canonical import FulfillmentStatus, MappingError, OrderStatus, PaymentStatus, ReturnType, bundle_to_dict
from simpul.jsoncodec import dumps, loads

GOLDEN = Path(__file__).with_name("golden")
RAW = sorted(p for p in GOLDEN.glob("*.json") if not p.name.endswith(".expected.json"))

FACTS = {
    # §5.3: one item FP (paid, to be packed), 150,000 listed, 140,000 after discount, 12,000 shipping.
    "reference_5_3_sample": {
        "status": ("FP", OrderStatus.OPEN, PaymentStatus.PAID, FulfillmentStatus.UNFULFILLED),
        "money": ("150000", "10000", "12000", "152000"),  # subtotal, discount, shipping, total = 140,000 + 12,000
        "created": "2025-01-01T02:53:20+00:00",  # orderDate 1735700000000 ms
        "updated": "2025-01-01T02:54:50+00:00",  # no updatedDate: the FP time is the newest
        "ship_by": "2025-01-04T02:53:20+00:00",  # autoCancelDate of the FP item
        "buyer": ("B***", True),  # Blibli masked it already
        "tracking": [],  # no airway bill yet (FP); one package, no number
        "returns": [],
    },
    # Item 1 in delivery (2 x 239,000 after 10,000 off each), item 2 cancelled (not counted).
    "two_packages_one_cancelled": {
        "status": ("CX,X", OrderStatus.OPEN, PaymentStatus.PARTIALLY_REFUNDED, FulfillmentStatus.SHIPPED),
        "money": ("498000", "20000", "9000", "487000"),
        "created": "2026-01-01T00:58:30+00:00",
        "updated": "2026-01-02T02:00:00+00:00",  # the newest updatedDate
        "ship_by": None,  # no item is FP any more
        "buyer": ("S*********h", False),
        "tracking": ["JNE000111222333"],  # the cancelled package has no shipment
        "returns": [(ReturnType.CANCELLATION, "25000000771", Decimal("135000"), "IDR", "unknown")],  # no reason in the order detail
    },
}


def canonical(raw: dict) -> dict:
    return json.loads(dumps(bundle_to_dict(mapping.map_order(raw))))


@pytest.mark.parametrize("path", RAW, ids=lambda p: p.stem)
def test_golden_files(path: Path) -> None:
    expected = path.with_name(path.stem + ".expected.json")
    assert canonical(loads(path.read_text())) == json.loads(expected.read_text())


@pytest.mark.parametrize("name", FACTS)
def test_facts(name: str) -> None:
    facts, bundle = FACTS[name], mapping.map_order(loads((GOLDEN / f"{name}.json").read_text()))
    o = bundle.order
    assert (o.raw_status, o.status, o.payment_status, o.fulfillment_status) == facts["status"]
    assert (o.currency, str(o.subtotal), str(o.discount_total), str(o.shipping_fee), str(o.total)) == ("IDR", *facts["money"])
    assert (o.created_at.isoformat(), o.updated_at.isoformat()) == (facts["created"], facts["updated"])
    assert (o.ship_by.isoformat() if o.ship_by else None) == facts["ship_by"]
    assert (o.buyer_name_masked, o.buyer_is_masked) == facts["buyer"]
    assert [s.tracking_number for s in bundle.shipments if s.tracking_number] == facts["tracking"]
    assert [(r.type, r.items[0]["line_id"], r.refund_amount, r.currency, r.reason_code.value) for r in bundle.returns] == facts["returns"]
    assert "Jl. Contoh" not in json.dumps(bundle.raw, default=str) and "Siti Contoh" not in json.dumps(bundle.raw, default=str)


def test_an_unknown_item_status_is_unknown_never_a_guess() -> None:
    raw = loads((GOLDEN / "reference_5_3_sample.json").read_text())
    raw["packages"][0]["items"][0]["orderStatus"] = "ZZ"
    o = mapping.map_order(raw).order
    assert (o.status, o.payment_status, o.fulfillment_status, o.raw_status) == (OrderStatus.UNKNOWN, PaymentStatus.UNKNOWN, FulfillmentStatus.UNKNOWN, "ZZ")


@pytest.mark.parametrize(
    "field,value,reason",
    [("finalPrice", "abc", "packages[0].items[0].finalPrice"), ("qty", "dua", "packages[0].items[0].qty"), ("orderDate", None, "packages[0].items[0].orderDate: missing"),
     ("productPrice", 1.5, "binary float")],
)
def test_refusals_name_the_field(field: str, value, reason: str) -> None:  # noqa: ANN001
    raw = loads((GOLDEN / "reference_5_3_sample.json").read_text())
    raw["packages"][0]["items"][0][field] = value
    with pytest.raises(MappingError, match=reason.replace("[", "\\[").replace("]", "\\]")):
        mapping.map_order(raw)
