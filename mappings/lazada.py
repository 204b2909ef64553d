"""Lazada order + items -> canonical ``OrderBundle`` (pure, no I/O).

Input: one order object as ``/orders/get`` (or ``/order/get``) returns it, with that
order's item list from ``/orders/items/get`` under ``order_items`` (the connector merges
them; ``simpul map lazada FILE`` reads the same record).

Sources (shared/reference/marketplaces.md §4): [L5] (no order-level status, each unit its
own item, ``order_id`` unique within one store only, buyer paid = ``price - voucher +
shipping_fee``, ``address3`` state / ``address4`` city / ``address5`` post code), [L9] (the
order object, amounts as text with 2 decimals, ISO 8601 times with an offset, masked
phones, ``payment_method`` ``"COD"``), [L12] (item fields, amounts as numbers, times like
``2021-07-29 11:02:19 +0700``), [L11] (the item status flow).

The order's status is **derived from its items' statuses** by a rule table (data below):

1. Each item status maps to (order, payment, fulfilment) by ``ITEM_STATUS``. An item status
   that is not in the table makes the whole order ``unknown`` on every axis (never a guess).
2. All items in one status: the order takes that row.
3. Items differ. ``DROPPED`` statuses (``canceled``, ``returned``, ``failed``, the
   ``shipped_back*`` ones) are units that will not reach the buyer; the others are *kept*.

   - Some dropped, some kept: order ``partial`` while a kept unit is still on its way,
     ``completed`` once every kept unit is delivered; fulfilment ``partial`` (part of what
     was bought will never be delivered); payment: the kept units' (below), except that a
     prepaid order whose other units were dropped is ``partially_refunded``.
   - All kept (e.g. one unit ``packed``, one ``shipped``): order ``open``; fulfilment and
     payment are the least advanced of the kept units (``FULFILMENT_ORDER``,
     ``PAYMENT_ORDER``: an order is ``shipped`` only when all of it is).
   - All dropped but differently (``canceled`` + ``returned``): order ``cancelled``,
     fulfilment ``returned`` if any unit came back (returned/failed) else ``cancelled``,
     payment ``refunded`` if the order was prepaid and paid, else ``voided``.

``OrderStatus.PARTIAL`` and ``FulfillmentStatus.PARTIAL`` exist for this rule
(``simpul/canonical.py``). A COD order's payment is ``cod_pending`` until its units are
delivered. The item status list beyond ``/orders/get``'s ``status`` filter values
(``packed``, ``repacked``, ``lost_by_3pl``, ...) is inferred (§4.3); ``confirmed`` is not
in our sources and would map to ``unknown``.

Lines: Lazada sends one item per unit. Units with the same ``sku`` and ``item_price`` make
one canonical line (quantity = units; ``unit_price`` = ``item_price``; ``total`` = sum of
``paid_price``; ``discount`` the difference); its id is the smallest ``order_item_id`` of
the group. The raw items stay in the stored payload.

Shipments: one per ``package_id`` (units are packed into packages; ``tracking_code`` comes
with the pack call). Units not packed yet have no shipment.

Totals: ``subtotal`` = ``price`` (before discounts), ``discount_total`` = ``voucher``,
``shipping_fee`` = ``shipping_fee``, ``total`` = ``price - voucher + shipping_fee`` ([L5]).
``currency`` comes from the items (the order object has none); ``paid_at`` is unknown
(Lazada's order object has no payment time); ``ship_by`` is ``promised_shipping_times``
when it is a time. ``ship_country`` is the ISO code of the address's country name.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from mappings._common import ZERO, is_masked, list_field, mask_name, mask_phone, money, ref, text_or_none
from mappings.lazada_returns import reason_of
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
    ReturnReason,
    ReturnStatus,
    ReturnType,
    Shipment,
    TrackingStatus,
)
from simpul.jsoncodec import content_hash

MAPPING_VERSION = "lazada-2"  # 2: order-derived Returns carry a reason_code and canonical item keys
COD_METHOD = "COD"

O, P, F, T = OrderStatus, PaymentStatus, FulfillmentStatus, TrackingStatus
ITEM_STATUS: dict[str, tuple[OrderStatus, PaymentStatus, FulfillmentStatus]] = {
    "unpaid": (O.PENDING, P.UNPAID, F.UNFULFILLED),
    "pending": (O.OPEN, P.PAID, F.UNFULFILLED),  # paid (or COD), to be packed
    "topack": (O.OPEN, P.PAID, F.UNFULFILLED),
    "repacked": (O.OPEN, P.PAID, F.UNFULFILLED),  # package re-created, to be packed again
    "packed": (O.OPEN, P.PAID, F.READY_TO_SHIP),  # packed, tracking number assigned
    "toship": (O.OPEN, P.PAID, F.READY_TO_SHIP),
    "ready_to_ship": (O.OPEN, P.PAID, F.READY_TO_SHIP),
    "shipped": (O.OPEN, P.PAID, F.SHIPPED),
    "delivered": (O.COMPLETED, P.PAID, F.DELIVERED),
    "failed": (O.CANCELLED, P.VOIDED, F.RETURNED),  # delivery failed, the parcel goes back
    "failed_delivery": (O.CANCELLED, P.VOIDED, F.RETURNED),
    "lost_by_3pl": (O.CANCELLED, P.REFUNDED, F.CANCELLED),
    "damaged_by_3pl": (O.CANCELLED, P.REFUNDED, F.CANCELLED),
    "shipped_back": (O.CANCELLED, P.VOIDED, F.RETURNED),
    "shipped_back_success": (O.CANCELLED, P.VOIDED, F.RETURNED),
    "returned": (O.COMPLETED, P.REFUNDED, F.RETURNED),  # delivered, sent back, refunded
    "canceled": (O.CANCELLED, P.VOIDED, F.CANCELLED),
}
DROPPED = frozenset({"canceled", "returned", "failed", "failed_delivery", "lost_by_3pl", "damaged_by_3pl", "shipped_back", "shipped_back_success"})
CAME_BACK = frozenset({"returned", "failed", "failed_delivery", "shipped_back", "shipped_back_success"})
FULFILMENT_ORDER = (F.UNFULFILLED, F.READY_TO_SHIP, F.SHIPPED, F.DELIVERED)  # least advanced first
PAYMENT_ORDER = (P.UNPAID, P.COD_PENDING, P.PAID)
UNKNOWN_STATUS = (O.UNKNOWN, P.UNKNOWN, F.UNKNOWN)

TRACKING: dict[str, TrackingStatus] = {  # an item status as its parcel's tracking tag
    "packed": T.INFO_RECEIVED,
    "toship": T.INFO_RECEIVED,
    "ready_to_ship": T.INFO_RECEIVED,
    "shipped": T.IN_TRANSIT,
    "delivered": T.DELIVERED,
    "failed": T.EXCEPTION,
    "failed_delivery": T.EXCEPTION,
    "lost_by_3pl": T.EXCEPTION,
    "damaged_by_3pl": T.EXCEPTION,
    "shipped_back": T.EXCEPTION,
    "shipped_back_success": T.EXCEPTION,
    "returned": T.DELIVERED,
    "canceled": T.EXPIRED,
}
COUNTRIES = {"indonesia": "ID", "singapore": "SG", "malaysia": "MY", "philippines": "PH", "thailand": "TH", "vietnam": "VN", "viet nam": "VN"}
ADDRESSES = ("address_shipping", "address_billing")
BUYER_FIELDS = ("customer_first_name", "customer_last_name")
STREET_FIELDS = ("address1", "address2")
MASKED_HERE = "simpul_masked"  # set by scrub() when Lazada sent a phone unmasked


def external_id(raw: Mapping[str, Any]) -> str | None:
    value = raw.get("order_id") if isinstance(raw, Mapping) else None
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip()
    return text or None


def map_order(raw: Mapping[str, Any]) -> OrderBundle:
    if not isinstance(raw, Mapping):
        raise MappingError("payload: expected a JSON object")
    order_id = external_id(raw)
    if order_id is None:
        raise MappingError("order_id: missing")
    created_at, updated_at = _time(raw, "created_at", required=True), _time(raw, "updated_at", required=True)
    items = [i for i in list_field(raw, "order_items")]
    if not items:
        raise MappingError("order_items: missing or empty (the record needs the items of /orders/items/get)")
    for n, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise MappingError(f"order_items[{n}]: expected an object")
        if not isinstance(item.get("status"), str) or not item.get("status"):
            raise MappingError(f"order_items[{n}].status: missing")
    currencies = {text_or_none(i.get("currency")) for i in items}
    currency = currencies.pop() if len(currencies) == 1 else None
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
        raise MappingError("currency: missing, or not one ISO 4217 code across the items")
    price = money(raw.get("price"), field="price")
    voucher = _amount(raw, "voucher")
    shipping = _amount(raw, "shipping_fee")
    total = price - voucher + shipping
    statuses = [str(i["status"]) for i in items]
    payment_method = text_or_none(raw.get("payment_method"))
    is_cod = payment_method is not None and payment_method.upper() == COD_METHOD
    order_status, payment, fulfillment = derive(statuses, is_cod=is_cod)

    address = raw.get("address_shipping") if isinstance(raw.get("address_shipping"), Mapping) else {}
    name = " ".join(filter(None, (text_or_none(raw.get("customer_first_name")), text_or_none(raw.get("customer_last_name"))))) or None
    phone = text_or_none(address.get("phone"))
    country = text_or_none(address.get("country"))
    order = Order(
        external_id=order_id,
        status=order_status,
        payment_status=payment,
        fulfillment_status=fulfillment,
        raw_status=",".join(sorted(set(statuses))),
        created_at=created_at,
        updated_at=updated_at,
        paid_at=None,
        ship_by=_time(raw, "promised_shipping_times", required=False, lenient=True),
        currency=currency.upper(),
        subtotal=price,
        discount_total=voucher,
        shipping_fee=shipping,
        shipping_fee_actual=None,
        tax_total=ZERO,
        total=total,
        payment_method=payment_method,
        is_cod=is_cod,
        cod_amount=total if is_cod else None,
        buyer_ref=None,  # the order object carries no buyer id
        buyer_name_masked=" ".join(filter(None, (mask_name(raw.get(f)) for f in BUYER_FIELDS))) or None,  # as scrub() masks it
        buyer_phone_masked=mask_phone(phone),
        buyer_is_masked=is_masked(phone) and not address.get(MASKED_HERE),
        ship_city=text_or_none(address.get("address4")) or text_or_none(address.get("city")),
        ship_region=text_or_none(address.get("address3")),
        ship_postcode=text_or_none(address.get("address5")) or text_or_none(address.get("post_code")),
        ship_country=COUNTRIES.get(country.lower()) if country else None,
        note=text_or_none(raw.get("remarks")),
        source_zone=None,
    )
    return OrderBundle(
        order=order,
        lines=_lines(items),
        shipments=_shipments(items, is_cod),
        returns=_returns(order_id, items, updated_at),
        mapping_version=MAPPING_VERSION,
        payload_hash=content_hash(raw),
        raw=scrub(raw),
        buyer=BuyerContact(name=name, phone=phone, street=text_or_none(address.get("address1"))),
    )


def derive(statuses: list[str], *, is_cod: bool) -> tuple[OrderStatus, PaymentStatus, FulfillmentStatus]:
    """The order's three statuses from its items' statuses (the rule table in the module doc)."""
    if not statuses or any(s not in ITEM_STATUS for s in statuses):
        return UNKNOWN_STATUS
    distinct = set(statuses)
    if len(distinct) == 1:
        o, p, f = ITEM_STATUS[statuses[0]]
        return o, _cod(p, distinct, is_cod), f
    kept = [s for s in statuses if s not in DROPPED]
    dropped = [s for s in statuses if s in DROPPED]
    if kept and dropped:
        done = all(ITEM_STATUS[s][0] is O.COMPLETED for s in kept)
        payment = _cod(_least(PAYMENT_ORDER, [ITEM_STATUS[s][1] for s in kept]), set(kept), is_cod)
        if not is_cod and payment is P.PAID:
            payment = P.PARTIALLY_REFUNDED
        return (O.COMPLETED if done else O.PARTIAL), payment, F.PARTIAL
    if kept:
        payment = _cod(_least(PAYMENT_ORDER, [ITEM_STATUS[s][1] for s in kept]), distinct, is_cod)
        return O.OPEN, payment, _least(FULFILMENT_ORDER, [ITEM_STATUS[s][2] for s in kept])
    came_back = bool(distinct & CAME_BACK)
    paid = not is_cod and any(ITEM_STATUS[s][1] is P.REFUNDED for s in distinct)
    return O.CANCELLED, (P.REFUNDED if paid else P.VOIDED), (F.RETURNED if came_back else F.CANCELLED)


def _cod(payment: PaymentStatus, statuses: set[str], is_cod: bool) -> PaymentStatus:
    """COD: paid only once every kept unit is delivered (the courier collected the cash)."""
    if is_cod and payment is P.PAID and not all(s == "delivered" or s in DROPPED for s in statuses):
        return P.COD_PENDING
    return payment


def _least(order: tuple, values: list) -> Any:
    return min(values, key=lambda v: order.index(v) if v in order else -1)


def scrub(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A copy fit to store: buyer names masked, phones masked (Lazada masks them already;
    unmasked ones are masked here), street lines removed. Mapping the scrubbed copy again
    gives the same canonical order."""
    out = dict(raw)
    for name in BUYER_FIELDS:
        if out.get(name):
            out[name] = mask_name(str(out[name])) or ""
    for key in ADDRESSES:
        address = out.get(key)
        if not isinstance(address, dict):
            continue
        address = out[key] = dict(address)
        if any(address.get(k) and not is_masked(address.get(k)) for k in ("phone", "phone2")):
            address[MASKED_HERE] = True
        for name in ("first_name", "last_name"):
            if address.get(name):
                address[name] = mask_name(str(address[name])) or ""
        for name in ("phone", "phone2"):
            if address.get(name):
                address[name] = mask_phone(str(address[name])) or ""
        for name in STREET_FIELDS:
            address.pop(name, None)
    return out


# -- pieces -----------------------------------------------------------------------------------
def _time(raw: Mapping[str, Any], field: str, *, required: bool, lenient: bool = False) -> datetime | None:
    value = raw.get(field)
    if value in (None, ""):
        if required:
            raise MappingError(f"{field}: missing")
        return None
    moment = None
    if isinstance(value, str):
        for parse in (datetime.fromisoformat, lambda v: datetime.strptime(v, "%Y-%m-%d %H:%M:%S %z")):
            try:
                moment = parse(value)
                break
            except ValueError:
                continue
    if moment is None or moment.tzinfo is None:
        if lenient:
            return None
        raise MappingError(f"{field}: not a time with an offset")
    return moment.astimezone(timezone.utc)


def _amount(raw: Mapping[str, Any], field: str) -> Decimal:
    value = raw.get(field)
    return ZERO if value in (None, "") else money(value, field=field)


def _lines(items: list[Mapping[str, Any]]) -> tuple[OrderLine, ...]:
    groups: dict[tuple[str, Decimal], list[tuple[int, Mapping[str, Any], Decimal]]] = {}
    for n, item in enumerate(items):
        where = f"order_items[{n}]"
        sku = text_or_none(item.get("sku")) or text_or_none(item.get("shop_sku")) or ""
        price = money(item.get("item_price"), field=f"{where}.item_price")
        paid = money(item.get("paid_price"), field=f"{where}.paid_price")
        groups.setdefault((sku, price), []).append((n, item, paid))
    out = []
    for (sku, price), units in groups.items():
        first = units[0][1]
        ids = [ref(u.get("order_item_id")) for _, u, _ in units]
        if any(i is None for i in ids):
            raise MappingError(f"order_items[{units[0][0]}].order_item_id: missing")
        paid = sum((p for _, _, p in units), ZERO)
        quantity = len(units)
        out.append(
            OrderLine(
                external_line_id=min(ids, key=lambda i: (len(i), i)),  # type: ignore[arg-type]
                item_id=ref(first.get("product_id")) or text_or_none(first.get("shop_sku")),
                variant_id=ref(first.get("sku_id")),
                sku=sku or None,
                name=" - ".join(filter(None, (text_or_none(first.get("name")), text_or_none(first.get("variation"))))) or sku,
                quantity=quantity,
                unit_price=price,
                discount=price * quantity - paid,
                total=paid,
            )
        )
    return tuple(out)


def _shipments(items: list[Mapping[str, Any]], is_cod: bool) -> tuple[Shipment, ...]:
    packages: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        package = text_or_none(item.get("package_id"))
        if package:
            packages.setdefault(package, []).append(item)
    out = []
    for package, units in packages.items():
        statuses = {str(u.get("status")) for u in units}
        status = units[0].get("status") if len(statuses) == 1 else ",".join(sorted(statuses))
        tracking = TRACKING.get(str(status), T.UNKNOWN)
        collected = sum((money(u.get("paid_price"), field="paid_price") for u in units), ZERO) if is_cod and statuses == {"delivered"} else None
        out.append(
            Shipment(
                package_ref=package,
                courier=text_or_none(units[0].get("shipment_provider")),
                service=text_or_none(units[0].get("shipping_provider_type")),
                tracking_number=text_or_none(units[0].get("tracking_code")),
                tracking_status=tracking,
                tracking_sub_status=None,
                raw_status=str(status),
                last_event_at=None,
                cod_collected=collected,
            )
        )
    return tuple(out)


def _returns(order_id: str, items: list[Mapping[str, Any]], updated_at: datetime) -> tuple[Return, ...]:
    """Units cancelled, returned by the buyer, or sent back by the courier (one Return each
    kind, with its units, ``{"line_id", "sku", "quantity": 1}``); the reverse-order API's
    Returns (``mappings.lazada_returns``, the ``returns`` stream) supersede the cancellation
    and the buyer return of the same order. ``reason_code``: a delivery that failed or came
    back is ``failed_delivery`` whatever its text; otherwise the item's ``reason`` through
    the reverse orders' table (``lazada_returns.REASONS``), ``unknown`` when unlisted."""
    kinds = (
        ("cancel", ReturnType.CANCELLATION, ReturnStatus.CLOSED, {"canceled"}),
        ("return", ReturnType.BUYER_RETURN, ReturnStatus.REFUNDED, {"returned"}),
        ("rts", ReturnType.RETURN_TO_SENDER, ReturnStatus.IN_TRANSIT, {"failed", "failed_delivery", "shipped_back"}),
        ("rts-received", ReturnType.RETURN_TO_SENDER, ReturnStatus.RECEIVED, {"shipped_back_success"}),
    )
    out = []
    for suffix, kind, state, statuses in kinds:
        units = [i for i in items if i.get("status") in statuses]
        if not units:
            continue
        reason = text_or_none(units[0].get("reason"))
        code = ReturnReason.FAILED_DELIVERY if kind is ReturnType.RETURN_TO_SENDER else reason_of(reason)
        out.append(
            Return(
                external_id=f"{order_id}-{suffix}",
                type=kind,
                status=state,
                raw_status=str(units[0].get("status")),
                reason=reason,
                refund_amount=None,
                return_shipping_cost=None,
                items=tuple({k: v for k, v in (("line_id", ref(u.get("order_item_id"))), ("sku", text_or_none(u.get("sku"))), ("quantity", 1)) if v is not None} for u in units),
                created_at=updated_at,
                reason_code=code,
            )
        )
    return tuple(out)
