"""Shopee Open Platform v2 order detail -> canonical ``OrderBundle`` (pure, no I/O).

Input: one ``get_order_detail`` object with the optional fields in
``connectors.shopee.api.DETAIL_FIELDS``, and ``tracking_number`` merged into arranged
packages by the connector (shared/reference/marketplaces.md §1.3-§1.10).

Sources: [S5] V2.0 Data Definition (``OrderStatus``, ``LogisticsStatus``), [S9] the
official ``get_order_detail`` example (§1.10: amounts as JSON numbers in major units,
times as epoch seconds with ``0`` for unset, masked ``recipient_address``), [S3]/[S9]
(``cod``, ``payment_method`` "Cash on Delivery", ``cancel_by``/``cancel_reason``).

Decisions where the sources are silent:

- External id is ``order_sn``. Shopee masks buyer name and phone, so the order number is
  the only key anything can be matched on; ``buyer_is_masked`` records that.
- Status axes: ``READY_TO_SHIP`` means the seller *may* arrange shipment, so fulfillment
  is still ``unfulfilled``; ``PROCESSED``/``RETRY_SHIP`` are arranged and waiting for
  pickup (``ready_to_ship``); ``TO_CONFIRM_RECEIVE`` is delivered. ``PENDING`` and
  ``INVOICE_PENDING`` are paid orders held back. A COD order is ``cod_pending`` until
  ``pay_time`` is set (the courier collected the cash) or it completes; a cancelled order that had been paid (not COD) is ``refunded``, because
  Shopee returns the buyer's money itself.
- A COD parcel refused at the door (``CANCELLED`` with package status
  ``LOGISTICS_DELIVERY_FAILED``) is fulfillment ``returned`` with a ``return_to_sender``
  return, reason ``failed_delivery`` (``mappings.shopee_returns.REASONS``, the returns
  stream's table); ``TO_RETURN`` is a ``buyer_return`` in status ``requested`` whose reason
  the order does not carry. The returns stream (``mappings.shopee_returns``) reads the
  return itself, and its row supersedes the order's summary of the same type.
- Lines: ``unit_price`` is ``model_original_price``, ``total`` is
  ``model_discounted_price * quantity`` and the discount the difference. The line id is
  ``order_item_id-model_id`` (one item can be bought in several models).
- ``shipping_fee`` is ``estimated_shipping_fee`` (the docs give no buyer-paid fee field);
  ``shipping_fee_actual`` is ``actual_shipping_fee`` once ``actual_shipping_fee_confirmed``.
- Money must be a JSON integer or a decimal (the HTTP kit parses numbers as Decimal);
  text or a binary float is refused into quarantine rather than guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from mappings import shopee_returns
from mappings._common import ZERO, amount_or_zero, is_masked, list_field, mask_name, mask_phone, money, money_or_none, ref, text_or_none, utc_from_epoch
from simpul.canonical import (
    BuyerContact,
    FulfillmentStatus,
    MappingError,
    Order,
    OrderBundle,
    OrderLine,
    OrderStatus,
    PaymentStatus,
    Return,
    ReturnStatus,
    ReturnType,
    Shipment,
    TrackingStatus,
)
from simpul.jsoncodec import content_hash

MAPPING_VERSION = "shopee-2"  # 2: order-derived returns carry a reason_code
COD_METHOD = "Cash on Delivery"

O, P, F = OrderStatus, PaymentStatus, FulfillmentStatus
STATUS_TABLE: dict[str, tuple[OrderStatus, PaymentStatus, FulfillmentStatus]] = {
    "UNPAID": (O.PENDING, P.UNPAID, F.UNFULFILLED),
    "PENDING": (O.OPEN, P.PAID, F.UNFULFILLED),  # paid, shipment held (system/KYC pending)
    "INVOICE_PENDING": (O.OPEN, P.PAID, F.UNFULFILLED),
    "READY_TO_SHIP": (O.OPEN, P.PAID, F.UNFULFILLED),  # the seller can arrange shipment
    "PROCESSED": (O.OPEN, P.PAID, F.READY_TO_SHIP),  # arranged, waiting for the courier
    "RETRY_SHIP": (O.OPEN, P.PAID, F.READY_TO_SHIP),  # pickup failed, to be re-arranged
    "SHIPPED": (O.OPEN, P.PAID, F.SHIPPED),
    "TO_CONFIRM_RECEIVE": (O.OPEN, P.PAID, F.DELIVERED),
    "IN_CANCEL": (O.OPEN, P.PAID, F.UNFULFILLED),  # a cancellation request is open
    "CANCELLED": (O.CANCELLED, P.VOIDED, F.CANCELLED),
    "TO_RETURN": (O.OPEN, P.PAID, F.RETURNED),
    "COMPLETED": (O.COMPLETED, P.PAID, F.DELIVERED),
}
UNKNOWN_STATUS = (O.UNKNOWN, P.UNKNOWN, F.UNKNOWN)

T = TrackingStatus
TRACKING_TABLE: dict[str, TrackingStatus] = {
    "LOGISTICS_NOT_START": T.PENDING,
    "LOGISTICS_PENDING_ARRANGE": T.PENDING,
    "LOGISTICS_READY": T.PENDING,
    "LOGISTICS_REQUEST_CREATED": T.INFO_RECEIVED,
    "LOGISTICS_PICKUP_DONE": T.IN_TRANSIT,
    "LOGISTICS_PICKUP_RETRY": T.EXCEPTION,
    "LOGISTICS_PICKUP_FAILED": T.EXCEPTION,
    "LOGISTICS_DELIVERY_DONE": T.DELIVERED,
    "LOGISTICS_DELIVERY_FAILED": T.EXCEPTION,
    "LOGISTICS_LOST": T.EXCEPTION,
    "LOGISTICS_INVALID": T.EXPIRED,  # cancelled before a shipment was arranged
    "LOGISTICS_REQUEST_CANCELED": T.EXPIRED,
    "LOGISTICS_COD_REJECTED": T.EXCEPTION,
}
DELIVERY_FAILED = "LOGISTICS_DELIVERY_FAILED"

# Fields scrub() removes or masks: buyer identity beyond the channel's own masking.
DROPPED_FIELDS = ("buyer_username", "buyer_cpf_id", "invoice_data")
DROPPED_ADDRESS_FIELDS = ("full_address", "town", "district")
MASKED_HERE = "simpul_masked"  # set by scrub() when Shopee sent the buyer unmasked


def external_id(raw: Mapping[str, Any]) -> str | None:
    value = raw.get("order_sn") if isinstance(raw, Mapping) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def map_order(raw: Mapping[str, Any]) -> OrderBundle:
    if not isinstance(raw, Mapping):
        raise MappingError("payload: expected a JSON object")
    order_sn = external_id(raw)
    if order_sn is None:
        raise MappingError("order_sn: missing")
    status = raw.get("order_status")
    if not isinstance(status, str) or not status:
        raise MappingError("order_status: missing")
    created_at, updated_at = _required_time(raw, "create_time"), _required_time(raw, "update_time")
    currency = raw.get("currency")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
        raise MappingError("currency: missing or not an ISO 4217 code")
    if "total_amount" not in raw or "item_list" not in raw:
        raise MappingError("total_amount/item_list: missing (request them in response_optional_fields)")
    total = money(raw.get("total_amount"), field="total_amount")
    lines = _lines(raw.get("item_list"))
    packages = [p for p in list_field(raw, "package_list") if isinstance(p, Mapping)]
    paid_at = utc_from_epoch(raw.get("pay_time"), field="pay_time")
    payment_method = text_or_none(raw.get("payment_method"))
    is_cod = raw.get("cod") is True or payment_method == COD_METHOD
    refused = status == "CANCELLED" and any(p.get("logistics_status") == DELIVERY_FAILED for p in packages)

    order_status, payment, fulfillment = STATUS_TABLE.get(status, UNKNOWN_STATUS)
    if is_cod and payment is P.PAID and paid_at is None and status != "COMPLETED":
        payment = P.COD_PENDING
    if status == "CANCELLED" and paid_at is not None and not is_cod:
        payment = P.REFUNDED
    if refused:
        fulfillment = F.RETURNED

    address = raw.get("recipient_address") if isinstance(raw.get("recipient_address"), Mapping) else {}
    name, phone = text_or_none(address.get("name")), text_or_none(address.get("phone"))
    subtotal = sum((line.unit_price * line.quantity for line in lines), ZERO)
    order = Order(
        external_id=order_sn,
        status=order_status,
        payment_status=payment,
        fulfillment_status=fulfillment,
        raw_status=status,
        created_at=created_at,
        updated_at=updated_at,
        paid_at=paid_at,
        ship_by=utc_from_epoch(raw.get("ship_by_date"), field="ship_by_date"),
        currency=currency.upper(),
        subtotal=subtotal,
        discount_total=sum((line.discount for line in lines), ZERO),
        shipping_fee=amount_or_zero(raw, "estimated_shipping_fee"),
        shipping_fee_actual=money_or_none(raw.get("actual_shipping_fee"), field="actual_shipping_fee") if raw.get("actual_shipping_fee_confirmed") is True else None,
        tax_total=ZERO,
        total=total,
        payment_method=payment_method,
        is_cod=is_cod,
        cod_amount=total if is_cod else None,
        buyer_ref=ref(raw.get("buyer_user_id")),
        buyer_name_masked=mask_name(name),
        buyer_phone_masked=mask_phone(phone),
        buyer_is_masked=(is_masked(name) or is_masked(phone)) and not address.get(MASKED_HERE),
        ship_city=text_or_none(address.get("city")),
        ship_region=text_or_none(address.get("state")),
        ship_postcode=text_or_none(address.get("zipcode")),
        ship_country=text_or_none(address.get("region")),
        note=text_or_none(raw.get("message_to_seller")),
        source_zone=None,
    )
    delivered_cod = total if is_cod and status in ("TO_CONFIRM_RECEIVE", "COMPLETED") else None
    shipments = tuple(_shipment(p, i, order_sn, raw, delivered_cod) for i, p in enumerate(packages))
    return OrderBundle(
        order=order,
        lines=lines,
        shipments=shipments,
        returns=_returns(raw, order_sn, status, refused, updated_at),
        mapping_version=MAPPING_VERSION,
        payload_hash=content_hash(raw),
        raw=scrub(raw),
        buyer=BuyerContact(name=name, phone=phone, street=text_or_none(address.get("full_address"))),
    )


def scrub(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A copy fit to store: buyer name and phone masked, username and street removed.

    Shopee already masks by default; shops with unmasked access (IP whitelist) send clear
    values, which must not reach the database either. Mapping the scrubbed copy again
    (quarantine replay) gives the same canonical order.
    """
    # A shallow copy plus a copy of the one nested object changed in place (a deep copy of
    # the whole payload cost a third of a sync: bench/README.md).
    out = dict(raw)
    for name in DROPPED_FIELDS:
        out.pop(name, None)
    address = out.get("recipient_address")
    if isinstance(address, dict):
        address = out["recipient_address"] = dict(address)
        if any(address.get(k) and not is_masked(address.get(k)) for k in ("name", "phone")):
            address[MASKED_HERE] = True  # replay must still know Shopee did not mask it
        address["name"] = mask_name(text_or_none(address.get("name"))) or ""
        address["phone"] = mask_phone(text_or_none(address.get("phone"))) or ""
        for name in DROPPED_ADDRESS_FIELDS:
            address.pop(name, None)
    for name in ("dropshipper", "dropshipper_phone"):
        if out.get(name):
            out[name] = (mask_phone if name.endswith("phone") else mask_name)(str(out[name]))
    return out


# -- pieces -----------------------------------------------------------------------------------
def _required_time(raw: Mapping[str, Any], field: str) -> datetime:
    value = raw.get(field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MappingError(f"{field}: expected epoch seconds")
    moment = utc_from_epoch(value, field=field)
    if moment is None:
        raise MappingError(f"{field}: missing")
    return moment




def _lines(items: Any) -> tuple[OrderLine, ...]:
    if not isinstance(items, list):
        raise MappingError("item_list: expected a list")
    out, seen = [], set()
    for i, item in enumerate(items):
        where = f"item_list[{i}]"
        if not isinstance(item, Mapping):
            raise MappingError(f"{where}: expected an object")
        quantity = item.get("model_quantity_purchased")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise MappingError(f"{where}.model_quantity_purchased: expected a positive whole number")
        original = money(item.get("model_original_price"), field=f"{where}.model_original_price")
        discounted = money(item.get("model_discounted_price"), field=f"{where}.model_discounted_price")
        item_id = ref(item.get("item_id"))
        if item_id is None:
            raise MappingError(f"{where}.item_id: missing")
        model_id = ref(item.get("model_id"))
        line_id = f"{ref(item.get('order_item_id')) or item_id}-{model_id or 0}"
        if line_id in seen:  # the same model twice (e.g. an add-on deal): keep both lines
            line_id = f"{line_id}-{i}"
        seen.add(line_id)
        out.append(
            OrderLine(
                external_line_id=line_id,
                item_id=item_id,
                variant_id=model_id,
                sku=text_or_none(item.get("model_sku")) or text_or_none(item.get("item_sku")),
                name=" - ".join(filter(None, (text_or_none(item.get("item_name")), text_or_none(item.get("model_name"))))),
                quantity=quantity,
                unit_price=original,
                discount=(original - discounted) * quantity,
                total=discounted * quantity,
            )
        )
    return tuple(out)






def _shipment(package: Mapping[str, Any], i: int, order_sn: str, raw: Mapping[str, Any], cod_collected: Decimal | None) -> Shipment:
    logistics = text_or_none(package.get("logistics_status"))
    return Shipment(
        package_ref=text_or_none(package.get("package_number")) or f"{order_sn}-{i}",
        courier=text_or_none(package.get("shipping_carrier")) or text_or_none(raw.get("shipping_carrier")),
        service=None,
        tracking_number=text_or_none(package.get("tracking_number")),
        tracking_status=TRACKING_TABLE.get(logistics or "", T.UNKNOWN),
        tracking_sub_status=None,
        raw_status=logistics,
        last_event_at=utc_from_epoch(raw.get("pickup_done_time"), field="pickup_done_time") if logistics == "LOGISTICS_PICKUP_DONE" else None,
        cod_collected=cod_collected,
    )


def _returns(raw: Mapping[str, Any], order_sn: str, status: str, refused: bool, updated_at: datetime) -> tuple[Return, ...]:
    """A refused COD parcel coming back, or a buyer's return request (details: returns stream).
    The reason code comes from the returns stream's table, keyed by what the order knows:
    the package status of a refused parcel (the cancel reason is free text, kept raw)."""
    if refused:
        suffix, kind, state, raw_status, reason = "rts", ReturnType.RETURN_TO_SENDER, ReturnStatus.IN_TRANSIT, DELIVERY_FAILED, text_or_none(raw.get("cancel_reason"))
        code = shopee_returns.reason_code(DELIVERY_FAILED)
    elif status == "TO_RETURN":
        suffix, kind, state, raw_status, reason = "return", ReturnType.BUYER_RETURN, ReturnStatus.REQUESTED, status, None
        code = shopee_returns.reason_code()  # the order payload names no reason
    else:
        return ()
    return (
        Return(
            external_id=f"{order_sn}-{suffix}",
            type=kind,
            status=state,
            raw_status=raw_status,
            reason=reason,
            refund_amount=None,
            return_shipping_cost=None,
            items=(),
            created_at=updated_at,
            reason_code=code,
        ),
    )
