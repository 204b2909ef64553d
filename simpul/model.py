"""The canonical model as tables (SQLModel), plus the hub's own bookkeeping tables.

Order-side tables mirror ``simpul.canonical`` column for column (a test keeps them in
step) and add the keys: every row is addressed by its natural key ``(account_id,
external id)``, never by a surrogate id, so bulk upserts need no read-back.

Money columns use ``Money``: exact NUMERIC on PostgreSQL, decimal text on SQLite (which
has no exact decimal type and would otherwise round through float).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Context, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from simpul.canonical import (
    FulfillmentStatus,
    OrderStatus,
    PaymentStatus,
    ReturnReason,
    ReturnStatus,
    ReturnType,
    TrackingStatus,
)

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Money(TypeDecorator):
    """Exact decimal: NUMERIC(20, 4) on PostgreSQL, text on SQLite."""

    impl = sa.Numeric(20, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(40))
        return dialect.type_descriptor(sa.Numeric(20, 4))

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value)
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Decimal | None:
        if value is None:
            return None
        return plain_decimal(Decimal(value))


def plain_decimal(value: Decimal) -> Decimal:
    """Trailing zeros dropped, never an exponent: NUMERIC's 10000.0000 reads as 10000.

    Never raises: a value beyond what the column should hold (``1E+308`` stored on SQLite
    before the boundary check existed, or an infinity) reads back as it is, so listing
    orders cannot crash on one bad row.
    """
    if not value.is_finite():
        return value
    value = value.normalize()
    exponent = value.as_tuple().exponent
    if exponent <= 0:
        return value
    digits = len(value.as_tuple().digits) + exponent
    if digits > 1000:  # would print a thousand zeros; keep the exponent form
        return value
    return value.quantize(Decimal(1), context=Context(prec=max(28, digits)))


def _enum(enum_cls: type) -> sa.Enum:
    # Stored as plain strings (no native enum type): adding a status needs no migration.
    return sa.Enum(enum_cls, values_callable=lambda e: [m.value for m in e], native_enum=False, length=32, validate_strings=True)


def _money(nullable: bool = False) -> Any:
    return Field(default=None if nullable else Decimal(0), sa_type=Money, nullable=nullable)


# -- accounts and credentials ------------------------------------------------------------
class Account(SQLModel, table=True):
    __tablename__ = "account"

    id: str = Field(primary_key=True, max_length=64)
    channel: str = Field(max_length=32, index=True)
    name: str = Field(max_length=200)
    base_url: str = Field(max_length=500)
    status: str = Field(default="active", max_length=32)  # active | credential_error | refresh_failed | disabled
    status_reason: str | None = Field(default=None, max_length=500)
    history_days: int = Field(default=30)  # how far back the first sync reaches
    created_at: datetime
    last_sync_at: datetime | None = None


class Credential(SQLModel, table=True):
    """One encrypted credential set. ``envelope`` is the vault's JSON; no plaintext here."""

    __tablename__ = "credential"

    account_id: str = Field(primary_key=True, foreign_key="account.id", max_length=64)
    key_id: str = Field(max_length=64)
    envelope: str = Field(sa_type=sa.Text)
    updated_at: datetime
    # When the tokens inside stop working (not secret; shown by `simpul accounts list`).
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    authorization_expires_at: datetime | None = None  # the seller's grant, as the channel announces it


class VaultSecret(SQLModel, table=True):
    """A hub-wide secret (the buyer-matching pepper, the audit-anchor key), sealed by the vault."""

    __tablename__ = "vault_secret"

    name: str = Field(primary_key=True, max_length=64)
    key_id: str = Field(max_length=64)
    envelope: str = Field(sa_type=sa.Text)
    created_at: datetime


# -- canonical orders --------------------------------------------------------------------
class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (sa.UniqueConstraint("account_id", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(foreign_key="account.id", max_length=64)
    channel: str = Field(max_length=32)
    external_id: str = Field(max_length=100)
    status: OrderStatus = Field(sa_type=_enum(OrderStatus))
    payment_status: PaymentStatus = Field(sa_type=_enum(PaymentStatus))
    fulfillment_status: FulfillmentStatus = Field(sa_type=_enum(FulfillmentStatus))
    raw_status: str = Field(max_length=64)
    created_at: datetime
    updated_at: datetime  # the source's update time: the version guard's first key
    paid_at: datetime | None = None
    ship_by: datetime | None = None
    currency: str = Field(max_length=3)
    subtotal: Decimal = _money()
    discount_total: Decimal = _money()
    shipping_fee: Decimal = _money()
    shipping_fee_actual: Decimal | None = _money(nullable=True)
    tax_total: Decimal = _money()
    total: Decimal = _money()
    payment_method: str | None = Field(default=None, max_length=100)
    is_cod: bool = False
    cod_amount: Decimal | None = _money(nullable=True)
    buyer_ref: str | None = Field(default=None, max_length=100)
    buyer_name_masked: str | None = Field(default=None, max_length=200)
    buyer_phone_masked: str | None = Field(default=None, max_length=50)
    buyer_is_masked: bool = False
    # Buyer contact (name, phone, e-mail, street) only as a vault envelope bound to this
    # order, plus keyed HMAC tokens of the normalised phone and e-mail for matching.
    buyer_contact: str | None = Field(default=None, sa_type=sa.Text)
    buyer_key_id: str | None = Field(default=None, max_length=64)
    buyer_phone_token: str | None = Field(default=None, max_length=64, index=True)
    buyer_email_token: str | None = Field(default=None, max_length=64, index=True)
    pii_purged_at: datetime | None = None
    ship_city: str | None = Field(default=None, max_length=200)
    ship_region: str | None = Field(default=None, max_length=200)
    ship_postcode: str | None = Field(default=None, max_length=20)
    ship_country: str | None = Field(default=None, max_length=2)
    note: str | None = Field(default=None, sa_type=sa.Text)
    source_zone: str | None = Field(default=None, max_length=64)
    discount_seller: Decimal | None = _money(nullable=True)
    discount_platform: Decimal | None = _money(nullable=True)
    buyer_service_fee: Decimal | None = _money(nullable=True)
    payload_hash: str = Field(max_length=64)  # tie-breaker of the version guard; raw_payload key
    mapping_version: str = Field(max_length=32)
    written_at: datetime  # when Simpul last changed this row


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_line"
    __table_args__ = (sa.UniqueConstraint("account_id", "order_external_id", "external_line_id"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(max_length=64)
    order_external_id: str = Field(max_length=100)
    external_line_id: str = Field(max_length=100)
    item_id: str | None = Field(default=None, max_length=100)
    variant_id: str | None = Field(default=None, max_length=100)
    sku: str | None = Field(default=None, max_length=200)
    name: str = Field(sa_type=sa.Text)
    quantity: int
    unit_price: Decimal = _money()
    discount: Decimal = _money()
    total: Decimal = _money()


class Shipment(SQLModel, table=True):
    __tablename__ = "shipment"
    __table_args__ = (sa.UniqueConstraint("account_id", "order_external_id", "package_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(max_length=64)
    order_external_id: str = Field(max_length=100)
    package_ref: str = Field(max_length=100)
    courier: str | None = Field(default=None, max_length=200)
    service: str | None = Field(default=None, max_length=200)
    tracking_number: str | None = Field(default=None, max_length=100, index=True)
    tracking_status: TrackingStatus = Field(sa_type=_enum(TrackingStatus))
    tracking_sub_status: str | None = Field(default=None, max_length=64)
    raw_status: str | None = Field(default=None, max_length=64)
    last_event_at: datetime | None = None
    cod_collected: Decimal | None = _money(nullable=True)


class TrackingEvent(SQLModel, table=True):
    __tablename__ = "tracking_event"
    __table_args__ = (sa.Index("ix_tracking_event_order", "account_id", "order_external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(max_length=64)
    order_external_id: str = Field(max_length=100)
    package_ref: str = Field(max_length=100)
    occurred_at: datetime
    status: TrackingStatus = Field(sa_type=_enum(TrackingStatus))
    raw_code: str | None = Field(default=None, max_length=64)
    message: str | None = Field(default=None, sa_type=sa.Text)
    location: str | None = Field(default=None, max_length=200)


class Parcel(SQLModel, table=True):
    """One parcel as its courier tracks it, read by key (courier, airway bill).

    Apart from the order's ``shipment`` rows (which an order sync replaces with what the
    marketplace says), so a courier's newer word survives the next order sync. The guard
    is ``last_event_at`` (then ``payload_hash``): an older reply never overwrites a newer one.
    ``account_id``/``order_external_id`` link it to the order whose shipment carries the
    airway bill, when one does; ``tracker_account_id`` is the aggregator account reading it.
    """

    __tablename__ = "parcel"
    __table_args__ = (sa.UniqueConstraint("tracking_number", "courier"), sa.Index("ix_parcel_due", "done", "next_check_at"))

    id: int | None = Field(default=None, primary_key=True)
    courier: str = Field(max_length=32)
    tracking_number: str = Field(max_length=100)
    tracker_account_id: str | None = Field(default=None, max_length=64)
    account_id: str | None = Field(default=None, max_length=64)
    order_external_id: str | None = Field(default=None, max_length=100)
    service: str | None = Field(default=None, max_length=64)
    status: TrackingStatus = Field(sa_type=_enum(TrackingStatus))
    sub_status: str | None = Field(default=None, max_length=64)
    raw_status: str | None = Field(default=None, max_length=64)
    return_to_sender: bool = False  # on its way back to the sender, or back there
    last_event_at: datetime | None = None
    last_message: str | None = Field(default=None, sa_type=sa.Text)
    delivered_at: datetime | None = None
    shipped_at: datetime | None = None
    payload_hash: str | None = Field(default=None, max_length=64)
    mapping_version: str | None = Field(default=None, max_length=32)
    done: bool = False  # delivered, back at the sender, or expired: no more looks
    not_found: int = 0  # replies in a row in which the channel did not know the airway bill
    quiet: int = 0  # looks in a row that brought no new scan (spaces the next look out)
    checked_at: datetime | None = None
    next_check_at: datetime | None = None
    created_at: datetime


class ParcelEvent(SQLModel, table=True):
    """One scan of a parcel; the same parcel, time and raw code is one row, however often read."""

    __tablename__ = "parcel_event"
    __table_args__ = (sa.UniqueConstraint("parcel_id", "occurred_at", "raw_code"),)

    id: int | None = Field(default=None, primary_key=True)
    parcel_id: int = Field(foreign_key="parcel.id")
    occurred_at: datetime
    status: TrackingStatus = Field(sa_type=_enum(TrackingStatus))
    raw_code: str = Field(default="", max_length=64)  # "" when the courier sends none
    message: str | None = Field(default=None, sa_type=sa.Text)
    location: str | None = Field(default=None, max_length=200)


class TrackingRoute(SQLModel, table=True):
    """Which tracking (aggregator) account reads the parcels of a courier: a hub setting."""

    __tablename__ = "tracking_route"

    courier: str = Field(primary_key=True, max_length=32)
    account_id: str = Field(foreign_key="account.id", max_length=64)


class Return(SQLModel, table=True):
    """A return, refund or cancellation of an order, from one of three sources (``source``):

    - ``order``: the order payload's summary (replaced with the order on every change);
    - ``stream``: the channel's returns stream, version-guarded on its own (``updated_at``,
      then ``payload_hash``): an older record never overwrites a newer one;
    - ``parcel``: a return to sender that tracking saw (``simpul.parcels``).

    One return is one row: a ``stream`` row supersedes ``order`` and ``parcel`` rows of the
    same order and type, and an ``order`` row supersedes a ``parcel`` row (``store``).
    """

    __tablename__ = "order_return"
    __table_args__ = (sa.UniqueConstraint("account_id", "order_external_id", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(max_length=64)
    order_external_id: str = Field(max_length=100)
    external_id: str = Field(max_length=100)
    type: ReturnType = Field(sa_type=_enum(ReturnType))
    status: ReturnStatus = Field(sa_type=_enum(ReturnStatus))
    raw_status: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, sa_type=sa.Text)
    refund_amount: Decimal | None = _money(nullable=True)
    return_shipping_cost: Decimal | None = _money(nullable=True)
    items: list = Field(default_factory=list, sa_type=sa.JSON)
    created_at: datetime | None = None
    reason_code: ReturnReason = Field(default=ReturnReason.UNKNOWN, sa_type=_enum(ReturnReason))
    updated_at: datetime | None = None
    currency: str | None = Field(default=None, max_length=3)
    tracking_number: str | None = Field(default=None, max_length=100)
    shipping_paid_by: str | None = Field(default=None, max_length=16)
    respond_by: datetime | None = None
    source: str = Field(default="order", max_length=16)  # order | stream | parcel
    payload_hash: str | None = Field(default=None, max_length=64)
    mapping_version: str | None = Field(default=None, max_length=32)


class DispositionRule(SQLModel, table=True):
    """A seller's rule: what the goods of a return of this type and reason become when they
    come back (``simpul.returns``). ``*`` matches any type or reason; the most specific
    rule wins. ``inspect`` means a person decides item by item."""

    __tablename__ = "disposition_rule"

    return_type: str = Field(primary_key=True, max_length=32)  # a ReturnType value, or *
    reason_code: str = Field(primary_key=True, max_length=32)  # a ReturnReason value, or *
    disposition: str = Field(max_length=16)  # restock | refurbish | write_off | dispute | inspect
    updated_by: str = Field(max_length=64)
    updated_at: datetime


class ReturnDisposition(SQLModel, table=True):
    """What became of one item (SKU) of a return once it came back, who decided and when.

    Keyed by the return's natural key, not its row: an order-derived return row is
    replaced with its order, its disposition is not. ``restock_quantity`` is what stock
    sync may add back; ``loss`` the value written off (the order line's unit price)."""

    __tablename__ = "return_disposition"
    __table_args__ = (sa.UniqueConstraint("account_id", "order_external_id", "return_external_id", "sku"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(max_length=64)
    order_external_id: str = Field(max_length=100)
    return_external_id: str = Field(max_length=100)
    sku: str = Field(max_length=200)
    quantity: int
    disposition: str = Field(max_length=16)
    restock_quantity: int = 0
    loss: Decimal | None = _money(nullable=True)
    currency: str | None = Field(default=None, max_length=3)
    rule: str | None = Field(default=None, max_length=80)  # the rule that decided it, TYPE/REASON; None: a person
    decided_by: str = Field(max_length=64)
    decided_at: datetime


class CodRemittance(SQLModel, table=True):
    """One line of a COD payout report (a courier's or aggregator's), as imported.

    Matched to delivered COD parcels by airway bill, else by order number, never by
    buyer (``simpul.cod``). One file imported twice is the same lines (``file_hash``)."""

    __tablename__ = "cod_remittance"
    __table_args__ = (sa.UniqueConstraint("file_hash", "line_no"),)

    id: int | None = Field(default=None, primary_key=True)
    remitter: str = Field(max_length=64)  # who paid: a courier or aggregator name
    file_hash: str = Field(max_length=64)
    line_no: int
    tracking_number: str | None = Field(default=None, max_length=100)
    order_external_id: str | None = Field(default=None, max_length=100)
    amount: Decimal = _money()
    currency: str = Field(default="IDR", max_length=3)
    paid_at: datetime | None = None
    reference: str | None = Field(default=None, max_length=200)
    imported_by: str = Field(max_length=64)
    imported_at: datetime


class Settlement(SQLModel, table=True):
    """What a marketplace paid the seller for one order, from a ``settlements`` stream
    (``canonical.Settlement``): one row per order, version-guarded like a stream return
    (``updated_at``, then ``payload_hash``). ``simpul.cod`` counts a COD order's
    settlement as its payout."""

    __tablename__ = "order_settlement"
    __table_args__ = (sa.UniqueConstraint("account_id", "order_external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(max_length=64)
    order_external_id: str = Field(max_length=100)
    payout_amount: Decimal = _money()
    released_at: datetime
    updated_at: datetime
    currency: str | None = Field(default=None, max_length=3)
    expected_amount: Decimal | None = _money(nullable=True)
    buyer_total: Decimal | None = _money(nullable=True)
    commission_fee: Decimal | None = _money(nullable=True)
    service_fee: Decimal | None = _money(nullable=True)
    transaction_fee: Decimal | None = _money(nullable=True)
    shipping_fee_actual: Decimal | None = _money(nullable=True)
    shipping_fee_buyer: Decimal | None = _money(nullable=True)
    shipping_rebate: Decimal | None = _money(nullable=True)
    refund_amount: Decimal | None = _money(nullable=True)
    adjustment_amount: Decimal | None = _money(nullable=True)
    payment_method: str | None = Field(default=None, max_length=64)
    payload_hash: str = Field(max_length=64)
    mapping_version: str | None = Field(default=None, max_length=32)


class HubSetting(SQLModel, table=True):
    """A seller setting, for every account (``*``) or one (e.g. ``packing_cost``)."""

    __tablename__ = "hub_setting"

    account_id: str = Field(default="*", primary_key=True, max_length=64)
    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=200)
    updated_by: str = Field(max_length=64)
    updated_at: datetime


class RawPayload(SQLModel, table=True):
    """The channel's payload as received (buyer PII masked by the mapping's ``scrub``)."""

    __tablename__ = "raw_payload"

    payload_hash: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(max_length=64)
    external_id: str = Field(max_length=100)
    body: str = Field(sa_type=sa.Text)
    received_at: datetime


# -- sync bookkeeping --------------------------------------------------------------------
class SyncCursor(SQLModel, table=True):
    """Between runs: where the next incremental run starts (before its lookback)."""

    __tablename__ = "sync_cursor"

    account_id: str = Field(primary_key=True, max_length=64)
    stream: str = Field(primary_key=True, max_length=32)
    until: datetime
    updated_at: datetime


class SyncCheckpoint(SQLModel, table=True):
    """Inside a run: the plan and the position after the last committed page."""

    __tablename__ = "sync_checkpoint"

    account_id: str = Field(primary_key=True, max_length=64)
    job: str = Field(primary_key=True, max_length=32)  # incremental | resync
    run_id: str = Field(max_length=64)
    state: str = Field(sa_type=sa.Text)  # JSON
    updated_at: datetime


class SyncRun(SQLModel, table=True):
    __tablename__ = "sync_run"

    run_id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(max_length=64, index=True)
    job: str = Field(max_length=32)
    status: str = Field(max_length=32)  # running | completed | failed | abandoned (its process died)
    started_at: datetime
    finished_at: datetime | None = None
    counts: str = Field(default="{}", sa_type=sa.Text)  # JSON: new/changed/unchanged/...
    error: str | None = Field(default=None, sa_type=sa.Text)


class SyncLock(SQLModel, table=True):
    """Keeps two syncs of one account from overlapping (a lease; see simpul.locks)."""

    __tablename__ = "sync_lock"

    account_id: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=200)
    expires_at: datetime


class Quarantine(SQLModel, table=True):
    """A payload that could not be mapped, kept (scrubbed) with the reason, for replay."""

    __tablename__ = "quarantine"
    __table_args__ = (sa.UniqueConstraint("account_id", "payload_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(max_length=64, index=True)
    channel: str = Field(max_length=32)
    stream: str = Field(default="orders", max_length=16)  # the stream kind whose mapping refused it
    external_id: str | None = Field(default=None, max_length=100)
    payload_hash: str = Field(max_length=64)
    reason: str = Field(sa_type=sa.Text)
    payload: str = Field(sa_type=sa.Text)
    mapping_version: str = Field(max_length=32)
    first_seen_at: datetime
    last_seen_at: datetime
    attempts: int = 1
    resolved_at: datetime | None = None


# -- audit -------------------------------------------------------------------------------
class AuditEntry(SQLModel, table=True):
    """One link of the hash chain. ``hash`` covers every other column and ``prev_hash``."""

    __tablename__ = "audit_log"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    ts: str = Field(max_length=40)  # ISO-8601 UTC text: hashed exactly as stored
    actor: str = Field(max_length=200)
    run_id: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=64)
    account_id: str | None = Field(default=None, max_length=64)
    entity_type: str | None = Field(default=None, max_length=32)
    entity_key: str | None = Field(default=None, max_length=200)
    summary: str = Field(sa_type=sa.Text)  # canonical JSON, no buyer data
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The chain's head, locked by each appender so concurrent writers form one chain."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(default="0" * 64, max_length=64)
