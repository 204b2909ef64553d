"""Shopee Open Platform v2 returns -> canonical ``ReturnRecord`` (pure, no I/O).

Input: one return as ``v2.returns.get_return_detail`` answers it (what
``ShopeeConnector.return_pages`` yields), or, for a listed return whose detail Shopee no
longer finds, the ``v2.returns.get_return_list`` element, which carries the same fields
(the negotiation, proof and compensation statuses flat, no reverse logistics status, no
per-item refund).

Sources (the keys of ``connectors/shopee/client.py``):

- [S6] "Return Refund Management" (marketplaces.md §1.7): ``ReturnStatus`` (REQUESTED,
  ACCEPTED, CANCELLED, JUDGING, CLOSED, PROCESSING, SELLER_DISPUTE), "ReturnReason and
  Reassessed Request Reason" (``REASONS``), ``ReturnSolution`` (RETURN_REFUND, REFUND),
  ``NegotiationStatus``, the request types (0 normal, 1 in-transit, 2 return-on-the-spot:
  "RR is raised by the driver after buyer rejected parcel at delivery") and the reverse
  logistics statuses (``LOGISTICS_PICKUP_DONE`` "the parcel has been picked up",
  ``LOGISTICS_DELIVERY_DONE`` "Parcel has been successfully delivered to seller";
  "Preparing / Delivered / Delivery Failed / Lost" for in-transit RR and return-on-the-spot).
- [R1]/[R2] the ``get_return_list`` / ``get_return_detail`` reference pages: ``return_sn``,
  ``order_sn``, ``status``, ``reason`` (the buyer's) and ``reassessed_request_reason``
  ("NONE" if no reassessment), ``text_reason``, ``refund_amount`` (float) and ``currency``,
  ``create_time``/``update_time`` ("The time of modify return."), ``due_date`` ("The last
  time seller deal with this return."), ``return_seller_due_date`` ("The due date for
  seller to deal with this return when buyer have shipped order."), ``tracking_number``
  (the reverse logistics' number), ``needs_logistics`` ("Items to be sent back to seller"),
  ``return_solution`` (0 Return and Refund, 1 Refund Only), ``return_refund_request_type``,
  ``item[]`` (``item_id``, ``model_id``, ``name``, ``amount`` "Amount of this item",
  ``item_price``, ``item_sku``, ``variation_sku``, and in the detail ``refund_amount``
  "only for shops whitelisted for Partial Qty RR"), ``user`` (username, email, portrait)
  and ``return_pickup_address`` (the buyer's address).

Decisions where the sources are silent:

- Type: a return-on-the-spot (request type 2) is ``return_to_sender`` (the parcel was
  refused at the door and goes back); otherwise ``return_solution`` 0 is a
  ``buyer_return`` and 1 a ``refund``. Without ``return_solution``, ``needs_logistics``
  decides (goods travel back: a buyer return); with neither, the type is ``unknown``.
- Status (``STATUSES``): PROCESSING is an ``approved`` return whose parcel may be on its
  way: the reverse logistics status makes it ``in_transit`` (picked up) or ``received``
  (delivered to the seller); ACCEPTED is ``refunded`` (the seller or Shopee agreed to the
  refund, and Shopee pays the buyer itself, as for a cancelled paid order); SELLER_DISPUTE
  and JUDGING are ``rejected`` (the seller refused it and Shopee judges: a decision for
  the buyer arrives as ACCEPTED, one for the seller as CLOSED); CLOSED is ``closed``.
- Reason: the platform's reassessed reason when there is one (not ``NONE``), else the
  buyer's; ``ret.reason`` keeps that raw code, ``text_reason`` stays in the payload.
- ``respond_by``: ``return_seller_due_date`` once set (the buyer shipped the parcel), else
  ``due_date``; none once the return is final (ACCEPTED, CANCELLED, CLOSED): nothing is
  left for the seller to answer. ``0`` means unset, as everywhere in Shopee's API.
- Items: ``sku`` is ``variation_sku`` (else ``item_sku``); ``line_id`` is
  ``item_id-model_id``, the order mapping's line id when ``order_item_id`` equals
  ``item_id`` (as in Shopee's documented ``get_order_detail`` example); ``refund`` only
  when the item's own ``refund_amount`` is given (Shopee's "refer to item_price" does not
  say whether that price is per unit).
- Money must be a JSON integer or a decimal (the HTTP kit parses numbers as Decimal); a
  binary float or text is refused into quarantine, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from mappings._common import mask_name, mask_phone, money_or_none, ref, text_or_none, utc_from_epoch
from simpul.canonical import MappingError, Return, ReturnReason, ReturnRecord, ReturnStatus, ReturnType
from simpul.jsoncodec import content_hash

MAPPING_VERSION = "shopee-returns-1"

R = ReturnReason
# [S6] "ReturnReason and Reassessed Request Reason", every value as the guide lists it.
DOCUMENTED_REASONS: dict[str, ReturnReason] = {
    "NONE": R.UNKNOWN,  # no reason given ("If no reassessment has been made, the value will be NONE")
    "NOT_RECEIPT": R.FAILED_DELIVERY,  # the buyer did not receive the parcel
    "WRONG_ITEM": R.WRONG_ITEM,
    "ITEM_DAMAGED": R.DAMAGED,
    "DIFFERENT_DESCRIPTION": R.NOT_AS_DESCRIBED,
    "MUTUAL_AGREE": R.OTHER,  # buyer and seller agreed on it: no fault named
    "OTHER": R.OTHER,
    "ITEM_WRONGDAMAGED": R.DAMAGED,  # "only for Vietnam": wrong or damaged in one code; damaged is the larger claim
    "CHANGE_MIND": R.CHANGED_MIND,
    "ITEM_MISSING": R.WRONG_ITEM,  # the taxonomy's "parts missing"
    "EXPECTATION_FAILED": R.NOT_AS_DESCRIBED,  # not what the listing led the buyer to expect
    "ITEM_FAKE": R.NOT_AS_DESCRIBED,  # the taxonomy's "fake"
    "PHYSICAL_DMG": R.DAMAGED,
    "FUNCTIONAL_DMG": R.DAMAGED,  # "not working"
}
# What the order payload knows of an order-derived return (mappings/shopee.py): a COD parcel
# that came back after the package status LOGISTICS_DELIVERY_FAILED ([S5]) failed delivery.
ORDER_REASONS: dict[str, ReturnReason] = {"LOGISTICS_DELIVERY_FAILED": R.FAILED_DELIVERY}
REASONS: dict[str, ReturnReason] = {**DOCUMENTED_REASONS, **ORDER_REASONS}

S = ReturnStatus
STATUSES: dict[str, ReturnStatus] = {  # [S6] ReturnStatus; see the module docstring
    "REQUESTED": S.REQUESTED,
    "PROCESSING": S.APPROVED,
    "ACCEPTED": S.REFUNDED,
    "CANCELLED": S.CANCELLED,
    "JUDGING": S.REJECTED,
    "SELLER_DISPUTE": S.REJECTED,
    "CLOSED": S.CLOSED,
}
FINAL = frozenset({"ACCEPTED", "CANCELLED", "CLOSED"})
# [S6] reverse logistics statuses that say where a PROCESSING return's parcel is.
RETURN_PARCEL: dict[str, ReturnStatus] = {
    "LOGISTICS_PICKUP_DONE": S.IN_TRANSIT,
    "LOGISTICS_DELIVERY_DONE": S.RECEIVED,
    "Delivered": S.RECEIVED,  # in-transit RR and return-on-the-spot spell theirs this way
}
# The detail's reverse logistics status, newest name first: the reference spells it
# ``reverse_logistics_status`` and ``reverse_logistic_status``; ``logistics_status`` is the
# legacy field (normal RR only).
PARCEL_FIELDS = ("reverse_logistics_status", "reverse_logistic_status", "logistics_status")
SOLUTIONS: dict[int, ReturnType] = {0: ReturnType.BUYER_RETURN, 1: ReturnType.REFUND}  # [R2] return_solution
RETURN_ON_THE_SPOT = 2  # [S6] return_refund_request_type

# Buyer identity scrub() masks or removes (the order mapping's rule: first and last letter of a
# name, last two digits of a phone, no street, no contact).
DROPPED_FIELDS = ("virtual_contact_number", "package_query_number")
DROPPED_USER_FIELDS = ("email", "portrait")
DROPPED_ADDRESS_FIELDS = ("address", "town", "district")


def external_id(raw: Mapping[str, Any]) -> str | None:
    value = raw.get("return_sn") if isinstance(raw, Mapping) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def reason_code(*raw_reasons: Any) -> ReturnReason:
    """The taxonomy's reason for the first raw reason the table names (``UNKNOWN`` if none)."""
    for raw in raw_reasons:
        if isinstance(raw, str) and raw in REASONS:
            return REASONS[raw]
    return ReturnReason.UNKNOWN


def map_return(raw: Mapping[str, Any]) -> ReturnRecord:
    if not isinstance(raw, Mapping):
        raise MappingError("payload: expected a JSON object")
    return_sn = external_id(raw)
    if return_sn is None:
        raise MappingError("return_sn: missing")
    order_sn = _text(raw.get("order_sn"))
    if order_sn is None:
        raise MappingError("order_sn: missing")
    status = raw.get("status")
    if not isinstance(status, str) or not status:
        raise MappingError("status: missing")
    updated_at = _epoch(raw, "update_time", required=True)
    refund = money_or_none(raw.get("refund_amount"), field="refund_amount")
    currency = raw.get("currency")
    if isinstance(currency, str) and len(currency) == 3 and currency.isalpha():
        currency = currency.upper()
    elif refund is not None:
        raise MappingError("currency: missing or not an ISO 4217 code")
    else:
        currency = None
    reason = _reason(raw)
    ret = Return(
        external_id=return_sn,
        type=_type(raw),
        status=_status(raw, status),
        raw_status=status,
        reason=reason,
        refund_amount=refund,
        return_shipping_cost=None,  # not in the returns API
        items=_items(raw.get("item")),
        created_at=_epoch(raw, "create_time"),
        reason_code=reason_code(reason),
        updated_at=updated_at,
        currency=currency,
        tracking_number=_text(raw.get("tracking_number")),
        shipping_paid_by=None,  # the returns API does not say who pays the return leg
        respond_by=None if status in FINAL else (_epoch(raw, "return_seller_due_date") or _epoch(raw, "due_date")),
    )
    return ReturnRecord(order_external_id=order_sn, ret=ret, mapping_version=MAPPING_VERSION, payload_hash=content_hash(raw), raw=scrub(raw))


def scrub(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A copy fit to store: the buyer's username masked, e-mail, portrait, street and
    contact numbers removed, the pickup address's name and phone masked. Idempotent, and
    mapping the scrubbed copy (quarantine replay) gives the same return."""
    out = dict(raw)
    for name in DROPPED_FIELDS:
        out.pop(name, None)
    user = out.get("user")
    if isinstance(user, Mapping):
        user = out["user"] = {k: v for k, v in user.items() if k not in DROPPED_USER_FIELDS}
        if "username" in user:
            user["username"] = mask_name(text_or_none(user.get("username"))) or ""
    address = out.get("return_pickup_address")
    if isinstance(address, Mapping):
        address = out["return_pickup_address"] = {k: v for k, v in address.items() if k not in DROPPED_ADDRESS_FIELDS}
        address["name"] = mask_name(text_or_none(address.get("name"))) or ""
        address["phone"] = mask_phone(text_or_none(address.get("phone"))) or ""
    return out


# -- pieces -----------------------------------------------------------------------------------
def _epoch(raw: Mapping[str, Any], field: str, *, required: bool = False) -> datetime | None:
    value = raw.get(field)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise MappingError(f"{field}: expected epoch seconds")
    moment = utc_from_epoch(value, field=field)
    if moment is None and required:
        raise MappingError(f"{field}: missing")
    return moment


def _reason(raw: Mapping[str, Any]) -> str | None:
    reassessed = _text(raw.get("reassessed_request_reason"))
    return reassessed if reassessed and reassessed != "NONE" else _text(raw.get("reason"))


def _type(raw: Mapping[str, Any]) -> ReturnType:
    if _int(raw.get("return_refund_request_type")) == RETURN_ON_THE_SPOT:
        return ReturnType.RETURN_TO_SENDER
    solution = raw.get("return_solution")
    if solution is not None:
        return SOLUTIONS.get(_int(solution), ReturnType.UNKNOWN)  # type: ignore[arg-type]
    needs_logistics = raw.get("needs_logistics")
    if isinstance(needs_logistics, bool):
        return ReturnType.BUYER_RETURN if needs_logistics else ReturnType.REFUND
    return ReturnType.UNKNOWN


def _status(raw: Mapping[str, Any], status: str) -> ReturnStatus:
    mapped = STATUSES.get(status, ReturnStatus.UNKNOWN)
    if status == "PROCESSING":
        parcel = next((raw[f] for f in PARCEL_FIELDS if isinstance(raw.get(f), str) and raw[f]), "")
        return RETURN_PARCEL.get(parcel, mapped)
    return mapped


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _items(items: Any) -> tuple[dict[str, Any], ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise MappingError("item: expected a list")
    out = []
    for i, item in enumerate(items):
        where = f"item[{i}]"
        if not isinstance(item, Mapping):
            raise MappingError(f"{where}: expected an object")
        quantity = item.get("amount")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise MappingError(f"{where}.amount: expected a positive whole number")
        item_id, model_id = ref(item.get("item_id")), ref(item.get("model_id"))
        refund: Decimal | None = money_or_none(item.get("refund_amount"), field=f"{where}.refund_amount")
        entry = {
            "sku": _text(item.get("variation_sku")) or _text(item.get("item_sku")),
            "line_id": f"{item_id}-{model_id or 0}" if item_id else None,
            "name": _text(item.get("name")),
            "quantity": quantity,
            "refund": str(refund) if refund is not None else None,
        }
        out.append({k: v for k, v in entry.items() if v is not None})
    return tuple(out)


def _text(value: Any) -> str | None:
    return text_or_none(value) if isinstance(value, str) else None

