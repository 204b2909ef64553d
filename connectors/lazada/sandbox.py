"""The Lazada sandbox: a local twin of the Open Platform order and reverse-order APIs with
seeded orders and reverse orders.

It enforces the contract the sources document (shared/reference/marketplaces.md §4; the
source keys [L1]... are listed there and in ``client.py``), implemented here on its own:
it imports only plain constants from ``api`` (paths and documented limits), each pinned to
the documentation by ``tests/lazada/test_sandbox.py``. Its signer and its field lists are
its own, written from the documentation, so a client that gets either wrong is refused
here instead of agreeing with itself.

- **Signing** ([L1], [L2]; ``signature_base``/``signature``): ``app_key``, ``timestamp``,
  ``sign_method`` and ``sign`` on every call, ``access_token`` on seller calls; the
  signature is HMAC-SHA256 over the API path followed by every other parameter as
  ``key + value`` sorted by name, as UPPERCASE hex (a lowercase one is refused:
  ``IncompleteSignature``). A timestamp (epoch ms, or ISO 8601 UTC) more than 7,200 s from
  the real clock (``real_time``) is ``InvalidTimestamp``; an unknown or expired access token
  is ``IllegalAccessToken``.
- **Tokens**: access tokens live 30 days, refresh tokens 180 days from the authorisation
  (a refresh does not extend it, [L4]); ``/auth/token/refresh`` trades a refresh token for
  a new pair and retires the old pair (assumed: the strictest reading of "save the newest
  refresh_token every time"). ``expire_tokens()`` (the fault knob) expires every access token.
- **/orders/get**: ``update_after`` or ``created_after`` is required; ``limit`` 1..100;
  ``offset`` at most ``offset_cap`` (4,500, the reference table's reading; tests lower it);
  ``sort_by`` ``updated_at``/``created_at``, ``sort_direction`` ``ASC``/``DESC``; the reply
  is ``data.count``, ``data.countTotal`` (as text, like the documented example) and
  ``data.orders``. ``update_after``/``update_before`` are strict bounds (assumed; the
  attribute ``inclusive_bounds`` makes both inclusive, to prove the client does not care).
- **/orders/items/get**: ``order_ids`` a JSON list of 1..50 ids; ``data`` lists
  ``{order_id, order_number, order_items}`` for the ids the shop knows (assumed: unknown
  ids are left out). **/order/get**: one ``order_id``.
- **/seller/get**: a cheap authenticated call.
- **/reverse/getreverseordersforseller** ([L14], GET or POST, parameters in the query or a
  form body): ``page_size`` and ``page_no`` are required (``MissingParameter``), whole
  numbers from 1; ``ReverseOrderLineModifiedTimeRangeStart``/``End`` (milliseconds; strict
  bounds like ``/orders/get``'s, or inclusive with ``inclusive_bounds``), ``reverse_order_id``,
  ``trade_order_id`` and the JSON lists ``request_type_list``, ``reverse_status_list``,
  ``ofc_status_list`` filter; the reply is ``{code, request_id, result: {success, page_no,
  page_size, total, items}}``, items in ``reverse_order_id`` order (no order is documented).
  Two attributes mimic what third-party clients saw and the documentation does not say:
  ``reverse_page_cap`` (pages past it come back empty; default None: no cap) and
  ``reverse_list_lines`` (False: items without their lines, the detail has them).
- **/order/reverse/return/detail/list**: ``reverse_order_id`` required (``105``); a reverse
  order of another store is ``106`` "ROC internal error" (both documented codes); ``data``
  is the reverse order with ``reverseOrderLineDTOList`` (``productDTO``, ``buyer.user_id``).

Assumptions where the sources are silent (each mirrored by the connector): errors come
with HTTP 200 and ``{type, code, message, request_id}``; within one update second the list
is ordered by ``order_id``; ``order_id`` is a number unique within this shop only.

Data: seeded orders over the last 45 days of the data clock, Indonesia, IDR. Every unit
bought is its own order item ([L5]). Items move on their own ([L11]): ``unpaid`` ->
``pending`` when paid (COD orders start there) -> ``packed`` (the pack call assigns
``package_id`` and ``tracking_code`` at once) -> ``ready_to_ship`` -> ``shipped`` ->
``delivered``; some orders are never paid and cancelled, in some the buyer cancels one unit
before packing while the rest ships (a *partial* order), some COD parcels fail delivery
(``failed``), some are returned. Order amounts are text with 2 decimals, item amounts
numbers, as the documented and captured replies show (§4.6); phones are masked
(``81****7``); ``dump_orders()`` returns each order as the client yields it (the order
object with ``order_items``).

Reverse orders (``dump_returns()``: each as the list renders it, with its lines): every
other seeded order gets one. An order whose life cycle cancels units gets a ``CANCEL``
for them (``REQUEST_INITIATE`` -> ``CANCEL_SUCCESS``, then ``CANCEL_REFUND_ISSUED`` when
the units were paid for); a delivered order gets a ``RETURN`` (to the merchant:
``REQUEST_INITIATE`` -> ``RTM_SHIPPING_BACK``, a return airway bill appears ->
``RTM_RECEIVE_ITEM`` -> ``REFUND_SUCCESS``; or rejected ``REQUEST_REJECT``, or withdrawn
``REQUEST_CANCEL``) or an ``ONLY_REFUND`` (``REQUEST_INITIATE`` -> ``REFUND_PENDING`` ->
``REFUND_SUCCESS``, or ``REQUEST_REJECT``); a failed delivery gets none ([L18]). The
statuses are the API's documented ``reverse_status`` values and the reverse-order push's
keys [L15]; ``ofc_status`` is ``INITIAL``, ``RETURN_RTM_DELIVERED`` once received or
``RETURN_CANCELED`` when it ends otherwise (values seen in the documented examples and a
third-party capture). Every line of a reverse order moves together, on the data clock;
reasons are Lazada's documented ones (and ``Lainnya``, one no table names); amounts are
cents ([L14]); times are epoch **seconds** (two third-party captures; the documentation
does not say) and ``sla`` an epoch in milliseconds (the documented example). The reverse
orders do not move the order items' statuses (the orders keep their own life cycle).

Admin actions (``POST /_sandbox/<action>``): ``returns`` (``{"touch": [reverse_order_id],
"at": epoch|null}``, ``{"advance": [...]}``: each to its next status, ``{"corrupt": id}``:
its first line's ``refund_amount`` becomes ``"abc"``), ``mutate`` (``{"touch": [order_id], "at":
epoch|null}``, ``{"insert": n, "at": ...}``, ``{"insert_as": [order_id]}``), ``poison``
(``connectors._sandbox.hostile``; a path under ``order_items`` poisons the items reply,
any other the order object), ``corrupt`` (``{"id", "field": "price"|"currency"|"status"}``).

Paging faults (on ``/orders/get`` and ``/reverse/getreverseordersforseller``, both
listings): ``empty`` and ``fresh`` answer no records while ``countTotal`` (``total``) says
more (Lazada's offsets and page numbers are the client's own, so there is no new cursor to
invent); ``repeat`` is a stuck API serving that listing's previous reply again. The
``changes`` knob counts the pages of both listings.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import json
import random
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl

from connectors._sandbox import Reply, Request, SandboxClock
from connectors._sandbox.hostile import set_path
from connectors._sandbox.shop import SeededShop, returns_admin

# Plain constants shared with the client, each pinned to the documentation by a test.
from connectors.lazada.api import (
    ACCESS_TOKEN_SECONDS,
    ITEMS_BATCH,
    OFFSET_CAP,
    ORDER,
    ORDER_ITEMS,
    ORDERS,
    PAGE_SIZE,
    REFRESH,
    REFRESH_TOKEN_SECONDS,
    SELLER,
    TIMESTAMP_TOLERANCE_MS,
)

MINUTE, HOUR, DAY = 60, 3600, 86400
HISTORY = 45 * DAY
WIB = timezone(timedelta(hours=7))
PUBLIC = frozenset({REFRESH})


def signature_base(path: str, query: dict[str, str]) -> str:
    """[L1] steps 1-3: every parameter except ``sign`` sorted by name in ASCII order,
    each as key then value with no separator, after the API path."""
    pairs = sorted((k, v) for k, v in query.items() if k != "sign")
    return path + "".join(k + v for k, v in pairs)


def signature(app_secret: str, base: str) -> str:
    """[L1] steps 4-5: HMAC-SHA256 keyed with the app secret, hex digits in upper case."""
    return hmac.new(app_secret.encode("utf-8"), base.encode("utf-8"), hashlib.sha256).hexdigest().upper()


CATALOG = (  # sku, name, variation, list price, price after the seller's discount
    ("KAOS-POLOS-L", "Kaos Polos Katun", "Warna:Hitam, Ukuran:L", 89_000, 79_000),
    ("BATIK-PRG-XL", "Kemeja Batik Parang", "Ukuran:XL", 259_000, 229_000),
    ("KOPI-GAYO-250", "Kopi Arabika Gayo 250 g", "", 115_000, 115_000),
    ("SAMBAL-PDS", "Sambal Bawang Pedas", "Level:Pedas", 45_000, 39_000),
    ("MADU-500", "Madu Hutan 500 ml", "", 135_000, 119_000),
)
PROVIDERS = ("LEX ID", "J&T Express", "JNE", "SiCepat")
BUYERS = (("Budi", "Santoso"), ("Siti", "Rahayu"), ("Agus", "Wijaya"), ("Dewi", "Lestari"))
CITIES = (("DKI Jakarta", "Kota Jakarta Selatan", "12190"), ("Jawa Barat", "Kota Bandung", "40132"), ("Jawa Timur", "Kota Surabaya", "60281"))
PAYMENTS = ("MIXEDCARD", "PAYMENT_ACCOUNT", "DANA")
RETURN_REASONS = (  # [L16] as Lazada's help pages word them, and one no table names
    ("Damaged/faulty item", 10_010_025),
    ("Received wrong item", 10_010_027),
    ("Item doesn't match description/pictures", 10_010_029),
    ("Missing accessories/freebie", 10_010_033),
    ("Don't want item anymore (Change Of Mind)", 10_010_035),
    ("Lainnya", 10_010_099),
)
REFUND_REASONS = (("Package not received", 10_020_001), ("Empty package / Fraudulent item", 10_020_003))
FINAL = frozenset({"CANCEL_SUCCESS", "CANCEL_REFUND_ISSUED", "REFUND_SUCCESS", "REQUEST_REJECT", "REQUEST_CANCEL"})
REVERSE_ORDERS = "/reverse/getreverseordersforseller"  # [L14], written here from the reference
REVERSE_DETAIL = "/order/reverse/return/detail/list"  # [L14]
CORRUPTIONS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "price": lambda order: order.update(price="abc"),
    "currency": lambda order: [item.pop("currency") for item in order["order_items"]],
    "status": lambda order: order["order_items"][0].pop("status"),
}


class Item:
    __slots__ = ("id", "catalog", "status", "updated", "package", "tracking", "provider", "reason", "initiator")

    def __init__(self, item_id: int, catalog: int, status: str, at: int) -> None:
        self.id, self.catalog, self.status, self.updated = item_id, catalog, status, at
        self.package = self.tracking = self.provider = self.reason = self.initiator = ""


class OrderState:
    __slots__ = ("id", "number", "created", "updated", "cod", "items", "shipping", "buyer", "city", "payment", "voucher", "corrupt", "plan")

    def __init__(self, order_id: str, number: str, created: int, rng: random.Random) -> None:
        self.id, self.number, self.created, self.updated = order_id, number, created, created
        self.cod = rng.random() < 0.4
        self.shipping = rng.randrange(8, 30) * 1000
        self.buyer, self.city = rng.randrange(len(BUYERS)), rng.randrange(len(CITIES))
        self.payment = "COD" if self.cod else rng.choice(PAYMENTS)
        self.voucher = rng.choice((0, 0, 0, 5000, 10000))
        self.items: list[Item] = []
        self.corrupt: str | None = None
        self.plan = 0


class LazadaSandbox(SeededShop):
    """A seeded Lazada Indonesia shop behind the order APIs; ``SandboxServer`` serves it."""

    channel = "lazada"
    # The shared host's ``page_size`` knob rewrites this query parameter before the app sees
    # the request. Lazada signs every parameter, so rewriting ``limit`` would break the
    # client's signature: the knob's cap arrives in a parameter of its own, which no client
    # sends, and which the signature check leaves out.
    page_size_param = "_sandbox_page_size"

    def __init__(self, *, orders: int = 200, seed: int = 0, clock: SandboxClock | None = None) -> None:
        super().__init__(clock)
        self.seed = seed
        self.app_key = str(120_000 + seed)
        self._app_secret = hashlib.sha256(f"lazada-app-secret:{seed}".encode()).hexdigest()[:32]
        self.offset_cap = OFFSET_CAP
        self.inclusive_bounds = False
        # Clients sign with real time, so timestamps and token lives follow it; the data follows ``clock``.
        self.real_time: Callable[[], float] = time.time
        self.authorized_at = self.real_time()
        self._access: dict[str, float] = {}
        self._refresh: dict[str, float] = {}
        self._current = self._issue(self.authorized_at)
        self._last_listing: Reply | None = None
        self._next_item = 0
        rng = random.Random(seed)
        self._plans: dict[str, list[tuple[int, str]]] = {}
        for created in sorted(self._now - rng.randrange(HISTORY) for _ in range(orders)):
            self._create(created, index=False)
        self._build_index()
        self._returns: dict[int, ReverseOrder] = {}
        self.reverse_page_cap: int | None = None
        self.reverse_list_lines = True
        self._last_reverse_listing: Reply | None = None
        self._routes = {
            ORDERS: self._orders_list, ORDER: self._order_get, ORDER_ITEMS: self._items_get, SELLER: self._seller, REFRESH: self._refresh_token,
            REVERSE_ORDERS: self._reverse_list, REVERSE_DETAIL: self._reverse_detail,
        }  # fmt: skip
        for order in list(self._orders.values()):
            self._seed_return(order)

    def demo_credentials(self) -> dict[str, Any]:
        access, refresh = self._current
        return {"app_key": self.app_key, "app_secret": self._app_secret, "access_token": access, "refresh_token": refresh}

    def expire_tokens(self) -> None:
        with self._lock:
            self._access = dict.fromkeys(self._access, 0.0)

    # -- SandboxApp -----------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        with self._lock:
            self._advance()
            route = self._routes.get(request.path.rstrip("/"))
            if request.method == "POST" and request.body and route is not None:  # LazOP takes POST parameters as a form
                request.query = {**dict(parse_qsl(request.body.decode("utf-8", "replace"))), **request.query}
            if route is None:
                return _error("InvalidApiPath", "The specified API path is invalid", status=404)
            refused = self._authenticate(request)
            if refused is not None:
                return refused
            try:
                return route(request)
            except _ParamError as exc:
                return _error(exc.code, str(exc))

    def is_listing(self, request: Request) -> bool:
        return request.path.rstrip("/") in (ORDERS, REVERSE_ORDERS)

    def page_fault(self, kind: str, request: Request) -> Reply:
        reverse = request.path.rstrip("/") == REVERSE_ORDERS
        if kind == "repeat":
            with self._lock:
                last = self._last_reverse_listing if reverse else self._last_listing
            if last is not None:
                return Reply(last.status, json.loads(json.dumps(last.body)))
        reply = self.handle(request)
        if isinstance(reply.body, dict) and isinstance(reply.body.get("data"), dict):
            reply.body["data"] = {**reply.body["data"], "count": "0", "orders": []}
        if isinstance(reply.body, dict) and isinstance(reply.body.get("result"), dict):
            reply.body["result"] = {**reply.body["result"], "items": []}
        return reply

    def error_reply(self, kind: str, status: int) -> Reply:
        if kind == "rate_limit":
            return _error("ApiCallLimit", "The request has exceeded the allowed call limit", status=status)
        if kind == "token_expired":
            return _error("IllegalAccessToken", "The specified access token is invalid or expired", status=status)
        return _error("ServiceUnavailable", "The request has failed due to a temporary failure of the server", status=status, kind="ISP")

    def dump_orders(self) -> list[dict[str, Any]]:
        with self._lock:
            self._advance()
            return [{**self._render(o), "order_items": self._render_items(o)} for o in self._orders.values()]

    def dump_returns(self) -> list[dict[str, Any]]:
        """Every reverse order now, as ``LazadaConnector.return_pages`` yields it (the list's
        item with its lines)."""
        with self._lock:
            self._advance()
            return [self._render_reverse(r) for r in self._visible_returns()]

    # -- auth -------------------------------------------------------------------------------
    def _issue(self, now: float) -> tuple[str, str]:
        access, refresh = "50000" + uuid.uuid4().hex, "50001" + uuid.uuid4().hex
        self._access[access] = now + ACCESS_TOKEN_SECONDS
        self._refresh[refresh] = self.authorized_at + REFRESH_TOKEN_SECONDS  # a refresh does not extend it [L4]
        self._current = (access, refresh)
        return access, refresh

    def _authenticate(self, request: Request) -> Reply | None:
        q = request.query
        for name in ("app_key", "timestamp", "sign_method", "sign"):
            if not q.get(name):
                return _error("MissingParameter", f"The input parameter '{name}' that is mandatory for processing this request is not supplied")
        if q["app_key"] != self.app_key:
            return _error("InvalidAppKey", "The specified app key is invalid")
        stamp = _millis(q["timestamp"])
        if stamp is None or abs(self.real_time() * 1000 - stamp) > TIMESTAMP_TOLERANCE_MS:
            return _error("InvalidTimestamp", "The specified timestamp is invalid or out of the allowed range")
        if q["sign_method"] != "sha256":
            return _error("InvalidSignMethod", "The specified signature method is not supported")
        signed = {k: v for k, v in q.items() if k != self.page_size_param}
        if not hmac.compare_digest(q["sign"], signature(self._app_secret, signature_base(request.path.rstrip("/"), signed))):
            return _error("IncompleteSignature", "The request signature does not conform to platform standards")
        if request.path.rstrip("/") in PUBLIC:
            return None
        if self._access.get(q.get("access_token", ""), 0.0) <= self.real_time():
            return _error("IllegalAccessToken", "The specified access token is invalid or expired")
        return None

    def _refresh_token(self, request: Request) -> Reply:
        now = self.real_time()
        token = request.query.get("refresh_token", "")
        if self._refresh.pop(token, 0.0) <= now:
            return _error("IllegalRefreshToken", "The specified refresh token is invalid or expired")
        self._access.clear()  # the old pair is retired (assumed, see the module docstring)
        self._refresh.clear()
        access, refresh = self._issue(now)
        return Reply(200, {
            "code": "0", "request_id": uuid.uuid4().hex, "access_token": access, "refresh_token": refresh,
            "expires_in": ACCESS_TOKEN_SECONDS, "refresh_expires_in": int(self._refresh[refresh] - now),
            "country": "id", "account_platform": "seller_center", "account": f"seller{self.seed}@example.com",
            "country_user_info": [{"country": "id", "seller_id": str(900_000 + self.seed), "user_id": str(800_000 + self.seed)}],
        })  # fmt: skip

    # -- endpoints ----------------------------------------------------------------------------
    def _seller(self, request: Request) -> Reply:
        return _ok({"name": f"Toko Contoh {self.seed}", "seller_id": 900_000 + self.seed, "location": "DKI Jakarta", "verified": True})

    def _orders_list(self, request: Request) -> Reply:
        q = request.query
        if not (q.get("update_after") or q.get("created_after")):
            raise _ParamError("MissingParameter", "update_after or created_after is mandatory")
        by = "updated_at" if q.get("sort_by", "updated_at") == "updated_at" else "created_at"
        field_after, field_before = ("update_after", "update_before") if q.get("update_after") else ("created_after", "created_before")
        lo, hi = _when(q.get(field_after)), _when(q.get(field_before)) if q.get(field_before) else None
        limit, offset = _int(q, "limit", 10), _int(q, "offset", 0)
        if not 1 <= limit <= PAGE_SIZE:
            raise _ParamError("InvalidParameter", "limit must be between 1 and 100")
        cap = q.get(self.page_size_param, "")
        limit = min(limit, int(cap)) if cap.isdigit() and int(cap) > 0 else limit
        if not 0 <= offset <= self.offset_cap:
            raise _ParamError("InvalidParameter", f"offset must be between 0 and {self.offset_cap}")
        time_of = (lambda o: o.updated) if field_after == "update_after" else (lambda o: o.created)
        low_ok = (lambda t: t >= lo) if self.inclusive_bounds else (lambda t: t > lo)
        high_ok = (lambda t: hi is None or t <= hi) if self.inclusive_bounds else (lambda t: hi is None or t < hi)
        if by == "updated_at" and field_after == "update_after" and not q.get("status"):
            start = bisect.bisect_left(self._index, (lo if self.inclusive_bounds else lo + 1, ""))
            end = len(self._index) if hi is None else bisect.bisect_left(self._index, (hi + 1 if self.inclusive_bounds else hi, ""))
            keys = [k for _, k in self._index[start:end]]
        else:
            chosen = [o for o in self._orders.values() if low_ok(time_of(o)) and high_ok(time_of(o))]
            keys = [o.id for o in sorted(chosen, key=lambda o: (getattr(o, "updated" if by == "updated_at" else "created"), o.id))]
        if q.get("status") and q["status"] != "all":
            keys = [k for k in keys if q["status"] in {i.status for i in self._orders[k].items}]
        if q.get("sort_direction", "ASC").upper() == "DESC":
            keys.reverse()
        page = keys[offset : offset + limit]
        orders = [self._with_poisons_of(k, self._render(self._orders[k]), items=False) for k in page]
        reply = _ok({"count": str(len(orders)), "countTotal": str(len(keys)), "orders": orders})
        self._last_listing = reply
        return reply

    def _order_get(self, request: Request) -> Reply:
        order = self._orders.get(request.query.get("order_id", ""))
        if order is None:
            raise _ParamError("ORDER_NOT_FOUND", "Order not found")  # assumed code
        return _ok(self._with_poisons_of(order.id, self._render(order), items=False))

    def _items_get(self, request: Request) -> Reply:
        try:
            ids = json.loads(request.query.get("order_ids", ""))
        except ValueError:
            raise _ParamError("InvalidParameter", "order_ids must be a JSON list") from None
        if not isinstance(ids, list) or not 1 <= len(ids) <= ITEMS_BATCH:
            raise _ParamError("InvalidParameter", f"order_ids must list 1 to {ITEMS_BATCH} orders")
        groups = []
        for order_id in dict.fromkeys(str(i) for i in ids):
            order = self._orders.get(order_id)
            if order is not None:
                items = self._with_poisons_of(order.id, {"order_items": self._render_items(order)}, items=True)["order_items"]
                groups.append({"order_id": int(order.id) if order.id.isdigit() else order.id, "order_number": order.number, "order_items": items})
        return _ok(groups)

    def _reverse_list(self, request: Request) -> Reply:
        q = request.query
        for name in ("page_size", "page_no"):
            if not q.get(name):
                raise _ParamError("MissingParameter", f"The input parameter '{name}' that is mandatory for processing this request is not supplied")
        size, page = _int(q, "page_size", 10), _int(q, "page_no", 1)
        if size < 1 or page < 1:
            raise _ParamError("InvalidParameter", "page_size and page_no must be 1 or more")
        cap = q.get(self.page_size_param, "")
        size = min(size, int(cap)) if cap.isdigit() and int(cap) > 0 else size
        lo = _int(q, "ReverseOrderLineModifiedTimeRangeStart", -1) if q.get("ReverseOrderLineModifiedTimeRangeStart") else None
        hi = _int(q, "ReverseOrderLineModifiedTimeRangeEnd", -1) if q.get("ReverseOrderLineModifiedTimeRangeEnd") else None
        lists = {name: _json_list(q, name) for name in ("request_type_list", "reverse_status_list", "ofc_status_list")}

        def wanted(r: ReverseOrder) -> bool:
            modified = r.updated * 1000
            if lo is not None and not (modified >= lo if self.inclusive_bounds else modified > lo):
                return False
            if hi is not None and not (modified <= hi if self.inclusive_bounds else modified < hi):
                return False
            if q.get("reverse_order_id") and q["reverse_order_id"] != str(r.id):
                return False
            if q.get("trade_order_id") and q["trade_order_id"] != r.order_id:
                return False
            return all(
                not chosen or value in chosen
                for chosen, value in ((lists["request_type_list"], r.kind), (lists["reverse_status_list"], r.status), (lists["ofc_status_list"], r.ofc_status()))
            )

        chosen = [r for r in self._visible_returns() if wanted(r)]
        shown = [] if self.reverse_page_cap is not None and page > self.reverse_page_cap else chosen[(page - 1) * size : page * size]
        items = [self._render_reverse(r, lines=self.reverse_list_lines) for r in shown]
        reply = Reply(200, {
            "code": "0", "request_id": uuid.uuid4().hex,
            "result": {"success": True, "page_no": page, "page_size": size, "total": len(chosen), "items": items},
        })  # fmt: skip
        self._last_reverse_listing = reply
        return reply

    def _reverse_detail(self, request: Request) -> Reply:
        text = request.query.get("reverse_order_id", "")
        if not text.isdigit() or int(text) == 0:
            raise _ParamError("105", "E0105: reverse order id is empty or invalid")
        found = self._returns.get(int(text))
        if found is None or found.created > self._now:
            raise _ParamError("106", "E0106: ROC internal error")
        listed = self._render_reverse(found)
        lines = [self._detail_line(line) for line in listed.pop("reverse_order_lines")]
        return _ok({**listed, "reverseOrderLineDTOList": lines})

    # -- reverse orders -------------------------------------------------------------------------
    def _seed_return(self, order: OrderState) -> None:
        """A reverse order for every other seeded order, by what its life cycle does."""
        number = int(order.number) - 300_000_000
        steps = self._plans.get(order.id, [])
        if number % 2:
            return
        rng = random.Random(f"reverse:{self.seed}:{order.id}")
        done = {step: at for at, step in steps}
        rid = 5_000_000_000_000 + self.seed * 10_000_000 + number * 7 + 3
        if "cancel_unpaid" in done or "cancel_one" in done:
            at = done.get("cancel_unpaid", done.get("cancel_one", 0))
            units = order.items if "cancel_unpaid" in done else order.items[-1:]
            paid = "cancel_one" in done and not order.cod
            path = ["REQUEST_INITIATE", "CANCEL_SUCCESS"] + (["CANCEL_REFUND_ISSUED"] if paid else [])
            reason = ("Pembayaran tidak diterima", 10_000_001) if "cancel_unpaid" in done else ("Change of mind", 10_000_031)
            kind, units, refund = "CANCEL", list(units), paid
            gaps = [rng.randrange(MINUTE, 30 * MINUTE), rng.randrange(DAY, 2 * DAY)]
        elif "delivered" in done:
            at = done["delivered"] + rng.randrange(HOUR, 3 * DAY)
            units = rng.sample(order.items, min(len(order.items), rng.choice((1, 1, 2))))
            if rng.random() < 0.7:
                kind = "RETURN"
                roll = rng.random()
                path = ["REQUEST_INITIATE", "REQUEST_REJECT"] if roll < 0.1 else ["REQUEST_INITIATE", "REQUEST_CANCEL"] if roll < 0.2 else ["REQUEST_INITIATE", "RTM_SHIPPING_BACK", "RTM_RECEIVE_ITEM", "REFUND_SUCCESS"]
                reason = rng.choice(RETURN_REASONS)
            else:
                kind = "ONLY_REFUND"
                path = ["REQUEST_INITIATE", "REQUEST_REJECT"] if rng.random() < 0.15 else ["REQUEST_INITIATE", "REFUND_PENDING", "REFUND_SUCCESS"]
                reason = rng.choice(REFUND_REASONS)
            refund = True
            gaps = [rng.randrange(4 * HOUR, 2 * DAY) for _ in path[1:]]
        else:
            return  # unpaid, still on its way, or a failed delivery: no reverse order [L18]
        times = [at]
        for gap in gaps[: len(path) - 1]:
            times.append(times[-1] + gap)
        awb = "LXRT-" + "".join(rng.choice("0123456789") for _ in range(10))
        self._returns[rid] = ReverseOrder(rid, order, kind, [u.id for u in units], path, times, reason, refund, awb, self._now)

    def _visible_returns(self) -> list["ReverseOrder"]:
        for r in self._returns.values():
            r.catch_up(self._now)
        return [r for _, r in sorted(self._returns.items()) if r.created <= self._now]

    def _returns_admin(self, body: dict[str, Any]) -> dict[str, Any]:
        return returns_admin(body, self._returns, self._reverse, self._now)

    def _reverse(self, rid: Any) -> "ReverseOrder":
        found = self._returns.get(int(rid)) if str(rid).isdigit() else None
        if found is None or found.created > self._now:
            raise ValueError(f"no reverse order {rid}")
        return found

    def _render_reverse(self, r: "ReverseOrder", *, lines: bool = True) -> dict[str, Any]:
        """A reverse order as GetReverseOrdersForSeller lists it ([L14]; numbers as numbers)."""
        order = r.order
        items = {i.id: (i, row) for i, row in zip(order.items, self._render_items(order))}
        status, ofc = r.status, r.ofc_status()
        out: dict[str, Any] = {
            "reverse_order_id": r.id, "trade_order_id": int(order.id) if order.id.isdigit() else order.id, "request_type": r.kind,
            "is_rtm": r.kind == "RETURN", "shipping_type": "DROP_OFF" if r.kind == "RETURN" else "DEFAULT",
        }  # fmt: skip
        if not lines:
            return out
        rendered = []
        for k, item_id in enumerate(r.items):
            item, row = items[item_id]
            line: dict[str, Any] = {
                "reverse_order_line_id": r.id * 100 + k, "trade_order_line_id": item_id, "reverse_status": status, "ofc_status": ofc,
                "product": {"product_id": row["product_id"], "product_sku": str(row["sku_id"])}, "buyer": {"buyer_id": 100_000_000 + order.buyer},
                "trade_order_gmt_create": order.created, "refund_amount": row["paid_price"] * 100, "item_unit_price": row["item_price"] * 100,
                "reason_text": r.reason[0], "reason_code": r.reason[1], "refund_payment_method": order.payment,
                "whqc_decision": "", "return_order_line_gmt_create": r.created, "return_order_line_gmt_modified": r.updated,
                "is_dispute": False, "seller_sku_id": row["sku"], "platform_sku_id": f"id-{row['sku_id']}",
                "tracking_number": r.awb if r.kind == "RETURN" and r.reached("RTM_SHIPPING_BACK") else "",
                "receiver_address": "Gudang Toko Contoh, Jl. Industri No. 1, Kota Bekasi, 17530",
                "is_need_refund": "true" if r.refund else "false",
            }  # fmt: skip
            if r.is_open():
                line["sla"] = (r.times[r.step] + 2 * DAY) * 1000  # the seller's deadline, epoch ms
            rendered.append(line)
        if r.corrupt:
            rendered[0]["refund_amount"] = "abc"
        out["reverse_order_lines"] = rendered
        return out

    @staticmethod
    def _detail_line(line: dict[str, Any]) -> dict[str, Any]:
        """A list line in GetReverseOrderDetail's shape (``productDTO``, ``buyer.user_id``)."""
        out = {k: v for k, v in line.items() if k not in ("product", "buyer", "receiver_address")}
        out["productDTO"] = {"product_id": line["product"]["product_id"], "sku": line["product"]["product_sku"]}
        out["buyer"] = {"user_id": line["buyer"]["buyer_id"]}
        out["is_need_refund"] = line["is_need_refund"] == "true"
        return out

    # -- data ---------------------------------------------------------------------------------
    def _index_key(self, order: OrderState) -> tuple[int, str]:
        return order.updated, order.id

    def _apply(self, order: OrderState, at: int, step: str) -> None:
        order.updated = at
        live = [i for i in order.items if i.status not in ("canceled", "returned", "failed")]
        if step == "paid":
            moves = [(i, "pending") for i in live]
        elif step == "cancel_unpaid":
            moves = [(i, "canceled") for i in live]
            for i in live:
                i.reason, i.initiator = "Pembayaran tidak diterima", "system-cancel"
        elif step == "cancel_one":
            moves = [(live[-1], "canceled")]
            live[-1].reason, live[-1].initiator = "Change of mind", "buyer-cancel"  # a documented reason [L16]
        elif step == "packed":
            rng = random.Random(f"pack:{self.seed}:{order.id}")
            package, provider = "FP" + "".join(rng.choice("0123456789") for _ in range(12)), rng.choice(PROVIDERS)
            tracking = "LXAD-" + "".join(rng.choice("0123456789") for _ in range(10))
            for i in live:
                i.package, i.tracking, i.provider = package, tracking, provider
            moves = [(i, "packed") for i in live]
        else:
            moves = [(i, step) for i in live]
        for item, status in moves:
            item.status, item.updated = status, at

    def _create(self, created: int, *, index: bool = True, order_id: str | None = None) -> OrderState:
        number = len(self._orders)
        rng = random.Random(self.seed * 1_000_003 + number * 7919 + 29)
        order_id = order_id or str(3_000_000_000_000 + self.seed * 10_000_000 + number * 7 + 1)
        order = OrderState(order_id, str(300_000_000 + number), created, rng)
        for line in rng.sample(range(len(CATALOG)), rng.randint(1, 3)):
            for _ in range(rng.choice((1, 1, 1, 2, 3))):  # one item per unit [L5]
                self._next_item += 1
                order.items.append(Item(4_000_000_000_000 + self.seed * 10_000_000 + self._next_item, line, "pending" if order.cod else "unpaid", created))
        self._orders[order_id] = order
        steps = _life_cycle(rng, order, created)
        self._plans[order_id] = steps
        self._schedule(order_id, order, steps, created)
        if index:
            self._add_to_index(order)
        return order

    def _mutate(self, body: dict[str, Any]) -> dict[str, Any]:
        at = self._now if body.get("at") is None else int(body["at"])
        touched = [self._order(i) for i in body.get("touch") or []]
        for order in touched:
            self._reindex(order, lambda o: setattr(o, "updated", at))
        inserted = [self._create(at).id for _ in range(int(body.get("insert") or 0))]
        inserted += [self._create(at, order_id=str(i)).id for i in body.get("insert_as") or []]
        return {"touched": len(touched), "inserted": inserted, "now": self._now}

    def _corrupt(self, body: dict[str, Any]) -> dict[str, Any]:
        order, field = self._order(body["id"]), body.get("field", "price")
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

    def _with_poisons_of(self, key: str, rendered: dict[str, Any], *, items: bool) -> dict[str, Any]:
        for path, value in self._poisons.get(str(key), ()):
            if path.startswith("order_items") == items:
                set_path(rendered, path, value)
        return rendered

    # -- rendering ----------------------------------------------------------------------------
    def _render(self, order: OrderState) -> dict[str, Any]:
        """The order object of /orders/get and /order/get (amounts as text, [L9])."""
        first, last = BUYERS[order.buyer]
        state, city, post = CITIES[order.city]
        price = sum(CATALOG[i.catalog][3] for i in order.items)
        discount = sum(CATALOG[i.catalog][3] - CATALOG[i.catalog][4] for i in order.items)
        phone = f"81****{(int(order.id) if order.id.isdigit() else 0) % 10}"
        address = {
            "first_name": first, "last_name": last, "phone": phone, "phone2": "",
            "address1": f"Jl. Melati No. {order.buyer + 3}", "address2": "", "address3": state, "address4": city, "address5": post,
            "city": city, "post_code": post, "country": "Indonesia",
        }  # fmt: skip
        body: dict[str, Any] = {
            "order_id": order.id,
            "order_number": order.number,
            "created_at": _iso(order.created),
            "updated_at": _iso(order.updated),
            "price": _text(price),
            "shipping_fee": _text(order.shipping),
            "shipping_fee_original": _text(order.shipping),
            "shipping_fee_discount_seller": "0.00",
            "shipping_fee_discount_platform": "0.00",
            "voucher": _text(discount + order.voucher),
            "voucher_seller": _text(discount),
            "voucher_platform": _text(order.voucher),
            "voucher_code": "HEMAT10" if order.voucher else "",
            "payment_method": order.payment,
            "items_count": str(len(order.items)),
            "statuses": sorted({i.status for i in order.items}),
            "warehouse_code": "dropshipping",
            "promised_shipping_times": _iso(order.created + 2 * DAY),
            "customer_first_name": first,
            "customer_last_name": last,
            "remarks": "",
            "gift_option": "false",
            "address_billing": dict(address),
            "address_shipping": dict(address),
        }
        if order.corrupt == "price":
            CORRUPTIONS["price"](body)
        return body

    def _render_items(self, order: OrderState) -> list[dict[str, Any]]:
        """/orders/items/get's items of one order: one per unit, amounts as numbers ([L12])."""
        out = []
        share = order.voucher // len(order.items) if order.items else 0
        for n, item in enumerate(order.items):
            sku, name, variation, listed, sold = CATALOG[item.catalog]
            voucher = share + (order.voucher - share * len(order.items) if n == 0 else 0)
            out.append({
                "order_item_id": item.id, "order_id": int(order.id) if order.id.isdigit() else order.id, "status": item.status,
                "name": name, "variation": variation, "sku": sku, "shop_sku": f"{2_293_000_000 + item.catalog}_ID-{7_724_000_000 + item.catalog}",
                "product_id": 2_293_000_000 + item.catalog, "sku_id": 7_724_000_000 + item.catalog,
                "item_price": listed, "paid_price": sold - voucher, "voucher_seller": listed - sold, "voucher_platform": voucher,
                "voucher_amount": listed - sold + voucher, "shipping_amount": order.shipping if n == 0 else 0, "currency": "IDR",
                "shipment_provider": item.provider, "shipping_provider_type": "standard", "package_id": item.package,
                "tracking_code": item.tracking, "tracking_code_pre": "", "is_digital": 0, "return_status": "returned" if item.status == "returned" else "",
                "cancel_return_initiator": item.initiator, "reason": item.reason, "reason_detail": "",
                "created_at": _item_time(order.created), "updated_at": _item_time(item.updated),
            })  # fmt: skip
        if order.corrupt in ("currency", "status"):
            holder = {"order_items": out}
            CORRUPTIONS[order.corrupt](holder)
        return out


def _life_cycle(rng: random.Random, order: OrderState, t: int) -> list[tuple[int, str]]:
    steps: list[tuple[int, str]] = []
    ready = t
    if not order.cod:
        if rng.random() < 0.12:
            return [(t + rng.randrange(HOUR, DAY), "cancel_unpaid")]
        ready = t + rng.randrange(MINUTE, 2 * HOUR)
        steps.append((ready, "paid"))
    if len(order.items) > 1 and rng.random() < 0.15:  # the buyer cancels one unit before packing
        ready += rng.randrange(10 * MINUTE, 3 * HOUR)
        steps.append((ready, "cancel_one"))
    packed = ready + rng.randrange(HOUR, DAY)
    rts = packed + rng.randrange(10 * MINUTE, 4 * HOUR)
    shipped = rts + rng.randrange(4 * HOUR, 30 * HOUR)
    delivered = shipped + rng.randrange(DAY, 4 * DAY)
    steps += [(packed, "packed"), (rts, "ready_to_ship"), (shipped, "shipped")]
    if order.cod and rng.random() < 0.1:
        return steps + [(delivered, "failed")]
    steps.append((delivered, "delivered"))
    if rng.random() < 0.04:
        steps.append((delivered + rng.randrange(2 * DAY, 6 * DAY), "returned"))
    return steps


class ReverseOrder:
    """One reverse order: its lines (order item ids), its planned statuses ``path`` at
    ``times``, how far it got (``step``) and when it last changed (``updated``)."""

    __slots__ = ("id", "order", "order_id", "kind", "items", "path", "times", "step", "updated", "created", "reason", "refund", "awb", "corrupt")

    def __init__(self, rid: int, order: OrderState, kind: str, items: list[int], path: list[str], times: list[int], reason: tuple[str, int], refund: bool, awb: str, now: int) -> None:
        self.id, self.order, self.order_id, self.kind, self.items = rid, order, order.id, kind, items
        self.path, self.times, self.reason, self.refund, self.awb = path, times, reason, refund, awb
        self.step, self.created, self.updated, self.corrupt = 0, times[0], times[0], False
        self.catch_up(now)

    @property
    def status(self) -> str:
        return self.path[self.step]

    def is_open(self) -> bool:
        return self.status not in FINAL

    def reached(self, status: str) -> bool:
        return status in self.path[: self.step + 1]

    def ofc_status(self) -> str:
        if self.reached("RTM_RECEIVE_ITEM"):
            return "RETURN_RTM_DELIVERED"
        return "RETURN_CANCELED" if self.status in ("REQUEST_REJECT", "REQUEST_CANCEL") else "INITIAL"

    def catch_up(self, now: int) -> None:
        """Take the planned steps the data clock has reached."""
        while self.step + 1 < len(self.path) and self.times[self.step + 1] <= now:
            self.step += 1
            self.updated = max(self.updated, self.times[self.step])

    def advance(self, now: int) -> None:
        """The next status now (admin); a final one is only touched."""
        if self.step + 1 < len(self.path):
            self.step += 1
            self.times[self.step] = now
        self.updated = now


class _ParamError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _int(query: dict[str, str], name: str, default: int) -> int:
    text = query.get(name, "")
    if text == "":
        return default
    if not text.isdigit():
        raise _ParamError("InvalidParameter", f"{name} must be a whole number")
    return int(text)


def _json_list(query: dict[str, str], name: str) -> set[str]:
    text = query.get(name, "")
    if not text:
        return set()
    try:
        values = json.loads(text)
    except ValueError:
        raise _ParamError("InvalidParameter", f"{name} must be a JSON list") from None
    if not isinstance(values, list):
        raise _ParamError("InvalidParameter", f"{name} must be a JSON list")
    return {str(v) for v in values}


def _when(text: str | None) -> int:
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise _ParamError("InvalidParameter", "times must be ISO 8601, e.g. 2017-02-10T09:00:00+08:00") from None
    if moment.tzinfo is None:
        raise _ParamError("InvalidParameter", "times must carry an offset")
    return int(moment.timestamp())


def _millis(text: str) -> float | None:
    """[L2]: "in UTC or digital format, like '2017-11-11T12:00:00Z' or 1517886554000"."""
    if text.isdigit():
        return float(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.timestamp() * 1000 if moment.tzinfo is not None else None


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, WIB).isoformat()


def _item_time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, WIB).strftime("%Y-%m-%d %H:%M:%S %z")


def _text(amount: int) -> str:
    return f"{amount}.00"


def _error(code: str, message: str, *, status: int = 200, kind: str = "ISV") -> Reply:
    return Reply(status, {"type": kind, "code": code, "message": message, "request_id": uuid.uuid4().hex})


def _ok(data: Any) -> Reply:
    return Reply(200, {"code": "0", "request_id": uuid.uuid4().hex, "data": data})
