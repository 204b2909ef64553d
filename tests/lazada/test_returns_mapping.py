"""The Lazada returns mapping (``mappings.lazada_returns``): golden files, the status and
reason tables, refusals, scrubbing.

Golden files (``golden_returns/``):

- ``documented_list_example``: the response example of the GetReverseOrdersForSeller API
  reference ([L14], open.lazada.com ``?path=/reverse/getreverseordersforseller``): one
  ``result.items`` element with its line, every field name and every non-placeholder value
  as documented (``request_type`` CANCEL, ``is_rtm`` "true", ``shipping_type`` DEFAULT,
  ``reverse_status`` REQUEST_INITIATE, ``ofc_status`` RETURN_CANCELED, ``reason_text``
  "Out of stock", ``reason_code`` "123", ``sla`` "1741672453926", ``tracking_number``
  TH2404B29P6D, the Thai ``receiver_address``, ``seller_sku_id`` th-1000, values as text).
  The reference's placeholder zeros are replaced: the ids by those of the documented
  reverse-order push example ([L15]: reverse order 658960600102006 of order
  416557324702006, line 663790000102006 of order line 416557324802006, buyer
  100112802006), the line's create and modified times by 1741586053 (one day before the
  documented ``sla``), ``refund_amount`` and ``item_unit_price`` by 25900 (cents).
- ``documented_detail_example``: GetReverseOrderDetail's documented response ``data``
  (``reverseOrderLineDTOList``, ``productDTO``, ``buyer.user_id``, ``sla`` "1741672336776",
  ``tracking_number`` NLRSGZ10444515, ``ofc_status`` INITIAL, ``shipping_type`` PICK_UP),
  the placeholders replaced the same way.
- the others are the sandbox's output (``connectors/lazada/sandbox.py``, seed 3, 250 orders,
  data clock 1,750,000,000): a return on its way back, a cancellation refunded, a refund-only
  request of two lines rejected; ``return_lines_in_two_statuses`` is a sandbox return of two
  lines edited by hand so one line is received and the other rejected.

Every ``*.expected.json`` is this mapping's output; FACTS are read off the payloads with
the reference open and typed by hand. Checked against the documentation for the two
documented files: CANCEL is a cancellation, REQUEST_INITIATE is the state the process guide
says the seller acts on (requested), "Out of stock" is a reason of the cancellation guide
([L17], a seller reason: other), ``refund_amount`` is "currency in cent" (25900 -> 259.00),
``sla`` read as the epoch in milliseconds it is (1741672453926 -> 2025-03-11 05:54:13.926
UTC), ``tracking_number`` is the return parcel's. The currency (IDR) is the mapping's
assumption, not the example's (the example is Thai): the reverse order names none.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from connectors._sandbox import SandboxClock
from connectors.lazada.sandbox import LazadaSandbox
from mappings import lazada_returns as mapping
from mappings.protocols import ReturnMapping
from simpul.canonical import MappingError, ReturnReason, ReturnStatus, ReturnType, return_to_dict
from simpul.jsoncodec import dumps, loads
from tests.lazada.support import FROZEN

GOLDEN = Path(__file__).with_name("golden_returns")
RAW_FILES = sorted(p for p in GOLDEN.glob("*.json") if not p.name.endswith(".expected.json"))


def raw(name: str) -> dict:
    return loads((GOLDEN / f"{name}.json").read_text())


@pytest.mark.parametrize("path", RAW_FILES, ids=lambda p: p.stem)
def test_golden_files(path: Path) -> None:
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text())
    assert json.loads(dumps(return_to_dict(mapping.map_return(loads(path.read_text()))))) == expected


# (order, return id, type, status, raw status, reason, reason code, refund, respond_by, tracking, line ids)
FACTS = {
    "documented_list_example": (
        "416557324702006", "658960600102006", ReturnType.CANCELLATION, ReturnStatus.REQUESTED, "REQUEST_INITIATE", "Out of stock", ReturnReason.OTHER,
        "259.00", "2025-03-11T05:54:13.926000+00:00", "TH2404B29P6D", ["416557324802006"],
    ),
    "documented_detail_example": (
        "416557324702006", "658960600102006", ReturnType.CANCELLATION, ReturnStatus.REQUESTED, "REQUEST_INITIATE", "Out of stock", ReturnReason.OTHER,
        "259.00", "2025-03-11T05:52:16.776000+00:00", "NLRSGZ10444515", ["416557324802006"],
    ),
    "return_shipping_back": (  # RTM_SHIPPING_BACK [L15]: collected, on its way back; the seller still has to act
        "3000030001569", "5000030001571", ReturnType.BUYER_RETURN, ReturnStatus.IN_TRANSIT, "RTM_SHIPPING_BACK",
        "Don't want item anymore (Change Of Mind)", ReturnReason.CHANGED_MIND, "229000.00", "2025-06-17T13:57:46+00:00", "LXRT-3631229864", ["4000030000781"],
    ),
    "cancel_refund_issued": (
        "3000030000015", "5000030000017", ReturnType.CANCELLATION, ReturnStatus.REFUNDED, "CANCEL_REFUND_ISSUED", "Change of mind", ReturnReason.CHANGED_MIND,
        "115000.00", None, None, ["4000030000011"],
    ),
    "only_refund_rejected_two_lines": (  # rejected: nothing is owed, each line keeps its own amount
        "3000030000925", "5000030000927", ReturnType.REFUND, ReturnStatus.REJECTED, "REQUEST_REJECT", "Empty package / Fraudulent item", ReturnReason.WRONG_ITEM,
        "0.00", None, None, ["4000030000455", "4000030000454"],
    ),
    "return_lines_in_two_statuses": (  # one line received (open), one rejected (final): the open line decides, only it is owed
        "3000030000029", "5000030000031", ReturnType.BUYER_RETURN, ReturnStatus.RECEIVED, "REQUEST_REJECT,RTM_RECEIVE_ITEM",
        "Don't want item anymore (Change Of Mind)", ReturnReason.CHANGED_MIND, "119000.00", "2025-05-14T02:40:38+00:00", "LXRT-0268078351",
        ["4000030000014", "4000030000015"],
    ),
}  # fmt: skip


def test_every_golden_file_has_its_facts() -> None:
    assert set(FACTS) == {p.stem for p in RAW_FILES}


@pytest.mark.parametrize("name", sorted(FACTS))
def test_golden_cases_hold_the_facts_a_person_checked(name: str) -> None:
    order, rid, kind, status, raw_status, reason, code, refund, respond_by, tracking, lines = FACTS[name]
    payload = raw(name)
    record = mapping.map_return(payload)
    ret = record.ret
    assert (record.order_external_id, ret.external_id, mapping.external_id(payload)) == (order, rid, rid)
    assert (ret.type, ret.status, ret.raw_status) == (kind, status, raw_status)
    assert (ret.reason, ret.reason_code) == (reason, code)
    assert (ret.refund_amount, ret.currency) == (Decimal(refund), "IDR")
    assert (ret.respond_by.isoformat() if ret.respond_by else None) == respond_by
    assert ret.tracking_number == tracking
    assert [i["line_id"] for i in ret.items] == lines and all(i["quantity"] == 1 for i in ret.items)
    key = "reverse_order_lines" if "reverse_order_lines" in payload else "reverseOrderLineDTOList"
    newest = max(int(line["return_order_line_gmt_modified"]) for line in payload[key])
    assert ret.updated_at.timestamp() == newest  # seconds, as the captures send them
    assert record.mapping_version == mapping.MAPPING_VERSION and record.payload_hash


def test_it_meets_the_protocol_and_times_in_seconds_or_milliseconds_read_the_same() -> None:
    assert isinstance(mapping, ReturnMapping)
    payload = raw("return_shipping_back")
    line = payload["reverse_order_lines"][0]
    in_ms = {**payload, "reverse_order_lines": [{**line, "return_order_line_gmt_modified": line["return_order_line_gmt_modified"] * 1000}]}
    assert mapping.map_return(in_ms).ret.updated_at == mapping.map_return(payload).ret.updated_at


# Every reason the sources name, typed from them (not from the table): the taxonomy each is.
DOCUMENTED_REASONS = {
    # [L16] Lazada MY support centre, "Customer Return Policy for the Seller"
    "Damaged": ReturnReason.DAMAGED,
    "Defective": ReturnReason.DAMAGED,
    "Wrong item": ReturnReason.WRONG_ITEM,
    "Missing parts": ReturnReason.WRONG_ITEM,
    "Not as advertised": ReturnReason.NOT_AS_DESCRIBED,
    "Does not fit": ReturnReason.SIZE_FIT,
    "Change of mind": ReturnReason.CHANGED_MIND,
    # [L16] Lazada's return information page
    "Received wrong item": ReturnReason.WRONG_ITEM,
    "Damaged/faulty item": ReturnReason.DAMAGED,
    "Missing accessories/freebie": ReturnReason.WRONG_ITEM,
    "Item doesn't match description/pictures": ReturnReason.NOT_AS_DESCRIBED,
    "Counterfeit item": ReturnReason.NOT_AS_DESCRIBED,
    "Don't want item anymore (Change Of Mind)": ReturnReason.CHANGED_MIND,
    # [L16] Lazada PH seller community, "Non-DRTM Return Overview" (return and refund-only reasons)
    "Damaged / Faulty Item": ReturnReason.DAMAGED,
    "Expired Item": ReturnReason.DAMAGED,
    "Item does not match description / pictures": ReturnReason.NOT_AS_DESCRIBED,
    "Received Wrong Item": ReturnReason.WRONG_ITEM,
    "Counterfeit Items": ReturnReason.NOT_AS_DESCRIBED,
    "Missing Accessories / Freebies": ReturnReason.WRONG_ITEM,
    "Package Not Received": ReturnReason.FAILED_DELIVERY,
    "Empty Package / Fraudulent Item": ReturnReason.WRONG_ITEM,
    # [L16] Lazada PH returns page
    "Incorrect/wrong item": ReturnReason.WRONG_ITEM,
    "Missing items/parts": ReturnReason.WRONG_ITEM,
    # [L17] the seller's cancellation reasons; [L14] the API example's "Out of stock"
    "Sourcing Delay": ReturnReason.OTHER,
    "Out of Stock": ReturnReason.OTHER,
    "Out of stock": ReturnReason.OTHER,
    "Wrong Price or Pricing Error": ReturnReason.OTHER,
}


def test_every_documented_reason_maps_to_the_taxonomy() -> None:
    assert {text: mapping.reason_of(text) for text in DOCUMENTED_REASONS} == DOCUMENTED_REASONS
    assert set(mapping.REASONS.values()) <= set(ReturnReason) and ReturnReason.UNKNOWN not in mapping.REASONS.values()
    # every table entry is one of the documented reasons (the table invents none)
    assert set(mapping.REASONS) == {mapping.reason_key(t) for t in DOCUMENTED_REASONS}


def test_an_unlisted_reason_is_unknown_and_kept_raw() -> None:
    payload = raw("return_shipping_back")
    payload["reverse_order_lines"][0]["reason_text"] = "Lainnya"
    ret = mapping.map_return(payload).ret
    assert (ret.reason, ret.reason_code) == ("Lainnya", ReturnReason.UNKNOWN)
    payload["reverse_order_lines"][0].pop("reason_text")
    ret = mapping.map_return(payload).ret
    assert ret.reason == f"reason_code {payload['reverse_order_lines'][0]['reason_code']}" and ret.reason_code is ReturnReason.UNKNOWN


# [L14] GetReverseOrderDetail's reverse_status values, [L15] the reverse-order push's keys.
DOCUMENTED_STATUSES = {
    "REQUEST_INITIATE", "REQUEST_REJECT", "REQUEST_CANCEL", "CANCEL_SUCCESS",
    "CANCEL_INIT", "CANCEL_REFUND_ISSUED", "RTM_INIT", "RTM_CANCELED", "RTM_SHIPPING_BACK", "RTM_RECEIVE_ITEM",
    "RTW_INIT", "RTW_CANCELED", "RTW_SHIPPING_BACK", "RTW_REJECT", "RTW_REFUND_PENDING",
    "REFUND_INIT", "REFUND_PENDING", "REFUND_SUCCESS", "REFUND_REJECTED",
}  # fmt: skip


def test_every_documented_status_has_a_row_and_an_unknown_one_is_unknown_with_the_raw_kept() -> None:
    assert set(mapping.STATUSES) == DOCUMENTED_STATUSES
    assert ReturnStatus.UNKNOWN not in mapping.STATUSES.values()
    payload = raw("return_shipping_back")
    payload["reverse_order_lines"][0]["reverse_status"] = "RTM_LOST_IN_SPACE"
    ret = mapping.map_return(payload).ret
    assert (ret.status, ret.raw_status) == (ReturnStatus.UNKNOWN, "RTM_LOST_IN_SPACE")


@pytest.mark.parametrize(
    ("statuses", "status"),
    [
        (["REQUEST_INITIATE", "RTM_SHIPPING_BACK"], ReturnStatus.REQUESTED),  # the least advanced open line
        (["REFUND_SUCCESS", "REQUEST_REJECT"], ReturnStatus.REFUNDED),  # all final: money moved wins
        (["REQUEST_CANCEL", "REQUEST_REJECT"], ReturnStatus.REJECTED),
        (["REQUEST_INITIATE", "NEW_ONE"], ReturnStatus.UNKNOWN),  # never a guess
    ],
)
def test_lines_in_different_statuses_follow_the_documented_rule(statuses: list[str], status: ReturnStatus) -> None:
    assert mapping.derive(statuses) is status


def test_the_request_types() -> None:
    payload = raw("return_shipping_back")
    for sent, kind in (("RETURN", ReturnType.BUYER_RETURN), ("ONLY_ REFUND", ReturnType.REFUND), ("ONLY_REFUND", ReturnType.REFUND), ("CANCEL", ReturnType.CANCELLATION), ("SWAP", ReturnType.UNKNOWN)):
        assert mapping.map_return({**payload, "request_type": sent}).ret.type is kind


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: p.pop("reverse_order_id"), "reverse_order_id: missing"),
        (lambda p: p.update(trade_order_id="0"), "trade_order_id: missing"),
        (lambda p: p.update(reverse_order_lines=[]), "reverse_order_lines: missing or empty"),
        (lambda p: p["reverse_order_lines"][0].pop("return_order_line_gmt_modified"), "return_order_line_gmt_modified: missing"),
        (lambda p: p["reverse_order_lines"][0].pop("reverse_status"), "reverse_order_lines[0].reverse_status: missing"),
        (lambda p: p["reverse_order_lines"][0].update(refund_amount="abc"), "reverse_order_lines[0].refund_amount: not an amount"),
        (lambda p: p["reverse_order_lines"][0].update(return_order_line_gmt_modified="kemarin"), "return_order_line_gmt_modified: expected an epoch number"),
    ],
)
def test_refusals_name_the_field(change, reason: str) -> None:  # noqa: ANN001
    payload = raw("return_shipping_back")
    change(payload)
    with pytest.raises(MappingError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        mapping.map_return(payload)


def test_scrub_drops_the_parcels_address_and_maps_the_same() -> None:
    payload = raw("documented_list_example")
    scrubbed = mapping.scrub(payload)
    assert "receiver_address" not in json.dumps(scrubbed) and "receiver_address" in json.dumps(payload)
    assert mapping.map_return(scrubbed).ret == mapping.map_return(payload).ret
    assert mapping.map_return(payload).raw == scrubbed


def test_every_seeded_reverse_order_maps_and_the_sandbox_sends_what_the_mapping_reads() -> None:
    app = LazadaSandbox(orders=250, seed=3, clock=SandboxClock(frozen_at=FROZEN))
    records = [mapping.map_return(r) for r in app.dump_returns()]
    assert len(records) >= 250 // 4
    assert {r.ret.type for r in records} == {ReturnType.BUYER_RETURN, ReturnType.REFUND, ReturnType.CANCELLATION}
    assert all(r.ret.status is not ReturnStatus.UNKNOWN for r in records)
    assert {r.ret.reason_code for r in records} >= {ReturnReason.CHANGED_MIND, ReturnReason.UNKNOWN, ReturnReason.FAILED_DELIVERY}
