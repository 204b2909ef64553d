"""The Shopee settlements mapping against Shopee's documented escrow examples.

``golden_settlements/official_escrow_detail.json`` and ``official_escrow_list.json`` are
the response examples of the ``v2.payment.get_escrow_detail`` / ``get_escrow_list``
reference pages (``FACTS.md`` there says where they come from and what was checked). The
connector yields the detail with the list element's ``payout_amount`` and
``escrow_release_time`` added; the documented examples are of different orders, so the
detail case adds a payout and release time of our choosing (marked below). Every value
asserted was read off the examples with the field descriptions open, typed here by hand.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from mappings import shopee_settlements as mapping
from mappings.protocols import SettlementMapping
from simpul.canonical import MappingError
from simpul.jsoncodec import loads

GOLDEN = Path(__file__).with_name("golden_settlements")
CHOSEN_RELEASE = 1_688_000_000  # ours: 2023-06-29T00:53:20Z, before the example's adjustment


def _golden(name: str) -> dict:
    return loads((GOLDEN / name).read_text())["response"]


def test_the_module_meets_the_settlement_protocol():
    assert isinstance(mapping, SettlementMapping)


def test_the_documented_detail_example():
    detail = _golden("official_escrow_detail.json")
    raw = {**detail, "payout_amount": Decimal("110.1"), "escrow_release_time": CHOSEN_RELEASE}
    record = mapping.map_settlement(raw)
    s = record.settlement
    assert s.order_external_id == "220725D58XURJS"
    assert s.payout_amount == Decimal("110.1")
    assert s.expected_amount == Decimal("100")  # escrow_amount: "The total amount that the seller is expected to receive"
    assert s.buyer_total == Decimal("99")  # order_income.buyer_total_amount
    assert (s.commission_fee, s.service_fee, s.transaction_fee) == (Decimal("0.1"),) * 3
    assert s.shipping_fee_actual == Decimal("10")  # actual_shipping_fee: "The final shipping cost of order and it is positive"
    assert (s.shipping_fee_buyer, s.shipping_rebate, s.refund_amount) == (Decimal("0.1"),) * 3
    assert s.adjustment_amount == Decimal("10.1")  # total_adjustment_amount; after adjustment 110.1 = 100 + 10.1
    assert s.payment_method == "Credit Card/Debit Card"  # order_income's; buyer_payment_info says "-"
    assert s.released_at == datetime(2023, 6, 29, 0, 53, 20, tzinfo=timezone.utc)
    # the adjustment dated 1688107565 (2023-06-30T06:46:05Z) is newer than the release: it is the version
    assert s.updated_at == datetime(2023, 6, 30, 6, 46, 5, tzinfo=timezone.utc)
    assert s.currency is None  # the order income names no currency: the order's
    assert "buyer_user_name" in detail and "buyer_user_name" not in record.raw


def test_a_listed_element_alone_when_the_detail_was_refused():
    first = _golden("official_escrow_list.json")["escrow_list"][0]
    s = mapping.map_settlement(first).settlement
    assert (s.order_external_id, s.payout_amount) == ("220415N6SB140P", Decimal("57334"))
    assert s.released_at == s.updated_at == datetime(2022, 5, 6, 15, 7, 28, tzinfo=timezone.utc)  # 1651849648
    assert s.expected_amount is None and s.commission_fee is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"order_sn": ""}, "order_sn: missing"),
        ({"escrow_release_time": 0}, "escrow_release_time: missing"),
        ({"payout_amount": None}, "payout_amount"),
        ({"order_income": "x"}, "order_income: expected an object"),
        ({"order_income": {"commission_fee": "a lot"}}, "order_income.commission_fee"),
        ({"order_income": {"order_adjustment": [{"date": "yesterday"}]}}, "order_income.order_adjustment[0].date"),
    ],
)
def test_refusals_name_the_field(change, reason):
    raw = {"order_sn": "220415N6SB140P", "payout_amount": 5, "escrow_release_time": 1651849648, **change}
    with pytest.raises(MappingError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        mapping.map_settlement(raw)


def test_scrub_is_idempotent_and_maps_the_same():
    raw = {**_golden("official_escrow_detail.json"), "payout_amount": Decimal("110.1"), "escrow_release_time": CHOSEN_RELEASE}
    once = mapping.scrub(raw)
    assert mapping.scrub(once) == once
    assert mapping.map_settlement(once).settlement == mapping.map_settlement(raw).settlement
