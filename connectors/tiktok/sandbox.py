"""The TikTok Shop sandbox: a local twin of the Partner API v202309 order and return APIs, seeded.

It enforces the contract the sources document (shared/reference/marketplaces.md §2; the
source keys [T1]... are listed there and in ``client.py``), implemented here on its own:
it shares no code with the connector, only plain constants from ``api`` (paths and
documented limits), each pinned to the documentation by ``tests/tiktok/test_sandbox.py``.
Its signer (``signature``) and the field names it renders are its own, written again from
the documentation, so a client that gets either wrong is refused here instead of agreeing
with itself.

- **Signing** ([T2]): ``app_key``, ``timestamp`` and ``sign`` in the query of every call,
  ``shop_cipher`` too on shop-scoped calls, the access token in ``x-tts-access-token``.
  A wrong signature is 106001; a timestamp more than 300 s behind or 30 s ahead of the
  real clock (``real_time``), a missing signature, an unknown ``app_key`` or a missing
  token header is 36009004 ([T3]); a missing ``shop_cipher`` is 106013, a foreign one
  101000; an unknown access token is 101000, an expired one 105002.
- **Tokens** ([T1]): access tokens live 7 days; ``GET /api/v2/token/refresh`` (unsigned:
  ``app_key``, ``app_secret``, ``refresh_token``, ``grant_type=refresh_token`` in the
  query) issues a new pair with **absolute** ``access_token_expire_in`` and
  ``refresh_token_expire_in`` (the end of the seller's authorisation).
  ``expire_tokens()`` (the ``expire_tokens`` fault knob) expires every access token.
- **Search Orders** ([T8]): ``POST /order/202309/orders/search``, ``page_size`` 1..100,
  ``sort_field`` ``create_time``/``update_time``, ``sort_order`` ``ASC``/``DESC``
  (default DESC), an opaque ``page_token``; body filters ``update_time_ge``/``_lt``,
  ``create_time_ge``/``_lt`` and ``order_status``; ``next_page_token`` is ``""`` on the
  last page; ``total_count``.
- **Get Order Detail** ([T9]): ``GET /order/202309/orders?ids=a,b`` with 1..50 ids.
- **Get Authorized Shops** ([T2]/[T7]): the shop with its ``cipher``.
- **Search Cancellations / Search Returns** ([T12]/[T13], documented; sources in
  ``client.py``): ``POST /return_refund/202309/cancellations/search`` and
  ``.../returns/search``; ``page_size`` optional (default 10), cancellations 1..50, returns
  10..50; ``sort_field`` ``create_time`` (default) or ``update_time``, ``sort_order`` ``ASC``
  (default) or ``DESC``; body filters ``update_time_ge``/``_lt``, ``create_time_ge``/``_lt``,
  ``order_ids``, ``cancel_ids``/``return_ids``, ``cancel_status``/``return_status``,
  ``cancel_types``/``return_types``, ``locale``; a refused parameter is 25001001 (the code
  both pages document); ``data.cancellations[]`` / ``data.return_orders[]``,
  ``total_count``, ``next_page_token`` ("" on the last page). Records carry only the
  documented fields (``CANCELLATION_FIELDS``, ``RETURN_FIELDS``).
- **Rate limits** ([T4]): the host's ``max_rps`` knob answers HTTP 429 with 36009002.

Assumptions where the sources are silent (each mirrored by the connector):

- errors other than throttling come with HTTP 200 and the code in the body; a parameter
  the sandbox refuses (a bad ``page_size``, a malformed ``page_token``, too many ids)
  answers HTTP 400 with code 40006 (no code for this is in our sources);
- a ``page_token`` is an offset into the result of the query it came from (sort and body
  filters), opaque to clients, and refused with any other query; unknown ids
  are left out of a detail reply; an unknown refresh token is 105002;
- each unit bought is its own line item (no ``quantity`` field in [T8]);
- buyer name and phone are desensitised for platform logistics (``shipping_type``
  ``TIKTOK``) as ``B**** S****`` / ``(+62)812*****89`` (the characters are unconfirmed);
  ``recipient_address`` is absent while UNPAID ([T8]);
- ``commerce_platform`` is ``TIKTOK_SHOP`` or, for orders placed in the Tokopedia app,
  ``TOKOPEDIA``; amounts are whole rupiah as strings; an order's ``cancel_reason`` is the
  English text of a documented cancel reason ([T14]: "Buyer payment overdue", "Wrong
  delivery information");
- the return listings answer at most ``RETURN_PAGE_CAP`` (20) records a page whatever
  ``page_size`` asks (a sandbox choice, so that paging is exercised: the client never
  counts on full pages); the seller's deadline is 48 hours after a request ([T15]'s
  policy) and, once the buyer shipped the items back, five days (assumed: a few days'
  transit, then the documented 48 hours); the return parcel goes with the order's carrier,
  its cost paid by the platform or, a third of the time, the seller (a sandbox choice);
  a cancelled order's cancellation, and a buyer's return, are their own records in the
  return listings only (the order payload does not show a pending request).

Returns ([T12]-[T15]): every cancelled order has its cancellation (the system's for an
unpaid one: success, then complete; the buyer's: pending shortly before the order is
cancelled, success when it is, complete when the money is back), and about
``RETURN_SHARE`` of the delivered orders a buyer's return or refund request, created
between delivery and completion, that moves through one of the documented flows
(``RETURN_FLOWS``: returned and refunded, rejected, package refused after inspection,
withdrawn, refunded without a return, refund rejected) on the data clock, with ID-market
reasons; if that leaves fewer than a quarter of the orders with a return, more delivered
orders get one (so 260 orders give 65 or more). ``dump_returns()`` returns every record
now exactly as the listings render it.

Data: seeded orders over the last 45 days of the data clock, region ID, IDR. Each order
follows a life cycle: UNPAID -> AWAITING_SHIPMENT when paid (COD orders start there) ->
AWAITING_COLLECTION when the seller arranges shipment -> the tracking number arrives
minutes to hours later *without* a new ``update_time`` ([T6]: empty until the package
ships) -> IN_TRANSIT -> DELIVERED -> COMPLETED; some are never paid and cancelled by the
system, some cancelled by the buyer before shipment. ``dump_orders()`` returns every order
as Get Order Detail renders it now.

Admin actions (``POST /_sandbox/<action>``): ``mutate`` (``{"touch": [id], "at": epoch}``,
``{"insert": n}``, ``{"insert_as": [id]}``), ``poison`` (``connectors._sandbox.hostile``)
and ``corrupt`` (``{"id", "field": "total_amount"|"currency"|"sale_price"}``: one order
unmappable, an update); ``returns``: ``{"touch": [id], "at": epoch}`` sets their update
time (default: now), ``{"advance": [id]}`` moves each to the next status of its flow now
(a final one is only touched), ``{"corrupt": id}`` makes its ``refund_amount.refund_total``
unreadable and touches it.

Paging faults (``page_fault``, for the order and both return listings; the host's
``page_size`` knob caps them too): ``empty`` answers no records with a token naming the same
offset in another spelling (nothing skipped), ``repeat`` hands back the token it was sent
(or, asked without one, the token of that very page: TikTok has no "more" flag, so an
empty token would end the listing), ``fresh`` a token it never gave before.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import heapq
import hmac
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connectors._sandbox import Reply, Request, SandboxClock
from connectors._sandbox.shop import SeededShop

# Plain constants shared with the client, each pinned to the documentation by a test
# (tests/tiktok/test_sandbox.py); nothing else of the client's is used here.
from connectors.tiktok.api import (
    ACCESS_TOKEN_SECONDS,
    AUTHORIZED_SHOPS,
    CANCELLATION_SEARCH,
    DETAIL_BATCH,
    ORDER_DETAIL,
    ORDER_SEARCH,
    PAGE_SIZE,
    RETURN_PAGE_SIZE,
    RETURN_SEARCH,
    TIMESTAMP_FUTURE,
    TIMESTAMP_PAST,
    TOKEN_REFRESH,
)

MINUTE, HOUR, DAY = 60, 3600, 86400
HISTORY = 45 * DAY
AUTHORIZATION_DAYS = 365  # assumed: the seller's grant (refresh_token_expire_in) lasts a year
PARAM_ERROR = 40006  # assumed code for a refused parameter (module docstring)
RETURN_PARAM_ERROR = 25001001  # [T12]/[T13]: "An invalid request parameter was passed."
RETURN_PAGE_CAP = 20  # the return listings' page, at most (module docstring)
RETURN_SHARE = 0.4  # of the delivered orders, a return or refund request
RESPOND = 48 * HOUR  # [T15]: the seller responds to a request within 48 hours, or the platform approves it
RESPOND_RECEIVED = 5 * DAY  # assumed: transit, then the 48 hours once the package is delivered

# [T8] Get Order List / [T9] Get Order Detail: the order fields this sandbox renders.
ORDER_FIELDS = (
    "id", "status", "create_time", "update_time", "paid_time", "rts_sla_time", "shipping_due_time", "rts_time",
    "collection_time", "delivery_time", "cancel_time", "user_id", "buyer_email", "buyer_message", "is_cod",
    "payment_method_name", "shipping_type", "fulfillment_type", "delivery_type", "delivery_option_name",
    "shipping_provider", "shipping_provider_id", "tracking_number", "warehouse_id", "cancellation_initiator",
    "cancel_reason", "is_buyer_request_cancel", "is_on_hold_order", "packages", "payment", "recipient_address",
    "line_items", "commerce_platform",
)  # fmt: skip
LINE_ITEM_FIELDS = (
    "id", "sku_id", "product_id", "product_name", "sku_name", "seller_sku", "sku_image", "original_price", "sale_price",
    "seller_discount", "platform_discount", "currency", "display_status", "package_status", "package_id",
    "tracking_number", "shipping_provider_name", "is_gift", "sku_type", "cancel_user", "cancel_reason",
)  # fmt: skip
PAYMENT_FIELDS = (
    "currency", "original_total_product_price", "seller_discount", "platform_discount", "sub_total", "original_shipping_fee",
    "shipping_fee_seller_discount", "shipping_fee_platform_discount", "shipping_fee", "tax", "buyer_service_fee", "total_amount",
)  # fmt: skip
# [T12] Search Cancellations / [T13] Search Returns: the record fields this sandbox renders.
CANCELLATION_FIELDS = (
    "cancel_id", "order_id", "cancel_type", "cancel_status", "role", "cancel_reason", "cancel_reason_text", "create_time",
    "update_time", "seller_next_action_response", "refund_amount", "cancel_line_items",
)  # fmt: skip
RETURN_FIELDS = (
    "return_id", "order_id", "return_type", "return_status", "role", "return_reason", "return_reason_text", "shipment_type",
    "handover_method", "return_tracking_number", "return_provider_name", "return_provider_id", "can_buyer_keep_item",
    "update_time", "create_time", "seller_next_action_response", "return_line_items", "refund_amount", "discount_amount",
    "shipping_fee_amount", "return_method", "is_combined_return",
)  # fmt: skip
RETURN_LINE_FIELDS = (  # a return_line_items[] or cancel_line_items[] entry (the line's own id field apart)
    "order_line_item_id", "sku_id", "sku_name", "product_name", "seller_sku", "product_image", "refund_amount",
)  # fmt: skip
REFUND_FIELDS = ("currency", "refund_total", "refund_subtotal", "refund_shipping_fee", "refund_tax", "buyer_service_fee")


def signature(app_secret: str, path: str, query: dict[str, str], body: bytes, content_type: str = "") -> str:
    """[T2], step by step: (1) the query without ``sign`` and ``access_token``; (2) keys in
    alphabetical order; (3) each as key then value; (4) the path in front; (5) the raw body
    behind unless it is multipart/form-data; (6) the app secret on both ends; (7)
    HMAC-SHA256 keyed with the app secret, as lowercase hex."""
    kept = {key: value for key, value in query.items() if key not in ("sign", "access_token")}
    joined = path
    for key in sorted(kept):
        joined += key + str(kept[key])
    message = joined.encode("utf-8")
    if "multipart/form-data" not in content_type.lower():
        message += body
    wrapped = app_secret.encode("utf-8") + message + app_secret.encode("utf-8")
    return hmac.new(key=app_secret.encode("utf-8"), msg=wrapped, digestmod=hashlib.sha256).hexdigest()


# -- seed tables (all fake) -------------------------------------------------------------------
CATALOG = (  # product_id, sku_id, product name, sku name, seller sku, original price, seller discount, platform discount (per unit)
    ("1729000000000000101", "1729100000000000101", "Kaos Polos", "Hitam, L", "KAOS-HTM-L", 150_000, 10_000, 5_000),
    ("1729000000000000101", "1729100000000000102", "Kaos Polos", "Putih, M", "KAOS-PTH-M", 150_000, 0, 0),
    ("1729000000000000102", "1729100000000000201", "Hijab Voal Motif", "Sage", "HIJAB-SAGE", 65_000, 5_000, 0),
    ("1729000000000000103", "1729100000000000301", "Kopi Toraja 200 g", "Bubuk", "KOPI-TRJ-200", 89_000, 0, 4_000),
    ("1729000000000000104", "1729100000000000401", "Keripik Balado", "Pedas", "KRP-BLD", 25_000, 2_000, 1_000),
    ("1729000000000000105", "1729100000000000501", "Sandal Jepit Rajut", "40", "SDL-RJT-40", 55_000, 0, 0),
)
CARRIERS = (("6925000000000000001", "J&T Express"), ("6925000000000000002", "SiCepat"), ("6925000000000000003", "JNE"), ("6925000000000000004", "AnterAja"))
BUYERS = ("Budi Santoso", "Siti Rahayu", "Agus Wijaya", "Dewi Lestari", "Rina Marlina", "Joko Susilo")
CITIES = (  # province (L1), city (L2), district (L3), postal code
    ("DKI Jakarta", "Jakarta Selatan", "Kebayoran Baru", "12110"),
    ("Jawa Barat", "Kota Bandung", "Coblong", "40132"),
    ("Jawa Timur", "Kota Surabaya", "Gubeng", "60281"),
    ("Sumatera Utara", "Kota Medan", "Medan Baru", "20154"),
    ("Bali", "Kota Denpasar", "Denpasar Barat", "80119"),
)
PAYMENTS = ("DANA", "GoPay", "OVO", "ShopeePay", "BCA Virtual Account", "Alfamart")
NOTES = ("", "", "", "Tolong dibungkus rapi", "Kirim sore hari")

# step -> status; "awb" changes no status and no update_time
STEPS = {
    "paid": "AWAITING_SHIPMENT",
    "arranged": "AWAITING_COLLECTION",
    "collected": "IN_TRANSIT",
    "delivered": "DELIVERED",
    "completed": "COMPLETED",
    "cancelled_unpaid": "CANCELLED",
    "cancelled_buyer": "CANCELLED",
}
CANCEL_REASONS = {  # step -> (cancel_type, role, reason name, its text): [T14] ID cancel reasons
    "cancelled_unpaid": ("CANCEL", "SYSTEM", "system_cancel_unpaid_time_out", "Buyer payment overdue"),
    "cancelled_buyer": ("BUYER_CANCEL", "BUYER", "ecom_order_to_ship_canceled_reason_wrong_delivery_info", "Wrong delivery information"),
}
CANCELS = {  # step -> (cancellation_initiator, cancel_reason, line cancel_user)
    "cancelled_unpaid": ("SYSTEM", CANCEL_REASONS["cancelled_unpaid"][3], "SYSTEM"),
    "cancelled_buyer": ("BUYER", CANCEL_REASONS["cancelled_buyer"][3], "BUYER"),
}
# [T14] ID market: what a buyer gives for a return (return_reason, return_reason_text) ...
RETURN_REASONS = (
    ("ecom_order_delivered_refund_and_return_reason_not_match_description", "Product doesn't match description"),
    ("ecom_order_delivered_refund_and_return_reason_damaged", "Package or product is damaged"),
    ("ecom_order_delivered_refund_and_return_reason_defective", "Product is defective or doesn't work"),
    ("ecom_order_delivered_refund_and_return_reason_wrong_product", "Wrong product was sent"),
    ("ecom_order_delivered_refund_and_return_reason_missed_delivery", "Missed estimated delivery date"),
    ("buyer_return_and_refund_suspected_counterfeit", "Suspected Counterfeit"),
)
REFUND_REASONS = (  # ... and for a refund without a return
    ("ecom_order_delivered_refund_reason_not_received", "Package wasn't received"),
    ("ecom_order_delivered_refund_reason_missing_product", "Missing product or accessories"),
    ("ecom_order_delivered_refund_reason_damaged", "Package or product is damaged"),
    ("ecom_order_delivered_refund_reason_wrong_product", "Wrong product was sent"),
    ("ecom_order_delivered_refund_reason_other", "Other"),
)
PENDING, SUCCESS, COMPLETE, CANCELLED_REQUEST = (
    "RETURN_OR_REFUND_REQUEST_PENDING", "RETURN_OR_REFUND_REQUEST_SUCCESS", "RETURN_OR_REFUND_REQUEST_COMPLETE", "RETURN_OR_REFUND_REQUEST_CANCEL"
)  # fmt: skip
# [T15] the documented flows: (return_type, weight, [(status, (least, most) seconds after the one before)])
RETURN_FLOWS = {
    "returned": ("RETURN_AND_REFUND", 5, [(PENDING, (0, 1)), ("AWAITING_BUYER_SHIP", (HOUR, 40 * HOUR)), ("BUYER_SHIPPED_ITEM", (6 * HOUR, 3 * DAY)),
                                          (SUCCESS, (DAY, 4 * DAY)), (COMPLETE, (HOUR, DAY))]),
    "rejected": ("RETURN_AND_REFUND", 1, [(PENDING, (0, 1)), ("REFUND_OR_RETURN_REQUEST_REJECT", (HOUR, 40 * HOUR)), (CANCELLED_REQUEST, (2 * DAY, 3 * DAY))]),
    "package_refused": ("RETURN_AND_REFUND", 1, [(PENDING, (0, 1)), ("AWAITING_BUYER_SHIP", (HOUR, 40 * HOUR)), ("BUYER_SHIPPED_ITEM", (6 * HOUR, 3 * DAY)),
                                                 ("REJECT_RECEIVE_PACKAGE", (DAY, 4 * DAY)), (CANCELLED_REQUEST, (2 * DAY, 3 * DAY))]),
    "withdrawn": ("RETURN_AND_REFUND", 1, [(PENDING, (0, 1)), (CANCELLED_REQUEST, (HOUR, DAY))]),
    "refunded": ("REFUND", 4, [(PENDING, (0, 1)), (SUCCESS, (HOUR, 40 * HOUR)), (COMPLETE, (HOUR, DAY))]),
    "refund_rejected": ("REFUND", 1, [(PENDING, (0, 1)), ("REFUND_OR_RETURN_REQUEST_REJECT", (HOUR, 40 * HOUR)), (CANCELLED_REQUEST, (2 * DAY, 3 * DAY))]),
}  # fmt: skip
NEXT_ACTIONS = {  # status -> (the seller's next action, how long the seller has); none otherwise
    "CANCELLATION_REQUEST_PENDING": ("SELLER_RESPOND_CANCEL", RESPOND),
    "BUYER_SHIPPED_ITEM": ("SELLER_RESPOND_RECEIVE_PACKAGE", RESPOND_RECEIVED),
}
PACKAGE_STATUS = {  # order status -> line item package_status ([T8] vocabulary)
    "UNPAID": "TO_FULFILL", "AWAITING_SHIPMENT": "TO_FULFILL", "AWAITING_COLLECTION": "PROCESSING",
    "IN_TRANSIT": "FULFILLING", "DELIVERED": "COMPLETED", "COMPLETED": "COMPLETED", "CANCELLED": "CANCELLED",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Blueprint:
    """Everything about an order that follows from (seed, index, created)."""

    cod: bool
    payment: str
    carrier: int
    units: tuple[int, ...]  # catalog index per unit bought (one line item each)
    shipping_fee: int
    free_shipping: bool  # the platform pays the shipping fee
    platform_logistics: bool  # shipping_type TIKTOK: the buyer is desensitised
    tokopedia: bool
    buyer: int
    city: int
    note: str
    tracking_number: str
    package_id: str
    steps: tuple[tuple[int, str], ...]

    @classmethod
    def make(cls, seed: int, index: int, created: int) -> "Blueprint":
        rng = random.Random(seed * 1_000_003 + index * 7919 + 29)
        cod = rng.random() < 0.3
        carrier = rng.randrange(len(CARRIERS))
        units: list[int] = []
        for item in rng.sample(range(len(CATALOG)), rng.randint(1, 3)):
            units += [item] * rng.randint(1, 3)
        return cls(
            cod=cod,
            payment="Bayar di Tempat" if cod else rng.choice(PAYMENTS),
            carrier=carrier,
            units=tuple(units),
            shipping_fee=rng.randrange(8, 25) * 1000,
            free_shipping=rng.random() < 0.4,
            platform_logistics=rng.random() < 0.8,
            tokopedia=rng.random() < 0.3,
            buyer=rng.randrange(len(BUYERS)),
            city=rng.randrange(len(CITIES)),
            note=rng.choice(NOTES),
            tracking_number=("JX" if carrier == 0 else "00" if carrier == 1 else "CGK" if carrier == 2 else "10") + "".join(rng.choice("0123456789") for _ in range(11)),
            package_id="1152" + "".join(rng.choice("0123456789") for _ in range(15)),
            steps=tuple(_life_cycle(rng, cod, created)),
        )


def _life_cycle(rng: random.Random, cod: bool, t: int) -> list[tuple[int, str]]:
    steps: list[tuple[int, str]] = []
    ready = t
    if not cod:
        if rng.random() < 0.12:
            return [(t + rng.randrange(HOUR, DAY), "cancelled_unpaid")]
        ready = t + rng.randrange(MINUTE, 2 * HOUR)
        steps.append((ready, "paid"))
    if rng.random() < 0.06:
        return steps + [(ready + rng.randrange(10 * MINUTE, 6 * HOUR), "cancelled_buyer")]
    arranged = ready + rng.randrange(HOUR, DAY)
    collected = arranged + rng.randrange(4 * HOUR, 30 * HOUR)
    delivered = collected + rng.randrange(DAY, 4 * DAY)
    steps += [(arranged, "arranged"), (arranged + rng.randrange(5 * MINUTE, 3 * HOUR), "awb"), (collected, "collected"), (delivered, "delivered")]
    return steps + [(delivered + rng.randrange(DAY, 3 * DAY), "completed")]


class OrderState:
    """What has happened to one order so far; the rest is re-derived from its blueprint."""

    __slots__ = ("index", "id", "created", "status", "updated", "paid", "rts", "awb", "collected", "delivered", "cancel", "cancel_time", "corrupt", "plan")

    def __init__(self, index: int, order_id: str, created: int, cod: bool) -> None:
        self.index, self.id, self.created = index, order_id, created
        self.status = "AWAITING_SHIPMENT" if cod else "UNPAID"
        self.updated = created
        self.paid = 0
        self.rts = self.collected = self.delivered = self.cancel_time = 0
        self.awb = False
        self.cancel: tuple[str, str, str] = ("", "", "")
        self.corrupt: str | None = None
        self.plan = 0

    def apply(self, at: int, step: str) -> None:
        if step == "awb":  # the carrier's number arrives: no status change, no update_time
            self.awb = True
            return
        self.updated = at
        self.status = STEPS[step]
        if step == "paid":
            self.paid = at
        elif step == "arranged":
            self.rts = at
        elif step == "collected":
            self.collected = at
        elif step == "delivered":
            self.delivered = at
        elif step in CANCELS:
            self.cancel, self.cancel_time = CANCELS[step], at


@dataclass(slots=True)
class ReturnState:
    """One cancellation or return: its flow (``path``: (epoch, status)), how far it got
    (``step``: the next step to play; 0: not created yet) and what the admin did to it."""

    id: str
    order_id: str
    cancellation: bool
    type: str  # cancel_type or return_type
    role: str
    reason: str
    reason_text: str
    path: list[tuple[int, str]]
    units: tuple[int, ...]  # the order's line items concerned (indexes into its blueprint's units)
    tracking: str  # the return parcel's number, once the buyer shipped
    handover: str
    shipping_payer: str  # who pays the return leg: seller | platform | buyer
    shipping_fee: int
    step: int = 0
    status: str = ""
    since: int = 0  # when the current status began
    updated: int = 0
    plan: int = 0
    corrupt: bool = False

    @property
    def exists(self) -> bool:
        return self.step > 0

    @property
    def created(self) -> int:
        return self.path[0][0]

    def key(self) -> tuple[int, str]:
        return self.updated, self.id


CORRUPTIONS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "total_amount": lambda order: order["payment"].update(total_amount="abc"),
    "currency": lambda order: order["payment"].pop("currency"),
    "sale_price": lambda order: order["line_items"][0].update(sale_price="dua"),
}


class TikTokSandbox(SeededShop):
    """A seeded TikTok Shop (ID) behind the v202309 order APIs; ``SandboxServer`` serves it."""

    channel = "tiktok"
    # The host's ``page_size`` knob rewrites this query parameter before the app sees it.
    # ``page_size`` itself is signed ([T2]: every query parameter is), so rewriting it would
    # break the client's signature: the knob gets a parameter of its own, which no client
    # sends and the signature check leaves out, and Search Orders honours the lower of the two.
    page_size_param = "_sandbox_page_cap"

    def __init__(self, *, orders: int = 200, seed: int = 0, clock: SandboxClock | None = None) -> None:
        super().__init__(clock)
        self.seed = seed
        digest = hashlib.sha256(f"tiktok-app:{seed}".encode()).hexdigest()
        self.app_key = "6a" + digest[:12]
        self._app_secret = digest[12:52]
        self.shop_id = str(7_494_000_000_000_000_000 + seed)
        self.shop_cipher = "ROW_" + base64.urlsafe_b64encode(hashlib.sha256(f"cipher:{seed}".encode()).digest()[:21]).decode()
        self._access: dict[str, float] = {}  # access token -> real expiry (epoch s)
        self._refresh: dict[str, float] = {}  # refresh token -> real expiry
        # The real clock: clients sign with real time, so timestamps and token lives are
        # checked against it (the data follows ``clock``). Tests may replace it.
        self.real_time: Callable[[], float] = time.time
        self.authorized_at = int(self.real_time())
        self._current = self._issue(self.real_time())
        self._blueprints: dict[str, Blueprint] = {}
        self._returns: dict[str, ReturnState] = {}
        self._return_index: dict[bool, list[tuple[int, str]]] = {True: [], False: []}  # cancellation? -> sorted (updated, id)
        self._return_due: list[tuple[int, str, int, int]] = []  # heap of (epoch, return id, plan, step)
        rng = random.Random(seed)
        for created in sorted(self._now - rng.randrange(HISTORY) for _ in range(orders)):
            self._create(created, index=False)
        self._build_index()
        self._advance_returns()
        self._top_up_returns(orders // 4)
        self._routes = {
            ORDER_SEARCH: ("POST", self._search),
            ORDER_DETAIL: ("GET", self._detail),
            AUTHORIZED_SHOPS: ("GET", self._shops),
            TOKEN_REFRESH: ("GET", self._refresh_token),
            CANCELLATION_SEARCH: ("POST", lambda request: self._return_search(request, cancellations=True)),
            RETURN_SEARCH: ("POST", lambda request: self._return_search(request, cancellations=False)),
        }

    def demo_credentials(self) -> dict[str, Any]:
        access, refresh = self._current
        return {"app_key": self.app_key, "app_secret": self._app_secret, "access_token": access, "refresh_token": refresh, "shop_cipher": self.shop_cipher}

    def expire_tokens(self) -> None:
        """Every access token issued so far is expired (refresh tokens still work)."""
        with self._lock:
            self._access = dict.fromkeys(self._access, 0.0)

    # -- SandboxApp -------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        with self._lock:
            self._advance()
            route = self._routes.get(request.path.rstrip("/"))
            if route is None:
                return Reply(404, _envelope(36009009, "Invalid path."))
            if route[0] != request.method:
                return Reply(405, _envelope(36009010, "Invalid method."))
            refused = self._token_endpoint_check(request) if request.path == TOKEN_REFRESH else self._authenticate(request)
            if refused is not None:
                return refused
            try:
                return route[1](request)
            except _ParamError as exc:
                return Reply(400, _envelope(exc.code, f"Invalid parameter: {exc}"))

    def is_listing(self, request: Request) -> bool:
        return request.path.rstrip("/") in LISTED

    def page_fault(self, kind: str, request: Request) -> Reply:
        reply = self.handle(request)  # signature, token and parameters are checked as usual
        if not isinstance(reply.body, dict) or reply.body.get("code") != 0:
            return reply  # an error stays an error
        sent, query = request.query.get("page_token", ""), _query_key(request)
        offset = _read_token(sent, query) if sent else 0
        size = int(request.query.get(self.page_size_param) or request.query.get("page_size") or 1)
        # TikTok has no "more" flag: an empty token ends the listing. So a stuck API asked
        # without a token hands back the token of the page it was asked for (offset 0 of the
        # same query), which the client already had; asked with one, it hands that one back.
        token = {"empty": _token(offset, query, spelling=uuid.uuid4().hex[:8]), "repeat": sent or _token(offset, query), "fresh": _token(offset + 1 + size, query)}[kind]
        reply.body["data"] = {**reply.body["data"], LISTED[request.path.rstrip("/")]: [], "next_page_token": token}
        return reply

    def error_reply(self, kind: str, status: int) -> Reply:
        if kind == "rate_limit":
            return Reply(status, _envelope(36009002, "Too many requests. Please retry later."))
        if kind == "token_expired":
            return Reply(status, _envelope(105002, "Expired credentials. The access_token or x-tts-access-token header has expired."))
        return Reply(status, _envelope(36009007, "Request timeout. Please retry later."))

    def dump_orders(self) -> list[dict[str, Any]]:
        with self._lock:
            self._advance()
            return [self._render(order) for order in self._orders.values()]

    def dump_returns(self) -> list[dict[str, Any]]:
        """Every cancellation and return now, exactly as the two listings render them."""
        with self._lock:
            self._advance()
            return [self._render_return(r) for r in self._returns.values() if r.exists]

    # -- auth -----------------------------------------------------------------------------------
    def _issue(self, now: float) -> tuple[str, str]:
        access, refresh = "TTP_" + uuid.uuid4().hex, "TTP_" + uuid.uuid4().hex
        self._access[access] = now + ACCESS_TOKEN_SECONDS
        self._refresh[refresh] = self.authorized_at + AUTHORIZATION_DAYS * DAY
        self._current = (access, refresh)
        return access, refresh

    def _authenticate(self, request: Request) -> Reply | None:
        q, now = request.query, self.real_time()
        if not q.get("sign"):
            return _error(36009004, "Missing signature.")
        if q.get("app_key") != self.app_key:
            return _error(36009004, "Invalid app_key.")
        stamp = q.get("timestamp", "")
        if not stamp.isdigit():
            return _error(36009004, "Invalid timestamp.")
        if not now - TIMESTAMP_PAST <= int(stamp) <= now + TIMESTAMP_FUTURE:
            return _error(36009004, "Invalid timestamp. The timestamp must lie within the range of 5 minutes before to 30 seconds beyond the current time.")
        token = request.headers.get("x-tts-access-token") or next((v for k, v in request.headers.items() if k.lower() == "x-tts-access-token"), "")
        if not token:
            return _error(36009004, "Invalid x-tts-access-token header.")
        content_type = next((v for k, v in request.headers.items() if k.lower() == "content-type"), "")
        signed = {k: v for k, v in q.items() if k != self.page_size_param}  # the host's knob, not the client's
        if not hmac.compare_digest(q["sign"], signature(self._app_secret, request.path, signed, request.body, content_type)):
            return _error(106001, "Invalid signature.")
        if token not in self._access:
            return _error(101000, "Invalid x-tts-access-token or shop_cipher.")
        if self._access[token] <= now:
            return _error(105002, "Expired credentials. The access_token or x-tts-access-token header has expired.")
        if request.path != AUTHORIZED_SHOPS:
            if not q.get("shop_cipher"):
                return _error(106013, "Missing shop_cipher.")
            if q["shop_cipher"] != self.shop_cipher:
                return _error(101000, "Invalid x-tts-access-token or shop_cipher.")
        return None

    def _token_endpoint_check(self, request: Request) -> Reply | None:
        q = request.query
        if q.get("app_key") != self.app_key or q.get("app_secret") != self._app_secret:
            return _error(36009004, "Invalid app_key or app_secret.")
        if q.get("grant_type") != "refresh_token":
            raise_param = "grant_type must be refresh_token"
            return Reply(400, _envelope(PARAM_ERROR, f"Invalid parameter: {raise_param}"))
        return None

    def _refresh_token(self, request: Request) -> Reply:
        now = self.real_time()
        if self._refresh.get(request.query.get("refresh_token", ""), 0.0) <= now:
            return _error(105002, "Expired credentials. The refresh_token is invalid or has expired.")
        access, refresh = self._issue(now)
        data = {
            "access_token": access,
            "access_token_expire_in": int(self._access[access]),  # absolute epochs [T1]
            "refresh_token": refresh,
            "refresh_token_expire_in": int(self._refresh[refresh]),
            "open_id": "sandbox-" + self.shop_id[-6:],
            "seller_name": "Toko Contoh",
            "seller_base_region": "ID",
            "user_type": 0,
        }
        return _ok(data)

    # -- endpoints --------------------------------------------------------------------------
    def _shops(self, request: Request) -> Reply:
        shop = {"id": self.shop_id, "name": "Toko Contoh", "region": "ID", "seller_type": "LOCAL", "cipher": self.shop_cipher, "code": "IDLC" + self.shop_id[-6:]}
        return _ok({"shops": [shop]})

    def _search(self, request: Request) -> Reply:
        q = request.query
        page_size = _int(q, "page_size")
        if not 1 <= page_size <= PAGE_SIZE:
            raise _ParamError("page_size must be 1-100.")
        cap = q.get(self.page_size_param, "")
        page_size = min(page_size, int(cap)) if cap.isdigit() and int(cap) > 0 else page_size
        field, order, body, bounds = _search_terms(request, default_order="DESC")
        status = body.get("order_status")
        query = _query_key(request)
        offset = _read_token(q["page_token"], query) if q.get("page_token") else 0
        simple = field == "update_time" and order == "ASC" and status is None and bounds["create_time_ge"] is None and bounds["create_time_lt"] is None
        if simple:
            lo = 0 if bounds["update_time_ge"] is None else bisect.bisect_left(self._index, (bounds["update_time_ge"], ""))
            hi = len(self._index) if bounds["update_time_lt"] is None else bisect.bisect_left(self._index, (bounds["update_time_lt"], ""))
            ids = [i for _, i in self._index[lo + offset : min(hi, lo + offset + page_size)]]
            total = max(0, hi - lo)
        else:
            chosen = sorted(
                ((o.updated if field == "update_time" else o.created), o.id)
                for o in self._orders.values()
                if _within(o.updated, bounds["update_time_ge"], bounds["update_time_lt"])
                and _within(o.created, bounds["create_time_ge"], bounds["create_time_lt"])
                and (status is None or o.status == status)
            )
            if order == "DESC":
                chosen.reverse()
            ids, total = [i for _, i in chosen[offset : offset + page_size]], len(chosen)
        more = offset + page_size < total
        orders = [self._with_poisons(i, self._render(self._orders[i])) for i in ids]
        return _ok({"orders": orders, "next_page_token": _token(offset + page_size, query) if more else "", "total_count": total})

    def _detail(self, request: Request) -> Reply:
        ids = [i for i in request.query.get("ids", "").split(",") if i]
        if not 1 <= len(ids) <= DETAIL_BATCH:
            raise _ParamError("ids must hold 1 to 50 order ids.")
        found = [self._with_poisons(i, self._render(self._orders[i])) for i in dict.fromkeys(ids) if i in self._orders]
        return _ok({"orders": found})

    # -- time and data ------------------------------------------------------------------------
    def _index_key(self, order: OrderState) -> tuple[int, str]:
        return order.updated, order.id

    def _apply(self, order: OrderState, at: int, step: str) -> None:
        order.apply(at, step)

    def _create(self, created: int, *, index: bool = True, order_id: str | None = None) -> OrderState:
        number = len(self._orders)
        blueprint = Blueprint.make(self.seed, number, created)
        order_id = order_id or self._order_id(number)
        order = OrderState(number, order_id, created, blueprint.cod)
        self._orders[order_id], self._blueprints[order_id] = order, blueprint
        self._schedule(order_id, order, blueprint.steps, created)
        if index:
            self._add_to_index(order)
        self._plan_returns(order, blueprint)
        return order

    def _order_id(self, number: int) -> str:
        """18 digits like ``579912345678901234``; unique in this shop."""
        rng = random.Random(f"id:{self.seed}:{number}")
        while True:
            candidate = "5799" + "".join(rng.choice("0123456789") for _ in range(14))
            if candidate not in self._orders:
                return candidate

    def _mutate(self, body: dict[str, Any]) -> dict[str, Any]:
        at = self._now if body.get("at") is None else int(body["at"])
        touched = [self._order(i) for i in body.get("touch") or []]
        for order in touched:
            self._reindex(order, lambda o: setattr(o, "updated", at))
        inserted = [self._create(at).id for _ in range(int(body.get("insert") or 0))]
        inserted += [self._create(at, order_id=str(i)).id for i in body.get("insert_as") or []]
        return {"touched": len(touched), "inserted": inserted, "now": self._now}

    def _corrupt(self, body: dict[str, Any]) -> dict[str, Any]:
        order, field = self._order(body["id"]), body.get("field", "total_amount")
        if field not in CORRUPTIONS:
            raise ValueError(f"field must be one of {sorted(CORRUPTIONS)}")

        def spoil(o: OrderState) -> None:
            o.updated, o.corrupt = self._now, field

        self._reindex(order, spoil)
        return {"id": order.id, "field": field}

    def _order(self, order_id: Any) -> OrderState:
        order = self._orders.get(str(order_id))
        if order is None:
            raise ValueError(f"no order {order_id}")
        return order

    # -- returns ([T12]-[T15]) ----------------------------------------------------------------
    def _advance(self) -> None:
        super()._advance()
        self._advance_returns()

    def _plan_returns(self, order: OrderState, bp: Blueprint) -> None:
        """The order's cancellation, and perhaps a buyer's return, on its life cycle's clock."""
        rng = random.Random(f"returns:{self.seed}:{order.index}")
        steps = {step: at for at, step in bp.steps}
        for step, (cancel_type, role, reason, text) in CANCEL_REASONS.items():
            if step not in steps:
                continue
            at = steps[step]
            path = [(at, "CANCELLATION_REQUEST_SUCCESS")]
            if role == "BUYER":  # the buyer asked shortly before, after paying; the seller accepted
                ready = steps.get("paid", order.created)
                path.insert(0, (at - rng.randrange(5 * MINUTE, max(5 * MINUTE + 1, at - ready)), "CANCELLATION_REQUEST_PENDING"))
            path.append((at + rng.randrange(10 * MINUTE, 2 * HOUR), "CANCELLATION_REQUEST_COMPLETE"))
            units = tuple(range(len(bp.units)))
            self._add_return(ReturnState(self._return_id(rng), order.id, True, cancel_type, role, reason, text, path, units, "", "", "", 0))
        if "delivered" in steps and rng.random() < RETURN_SHARE:
            delivered = steps["delivered"]
            self._add_buyer_return(order, bp, rng, delivered, steps.get("completed", delivered + 3 * DAY))

    def _add_buyer_return(self, order: OrderState, bp: Blueprint, rng: random.Random, earliest: int, latest: int) -> None:
        """A buyer's return or refund request created between ``earliest`` and ``latest``."""
        flow = rng.choices(list(RETURN_FLOWS), weights=[weight for _, weight, _ in RETURN_FLOWS.values()])[0]
        return_type, _, statuses = RETURN_FLOWS[flow]
        at = earliest + rng.randrange(HOUR, max(HOUR + 1, latest - earliest - HOUR))
        path = []
        for status, (least, most) in statuses:
            at += rng.randrange(least, most)
            path.append((at, status))
        reason, text = rng.choice(RETURN_REASONS if return_type == "RETURN_AND_REFUND" else REFUND_REASONS)
        units = tuple(sorted(rng.sample(range(len(bp.units)), rng.randint(1, len(bp.units)))))
        tracking = "TTR" + "".join(rng.choice("0123456789") for _ in range(12))
        handover, payer = rng.choice(("DROP_OFF", "PICKUP")), rng.choice(("platform", "platform", "seller"))
        self._add_return(
            ReturnState(self._return_id(rng), order.id, False, return_type, "BUYER", reason, text, path, units, tracking, handover, payer, rng.randrange(8, 20) * 1000)
        )

    def _top_up_returns(self, least: int) -> None:
        """More delivered orders get a return until ``least`` records exist (seeding only)."""
        existing = sum(1 for r in self._returns.values() if r.exists)
        returned = {r.order_id for r in self._returns.values() if not r.cancellation}
        for order in list(self._orders.values()):
            if existing >= least:
                break
            bp = self._blueprints[order.id]
            steps = {step: at for at, step in bp.steps}
            delivered = steps.get("delivered")
            if order.id in returned or delivered is None or min(steps.get("completed", self._now), self._now) - delivered < 3 * HOUR:
                continue
            self._add_buyer_return(order, bp, random.Random(f"more-returns:{self.seed}:{order.index}"), delivered, min(steps.get("completed", self._now), self._now))
            existing += 1
        self._advance_returns()

    def _return_id(self, rng: random.Random) -> str:
        """19 digits like ``4035318504086604100`` (the documented examples); unique in this shop."""
        while True:
            candidate = "4035" + "".join(rng.choice("0123456789") for _ in range(15))
            if candidate not in self._returns:
                return candidate

    def _add_return(self, r: ReturnState) -> None:
        self._returns[r.id] = r
        heapq.heappush(self._return_due, (r.path[0][0], r.id, r.plan, 0))

    def _advance_returns(self) -> None:
        """Play every step of a return's flow that the data clock has reached."""
        while self._return_due and self._return_due[0][0] <= self._now:
            at, return_id, plan, step = heapq.heappop(self._return_due)
            r = self._returns[return_id]
            if plan == r.plan and step == r.step:
                self._play(r, at)

    def _play(self, r: ReturnState, at: int) -> None:
        """The next step of ``r``'s flow happens at ``at``; the one after is scheduled."""

        def move(r: ReturnState) -> None:
            r.status, r.since, r.updated = r.path[r.step][1], at, at
            r.step += 1

        self._reindex_return(r, move)
        if r.step < len(r.path):
            heapq.heappush(self._return_due, (r.path[r.step][0], r.id, r.plan, r.step))

    def _reindex_return(self, r: ReturnState, change: Callable[[ReturnState], None]) -> None:
        index = self._return_index[r.cancellation]
        if r.exists:
            del index[bisect.bisect_left(index, r.key())]
        change(r)
        if r.exists:
            bisect.insort(index, r.key())

    def _returns_admin(self, body: dict[str, Any]) -> dict[str, Any]:
        """The ``returns`` admin action (module docstring)."""
        out: dict[str, Any] = {"now": self._now}
        if "touch" in body:
            at = self._now if body.get("at") is None else int(body["at"])
            touched = [self._return(i) for i in body["touch"] or []]
            for r in touched:
                self._reindex_return(r, lambda r: setattr(r, "updated", at))
            out["touched"] = len(touched)
        if "advance" in body:
            moved = {}
            for return_id in body["advance"] or []:
                r = self._return(return_id)
                if r.step < len(r.path):
                    r.plan += 1  # its scheduled step is played now instead
                    self._play(r, self._now)
                else:  # already final: only touched
                    self._reindex_return(r, lambda r: setattr(r, "updated", self._now))
                moved[r.id] = r.status
            out["advanced"] = moved
        if body.get("corrupt") is not None:
            r = self._return(body["corrupt"])

            def spoil(r: ReturnState) -> None:
                r.corrupt, r.updated = True, self._now

            self._reindex_return(r, spoil)
            out["corrupted"] = r.id
        return out

    def _return(self, return_id: Any) -> ReturnState:
        r = self._returns.get(str(return_id))
        if r is None or not r.exists:
            raise ValueError(f"no return {return_id}")
        return r

    def _return_search(self, request: Request, *, cancellations: bool) -> Reply:
        """[T12] Search Cancellations / [T13] Search Returns; a refused parameter is 25001001."""
        try:
            return self._return_listing(request, cancellations)
        except _ParamError as exc:
            raise _ParamError(str(exc), RETURN_PARAM_ERROR) from None

    def _return_listing(self, request: Request, cancellations: bool) -> Reply:
        q = request.query
        least = 1 if cancellations else 10  # cancellations "[1-50]", returns "[10-50]"
        asked = q.get("page_size", "")
        if asked and not (asked.isdigit() and least <= int(asked) <= RETURN_PAGE_SIZE):
            raise _ParamError(f"page_size must be {least}-{RETURN_PAGE_SIZE}.")
        cap = q.get(self.page_size_param, "")
        page_size = min(int(asked or 10), RETURN_PAGE_CAP, int(cap) if cap.isdigit() and int(cap) > 0 else RETURN_PAGE_CAP)
        field, order, body, bounds = _search_terms(request, default_order="ASC")
        prefix = "cancel" if cancellations else "return"
        lists = {}
        for name in ("order_ids", f"{prefix}_ids", f"{prefix}_status", f"{prefix}_types"):
            value = body.get(name)
            if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise _ParamError(f"{name} must be a list of strings.")
            lists[name] = None if value is None else set(value)
        query = _query_key(request)
        offset = _read_token(q["page_token"], query) if q.get("page_token") else 0
        index = self._return_index[cancellations]
        simple = field == "update_time" and order == "ASC" and bounds["create_time_ge"] is None and bounds["create_time_lt"] is None
        if simple and all(v is None for v in lists.values()):
            lo = 0 if bounds["update_time_ge"] is None else bisect.bisect_left(index, (bounds["update_time_ge"], ""))
            hi = len(index) if bounds["update_time_lt"] is None else bisect.bisect_left(index, (bounds["update_time_lt"], ""))
            ids, total = [i for _, i in index[lo + offset : min(hi, lo + offset + page_size)]], max(0, hi - lo)
        else:
            wanted = {"order_ids": lambda r: r.order_id, f"{prefix}_ids": lambda r: r.id, f"{prefix}_status": lambda r: r.status, f"{prefix}_types": lambda r: r.type}
            chosen = sorted(
                ((r.updated if field == "update_time" else r.created), r.id)
                for r in (self._returns[i] for _, i in index)
                if _within(r.updated, bounds["update_time_ge"], bounds["update_time_lt"])
                and _within(r.created, bounds["create_time_ge"], bounds["create_time_lt"])
                and all(values is None or wanted[name](r) in values for name, values in lists.items())
            )
            if order == "DESC":
                chosen.reverse()
            ids, total = [i for _, i in chosen[offset : offset + page_size]], len(chosen)
        more = offset + page_size < total
        records = [self._render_return(self._returns[i]) for i in ids]
        field_name = "cancellations" if cancellations else "return_orders"
        return _ok({field_name: records, "total_count": total, "next_page_token": _token(offset + page_size, query) if more else ""})

    def _render_return(self, r: ReturnState) -> dict[str, Any]:
        """One record as Search Cancellations or Search Returns lists it, fields per [T12]/[T13]."""
        order, bp = self._orders[r.order_id], self._blueprints[r.order_id]
        refunds_money = not r.cancellation or (bool(order.paid) and not bp.cod)  # an unpaid or COD order refunds nothing
        prefix = "cancel" if r.cancellation else "return"
        lines, subtotal, seller_total, platform_total = [], 0, 0, 0
        for n in r.units:
            _product_id, sku_id, name, sku_name, seller_sku, original, seller_off, platform_off = CATALOG[bp.units[n]]
            paid = original - seller_off - platform_off if refunds_money else 0
            subtotal, seller_total, platform_total = subtotal + paid, seller_total + seller_off, platform_total + platform_off
            lines.append({
                f"{prefix}_line_item_id": f"{r.id[:-3]}{n:03d}",
                "order_line_item_id": f"{order.id[:-3]}{n:03d}",
                "sku_id": sku_id,
                "sku_name": sku_name,
                "product_name": name,
                "seller_sku": seller_sku,
                "product_image": {"url": f"https://p16-oec-va.ibyteimg.com/sandbox/{sku_id}", "width": 200, "height": 200},
                "refund_amount": _refund_amount(paid),
            })  # fmt: skip
        shipping = service = 0
        if r.cancellation and refunds_money:  # the whole order goes back: its shipping and service fee too
            shipping, service = (0 if bp.free_shipping else bp.shipping_fee), 1000
        refund = _refund_amount(subtotal, shipping, service)
        if r.corrupt:
            refund["refund_total"] = "abc"
        action, hours = NEXT_ACTIONS.get(r.status, (None, 0))
        if r.status == PENDING:
            action, hours = ("SELLER_RESPOND_RETURN" if r.type == "RETURN_AND_REFUND" else "SELLER_RESPOND_REFUND"), RESPOND
        common = {
            "order_id": r.order_id,
            f"{prefix}_type": r.type,
            f"{prefix}_status": r.status,
            "role": r.role,
            f"{prefix}_reason": r.reason,
            f"{prefix}_reason_text": r.reason_text,
            "create_time": r.created,
            "update_time": r.updated,
            "seller_next_action_response": [{"action": action, "deadline": r.since + hours}] if action else [],
            "refund_amount": refund,
        }
        if r.cancellation:
            return {"cancel_id": r.id, **common, "cancel_line_items": lines}
        goods_back = r.type == "RETURN_AND_REFUND"
        shipped = any(status == "BUYER_SHIPPED_ITEM" for _, status in r.path[: r.step])
        carrier_id, carrier = CARRIERS[bp.carrier]
        body: dict[str, Any] = {"return_id": r.id, **common}
        if goods_back:
            body |= {"shipment_type": "PLATFORM", "handover_method": r.handover, "return_method": "PLATFORM_SHIPPED"}
            fees = {payer: (r.shipping_fee if payer == r.shipping_payer else 0) for payer in ("seller", "platform", "buyer")}
            body["shipping_fee_amount"] = [{"currency": "IDR", **{f"{payer}_paid_return_shipping_fee": str(fee) for payer, fee in fees.items()}}]
        if shipped:
            body |= {"return_tracking_number": r.tracking, "return_provider_name": carrier, "return_provider_id": carrier_id}
        body |= {
            "can_buyer_keep_item": not goods_back,
            "return_line_items": lines,
            "discount_amount": [{"currency": "IDR", "product_seller_discount": str(seller_total), "product_platform_discount": str(platform_total),
                                 "shipping_fee_seller_discount": "0", "shipping_fee_platform_discount": "0"}],
            "is_combined_return": False,
        }  # fmt: skip
        return body

    # -- rendering ------------------------------------------------------------------------------
    def _render(self, order: OrderState) -> dict[str, Any]:
        """One order as Get Order Detail (and Search Orders) returns it, fields per [T8]/[T9]."""
        bp = self._blueprints[order.id]
        carrier_id, carrier = CARRIERS[bp.carrier]
        shipped = bool(order.rts) and order.status != "CANCELLED"
        tracking = bp.tracking_number if shipped and order.awb else ""
        has_package = order.status != "UNPAID" and not (order.status == "CANCELLED" and not order.paid and not bp.cod)
        initiator, reason, cancel_user = order.cancel
        lines = []
        for n, unit in enumerate(bp.units):
            product_id, sku_id, name, sku_name, seller_sku, original, seller_off, platform_off = CATALOG[unit]
            line = {
                "id": f"{order.id[:-3]}{n:03d}",
                "sku_id": sku_id,
                "product_id": product_id,
                "product_name": name,
                "sku_name": sku_name,
                "seller_sku": seller_sku,
                "sku_image": f"https://p16-oec-va.ibyteimg.com/sandbox/{sku_id}",
                "original_price": str(original),
                "sale_price": str(original - seller_off),
                "seller_discount": str(seller_off),
                "platform_discount": str(platform_off),
                "currency": "IDR",
                "display_status": order.status,
                "package_status": PACKAGE_STATUS[order.status],
                "package_id": bp.package_id if has_package else "",
                "tracking_number": tracking,
                "shipping_provider_name": carrier,
                "is_gift": False,
                "sku_type": "NORMAL",
            }
            if initiator:
                line |= {"cancel_user": cancel_user, "cancel_reason": reason}
            lines.append(line)
        original_total = sum(CATALOG[u][5] for u in bp.units)
        seller_total = sum(CATALOG[u][6] for u in bp.units)
        platform_total = sum(CATALOG[u][7] for u in bp.units)
        sub_total = original_total - seller_total - platform_total
        shipping_platform = bp.shipping_fee if bp.free_shipping else 0
        shipping = bp.shipping_fee - shipping_platform
        service_fee = 1000
        payment = {
            "currency": "IDR",
            "original_total_product_price": str(original_total),
            "seller_discount": str(seller_total),
            "platform_discount": str(platform_total),
            "sub_total": str(sub_total),
            "original_shipping_fee": str(bp.shipping_fee),
            "shipping_fee_seller_discount": "0",
            "shipping_fee_platform_discount": str(shipping_platform),
            "shipping_fee": str(shipping),
            "tax": "0",
            "buyer_service_fee": str(service_fee),
            "total_amount": str(sub_total + shipping + service_fee),
        }
        body: dict[str, Any] = {
            "id": order.id,
            "status": order.status,
            "create_time": order.created,
            "update_time": order.updated,
            "paid_time": order.paid or None,
            "rts_sla_time": (order.paid or order.created) + 2 * DAY,
            "shipping_due_time": (order.paid or order.created) + 2 * DAY,
            "rts_time": order.rts or None,
            "collection_time": order.collected or None,
            "delivery_time": order.delivered or None,
            "cancel_time": order.cancel_time or None,
            "user_id": str(7_494_100_000_000_000_000 + bp.buyer * 1013),
            "buyer_email": f"v2{hashlib.sha256(f'{self.seed}:{bp.buyer}'.encode()).hexdigest()[:10]}@scs.tiktokw.us",
            "buyer_message": bp.note,
            "is_cod": bp.cod,
            "payment_method_name": bp.payment,
            "shipping_type": "TIKTOK" if bp.platform_logistics else "SELLER",
            "fulfillment_type": "FULFILLMENT_BY_SELLER",
            "delivery_type": "HOME_DELIVERY",
            "delivery_option_name": "Reguler",
            "shipping_provider": carrier,
            "shipping_provider_id": carrier_id,
            "tracking_number": tracking,
            "warehouse_id": "7310000000000000" + f"{self.seed % 1000:03d}",
            "cancellation_initiator": initiator,
            "cancel_reason": reason,
            "is_buyer_request_cancel": initiator == "BUYER",
            "is_on_hold_order": False,
            "packages": [{"id": bp.package_id}] if has_package else [],
            "payment": payment,
            "line_items": lines,
            "commerce_platform": "TOKOPEDIA" if bp.tokopedia else "TIKTOK_SHOP",
        }
        body = {k: v for k, v in body.items() if v is not None}
        if order.status != "UNPAID":  # [T8]: not available while unpaid
            body["recipient_address"] = self._address(order, bp)
        if order.corrupt:
            CORRUPTIONS[order.corrupt](body)
        return body

    def _address(self, order: OrderState, bp: Blueprint) -> dict[str, Any]:
        name = BUYERS[bp.buyer]
        province, city, district, postal = CITIES[bp.city]
        phone = f"(+62)812{(order.index * 7919 + bp.buyer) % 10**8:08d}"
        if bp.platform_logistics:  # desensitised for platform logistics [T8]
            name = " ".join(part[0] + "*" * (len(part) - 1) for part in name.split())
            phone = phone[:8] + "*****" + phone[-2:]
        street = f"Jl. Melati No. {order.index % 90 + 1}"
        return {
            "name": name,
            "phone_number": phone,
            "full_address": f"{street}, {district}, {city}, {province}",
            "address_detail": street,
            "postal_code": postal,
            "region_code": "ID",
            "district_info": [
                {"address_level": "L0", "address_level_name": "Country", "address_name": "Indonesia"},
                {"address_level": "L1", "address_level_name": "Province", "address_name": province},
                {"address_level": "L2", "address_level_name": "City", "address_name": city},
                {"address_level": "L3", "address_level_name": "District", "address_name": district},
            ],
        }


LISTED = {ORDER_SEARCH: "orders", CANCELLATION_SEARCH: "cancellations", RETURN_SEARCH: "return_orders"}
"""The listings (paging faults and the page-size knob apply to them) and their reply's list field."""


class _ParamError(ValueError):
    """A parameter the sandbox refuses (HTTP 400, code ``PARAM_ERROR`` unless told)."""

    def __init__(self, message: str, code: int = PARAM_ERROR) -> None:
        super().__init__(message)
        self.code = code


def _refund_amount(subtotal: int, shipping: int = 0, service: int = 0) -> dict[str, str]:
    """A refund_amount object ([T12]/[T13]: amounts as text; whole rupiah here)."""
    return {
        "currency": "IDR", "refund_total": str(subtotal + shipping + service), "refund_subtotal": str(subtotal),
        "refund_shipping_fee": str(shipping), "refund_tax": "0", "buyer_service_fee": str(service),
    }  # fmt: skip


def _within(value: int, ge: int | None, lt: int | None) -> bool:
    return (ge is None or value >= ge) and (lt is None or value < lt)


def _query_key(request: Request) -> str:
    """What a page token belongs to: the query's sort and body filters (not its page size)."""
    q = request.query
    return hashlib.sha256(f"{q.get('sort_field', '')}|{q.get('sort_order', '')}|".encode() + (request.body or b"")).hexdigest()[:12]


def _token(offset: int, query: str, *, spelling: str = "") -> str:
    """An opaque page token: the offset in one query's result (another spelling of the same
    place is possible, as an opaque token allows)."""
    raw = json.dumps({"o": offset, "q": query, **({"s": spelling} if spelling else {})}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(token: str, query: str) -> int:
    """The offset a token names; a token of another query, or none of ours, is refused."""
    try:
        parsed = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, owner = parsed["o"], parsed["q"]
    except (ValueError, KeyError, TypeError):
        raise _ParamError("page_token is invalid.") from None
    if not isinstance(offset, int) or offset < 0 or owner != query:
        raise _ParamError("page_token is invalid.")
    return offset


def _int(query: dict[str, str], name: str) -> int:
    text = query.get(name, "")
    if not text.lstrip("-").isdigit():
        raise _ParamError(f"{name} is required and must be an integer.")
    return int(text)


def _envelope(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "request_id": uuid.uuid4().hex.upper()}


def _error(code: int, message: str) -> Reply:
    """A refused call: HTTP 200 with the code in the body (assumed; see the module doc)."""
    return Reply(200, _envelope(code, message))


def _ok(data: dict[str, Any]) -> Reply:
    return Reply(200, {**_envelope(0, "Success"), "data": data})


def _search_terms(request: Request, *, default_order: str) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    """A search's sort (``sort_field``/``sort_order`` in the query) and its JSON body with the
    time bounds every 202309 search takes (Unix seconds), checked as the API documents them."""
    q = request.query
    field, order = q.get("sort_field") or "create_time", q.get("sort_order") or default_order
    if field not in ("create_time", "update_time"):
        raise _ParamError("sort_field must be create_time or update_time.")
    if order not in ("ASC", "DESC"):
        raise _ParamError("sort_order must be ASC or DESC.")
    try:
        body = request.json() if request.body else {}
    except ValueError:
        raise _ParamError("the body is not JSON") from None
    if not isinstance(body, dict):
        raise _ParamError("the body must be a JSON object")
    bounds = {}
    for name in ("update_time_ge", "update_time_lt", "create_time_ge", "create_time_lt"):
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise _ParamError(f"{name} must be a Unix timestamp.")
        bounds[name] = value
    return field, order, body, bounds
