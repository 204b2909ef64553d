"""The Blibli returns mapping (``mappings.blibli_returns``): golden files, the state and
reason tables, refusals, scrubbing.

No source shows a Returned Order List response, so no golden can be a documented payload.
``documented_identifiers`` comes as close as the sources allow: the identifiers of Blibli's
own API reference ([B7]: Returned Order Detail V1's examples ``rmaId``
5b5b0149638c4f102c53c271, ``orderNo`` 25000092160, ``orderItemNo`` 25000109944; List V1's
``returDate`` example 27-07-2018, here the creation day, 10:00 WIB), the row fields a
third-party client reads from real replies ([B8]: ``returnId``, ``returnNo``, ``orderNo``,
``orderItemNo``, ``customerName``, ``orderQuantity``, ``productSalePrice``,
``createdDate`` in epoch ms), the state that client asks for (``RMA_PROCESS_FINISHED``),
the item of marketplaces.md §5.3 (``KAOS-HTM-L``, ``TOQ-15126-00451-00001``, 140,000 after
discount, the masked ``B***``); ``updatedDate``, ``returnReason``, ``rmaResolution``,
``awbNumber`` and the product fields are the mapping's assumptions. Checked by hand: the
RMA id is the ``rmaId`` the detail asks for, the order number the order's, the refund
140,000 x 1, the times 2018-07-27 03:00 and 2018-07-30 03:00 UTC.

The others are the sandbox's output (``connectors/blibli/sandbox.py``, seed 3, 200 orders,
data clock 1,750,000,000); ``without_updated_date`` is a sandbox row with ``updatedDate``
removed by hand (the creation time stands in). FACTS are typed by hand from the payloads.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from connectors._sandbox import SandboxClock
from connectors.blibli.sandbox import BlibliSandbox
from mappings import blibli_returns as mapping
from mappings.protocols import ReturnMapping
from simpul.canonical import MappingError, ReturnReason, ReturnStatus, ReturnType, return_to_dict
from simpul.jsoncodec import dumps, loads

GOLDEN = Path(__file__).with_name("golden_returns")
RAW_FILES = sorted(p for p in GOLDEN.glob("*.json") if not p.name.endswith(".expected.json"))
FROZEN = 1_750_000_000


def raw(name: str) -> dict:
    return loads((GOLDEN / f"{name}.json").read_text())


@pytest.mark.parametrize("path", RAW_FILES, ids=lambda p: p.stem)
def test_golden_files(path: Path) -> None:
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text())
    assert json.loads(dumps(return_to_dict(mapping.map_return(loads(path.read_text()))))) == expected


# (order, RMA id, status, raw state, reason, reason code, refund, updated_at, tracking, (line, sku, quantity))
FACTS = {
    "documented_identifiers": (
        "25000092160", "5b5b0149638c4f102c53c271", ReturnStatus.CLOSED, "RMA_PROCESS_FINISHED", "Produk rusak", ReturnReason.DAMAGED,
        "140000", "2018-07-30T03:00:00+00:00", "JNER10000000001", ("25000109944", "KAOS-HTM-L", 1),
    ),
    "requested": (
        "25100000152", "56b6441fe5e8bd70460cfdf2", ReturnStatus.REQUESTED, "RMA_REQUEST_APPROVAL", "Lainnya", ReturnReason.UNKNOWN,
        "270000", "2025-06-15T04:15:29+00:00", None, ("25000001520", "MADU-500", 2),
    ),
    "in_transit": (  # the process started: a return airway bill
        "25100000138", "af7619ca2df36d77a4898bde", ReturnStatus.IN_TRANSIT, "RMA_PROCESS_STARTED", "Produk salah kirim", ReturnReason.WRONG_ITEM,
        "270000", "2025-06-15T01:32:51+00:00", "JNER36057477075", ("25000001381", "MADU-500", 2),
    ),
    "refused": (  # "permohonan retur ditolak": nothing is owed, the item keeps its value
        "25100000138", "b57b5183e0fb9b50765f4710", ReturnStatus.REJECTED, "RMA_REQUEST_CANCELLED", "Lainnya", ReturnReason.UNKNOWN,
        "0", "2025-06-15T09:24:58+00:00", None, ("25000001380", "MADU-500", 2),
    ),
    "finished_three_units": (
        "25100000130", "9edb127c7ac288afb3299b31", ReturnStatus.CLOSED, "RMA_PROCESS_FINISHED", "Lainnya", ReturnReason.UNKNOWN,
        "717000", "2025-06-15T10:27:43+00:00", "JNER25785465739", ("25000001300", "KMJ-BTK-M", 3),
    ),
    "without_updated_date": (  # createdDate stands in
        "25100000150", "aaaecb0face6d1446c9f0cd9", ReturnStatus.CLOSED, "RMA_FORCE_CLOSED", "Produk salah kirim", ReturnReason.WRONG_ITEM,
        "375000", "2025-06-13T21:10:23+00:00", None, ("25000001500", "MADU-500", 3),
    ),
}  # fmt: skip


def test_every_golden_file_has_its_facts() -> None:
    assert set(FACTS) == {p.stem for p in RAW_FILES}


@pytest.mark.parametrize("name", sorted(FACTS))
def test_golden_cases_hold_the_facts_a_person_checked(name: str) -> None:
    order, rid, status, raw_status, reason, code, refund, updated, tracking, (line, sku, quantity) = FACTS[name]
    payload = raw(name)
    record = mapping.map_return(payload)
    ret = record.ret
    assert (record.order_external_id, ret.external_id, mapping.external_id(payload)) == (order, rid, rid)
    assert (ret.type, ret.status, ret.raw_status) == (ReturnType.BUYER_RETURN, status, raw_status)
    assert (ret.reason, ret.reason_code) == (reason, code)
    assert (ret.refund_amount, ret.currency) == (Decimal(refund), "IDR")
    assert ret.updated_at.isoformat() == updated and ret.tracking_number == tracking
    [item] = ret.items
    assert (item["line_id"], item["sku"], item["quantity"]) == (line, sku, quantity)
    assert Decimal(item["refund"]) == payload["productSalePrice"] * quantity
    assert ret.respond_by is None and ret.shipping_paid_by is None


def test_it_meets_the_protocol() -> None:
    assert isinstance(mapping, ReturnMapping)


def test_every_documented_reason_maps_and_the_assumed_ones_are_marked() -> None:
    # [B10] Order Cancellation Reason V1, typed from the page: the seller's reasons
    documented = ["Out of stock", "Wrong price", "Wrong shipping type", "Wrong weight/shipping"]
    assert {t: mapping.reason_of(t) for t in documented} == dict.fromkeys(documented, ReturnReason.OTHER)
    assert {mapping.reason_key(t) for t in documented} == set(mapping.DOCUMENTED_REASONS) <= set(mapping.REASONS)
    assert ReturnReason.UNKNOWN not in mapping.REASONS.values()
    source = Path(mapping.__file__).read_text()
    assert "# ASSUMED return-form wordings" in source  # the rest of the table says what it is


def test_an_unlisted_reason_and_an_unknown_state_are_unknown_and_kept_raw() -> None:
    payload = {**raw("in_transit"), "returnReason": "Barang tidak datang", "status": "RMA_SOMETHING_NEW"}
    ret = mapping.map_return(payload).ret
    assert (ret.reason, ret.reason_code) == ("Barang tidak datang", ReturnReason.UNKNOWN)
    assert (ret.status, ret.raw_status) == (ReturnStatus.UNKNOWN, "RMA_SOMETHING_NEW")


def test_every_state_of_the_source_has_a_row() -> None:
    # [B9], typed from the third-party enum
    states = {"RMA_REQUEST_APPROVAL", "RMA_REQUEST_APPROVED", "RMA_REQUEST_CANCELLED", "RMA_PROCESS_STARTED", "RMA_PROCESS_FINISHED", "RMA_PROCESS_CANCELLED", "RMA_FORCE_CLOSED"}
    assert set(mapping.STATUSES) == states and ReturnStatus.UNKNOWN not in mapping.STATUSES.values()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: p.pop("returnId"), "returnId: missing"),
        (lambda p: p.pop("orderNo"), "orderNo: missing"),
        (lambda p: p.pop("status"), "status: missing"),
        (lambda p: [p.pop("updatedDate"), p.pop("createdDate")], "updatedDate: missing"),
        (lambda p: p.update(updatedDate="kemarin"), "updatedDate: expected epoch milliseconds"),
        (lambda p: p.update(productSalePrice="abc"), "productSalePrice: not an amount"),
        (lambda p: p.update(orderQuantity="dua"), "orderQuantity: expected a whole number"),
    ],
)
def test_refusals_name_the_field(change, reason: str) -> None:  # noqa: ANN001
    payload = raw("in_transit")
    change(payload)
    with pytest.raises(MappingError, match=reason):
        mapping.map_return(payload)


def test_scrub_masks_the_buyer_and_maps_the_same() -> None:
    payload = {**raw("in_transit"), "customerPhone": "08123456789", "shippingStreetAddress": "Jl. Contoh No. 1"}
    scrubbed = mapping.scrub(payload)
    assert scrubbed["customerName"] == "R*********h" and "customerPhone" not in scrubbed and "shippingStreetAddress" not in scrubbed
    assert mapping.map_return(scrubbed).ret == mapping.map_return(payload).ret
    assert mapping.map_return(payload).raw == scrubbed


def test_every_seeded_rma_maps() -> None:
    app = BlibliSandbox(orders=200, seed=3, clock=SandboxClock(frozen_at=FROZEN))
    records = [mapping.map_return(r) for r in app.dump_returns()]
    assert len(records) >= 200 // 4
    assert {r.ret.status for r in records} >= {ReturnStatus.REQUESTED, ReturnStatus.IN_TRANSIT, ReturnStatus.CLOSED, ReturnStatus.REJECTED}
    orders = {o["orderNo"] for o in app.dump_orders()}
    assert {r.order_external_id for r in records} <= orders
