"""The WooCommerce refunds mapping: golden files, the reason table, the statuses, refusals,
scrubbing, and every sandbox refund.

Golden files (``golden_returns/``) are refund records as the connector assembles them: the
refund object as ``GET /orders/<id>/refunds`` renders it plus ``"order": {"id",
"currency"}``. ``docs_order_723_refund_724`` and ``docs_order_723_refund_726`` are the two
refunds of the documented list example (woocommerce-rest-api-docs ``_order-refunds.md``,
"List all refunds", order 723), copied field for field, with the order's currency from the
documented order 723 (``_orders.md``: ``"currency": "USD"``). Each ``*.expected.json`` is a
snapshot; the FACTS below were read off the payloads with storefronts_couriers.md §2.4 and
those documents open, and typed by hand.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from connectors._sandbox import SandboxClock
from connectors.woocommerce.sandbox import LATE_REASONS, REFUND_REASONS, WooCommerceSandbox
from mappings import woocommerce as orders_mapping
from mappings import woocommerce_returns as mapping
from simpul.canonical import MappingError, ReturnReason, ReturnStatus, ReturnType, return_to_dict
from simpul.jsoncodec import content_hash, dumps, loads
from tests.woocommerce.support import FROZEN

GOLDEN = Path(__file__).with_name("golden_returns")
RAW_FILES = sorted(p for p in GOLDEN.glob("*.json") if not p.name.endswith(".expected.json"))
PII = ("8801", "2345", "6789", "rina.contoh", "0800-0000")


def raw(name: str) -> dict:
    return loads((GOLDEN / f"{name}.json").read_text())


@pytest.mark.parametrize("path", RAW_FILES, ids=lambda p: p.stem)
def test_golden_files(path: Path) -> None:
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text())
    assert json.loads(dumps(return_to_dict(mapping.map_return(loads(path.read_text()))))) == expected


# Read off each payload by a person, typed here:
# - amount: "amount" is the total refund amount, a positive string (§2.4), in the order's currency;
# - when: date_created_gmt is GMT; with only the site-local date_created, Asia/Jakarta (+07);
#   a refund has no other time, so it is also the record's version;
# - status: refunded_payment true = the gateway returned the money (api, refunded);
#   false = recorded by the shop only (manual: "you will need to issue a refund through
#   your payment gateway"), approved;
# - items: line_items carry negative quantity and total and _refunded_item_id (§2.4); the
#   item is the order line refunded, quantity and money positive (total plus total_tax);
# - reason: the raw text (masked where it holds an account number or e-mail) and its code.
U = None
FACTS = {
    # Documented: refund 724 of order 723, $9.00 for one "Woo Album #2" (order line 311, 9.00 in
    # _orders.md), no reason, not refunded through the gateway.
    "docs_order_723_refund_724": {
        "order": "723", "id": "724", "amount": ("USD", "9.00"),
        "when": ("2017-03-21T19:55:37", "2017-03-21T19:55:37+00:00"),
        "status": ("manual", ReturnStatus.APPROVED),
        "items": [("311", 1, "9.00")],
        "reason": (U, ReturnReason.UNKNOWN),
    },
    # Documented: refund 726 of order 723, $10.00 by amount only (no line items).
    "docs_order_723_refund_726": {
        "order": "723", "id": "726", "amount": ("USD", "10.00"),
        "when": ("2017-03-21T20:07:11", "2017-03-21T20:07:11+00:00"),
        "status": ("manual", ReturnStatus.APPROVED),
        "items": [],
        "reason": (U, ReturnReason.UNKNOWN),
    },
    # Two jars of coffee (103500 each) refunded through Midtrans: broken ("rusak", "retak").
    "midtrans_line_refund_damaged": {
        "order": "1047", "id": "9010472", "amount": ("IDR", "207000.00"),
        "when": ("2025-02-20T08:12:09", "2025-02-20T08:12:09+00:00"),
        "status": ("api", ReturnStatus.REFUNDED),
        "items": [("104702", 2, "207000.00")],
        "reason": ("Barang rusak saat diterima, tutup toples retak", ReturnReason.DAMAGED),
    },
    # A shirt too small ("ukuran kekecilan"), 55000 + 5500 tax, plus 1000 of shipping, paid back
    # by hand; only the site-local time (09:30 WIB is 02:30 UTC); the reason names an account
    # and an e-mail; a second line refunds nothing (quantity 0, total 0) and is no item.
    "manual_refund_local_time_masked_reason": {
        "order": "3100", "id": "3112", "amount": ("IDR", "61500.00"),
        "when": ("2025-01-22T09:30:00", "2025-01-22T02:30:00+00:00"),
        "status": ("manual", ReturnStatus.APPROVED),
        "items": [("3101", 1, "60500.00")],
        "reason": ("Ukuran kekecilan. Dana ditransfer ke BCA **** **** **89, konfirmasi ke r***@example.com", ReturnReason.SIZE_FIT),
    },
}  # fmt: skip


def test_every_golden_case_has_its_documented_facts() -> None:
    assert set(FACTS) == {p.stem for p in RAW_FILES}


@pytest.mark.parametrize("name", sorted(FACTS))
def test_golden_cases_hold_the_facts_a_person_checked_against_the_documentation(name: str) -> None:
    facts, payload = FACTS[name], raw(name)
    record = mapping.map_return(payload)
    ret = record.ret
    assert (record.order_external_id, ret.external_id) == (facts["order"], facts["id"]) == (str(payload["order"]["id"]), str(payload["id"]))
    currency, amount = facts["amount"]
    assert payload["amount"] == amount and (ret.currency, ret.refund_amount) == (currency, Decimal(amount))
    text, instant = facts["when"]
    assert payload.get("date_created_gmt", payload["date_created"]) == text
    assert ret.created_at.isoformat() == ret.updated_at.isoformat() == instant
    raw_status, status = facts["status"]
    assert payload["refunded_payment"] is (raw_status == "api")
    assert (ret.type, ret.raw_status, ret.status) == (ReturnType.REFUND, raw_status, status)
    assert [(i["line_id"], i["quantity"], i["refund"]) for i in ret.items] == facts["items"]
    assert (ret.reason, ret.reason_code) == facts["reason"]
    assert (ret.return_shipping_cost, ret.tracking_number, ret.shipping_paid_by, ret.respond_by) == (None, None, None, None)
    assert record.mapping_version == mapping.MAPPING_VERSION and record.payload_hash == content_hash(payload)


def test_the_documented_refund_items_are_lines_of_the_documented_order() -> None:
    """Refund 724's item is order 723's line 311 (``_orders.md``: "Woo Album #2", 1 x 9.00)."""
    [item] = mapping.map_return(raw("docs_order_723_refund_724")).ret.items
    assert item == {"line_id": "311", "name": "Woo Album #2", "quantity": 1, "refund": "9.00"}  # sku "" is no sku


# -- reasons -------------------------------------------------------------------------------------
def test_every_documented_reason_maps_to_the_taxonomy_or_is_counted_unknown() -> None:
    """WooCommerce's reason is free text. What the sources name: the docs' examples (an empty
    reason), §2.7's sample ("rusak"), the text core writes itself when an order is set to
    refunded ("Order fully refunded."), and the sandbox's reasons (typed by shops)."""
    documented = {"": ReturnReason.UNKNOWN, "rusak": ReturnReason.DAMAGED, "Order fully refunded.": ReturnReason.UNKNOWN}
    assert {text: mapping.reason_code(text) for text in documented} == documented
    sandbox = {*REFUND_REASONS.values(), *LATE_REASONS}
    codes = {text: mapping.reason_code(text) for text in sandbox}
    assert all(isinstance(code, ReturnReason) for code in codes.values())
    assert [text for text, code in codes.items() if code is ReturnReason.UNKNOWN] == [""]  # only the empty one says nothing
    assert {codes[t] for t in sandbox} >= {ReturnReason.DAMAGED, ReturnReason.WRONG_ITEM, ReturnReason.SIZE_FIT, ReturnReason.CHANGED_MIND, ReturnReason.NOT_AS_DESCRIBED, ReturnReason.OTHER}


def test_each_keyword_alone_maps_to_its_own_reason_and_the_priority_decides_mixtures() -> None:
    assert {k: mapping.reason_code(k) for k in mapping.REASONS} == mapping.REASONS
    assert set(mapping.PRIORITY) == set(mapping.REASONS.values())
    mixtures = {
        "Ukuran salah": ReturnReason.SIZE_FIT,  # size before wrong item
        "salah pesan, pembeli batal": ReturnReason.CHANGED_MIND,  # the buyer's mistake, not the shop's
        "Dibatalkan karena stok habis": ReturnReason.OTHER,  # the shop's stock, not a change of mind
        "Pesanan tidak diterima, alamat salah": ReturnReason.FAILED_DELIVERY,
        "Barang diterima rusak": ReturnReason.DAMAGED,
        "Kerusakan pada kemasan": ReturnReason.DAMAGED,  # a stem inside a word
        "Wrong size": ReturnReason.SIZE_FIT,
        "Refund ongkir": ReturnReason.OTHER,  # named, none of the categories
        "profit sharing": ReturnReason.OTHER,  # "fit" only as a word
        "   ": ReturnReason.UNKNOWN,
        None: ReturnReason.UNKNOWN,
    }
    assert {text: mapping.reason_code(text) for text in mixtures} == mixtures


def test_the_order_mapping_codes_its_summary_refunds_with_the_same_table() -> None:
    order = loads((Path(__file__).with_name("golden") / "completed_with_refund.json").read_text())
    order["refunds"] = [{"id": 1, "reason": text, "total": "-1.00"} for text in ("Ukuran kekecilan", "Order fully refunded.", "rek 8801 2345 6789")]
    returns = orders_mapping.map_order(order).returns
    assert [r.reason_code for r in returns] == [mapping.reason_code(r["reason"]) for r in order["refunds"]]
    assert returns[2].reason == "rek **** **** **89"
    scrubbed = orders_mapping.scrub(order)
    assert scrubbed["refunds"][2] == {"id": 1, "reason": "rek **** **** **89", "total": "-1.00"} and order["refunds"][2]["reason"] == "rek 8801 2345 6789"
    assert orders_mapping.map_order(scrubbed).returns == returns  # a replay of the stored copy maps the same


def test_masking_keeps_short_numbers_and_is_idempotent() -> None:
    text = "Refund 2 pcs Rp 150.000 ke 0812-3456-7890 / siti@example.co.id"
    once = mapping.mask_reason(text)
    assert once == "Refund 2 pcs Rp 150.000 ke ****-****-**90 / s***@example.co.id"
    assert mapping.mask_reason(once) == once


# -- statuses ------------------------------------------------------------------------------------
def test_refunded_payment_decides_the_status_and_anything_else_is_unknown() -> None:
    payload = raw("docs_order_723_refund_726")
    seen = {}
    for value in (True, False, None, "yes"):
        ret = mapping.map_return({**payload, "refunded_payment": value}).ret
        seen[value] = (ret.raw_status, ret.status)
    assert seen == {
        True: ("api", ReturnStatus.REFUNDED),
        False: ("manual", ReturnStatus.APPROVED),
        None: (None, ReturnStatus.UNKNOWN),
        "yes": (None, ReturnStatus.UNKNOWN),
    }
    assert set(mapping.STATUSES) == {"api", "manual"}


# -- refusals --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r.pop("id"), "id"),
        (lambda r: r.update(id=-4), "id"),
        (lambda r: r.pop("order"), "order"),
        (lambda r: r["order"].update(id="abc"), "order.id"),
        (lambda r: r["order"].pop("currency"), "order.currency"),
        (lambda r: r.update(amount="abc"), "amount"),
        (lambda r: r.update(amount="-9.00"), "amount"),
        (lambda r: r.update(amount=9.0), "amount"),
        (lambda r: r.update(date_created_gmt=None, date_created=None), "date_created_gmt"),
        (lambda r: r.update(date_created_gmt="kemarin"), "date_created_gmt"),
        (lambda r: r.update(line_items={"id": 1}), "line_items"),
        (lambda r: r["line_items"][0].update(quantity="satu"), "line_items[0].quantity"),
        (lambda r: r["line_items"][0].update(total=None), "line_items[0].total"),
    ],
)
def test_unmappable_records_name_the_field_and_no_buyer_data(change, field: str) -> None:  # noqa: ANN001
    payload = raw("manual_refund_local_time_masked_reason")
    payload["date_created_gmt"] = "2025-01-22T02:30:00"
    change(payload)
    with pytest.raises(MappingError) as info:
        mapping.map_return(payload)
    assert str(info.value).startswith(f"{field}: ")
    assert not any(p in str(info.value) for p in PII)


def test_not_an_object_is_refused_and_external_id_is_best_effort() -> None:
    with pytest.raises(MappingError, match="^payload: "):
        mapping.map_return(["not", "a", "refund"])  # type: ignore[arg-type]
    assert mapping.external_id({"id": 724}) == "724" and mapping.external_id({"id": "x"}) is None and mapping.external_id([]) is None  # type: ignore[arg-type]


# -- scrub ------------------------------------------------------------------------------------------
def test_scrub_masks_the_reason_and_personal_meta_and_replay_maps_the_same() -> None:
    for path in RAW_FILES:
        payload = loads(path.read_text())
        record = mapping.map_return(payload)
        scrubbed = mapping.scrub(payload)
        assert scrubbed == record.raw
        text = dumps(scrubbed)
        assert not any(p in text for p in PII), path.stem
        again = mapping.map_return(scrubbed)  # what a quarantine replay maps
        assert again.ret == record.ret and again.order_external_id == record.order_external_id
        assert mapping.scrub(scrubbed) == scrubbed  # idempotent
    kept = mapping.scrub(raw("manual_refund_local_time_masked_reason"))["meta_data"]
    assert [m["key"] for m in kept] == ["_refund_note"]  # _buyer_phone dropped, as the order mapping drops it


# -- every sandbox refund ------------------------------------------------------------------------
def test_every_sandbox_refund_maps_and_its_items_add_up() -> None:
    app = WooCommerceSandbox(orders=300, seed=6, clock=SandboxClock(frozen_at=FROZEN))
    orders = {str(o["id"]): o for o in app.dump_orders()}
    records = app.dump_returns()
    assert len(records) >= 300 // 4
    statuses = set()
    for raw_record in records:
        record = mapping.map_return(raw_record)
        ret = record.ret
        order = orders[record.order_external_id]
        statuses.add((ret.type, ret.status))
        assert ret.currency == order["currency"] and ret.updated_at == ret.created_at
        summary = next(r for r in order["refunds"] if str(r["id"]) == ret.external_id)
        assert Decimal(summary["total"]) == -ret.refund_amount  # the order's summary agrees
        if ret.items:
            assert sum(Decimal(i["refund"]) for i in ret.items) == ret.refund_amount
            assert {i["line_id"] for i in ret.items} <= {str(line["id"]) for line in order["line_items"]}
        assert ret.reason_code is not ReturnReason.UNKNOWN or not ret.reason
    assert statuses == {(ReturnType.REFUND, ReturnStatus.REFUNDED), (ReturnType.REFUND, ReturnStatus.APPROVED)}
