"""The fake channel's returns mapping (``tests.fakes``): one return record -> ``ReturnRecord``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from simpul.canonical import MappingError, Return, ReturnReason, ReturnRecord, ReturnStatus, ReturnType
from simpul.jsoncodec import content_hash

MAPPING_VERSION = "fake-returns-1"
REASONS = {"rusak": ReturnReason.DAMAGED, "salah": ReturnReason.WRONG_ITEM, "ditolak": ReturnReason.FAILED_DELIVERY}
STATUSES = {"requested": ReturnStatus.REQUESTED, "approved": ReturnStatus.APPROVED, "refunded": ReturnStatus.REFUNDED}


def external_id(raw: Mapping[str, Any]) -> str | None:
    return raw.get("id")


def scrub(raw: Mapping[str, Any]) -> dict[str, Any]:
    return dict(raw)


def map_return(raw: Mapping[str, Any]) -> ReturnRecord:
    if "id" not in raw or "order" not in raw:
        raise MappingError("id: missing")
    try:
        refund = Decimal(raw["refund"])
    except Exception:
        raise MappingError("refund: not an amount") from None
    updated = datetime.fromtimestamp(raw["updated"], timezone.utc)
    ret = Return(
        external_id=raw["id"],
        type=ReturnType.RETURN_TO_SENDER if raw["reason"] == "ditolak" else ReturnType.BUYER_RETURN,
        status=STATUSES.get(raw["status"], ReturnStatus.UNKNOWN),
        raw_status=raw["status"],
        reason=raw["reason"],
        refund_amount=refund,
        return_shipping_cost=None,
        items=({"sku": "SKU", "quantity": 1},),
        created_at=updated,
        reason_code=REASONS.get(raw["reason"], ReturnReason.UNKNOWN),
        updated_at=updated,
        currency="IDR",
        respond_by=datetime.fromtimestamp(raw["due"], timezone.utc) if raw.get("due") else None,
    )
    return ReturnRecord(order_external_id=raw["order"], ret=ret, mapping_version=MAPPING_VERSION, payload_hash=content_hash(raw), raw=dict(raw))
