"""Blibli returned order item (an RMA) -> canonical ``ReturnRecord`` (pure, no I/O).

Input: one row of Returned Order List V1 (``getReturnedOrderSummary``'s ``content``) as
``BlibliConnector.return_pages`` yields it.

Sources (the keys are the connector's, ``connectors/blibli/client.py``):

- [B7] Blibli's API reference "Returned Order List V1" and "Returned Order Detail V1"
  (seller-api.blibli.com, transcribed in ``mixos-go/bli-bli`` ``references/api/Order
  Return/``): the list gives "returned Order Item list with its return workflow state"; the
  detail is asked by ``rmaId`` ("returnId from Returned Order List API"), ``orderNo`` and
  ``orderItemNo``. Neither page shows a response body.
- [B8] a third-party VB.NET client reading real replies (index file): rows with
  ``returnId``, ``returnNo``, ``orderNo``, ``orderItemNo``, ``customerName``,
  ``orderQuantity``, ``productSalePrice``, ``createdDate`` (epoch ms); the filter
  ``status=RMA_PROCESS_FINISHED``. [B9] a third-party Java enum of the RMA states with
  Indonesian labels: ``RMA_REQUEST_APPROVAL`` (waiting for approval), ``RMA_REQUEST_APPROVED``,
  ``RMA_REQUEST_CANCELLED`` ("permohonan retur ditolak": refused), ``RMA_PROCESS_STARTED``,
  ``RMA_PROCESS_FINISHED``, ``RMA_PROCESS_CANCELLED`` ("proses retur ditolak"),
  ``RMA_FORCE_CLOSED``. [B10] the Order Cancellation Reason V1 page names the seller's
  cancellation reasons "Out of stock", "Wrong price", "Wrong shipping type", "Wrong
  weight/shipping".

**Assumed** (no source shows them; the sandbox sends them, and each is read leniently):
the row's workflow state is ``status`` (the filter's name) with [B9]'s values;
``updatedDate`` (epoch ms of the last change); ``returnReason`` (the buyer's reason, as
text); ``rmaResolution`` (kept raw only); ``merchantSku``, ``gdnSku``, ``productName``;
``awbNumber`` (the return parcel's airway bill).

Decisions (where the sources are silent, each a choice):

- One row is one RMA (``external_id`` = ``returnId``): the third-party client keys its rows
  by ``returnId`` alone. The Return is a ``buyer_return`` (the list is of *returned* order
  items); its item ``{"line_id": orderItemNo, "sku": merchantSku, "name": productName,
  "quantity": orderQuantity, "refund": productSalePrice x orderQuantity}``.
- Money is IDR whole rupiah (Blibli Indonesia; as in ``mappings.blibli``);
  ``refund_amount`` is the returned items' sale value, ``productSalePrice x
  orderQuantity`` (what Blibli refunds for a returned item is not documented: assumed), and
  0 once the RMA is refused (the item keeps its value), as ``mappings.lazada_returns`` does.
- ``updated_at`` is ``updatedDate``; without one, ``createdDate`` stands in (the content
  hash then tells the versions apart); neither is refused (``MappingError``).
- Status by ``STATUSES`` ([B9]); an unlisted state is ``unknown`` with the raw kept.
  ``RMA_PROCESS_FINISHED`` is ``closed``: finished says nothing of a refund.
- Reasons by ``REASONS``: [B10]'s cancellation reasons (``other``) and a few return-form
  wordings that are **assumed** (Blibli's buyer return reasons are not in our sources; a
  different real wording lands as ``unknown``, never as a wrong reason).
- No deadline (``respond_by``) and no payer of the return leg in the row: both None.
- ``scrub`` masks ``customerName`` (and drops any phone, e-mail or street field).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from mappings._common import mask_name, money, text_or_none
from simpul.canonical import MappingError, Return, ReturnReason, ReturnRecord, ReturnStatus, ReturnType
from simpul.jsoncodec import content_hash

MAPPING_VERSION = "blibli-returns-1"
CURRENCY = "IDR"
DROPPED = ("customerPhone", "customerEmail", "custPhone", "custEmail", "shippingStreetAddress", "customerAddress")

S = ReturnStatus
STATUSES: dict[str, ReturnStatus] = {  # [B9]
    "RMA_REQUEST_APPROVAL": S.REQUESTED,  # "Menunggu persetujuan permohonan retur"
    "RMA_REQUEST_APPROVED": S.APPROVED,  # "Permohonan retur disetujui"
    "RMA_REQUEST_CANCELLED": S.REJECTED,  # "Permohonan retur ditolak" (the request refused)
    "RMA_PROCESS_STARTED": S.IN_TRANSIT,  # "Sedang dalam proses retur": the goods are on their way back
    "RMA_PROCESS_FINISHED": S.CLOSED,  # "Proses retur selesai"
    "RMA_PROCESS_CANCELLED": S.REJECTED,  # "Proses retur ditolak"
    "RMA_FORCE_CLOSED": S.CLOSED,  # "Pengajuan retur ditutup"
}

R = ReturnReason
REASONS: dict[str, ReturnReason] = {
    # [B10] the seller's cancellation reasons (documented)
    "out of stock": R.OTHER,
    "wrong price": R.OTHER,
    "wrong shipping type": R.OTHER,
    "wrong weight/shipping": R.OTHER,
    # ASSUMED return-form wordings (Indonesian, as Blibli's buyer pages are): not in our sources
    "produk rusak": R.DAMAGED,
    "produk cacat": R.DAMAGED,
    "produk tidak berfungsi": R.DAMAGED,
    "produk salah kirim": R.WRONG_ITEM,
    "produk tidak lengkap": R.WRONG_ITEM,
    "produk tidak sesuai deskripsi": R.NOT_AS_DESCRIBED,
    "ukuran tidak sesuai": R.SIZE_FIT,
    "berubah pikiran": R.CHANGED_MIND,
}
DOCUMENTED_REASONS = frozenset({"out of stock", "wrong price", "wrong shipping type", "wrong weight/shipping"})


def reason_key(text: str) -> str:
    """A reason as ``REASONS`` keys it: lower case, one space, no space around ``/``."""
    return re.sub(r"\s*/\s*", "/", re.sub(r"\s+", " ", text.strip().lower()))


def reason_of(text: str | None) -> ReturnReason:
    return REASONS.get(reason_key(text), R.UNKNOWN) if text else R.UNKNOWN


def external_id(raw: Mapping[str, Any]) -> str | None:
    return text_or_none(raw.get("returnId")) if isinstance(raw, Mapping) else None


def map_return(raw: Mapping[str, Any]) -> ReturnRecord:
    if not isinstance(raw, Mapping):
        raise MappingError("payload: expected a JSON object")
    return_id = external_id(raw)
    if return_id is None:
        raise MappingError("returnId: missing")
    order_no = _number_text(raw.get("orderNo"))
    if order_no is None:
        raise MappingError("orderNo: missing")
    status_text = text_or_none(raw.get("status"))
    if status_text is None:
        raise MappingError("status: missing (the RMA's workflow state)")
    created = _ms(raw.get("createdDate"), "createdDate")
    updated = _ms(raw.get("updatedDate"), "updatedDate") or created
    if updated is None:
        raise MappingError("updatedDate: missing, and no createdDate either (the return's update time)")
    quantity = raw.get("orderQuantity")
    if isinstance(quantity, Decimal) and quantity == quantity.to_integral_value():
        quantity = int(quantity)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise MappingError("orderQuantity: expected a whole number, 0 or more")
    price = money(raw.get("productSalePrice"), field="productSalePrice")
    refund = price * quantity
    item = {
        "line_id": _number_text(raw.get("orderItemNo")),
        "sku": text_or_none(raw.get("merchantSku")) or text_or_none(raw.get("gdnSku")),
        "name": text_or_none(raw.get("productName")),
        "quantity": quantity,
        "refund": str(refund),
    }
    reason = text_or_none(raw.get("returnReason"))
    status = STATUSES.get(status_text.upper(), S.UNKNOWN)
    ret = Return(
        external_id=return_id,
        type=ReturnType.BUYER_RETURN,
        status=status,
        raw_status=status_text,
        reason=reason,
        refund_amount=Decimal(0) if status in (S.REJECTED, S.CANCELLED) else refund,
        return_shipping_cost=None,
        items=({k: v for k, v in item.items() if v is not None},),
        created_at=created,
        reason_code=reason_of(reason),
        updated_at=updated,
        currency=CURRENCY,
        tracking_number=text_or_none(raw.get("awbNumber")),
        shipping_paid_by=None,
        respond_by=None,
    )
    return ReturnRecord(order_external_id=order_no, ret=ret, mapping_version=MAPPING_VERSION, payload_hash=content_hash(raw), raw=scrub(raw))


def scrub(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A copy fit to store: ``customerName`` masked, contact and street fields dropped.
    Mapping the copy gives the same Return."""
    out = {k: v for k, v in raw.items() if k not in DROPPED}
    if isinstance(out.get("customerName"), str):
        out["customerName"] = mask_name(out["customerName"]) or ""
    return out


def _number_text(value: Any) -> str | None:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, bool):
        return None
    return text_or_none(value)


def _ms(value: Any, field: str) -> datetime | None:
    if value in (None, "", 0):
        return None
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MappingError(f"{field}: expected epoch milliseconds")
    try:
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise MappingError(f"{field}: not a time") from None
