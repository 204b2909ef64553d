"""TikTok Shop (and Tokopedia) order -> canonical ``OrderBundle`` (pure, no I/O).

Input: one order object exactly as Get Order Detail returns it in ``data.orders[]``
(Search Orders returns the same objects; ``connectors/tiktok/client.py``).

Sources (shared/reference/marketplaces.md §2): [T8]/[T9] field texts (documented,
secondary): ``status`` values (§2.5), ``payment.*`` amounts as strings and the formulas
``sub_total = original_total_product_price - seller_discount - platform_discount`` and
``total_amount = sub_total + shipping_fee + taxes + retail_delivery_fee`` (§2.11), times
as Unix seconds, ``is_cod`` (§2.8), desensitised ``recipient_address`` (§2.7), and
[T6] tracking numbers empty until the package ships (§2.6).

Decisions where the sources are silent:

- External id is ``id``. Orders placed in the Tokopedia app come through the same API and
  map the same way; ``commerce_platform`` stays in the raw payload.
- Status axes: ``AWAITING_SHIPMENT`` means the seller *may* arrange shipment
  (``unfulfilled``); ``AWAITING_COLLECTION`` is arranged and waiting for the carrier
  (``ready_to_ship``: the engine's late-tracking follow-up re-reads it while its tracking
  number is empty); ``PARTIALLY_SHIPPING`` and ``IN_TRANSIT`` are ``shipped``;
  ``ON_HOLD`` is paid, not yet to be fulfilled. A COD order is ``cod_pending`` until
  ``DELIVERED``/``COMPLETED`` (the carrier collected the cash); a cancelled order that
  was paid (not COD) is ``refunded``, since TikTok returns the buyer's money itself.
- Lines: TikTok sends **one line item per unit** (no ``quantity`` field, [T8]). Units are
  grouped into one canonical line per (``sku_id``, ``original_price``, ``sale_price``):
  ``quantity`` is the unit count, ``unit_price`` the ``original_price``, ``discount`` the
  sum of the units' seller and platform discounts, ``total`` what the buyer paid for them
  (original minus both discounts). The line id is ``sku_id:original:sale``. The raw line
  items stay in the stored payload (``raw``).
- Discounts: the canonical order has one ``discount_total`` (seller + platform, so that
  ``total = subtotal - discount_total + shipping_fee + tax_total + buyer_service_fee``).
  Who funds it is kept apart: ``discount_seller`` (``payment.seller_discount``) and
  ``discount_platform`` (``payment.platform_discount``), product discounts only; the
  shipping subsidies are already netted out of ``shipping_fee`` (``discounts(raw)`` has all four).
- ``shipping_fee`` is ``payment.shipping_fee`` (buyer-paid, after both shipping
  discounts); ``shipping_fee_actual`` stays unknown (TikTok does not say what the carrier
  charged). ``tax_total`` is ``payment.tax``. ``buyer_service_fee`` (Indonesia only) is
  in ``total`` and kept in its own column.
- Shipments: one per ``packages[].id``; its tracking number is the line items' of that
  package, else the order's; ``""`` means not assigned yet. Its tracking status follows
  the order status (the order APIs carry no logistics status).
- Buyer: ``recipient_address.name``/``phone_number`` are desensitised for platform
  logistics; seller-shipped orders carry them in clear, so both are masked here before
  anything is stored; ``buyer_email`` is TikTok's anonymised relay address (sealed as
  contact, never stored plain). City is the ``L2`` district level, region ``L1``.
- Money must be text, a JSON integer or a decimal: a binary float is refused into
  quarantine rather than guessed.
- Returns (the order's own word; the returns stream, ``mappings.tiktok_returns``, has the
  detail and supersedes these): a ``CANCELLED`` order is a ``cancellation`` (``refunded``
  when it was paid and not COD, else ``closed``), or a ``return_to_sender`` on its way back
  (``in_transit``) when its ``cancel_reason`` says the parcel was refused or undeliverable
  ("Package rejected", "Package delivery failed": the system's reasons for a parcel
  returned to the shipper); an order with ``is_buyer_request_cancel`` is a ``requested``
  cancellation. ``reason`` keeps ``cancel_reason`` (documented as text, e.g. "Pricing
  error"); ``reason_code`` maps it with the returns stream's table (an undocumented or
  localised text is ``unknown``). Created at ``cancel_time`` (``request_cancel_time``), else
  the order's update time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from mappings._common import ZERO, amount_or_zero, is_masked, list_field, mask_name, mask_phone, money, money_or_none, ref, text_or_none, utc_from_epoch
from mappings.tiktok_returns import is_return_to_sender, reason_code
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

MAPPING_VERSION = "tiktok-3"  # 2: order-derived cancellations with their reason code; 3: who funds the discount, buyer service fee

O, P, F = OrderStatus, PaymentStatus, FulfillmentStatus
STATUS_TABLE: dict[str, tuple[OrderStatus, PaymentStatus, FulfillmentStatus]] = {
    "UNPAID": (O.PENDING, P.UNPAID, F.UNFULFILLED),
    "ON_HOLD": (O.OPEN, P.PAID, F.UNFULFILLED),  # paid; the buyer may still cancel, no fulfilment yet
    "AWAITING_SHIPMENT": (O.OPEN, P.PAID, F.UNFULFILLED),
    "PARTIALLY_SHIPPING": (O.OPEN, P.PAID, F.SHIPPED),  # some items shipped
    "AWAITING_COLLECTION": (O.OPEN, P.PAID, F.READY_TO_SHIP),  # arranged, waiting for the carrier
    "IN_TRANSIT": (O.OPEN, P.PAID, F.SHIPPED),
    "DELIVERED": (O.OPEN, P.PAID, F.DELIVERED),
    "COMPLETED": (O.COMPLETED, P.PAID, F.DELIVERED),
    "CANCELLED": (O.CANCELLED, P.VOIDED, F.CANCELLED),
}
UNKNOWN_STATUS = (O.UNKNOWN, P.UNKNOWN, F.UNKNOWN)
COD_COLLECTED = frozenset({"DELIVERED", "COMPLETED"})

T = TrackingStatus
TRACKING_TABLE: dict[str, TrackingStatus] = {  # order status -> its packages' tracking status
    "ON_HOLD": T.PENDING,
    "AWAITING_SHIPMENT": T.PENDING,
    "AWAITING_COLLECTION": T.INFO_RECEIVED,
    "PARTIALLY_SHIPPING": T.IN_TRANSIT,
    "IN_TRANSIT": T.IN_TRANSIT,
    "DELIVERED": T.DELIVERED,
    "COMPLETED": T.DELIVERED,
    "CANCELLED": T.EXPIRED,
}

# Fields scrub() removes: buyer identity beyond name and phone (which it masks).
DROPPED_FIELDS = ("buyer_email",)
DROPPED_ADDRESS_FIELDS = ("full_address", "address_detail", "address_line1", "address_line2", "address_line3", "address_line4", "delivery_preferences")
MASKED_HERE = "simpul_masked"  # set by scrub() when TikTok sent the buyer in clear


@dataclass(frozen=True, slots=True)
class Discounts:
    """Who paid for each discount (``payment.*``): the seller's own and the platform's
    subsidies, on products and on shipping."""

    seller: Decimal
    platform: Decimal
    shipping_seller: Decimal
    shipping_platform: Decimal


def external_id(raw: Mapping[str, Any]) -> str | None:
    value = raw.get("id") if isinstance(raw, Mapping) else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value.strip() if isinstance(value, str) and value.strip() else None


def discounts(raw: Mapping[str, Any]) -> Discounts:
    payment = _payment(raw)
    return Discounts(
        seller=amount_or_zero(payment, "seller_discount"),
        platform=amount_or_zero(payment, "platform_discount"),
        shipping_seller=amount_or_zero(payment, "shipping_fee_seller_discount"),
        shipping_platform=amount_or_zero(payment, "shipping_fee_platform_discount"),
    )


def map_order(raw: Mapping[str, Any]) -> OrderBundle:
    if not isinstance(raw, Mapping):
        raise MappingError("payload: expected a JSON object")
    order_id = external_id(raw)
    if order_id is None:
        raise MappingError("id: missing")
    status = raw.get("status")
    if not isinstance(status, str) or not status:
        raise MappingError("status: missing")
    created_at, updated_at = _required_time(raw, "create_time"), _required_time(raw, "update_time")
    payment = _payment(raw)
    currency = payment.get("currency")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
        raise MappingError("payment.currency: missing or not an ISO 4217 code")
    total = money(payment.get("total_amount"), field="payment.total_amount")
    lines = _lines(raw.get("line_items"))
    split = discounts(raw)
    is_cod = raw.get("is_cod") is True
    paid_at = utc_from_epoch(raw.get("paid_time"), field="paid_time")

    order_status, payment_status, fulfillment = STATUS_TABLE.get(status, UNKNOWN_STATUS)
    if is_cod and payment_status is P.PAID and status not in COD_COLLECTED:
        payment_status = P.COD_PENDING
    if status == "CANCELLED" and paid_at is not None and not is_cod:
        payment_status = P.REFUNDED

    address = raw.get("recipient_address") if isinstance(raw.get("recipient_address"), Mapping) else {}
    name, phone = text_or_none(address.get("name")), text_or_none(address.get("phone_number"))
    levels = {d.get("address_level"): text_or_none(d.get("address_name")) for d in list_field(address, "district_info") if isinstance(d, Mapping)}
    subtotal = sum((line.unit_price * line.quantity for line in lines), ZERO)
    order = Order(
        external_id=order_id,
        status=order_status,
        payment_status=payment_status,
        fulfillment_status=fulfillment,
        raw_status=status,
        created_at=created_at,
        updated_at=updated_at,
        paid_at=paid_at,
        ship_by=utc_from_epoch(raw.get("rts_sla_time") or raw.get("shipping_due_time"), field="rts_sla_time"),
        currency=currency.upper(),
        subtotal=subtotal,
        discount_total=split.seller + split.platform,
        shipping_fee=amount_or_zero(payment, "shipping_fee"),
        shipping_fee_actual=None,
        tax_total=amount_or_zero(payment, "tax"),
        total=total,
        payment_method=text_or_none(raw.get("payment_method_name")),
        is_cod=is_cod,
        cod_amount=total if is_cod else None,
        buyer_ref=ref(raw.get("user_id")),
        buyer_name_masked=mask_name(name),
        buyer_phone_masked=mask_phone(phone),
        buyer_is_masked=(is_masked(name) or is_masked(phone)) and not address.get(MASKED_HERE),
        ship_city=levels.get("L2"),
        ship_region=levels.get("L1"),
        ship_postcode=text_or_none(address.get("postal_code")),
        ship_country=text_or_none(address.get("region_code")),
        note=text_or_none(raw.get("buyer_message")),
        source_zone=None,
        discount_seller=split.seller,
        discount_platform=split.platform,
        buyer_service_fee=money_or_none(payment.get("buyer_service_fee"), field="payment.buyer_service_fee"),
    )
    cod_collected = total if is_cod and status in COD_COLLECTED else None
    return OrderBundle(
        order=order,
        lines=lines,
        shipments=_shipments(raw, order_id, status, cod_collected),
        returns=_returns(raw, order_id, status, paid=paid_at is not None and not is_cod, updated_at=updated_at),
        mapping_version=MAPPING_VERSION,
        payload_hash=content_hash(raw),
        raw=scrub(raw),
        buyer=BuyerContact(name=name, phone=phone, email=text_or_none(raw.get("buyer_email")), street=text_or_none(address.get("full_address"))),
    )


def scrub(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A copy fit to store: name and phone masked, e-mail and street removed.

    TikTok desensitises the buyer for platform logistics only; seller-shipped orders carry
    clear values, which must not reach the database either. Mapping the scrubbed copy again
    (quarantine replay) gives the same canonical order.
    """
    out = dict(raw)
    for name in DROPPED_FIELDS:
        out.pop(name, None)
    address = out.get("recipient_address")
    if isinstance(address, dict):
        address = out["recipient_address"] = dict(address)
        if any(address.get(k) and not is_masked(address.get(k)) for k in ("name", "phone_number")):
            address[MASKED_HERE] = True  # replay must still know TikTok did not mask it
        address["name"] = mask_name(text_or_none(address.get("name"))) or ""
        address["phone_number"] = mask_phone(text_or_none(address.get("phone_number"))) or ""
        for name in DROPPED_ADDRESS_FIELDS:
            address.pop(name, None)
    return out


# -- pieces -----------------------------------------------------------------------------------
def _payment(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    payment = raw.get("payment")
    if not isinstance(payment, Mapping):
        raise MappingError("payment: missing")
    return payment


def _required_time(raw: Mapping[str, Any], field: str) -> datetime:
    value = raw.get(field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MappingError(f"{field}: expected epoch seconds")
    moment = utc_from_epoch(value, field=field)
    if moment is None:
        raise MappingError(f"{field}: missing")
    return moment


def _lines(items: Any) -> tuple[OrderLine, ...]:
    """One canonical line per (sku_id, original_price, sale_price), units counted."""
    if not isinstance(items, list):
        raise MappingError("line_items: expected a list")
    groups: dict[tuple[str, Decimal, Decimal], dict[str, Any]] = {}
    for i, item in enumerate(items):
        where = f"line_items[{i}]"
        if not isinstance(item, Mapping):
            raise MappingError(f"{where}: expected an object")
        sku_id = ref(item.get("sku_id"))
        if sku_id is None:
            raise MappingError(f"{where}.sku_id: missing")
        original = money(item.get("original_price"), field=f"{where}.original_price")
        sale = money(item.get("sale_price"), field=f"{where}.sale_price")
        seller = money(item.get("seller_discount") or 0, field=f"{where}.seller_discount")
        platform = money(item.get("platform_discount") or 0, field=f"{where}.platform_discount")
        group = groups.setdefault((sku_id, original, sale), {"first": item, "units": 0, "discount": ZERO})
        group["units"] += 1
        group["discount"] += seller + platform
    out = []
    for (sku_id, original, sale), group in groups.items():
        first, units = group["first"], group["units"]
        out.append(
            OrderLine(
                external_line_id=f"{sku_id}:{original}:{sale}",
                item_id=ref(first.get("product_id")),
                variant_id=sku_id,
                sku=text_or_none(first.get("seller_sku")),
                name=" - ".join(filter(None, (text_or_none(first.get("product_name")), text_or_none(first.get("sku_name"))))),
                quantity=units,
                unit_price=original,
                discount=group["discount"],
                total=original * units - group["discount"],
            )
        )
    return tuple(out)


def _shipments(raw: Mapping[str, Any], order_id: str, status: str, cod_collected: Decimal | None) -> tuple[Shipment, ...]:
    items = [i for i in raw.get("line_items") or [] if isinstance(i, Mapping)]
    out = []
    for n, package in enumerate(p for p in list_field(raw, "packages") if isinstance(p, Mapping)):
        package_id = text_or_none(package.get("id")) or f"{order_id}-{n}"
        mine = [i for i in items if text_or_none(i.get("package_id")) == package_id]
        tracking = next((t for i in mine if (t := text_or_none(i.get("tracking_number")))), None) or text_or_none(raw.get("tracking_number"))
        raw_status = next((s for i in mine if (s := text_or_none(i.get("display_status")))), None) or status
        delivered = utc_from_epoch(raw.get("delivery_time"), field="delivery_time")
        collected = utc_from_epoch(raw.get("collection_time"), field="collection_time")
        out.append(
            Shipment(
                package_ref=package_id,
                courier=text_or_none(raw.get("shipping_provider")) or next((c for i in mine if (c := text_or_none(i.get("shipping_provider_name")))), None),
                service=text_or_none(raw.get("delivery_option_name")),
                tracking_number=tracking,
                tracking_status=TRACKING_TABLE.get(raw_status, T.UNKNOWN),
                tracking_sub_status=None,
                raw_status=raw_status,
                last_event_at=delivered or collected,
                cod_collected=cod_collected,
            )
        )
    return tuple(out)


def _returns(raw: Mapping[str, Any], order_id: str, status: str, *, paid: bool, updated_at: datetime) -> tuple[Return, ...]:
    """A cancelled order's cancellation (or its parcel going back), or a buyer's pending
    cancellation request (module docstring)."""
    reason = text_or_none(raw.get("cancel_reason"))
    if status == "CANCELLED":
        created = utc_from_epoch(raw.get("cancel_time"), field="cancel_time")
        if is_return_to_sender(reason):
            suffix, kind, state = "rts", ReturnType.RETURN_TO_SENDER, ReturnStatus.IN_TRANSIT
        else:
            suffix, kind, state = "cancel", ReturnType.CANCELLATION, ReturnStatus.REFUNDED if paid else ReturnStatus.CLOSED
    elif raw.get("is_buyer_request_cancel") is True:
        created = utc_from_epoch(raw.get("request_cancel_time"), field="request_cancel_time")
        suffix, kind, state = "cancel", ReturnType.CANCELLATION, ReturnStatus.REQUESTED
    else:
        return ()
    return (
        Return(
            external_id=f"{order_id}-{suffix}",
            type=kind,
            status=state,
            raw_status=status,
            reason=reason,
            refund_amount=None,
            return_shipping_cost=None,
            items=(),
            created_at=created or updated_at,
            reason_code=reason_code(reason),
        ),
    )
