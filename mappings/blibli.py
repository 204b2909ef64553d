"""Blibli order (as ``connectors.blibli`` assembles it) -> canonical ``OrderBundle`` (pure).

The raw record is one order as the connector assembles it (``simpul map blibli FILE``
reads the same shape)::

    {
      "orderNo": "25100026490",                 # Blibli's order number: the external id
      "statusFPUpdatedTimestamp": 1735700090000, # epoch ms the items became For Processing (Order List V2)
      "packages": [                              # Order List V2 groups items by package
        {"packageId": 1000123, "items": [<orderDetail "value">, ...]}
      ]
    }

Each item is the ``value`` of the per-item ``orderDetail`` reply: marketplaces.md §5.3
(**inferred** by the reference, not confirmed by any source we found) names ``orderNo``,
``orderItemNo``, ``qty``, ``orderDate``, ``autoCancelDate``, ``orderStatus``,
``productName``, ``itemName``, ``gdnSku``, ``merchantSku``, ``productPrice``,
``finalPrice``, ``shippingCost``, ``logisticService``, ``awbNumber``, ``custName`` and
``shippingStreetAddress``. Read besides, **assumed** (absent from §5.3; each optional):
``updatedDate`` (epoch ms of the item's last change), ``logisticsProductName``,
``shippingCity``, ``shippingProvince``, ``shippingZipCode``.

Decisions (where the sources are silent, each a choice):

- Times are epoch milliseconds (§5.2: inferred), read as UTC. ``created_at`` is the
  earliest ``orderDate``; ``paid_at`` is ``statusFPUpdatedTimestamp`` (an item is For
  Processing once paid); ``updated_at`` (the version) is the newest ``updatedDate`` of the
  items, else the newest of ``orderDate`` and the FP time: without ``updatedDate`` a status
  change does not move the version, and only the content hash tells the versions apart.
  ``ship_by`` is the earliest ``autoCancelDate`` of items still ``FP``.
- Money is IDR (Blibli Indonesia; the payload names no currency), whole rupiah as JSON
  numbers. ``productPrice`` is the unit price, ``finalPrice`` the unit price after
  discounts; a line's total is ``finalPrice * qty`` and its discount ``(productPrice -
  finalPrice) * qty``. ``shippingCost`` is summed over the items as the buyer's shipping
  fee (the V2 reference says it is 0 where Blibli pays the shipping). Order totals count
  the items that are not cancelled (``X``); when every item is cancelled they count all
  of them (what was ordered and refunded).
- Statuses are per item (§5.2). ``STATUS_TABLE`` maps each code; only ``FP`` is seen in
  the reference's code, ``CR`` (Customer Request), ``CX`` (in delivery, after ``PU``),
  ``DF`` (after ``PU``/``CX``, meaning not given) and ``D`` are named in Blibli's API
  reference (secondary), ``PU`` and ``X`` come from third-party clients. The order's status
  is that of its least advanced item that is not cancelled (``RANK``); every item
  cancelled is a cancelled order. A code we do not know makes the order ``unknown`` on
  every axis, never a guess. ``raw_status`` is the distinct item codes, sorted, joined
  by ``,``.
- Payment: paid (items are listed only once paid; no COD is assumed); a partly cancelled
  order is ``partially_refunded``, a wholly cancelled one ``refunded`` (Blibli refunds
  the buyer: assumed). Each cancelled item is a ``cancellation`` Return, its refund status
  unknown; each ``CR`` item a Return of unknown type (cancel or return is not said),
  ``requested``. Their items are ``{"line_id", "sku", "name", "quantity"}``; their
  ``reason_code`` stays ``unknown``: the order detail carries no reason (the returns
  stream's RMAs, ``mappings.blibli_returns``, carry one, and supersede a ``CR`` Return only
  if the types agree: they do not, a ``CR`` Return is of unknown type).
- One Shipment per package with an item not cancelled: courier ``logisticsProductName``
  (else ``logisticService``), the first ``awbNumber`` of the package.
- Buyer: ``custName`` (masked here unless Blibli already masked it, as in §5.3's
  ``B***``); the street goes only into the sealed contact; ``scrub`` masks the name and
  drops the street.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from mappings._common import ZERO, is_masked, mask_name, money, text_or_none
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

MAPPING_VERSION = "blibli-2"  # 2: order-derived Returns carry canonical item keys and their currency
CURRENCY = "IDR"
CANCELLED = "X"

O, P, F, T = OrderStatus, PaymentStatus, FulfillmentStatus, TrackingStatus
STATUS_TABLE: dict[str, tuple[OrderStatus, FulfillmentStatus, TrackingStatus]] = {
    "FP": (O.OPEN, F.UNFULFILLED, T.PENDING),  # For Processing: paid, to be packed
    "PU": (O.OPEN, F.SHIPPED, T.INFO_RECEIVED),  # picked up: an airway bill exists (third-party clients)
    "CX": (O.OPEN, F.SHIPPED, T.IN_TRANSIT),  # "in delivery" (API reference, secondary)
    "DF": (O.OPEN, F.UNKNOWN, T.UNKNOWN),  # after PU/CX; its meaning is not documented
    "D": (O.COMPLETED, F.DELIVERED, T.DELIVERED),
    "CR": (O.OPEN, F.UNKNOWN, T.UNKNOWN),  # Customer Request (cancel or return, not said)
    "X": (O.CANCELLED, F.CANCELLED, T.UNKNOWN),  # cancelled (third-party clients filter X with D as final)
}
RANK = {"FP": 0, "PU": 1, "CX": 2, "DF": 3, "CR": 4, "D": 5}  # least advanced decides a mixed order


def external_id(raw: Mapping[str, Any]) -> str | None:
    try:
        return _order_no(raw)
    except MappingError:
        return None


def map_order(raw: Mapping[str, Any]) -> OrderBundle:
    if not isinstance(raw, Mapping):
        raise MappingError("payload: expected a JSON object")
    order_no = _order_no(raw)
    packages = _packages(raw)
    items = [(package_ref, item, f"packages[{p}].items[{i}]") for p, (package_ref, its) in enumerate(packages) for i, item in enumerate(its)]
    if not items:
        raise MappingError("packages: no order items")
    statuses = []
    for _, item, where in items:
        status = item.get("orderStatus")
        if not isinstance(status, str) or not status:
            raise MappingError(f"{where}.orderStatus: missing")
        statuses.append(status)
    lines = tuple(_line(item, where) for _, item, where in items)
    active = [k for k, s in enumerate(statuses) if s != CANCELLED] or list(range(len(items)))
    created = min(_ms(item.get("orderDate"), f"{where}.orderDate", required=True) for _, item, where in items)
    fp_time = _ms(raw.get("statusFPUpdatedTimestamp"), "statusFPUpdatedTimestamp")
    updates = [_ms(item.get("updatedDate"), f"{where}.updatedDate") for _, item, where in items]
    updated = max((u for u in updates if u), default=None) or max(t for t in (created, fp_time) if t)
    order_status, fulfillment = _order_status(statuses)
    cancelled = [k for k, s in enumerate(statuses) if s == CANCELLED]
    payment = P.REFUNDED if len(cancelled) == len(items) else P.PARTIALLY_REFUNDED if cancelled else P.PAID
    if order_status is O.UNKNOWN:
        payment = P.UNKNOWN
    subtotal = sum((lines[k].unit_price * lines[k].quantity for k in active), ZERO)
    discount = sum((lines[k].discount for k in active), ZERO)
    shipping = sum((_amount(items[k][1], "shippingCost", items[k][2], default=ZERO) for k in active), ZERO)
    first = items[0][1]
    cust = text_or_none(first.get("custName"))
    ship_by = [_ms(item.get("autoCancelDate"), f"{where}.autoCancelDate") for (_, item, where), s in zip(items, statuses) if s == "FP"]
    order = Order(
        external_id=order_no,
        status=order_status,
        payment_status=payment,
        fulfillment_status=fulfillment,
        raw_status=",".join(sorted(set(statuses))),
        created_at=created,
        updated_at=updated,
        paid_at=fp_time,
        ship_by=min((t for t in ship_by if t), default=None),
        currency=CURRENCY,
        subtotal=subtotal,
        discount_total=discount,
        shipping_fee=shipping,
        shipping_fee_actual=None,
        tax_total=ZERO,
        total=subtotal - discount + shipping,
        payment_method=None,
        is_cod=False,
        cod_amount=None,
        buyer_ref=None,
        buyer_name_masked=mask_name(cust),
        buyer_phone_masked=None,
        buyer_is_masked=is_masked(cust),
        ship_city=text_or_none(first.get("shippingCity")),
        ship_region=text_or_none(first.get("shippingProvince")),
        ship_postcode=text_or_none(first.get("shippingZipCode")),
        ship_country="ID",
        note=None,
        source_zone=None,
    )
    return OrderBundle(
        order=order,
        lines=lines,
        shipments=_shipments(packages, order_no),
        returns=_returns(items, statuses, lines),
        mapping_version=MAPPING_VERSION,
        payload_hash=content_hash(raw),
        raw=scrub(raw),
        buyer=BuyerContact(name=cust, street=text_or_none(first.get("shippingStreetAddress"))),
    )


def scrub(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A copy fit to store: buyer names masked, the street and any phone or e-mail dropped."""
    out = dict(raw)
    packages = raw.get("packages")
    if isinstance(packages, list):
        out["packages"] = [_scrub_package(p) for p in packages]
    return out


# -- pieces -------------------------------------------------------------------------------
def _order_no(raw: Mapping[str, Any]) -> str:
    value = raw.get("orderNo")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise MappingError("orderNo: missing")
    return value.strip()


def _packages(raw: Mapping[str, Any]) -> list[tuple[str | None, list[Mapping[str, Any]]]]:
    packages = raw.get("packages")
    if not isinstance(packages, list) or not packages:
        raise MappingError("packages: expected a non-empty list")
    out = []
    for p, package in enumerate(packages):
        if not isinstance(package, Mapping) or not isinstance(package.get("items"), list):
            raise MappingError(f"packages[{p}].items: expected a list")
        for i, item in enumerate(package["items"]):
            if not isinstance(item, Mapping):
                raise MappingError(f"packages[{p}].items[{i}]: expected an object")
        ref = package.get("packageId")
        out.append((None if ref in (None, "") else str(ref), package["items"]))
    return out


def _ms(value: Any, field: str, *, required: bool = False) -> datetime | None:
    if value in (None, "", 0):
        if required:
            raise MappingError(f"{field}: missing")
        return None
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MappingError(f"{field}: expected epoch milliseconds")
    try:
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise MappingError(f"{field}: not a time") from None


def _amount(item: Mapping[str, Any], name: str, where: str, *, default: Decimal | None = None) -> Decimal:
    value = item.get(name)
    if value is None and default is not None:
        return default
    return money(value, field=f"{where}.{name}")


def _line(item: Mapping[str, Any], where: str) -> OrderLine:
    qty = item.get("qty")
    if isinstance(qty, Decimal) and qty == qty.to_integral_value():
        qty = int(qty)
    if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0:  # 0: the item was cancelled (V2 reference)
        raise MappingError(f"{where}.qty: expected a whole number, 0 or more")
    item_no = text_or_none(item.get("orderItemNo"))
    if item_no is None:
        raise MappingError(f"{where}.orderItemNo: missing")
    unit = _amount(item, "productPrice", where)
    final = _amount(item, "finalPrice", where)
    return OrderLine(
        external_line_id=item_no,
        item_id=text_or_none(item.get("gdnSku")),
        variant_id=None,
        sku=text_or_none(item.get("merchantSku")),
        name=text_or_none(item.get("itemName")) or text_or_none(item.get("productName")) or "",
        quantity=qty,
        unit_price=unit,
        discount=(unit - final) * qty,
        total=final * qty,
    )


def _order_status(statuses: list[str]) -> tuple[OrderStatus, FulfillmentStatus]:
    if any(s not in STATUS_TABLE for s in statuses):
        return O.UNKNOWN, F.UNKNOWN
    live = [s for s in statuses if s != CANCELLED]
    if not live:
        return O.CANCELLED, F.CANCELLED
    least = min(live, key=RANK.__getitem__)
    order_status, fulfillment, _ = STATUS_TABLE[least]
    return order_status, fulfillment


def _shipments(packages: list[tuple[str | None, list[Mapping[str, Any]]]], order_no: str) -> tuple[Shipment, ...]:
    out = []
    for ref, items in packages:
        live = [i for i in items if i.get("orderStatus") != CANCELLED]
        if not live:
            continue
        status = min((i.get("orderStatus") for i in live), key=lambda s: RANK.get(s, -1))
        awb = next((text_or_none(i.get("awbNumber")) for i in live if text_or_none(i.get("awbNumber"))), None)
        first = live[0]
        out.append(
            Shipment(
                package_ref=ref or order_no,
                courier=text_or_none(first.get("logisticsProductName")) or text_or_none(first.get("logisticService")),
                service=text_or_none(first.get("logisticService")),
                tracking_number=awb,
                tracking_status=STATUS_TABLE[status][2] if status in STATUS_TABLE else T.UNKNOWN,
                tracking_sub_status=None,
                raw_status=status,
                last_event_at=None,
                cod_collected=None,
            )
        )
    return tuple(out)


def _returns(items: list[tuple[Any, Mapping[str, Any], str]], statuses: list[str], lines: tuple[OrderLine, ...]) -> tuple[Return, ...]:
    out = []
    for (_, item, where), status, line in zip(items, statuses, lines):
        if status not in (CANCELLED, "CR"):
            continue
        out.append(
            Return(
                external_id=f"{line.external_line_id}-{status}",
                type=ReturnType.CANCELLATION if status == CANCELLED else ReturnType.UNKNOWN,
                status=ReturnStatus.UNKNOWN if status == CANCELLED else ReturnStatus.REQUESTED,
                raw_status=status,
                reason=None,
                refund_amount=line.total if status == CANCELLED else None,
                return_shipping_cost=None,
                items=({k: v for k, v in (("line_id", line.external_line_id), ("sku", line.sku), ("name", line.name or None), ("quantity", line.quantity)) if v is not None},),
                created_at=_ms(item.get("updatedDate"), f"{where}.updatedDate"),
                currency=CURRENCY if status == CANCELLED else None,
            )
        )
    return tuple(out)


def _scrub_package(package: Any) -> Any:
    if not isinstance(package, Mapping) or not isinstance(package.get("items"), list):
        return package
    return {**package, "items": [_scrub_item(i) for i in package["items"]]}


def _scrub_item(item: Any) -> Any:
    if not isinstance(item, Mapping):
        return item
    out = {k: v for k, v in item.items() if k not in ("shippingStreetAddress", "custPhone", "custEmail", "customerEmail", "customerPhone")}
    if isinstance(item.get("custName"), str):
        out["custName"] = mask_name(item["custName"]) or ""
    return out
