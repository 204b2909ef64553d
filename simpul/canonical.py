"""The canonical order model as plain values: what a mapping returns.

Mappings are pure functions ``raw payload -> OrderBundle``; they must not need a database
to run, so they build these frozen dataclasses rather than ORM rows. ``simpul.model``
defines the tables with the same column names, and ``tests/test_model.py`` keeps the two
in step.

Status axes are separate enums (order, payment, fulfillment, tracking, return), each with
an ``UNKNOWN`` bucket: a channel status we have never seen maps to ``UNKNOWN``, never to a
guess. Money is ``Decimal`` (parsed from text, never through float) with an ISO currency;
times are timezone-aware UTC.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, is_dataclass
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any


class OrderStatus(str, enum.Enum):
    PENDING = "pending"  # created, waiting for payment
    OPEN = "open"  # paid (or COD accepted), being worked on
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    # Some units cancelled or sent back while others are still on their way (Lazada's
    # per-item statuses: one shipped, one cancelled). Stored as a plain string of at most
    # 32 characters like every status (simpul.model._enum): no migration needed.
    PARTIAL = "partial"
    UNKNOWN = "unknown"


class PaymentStatus(str, enum.Enum):
    UNPAID = "unpaid"
    PAID = "paid"
    COD_PENDING = "cod_pending"  # cash on delivery, not collected yet
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    FAILED = "failed"
    VOIDED = "voided"  # cancelled before any money moved
    UNKNOWN = "unknown"


class FulfillmentStatus(str, enum.Enum):
    UNFULFILLED = "unfulfilled"
    READY_TO_SHIP = "ready_to_ship"  # shipment arranged, waiting for pickup
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    RETURNED = "returned"
    CANCELLED = "cancelled"
    # Part of what was bought will never be delivered: some units cancelled or returned, the
    # rest fulfilled or on their way (Lazada). A plain string like every status: no migration.
    PARTIAL = "partial"
    UNKNOWN = "unknown"


class TrackingStatus(str, enum.Enum):
    """AfterShip-style tags (shared/reference/storefronts_couriers.md §12)."""

    PENDING = "pending"
    INFO_RECEIVED = "info_received"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    ATTEMPT_FAIL = "attempt_fail"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


class ReturnType(str, enum.Enum):
    BUYER_RETURN = "buyer_return"
    RETURN_TO_SENDER = "return_to_sender"  # courier could not deliver (e.g. COD refused)
    CANCELLATION = "cancellation"
    REFUND = "refund"  # money back without goods coming back
    UNKNOWN = "unknown"


class ReturnReason(str, enum.Enum):
    """Why goods or money go back, in a small taxonomy (issue 12 §1). Each mapping maps its
    channel's documented reasons by a table and keeps the raw reason in ``Return.reason``;
    a reason no table names is ``UNKNOWN`` (counted, never guessed)."""

    DAMAGED = "damaged"  # broken, defective, not working
    WRONG_ITEM = "wrong_item"  # wrong product, variant or quantity, or parts missing
    NOT_AS_DESCRIBED = "not_as_described"  # differs from the listing, fake
    SIZE_FIT = "size_fit"
    CHANGED_MIND = "changed_mind"  # the buyer no longer wants it (incl. ordered by mistake)
    FAILED_DELIVERY = "failed_delivery"  # never arrived, refused at the door, COD refused
    OTHER = "other"  # a reason the channel names but that is none of the above
    UNKNOWN = "unknown"  # no reason given, or one no table names


class ReturnStatus(str, enum.Enum):
    REQUESTED = "requested"
    APPROVED = "approved"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    REFUNDED = "refunded"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    CLOSED = "closed"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class OrderLine:
    external_line_id: str
    item_id: str | None
    variant_id: str | None
    sku: str | None
    name: str
    quantity: int
    unit_price: Decimal
    discount: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class Shipment:
    """One parcel. ``tracking_number`` may be None: it often arrives after the order."""

    package_ref: str
    courier: str | None
    service: str | None
    tracking_number: str | None
    tracking_status: TrackingStatus
    tracking_sub_status: str | None
    raw_status: str | None
    last_event_at: datetime | None
    cod_collected: Decimal | None


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    package_ref: str
    occurred_at: datetime
    status: TrackingStatus
    raw_code: str | None
    message: str | None
    location: str | None


@dataclass(frozen=True, slots=True)
class Return:
    external_id: str
    type: ReturnType
    status: ReturnStatus
    raw_status: str | None
    reason: str | None
    refund_amount: Decimal | None
    return_shipping_cost: Decimal | None
    items: tuple[dict, ...]  # {"sku", "line_id", "name", "quantity": int, "refund": "decimal text"}, as known
    created_at: datetime | None
    # What a returns stream knows beyond an order's summary (defaults for order-derived rows):
    reason_code: ReturnReason = ReturnReason.UNKNOWN  # ``reason`` keeps the raw reason
    updated_at: datetime | None = None  # the source's update time: a returns stream's version guard
    currency: str | None = None  # of ``refund_amount`` and ``return_shipping_cost``
    tracking_number: str | None = None  # the return parcel's airway bill
    shipping_paid_by: str | None = None  # who pays the return leg: buyer | seller | platform
    respond_by: datetime | None = None  # the seller must answer by then, or the platform decides


@dataclass(frozen=True, slots=True)
class Order:
    """The order header. Buyer fields hold masked or non-identifying values only."""

    external_id: str
    status: OrderStatus
    payment_status: PaymentStatus
    fulfillment_status: FulfillmentStatus
    raw_status: str
    created_at: datetime
    updated_at: datetime  # the source's own update time: the version guard's first key
    paid_at: datetime | None
    ship_by: datetime | None
    currency: str
    subtotal: Decimal
    discount_total: Decimal
    shipping_fee: Decimal  # what the buyer paid for shipping
    shipping_fee_actual: Decimal | None  # what the courier charged, when the channel says
    tax_total: Decimal
    total: Decimal
    payment_method: str | None
    is_cod: bool
    cod_amount: Decimal | None
    buyer_ref: str | None  # channel buyer id or username; never a name or phone
    buyer_name_masked: str | None
    buyer_phone_masked: str | None
    buyer_is_masked: bool  # the channel itself hid the buyer (e.g. Shopee)
    ship_city: str | None
    ship_region: str | None
    ship_postcode: str | None
    ship_country: str | None
    note: str | None
    source_zone: str | None  # IANA zone when the source gave local times without offset
    # Who funds ``discount_total``, where the channel says (TikTok Shop's ``payment``): the
    # seller's own discount costs the seller, the platform's subsidy does not. None: not said.
    discount_seller: Decimal | None = None
    discount_platform: Decimal | None = None
    buyer_service_fee: Decimal | None = None  # a platform fee the buyer paid on top of the goods (TikTok Indonesia)


@dataclass(frozen=True, slots=True)
class BuyerContact:
    """The buyer as the channel sent it, plain text. Never stored or logged as is.

    The engine seals it with the vault (``buyer_contact`` column) and keeps only keyed
    HMAC tokens of the phone and e-mail for matching (``simpul.pii``).
    """

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    street: str | None = None

    def __repr__(self) -> str:  # a stray print or traceback must not show the buyer
        return "BuyerContact(<redacted>)"

    def is_empty(self) -> bool:
        return not (self.name or self.phone or self.email or self.street)


@dataclass(frozen=True, slots=True)
class OrderBundle:
    """Everything one raw order payload maps to."""

    order: Order
    lines: tuple[OrderLine, ...] = ()
    shipments: tuple[Shipment, ...] = ()
    events: tuple[TrackingEvent, ...] = ()
    returns: tuple[Return, ...] = ()
    mapping_version: str = ""
    payload_hash: str = ""
    raw: dict = field(default_factory=dict, compare=False, repr=False)  # scrubbed raw
    buyer: BuyerContact | None = field(default=None, repr=False)  # plain: sealed before storing


@dataclass(frozen=True, slots=True)
class ReturnRecord:
    """One record of a ``returns`` stream mapped: a return, refund or cancellation of one
    order, with its own version (``ret.updated_at``, then ``payload_hash``), so a newer
    word on the return wins whatever order sync ran in between."""

    order_external_id: str
    ret: Return
    mapping_version: str = ""
    payload_hash: str = ""
    raw: dict = field(default_factory=dict, compare=False, repr=False)  # scrubbed raw


@dataclass(frozen=True, slots=True)
class Settlement:
    """What a marketplace paid the seller for one order (its escrow or order income).

    ``payout_amount`` is what was released to the seller, ``expected_amount`` what the
    marketplace itself computed the seller would receive before later adjustments (Shopee's
    ``escrow_amount``): they differ when the marketplace adjusted the order afterwards. The
    fees are what it kept, each as the channel names it; ``updated_at`` is the settlement's
    version (the release, or a later adjustment). Amounts are in the order's currency.
    """

    order_external_id: str
    payout_amount: Decimal
    released_at: datetime
    updated_at: datetime
    currency: str | None = None  # None: the order's currency (the channel does not say it here)
    expected_amount: Decimal | None = None
    buyer_total: Decimal | None = None  # what the buyer paid, shipping included
    commission_fee: Decimal | None = None
    service_fee: Decimal | None = None
    transaction_fee: Decimal | None = None
    shipping_fee_actual: Decimal | None = None  # what the courier charged
    shipping_fee_buyer: Decimal | None = None  # what the buyer paid for shipping
    shipping_rebate: Decimal | None = None  # the marketplace's shipping subsidy to the seller
    refund_amount: Decimal | None = None  # refunded to the buyer out of this order's income
    adjustment_amount: Decimal | None = None  # the marketplace's later adjustments, summed
    payment_method: str | None = None  # as the channel names it ("Cash on Delivery", ...)


@dataclass(frozen=True, slots=True)
class SettlementRecord:
    """One record of a ``settlements`` stream mapped, versioned like a return
    (``settlement.updated_at``, then ``payload_hash``)."""

    settlement: Settlement
    mapping_version: str = ""
    payload_hash: str = ""
    raw: dict = field(default_factory=dict, compare=False, repr=False)  # scrubbed raw


@dataclass(frozen=True, slots=True)
class ParcelTracking:
    """One parcel's tracking as a tracking mapping returns it (issue 10 §3, one vocabulary).

    ``courier`` is the Simpul courier code (``mappings.couriers``), None when the source's
    own code is not in its table (``raw_courier`` keeps it). ``status``/``sub_status`` are
    the AfterShip-style tag and subtag (storefronts_couriers.md §12), decided by the newest
    event, never an older one. ``returning`` means the parcel is on its way back to, or
    back at, the sender (RTS). ``unknown_codes`` lists the raw status codes that mapped to
    ``UNKNOWN``, so the engine can count them instead of guessing.
    """

    courier: str | None
    tracking_number: str
    status: TrackingStatus
    sub_status: str | None
    raw_status: str | None
    last_event_at: datetime | None
    delivered_at: datetime | None
    returning: bool
    service: str | None
    cod_amount: Decimal | None
    events: tuple[TrackingEvent, ...] = ()
    unknown_codes: tuple[str, ...] = ()
    raw_courier: str | None = None
    mapping_version: str = ""
    payload_hash: str = ""
    raw: dict = field(default_factory=dict, compare=False, repr=False)  # scrubbed raw


class MappingError(ValueError):
    """A payload that cannot be mapped. The message is the quarantine reason.

    WARNING - the message is stored and shown to operators: never put buyer data in it.
    """


def bundle_to_dict(bundle: OrderBundle) -> dict[str, Any]:
    """The canonical JSON form of a bundle (without the stored raw payload)."""
    out = {}
    for name in ("order", "lines", "shipments", "events", "returns", "mapping_version", "payload_hash"):
        value = getattr(bundle, name)
        if isinstance(value, tuple):
            out[name] = [asdict(v) for v in value]
        elif is_dataclass(value):
            out[name] = asdict(value)
        else:
            out[name] = value
    return out


def return_to_dict(record: ReturnRecord) -> dict[str, Any]:
    """The canonical JSON form of a returns-stream record (without the stored raw payload)."""
    return {
        "order_external_id": record.order_external_id,
        "return": asdict(record.ret),
        "mapping_version": record.mapping_version,
        "payload_hash": record.payload_hash,
    }


def tracking_to_dict(tracking: ParcelTracking) -> dict[str, Any]:
    """The canonical JSON form of a parcel's tracking (without the stored raw payload)."""
    out: dict[str, Any] = {}
    for f in fields(tracking):
        if f.name == "raw":
            continue
        value = getattr(tracking, f.name)
        if f.name == "events":
            out[f.name] = [asdict(v) for v in value]
        elif isinstance(value, tuple):
            out[f.name] = list(value)
        else:
            out[f.name] = value
    return out
