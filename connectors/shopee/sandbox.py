"""The Shopee sandbox: a local twin of the Open Platform v2 order, returns and escrow APIs
with seeded orders, returns and payouts.

It enforces the contract the sources document (shared/reference/marketplaces.md §1; the
source keys [S1]... are listed there and in ``client.py``), implemented here on its own:
the sandbox shares no code with the connector it tests, only the plain constants it
imports from ``api`` (paths and documented limits), each pinned to the documentation by
``tests/shopee/test_sandbox.py``. Its signer and its list of optional detail fields are
its own, written from the documentation, so a client that gets either wrong is refused
here instead of agreeing with itself.

- **Signing** ([S1], [S2]; ``signature_base``/``signature``): ``partner_id``,
  ``timestamp`` and ``sign`` in the query of every call, plus ``access_token`` and
  ``shop_id`` for shop APIs; the lowercase-hex HMAC-SHA256 over the documented base
  string. A wrong signature is ``error_sign`` "Wrong sign."; a timestamp more than 5
  minutes from the real clock (``real_time``) is ``error_param`` "Timestamp is expired";
  an unknown or expired access token is ``error_auth`` "Invalid access_token."
- **Tokens**: access tokens live 4 hours (``expire_in`` 14400); ``POST
  /api/v2/auth/access_token/get`` (a public API) trades a refresh token for a new pair
  and retires it (single use); the previous access token stays valid 5 more minutes.
  ``expire_tokens()`` (the ``expire_tokens`` fault knob) expires every access token.
- **get_order_list**: ``time_range_field`` ``update_time``/``create_time``, inclusive
  ``time_from``/``time_to`` at most 15 days apart (``order.order_list_invalid_time``),
  ``page_size`` 1..100 (``error_param`` "Wrong parameters, detail: page_size must be 100
  or less."), ``cursor``/``more``/``next_cursor`` (``""`` at the end).
- **get_order_detail**: ``order_sn_list`` of 1..50; the default fields ([S8]:
  ``DEFAULT_FIELDS``) always, optional fields only when named in
  ``response_optional_fields`` (the sandbox serves ``OPTIONAL_FIELDS``, the part of the
  documented list [S10] it has data for; other documented names are ignored, unknown
  ones too); ``error_not_found`` when no order of the list belongs to the shop.
- **get_mass_tracking_number**: ``success_list`` with ``tracking_number`` ``""`` until the
  courier assigns one, ``fail_list`` for unknown packages.
- **get_shop_info**: a cheap authenticated call (top-level fields, no ``response``), with
  ``auth_time``/``expire_time`` of the seller's authorisation (epoch seconds; the field
  names come from third-party SDK types of this endpoint, e.g. passwind/go-shopee-v2).
- **get_return_list** ([S6], [R1] in ``client.py``): ``page_no`` (a page index from 0) and
  ``page_size`` (1..100) required; ``create_time_from``/``create_time_to`` and
  ``update_time_from``/``update_time_to`` optional, each pair both or neither, inclusive,
  at most 15 days apart, and ``update_time_from`` not before ``create_time_from``
  ("The update_time_from must be after create_time_from."); ``status`` and
  ``negotiation_status`` filters; ``{"more", "return": [...]}`` with the list's fields
  (``RETURN_LIST_FIELDS``). A page holds at most ``return_page_cap`` returns (default
  ``RETURN_PAGE_CAP``, 25, whatever ``page_size`` asks: the seeded shops' returns then take
  several pages, so paging is exercised); ``more`` and ``page_no`` follow that size.
- **get_return_detail** ([R2]): one ``return_sn``; the detail's fields
  (``RETURN_DETAIL_FIELDS``: the list's plus ``negotiation``, ``seller_proof``, the reverse
  logistics status, the pickup address, ``item[].refund_amount``); an unknown
  ``return_sn`` is ``error_data`` "The return you queried doesn't exist."
- **get_escrow_list** ([P1] in ``api.py``): ``release_time_from``/``release_time_to``
  required, both inclusive, ``from`` not after ``to`` (no maximum range is documented, so
  none is enforced); ``page_size`` 1..100 (default 40) and ``page_no`` from 1 (default 1);
  ``{"escrow_list": [{"order_sn", "payout_amount", "escrow_release_time"}], "more"}``: the
  released escrows only, ``payout_amount`` being the detail's
  ``escrow_amount_after_adjustment``.
- **get_escrow_detail** ([P1]): one ``order_sn``; ``{"order_sn", "buyer_user_name"`` (the
  fake username of the order's ``buyer_username``), ``"return_order_sn_list"`` (the
  order's returns), ``"order_income"`` (see Escrow below), ``"buyer_payment_info":
  {"buyer_payment_method"`` (the order's ``payment_method``: "Cash on Delivery" for COD),
  ``"buyer_total_amount", "shipping_fee", "merchant_subtotal"}}``.

Assumptions where the sources are silent (each mirrored by the connector):

- errors come with HTTP 200 and the code in ``error`` (the docs leave the status open;
  rate limits and system errors injected by the fault knobs use 429/5xx);
- the list is ordered by the requested time field, oldest first, ties by ``order_sn``;
  ``cursor`` is an offset into that order, as the documented ``next_cursor: "20"`` hints;
- a detail batch with some unknown order numbers returns the known ones and omits the
  rest; one order has one package; amounts are whole rupiah (JSON integers);
- the return list is ordered by ``update_time``, oldest first, ties by ``return_sn``; a
  return's ``update_time`` moves with every change of its status or reverse logistics;
  the 15-day and pairing refusals of the return list are ``error_param`` (their codes are
  not documented); an unknown ``return_sn`` is ``error_data`` (as third-party clients
  handle it);
- an order's escrow is released when the order completes: ``escrow_release_time`` is the
  time of its COMPLETED step, so only released escrows at or before the data clock's now
  are listed; the list is ordered by ``escrow_release_time``, oldest first, ties by
  ``order_sn``; its parameter refusals are ``error_param`` (their codes are not
  documented); an order that is not completed (even a cancelled one) still has a detail,
  with the income expected; an ``order_sn`` that is not the shop's is ``order_not_found``
  with the message the page's error table gives; a return changes the escrow
  no more than its order (``seller_return_refund`` and ``reverse_shipping_fee`` are 0);
  an item's ``original_price``/``discounted_price`` are its line's subtotals (as [P1]
  says: "the subtotal of that specific item if quantity exceeds 1").

Data: seeded orders over the last 45 days of the data clock, region ID, IDR. Each order
follows a life cycle: UNPAID -> READY_TO_SHIP when paid (COD orders start there) ->
PROCESSED when the shipment is arranged -> the tracking number arrives minutes to hours
later *without* a new ``update_time`` -> SHIPPED -> TO_CONFIRM_RECEIVE -> COMPLETED; some
are never paid and cancelled by the system, some cancelled by the buyer (IN_CANCEL first),
some COD parcels refused at the door (CANCELLED with ``LOGISTICS_DELIVERY_FAILED``), some
returned (TO_RETURN). Buyers are masked the way Shopee masks them (``B**********o``,
``******64``). ``dump_orders()`` returns each order as a complete client should yield it:
the detail with every optional field the sandbox serves, and ``tracking_number`` (``""``
until the courier assigns one) merged into the package once its shipment is arranged.

Admin actions (``POST /_sandbox/<action>``):

- ``mutate``: ``{"touch": [order_sn], "at": epoch|null}`` sets ``update_time`` (default
  now); ``{"insert": n, "at": epoch|null}`` creates n orders; ``{"insert_as": [order_sn]}``
  creates orders with exactly these numbers (hostile ones, e.g. 10 kB long).
- ``poison``: see ``connectors._sandbox.hostile``.
- ``corrupt``: ``{"id": order_sn, "field": "total_amount"|"currency"|"quantity"}`` makes
  one order unmappable (an update, so ``update_time`` moves to now).
- ``returns``: ``{"touch": [return_sn], "at": epoch|null}`` sets their ``update_time``
  (default now); ``{"advance": [return_sn]}`` moves each to its next status now (with the
  reverse logistics steps on the way; a final return is only touched);
  ``{"corrupt": return_sn}`` makes its ``refund_amount`` unreadable and touches it.
- ``escrow``: ``{"release": [order_sn], "at": epoch|null}`` completes each order not yet
  completed at ``at`` (default now; between its last change and now; a cancelled order is
  refused), which releases its escrow (one ``at`` for several orders makes ties);
  ``{"adjust": order_sn, "amount": number, "reason": text|null}`` appends an
  ``order_adjustment`` dated now (the payout moves, the release time does not);
  ``{"corrupt": order_sn}`` makes its detail's ``order_income`` a string no mapper can
  read. The keys combine; the reply names the orders each changed.

Returns: a deterministic quarter of the orders (at least ``orders // 4``; first the orders
whose buyer asked to return them, ``TO_RETURN``, then delivered ones) get one return each,
raised after delivery, refund-only (``REFUND``) or return-and-refund (``RETURN_REFUND``),
with a documented reason ([S6] ``ReturnReason``). Each follows a path of documented
statuses on the data clock: REQUESTED -> PROCESSING (the buyer ships the parcel back:
``LOGISTICS_REQUEST_CREATED`` with a tracking number, ``LOGISTICS_PICKUP_DONE``,
``LOGISTICS_DELIVERY_DONE`` with ``return_seller_due_date``) -> ACCEPTED; or REQUESTED ->
CANCELLED; or a dispute, SELLER_DISPUTE -> JUDGING -> ACCEPTED or CLOSED; refund-only
returns skip PROCESSING. A return does not change its order (assumed: third-party
clients report that a return raised on a completed order leaves its ``order_status`` as it
is). ``dump_returns()`` returns each as ``get_return_detail`` answers it now.

Escrow: the income comes from the order's own money, with the sandbox's fixed fees (whole
rupiah): ``buyer_total_amount`` is the order's ``total_amount`` (item subtotal plus
shipping), ``original_price`` the items' before discount, ``seller_discount`` the
difference; ``commission_fee`` 5% and ``service_fee`` 2% of the item subtotal, rounded
down; ``seller_transaction_fee`` 0; ``buyer_paid_shipping_fee`` and ``actual_shipping_fee``
the order's shipping fee, ``shopee_shipping_rebate`` 0, ``final_shipping_fee`` = buyer paid
- actual + rebate; vouchers, coins and Shopee discounts 0; ``order_adjustment`` only once
the order has one (as [P1] says). Then exactly the documented formula's terms that are not
zero here (``tests/shopee/golden_settlements/FACTS.md``; the items' subtotal stands for
``original_cost_of_goods_sold``)::

    escrow_amount = item subtotal - commission_fee - service_fee - seller_transaction_fee
                    + buyer_paid_shipping_fee - actual_shipping_fee + shopee_shipping_rebate
    escrow_amount_after_adjustment = escrow_amount + total_adjustment_amount  (the list's payout_amount)

``dump_settlements()`` returns each released escrow (release time <= now), oldest first, in
the oracle's terms (``tests/oracle.py``): ``{"order", "payout", "expected", "released_at"}``.

Paging faults (``SandboxApp.page_fault``, on ``get_order_list`` and ``get_escrow_list``;
the escrow list's are ``_escrow_fault``'s, in page numbers): ``empty`` answers
``more: true`` with no orders and a ``next_cursor`` that names the same offset in
another spelling (``"0"`` + the cursor sent: cursors are opaque to clients), so nothing
is skipped; ``repeat`` is a stuck API: ``more: true``, no orders, and the very cursor it
was sent; ``fresh`` is a channel handing out ever-new cursors: ``more: true``, no
orders, and a cursor it never gave before.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import hmac
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from connectors._sandbox import Reply, Request, SandboxClock
from connectors._sandbox.shop import SeededShop

# Plain constants shared with the client, each pinned to the documentation by a test
# (tests/shopee/test_sandbox.py); nothing else of the client's is used here.
from connectors.shopee.api import (
    ACCESS_TOKEN_SECONDS,
    DETAIL_BATCH,
    ESCROW_DETAIL,
    ESCROW_FIRST_PAGE,
    ESCROW_LIST,
    ESCROW_PAGE_SIZE,
    MASS_TRACKING,
    MAX_RANGE_SECONDS,
    OLD_TOKEN_GRACE,
    ORDER_DETAIL,
    ORDER_LIST,
    PAGE_SIZE,
    PUBLIC_PATHS,
    REFRESH,
    RETURN_DETAIL,
    RETURN_LIST,
    RETURN_PAGE_SIZE,
    SHOP_INFO,
    TIMESTAMP_TOLERANCE,
    TRACKING_BATCH,
)

MINUTE, HOUR, DAY = 60, 3600, 86400

# get_order_detail, as [S8]/[S10] list them (marketplaces.md §1.3).
DEFAULT_FIELDS = ("order_sn", "region", "currency", "cod", "order_status", "message_to_seller", "create_time", "update_time", "days_to_ship", "ship_by_date", "booking_sn")
OPTIONAL_FIELDS = (  # the documented optional fields this sandbox has data for
    "buyer_user_id",
    "buyer_username",
    "estimated_shipping_fee",
    "recipient_address",
    "actual_shipping_fee",
    "note",
    "item_list",
    "pay_time",
    "buyer_cancel_reason",
    "cancel_by",
    "cancel_reason",
    "actual_shipping_fee_confirmed",
    "pickup_done_time",
    "package_list",
    "shipping_carrier",
    "payment_method",
    "total_amount",
)


def signature_base(partner_id: int | str, path: str, timestamp: int | str, access_token: str | None = None, shop_id: int | str | None = None) -> str:
    """[S1] "API calls", step 1: the API path (no host) and the common parameters joined
    with no separator, strictly in this order: partner_id, api path, timestamp, then for a
    Shop API access_token and shop_id (a Public API stops after the timestamp)."""
    parts = [str(partner_id), path, str(timestamp)]
    if access_token is not None or shop_id is not None:
        parts += [str(access_token), str(shop_id)]
    return "".join(parts)


def signature(partner_key: str, base: str) -> str:
    """[S1] step 2 and [S2]: HMAC-SHA256 of the base string keyed with the partner key (the
    key's UTF-8 text as the demos use it, not hex-decoded), as all-lowercase hex."""
    mac = hmac.new(key=partner_key.encode("utf-8"), msg=base.encode("utf-8"), digestmod=hashlib.sha256)
    return mac.hexdigest().lower()

HISTORY = 45 * DAY
AUTHORIZATION_DAYS = 365  # [S2]: an authorisation lasts at most 365 days
ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"

# -- seed tables (all fake) -------------------------------------------------------------------
CATALOG = (  # item_id, model_id, item name, model name, sku, original price, discounted price
    (2300101, 0, "Kaos Polos Katun", "", "KAOS-POLOS", 89_000, 79_000),
    (2300102, 91001, "Kemeja Batik Parang", "L", "BATIK-PRG-L", 249_000, 249_000),
    (2300102, 91002, "Kemeja Batik Parang", "XL", "BATIK-PRG-XL", 259_000, 229_000),
    (2300103, 0, "Kopi Arabika Gayo 250 g", "", "KOPI-GAYO-250", 115_000, 115_000),
    (2300104, 91011, "Sambal Bawang", "Pedas", "SAMBAL-PDS", 45_000, 39_000),
    (2300105, 0, "Tas Anyaman Pandan", "", "TAS-ANYAM", 175_000, 175_000),
    (2300106, 0, "Madu Hutan 500 ml", "", "MADU-500", 135_000, 119_000),
)
CARRIERS = (  # logistics_channel_id (synthetic), shipping_carrier
    (80003, "SPX Standard"),
    (80014, "JNE Reguler"),
    (80015, "J&T Express"),
    (80024, "SiCepat REG"),
)
BUYERS = ("Budi Santoso", "Siti Rahayu", "Agus Wijaya", "Dewi Lestari", "Rina Marlina", "Joko Susilo")
CITIES = (  # district, city, state, zipcode
    ("Kebayoran Baru", "Kota Jakarta Selatan", "DKI Jakarta", "12190"),
    ("Coblong", "Kota Bandung", "Jawa Barat", "40132"),
    ("Gubeng", "Kota Surabaya", "Jawa Timur", "60281"),
    ("Medan Baru", "Kota Medan", "Sumatera Utara", "20154"),
    ("Denpasar Barat", "Kota Denpasar", "Bali", "80119"),
)
PAYMENTS = ("Bank BCA (Virtual Account)", "Bank Mandiri (Virtual Account)", "Indomaret", "Shopee Wallet", "Kredivo")
NOTES = ("", "", "", "Tolong dibungkus rapi", "Kirim sore hari")

# step -> (order_status, logistics_status or None to keep); "awb" changes no status
STEPS = {
    "paid": ("READY_TO_SHIP", "LOGISTICS_READY"),
    "processed": ("PROCESSED", "LOGISTICS_REQUEST_CREATED"),
    "shipped": ("SHIPPED", "LOGISTICS_PICKUP_DONE"),
    "delivered": ("TO_CONFIRM_RECEIVE", "LOGISTICS_DELIVERY_DONE"),
    "completed": ("COMPLETED", None),
    "to_return": ("TO_RETURN", None),
    "in_cancel": ("IN_CANCEL", None),
    "cancelled_unpaid": ("CANCELLED", None),
    "cancelled_buyer": ("CANCELLED", "LOGISTICS_INVALID"),
    "failed_delivery": ("CANCELLED", "LOGISTICS_DELIVERY_FAILED"),
}
CANCELS = {  # step -> (cancel_by, cancel_reason, buyer_cancel_reason)
    "cancelled_unpaid": ("system", "Unpaid", ""),
    "cancelled_buyer": ("buyer", "Need to change delivery address", "Need to change delivery address"),
    "failed_delivery": ("system", "Failed Delivery", ""),
}


@dataclass(frozen=True, slots=True)
class Blueprint:
    """Everything about an order that follows from (seed, index, created)."""

    cod: bool
    payment: str
    carrier: int
    lines: tuple[tuple[int, int], ...]  # catalog index, quantity
    shipping_fee: int
    buyer: int
    city: int
    note: str
    tracking_number: str
    package_number: str
    steps: tuple[tuple[int, str], ...]

    @classmethod
    def make(cls, seed: int, index: int, created: int) -> "Blueprint":
        rng = random.Random(seed * 1_000_003 + index * 7919 + 17)
        cod = rng.random() < 0.35
        carrier = rng.randrange(len(CARRIERS))
        return cls(
            cod=cod,
            payment="Cash on Delivery" if cod else rng.choice(PAYMENTS),
            carrier=carrier,
            lines=tuple((i, rng.randint(1, 3)) for i in rng.sample(range(len(CATALOG)), rng.randint(1, 3))),
            shipping_fee=rng.randrange(8, 30) * 1000,
            buyer=rng.randrange(len(BUYERS)),
            city=rng.randrange(len(CITIES)),
            note=rng.choice(NOTES),
            tracking_number=_tracking_number(rng, CARRIERS[carrier][1]),
            package_number="OFG" + "".join(rng.choice("0123456789") for _ in range(15)),
            steps=tuple(_life_cycle(rng, cod, created)),
        )


def _tracking_number(rng: random.Random, carrier: str) -> str:
    digits = "".join(rng.choice("0123456789") for _ in range(12))
    return {"SPX Standard": "SPXID0" + digits, "JNE Reguler": "CGK" + digits, "J&T Express": "JP" + digits[:10], "SiCepat REG": "00" + digits[:10]}[carrier]


def _life_cycle(rng: random.Random, cod: bool, t: int) -> list[tuple[int, str]]:
    steps: list[tuple[int, str]] = []
    ready = t  # COD orders pass screening at once and can be shipped
    if not cod:
        if rng.random() < 0.12:
            return [(t + rng.randrange(HOUR, DAY), "cancelled_unpaid")]
        ready = t + rng.randrange(MINUTE, 2 * HOUR)
        steps.append((ready, "paid"))
    if rng.random() < 0.05:
        asked = ready + rng.randrange(10 * MINUTE, 6 * HOUR)
        return steps + [(asked, "in_cancel"), (asked + rng.randrange(HOUR, DAY), "cancelled_buyer")]
    processed = ready + rng.randrange(HOUR, DAY)
    shipped = processed + rng.randrange(4 * HOUR, 30 * HOUR)
    delivered = shipped + rng.randrange(DAY, 4 * DAY)
    steps += [(processed, "processed"), (processed + rng.randrange(5 * MINUTE, 3 * HOUR), "awb"), (shipped, "shipped")]
    if cod and rng.random() < 0.1:
        return steps + [(delivered, "failed_delivery")]
    steps.append((delivered, "delivered"))
    if rng.random() < 0.04:
        return steps + [(delivered + rng.randrange(HOUR, 2 * DAY), "to_return")]
    return steps + [(delivered + rng.randrange(DAY, 3 * DAY), "completed")]


class OrderState:
    """What has happened to one order so far; the rest is re-derived from its blueprint."""

    __slots__ = ("index", "sn", "created", "status", "logistics", "updated", "paid", "ready", "arranged", "awb", "pickup_done", "cancel", "fee_confirmed", "corrupt", "plan")

    def __init__(self, index: int, sn: str, created: int, cod: bool) -> None:
        self.index, self.sn, self.created = index, sn, created
        self.status, self.logistics = ("READY_TO_SHIP", "LOGISTICS_READY") if cod else ("UNPAID", "LOGISTICS_NOT_START")
        self.updated = created
        self.paid: int | None = None
        self.ready: int | None = created if cod else None
        self.arranged = False  # the seller arranged the shipment (ship_order): a tracking number may follow
        self.awb = False
        self.pickup_done = 0
        self.cancel: tuple[str, str, str] = ("", "", "")
        self.fee_confirmed = False
        self.corrupt: str | None = None
        self.plan = 0

    def apply(self, at: int, step: str, cod: bool) -> None:
        if step == "awb":  # the courier's number arrives: no new order status, no update_time
            self.awb = True
            return
        self.updated = at
        self.status, logistics = STEPS[step]
        self.logistics = logistics or self.logistics
        if step == "paid":
            self.paid = self.ready = at
        elif step == "processed":
            self.arranged = True
        elif step == "shipped":
            self.pickup_done = at
        elif step == "delivered":
            self.fee_confirmed = True
            if cod:
                self.paid = at  # the courier collected the cash
        elif step in CANCELS:
            self.cancel = CANCELS[step]


CORRUPTIONS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "total_amount": lambda order: order.update(total_amount="abc"),
    "currency": lambda order: order.pop("currency"),
    "quantity": lambda order: order["item_list"][0].update(model_quantity_purchased="dua"),
}


# -- returns ([S6] Return Refund Management; [R1]/[R2] get_return_list / get_return_detail) --
RETURN_STATUSES = ("REQUESTED", "ACCEPTED", "CANCELLED", "JUDGING", "CLOSED", "PROCESSING", "SELLER_DISPUTE")  # [S6] ReturnStatus
RETURN_FINAL = frozenset({"ACCEPTED", "CANCELLED", "CLOSED"})
RETURN_PAGE_CAP = 25  # the sandbox's own page limit (see the module docstring)
BUYER_REASONS = {  # [S6] ReturnReason values a sandbox buyer gives, with the buyer's own words
    "NOT_RECEIPT": "Paket belum sampai",
    "WRONG_ITEM": "Warna yang dikirim salah",
    "ITEM_DAMAGED": "Kemasan penyok, isi rusak",
    "DIFFERENT_DESCRIPTION": "Bahan tidak sesuai deskripsi",
    "MUTUAL_AGREE": "Sudah sepakat dengan penjual",
    "OTHER": "Lainnya",
    "CHANGE_MIND": "Tidak jadi pakai",
    "ITEM_MISSING": "Isi paket kurang satu",
    "EXPECTATION_FAILED": "Tidak sesuai harapan",
    "ITEM_FAKE": "Barang tidak original",
    "PHYSICAL_DMG": "Retak saat diterima",
    "FUNCTIONAL_DMG": "Tidak berfungsi",
}
SOLUTION_NAMES = ("RETURN_REFUND", "REFUND")  # [S6] ReturnSolution by return_solution 0 / 1
IN_TRANSIT_PARCEL = {  # [S6] an in-transit RR's reverse logistics statuses
    "LOGISTICS_PENDING_ARRANGE": "Preparing",
    "LOGISTICS_REQUEST_CREATED": "Preparing",
    "LOGISTICS_PICKUP_DONE": "Preparing",
    "LOGISTICS_DELIVERY_DONE": "Delivered",
}
PARCEL_ON_ITS_WAY = frozenset({"LOGISTICS_REQUEST_CREATED", "LOGISTICS_PICKUP_DONE", "LOGISTICS_DELIVERY_DONE"})  # a tracking number exists
# get_return_list's elements ([R1]) and get_return_detail's object ([R2]), as the sandbox renders
# them (the warehouse-validation fields is_arrived_at_warehouse/follow_up_action_list are left
# out: every sandbox return is validated by the seller).
RETURN_LIST_FIELDS = (
    "image", "reason", "text_reason", "reassessed_request_reason", "return_sn", "refund_amount", "currency", "create_time", "update_time",
    "status", "due_date", "tracking_number", "dispute_reason", "dispute_text_reason", "needs_logistics", "amount_before_discount", "user",
    "item", "order_sn", "return_ship_due_date", "return_seller_due_date", "negotiation_status", "seller_proof_status",
    "seller_compensation_status", "return_refund_type", "return_solution", "is_seller_arrange", "is_shipping_proof_mandatory",
    "return_refund_request_type", "validation_type",
)  # fmt: skip
RETURN_DETAIL_FIELDS = (
    "image", "buyer_videos", "reason", "text_reason", "reassessed_request_reason", "return_sn", "refund_amount", "currency", "create_time",
    "update_time", "status", "due_date", "tracking_number", "dispute_reason", "dispute_text_reason", "needs_logistics",
    "amount_before_discount", "user", "item", "order_sn", "return_ship_due_date", "return_seller_due_date", "activity", "seller_proof",
    "seller_compensation", "negotiation", "logistics_status", "reverse_logistics_status", "return_pickup_address", "virtual_contact_number",
    "package_query_number", "return_address", "return_refund_type", "return_solution", "is_seller_arrange", "is_shipping_proof_mandatory",
    "has_uploaded_shipping_proof", "is_reverse_logistics_channel_integrated", "reverse_logistics_channel_name", "return_refund_request_type",
    "validation_type",
)  # fmt: skip

# -- escrow ([P1] v2.payment.get_escrow_list / get_escrow_detail; see the module docstring) ----
ESCROW_DEFAULT_PAGE_SIZE = 40  # [P1] page_size "default: 40"
COMMISSION_PERCENT, SERVICE_PERCENT = 5, 2  # the sandbox's own fees, of the item subtotal
ADJUSTMENT_REASON = "logistic issue deduction or compensation"  # one of [P1]'s documented cases


def _return_path(rng: random.Random, solution: int, t: int) -> list[tuple[int, str | None, str | None]]:
    """A return's steps from its creation at ``t``: (when, new status or None, new reverse
    logistics status or None). Return-and-refund parcels travel back before the verdict."""
    roll = rng.random()
    if roll < (0.15 if solution == 0 else 0.1):
        return [(t + rng.randrange(2 * HOUR, 2 * DAY), "CANCELLED", None)]
    steps: list[tuple[int, str | None, str | None]] = []
    at = t
    if solution == 0:
        at += rng.randrange(HOUR, DAY)
        steps.append((at, "PROCESSING", "LOGISTICS_PENDING_ARRANGE"))
        for logistics, low, high in (("LOGISTICS_REQUEST_CREATED", HOUR, 12 * HOUR), ("LOGISTICS_PICKUP_DONE", 6 * HOUR, 2 * DAY), ("LOGISTICS_DELIVERY_DONE", DAY, 4 * DAY)):
            at += rng.randrange(low, high)
            steps.append((at, None, logistics))
    if roll < 0.75:
        return steps + [(at + rng.randrange(HOUR, 3 * DAY), "ACCEPTED", None)]
    disputed = at + rng.randrange(HOUR, 2 * DAY)
    judged = disputed + rng.randrange(HOUR, DAY)
    return steps + [(disputed, "SELLER_DISPUTE", None), (judged, "JUDGING", None), (judged + rng.randrange(DAY, 5 * DAY), rng.choice(("ACCEPTED", "CLOSED")), None)]


class ReturnState:
    """One seeded return: what it is (fixed at creation) and what has happened to it so far."""

    __slots__ = ("sn", "order_sn", "solution", "request_type", "reason", "lines", "tracking_number", "created", "completed_before",
                 "updated", "status", "logistics", "processing_at", "delivered_at", "path", "applied", "plan", "corrupt")  # fmt: skip

    def __init__(self, sn: str, order_sn: str, solution: int, request_type: int, reason: str, lines: tuple[tuple[int, int], ...], tracking_number: str, created: int, path: list, *, completed_before: bool) -> None:
        self.sn, self.order_sn, self.solution, self.request_type, self.reason = sn, order_sn, solution, request_type, reason
        self.lines, self.tracking_number, self.created, self.completed_before = lines, tracking_number, created, completed_before
        self.updated, self.status, self.logistics = created, "REQUESTED", ""
        self.processing_at = self.delivered_at = 0
        self.path: list[tuple[int, str | None, str | None]] = path
        self.applied = 0  # steps of ``path`` done so far
        self.plan = 0  # bumped when an admin action reorders the path: older queued steps go stale
        self.corrupt = False

    def apply(self, at: int) -> None:
        """Carry out the next step of the path at ``at``."""
        _, status, logistics = self.path[self.applied]
        self.applied += 1
        self.updated = at
        if status:
            self.status = status
            self.processing_at = self.processing_at or (at if status == "PROCESSING" else 0)
        if logistics:
            self.logistics = logistics
            self.delivered_at = self.delivered_at or (at if logistics == "LOGISTICS_DELIVERY_DONE" else 0)


class ShopeeSandbox(SeededShop):
    """A seeded Shopee shop behind the v2 order APIs; ``SandboxServer`` serves it."""

    channel = "shopee"
    page_size_param = "page_size"

    def __init__(self, *, orders: int = 200, seed: int = 0, clock: SandboxClock | None = None, return_page_cap: int = RETURN_PAGE_CAP) -> None:
        super().__init__(clock)
        self.seed = seed
        self.partner_id = 2_001_000 + seed
        self.shop_id = 14_700_000 + seed
        self._partner_key = "shpk" + hashlib.sha256(f"partner-key:{seed}".encode()).hexdigest()[:60]
        self._access: dict[str, float] = {}  # access token -> real expiry (epoch s)
        self._refresh: dict[str, float] = {}  # unused refresh tokens -> real expiry
        # The real clock: clients sign with real time, so timestamps and token lives are
        # checked against it (the data follows ``clock``). Tests may replace it.
        self.real_time: Callable[[], float] = time.time
        self.authorized_at = int(self.real_time())  # the seller's grant (get_shop_info auth_time)
        self._current = self._issue(self.real_time())
        self._blueprints: dict[str, Blueprint] = {}
        self._packages: dict[str, str] = {}  # package_number -> order_sn
        self._escrow_index: list[tuple[int, str]] = []  # (escrow_release_time, order_sn), sorted; filled by ``_apply``
        self._adjustments: dict[str, list[dict[str, Any]]] = {}  # order_sn -> order_adjustment entries
        self._escrow_corrupt: set[str] = set()
        self._escrow_phantom: tuple[frozenset[tuple[str, str]], int] | None = None  # (listing, page_no) of an ``empty`` fault
        self._last_escrow_page: dict[str, Any] | None = None  # for the ``repeat`` fault
        rng = random.Random(seed)
        for created in sorted(self._now - rng.randrange(HISTORY) for _ in range(orders)):
            self._create(created, index=False)
        self._build_index()
        self.return_page_cap = return_page_cap
        self._returns: dict[str, ReturnState] = {}
        self._return_index: list[tuple[int, str]] = []  # (update_time, return_sn), sorted
        self._return_due: list[tuple[int, str, int]] = []  # (when, return_sn, plan): the next step of each return
        self._seed_returns(orders)
        self._routes = {
            ORDER_LIST: ("GET", self._order_list),
            ORDER_DETAIL: ("GET", self._order_detail),
            MASS_TRACKING: ("POST", self._mass_tracking),
            SHOP_INFO: ("GET", self._shop_info),
            REFRESH: ("POST", self._refresh_token),
            RETURN_LIST: ("GET", self._return_list),
            RETURN_DETAIL: ("GET", self._return_detail),
            ESCROW_LIST: ("GET", self._escrow_list),
            ESCROW_DETAIL: ("GET", self._escrow_detail),
        }

    def demo_credentials(self) -> dict[str, Any]:
        access, refresh = self._current
        return {"partner_id": self.partner_id, "partner_key": self._partner_key, "shop_id": self.shop_id, "access_token": access, "refresh_token": refresh}

    def expire_tokens(self) -> None:
        """Every access token issued so far is expired (refresh tokens still work)."""
        with self._lock:
            self._access = dict.fromkeys(self._access, 0.0)

    # -- SandboxApp -------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        with self._lock:
            self._advance()
            route = self._routes.get(request.path.rstrip("/"))
            if route is None or route[0] != request.method:
                return Reply(404, _envelope("error_not_found", "Wrong path or method."))
            refused = self._authenticate(request)
            if refused is not None:
                return refused
            try:
                return route[1](request)
            except _ParamError as exc:
                return _error("error_param", f"Wrong parameters, detail: {exc}")

    def is_listing(self, request: Request) -> bool:
        return request.path.rstrip("/") in (ORDER_LIST, ESCROW_LIST)

    def page_fault(self, kind: str, request: Request) -> Reply:
        if request.path.rstrip("/") == ESCROW_LIST:
            return self._escrow_fault(kind, request)
        reply = self.handle(request)  # signature, token and parameters are checked as usual
        if not isinstance(reply.body, dict) or not isinstance(reply.body.get("response"), dict):
            return reply  # an error stays an error
        sent = request.query.get("cursor", "")
        fresh = str(int(sent or "0") + 1 + int(request.query.get("page_size") or 1))  # an offset never handed out before
        next_cursor = {"empty": "0" + (sent or "0"), "repeat": sent, "fresh": fresh}[kind]
        reply.body["response"] = {"more": True, "next_cursor": next_cursor, "order_list": []}
        return reply

    def error_reply(self, kind: str, status: int) -> Reply:
        if kind == "rate_limit":
            return Reply(status, _envelope("error_rate_limit", "Too many requests. You have reached the rate limit. Please try again later."))
        if kind == "token_expired":
            return Reply(status, _envelope("error_auth", "Invalid access_token."))
        return Reply(status, _envelope("error_server", "System error. Please try again later."))

    def dump_orders(self) -> list[dict[str, Any]]:
        with self._lock:
            self._advance()
            out = []
            for order in self._orders.values():
                body = self._render(order, OPTIONAL_FIELDS)
                if order.arranged:
                    for package in body["package_list"]:
                        package["tracking_number"] = self._tracking(order)
                out.append(body)
            return out

    def dump_returns(self) -> list[dict[str, Any]]:
        """Every return now, as ``get_return_detail`` answers it (what ``return_pages`` yields)."""
        with self._lock:
            self._advance()
            return [self._render_return(self._returns[sn], detail=True) for _, sn in self._return_index]

    def dump_settlements(self) -> list[dict[str, Any]]:
        """Every escrow released so far (release time <= now), oldest first, as the truth a
        settlements stream must reproduce: what the list says and the detail's ``escrow_amount``."""
        with self._lock:
            self._advance()
            out = []
            for released, sn in self._escrow_index:
                income = self._income(self._orders[sn])
                out.append({"order": sn, "payout": income["escrow_amount_after_adjustment"], "expected": income["escrow_amount"], "released_at": released})
            return out

    def _advance(self) -> None:
        """The orders' due steps, then the returns' (both on the data clock)."""
        super()._advance()
        while self._return_due and self._return_due[0][0] <= self._now:
            at, sn, plan = heapq.heappop(self._return_due)
            state = self._returns[sn]
            if plan == state.plan:
                self._step_return(state, at)

    # -- auth -----------------------------------------------------------------------------------
    def _issue(self, now: float) -> tuple[str, str]:
        access, refresh = uuid.uuid4().hex, uuid.uuid4().hex
        self._access[access] = now + ACCESS_TOKEN_SECONDS
        self._refresh[refresh] = now + 30 * DAY
        self._current = (access, refresh)
        return access, refresh

    def _authenticate(self, request: Request) -> Reply | None:
        q = request.query
        for name in ("partner_id", "timestamp", "sign"):
            if not q.get(name):
                return _error("error_param", f"Wrong parameters, detail: {name} is required.")
        if not q["timestamp"].isdigit():
            return _error("error_param", "Invalid timestamp")
        if abs(self.real_time() - int(q["timestamp"])) > TIMESTAMP_TOLERANCE:
            return _error("error_param", "Timestamp is expired")
        if q["partner_id"] != str(self.partner_id):
            return _error("error_auth", "partner_id is invalid")
        public = request.path in PUBLIC_PATHS
        if not public and not (q.get("access_token") and q.get("shop_id")):
            return _error("error_param", "Wrong parameters, detail: access_token and shop_id are required.")
        if public:
            base = signature_base(q["partner_id"], request.path, q["timestamp"])
        else:
            base = signature_base(q["partner_id"], request.path, q["timestamp"], q["access_token"], q["shop_id"])
        if not hmac.compare_digest(q["sign"], signature(self._partner_key, base)):
            return _error("error_sign", "Wrong sign.")
        if public:
            return None
        if q["shop_id"] != str(self.shop_id):
            return _error("shop_no_linked", "The shop is not linked to this partner.")
        if self._access.get(q["access_token"], 0.0) <= self.real_time():
            return _error("error_auth", "Invalid access_token.")
        return None

    def _refresh_token(self, request: Request) -> Reply:
        try:
            body = request.json()
        except ValueError:
            raise _ParamError("the body is not JSON") from None
        if not isinstance(body, dict) or str(body.get("partner_id")) != str(self.partner_id) or str(body.get("shop_id")) != str(self.shop_id):
            raise _ParamError("partner_id and shop_id in the body must match the shop.")
        now = self.real_time()
        if self._refresh.pop(str(body.get("refresh_token")), 0.0) <= now:
            return _error("error_auth", "Invalid refresh_token.")
        for token, expiry in self._access.items():  # the old access token lives 5 more minutes
            self._access[token] = min(expiry, now + OLD_TOKEN_GRACE)
        access, refresh = self._issue(now)
        return Reply(200, {**_envelope("", ""), "access_token": access, "refresh_token": refresh, "expire_in": ACCESS_TOKEN_SECONDS, "partner_id": self.partner_id, "shop_id": self.shop_id})

    # -- endpoints --------------------------------------------------------------------------
    def _shop_info(self, request: Request) -> Reply:
        return Reply(
            200,
            {**_envelope("", ""), "shop_name": "Toko Contoh", "region": "ID", "status": "NORMAL", "is_cb": False, "auth_time": self.authorized_at, "expire_time": self.authorized_at + AUTHORIZATION_DAYS * DAY},
        )

    def _order_list(self, request: Request) -> Reply:
        q = request.query
        field = q.get("time_range_field", "")
        if field not in ("create_time", "update_time"):
            raise _ParamError("time_range_field should be create_time or update_time.")
        time_from, time_to = _int(q, "time_from"), _int(q, "time_to")
        if time_from > time_to or time_to - time_from > MAX_RANGE_SECONDS:
            return _error("order.order_list_invalid_time", "Start time must be earlier than end time and diff in 15days.")
        page_size = _int(q, "page_size")
        if page_size > PAGE_SIZE:
            raise _ParamError("page_size must be 100 or less.")
        if page_size < 1:
            raise _ParamError("page_size must be greater than 0.")
        cursor = q.get("cursor", "")
        if cursor and not cursor.isdigit():
            raise _ParamError("cursor is invalid.")
        offset = int(cursor or 0)
        statuses = set(filter(None, q.get("order_status", "").split(",")))
        if field == "update_time" and not statuses:
            lo = bisect.bisect_left(self._index, (time_from, ""))
            hi = bisect.bisect_left(self._index, (time_to + 1, ""))
            keys = self._index[lo + offset : min(hi, lo + offset + page_size)]
            total = hi - lo
        else:
            chosen = sorted(
                (getattr(o, "updated" if field == "update_time" else "created"), o.sn)
                for o in self._orders.values()
                if time_from <= (o.updated if field == "update_time" else o.created) <= time_to and (not statuses or o.status in statuses)
            )
            keys, total = chosen[offset : offset + page_size], len(chosen)
        with_status = "order_status" in q.get("response_optional_fields", "").split(",")
        listed = [{"order_sn": sn, **({"order_status": self._orders[sn].status} if with_status else {})} for _, sn in keys]
        more = offset + page_size < total
        return _ok({"more": more, "next_cursor": str(offset + page_size) if more else "", "order_list": listed})

    def _order_detail(self, request: Request) -> Reply:
        sns = [s for s in request.query.get("order_sn_list", "").split(",") if s]
        if not 1 <= len(sns) <= DETAIL_BATCH:
            raise _ParamError("order_sn_list should have 1 to 50 order_sn.")
        fields = set(filter(None, request.query.get("response_optional_fields", "").split(",")))
        found = [self._with_poisons(sn, self._render(self._orders[sn], fields)) for sn in dict.fromkeys(sns) if sn in self._orders]
        if not found:
            return _error("error_not_found", "Wrong parameters, detail: the order is not found.")
        return _ok({"order_list": found})

    def _mass_tracking(self, request: Request) -> Reply:
        try:
            body = request.json()
        except ValueError:
            raise _ParamError("the body is not JSON") from None
        packages = body.get("package_list") if isinstance(body, dict) else None
        if not isinstance(packages, list) or not 1 <= len(packages) <= TRACKING_BATCH:
            raise _ParamError("package_list should have 1 to 50 packages.")
        success, fail = [], []
        for item in packages:
            number = item.get("package_number") if isinstance(item, dict) else None
            sn = self._packages.get(number) if isinstance(number, str) else None
            if sn is None:
                fail.append({"package_number": number, "fail_error": "logistics.package_not_exist", "fail_message": "Package not found."})
            else:
                tracking = self._tracking(self._orders[sn])  # "" until the courier assigns one
                success.append({"package_number": number, "tracking_number": tracking, "first_mile_tracking_number": "", "hint": "", "pickup_code": ""})
        return _ok({"success_list": success, "fail_list": fail})

    def _tracking(self, order: OrderState) -> str:
        return self._blueprints[order.sn].tracking_number if order.awb else ""

    def _return_list(self, request: Request) -> Reply:
        q = request.query
        page_no, page_size = _int(q, "page_no"), _int(q, "page_size")
        if page_size > RETURN_PAGE_SIZE:
            raise _ParamError("page_size must be 100 or less.")
        if page_size < 1 or page_no < 0:
            raise _ParamError("page_no must be 0 or more and page_size greater than 0.")
        created, updated = _time_range(q, "create_time"), _time_range(q, "update_time")
        if created and updated and updated[0] < created[0]:
            raise _ParamError("The update_time_from must be after create_time_from.")
        statuses = set(filter(None, q.get("status", "").split(",")))
        negotiations = set(filter(None, q.get("negotiation_status", "").split(",")))
        lo, hi = (bisect.bisect_left(self._return_index, (updated[0], "")), bisect.bisect_left(self._return_index, (updated[1] + 1, ""))) if updated else (0, None)
        chosen = [
            state
            for _, sn in self._return_index[lo:hi]
            if (state := self._returns[sn])
            and (not created or created[0] <= state.created <= created[1])
            and (not statuses or state.status in statuses)
            and (not negotiations or _negotiation(state) in negotiations)
        ]
        size = min(page_size, self.return_page_cap)
        page = chosen[page_no * size : (page_no + 1) * size]
        return _ok({"more": (page_no + 1) * size < len(chosen), "return": [self._render_return(r, detail=False) for r in page]})

    def _return_detail(self, request: Request) -> Reply:
        sn = request.query.get("return_sn", "")
        if not sn:
            raise _ParamError("return_sn is required.")
        state = self._returns.get(sn)
        if state is None:
            return _error("error_data", "The return you queried doesn't exist.")
        return _ok(self._render_return(state, detail=True))

    def _escrow_list(self, request: Request) -> Reply:
        q = request.query
        start, end = _int(q, "release_time_from"), _int(q, "release_time_to")
        if start > end:
            raise _ParamError("release_time_from must not be later than release_time_to.")
        page_size, page_no = _int(q, "page_size", ESCROW_DEFAULT_PAGE_SIZE), _int(q, "page_no", ESCROW_FIRST_PAGE)
        if page_size > ESCROW_PAGE_SIZE:
            raise _ParamError("page_size must be 100 or less.")
        if page_size < 1:
            raise _ParamError("page_size must be greater than 0.")
        if page_no < ESCROW_FIRST_PAGE:
            raise _ParamError("page_no must be 1 or more.")
        lo, hi = bisect.bisect_left(self._escrow_index, (start, "")), bisect.bisect_left(self._escrow_index, (end + 1, ""))
        phantom = self._escrow_phantom if self._escrow_phantom and self._escrow_phantom[0] == _listing_key(q) else None
        if phantom and page_no == phantom[1]:
            page: dict[str, Any] = {"escrow_list": [], "more": True}
        else:
            offset = (page_no - ESCROW_FIRST_PAGE - (1 if phantom and page_no > phantom[1] else 0)) * page_size
            rows = self._escrow_index[lo + offset : min(hi, lo + offset + page_size)]
            listed = [{"order_sn": sn, "payout_amount": self._income(self._orders[sn])["escrow_amount_after_adjustment"], "escrow_release_time": at} for at, sn in rows]
            page = {"escrow_list": listed, "more": lo + offset + page_size < hi}
        self._last_escrow_page = page
        return _ok(page)

    def _escrow_detail(self, request: Request) -> Reply:
        sn = request.query.get("order_sn", "")
        if not sn:
            raise _ParamError("order_sn is required.")
        order = self._orders.get(sn)
        if order is None:
            return _error("order_not_found", "Order SN provided is invalid or does not belong to you. Please enter a valid Order SN.")
        return _ok(self._render_escrow(order))

    def _escrow_fault(self, kind: str, request: Request) -> Reply:
        """get_escrow_list's paging faults. Page numbers are the client's own, so there is no
        token to invent: ``empty`` and ``fresh`` put a phantom page (no rows, ``more``) at the
        page asked for, and that page and every later one of the same listing move one page on,
        so nothing is skipped; ``repeat`` is a stuck API serving the previous page again."""
        with self._lock:
            last = self._last_escrow_page
            text = request.query.get("page_no") or str(ESCROW_FIRST_PAGE)
            if kind != "repeat" and text.isdigit():
                self._escrow_phantom = (_listing_key(request.query), int(text))
            reply = self.handle(request)  # signature, token and parameters are checked as usual
        if kind == "repeat" and last is not None and isinstance(reply.body, dict) and isinstance(reply.body.get("response"), dict):
            reply.body["response"] = last
        return reply

    # -- time and data ------------------------------------------------------------------------
    def _index_key(self, order: OrderState) -> tuple[int, str]:
        return order.updated, order.sn

    def _apply(self, order: OrderState, at: int, step: str) -> None:
        order.apply(at, step, self._blueprints[order.sn].cod)
        if step == "completed":  # the escrow is released when the order completes
            bisect.insort(self._escrow_index, (at, order.sn))

    def _create(self, created: int, *, index: bool = True, sn: str | None = None) -> OrderState:
        number = len(self._orders)
        blueprint = Blueprint.make(self.seed, number, created)
        sn = sn or self._order_sn(number, created)
        order = OrderState(number, sn, created, blueprint.cod)
        self._orders[sn], self._blueprints[sn] = order, blueprint
        self._packages[blueprint.package_number] = sn
        self._schedule(sn, order, blueprint.steps, created)
        if index:
            self._add_to_index(order)
        return order

    def _order_sn(self, number: int, created: int) -> str:
        """``YYMMDD`` + 8 characters, like ``2404098R48U37H``; unique in this shop."""
        day = datetime.fromtimestamp(created, timezone.utc).strftime("%y%m%d")
        rng = random.Random(f"sn:{self.seed}:{number}")
        while True:
            sn = day + "".join(rng.choice(ALPHABET) for _ in range(8))
            if sn not in self._orders:
                return sn

    def _mutate(self, body: dict[str, Any]) -> dict[str, Any]:
        at = self._now if body.get("at") is None else int(body["at"])
        touched = [self._order(sn) for sn in body.get("touch") or []]
        for order in touched:
            self._reindex(order, lambda o: setattr(o, "updated", at))
        inserted = [self._create(at).sn for _ in range(int(body.get("insert") or 0))]
        inserted += [self._create(at, sn=str(sn)).sn for sn in body.get("insert_as") or []]  # hostile order numbers
        return {"touched": len(touched), "inserted": inserted, "now": self._now}

    def _corrupt(self, body: dict[str, Any]) -> dict[str, Any]:
        order, field = self._order(body["id"]), body.get("field", "total_amount")
        if field not in CORRUPTIONS:
            raise ValueError(f"field must be one of {sorted(CORRUPTIONS)}")

        def spoil(o: OrderState) -> None:
            o.updated, o.corrupt = self._now, field

        self._reindex(order, spoil)
        return {"id": order.sn, "field": field}

    def _order(self, sn: Any) -> OrderState:
        order = self._orders.get(str(sn))
        if order is None:
            raise ValueError(f"no order {sn}")
        return order

    # -- returns ------------------------------------------------------------------------------
    def _seed_returns(self, orders: int) -> None:
        """One return each for a deterministic quarter of the orders (module docstring)."""
        rng = random.Random(f"returns:{self.seed}")
        asked, delivered, others = [], [], []

        def raised(since: int, low: int, high: int) -> int:  # a while after ``since``, and in the past
            at = since + rng.randrange(low, high)
            return at if at <= self._now else since + rng.randrange(max(1, self._now - since))

        for order in self._orders.values():
            steps = dict((step, at) for at, step in self._blueprints[order.sn].steps if at <= self._now)
            if "to_return" in steps:
                asked.append((order, steps["to_return"], steps))
            elif "delivered" in steps:
                delivered.append((order, raised(steps["delivered"], HOUR, 3 * DAY), steps))
            else:
                others.append((order, raised(order.created, HOUR, DAY), steps))
        rng.shuffle(delivered)
        chosen = asked + delivered[: max(0, orders // 4 - len(asked))]
        chosen += others[: max(0, orders // 4 - len(chosen))]  # a young shop: returns raised in transit
        for order, created, steps in sorted(chosen, key=lambda c: (c[1], c[0].sn)):
            self._create_return(rng, order, created, steps)

    def _create_return(self, rng: random.Random, order: OrderState, created: int, steps: dict[str, int]) -> ReturnState:
        bp = self._blueprints[order.sn]
        in_transit = "delivered" not in steps
        solution = 0 if "to_return" in steps or rng.random() < 0.6 else 1
        lines = tuple((index, rng.randint(1, quantity)) for index, quantity in bp.lines[: rng.randint(1, len(bp.lines))])
        day = datetime.fromtimestamp(created, timezone.utc).strftime("%y%m%d")
        while (sn := day + "".join(rng.choice(ALPHABET) for _ in range(9))) in self._returns:
            pass
        state = ReturnState(
            sn,
            order.sn,
            solution,
            1 if in_transit else 0,
            rng.choice(sorted(BUYER_REASONS)),
            lines,
            "SPXIDR" + "".join(rng.choice("0123456789") for _ in range(11)),
            created,
            _return_path(rng, solution, created),
            completed_before=steps.get("completed", created + 1) <= created,
        )
        self._returns[sn] = state
        self._queue_return(state)
        bisect.insort(self._return_index, (state.updated, sn))
        return state

    def _queue_return(self, state: ReturnState) -> None:
        """Play the steps already due, queue the next one (each step queues the one after)."""
        while state.applied < len(state.path) and state.path[state.applied][0] <= self._now:
            state.apply(state.path[state.applied][0])
        if state.applied < len(state.path):
            heapq.heappush(self._return_due, (state.path[state.applied][0], state.sn, state.plan))

    def _step_return(self, state: ReturnState, at: int) -> None:
        self._reindex_return(state, lambda r: r.apply(at))
        if state.applied < len(state.path):
            heapq.heappush(self._return_due, (state.path[state.applied][0], state.sn, state.plan))

    def _reindex_return(self, state: ReturnState, change: Callable[[ReturnState], None]) -> None:
        del self._return_index[bisect.bisect_left(self._return_index, (state.updated, state.sn))]
        change(state)
        bisect.insort(self._return_index, (state.updated, state.sn))

    def _returns_admin(self, body: dict[str, Any]) -> dict[str, Any]:
        now = self._now
        at = now if body.get("at") is None else int(body["at"])
        touched = [self._return(sn) for sn in body.get("touch") or []]
        for state in touched:
            self._reindex_return(state, lambda r: setattr(r, "updated", at))
        advanced = []
        for state in (self._return(sn) for sn in body.get("advance") or []):
            if state.status in RETURN_FINAL or state.applied >= len(state.path):
                self._reindex_return(state, lambda r: setattr(r, "updated", now))
                continue
            self._reindex_return(state, lambda r: _advance_return(r, now))
            state.plan += 1  # the queued step is stale: queue the next one again
            self._queue_return(state)
            advanced.append({"return_sn": state.sn, "status": state.status})
        corrupted = None
        if body.get("corrupt") is not None:
            state = self._return(body["corrupt"])
            self._reindex_return(state, lambda r: (setattr(r, "corrupt", True), setattr(r, "updated", now)))
            corrupted = state.sn
        return {"touched": len(touched), "advanced": advanced, "corrupted": corrupted, "now": now}

    def _return(self, sn: Any) -> ReturnState:
        state = self._returns.get(str(sn))
        if state is None:
            raise ValueError(f"no return {sn}")
        return state

    def _render_return(self, state: ReturnState, *, detail: bool) -> dict[str, Any]:
        """A get_return_list element, or (``detail``) the get_return_detail object."""
        order, bp = self._orders[state.order_sn], self._blueprints[state.order_sn]
        items = []
        for index, amount in state.lines:
            item_id, model_id, name, model, sku, original, discounted = CATALOG[index]
            item = {
                "model_id": model_id, "name": f"{name} - {model}" if model else name, "images": [f"https://cf.shopee.co.id/file/sandbox-{item_id}_tn"],
                "amount": amount, "item_price": discounted, "is_add_on_deal": False, "is_main_item": False, "add_on_deal_id": 0,
                "item_id": item_id, "item_sku": sku.split("-")[0], "variation_sku": sku,  # the order's model_sku
            }  # fmt: skip
            if detail:
                item["refund_amount"] = discounted * amount  # a Partial Qty RR shop ([R2])
            items.append(item)
        refund = sum(CATALOG[index][6] * amount for index, amount in state.lines)
        parcel = IN_TRANSIT_PARCEL.get(state.logistics, state.logistics) if state.request_type == 1 else state.logistics
        negotiation = _negotiation(state)
        proof = {"SELLER_DISPUTE": "PENDING", "JUDGING": "UPLOADED"}.get(state.status, "")
        district, city, province, zipcode = CITIES[bp.city]
        name = BUYERS[bp.buyer]
        body: dict[str, Any] = {
            "image": [],
            "buyer_videos": [],
            "reason": state.reason,
            "text_reason": BUYER_REASONS[state.reason],
            "reassessed_request_reason": "NONE",
            "return_sn": state.sn,
            "refund_amount": "abc" if state.corrupt else refund,
            "currency": "IDR",
            "create_time": state.created,
            "update_time": state.updated,
            "status": state.status,
            "due_date": state.created + 3 * DAY,
            "tracking_number": state.tracking_number if state.logistics in PARCEL_ON_ITS_WAY else "",
            "dispute_reason": ["OTHER"] if proof else [],
            "dispute_text_reason": ["Barang diterima dalam kondisi baik"] if proof else [],
            "needs_logistics": state.solution == 0,
            "amount_before_discount": sum(CATALOG[index][5] * amount for index, amount in state.lines),
            "user": {"username": f"pembeli_{bp.buyer:02d}{self.seed % 100:02d}", "email": f"pembeli{bp.buyer:02d}.{self.seed}@example.com", "portrait": ""},
            "item": items,
            "order_sn": state.order_sn,
            "return_ship_due_date": state.processing_at + 7 * DAY if state.processing_at else 0,
            "return_seller_due_date": state.delivered_at + 3 * DAY if state.delivered_at else 0,
            "negotiation_status": negotiation,
            "seller_proof_status": proof,
            "seller_compensation_status": "COMPENSATION_NOT_APPLICABLE",
            "activity": [],
            "seller_proof": {"seller_proof_status": proof, "seller_evidence_deadline": state.updated + 2 * DAY if proof == "PENDING" else 0},
            "seller_compensation": {"seller_compensation_status": "COMPENSATION_NOT_APPLICABLE", "seller_compensation_due_date": 0, "compensation_amount": 0},
            "negotiation": {
                "negotiation_status": negotiation, "latest_solution": SOLUTION_NAMES[state.solution], "latest_offer_amount": refund,
                "latest_offer_creator": "buyer", "counter_limit": 1 if negotiation == "PENDING_RESPOND" else 0, "offer_due_date": 0,
            },  # fmt: skip
            "logistics_status": state.logistics if state.request_type == 0 else "",  # legacy: normal RR only
            "reverse_logistics_status": parcel,
            "return_pickup_address": {
                "address": "******" + f"{order.index % 100:02d}", "name": name[0] + "*" * (len(name) - 2) + name[-1],
                "phone": "******" + f"{(order.index * 7 + bp.buyer) % 100:02d}", "town": "", "district": district, "city": city,
                "state": province, "region": "ID", "zipcode": zipcode,
            } if state.solution == 0 else {},  # fmt: skip
            "virtual_contact_number": "",
            "package_query_number": "",
            "return_address": {"whs_id": ""},
            "return_refund_type": "RRAOC" if state.completed_before else "RRBOC",
            "return_solution": state.solution,
            "is_seller_arrange": False,
            "is_shipping_proof_mandatory": False,
            "has_uploaded_shipping_proof": False,
            "is_reverse_logistics_channel_integrated": state.solution == 0,
            "reverse_logistics_channel_name": "SPX Standard" if state.solution == 0 else "",
            "return_refund_request_type": state.request_type,
            "validation_type": "seller_validation",
        }
        return {k: body[k] for k in (RETURN_DETAIL_FIELDS if detail else RETURN_LIST_FIELDS)}

    # -- escrow -------------------------------------------------------------------------------
    def _escrow_admin(self, body: dict[str, Any]) -> dict[str, Any]:
        now = self._now
        at = now if body.get("at") is None else int(body["at"])
        released = []
        for order in (self._order(sn) for sn in body.get("release") or []):
            if order.status == "COMPLETED":
                continue
            if order.status == "CANCELLED" or not order.updated <= at <= now:
                raise ValueError(f"order {order.sn} cannot complete at {at}: it is {order.status}, last changed at {order.updated}, now is {now}")
            order.plan += 1  # its queued steps go stale: it stays completed
            self._reindex(order, lambda o: self._apply(o, at, "completed"))
            released.append(order.sn)
        adjusted = None
        if body.get("adjust") is not None:
            order, amount = self._order(body["adjust"]), body.get("amount")
            if isinstance(amount, bool) or not isinstance(amount, (int, float)):
                raise ValueError("amount must be a number")
            reason = str(body.get("reason") or ADJUSTMENT_REASON)
            self._adjustments.setdefault(order.sn, []).append({"amount": amount, "date": now, "currency": "IDR", "adjustment_reason": reason})
            adjusted = order.sn
        corrupted = None
        if body.get("corrupt") is not None:
            corrupted = self._order(body["corrupt"]).sn
            self._escrow_corrupt.add(corrupted)
        return {"released": released, "adjusted": adjusted, "corrupted": corrupted, "now": now}

    def _income(self, order: OrderState) -> dict[str, Any]:
        """get_escrow_detail's ``order_income``, from the order's own money (module docstring)."""
        bp = self._blueprints[order.sn]
        items = []
        for index, quantity in bp.lines:
            item_id, model_id, name, _, sku, original, discounted = CATALOG[index]
            items.append({
                "item_id": item_id, "item_name": name, "item_sku": sku.split("-")[0], "model_id": model_id, "model_sku": sku,
                "original_price": original * quantity, "discounted_price": discounted * quantity, "quantity_purchased": quantity,
            })  # fmt: skip
        subtotal = sum(item["discounted_price"] for item in items)
        original_price = sum(item["original_price"] for item in items)
        paid_shipping = actual_shipping = bp.shipping_fee  # as the order says: its total_amount and actual_shipping_fee
        rebate = transaction_fee = 0
        buyer_total = subtotal + paid_shipping
        commission, service = subtotal * COMMISSION_PERCENT // 100, subtotal * SERVICE_PERCENT // 100
        final_shipping = paid_shipping - actual_shipping + rebate  # "the seller has to bear": negative when it pays
        escrow = subtotal - commission - service - transaction_fee + final_shipping
        adjustments = self._adjustments.get(order.sn, [])
        total_adjustment = sum(a["amount"] for a in adjustments)
        income = {
            "escrow_amount": escrow,
            "buyer_total_amount": buyer_total,
            "original_price": original_price,
            "seller_discount": original_price - subtotal,
            "shopee_discount": 0,
            "voucher_from_seller": 0,
            "voucher_from_shopee": 0,
            "coins": 0,
            "buyer_paid_shipping_fee": paid_shipping,
            "commission_fee": commission,
            "service_fee": service,
            "seller_transaction_fee": transaction_fee,
            "actual_shipping_fee": actual_shipping,
            "final_shipping_fee": final_shipping,
            "shopee_shipping_rebate": rebate,
            "estimated_shipping_fee": bp.shipping_fee,
            "reverse_shipping_fee": 0,
            "seller_return_refund": 0,
            "total_adjustment_amount": total_adjustment,
            "escrow_amount_after_adjustment": escrow + total_adjustment,
            "items": items,
        }
        if adjustments:  # [P1]: "If the order without adjustment, no returned of the field."
            income["order_adjustment"] = [dict(a) for a in adjustments]
        return income

    def _render_escrow(self, order: OrderState) -> dict[str, Any]:
        """get_escrow_detail's ``response``; a corrupted one has an ``order_income`` no mapper can read."""
        bp = self._blueprints[order.sn]
        income = self._income(order)
        return {
            "order_sn": order.sn,
            "buyer_user_name": f"pembeli_{bp.buyer:02d}{self.seed % 100:02d}",
            "return_order_sn_list": [r.sn for r in self._returns.values() if r.order_sn == order.sn],
            "order_income": "abc" if order.sn in self._escrow_corrupt else income,
            "buyer_payment_info": {
                "buyer_payment_method": bp.payment, "buyer_total_amount": income["buyer_total_amount"],
                "shipping_fee": income["buyer_paid_shipping_fee"], "merchant_subtotal": income["buyer_total_amount"] - income["buyer_paid_shipping_fee"],
            },  # fmt: skip
        }

    # -- rendering ------------------------------------------------------------------------------
    def _render(self, order: OrderState, fields: Iterable[str]) -> dict[str, Any]:
        """get_order_detail's object: default fields, plus the optional ones asked for."""
        bp = self._blueprints[order.sn]
        carrier_id, carrier = CARRIERS[bp.carrier]
        body: dict[str, Any] = {
            "order_sn": order.sn,
            "region": "ID",
            "currency": "IDR",
            "cod": bp.cod,
            "order_status": order.status,
            "message_to_seller": bp.note,
            "create_time": order.created,
            "update_time": order.updated,
            "days_to_ship": 2,
            "ship_by_date": order.ready + 2 * DAY if order.ready else 0,
            "booking_sn": "",
        }
        items = [_item(*line) for line in bp.lines]
        subtotal = sum(item["model_discounted_price"] * item["model_quantity_purchased"] for item in items)
        name = BUYERS[bp.buyer]
        district, city, state, zipcode = CITIES[bp.city]
        cancel_by, cancel_reason, buyer_cancel_reason = order.cancel
        optional = {
            "buyer_user_id": 810_000_000 + bp.buyer * 1013,
            "buyer_username": f"pembeli_{bp.buyer:02d}{self.seed % 100:02d}",
            "estimated_shipping_fee": bp.shipping_fee,
            "actual_shipping_fee": bp.shipping_fee,
            "actual_shipping_fee_confirmed": order.fee_confirmed,
            "recipient_address": {
                "name": name[0] + "*" * (len(name) - 2) + name[-1],
                "phone": "******" + f"{(order.index * 7 + bp.buyer) % 100:02d}",
                "town": "",
                "district": district,
                "city": city,
                "state": state,
                "region": "ID",
                "zipcode": zipcode,
                "full_address": "******" + f"{order.index % 100:02d}",
            },
            "note": "",
            "item_list": items,
            "pay_time": order.paid,
            "buyer_cancel_reason": buyer_cancel_reason,
            "cancel_by": cancel_by,
            "cancel_reason": cancel_reason,
            "package_list": [
                {
                    "package_number": bp.package_number,
                    "logistics_status": order.logistics,
                    "logistics_channel_id": carrier_id,
                    "shipping_carrier": carrier,
                    "allow_self_design_awb": False,
                    "parcel_chargeable_weight_gram": 250 * len(items),
                    "group_shipment_id": None,
                    "item_list": [
                        {"item_id": it["item_id"], "model_id": it["model_id"], "model_quantity": it["model_quantity_purchased"],
                         "order_item_id": it["order_item_id"], "promotion_group_id": 0, "product_location_id": "IDZ"}
                        for it in items
                    ],
                }
            ],
            "shipping_carrier": carrier,
            "payment_method": bp.payment,
            "total_amount": subtotal + bp.shipping_fee,
            "pickup_done_time": order.pickup_done,
        }
        body.update((k, v) for k, v in optional.items() if k in fields)
        if order.corrupt:
            CORRUPTIONS[order.corrupt](body)
        return body


def _item(index: int, quantity: int) -> dict[str, Any]:
    item_id, model_id, name, model, sku, original, discounted = CATALOG[index]
    return {
        "item_id": item_id,
        "item_name": name,
        "item_sku": sku.split("-")[0],
        "model_id": model_id,
        "model_name": model,
        "model_sku": sku,
        "model_quantity_purchased": quantity,
        "model_original_price": original,
        "model_discounted_price": discounted,
        "wholesale": False,
        "add_on_deal": False,
        "main_item": False,
        "add_on_deal_id": 0,
        "promotion_type": "" if original == discounted else "shop_discount",
        "promotion_id": 0 if original == discounted else 700_000 + index,
        "promotion_group_id": 0,
        "order_item_id": item_id,
        "product_location_id": ["IDZ"],
        "image_info": {"image_url": f"https://cf.shopee.co.id/file/sandbox-{item_id}_tn"},
    }


class _ParamError(ValueError):
    """A parameter the API refuses; the message follows "Wrong parameters, detail: "."""


def _int(query: dict[str, str], name: str, default: int | None = None) -> int:
    """An integer parameter; required unless it has a documented ``default``."""
    text = query.get(name, "" if default is None else str(default))
    if not text.lstrip("-").isdigit():
        raise _ParamError(f"{name} is required and must be an integer." if default is None else f"{name} must be an integer.")
    return int(text)


def _listing_key(query: dict[str, str]) -> frozenset[tuple[str, str]]:
    """A listing's query without its page number, signature and token: one walk's pages share it."""
    return frozenset((k, v) for k, v in query.items() if k not in ("page_no", "timestamp", "sign", "access_token"))


def _time_range(query: dict[str, str], field: str) -> tuple[int, int] | None:
    """A get_return_list time filter (``<field>_from``/``<field>_to``, inclusive): both or
    neither, in order, at most 15 days apart."""
    if f"{field}_from" not in query and f"{field}_to" not in query:
        return None
    start, end = _int(query, f"{field}_from"), _int(query, f"{field}_to")
    if start > end:
        raise _ParamError(f"{field}_from must be earlier than {field}_to.")
    if end - start > MAX_RANGE_SECONDS:
        raise _ParamError(f"The period between {field}_from and {field}_to must not more than 15 days.")
    return start, end


def _negotiation(state: ReturnState) -> str:
    """[S6] NegotiationStatus: the seller may answer while the request is open."""
    return "PENDING_RESPOND" if state.status == "REQUESTED" else "TERMINATED"


def _advance_return(state: ReturnState, now: int) -> None:
    """The return's pending steps up to its next status, all now (the ``advance`` admin action)."""
    while state.applied < len(state.path):
        status = state.path[state.applied][1]
        state.apply(now)
        if status:
            return


def _envelope(code: str, message: str) -> dict[str, Any]:
    return {"request_id": uuid.uuid4().hex, "error": code, "message": message}


def _error(code: str, message: str) -> Reply:
    """A business error: HTTP 200 with the code in ``error`` (assumed; see the module doc)."""
    return Reply(200, _envelope(code, message))


def _ok(response: dict[str, Any]) -> Reply:
    return Reply(200, {**_envelope("", ""), "response": response})
