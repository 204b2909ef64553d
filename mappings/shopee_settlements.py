"""Shopee escrow (``v2.payment.get_escrow_detail`` plus the list's payout) -> ``Settlement``.

What the connector yields per released order (``connectors/shopee/client.py``, sources
[P1] there): the escrow detail with the list element's ``payout_amount`` and
``escrow_release_time`` added at the top level; where Shopee refused the detail, the list
element alone (then only the payout and its time are known).

- ``payout_amount`` ("The settlement amount", the list) is what was released;
  ``escrow_amount`` ("The total amount seller expected to receive") is Shopee's own figure
  before later adjustments: ``expected_amount``. They differ when Shopee adjusted the
  order after computing it (``order_adjustment``, ``total_adjustment_amount``).
- The fees Shopee kept, by its names: ``commission_fee``, ``service_fee``,
  ``seller_transaction_fee``; shipping as ``actual_shipping_fee`` (what the courier
  charged), ``buyer_paid_shipping_fee`` and ``shopee_shipping_rebate``;
  ``seller_return_refund`` is kept as Shopee signs it.
- The version (``updated_at``) is the release, or the newest adjustment's ``date`` when
  later, so a resync that reads an adjusted escrow replaces the older word and an older
  reply never overwrites it.
- Amounts carry no currency here (Shopee's order income is in the shop's currency, the
  order's): ``currency`` stays None and readers take the order's.
- ``payment_method``: ``order_income.buyer_payment_method`` ("The payment method buyer
  used when do the order checkout"), else ``buyer_payment_info``'s; ``-`` is none. Shopee
  documents no list of values (none says COD), so nothing decides on it: an order is COD
  by its order payload (``cod``).
- ``buyer_user_name`` is the buyer's Shopee username: ``scrub`` drops it, and nothing
  here reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mappings._common import money, money_or_none, text_or_none, utc_from_epoch
from simpul.canonical import MappingError, Settlement, SettlementRecord
from simpul.jsoncodec import content_hash

MAPPING_VERSION = "shopee-settlements-1"
DROPPED_FIELDS = ("buyer_user_name",)

# canonical field -> order_income field ([P1])
INCOME_FIELDS = {
    "expected_amount": "escrow_amount",
    "buyer_total": "buyer_total_amount",
    "commission_fee": "commission_fee",
    "service_fee": "service_fee",
    "transaction_fee": "seller_transaction_fee",
    "shipping_fee_actual": "actual_shipping_fee",
    "shipping_fee_buyer": "buyer_paid_shipping_fee",
    "shipping_rebate": "shopee_shipping_rebate",
    "refund_amount": "seller_return_refund",
    "adjustment_amount": "total_adjustment_amount",
}


def external_id(raw: Mapping[str, Any]) -> str | None:
    value = raw.get("order_sn") if isinstance(raw, Mapping) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def map_settlement(raw: Mapping[str, Any]) -> SettlementRecord:
    if not isinstance(raw, Mapping):
        raise MappingError("payload: expected a JSON object")
    order_sn = external_id(raw)
    if order_sn is None:
        raise MappingError("order_sn: missing")
    released_at = utc_from_epoch(raw.get("escrow_release_time"), field="escrow_release_time")
    if released_at is None:
        raise MappingError("escrow_release_time: missing")
    payout = money(raw.get("payout_amount"), field="payout_amount")
    income = raw.get("order_income", {})
    if not isinstance(income, Mapping):
        raise MappingError("order_income: expected an object")
    amounts = {name: money_or_none(income.get(field), field=f"order_income.{field}") for name, field in INCOME_FIELDS.items()}
    payment = raw.get("buyer_payment_info")
    methods = (income.get("buyer_payment_method"), payment.get("buyer_payment_method") if isinstance(payment, Mapping) else None)
    method = next((m for m in map(text_or_none, methods) if m and m != "-"), None)  # "-": the documented example's "none"
    settlement = Settlement(
        order_external_id=order_sn,
        payout_amount=payout,
        released_at=released_at,
        updated_at=max([released_at, *_adjusted_at(income)]),
        payment_method=method,
        **amounts,
    )
    return SettlementRecord(settlement=settlement, mapping_version=MAPPING_VERSION, payload_hash=content_hash(raw), raw=scrub(raw))


def _adjusted_at(income: Mapping[str, Any]) -> list[datetime]:
    adjustments = income.get("order_adjustment") or []
    if not isinstance(adjustments, list):
        raise MappingError("order_income.order_adjustment: expected a list")
    out = []
    for i, adjustment in enumerate(adjustments):
        if not isinstance(adjustment, Mapping):
            raise MappingError(f"order_income.order_adjustment[{i}]: expected an object")
        when = utc_from_epoch(adjustment.get("date"), field=f"order_income.order_adjustment[{i}].date")
        if when is not None:
            out.append(when)
    return out


def scrub(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A copy fit to store: the buyer's username removed. Idempotent, and mapping the
    scrubbed copy (quarantine replay) gives the same settlement."""
    return {k: v for k, v in raw.items() if k not in DROPPED_FIELDS} if isinstance(raw, Mapping) else {}

