"""Lazada reverse order -> canonical ``ReturnRecord`` (pure, no I/O).

Input: one reverse order as ``GetReverseOrdersForSeller`` lists it (an element of
``result.items``), its lines under ``reverse_order_lines``; the connector puts the lines of
``GetReverseOrderDetail`` (``reverseOrderLineDTOList``, whose product sits under
``productDTO``) there when the list carries none, and this mapping reads either shape.
``simpul map`` is not wired for returns; ``map_return`` reads exactly what
``LazadaConnector.return_pages`` yields.

Sources (the keys are the connector's, ``connectors/lazada/client.py``):

- [L14] the Return and Refund API reference (open.lazada.com, transcribed): the fields
  ``reverse_order_id``, ``trade_order_id`` (= the order's ``order_id``), ``request_type``
  (``CANCEL``, ``RETURN``, ``ONLY_REFUND``; the list page spells it ``ONLY_ REFUND``),
  ``is_rtm``, ``shipping_type`` and per line ``reverse_order_line_id``,
  ``trade_order_line_id`` (= the order item's ``order_item_id``), ``reverse_status``
  (``REQUEST_INITIATE``, ``REQUEST_REJECT``, ``REQUEST_CANCEL``, ``CANCEL_SUCCESS``),
  ``ofc_status``, ``reason_text``, ``reason_code``, ``refund_amount`` and
  ``item_unit_price`` ("currency in cent, except VN"), ``is_need_refund``,
  ``seller_sku_id``, ``tracking_number`` ("tracking number of return order package"),
  ``return_order_line_gmt_create`` / ``_gmt_modified``, ``sla`` ("seller operation sla in
  milliseconds"), ``receiver_address``; the documented response examples send every value
  as text (``"reverse_order_id": "0"``, ``"sla": "1741672336776"``).
- [L15] the reverse-order push (message type 10): its ``reverse_status`` keys per type,
  ``CANCEL_INIT``/``CANCEL_SUCCESS``/``CANCEL_REFUND_ISSUED``, ``RTM_INIT``/
  ``RTM_CANCELED``/``RTM_SHIPPING_BACK``/``RTM_RECEIVE_ITEM``, ``RTW_INIT``/``RTW_CANCELED``/
  ``RTW_SHIPPING_BACK``/``RTW_REJECT``/``RTW_REFUND_PENDING``, ``REFUND_INIT``/
  ``REFUND_PENDING``/``REFUND_SUCCESS``/``REFUND_REJECTED``; the API's status field is
  read against both vocabularies (``STATUSES``).
- [L16] Lazada's help pages list the buyer's return reasons; [L17] the order-cancellation
  guide lists the seller's cancellation reasons and says "The reason_id may be different for
  each country", so reasons map by their text (``REASONS``), never by ``reason_code``.
- [L18] the reverse-order overview: ``RETURN`` sends goods back, ``ONLY_REFUND`` refunds
  without them; a failed delivery makes no reverse order (it stays an order-derived
  ``return_to_sender``, ``mappings.lazada``).

Decisions (where the sources are silent, each a choice):

- One reverse order is one Return (``external_id`` = ``reverse_order_id``), its lines the
  items: ``{"line_id": trade_order_line_id, "sku": seller_sku_id, "quantity": 1,
  "refund": "<refund_amount>"}`` (Lazada's order items are one unit each, [L5]).
- The status: each line's ``reverse_status`` by ``STATUSES``; a status no table names makes
  the Return ``unknown`` (never a guess). Lines in different statuses: while any line is
  open the Return is its least advanced open line (requested < approved < in transit <
  received); once every line is final, the most consequential final status (refunded,
  closed, rejected, cancelled, in that order). ``raw_status`` is the one status, or the
  distinct statuses sorted and joined by ``,``.
- Money: ``refund_amount`` is in cents except in Vietnam ([L14]); the reverse order names no
  currency, so it is IDR (Simpul's Lazada accounts are Lazada Indonesia sellers: assumed),
  divided by 100. The Return's refund is the sum over its lines that still owe money: a line
  whose ``is_need_refund`` is false, or that was rejected or withdrawn, adds 0 (each line's
  own ``refund_amount`` stays in its item).
- Times are epoch numbers; the documentation does not say seconds or milliseconds and
  third-party clients saw seconds, so a value below 10^12 is read as seconds, above as
  milliseconds. ``updated_at`` is the newest line ``return_order_line_gmt_modified``
  (required), ``created_at`` the oldest ``return_order_line_gmt_create``.
- ``respond_by``: the earliest ``sla`` of an open line when it is an epoch in milliseconds
  (the documented example, 1741672336776, is one); a smaller ``sla`` (a duration from an
  unknown start) is not used.
- ``tracking_number``: the first line's return parcel number; ``shipping_paid_by`` is not
  in the payload (None).
- ``scrub`` drops ``receiver_address`` (the parcel's destination, which is the buyer's
  address when the item goes back to the customer); buyer ids stay (not contact data).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from mappings._common import list_field, money, text_or_none
from simpul.canonical import MappingError, Return, ReturnReason, ReturnRecord, ReturnStatus, ReturnType
from simpul.jsoncodec import content_hash

MAPPING_VERSION = "lazada-returns-1"
CURRENCY = "IDR"  # the reverse order names none (assumed, see the module docstring)
CENTS = Decimal(100)  # [L14] "currency in cent, except VN"
CENT = Decimal("0.01")
LINES = ("reverse_order_lines", "reverseOrderLineDTOList")  # the list's key, the detail's key

TYPES: dict[str, ReturnType] = {
    "RETURN": ReturnType.BUYER_RETURN,  # goods go back [L18]
    "ONLY_REFUND": ReturnType.REFUND,  # money back, goods stay [L18]
    "CANCEL": ReturnType.CANCELLATION,
}

S = ReturnStatus
STATUSES: dict[str, ReturnStatus] = {
    # GetReverseOrderDetail's reverse_status [L14]
    "REQUEST_INITIATE": S.REQUESTED,
    "REQUEST_REJECT": S.REJECTED,
    "REQUEST_CANCEL": S.CANCELLED,
    "CANCEL_SUCCESS": S.CLOSED,  # the cancellation went through; any money is said by CANCEL_REFUND_ISSUED
    # the reverse-order push's keys [L15]
    "CANCEL_INIT": S.REQUESTED,
    "CANCEL_REFUND_ISSUED": S.REFUNDED,
    "RTM_INIT": S.REQUESTED,
    "RTM_CANCELED": S.CANCELLED,
    "RTM_SHIPPING_BACK": S.IN_TRANSIT,
    "RTM_RECEIVE_ITEM": S.RECEIVED,
    "RTW_INIT": S.REQUESTED,
    "RTW_CANCELED": S.CANCELLED,
    "RTW_SHIPPING_BACK": S.IN_TRANSIT,
    "RTW_REJECT": S.REJECTED,  # did not pass the warehouse's inspection
    "RTW_REFUND_PENDING": S.RECEIVED,  # inspected and accepted, "your refund is on the way"
    "REFUND_INIT": S.REQUESTED,
    "REFUND_PENDING": S.APPROVED,
    "REFUND_SUCCESS": S.REFUNDED,
    "REFUND_REJECTED": S.REJECTED,
}
OPEN_ORDER = (S.REQUESTED, S.APPROVED, S.IN_TRANSIT, S.RECEIVED)  # least advanced first
FINAL_ORDER = (S.REFUNDED, S.CLOSED, S.REJECTED, S.CANCELLED)  # most consequential first

R = ReturnReason
REASONS: dict[str, ReturnReason] = {
    # [L16] the buyer's return reasons, as Lazada's help pages word them (normalised: ``reason_key``)
    "damaged": R.DAMAGED,
    "defective": R.DAMAGED,
    "damaged/faulty item": R.DAMAGED,
    "expired item": R.DAMAGED,  # unfit for use, like a defect
    "wrong item": R.WRONG_ITEM,
    "received wrong item": R.WRONG_ITEM,
    "incorrect/wrong item": R.WRONG_ITEM,
    "missing parts": R.WRONG_ITEM,
    "missing items/parts": R.WRONG_ITEM,
    "missing accessories/freebie": R.WRONG_ITEM,
    "missing accessories/freebies": R.WRONG_ITEM,
    "empty package/fraudulent item": R.WRONG_ITEM,  # refund-only: nothing (or filler) in the box
    "not as advertised": R.NOT_AS_DESCRIBED,
    "item doesn't match description/pictures": R.NOT_AS_DESCRIBED,
    "item does not match description/pictures": R.NOT_AS_DESCRIBED,
    "counterfeit item": R.NOT_AS_DESCRIBED,
    "counterfeit items": R.NOT_AS_DESCRIBED,
    "does not fit": R.SIZE_FIT,
    "change of mind": R.CHANGED_MIND,
    "don't want item anymore (change of mind)": R.CHANGED_MIND,
    "package not received": R.FAILED_DELIVERY,  # refund-only: tagged delivered, never received
    # [L17] the seller's cancellation reasons (also the API example's "Out of stock" [L14])
    "sourcing delay": R.OTHER,
    "out of stock": R.OTHER,
    "wrong price or pricing error": R.OTHER,
}


def reason_key(text: str) -> str:
    """A reason as ``REASONS`` keys it: lower case, one space, no space around ``/``,
    straight apostrophes."""
    text = re.sub(r"\s+", " ", text.replace("\u2019", "'").strip().lower())
    return re.sub(r"\s*/\s*", "/", text)


def reason_of(text: str | None) -> ReturnReason:
    """The taxonomy's reason for a raw reason text; ``UNKNOWN`` when none or unlisted."""
    return REASONS.get(reason_key(text), R.UNKNOWN) if text else R.UNKNOWN


def external_id(raw: Mapping[str, Any]) -> str | None:
    return _id(raw.get("reverse_order_id")) if isinstance(raw, Mapping) else None


def map_return(raw: Mapping[str, Any]) -> ReturnRecord:
    if not isinstance(raw, Mapping):
        raise MappingError("payload: expected a JSON object")
    return_id = external_id(raw)
    if return_id is None:
        raise MappingError("reverse_order_id: missing")
    order_id = _id(raw.get("trade_order_id"))
    if order_id is None:
        raise MappingError("trade_order_id: missing")
    key, lines = _lines(raw)
    statuses = []
    for n, line in enumerate(lines):
        status = text_or_none(line.get("reverse_status"))
        if status is None:
            raise MappingError(f"{key}[{n}].reverse_status: missing")
        statuses.append(status.upper())
    status = derive(statuses)
    distinct = sorted(set(statuses))
    modified = [_time(line.get("return_order_line_gmt_modified"), f"{key}[{n}].return_order_line_gmt_modified") for n, line in enumerate(lines)]
    if not any(modified):
        raise MappingError(f"{key}[].return_order_line_gmt_modified: missing (the return's update time)")
    created = [_time(line.get("return_order_line_gmt_create"), f"{key}[{n}].return_order_line_gmt_create") for n, line in enumerate(lines)]
    items, refund = [], None
    for n, line in enumerate(lines):
        amount = _money(line.get("refund_amount"), f"{key}[{n}].refund_amount")
        if amount is not None:  # lines that need no refund (or were refused) make it 0, not unknown
            due = str(line.get("is_need_refund")).lower() != "false" and STATUSES.get(statuses[n]) not in (S.REJECTED, S.CANCELLED)
            refund = (refund or Decimal(0)) + (amount if due else Decimal(0))
        item = {"line_id": _id(line.get("trade_order_line_id")), "sku": text_or_none(line.get("seller_sku_id")), "quantity": 1}
        if amount is not None:
            item["refund"] = str(amount)
        items.append({k: v for k, v in item.items() if v is not None})
    reason = next((r for r in (_reason(line) for line in lines) if r), None)
    request_type = re.sub(r"\s+", "", str(raw.get("request_type") or "")).upper()
    ret = Return(
        external_id=return_id,
        type=TYPES.get(request_type, ReturnType.UNKNOWN),
        status=status,
        raw_status=",".join(distinct),
        reason=reason,
        refund_amount=None if refund is None else refund.quantize(CENT),
        return_shipping_cost=None,
        items=tuple(items),
        created_at=min((t for t in created if t), default=None),
        reason_code=reason_of(reason),
        updated_at=max(t for t in modified if t),
        currency=CURRENCY,
        tracking_number=next((t for t in (text_or_none(line.get("tracking_number")) for line in lines) if t), None),
        shipping_paid_by=None,
        respond_by=_respond_by(lines, key),
    )
    return ReturnRecord(order_external_id=order_id, ret=ret, mapping_version=MAPPING_VERSION, payload_hash=content_hash(raw), raw=scrub(raw))


def derive(statuses: list[str]) -> ReturnStatus:
    """The Return's status from its lines' (the rule in the module docstring)."""
    mapped = [STATUSES.get(s) for s in statuses]
    if not mapped or any(m is None for m in mapped):
        return S.UNKNOWN
    open_ = [m for m in mapped if m in OPEN_ORDER]
    if open_:
        return min(open_, key=OPEN_ORDER.index)  # type: ignore[arg-type]
    return min(mapped, key=FINAL_ORDER.index)  # type: ignore[arg-type]


def scrub(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A copy fit to store: each line without ``receiver_address``. Mapping the copy gives
    the same Return."""
    out = dict(raw)
    for key in LINES:
        lines = out.get(key)
        if isinstance(lines, list):
            out[key] = [{k: v for k, v in line.items() if k != "receiver_address"} if isinstance(line, Mapping) else line for line in lines]
    return out


# -- pieces -----------------------------------------------------------------------------------
def _id(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    text = str(value).strip()
    return text if text and text != "0" else None


def _lines(raw: Mapping[str, Any]) -> tuple[str, list[Mapping[str, Any]]]:
    for key in LINES:
        if raw.get(key) is not None:
            lines = list_field(raw, key)
            if not lines:
                break
            for n, line in enumerate(lines):
                if not isinstance(line, Mapping):
                    raise MappingError(f"{key}[{n}]: expected an object")
            return key, lines
    raise MappingError("reverse_order_lines: missing or empty")


def _number(value: Any, field: str) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MappingError(f"{field}: expected an epoch number")
    return value


def _time(value: Any, field: str) -> datetime | None:
    """Epoch seconds or milliseconds (below 10^12: seconds; see the module docstring)."""
    number = _number(value, field)
    if number is None:
        return None
    try:
        return datetime.fromtimestamp(number / 1000 if number >= 10**12 else number, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise MappingError(f"{field}: not a time") from None


def _money(value: Any, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    return (money(value, field=field) / CENTS).quantize(CENT)


def _reason(line: Mapping[str, Any]) -> str | None:
    text = text_or_none(line.get("reason_text"))
    if text:
        return text
    code = _id(line.get("reason_code"))
    return f"reason_code {code}" if code else None


def _respond_by(lines: list[Mapping[str, Any]], key: str) -> datetime | None:
    deadlines = []
    for n, line in enumerate(lines):
        if STATUSES.get(str(line.get("reverse_status") or "").upper()) not in OPEN_ORDER:
            continue
        sla = _number(line.get("sla"), f"{key}[{n}].sla")
        if sla is not None and sla >= 10**12:
            deadlines.append(datetime.fromtimestamp(sla / 1000, tz=timezone.utc))
    return min(deadlines, default=None)
