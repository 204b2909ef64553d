"""The WooCommerce sandbox: a local twin of ``GET /wp-json/wc/v3/orders`` and
``GET /wp-json/wc/v3/orders/<id>/refunds`` with seeded orders and their refunds.

It enforces what the real API does, as the sources show it (see ``client.py`` for the
citations):

- **Auth**: HTTP Basic with the consumer key and secret (or the documented
  ``consumer_key``/``consumer_secret`` query fallback). A known key with a wrong secret is
  401 ``woocommerce_rest_authentication_error`` ("Consumer secret is invalid."); a missing
  or unknown key leaves the request anonymous, and the orders route answers 401
  ``woocommerce_rest_cannot_view``. Real WooCommerce accepts Basic only over HTTPS; the
  sandbox speaks plain HTTP on 127.0.0.1 as a local stand-in for HTTPS.
- **Parameters** (WordPress REST validation, all errors of one request reported together
  as 400 ``rest_invalid_param``): ``page`` >= 1, ``per_page`` 1..100, ``date-time``
  values, ``dates_are_gmt`` boolean, ``orderby``/``order``/``status`` enums; ``include``
  is sanitised like ``wp_parse_id_list`` (non-numbers become 0 and match nothing).
- **Date filters** as ``WP_Date_Query`` builds them: ``modified_after``/``after`` are
  strict ``>``, ``modified_before``/``before`` strict ``<``, compared against the GMT
  columns when ``dates_are_gmt`` is true and the site-local columns otherwise. A value
  with an offset is first converted to *site-local* time (``build_mysql_datetime``), so
  ``...Z`` together with ``dates_are_gmt=true`` is off by the site's offset: send naive
  GMT. Fractional seconds are dropped. ``after``/``before`` filter the created date.
- **Order**: ``orderby=modified`` (or ``date``) sorts with ``id`` as the tie-break in the
  same direction, as WooCommerce appends ``ID`` to the orderby. ``status=any`` is every
  status but ``trash``.
- **Headers**: ``X-WP-Total``, ``X-WP-TotalPages`` and a ``Link`` header with ``prev`` /
  ``next``. Pages past the end are an empty list with the headers, as the CRUD controller
  answers. ``Link`` uses the address the request came to (so it can be followed); the
  bodies' ``_links`` use the fixed site URL so payloads do not depend on the port.
- **``_fields``** (WordPress's global parameter, ``rest_filter_response_fields``): a
  comma-separated list of the fields to keep in each listed object; ``a.b`` keeps one field
  of an object (of a list, nothing: the keys are intersected); unknown names are ignored.
- **Refunds** (``GET /orders/<id>/refunds``, storefronts_couriers.md §2.4 and the
  order-refunds controller): the same auth, ``page``/``per_page`` (1..100, default 10)
  and ``orderby``/``order`` checks (default ``date``, ``desc``: newest first), the same
  headers; each refund as ``get_formatted_item_data()`` renders it (``amount`` a positive
  string, ``reason``, ``refunded_by``, ``refunded_payment``, ``line_items`` with negative
  quantity and totals and ``_refunded_item_id`` meta, empty shipping/tax/fee lines, links
  ``self``/``collection``/``up``). An order the shop does not know has no refunds (an empty
  list, as ``get_items`` filters refunds by parent), a trashed order's refunds still list.

Data: seeded orders over the last 45 days of the sandbox clock, site zone Asia/Jakarta,
IDR amounts as strings with two decimals, ``line_items[].price`` a number, obviously fake
buyers (``Budi Contoh``, ``0800-0000-....``, documentation IP range). Each order follows a
life cycle as WooCommerce's gateways and a shop drive it: COD goes straight to processing
(``date_paid`` null until completed), then a waybill, then completed or cancelled (refused
at the door); bank transfer waits on-hold until paid, or is cancelled, or left on-hold;
card payment (Midtrans) is pending until paid, failed, cancelled by the 60-minute
hold-stock timer, or abandoned. Some paid orders are refunded in full, some completed ones
partly (embedded ``refunds[]`` with negative totals and a ``reason``), and a share of the
completed orders gets a line refunded hours to days later (``LATE_REFUND_SHARE``, drawn
from a random stream of its own so the rest of each order's life is as it always was):
damaged, wrong variant, too small, changed mind, part out of stock... Each refund saves its
order (``date_modified`` moves to the refund's time, as ``wc_create_refund`` does); a
refund of a Midtrans order went through the gateway (``refunded_payment`` true), one of a
bank-transfer or COD order was made by hand (false). Steps happen as the
data clock passes them; ``date_modified`` is the latest step at or before now. A waybill
appears in ``meta_data`` (``_resi_<courier>`` or the Shipment Tracking extension's
``_wc_shipment_tracking_items``) hours after payment, and is a save, so it moves
``date_modified``. Time only moves the shop forward: setting the clock back leaves the data
as it is. Refund, item and meta ids are synthetic. ``dump_orders()`` returns every order as
the API renders it, trashed ones included (``status=trash`` lists them).

Admin actions (``POST /_sandbox/<action>``):

- ``mutate``: ``{"touch": [ids], "at": epoch|null, "status": str|null}`` sets each
  order's ``date_modified`` to ``at`` (default now, any exact second for tie tests) and
  optionally its status (cancelling its scheduled steps); ``{"insert": n, "at": ...}``
  creates n new orders created at ``at``.
- ``corrupt``: ``{"id": ..., "field": "total"|"currency"|"quantity"}`` makes one order
  unmappable (a save, so ``date_modified`` moves to now).
- ``poison``: see ``connectors._sandbox.hostile``.
- ``returns`` (the returns contract suite's instrument; ids are refund ids):
  ``{"touch": [ids], "at": epoch|null}`` re-dates each refund to ``at`` (default now) and
  saves its order then. A real refund is never edited (no update route; its only time is
  ``date_created``, which is also its version), so this stands for "the refund's record
  changed at ``at``" and is the only way its payload changes. ``{"advance": [ids]}``:
  refunds have no further status (``api`` and ``manual`` are both final), so each is only
  touched at now. ``{"corrupt": id}`` makes one refund's ``amount`` unreadable and touches it.

``dump_returns()`` gives every refund of every listed (not trashed) order as the
connector's returns walk yields it: the refund object plus ``"order": {"id", "currency"}``.

Paging faults (``SandboxApp.page_fault``, on listings by modification time): ``empty``
answers with an empty page while ``X-WP-TotalPages`` says more follow. WooCommerce's
``get_items`` drops the orders the key may not read *after* the query (a per-object
``read`` check), so a page of such orders comes back empty yet counted; here a phantom
page of them sits at that page number, and the real page and every later page of the
same listing move one page on, so no readable order is lost. ``repeat`` is a stuck cache
in front of the shop: it answers with the last listing page it saw, whatever was asked (of
the same ``_fields``: the returns walk's slim listing and the full one are two replies).

Scale: orders live in a dict, non-trash orders also in a list sorted by
``(date_modified, id)``; a listing by ``modified`` is two bisections and a slice, and
steps due are popped from a heap, so 100k orders cost no more per page than 100.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import math
import random
import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from connectors._sandbox import Reply, Request, SandboxClock
from connectors._sandbox.shop import SeededShop

SITE_URL = "https://toko-contoh.example"
SITE_ZONE = ZoneInfo("Asia/Jakarta")
ORDERS_ROUTE = "/wp-json/wc/v3/orders"
ORDER_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "checkout-draft")
STATUS_ENUM = ("any", "trash", "auto-draft", *ORDER_STATUSES)
ORDERBY_ENUM = ("date", "id", "include", "title", "slug", "modified")
MINUTE, HOUR, DAY = 60, 3600, 86400
HISTORY = 45 * DAY
FIRST_ID = 1001
UTC = timezone.utc

# -- seed tables (all fake) -------------------------------------------------------------------
CATALOG = (  # product_id, variation_id, sku, name, price in IDR
    (93, 0, "KAOS-POLOS-M", "Kaos Polos Katun (M)", 89_000),
    (93, 95, "KAOS-POLOS-L", "Kaos Polos Katun - L", 89_000),
    (120, 0, "KMJ-BATIK-01", "Kemeja Batik Parang", 249_000),
    (131, 0, "KOPI-GAYO-250", "Kopi Arabika Gayo 250 g", 115_000),
    (144, 0, "SAMBAL-BWG-200", "Sambal Bawang 200 g", 45_000),
    (152, 0, "TAS-ANYAM-S", "Tas Anyaman Pandan", 175_000),
    (160, 0, "MADU-HUTAN-500", "Madu Hutan 500 ml", 135_000),
)
FIRST_NAMES = ("Budi", "Siti", "Agus", "Dewi", "Rina", "Joko", "Wati", "Andi")
CITIES = (  # city, WooCommerce state code, postcode
    ("Jakarta Selatan", "JK", "12190"),
    ("Bandung", "JB", "40115"),
    ("Surabaya", "JI", "60271"),
    ("Medan", "SU", "20112"),
    ("Makassar", "SN", "90111"),
    ("Denpasar", "BA", "80361"),
    ("Yogyakarta", "YO", "55281"),
)
COURIERS = (("jne", "JNE REG", "JNE Express"), ("sicepat", "SiCepat REG", "SiCepat"), ("jnt", "J&T EZ", "J&T Express"))
PAYMENTS = {"cod": "Cash on delivery", "bacs": "Direct bank transfer", "midtrans": "Midtrans"}
REFUND_REASONS = {"full": "Stok habis", "partial": "Barang rusak"}
LATE_REASONS = (  # what a shop types when it refunds a line after completion (fake, mixed languages)
    "Barang rusak saat diterima",
    "Salah kirim varian",
    "Ukuran kekecilan",
    "Tidak sesuai deskripsi",
    "Pembeli berubah pikiran",
    "Stok habis sebagian",
    "Wrong colour sent",
    "",
    "Dana dikembalikan ke rekening 8801 2345 6789",
)
LATE_REFUND_SHARE = 0.45  # of completed orders without a partial refund
REFUNDS_PATH = re.compile(r"/wp-json/wc/v3/orders/(\d+)/refunds")
SHOP_MANAGER = 1  # refunded_by: the shop's WordPress user
NOTES = ("", "", "", "Tolong dibungkus rapi", "Kirim sore hari")


# -- one order's deterministic blueprint -----------------------------------------------------
@dataclass(frozen=True, slots=True)
class Blueprint:
    """Everything about an order that follows from (seed, id, created): details and steps."""

    payment: str
    courier: int
    tracking_style: str  # "resi" (meta key _resi_<courier>) or "items" (Shipment Tracking)
    tracking_number: str
    buyer: int
    city: int
    guest: bool
    lines: tuple[tuple[int, int, int], ...]  # catalog index, quantity, discount per unit
    coupon: bool
    shipping: int
    note: str
    steps: tuple[tuple[int, str], ...]  # (epoch, status name | "resi" | "partial_refund")

    @classmethod
    def make(cls, seed: int, order_id: int, created: int) -> "Blueprint":
        rng = random.Random(seed * 1_000_003 + order_id)
        payment = rng.choices(("cod", "bacs", "midtrans"), weights=(40, 25, 35))[0]
        courier = rng.randrange(len(COURIERS))
        coupon = rng.random() < 0.15
        lines = []
        for index in rng.sample(range(len(CATALOG)), rng.randint(1, 3)):
            price = CATALOG[index][4]
            lines.append((index, rng.randint(1, 3), price // 1000 * 100 if coupon else 0))  # HEMAT10: 10% off
        return cls(
            payment=payment,
            courier=courier,
            tracking_style=rng.choice(("resi", "resi", "items")),
            tracking_number=_waybill(rng, COURIERS[courier][0]),
            buyer=rng.randrange(len(FIRST_NAMES)),
            city=rng.randrange(len(CITIES)),
            guest=rng.random() < 0.3,
            lines=tuple(lines),
            coupon=coupon,
            shipping=rng.randrange(9, 36) * 1000,
            note=rng.choice(NOTES),
            steps=tuple(_with_late_refund(seed, order_id, _life_cycle(rng, payment, created))),
        )


def _waybill(rng: random.Random, courier: str) -> str:
    digits = f"{rng.randrange(10**12):012d}"
    return {"jne": "CGK" + digits, "sicepat": "00" + digits[:10], "jnt": "JP" + digits[:10]}[courier]


def _life_cycle(rng: random.Random, payment: str, t: int) -> list[tuple[int, str]]:
    """The order's steps from creation on, as WooCommerce's gateways and a shop drive them."""
    if payment == "cod":  # the COD gateway puts the order straight into processing
        steps = [(t, "processing")]
        if rng.random() < 0.1:
            return steps + [(t + rng.randrange(HOUR, 2 * DAY), "cancelled")]
        return steps + _fulfil(rng, t, cod=True)
    if payment == "bacs":  # bank transfer waits on-hold until the shop sees the money
        steps, paid_after = [(t, "on-hold")], rng.randrange(10 * MINUTE, 20 * HOUR)
        unpaid = [[(t + rng.randrange(DAY, 3 * DAY), "cancelled")], []]  # or left on-hold for good
    else:
        steps, paid_after = [(t, "pending")], rng.randrange(MINUTE, 2 * HOUR)
        unpaid = [[(t + rng.randrange(5 * MINUTE, HOUR), "failed")], [(t + HOUR, "cancelled")], []]  # 60 min: hold-stock timeout
    if rng.random() < 0.2:
        return steps + rng.choice(unpaid)
    paid = t + paid_after
    steps.append((paid, "processing"))
    if rng.random() < 0.05:
        return steps + [(paid + rng.randrange(2 * HOUR, 2 * DAY), "refunded")]
    return steps + _fulfil(rng, paid, cod=False)


def _with_late_refund(seed: int, order_id: int, steps: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """A completed order without a partial refund may get a line refunded later, drawn from
    its own random stream (the order's other draws stay as they were)."""
    done = next((at for at, step in steps if step == "completed"), None)
    if done is None or any(step == "partial_refund" for _, step in steps):
        return steps
    rng = random.Random(f"woo-late-refund:{seed}:{order_id}")
    if rng.random() >= LATE_REFUND_SHARE:
        return steps
    return steps + [(done + rng.randrange(HOUR, 6 * DAY), "line_refund")]


def _fulfil(rng: random.Random, paid: int, *, cod: bool) -> list[tuple[int, str]]:
    shipped = paid + rng.randrange(2 * HOUR, 30 * HOUR)
    steps = [(shipped, "resi")]
    if cod and rng.random() < 0.1:  # refused at the door, back to the shop
        return steps + [(shipped + rng.randrange(3 * DAY, 8 * DAY), "cancelled")]
    done = shipped + rng.randrange(DAY, 4 * DAY)
    steps.append((done, "completed"))
    if rng.random() < 0.1:
        steps.append((done + rng.randrange(DAY, 5 * DAY), "partial_refund"))
    return steps


# -- live state ---------------------------------------------------------------------------------
class RefundState:
    """One refund: ``kind`` is ``full`` (the whole order), ``partial`` (one unit of the first
    line) or ``line`` (some units of one line, chosen from the order's own refund stream)."""

    __slots__ = ("id", "created", "kind", "corrupt")

    def __init__(self, refund_id: int, created: int, kind: str) -> None:
        self.id, self.created, self.kind = refund_id, created, kind
        self.corrupt = False


class OrderState:
    """What has happened to one order so far; the rest is re-derived from its blueprint."""

    __slots__ = ("id", "created", "cod", "status", "modified", "paid", "completed", "shipped", "refunds", "corrupt", "plan")

    def __init__(self, order_id: int, created: int, cod: bool) -> None:
        self.id, self.created, self.cod = order_id, created, cod
        self.status = "pending"
        self.modified = created
        self.paid: int | None = None
        self.completed: int | None = None
        self.shipped: int | None = None
        self.refunds: tuple[RefundState, ...] = ()
        self.corrupt: str | None = None
        self.plan = 0  # bumped when an admin overrides the status: pending steps go stale

    def apply(self, at: int, step: str) -> None:
        self.modified = at
        if step == "resi":
            self.shipped = at
        elif step in ("partial_refund", "line_refund"):
            self._refund(at, "partial" if step == "partial_refund" else "line")
        else:
            self.status = step
            if step == "processing" and not self.cod:
                self.paid = self.paid or at
            elif step == "completed":
                self.completed = at
                self.paid = self.paid or at  # COD: WooCommerce sets date_paid on completion
            elif step == "refunded":
                self._refund(at, "full")

    def _refund(self, at: int, kind: str) -> None:
        self.refunds += (RefundState(9_000_000 + self.id * 10 + len(self.refunds), at, kind),)


CORRUPTIONS = {
    "total": lambda order: order.update(total="abc"),
    "currency": lambda order: order.pop("currency"),
    "quantity": lambda order: order["line_items"][0].update(quantity="dua"),
}


class WooCommerceSandbox(SeededShop):
    """A seeded shop behind ``GET /wp-json/wc/v3/orders``; ``SandboxServer`` serves it."""

    channel = "woocommerce"
    page_size_param = "per_page"

    def __init__(self, *, orders: int = 200, seed: int = 0, clock: SandboxClock | None = None) -> None:
        super().__init__(clock)
        self.seed = seed
        self._key = "ck_" + hashlib.sha1(f"woo-key:{seed}".encode()).hexdigest()
        self._secret = "cs_" + hashlib.sha1(f"woo-secret:{seed}".encode()).hexdigest()
        rng = random.Random(seed)
        for created in sorted(self._now - rng.randrange(HISTORY) for _ in range(orders)):
            self._create(created, index=False)
        self._build_index()
        self._phantom: tuple[frozenset[tuple[str, str]], int] | None = None  # (listing, page) of an ``empty`` fault
        self._last_listing: dict[str, Reply] = {}  # per _fields: a cache keeps each representation apart

    def demo_credentials(self) -> dict[str, str]:
        return {"consumer_key": self._key, "consumer_secret": self._secret}

    # -- SandboxApp -------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        with self._lock:
            self._advance()
            identity = self._authenticate(request)
            if identity == "bad_secret":
                return error(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
            path = request.path.rstrip("/")
            refunds_of = REFUNDS_PATH.fullmatch(path)
            if (path != ORDERS_ROUTE and refunds_of is None) or request.method != "GET":
                return error(404, "rest_no_route", "No route was found matching the URL and request method.")
            if identity is None:
                return error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
            if refunds_of is not None:
                return self._list_refunds(int(refunds_of.group(1)), request)
            query = ListQuery.parse(request.query)
            if isinstance(query, Reply):
                return query
            return self._list(query, request)

    def is_listing(self, request: Request) -> bool:
        return request.path.rstrip("/") == ORDERS_ROUTE and request.method == "GET" and "include" not in request.query

    def page_fault(self, kind: str, request: Request) -> Reply:
        kind = "empty" if kind == "fresh" else kind  # a new page number is WooCommerce's ever-new cursor
        if kind == "repeat":
            with self._lock:
                last = self._last_listing.get(request.query.get("_fields", ""))
            return last if last is not None else self.handle(request)
        with self._lock:
            self._phantom = (_listing_key(request), _page_number(request))
            reply = self.handle(request)  # now one page longer
        if reply.status != 200:
            return reply
        return Reply(200, [], reply.headers)

    def error_reply(self, kind: str, status: int) -> Reply:
        if kind == "rate_limit":  # core wc/v3 has no limiter; hosts and WAFs add one (synthetic code)
            return error(status, "woocommerce_rest_too_many_requests", "Too many requests.")
        return error(status, "internal_server_error", "There has been a critical error on this website.")

    def dump_orders(self) -> list[dict[str, Any]]:
        with self._lock:
            self._advance()
            return [self._render(self._orders[i]) for i in sorted(self._orders)]

    def dump_returns(self) -> list[dict[str, Any]]:
        """Every refund of every listed order, as the connector's returns walk yields it."""
        with self._lock:
            self._advance()
            out = []
            for order_id in sorted(self._orders):
                order = self._orders[order_id]
                if order.refunds and order.status != "trash":
                    summary = {"id": order.id, "currency": self._render(order).get("currency")}
                    out += [{**body, "order": summary} for body in self._refunds_rendered(order)]
            return out

    # -- time ---------------------------------------------------------------------------------
    def _create(self, created: int, *, index: bool = True) -> OrderState:
        order_id = FIRST_ID + len(self._orders)
        blueprint = Blueprint.make(self.seed, order_id, created)
        order = OrderState(order_id, created, blueprint.payment == "cod")
        self._orders[order_id] = order
        self._schedule(order_id, order, blueprint.steps, created)
        if index:
            self._add_to_index(order)
        return order

    def _index_key(self, order: OrderState) -> tuple[int, int] | None:
        return None if order.status == "trash" else (order.modified, order.id)  # trash is never listed

    def _apply(self, order: OrderState, at: int, step: str) -> None:
        order.apply(at, step)

    # -- auth -----------------------------------------------------------------------------------
    def _authenticate(self, request: Request) -> str | None:
        """'ok', 'bad_secret', or None for an anonymous request (no or unknown key)."""
        key, secret = request.query.get("consumer_key"), request.query.get("consumer_secret")
        header = {k.lower(): v for k, v in request.headers.items()}.get("authorization", "")
        if header.startswith("Basic "):
            try:
                key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
        if not key or not hmac.compare_digest(key, self._key):
            return None
        return "ok" if secret and hmac.compare_digest(secret, self._secret) else "bad_secret"

    # -- listing --------------------------------------------------------------------------------
    def _list(self, q: "ListQuery", request: Request) -> Reply:
        phantom = self._phantom is not None and self._phantom[0] == _listing_key(request)
        shift = 1 if phantom and q.page > self._phantom[1] else 0
        total, ids = self._select(replace(q, page=q.page - shift))
        total += q.per_page if phantom else 0
        pages = math.ceil(total / q.per_page)
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        link = _link_header(request, q.page, pages)
        if link:
            headers["Link"] = link
        fields = _field_tree(request.query.get("_fields", ""))
        reply = Reply(200, [_only(fields, self._with_poisons(i, self._render(self._orders[i]))) for i in ids], headers)
        if q.include is None:
            self._last_listing[request.query.get("_fields", "")] = reply
        return reply

    def _select(self, q: "ListQuery") -> tuple[int, list[int]]:
        """(total matches, ids on the requested page)."""
        start = (q.page - 1) * q.per_page
        if q.orderby == "modified" and q.statuses == {"any"} and q.include is None and q.created == (None, None):
            low, high = q.modified
            lo = 0 if low is None else bisect.bisect_right(self._index, (low, math.inf))
            hi = len(self._index) if high is None else bisect.bisect_left(self._index, (high, -1))
            if q.order == "asc":
                keys = self._index[lo + start : min(hi, lo + start + q.per_page)]
            else:
                end = max(lo, hi - start)
                keys = self._index[max(lo, end - q.per_page) : end][::-1]
            return hi - lo, [i for _, i in keys]
        chosen = sorted((o for o in self._orders.values() if q.matches(o)), key=q.sort_key, reverse=q.order == "desc")
        return len(chosen), [o.id for o in chosen[start : start + q.per_page]]

    # -- rendering ------------------------------------------------------------------------------
    def _render(self, order: OrderState) -> dict[str, Any]:
        bp = Blueprint.make(self.seed, order.id, order.created)
        first = FIRST_NAMES[bp.buyer]
        city, state, postcode = CITIES[bp.city]
        courier, method_title, provider = COURIERS[bp.courier]
        lines = [_line_item(order.id, k, *line) for k, line in enumerate(bp.lines)]
        discount = sum(qty * cut for _, qty, cut in bp.lines)
        total = sum(CATALOG[i][4] * qty for i, qty, _ in bp.lines) - discount + bp.shipping
        address = {
            "first_name": first,
            "last_name": "Contoh",
            "company": "",
            "address_1": f"Jl. Contoh No. {order.id % 97 + 1}",
            "address_2": "",
            "city": city,
            "state": state,
            "postcode": postcode,
            "country": "ID",
        }
        phone = f"0800-0000-{bp.buyer:02d}{order.id % 100:02d}"
        customer_id = 0 if bp.guest else 20 + bp.buyer
        body = {
            "id": order.id,
            "parent_id": 0,
            "number": str(order.id),
            "order_key": "wc_order_" + hashlib.sha1(f"{self.seed}:{order.id}".encode()).hexdigest()[:13],
            "created_via": "checkout",
            "version": "8.5.1",
            "status": order.status,
            "currency": "IDR",
            **_dates("date_created", order.created),
            **_dates("date_modified", order.modified),
            "discount_total": _idr(discount),
            "discount_tax": "0.00",
            "shipping_total": _idr(bp.shipping),
            "shipping_tax": "0.00",
            "cart_tax": "0.00",
            "total": _idr(total),
            "total_tax": "0.00",
            "prices_include_tax": False,
            "customer_id": customer_id,
            "customer_ip_address": f"192.0.2.{order.id % 250 + 1}",
            "customer_user_agent": "Mozilla/5.0 (Linux; Android 13) SandboxBrowser/1.0",
            "customer_note": bp.note,
            "billing": {**address, "email": f"{first.lower()}.contoh@example.com", "phone": phone},
            "shipping": {**address, "phone": phone},
            "payment_method": bp.payment,
            "payment_method_title": PAYMENTS[bp.payment],
            "transaction_id": f"MT-{order.id}" if bp.payment == "midtrans" and order.paid else "",
            **_dates("date_paid", order.paid),
            **_dates("date_completed", order.completed),
            "cart_hash": hashlib.md5(f"cart:{self.seed}:{order.id}".encode()).hexdigest(),
            "meta_data": _meta(order, bp, provider, courier),
            "line_items": lines,
            "tax_lines": [],
            "shipping_lines": [
                {"id": order.id * 100 + 50, "method_title": method_title, "method_id": "flat_rate", "instance_id": "1",
                 "total": _idr(bp.shipping), "total_tax": "0.00", "taxes": [], "meta_data": []}
            ],
            "fee_lines": [],
            "coupon_lines": [{"id": order.id * 100 + 60, "code": "hemat10", "discount": _idr(discount), "discount_tax": "0.00", "meta_data": []}] if bp.coupon else [],
            "refunds": [b["summary"] for b in self._refund_bodies(order, bp)][::-1],  # newest first, as WC_Order::get_refunds()
            "_links": _links(order.id, customer_id),
        }
        if order.corrupt:
            CORRUPTIONS[order.corrupt](body)
        return body

    # -- admin ----------------------------------------------------------------------------------
    def _mutate(self, body: dict[str, Any]) -> dict[str, Any]:
        at = self._now if body.get("at") is None else int(body["at"])
        status = body.get("status")
        if status is not None and status not in (*ORDER_STATUSES, "trash"):
            raise ValueError(f"unknown status {status!r}")
        touched = [self._order(i) for i in body.get("touch") or []]
        for order in touched:
            self._reindex(order, lambda o: _touch(o, at, status))
        inserted = [self._create(at).id for _ in range(int(body.get("insert") or 0))]
        return {"touched": len(touched), "inserted": inserted, "now": self._now}

    def _refund_bodies(self, order: OrderState, bp: Blueprint | None = None) -> list[dict[str, Any]]:
        """The order's refunds as ``GET /orders/<id>/refunds`` renders them, oldest first.
        (The order's own ``refunds[]`` summary lists the same, newest first, as
        ``WC_Order::get_refunds()`` does: ``{id, reason, total: "-" + amount}``.)"""
        bp = bp or Blueprint.make(self.seed, order.id, order.created)
        return [_refund_body(self.seed, order, bp, k, refund) for k, refund in enumerate(order.refunds)]

    def _refunds_rendered(self, order: OrderState) -> list[dict[str, Any]]:
        """The refunds as the refunds route answers (without the order's summary of them)."""
        return [{k: v for k, v in body.items() if k != "summary"} for body in self._refund_bodies(order)]

    def _list_refunds(self, order_id: int, request: Request) -> Reply:
        problems: dict[str, str] = {}
        page = _integer(request.query, "page", 1, 1, None, problems)
        per_page = _integer(request.query, "per_page", 10, 1, 100, problems)
        orderby = _choice(request.query, "orderby", "date", ORDERBY_ENUM, problems)
        order_dir = _choice(request.query, "order", "desc", ("asc", "desc"), problems)
        if problems:
            return error(400, "rest_invalid_param", f"Invalid parameter(s): {', '.join(problems)}", params=problems)
        order = self._orders.get(order_id)
        bodies = self._refunds_rendered(order) if order is not None else []
        by_date = orderby in ("date", "modified")
        bodies.sort(key=lambda b: (b["date_created_gmt"], b["id"]) if by_date else (b["id"],), reverse=order_dir == "desc")
        pages = math.ceil(len(bodies) / per_page)
        headers = {"X-WP-Total": str(len(bodies)), "X-WP-TotalPages": str(pages)}
        link = _link_header(request, page, pages)
        if link:
            headers["Link"] = link
        fields = _field_tree(request.query.get("_fields", ""))
        return Reply(200, [_only(fields, b) for b in bodies[(page - 1) * per_page : page * per_page]], headers)

    def _returns_admin(self, body: dict[str, Any]) -> dict[str, Any]:
        at = self._now if body.get("at") is None else int(body["at"])
        if "corrupt" in body:
            order, refund = self._find_refund(body["corrupt"])
            refund.corrupt = True
            self._touch_refund(order, refund, self._now)
            return {"corrupted": refund.id, "now": self._now}
        touched = [self._find_refund(i) for i in body.get("touch") or []]
        for order, refund in touched:
            self._touch_refund(order, refund, at)
        advanced = [self._find_refund(i) for i in body.get("advance") or []]
        for order, refund in advanced:  # api and manual are both final: only touched
            self._touch_refund(order, refund, self._now)
        return {"touched": len(touched) + len(advanced), "advanced": 0, "now": self._now}

    def _find_refund(self, refund_id: Any) -> tuple[OrderState, RefundState]:
        number = int(refund_id)
        order = self._orders.get((number - 9_000_000) // 10)
        for refund in order.refunds if order is not None else ():
            if refund.id == number:
                return order, refund
        raise ValueError(f"no refund {refund_id}")

    def _touch_refund(self, order: OrderState, refund: RefundState, at: int) -> None:
        """The refund's record changes at ``at``, and, as every refund save does, its order."""
        refund.created = at
        self._reindex(order, lambda o: _touch(o, at, None))

    def _corrupt(self, body: dict[str, Any]) -> dict[str, Any]:
        order, field = self._order(body["id"]), body.get("field", "total")
        if field not in CORRUPTIONS:
            raise ValueError(f"field must be one of {sorted(CORRUPTIONS)}")
        self._reindex(order, lambda o: _touch(o, self._now, None, corrupt=field))
        return {"id": order.id, "field": field}

    def _order(self, order_id: Any) -> OrderState:
        order = self._orders.get(int(order_id))
        if order is None:
            raise ValueError(f"no order {order_id}")
        return order


def _touch(order: OrderState, at: int, status: str | None, *, corrupt: str | None = None) -> None:
    if status is not None:
        order.plan += 1
        order.apply(at, status)
    order.modified = at
    order.corrupt = corrupt or order.corrupt


# -- the list request ---------------------------------------------------------------------------
_DATE_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}(?::?\d{2})?)?$")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


@dataclass(frozen=True, slots=True)
class ListQuery:
    page: int
    per_page: int
    orderby: str
    order: str
    statuses: frozenset[str]
    include: tuple[int, ...] | None
    modified: tuple[int | None, int | None]  # exclusive epoch bounds on date_modified
    created: tuple[int | None, int | None]  # exclusive epoch bounds on date_created

    @classmethod
    def parse(cls, params: dict[str, str]) -> "ListQuery | Reply":
        """Validate like WordPress REST: every bad parameter named in one 400 reply."""
        problems: dict[str, str] = {}
        page = _integer(params, "page", 1, 1, None, problems)
        per_page = _integer(params, "per_page", 10, 1, 100, problems)
        orderby = _choice(params, "orderby", "date", ORDERBY_ENUM, problems)
        order = _choice(params, "order", "desc", ("asc", "desc"), problems)
        statuses = [s for s in re.split(r"[\s,]+", params.get("status", "any")) if s]
        for i, status in enumerate(statuses):
            if status not in STATUS_ENUM:
                problems["status"] = f"status[{i}] is not one of {', '.join(STATUS_ENUM)}."
        gmt = _BOOLEANS.get(params.get("dates_are_gmt", "false").lower())
        if gmt is None:
            problems["dates_are_gmt"] = "dates_are_gmt is not of type boolean."
        bounds = {name: _bound(params, name, bool(gmt), problems) for name in ("after", "before", "modified_after", "modified_before")}
        if problems:
            return error(400, "rest_invalid_param", f"Invalid parameter(s): {', '.join(problems)}", params=problems)
        include = params.get("include")
        return cls(
            page=page,
            per_page=per_page,
            orderby=orderby,
            order=order,
            statuses=frozenset(statuses or ["any"]),
            include=tuple(dict.fromkeys(_absint(p) for p in re.split(r"[\s,]+", include) if p)) if include else None,
            modified=(bounds["modified_after"], bounds["modified_before"]),
            created=(bounds["after"], bounds["before"]),
        )

    def matches(self, order: OrderState) -> bool:
        if "any" in self.statuses:
            if order.status == "trash":
                return False
        elif order.status not in self.statuses:
            return False
        if self.include is not None and order.id not in self.include:
            return False
        return _within(order.modified, self.modified) and _within(order.created, self.created)

    def sort_key(self, order: OrderState) -> tuple[int, int]:
        if self.orderby == "modified":
            return order.modified, order.id
        if self.orderby == "date":
            return order.created, order.id
        if self.orderby == "include" and self.include:
            return self.include.index(order.id), order.id
        return order.id, order.id  # id, and title/slug (an order's title is its creation stamp)


def _integer(params: dict[str, str], name: str, default: int, low: int, high: int | None, problems: dict[str, str]) -> int:
    text = params.get(name)
    if text is None:
        return default
    if not re.fullmatch(r"-?\d+", text.strip()):
        problems[name] = f"{name} is not of type integer."
        return default
    value = int(text)
    if value < low or (high is not None and value > high):
        problems[name] = f"{name} must be between {low} (inclusive) and {high} (inclusive)" if high else f"{name} must be greater than or equal to {low}"
    return value


def _choice(params: dict[str, str], name: str, default: str, allowed: tuple[str, ...], problems: dict[str, str]) -> str:
    value = params.get(name, default)
    if value not in allowed:
        problems[name] = f"{name} is not one of {', '.join(allowed)}."
    return value


def _bound(params: dict[str, str], name: str, gmt: bool, problems: dict[str, str]) -> int | None:
    """An exclusive epoch bound, computed the way WP_Date_Query::build_mysql_datetime does."""
    text = params.get(name)
    if text is None:
        return None
    match = _DATE_TIME.match(text)
    if not match:
        problems[name] = "Invalid date."
        return None
    day, clock, offset = match.groups()
    naive = datetime.fromisoformat(f"{day}T{clock}")
    if offset:  # date_create() honours the offset, then setTimezone(site zone): a site-local value
        naive = datetime.fromisoformat(f"{day}T{clock}{'+00:00' if offset == 'Z' else offset}").astimezone(SITE_ZONE).replace(tzinfo=None)
    column_zone = UTC if gmt else SITE_ZONE  # compared against post_modified_gmt or post_modified
    return int(naive.replace(tzinfo=column_zone).timestamp())


def _absint(text: str) -> int:
    return abs(int(text)) if re.fullmatch(r"-?\d+", text) else 0


def _within(value: int, bounds: tuple[int | None, int | None]) -> bool:
    low, high = bounds
    return (low is None or value > low) and (high is None or value < high)


# -- rendering helpers --------------------------------------------------------------------------
def error(status: int, code: str, message: str, **data: Any) -> Reply:
    """WordPress's REST error envelope."""
    return Reply(status, {"code": code, "message": message, "data": {"status": status, **data}})


def _idr(amount: int) -> str:
    return f"{amount}.00"


def _dates(name: str, epoch: int | None) -> dict[str, str | None]:
    if epoch is None:
        return {name: None, f"{name}_gmt": None}
    moment = datetime.fromtimestamp(epoch, UTC)
    return {name: _stamp(moment.astimezone(SITE_ZONE)), f"{name}_gmt": _stamp(moment)}


def _stamp(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat()  # whole seconds: YYYY-MM-DDTHH:MM:SS


def _line_item(order_id: int, k: int, index: int, quantity: int, cut: int) -> dict[str, Any]:
    product_id, variation_id, sku, name, price = CATALOG[index]
    return {
        "id": order_id * 100 + k + 1,
        "name": name,
        "product_id": product_id,
        "variation_id": variation_id,
        "quantity": quantity,
        "tax_class": "",
        "subtotal": _idr(price * quantity),
        "subtotal_tax": "0.00",
        "total": _idr((price - cut) * quantity),
        "total_tax": "0.00",
        "taxes": [],
        "meta_data": [],
        "sku": sku,
        "price": price - cut,  # a number: total / quantity
    }


def _meta(order: OrderState, bp: Blueprint, provider: str, courier: str) -> list[dict[str, Any]]:
    meta: list[dict[str, Any]] = [{"id": order.id * 100 + 80, "key": "_wc_order_attribution_source_type", "value": "typein"}]
    if order.shipped is None:
        return meta
    if bp.tracking_style == "resi":
        meta.append({"id": order.id * 100 + 81, "key": f"_resi_{courier}", "value": bp.tracking_number})
    else:
        item = {
            "tracking_provider": "",
            "custom_tracking_provider": provider,
            "custom_tracking_link": "",
            "tracking_number": bp.tracking_number,
            "date_shipped": str(order.shipped - order.shipped % DAY),
            "tracking_id": hashlib.md5(bp.tracking_number.encode()).hexdigest(),
        }
        meta.append({"id": order.id * 100 + 81, "key": "_wc_shipment_tracking_items", "value": [item]})
    return meta


def _refund_body(seed: int, order: OrderState, bp: Blueprint, k: int, refund: RefundState) -> dict[str, Any]:
    """One refund as the order-refunds controller renders it (``get_formatted_item_data``).
    ``summary`` is what the order embeds of it (``corrupt`` breaks only the refund's own
    ``amount``: the order stays readable)."""
    if refund.kind == "full":  # the whole order, by amount: no line items
        reason, refunded = REFUND_REASONS["full"], []
    elif refund.kind == "partial":  # one unit of the first line
        reason, refunded = REFUND_REASONS["partial"], [(0, 1)]
    else:  # some units of one line, from the order's own refund stream
        rng = random.Random(f"woo-refund-line:{seed}:{order.id}:{k}")
        line = rng.randrange(len(bp.lines))
        reason, refunded = rng.choice(LATE_REASONS), [(line, rng.randint(1, bp.lines[line][1]))]
    items, amount = [], 0
    for j, (line, quantity) in enumerate(refunded):
        index, _, cut = bp.lines[line]
        product_id, variation_id, sku, name, price = CATALOG[index]
        unit = price - cut
        amount += unit * quantity
        items.append(
            {"id": refund.id * 100 + j + 1, "name": name, "product_id": product_id, "variation_id": variation_id, "quantity": -quantity,
             "tax_class": "", "subtotal": "-" + _idr(unit * quantity), "subtotal_tax": "0.00", "total": "-" + _idr(unit * quantity),
             "total_tax": "0.00", "taxes": [], "meta_data": [{"id": refund.id * 100 + 50 + j, "key": "_refunded_item_id", "value": str(order.id * 100 + line + 1)}],
             "sku": sku, "price": -unit}
        )  # fmt: skip
    if refund.kind == "full":
        amount = sum(CATALOG[i][4] * qty - cut * qty for i, qty, cut in bp.lines) + bp.shipping
    route = f"{SITE_URL}{ORDERS_ROUTE}/{order.id}/refunds"
    return {
        "id": refund.id,
        **_dates("date_created", refund.created),
        "amount": "abc" if refund.corrupt else _idr(amount),
        "reason": reason,
        "refunded_by": SHOP_MANAGER,
        "refunded_payment": bp.payment == "midtrans",  # Midtrans refunds through its API; transfers and COD by hand
        "meta_data": [],
        "line_items": items,
        "shipping_lines": [],
        "tax_lines": [],
        "fee_lines": [],
        "_links": {
            "self": [{"href": f"{route}/{refund.id}"}],
            "collection": [{"href": route}],
            "up": [{"href": f"{SITE_URL}{ORDERS_ROUTE}/{order.id}"}],
        },
        "summary": {"id": refund.id, "reason": reason, "total": "-" + _idr(amount)},
    }


def _field_tree(text: str) -> dict[str, Any] | None:
    """``_fields=a,b.c`` as ``{"a": True, "b": {"c": True}}``; None keeps everything."""
    tree: dict[str, Any] = {}
    for path in (p.strip() for p in text.split(",")):
        node = tree
        *parents, last = path.split(".") if path else [""]
        if not last:
            continue
        for part in parents:
            node = node.setdefault(part, {})
            if node is True:
                break
        else:
            node[last] = True
    return tree or None


def _only(tree: dict[str, Any] | None, value: Any) -> Any:
    """``value`` cut to ``tree`` as WordPress's ``_rest_array_intersect_key_recursive`` cuts
    it: by keys, so a nested path into a list (whose keys are 0, 1, ...) keeps nothing."""
    if tree is None:
        return value
    if isinstance(value, list):
        return []
    if not isinstance(value, dict):
        return value
    return {k: v if tree[k] is True else _only(tree[k], v) for k, v in value.items() if k in tree}


def _links(order_id: int, customer_id: int) -> dict[str, list[dict[str, str]]]:
    links = {
        "self": [{"href": f"{SITE_URL}{ORDERS_ROUTE}/{order_id}"}],
        "collection": [{"href": f"{SITE_URL}{ORDERS_ROUTE}"}],
    }
    if customer_id:
        links["customer"] = [{"href": f"{SITE_URL}/wp-json/wc/v3/customers/{customer_id}"}]
    return links


def _listing_key(request: Request) -> frozenset[tuple[str, str]]:
    """A listing's query without its page number and credentials: one walk's pages share it."""
    return frozenset((k, v) for k, v in request.query.items() if k not in ("page", "consumer_key", "consumer_secret"))


def _page_number(request: Request) -> int:
    text = request.query.get("page", "1")
    return int(text) if text.isdigit() else 1


def _link_header(request: Request, page: int, pages: int) -> str:
    host = {k.lower(): v for k, v in request.headers.items()}.get("host", "127.0.0.1")
    params = {k: v for k, v in request.query.items() if k not in ("page", "consumer_key", "consumer_secret")}
    links = []
    if page > 1:
        links.append((min(page - 1, pages), "prev"))
    if pages > page:
        links.append((page + 1, "next"))
    return ", ".join(f'<http://{host}{request.base_path}{request.path}?{urlencode({**params, "page": n})}>; rel="{rel}"' for n, rel in links)
