"""WooCommerce REST wc/v3 order payload -> canonical ``OrderBundle`` (pure, no I/O).

Sources (shared/reference/storefronts_couriers.md §2):

- woocommerce/woocommerce-rest-api-docs ``source/includes/wp-api-v3/_orders.md``: fields,
  the status enum, embedded ``refunds[]`` with negative totals;
  ``_introduction.md``: money as strings with two decimals, ``date_*`` in the site's zone
  without an offset, ``date_*_gmt`` in GMT.
- woocommerce/woocommerce ``plugins/woocommerce/includes/rest-api/Controllers/Version2/
  class-wc-rest-orders-v2-controller.php`` ``get_formatted_item_data()``: each embedded
  refund is ``{id, reason, total: "-" + amount}`` (the docs' example names the reason
  ``refund``; both names are read) and ``line_items[].price`` is ``total / quantity``,
  a PHP float.

Decisions where the sources are silent (each is a choice, written down):

- External id is ``id`` as a string. ``number`` is only a display value and plugins
  (sequential order numbers) rewrite it; ``id`` is what ``include=`` and the single-order
  route take.
- Times come from the ``_gmt`` fields. Only when an order lacks them do we read the local
  field in ``Asia/Jakarta`` (the payload never names the site's zone; WIB is the common
  case for Indonesian shops) and record that zone in ``source_zone``.
- ``completed`` is terminal in WooCommerce ("requires no further action"; COD shops mark it
  when the cash arrives), so it maps to fulfillment ``delivered``. Mapping it to
  ``shipped`` would make the engine re-read every completed order without a tracking
  number on every run, forever.
- Core WooCommerce has no shipped state: a tracking number in ``meta_data`` moves an
  unfulfilled order to ``shipped``. Recognised keys: ``_wc_shipment_tracking_items``
  (the Shipment Tracking extension's list), ``_resi_<courier>`` (Indonesian shipping
  plugins; the suffix is the courier) and ``_tracking_number`` (+ ``_tracking_provider``).
- ``failed`` is an order still waiting for payment (the buyer may pay again), not a
  cancelled one; ``trash`` is cancelled with payment and fulfillment unknown.
- Unit price is ``subtotal / quantity`` at the subtotal's precision; ``price`` is a float
  and already discounted, so it is not read. Line discount is ``subtotal - total``.
- COD: ``cod_amount`` is the order total; payment is ``cod_pending`` until ``date_paid``
  is set or the order is completed. Refunds (positive ``refund_amount``) make payment
  ``partially_refunded`` / ``refunded`` against the order total.
- Embedded refunds become summary Returns (type ``refund``, status ``refunded``, no date)
  with the id ``<order id>-refund-<refund id>``; their reason's ``reason_code`` comes from
  the returns mapping's table and the reason is masked as that mapping masks it
  (``mappings.woocommerce_returns``). The returns stream's row of the same refund
  supersedes the summary row (``store.supersede_returns``).
- Buyer: billing name and phone, masked here (the channel does not mask, so
  ``buyer_is_masked`` is False); ``buyer_ref`` is ``customer_id`` unless 0 (a guest).
  Ship-to city/region/postcode/country come from ``shipping`` or, when it is empty,
  ``billing``. Street lines and e-mail are never read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from mappings._common import ZERO, amount_or_zero, list_field, mask_name, mask_phone, money, ref, text_or_none, utc_from_iso
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

MAPPING_VERSION = "woocommerce-2"
ASSUMED_SITE_ZONE = "Asia/Jakarta"

O, P, F = OrderStatus, PaymentStatus, FulfillmentStatus
STATUS_TABLE: dict[str, tuple[OrderStatus, PaymentStatus, FulfillmentStatus]] = {
    "checkout-draft": (O.PENDING, P.UNPAID, F.UNFULFILLED),  # block checkout, not placed yet
    "pending": (O.PENDING, P.UNPAID, F.UNFULFILLED),  # awaiting payment
    "on-hold": (O.PENDING, P.UNPAID, F.UNFULFILLED),  # awaiting payment confirmation (e.g. bank transfer)
    "failed": (O.PENDING, P.FAILED, F.UNFULFILLED),  # payment failed; the buyer may pay again
    "processing": (O.OPEN, P.PAID, F.UNFULFILLED),  # paid (or COD accepted), to be shipped
    "completed": (O.COMPLETED, P.PAID, F.DELIVERED),  # terminal: fulfilled and done
    "cancelled": (O.CANCELLED, P.VOIDED, F.CANCELLED),
    "refunded": (O.CANCELLED, P.REFUNDED, F.CANCELLED),
    "trash": (O.CANCELLED, P.UNKNOWN, F.UNKNOWN),  # binned by the shop; its past is unknown
}
UNKNOWN_STATUS = (O.UNKNOWN, P.UNKNOWN, F.UNKNOWN)

TRACKING_BY_STATUS = {
    "processing": TrackingStatus.INFO_RECEIVED,  # the shop holds a waybill; no courier scan seen
    "on-hold": TrackingStatus.INFO_RECEIVED,
    "completed": TrackingStatus.DELIVERED,
}
SHIPMENT_TRACKING_ITEMS = "_wc_shipment_tracking_items"
RESI_PREFIX = "_resi_"
TRACKING_NUMBER, TRACKING_PROVIDER = "_tracking_number", "_tracking_provider"

# meta_data keys holding personal data are dropped by scrub() (matched on "_"-separated words).
PERSONAL_META_WORDS = frozenset({"email", "phone", "ip", "agent", "address", "nik", "ktp"})


def external_id(raw: Mapping[str, Any]) -> str | None:
    try:
        return _order_id(raw)
    except MappingError:
        return None


def map_order(raw: Mapping[str, Any]) -> OrderBundle:
    if not isinstance(raw, Mapping):
        raise MappingError("payload: expected a JSON object")
    order_id = _order_id(raw)
    status = raw.get("status")
    if not isinstance(status, str) or not status:
        raise MappingError("status: missing")
    times = SiteTimes(raw)
    created_at, updated_at, paid_at = times.require("date_created"), times.require("date_modified"), times.get("date_paid")
    currency = raw.get("currency")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
        raise MappingError("currency: missing or not an ISO 4217 code")
    total = money(raw.get("total"), field="total")
    lines = tuple(_line(item, f"line_items[{i}]") for i, item in enumerate(list_field(raw, "line_items")))
    returns = _refunds(list_field(raw, "refunds"), order_id)
    payment_method = text_or_none(raw.get("payment_method"))
    is_cod = payment_method == "cod"
    tracking = _tracking(list_field(raw, "meta_data"))
    order_status, payment, fulfillment = STATUS_TABLE.get(status, UNKNOWN_STATUS)
    payment = _payment(payment, status=status, is_cod=is_cod, paid_at=paid_at, total=total, returns=returns)
    if tracking and fulfillment is F.UNFULFILLED:
        fulfillment = F.SHIPPED
    buyer, ship_to = _address(raw, "billing"), _ship_to(raw)
    order = Order(
        external_id=order_id,
        status=order_status,
        payment_status=payment,
        fulfillment_status=fulfillment,
        raw_status=status,
        created_at=created_at,
        updated_at=updated_at,
        paid_at=paid_at,
        ship_by=None,
        currency=currency.upper(),
        subtotal=sum((line.total + line.discount for line in lines), ZERO),
        discount_total=amount_or_zero(raw, "discount_total"),
        shipping_fee=_shipping_fee(raw),
        shipping_fee_actual=None,
        tax_total=amount_or_zero(raw, "total_tax"),
        total=total,
        payment_method=payment_method,
        is_cod=is_cod,
        cod_amount=total if is_cod else None,
        buyer_ref=ref(raw.get("customer_id")),
        buyer_name_masked=mask_name(_full_name(buyer)),
        buyer_phone_masked=mask_phone(text_or_none(buyer.get("phone")) or text_or_none(_address(raw, "shipping").get("phone"))),
        buyer_is_masked=False,
        ship_city=text_or_none(ship_to.get("city")),
        ship_region=text_or_none(ship_to.get("state")),
        ship_postcode=text_or_none(ship_to.get("postcode")),
        ship_country=text_or_none(ship_to.get("country")),
        note=text_or_none(raw.get("customer_note")),
        source_zone=ASSUMED_SITE_ZONE if times.used_local else None,
    )
    shipments = _shipments(raw, order_id, status, tracking, cod_collected=total if is_cod and status == "completed" else None)
    return OrderBundle(
        order=order,
        lines=lines,
        shipments=shipments,
        returns=returns,
        mapping_version=MAPPING_VERSION,
        payload_hash=content_hash(raw),
        raw=scrub(raw),
        buyer=_buyer(raw, buyer, ship_to),
    )


def scrub(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A copy fit to store: names and phones masked, e-mail, street, IP and user agent removed.

    The full name goes masked into ``first_name`` (``last_name`` emptied) so that mapping
    the scrubbed copy again (quarantine replay) gives the same masked buyer name.
    """
    # A shallow copy: every personal part is replaced below, never changed in place, and the
    # rest is only read. (A deep copy cost ~0.3 ms an order, a third of a sync: bench/README.md.)
    out = dict(raw)
    for part in ("billing", "shipping"):
        if isinstance(out.get(part), dict):
            out[part] = _scrub_address(out[part])
    out.pop("customer_ip_address", None)
    out.pop("customer_user_agent", None)
    if isinstance(out.get("meta_data"), list):
        out["meta_data"] = [m for m in out["meta_data"] if not is_personal_meta(m)]
    if isinstance(out.get("refunds"), list):  # a reason may name a buyer's account or phone
        mask = _returns_mapping().mask_reason
        out["refunds"] = [
            {**r, **{k: mask(r[k]) or r[k] for k in ("reason", "refund") if isinstance(r.get(k), str)}} if isinstance(r, Mapping) else r for r in out["refunds"]
        ]
    return out


# -- pieces -----------------------------------------------------------------------------------
def _order_id(raw: Mapping[str, Any]) -> str:
    value = raw.get("id")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise MappingError("id: missing or not a positive integer")
    return str(value)


class SiteTimes:
    """Order times from the ``_gmt`` fields, falling back to local time in the assumed zone."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._raw = raw
        self.used_local = False

    def get(self, name: str) -> datetime | None:
        gmt = self._raw.get(f"{name}_gmt")
        if gmt not in (None, ""):
            return utc_from_iso(gmt, field=f"{name}_gmt", assume_zone="UTC")
        local = utc_from_iso(self._raw.get(name), field=name, assume_zone=ASSUMED_SITE_ZONE)
        self.used_local = self.used_local or local is not None
        return local

    def require(self, name: str) -> datetime:
        value = self.get(name)
        if value is None:
            raise MappingError(f"{name}_gmt: missing")
        return value




def _line(item: Any, where: str) -> OrderLine:
    if not isinstance(item, Mapping):
        raise MappingError(f"{where}: expected an object")
    quantity = _quantity(item.get("quantity"), f"{where}.quantity")
    subtotal = money(item.get("subtotal"), field=f"{where}.subtotal")
    total = money(item.get("total"), field=f"{where}.total")
    exponent = min(subtotal.as_tuple().exponent, 0)
    unit_price = (subtotal / quantity).quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP)
    line_id = ref(item.get("id"))
    if line_id is None:
        raise MappingError(f"{where}.id: missing")
    return OrderLine(
        external_line_id=line_id,
        item_id=ref(item.get("product_id")),
        variant_id=ref(item.get("variation_id")),
        sku=text_or_none(item.get("sku")),
        name=text_or_none(item.get("name")) or "",
        quantity=quantity,
        unit_price=unit_price,
        discount=subtotal - total,
        total=total,
    )




def _quantity(value: Any, field: str) -> int:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise MappingError(f"{field}: expected a positive whole number")
    return value


def _refunds(refunds: list[Any], order_id: str) -> tuple[Return, ...]:
    """The embedded summary's refunds. Their ids are the summary's own (``<order>-refund-<id>``),
    not the refund's: the returns stream's row of the refund (``mappings.woocommerce_returns``)
    is then a new row, created once, and the store drops this summary row for it
    (``store.supersede_returns``: same order, same type)."""
    returns = _returns_mapping()
    out = []
    for i, refund in enumerate(refunds):
        if not isinstance(refund, Mapping):
            raise MappingError(f"refunds[{i}]: expected an object")
        amount = money(refund.get("total"), field=f"refunds[{i}].total")
        reason = text_or_none(refund.get("reason") or refund.get("refund"))
        out.append(
            Return(
                external_id=f"{order_id}-refund-{ref(refund.get('id')) or i}",
                type=ReturnType.REFUND,
                status=ReturnStatus.REFUNDED,
                raw_status=None,
                reason=returns.mask_reason(reason),
                refund_amount=abs(amount),
                return_shipping_cost=None,
                items=(),
                created_at=None,  # embedded refunds carry no date
                reason_code=returns.reason_code(reason),
            )
        )
    return tuple(out)


def _returns_mapping() -> Any:
    """The returns mapping, which owns the reason table; imported here, not at the top,
    because it imports this module (times, personal meta)."""
    from mappings import woocommerce_returns

    return woocommerce_returns


def _payment(base: PaymentStatus, *, status: str, is_cod: bool, paid_at: datetime | None, total: Decimal, returns: Sequence[Return]) -> PaymentStatus:
    payment = base
    if is_cod and payment in (P.UNPAID, P.PAID) and paid_at is None and status != "completed":
        payment = P.COD_PENDING
    if payment is P.VOIDED and paid_at is not None:
        payment = P.PAID  # cancelled after the money moved, no refund recorded
    refunded = sum((r.refund_amount or ZERO for r in returns), ZERO)
    if refunded > 0 and payment is not P.REFUNDED:
        payment = P.REFUNDED if refunded >= total else P.PARTIALLY_REFUNDED
    return payment


def _shipping_fee(raw: Mapping[str, Any]) -> Decimal:
    lines = [line for line in list_field(raw, "shipping_lines") if isinstance(line, Mapping)]
    if lines:
        return sum((money(line.get("total"), field=f"shipping_lines[{i}].total") for i, line in enumerate(lines)), ZERO)
    return amount_or_zero(raw, "shipping_total")


def _tracking(meta: list[Any]) -> tuple[str | None, str] | None:
    """(courier, tracking number) from the tracking meta we recognise, newest parcel first."""
    entries = [m for m in meta if isinstance(m, Mapping) and isinstance(m.get("key"), str)]
    values = {m["key"]: m.get("value") for m in entries}
    items = values.get(SHIPMENT_TRACKING_ITEMS)
    items = list(items.values()) if isinstance(items, Mapping) else items if isinstance(items, list) else []
    for item in reversed(items):
        if isinstance(item, Mapping) and _text(item.get("tracking_number")):
            return _text(item.get("custom_tracking_provider")) or _text(item.get("tracking_provider")), _text(item["tracking_number"])
    for entry in entries:
        key, number = entry["key"], _text(entry.get("value"))
        if key.startswith(RESI_PREFIX) and len(key) > len(RESI_PREFIX) and number:
            return key[len(RESI_PREFIX) :], number
    number = _text(values.get(TRACKING_NUMBER))
    return (_text(values.get(TRACKING_PROVIDER)), number) if number else None


def _text(value: Any) -> str | None:
    """Stripped text, or None for blanks and non-strings (meta values may be arrays)."""
    return value.strip() or None if isinstance(value, str) else None


def _shipments(raw: Mapping[str, Any], order_id: str, status: str, tracking: tuple[str | None, str] | None, *, cod_collected: Decimal | None) -> tuple[Shipment, ...]:
    if tracking is None and status != "completed":
        return ()
    courier, number = tracking or (None, None)
    lines = list_field(raw, "shipping_lines")
    first = lines[0] if lines and isinstance(lines[0], Mapping) else {}
    return (
        Shipment(
            package_ref=order_id,
            courier=courier,
            service=text_or_none(first.get("method_title")),
            tracking_number=number,
            tracking_status=TRACKING_BY_STATUS.get(status, TrackingStatus.UNKNOWN),
            tracking_sub_status=None,
            raw_status=None,  # WooCommerce holds no courier status
            last_event_at=None,
            cod_collected=cod_collected,
        ),
    )


def _address(raw: Mapping[str, Any], part: str) -> Mapping[str, Any]:
    value = raw.get(part)
    return value if isinstance(value, Mapping) else {}


def _ship_to(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    shipping = _address(raw, "shipping")
    if any(text_or_none(shipping.get(k)) for k in ("city", "state", "postcode", "country")):
        return shipping
    return _address(raw, "billing")


def _buyer(raw: Mapping[str, Any], billing: Mapping[str, Any], ship_to: Mapping[str, Any]) -> BuyerContact:
    street = ", ".join(p for p in (text_or_none(ship_to.get(k)) for k in ("address_1", "address_2")) if p) or None
    return BuyerContact(
        name=_full_name(billing) or _full_name(ship_to),
        phone=text_or_none(billing.get("phone")) or text_or_none(_address(raw, "shipping").get("phone")),
        email=text_or_none(billing.get("email")),
        street=street,
    )


def _full_name(address: Mapping[str, Any]) -> str | None:
    parts = [text_or_none(address.get(k)) for k in ("first_name", "last_name")]
    return " ".join(p for p in parts if p) or None




def _scrub_address(address: dict[str, Any]) -> dict[str, Any]:
    out = dict(address)
    out["first_name"] = mask_name(_full_name(address)) or ""
    out["last_name"] = ""
    out["company"] = mask_name(text_or_none(address.get("company"))) or ""
    if "phone" in out:
        out["phone"] = mask_phone(text_or_none(address.get("phone"))) or ""
    for key in ("email", "address_1", "address_2"):
        out.pop(key, None)
    return out


def is_personal_meta(entry: Any) -> bool:
    key = entry.get("key") if isinstance(entry, Mapping) else None
    return isinstance(key, str) and bool(PERSONAL_META_WORDS & set(key.lower().strip("_").split("_")))
