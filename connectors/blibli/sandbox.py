"""The Blibli sandbox: a local twin of the Seller API's order list and per-item detail, and of
its returned order list and detail.

It shares no code with the connector (``client.py`` cites the sources). What it enforces
is what the sources document, and nothing more:

- **Auth** ([B2]): HTTP Basic ``client_id:client_key`` and the ``Api-Seller-Key`` header
  on every call, and the store (``storeCode`` / ``businessPartnerCode``) the key belongs
  to. When the seller set a signature key (this sandbox's ``demo_credentials`` carry one
  unless built with ``signature=False``), ``Signature`` and ``Signature-Time`` are
  mandatory ("When the user set Signature Key in the Blibli Seller Center, then this
  field and Signature-Time header parameter will became mandatory"), and the signature is
  recomputed here from the documented raw string ([B1]; the date in WIB from the given
  milliseconds). No clock-skew window is enforced: none is documented.
  A refusal is HTTP 401 with ``{"success": false, "errorCode": "UNAUTHORIZED", ...}``
  (the status and code are assumed; the envelope shape is [B5]'s).
- **Order List V2** (``POST /v2/proxy/seller/v1/orders/packages/filter``): ``paging.page``
  from 0, ``paging.size`` 1..50 ("Maximum size is 50"; a larger size is 400
  ``BAD_REQUEST``), packages sorted by ``statusFPUpdatedTimestamp`` then package id
  (``direction`` ASC or DESC), ``filter.statusFPDateRange`` inclusive epoch-ms bounds,
  ``filter.orderIds`` (assumed) to select orders by number; the reply is ``{content:
  [{packageId, orderItems}], paging: {pageNumber, pageSize, totalPage, totalRecord}}``.
  A page past the end is an empty ``content``.
- **Order detail** (``GET /v2/proxy/mta/api/businesspartner/v1/order/orderDetail``) per
  order item, ``orderNo`` and ``orderItemNo`` both required; ``value`` holds the fields
  of marketplaces.md §5.3 (inferred) plus, assumed and marked as such in the mapping,
  ``updatedDate`` (epoch ms of the item's last change), ``logisticsProductName`` and the
  ship-to city, province and postcode.

- **Returned Order List V1** (``GET /v2/proxy/mta/api/businesspartner/v1/order/
  getReturnedOrderSummary``, [B7]): ``requestId``, ``businessPartnerCode`` and ``channelId``
  are required (400 ``BAD_REQUEST``; the documented required parameters); the documented
  filters ``orderIdOrItemId`` (an order or order item number) and ``returDate`` (a creation
  day, ``dd-MM-yyyy`` in WIB), and the inferred ``status``, ``rmaResolution``, ``page``
  (from 0) and ``size`` (default 10) work. The reply is ``{success, content: [rows],
  pageMetaData: {pageNumber, pageSize, totalRecords}}`` (inferred from a third-party
  client), rows newest first (``returns_newest_first = False`` serves them oldest first:
  the connector must not depend on it). Row fields: the ones a third-party client reads
  (``returnId``, ``returnNo``, ``orderNo``, ``orderItemNo``, ``customerName``,
  ``orderQuantity``, ``productSalePrice``, ``createdDate``) and the ones the mapping assumes
  (``status``, ``rmaResolution``, ``updatedDate``, ``returnReason``, ``merchantSku``,
  ``gdnSku``, ``productName``, ``awbNumber``).
- **Returned Order Detail V1** (``.../getReturnedOrderDetail``): ``rmaId``, ``orderNo`` and
  ``orderItemNo`` required, **5 requests an hour per rmaId** (documented; the sixth is 429
  ``TOO_MANY_REQUESTS``, counted on the real clock); ``value`` is the RMA's row.

Data: seeded orders over the last 20 days of the data clock, IDR whole rupiah as JSON
numbers. An order appears once it is For Processing (``FP``, paid); its items then move
together ``FP`` -> ``PU`` (picked up: an airway bill appears) -> ``CX`` (in delivery) ->
``D``; some are cancelled (``X``) before pickup, some lose one item to a partial
cancellation, some end ``DF`` after ``CX``, some get a Customer Request (``CR``) after
delivery. Every step is at most 10 days after FP (inside the connector's 30-day
lookback). Buyers are obviously fake (``Budi Contoh``, ``Jl. Contoh``).

Fault knobs come from the shared host. The listing's page size lives in the JSON body, so
the host's ``page_size`` knob reaches this twin through a query parameter the client never
sends (``page_size_param = "_size"``): the effective size is the smaller of the two.

RMAs: one per returned order item, for every order that gets a Customer Request (``CR``)
and for every other delivered order (one or two of its items), filed after delivery. Each
moves on the data clock through the states of a third-party enum ([B9]):
``RMA_REQUEST_APPROVAL`` -> ``RMA_REQUEST_APPROVED`` -> ``RMA_PROCESS_STARTED`` (a return
airway bill appears) -> ``RMA_PROCESS_FINISHED``, or refused (``RMA_REQUEST_CANCELLED``),
or refused after inspection (``RMA_PROCESS_CANCELLED``), or closed by Blibli
(``RMA_FORCE_CLOSED``). Reasons are the mapping's assumed wordings and ``Lainnya`` (one no
table names); the orders' item statuses do not follow the RMAs.

Admin actions: ``returns`` (``{"touch": [returnId], "at": epoch|null}``, ``{"advance":
[...]}``: each to its next state, a final one only touched; ``{"corrupt": returnId}``: its
``productSalePrice`` becomes ``"abc"``), ``mutate`` (``{"touch": [orderNo], "at": epoch|null}``: the order's items
change at ``at``; ``{"insert": n, "at": ...}``: n new orders For Processing at ``at``),
``corrupt`` (``{"id": orderNo, "field": "finalPrice"|"qty"|"orderDate"}``), ``poison``
(``connectors._sandbox.hostile``; the path is inside the order's first item detail).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from connectors._sandbox import Reply, Request, SandboxClock
from connectors._sandbox import hostile
from connectors._sandbox.shop import SeededShop, returns_admin

LIST_PATH = "/v2/proxy/seller/v1/orders/packages/filter"
RETURNS_PATH = "/v2/proxy/mta/api/businesspartner/v1/order/getReturnedOrderSummary"  # [B7]
RETURN_DETAIL_PATH = "/v2/proxy/mta/api/businesspartner/v1/order/getReturnedOrderDetail"  # [B7]
DETAIL_LIMIT = 5  # [B7] "5 requests in an hour per rmaId"
RMA_PATHS = (  # [B9] the states an RMA goes through, and how often each path is taken
    (0.70, ("RMA_REQUEST_APPROVAL", "RMA_REQUEST_APPROVED", "RMA_PROCESS_STARTED", "RMA_PROCESS_FINISHED")),
    (0.15, ("RMA_REQUEST_APPROVAL", "RMA_REQUEST_CANCELLED")),
    (0.10, ("RMA_REQUEST_APPROVAL", "RMA_REQUEST_APPROVED", "RMA_PROCESS_STARTED", "RMA_PROCESS_CANCELLED")),
    (0.05, ("RMA_REQUEST_APPROVAL", "RMA_FORCE_CLOSED")),
)
RMA_FINAL = frozenset({"RMA_PROCESS_FINISHED", "RMA_REQUEST_CANCELLED", "RMA_PROCESS_CANCELLED", "RMA_FORCE_CLOSED"})
RMA_REASONS = ("Produk rusak", "Produk salah kirim", "Produk tidak sesuai deskripsi", "Produk tidak lengkap", "Ukuran tidak sesuai", "Berubah pikiran", "Lainnya")
DETAIL_PATH = "/v2/proxy/mta/api/businesspartner/v1/order/orderDetail"
MAX_SIZE = 50
MINUTE, HOUR, DAY = 60, 3600, 86400
HISTORY = 20 * DAY
STATUS_TEXT = {"FP": "For Processing", "PU": "Picked Up", "CX": "In Delivery", "D": "Delivered", "X": "Cancelled", "DF": "Delivery Failed", "CR": "Customer Request"}
CATALOG = (  # gdnSku, merchantSku, productName, itemName, price
    ("TOQ-15126-00451-00001", "KAOS-HTM-L", "Kaos Polos", "Kaos Polos - Hitam L", 150_000),
    ("TOQ-15126-00452-00001", "KMJ-BTK-M", "Kemeja Batik", "Kemeja Batik Parang - M", 249_000),
    ("TOQ-15126-00460-00001", "KOPI-GAYO-250", "Kopi Gayo", "Kopi Arabika Gayo 250 g", 115_000),
    ("TOQ-15126-00470-00001", "MADU-500", "Madu Hutan", "Madu Hutan 500 ml", 135_000),
)
NAMES = ("Budi", "Siti", "Agus", "Dewi", "Rina")
CITIES = (("Jakarta Selatan", "DKI Jakarta", "12190"), ("Bandung", "Jawa Barat", "40115"), ("Surabaya", "Jawa Timur", "60271"))
LOGISTICS = ("JNE Regular", "SiCepat REG", "J&T Express")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
JAKARTA = ZoneInfo("Asia/Jakarta")


def signature_date(millis: int) -> str:
    """The date line of the signed string, as PHP's ``date("D M d H:i:s T Y")`` in Jakarta."""
    local = datetime.fromtimestamp(millis / 1000, timezone.utc).astimezone(JAKARTA)
    return "%s %s %02d %02d:%02d:%02d WIB %d" % (DAYS[local.weekday()], MONTHS[local.month - 1], local.day, local.hour, local.minute, local.second, local.year)


def expected_signature(key: str, method: str, body: bytes, date: str, path: str) -> str:
    """[B1]: base64 HMAC-SHA256 over METHOD, MD5(escaped body), content type, date, proxy path."""
    proxied = path.partition("/proxy")[2] or path
    if proxied.startswith("/mta/"):
        proxied = "/mtaapi/" + proxied[len("/mta/") :]
    text = body.decode() if body else ""
    digest = hashlib.md5(text.replace("\r", "\\r").replace("\n", "\\n").encode()).hexdigest() if text else ""
    lines = [method, digest, "application/json" if text else "", date, proxied]
    return base64.b64encode(hmac.new(key.encode(), "\n".join(lines).encode(), hashlib.sha256).digest()).decode()


@dataclass(frozen=True, slots=True)
class Blueprint:
    items: tuple[tuple[int, int, int], ...]  # catalog index, quantity, discount per unit
    split: bool  # two packages
    buyer: int
    city: int
    logistics: int
    shipping: int
    awb: str
    steps: tuple[tuple[int, str], ...]

    @classmethod
    def make(cls, seed: int, n: int, fp: int) -> "Blueprint":
        rng = random.Random(seed * 7_000_003 + n)
        count = rng.randint(1, 3)
        items = tuple((rng.randrange(len(CATALOG)), rng.randint(1, 3), rng.choice((0, 0, 10_000))) for _ in range(count))
        return cls(
            items=items,
            split=count > 1 and rng.random() < 0.2,
            buyer=rng.randrange(len(NAMES)),
            city=rng.randrange(len(CITIES)),
            logistics=rng.randrange(len(LOGISTICS)),
            shipping=rng.choice((0, 0, 9_000, 12_000)),
            awb="JNE" + "".join(str(rng.randrange(10)) for _ in range(12)),
            steps=tuple(_life_cycle(rng, fp)),
        )


def _life_cycle(rng: random.Random, fp: int) -> list[tuple[int, str]]:
    roll = rng.random()
    if roll < 0.1:
        return [(fp + rng.randrange(HOUR, 2 * DAY), "X")]
    steps = [(fp + rng.randrange(10 * MINUTE, HOUR), "X1")] if roll < 0.15 else []
    pickup = fp + rng.randrange(2 * HOUR, 30 * HOUR)
    steps += [(pickup, "PU"), (pickup + rng.randrange(6 * HOUR, DAY), "CX")]
    done = pickup + rng.randrange(2 * DAY, 4 * DAY)
    if roll < 0.2:
        return steps + [(done, "DF")]
    steps.append((done, "D"))
    if roll < 0.23:
        steps.append((done + rng.randrange(HOUR, 3 * DAY), "CR"))
    return steps


class OrderState:
    __slots__ = ("n", "number", "fp", "statuses", "updated", "shipped", "corrupt", "plan")

    def __init__(self, n: int, fp: int, items: int) -> None:
        self.n, self.number, self.fp = n, str(25_100_000_000 + n), fp
        self.statuses = ["FP"] * items
        self.updated = fp
        self.shipped = False
        self.corrupt: str | None = None
        self.plan = 0

    def apply(self, at: int, step: str) -> None:
        self.updated = at
        if step == "X1":
            self.statuses[0] = "X"
            return
        self.shipped = self.shipped or step == "PU"
        self.statuses = [s if s == "X" else step for s in self.statuses]


class Rma:
    """One returned order item: its planned states ``path`` at ``times``, how far it got."""

    __slots__ = ("id", "number", "order", "item", "path", "times", "step", "created", "updated", "reason", "awb", "corrupt")

    def __init__(self, rid: str, number: str, order: OrderState, item: int, path: tuple[str, ...], times: list[int], reason: str, awb: str) -> None:
        self.id, self.number, self.order, self.item, self.path, self.times = rid, number, order, item, path, times
        self.reason, self.awb, self.step, self.created, self.updated, self.corrupt = reason, awb, 0, times[0], times[0], False

    @property
    def status(self) -> str:
        return self.path[self.step]

    def catch_up(self, now: int) -> None:
        while self.step + 1 < len(self.path) and self.times[self.step + 1] <= now:
            self.step += 1
            self.updated = max(self.updated, self.times[self.step])

    def advance(self, now: int) -> None:
        if self.step + 1 < len(self.path):
            self.step += 1
            self.times[self.step] = now
        self.updated = now


class BlibliSandbox(SeededShop):
    channel = "blibli"
    page_size_param = "_size"  # see the module docstring: the host's page_size knob

    def __init__(self, *, orders: int = 200, seed: int = 0, clock: SandboxClock | None = None, signature: bool = True) -> None:
        super().__init__(clock)
        self.seed = seed
        h = lambda what: hashlib.sha1(f"blibli-{what}:{seed}".encode()).hexdigest()  # noqa: E731
        self._client_id, self._client_key = f"mta-api-sandbox-{h('id')[:5]}", f"mta-api-{h('key')}"
        self._seller_key = h("seller").upper()
        self._seller_code = f"SDC-{60000 + seed % 10000}"
        self._signature_key = h("signature")[:24] if signature else ""
        self._packages: list[tuple[int, int, str]] = []  # (fp ms, packageId, orderNo), sorted
        self._by_number: dict[str, OrderState] = {}
        self._phantom: tuple[str, int] | None = None
        self._last_listing: Reply | None = None
        self._rmas: dict[str, Rma] = {}
        self._detail_calls: dict[str, list[float]] = {}
        self.returns_newest_first = True
        self.real_time = time.time  # the detail's hourly limit counts real requests
        rng = random.Random(seed)
        for fp in sorted(self._now - rng.randrange(HISTORY) for _ in range(orders)):
            self._create(fp)
        for order in list(self._orders.values()):
            self._seed_rmas(order)

    def demo_credentials(self) -> dict[str, str]:
        creds = {"client_id": self._client_id, "client_key": self._client_key, "api_seller_key": self._seller_key, "seller_code": self._seller_code}
        return {**creds, "signature_key": self._signature_key} if self._signature_key else creds

    # -- SandboxApp ---------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        with self._lock:
            self._advance()
            refused = self._authenticate(request)
            if refused:
                return error(401, "UNAUTHORIZED", refused)
            if request.path == LIST_PATH and request.method == "POST":
                return self._list(request)
            if request.path == DETAIL_PATH and request.method == "GET":
                return self._detail(request)
            if request.path == RETURNS_PATH and request.method == "GET":
                return self._returns_list(request)
            if request.path == RETURN_DETAIL_PATH and request.method == "GET":
                return self._return_detail(request)
            return error(404, "NOT_FOUND", "No API found for this path")

    def is_listing(self, request: Request) -> bool:
        return request.path == LIST_PATH and request.method == "POST" and "statusFPDateRange" in (_body(request).get("filter") or {})

    def page_fault(self, kind: str, request: Request) -> Reply:
        if kind == "repeat":
            with self._lock:
                last = self._last_listing
            return last if last is not None else self.handle(request)
        body = _body(request)
        with self._lock:  # "empty"/"fresh": a page of orders the key may not see, counted; later pages move on one
            self._phantom = (_listing_key(body), int((body.get("paging") or {}).get("page") or 0))
            reply = self.handle(request)
        if reply.status != 200:
            return reply
        return Reply(200, {**reply.body, "content": []}, reply.headers)

    def error_reply(self, kind: str, status: int) -> Reply:
        if kind == "rate_limit":
            return error(status, "TOO_MANY_REQUESTS", "Too many requests")
        return error(status, "INTERNAL_SERVER_ERROR", "Internal server error")

    def dump_orders(self) -> list[dict[str, Any]]:
        with self._lock:
            self._advance()
            return [self._assembled(o) for o in sorted(self._orders.values(), key=lambda o: o.n) if o.fp * 1000 <= self._now * 1000]

    def dump_returns(self) -> list[dict[str, Any]]:
        """Every RMA now, as ``BlibliConnector.return_pages`` yields it (a summary row)."""
        with self._lock:
            self._advance()
            return [self._row(r) for r in self._visible_rmas()]

    # -- RMAs -----------------------------------------------------------------------------------
    def _seed_rmas(self, order: OrderState) -> None:
        """An RMA per returned item: every order with a Customer Request, every other delivered one."""
        bp = Blueprint.make(self.seed, order.n, order.fp)
        done = {step: at for at, step in bp.steps}
        if "CR" in done:
            filed, count = done["CR"], 1
        elif "D" in done and order.n % 2 == 0:
            rng = random.Random(f"rma-when:{self.seed}:{order.n}")
            filed, count = done["D"] + rng.randrange(HOUR, 3 * DAY), rng.choice((1, 1, 2))
        else:
            return
        live = [k for k in range(len(bp.items)) if not ("X1" in done and k == 0)]
        for k in live[:count]:
            rng = random.Random(f"rma:{self.seed}:{order.n}:{k}")
            roll, path = rng.random(), RMA_PATHS[-1][1]
            for share, candidate in RMA_PATHS:
                if roll < share:
                    path = candidate
                    break
                roll -= share
            times = [filed + k]
            for _ in path[1:]:
                times.append(times[-1] + rng.randrange(6 * HOUR, 2 * DAY))
            rid = hashlib.md5(f"rma:{self.seed}:{order.n}:{k}".encode()).hexdigest()[:24]
            awb = "JNER" + "".join(str(rng.randrange(10)) for _ in range(11))
            self._rmas[rid] = Rma(rid, str(26_000_000_000 + order.n * 10 + k), order, k, path, times, rng.choice(RMA_REASONS), awb)

    def _visible_rmas(self) -> list[Rma]:
        for r in self._rmas.values():
            r.catch_up(self._now)
        shown = [r for r in self._rmas.values() if r.created <= self._now]
        return sorted(shown, key=lambda r: (r.created, r.id), reverse=self.returns_newest_first)

    def _row(self, r: Rma) -> dict[str, Any]:
        """A summary row: the fields a third-party client reads, and the ones the mapping assumes."""
        _, _, value = self._items(r.order)[r.item]
        row = {
            "returnId": r.id, "returnNo": r.number, "orderNo": r.order.number, "orderItemNo": value["orderItemNo"],
            "customerName": value["custName"], "orderQuantity": value["qty"], "productSalePrice": value["finalPrice"],
            "createdDate": r.created * 1000, "updatedDate": r.updated * 1000, "status": r.status, "rmaResolution": "REFUND",
            "returnReason": r.reason, "merchantSku": value["merchantSku"], "gdnSku": value["gdnSku"], "productName": value["itemName"],
            "awbNumber": r.awb if r.step >= 2 and "RMA_PROCESS_STARTED" in r.path[: r.step + 1] else None,
        }  # fmt: skip
        if r.corrupt:
            row["productSalePrice"] = "abc"
        return row

    def _returns_list(self, request: Request) -> Reply:
        q = request.query
        for name in ("requestId", "businessPartnerCode", "channelId"):
            if not q.get(name):
                return error(400, "BAD_REQUEST", f"{name} is required")
        page, size = q.get("page", "0"), q.get("size", "10")
        if not (page.isdigit() and size.isdigit() and int(size) >= 1):
            return error(400, "BAD_REQUEST", "page starts at 0 and size at 1")
        page_no, size_no = int(page), int(size)
        rows = [self._row(r) for r in self._visible_rmas()]
        if q.get("orderIdOrItemId"):
            rows = [r for r in rows if q["orderIdOrItemId"] in (r["orderNo"], r["orderItemNo"])]
        if q.get("returDate"):
            try:
                day = datetime.strptime(q["returDate"], "%d-%m-%Y").date()
            except ValueError:
                return error(400, "BAD_REQUEST", "returDate is dd-MM-yyyy")
            rows = [r for r in rows if datetime.fromtimestamp(r["createdDate"] / 1000, JAKARTA).date() == day]
        for name in ("status", "rmaResolution"):
            if q.get(name):
                rows = [r for r in rows if r[name] == q[name]]
        content = rows[page_no * size_no : (page_no + 1) * size_no]
        return Reply(200, {"requestId": q.get("requestId"), "errorCode": None, "errorMessage": None, "success": True,
                           "content": content, "pageMetaData": {"pageNumber": page_no, "pageSize": size_no, "totalRecords": len(rows)}})  # fmt: skip

    def _return_detail(self, request: Request) -> Reply:
        q = request.query
        for name in ("rmaId", "orderNo", "orderItemNo"):
            if not q.get(name):
                return error(400, "BAD_REQUEST", f"{name} is required")
        found = self._rmas.get(q["rmaId"])
        if found is None or found.created > self._now or found.order.number != q["orderNo"]:
            return error(404, "NOT_FOUND", "Returned order item not found")
        now = self.real_time()
        calls = [t for t in self._detail_calls.get(found.id, []) if t > now - HOUR] + [now]
        self._detail_calls[found.id] = calls
        if len(calls) > DETAIL_LIMIT:
            return error(429, "TOO_MANY_REQUESTS", "5 requests in an hour per rmaId")
        found.catch_up(self._now)
        row = self._row(found)
        if row["orderItemNo"] != q["orderItemNo"]:
            return error(404, "NOT_FOUND", "Returned order item not found")
        return Reply(200, {"requestId": q.get("requestId"), "errorCode": None, "errorMessage": None, "success": True, "value": row})

    def _returns_admin(self, body: dict[str, Any]) -> dict[str, Any]:
        return returns_admin(body, self._rmas, self._rma, self._now)

    def _rma(self, rid: Any) -> Rma:
        found = self._rmas.get(str(rid))
        if found is None or found.created > self._now:
            raise ValueError(f"no RMA {rid}")
        return found

    # -- data ---------------------------------------------------------------------------------
    def _create(self, fp: int) -> OrderState:
        n = len(self._orders) + 1
        bp = Blueprint.make(self.seed, n, fp)
        order = OrderState(n, fp, len(bp.items))
        self._orders[n] = order
        self._by_number[order.number] = order
        self._schedule(n, order, bp.steps, fp)
        for package_id in sorted(set(self._package_ids(order, bp))):
            bisect.insort(self._packages, (fp * 1000, package_id, order.number))
        return order

    @staticmethod
    def _package_ids(order: OrderState, bp: Blueprint) -> list[int]:
        return [order.n * 10 + (1 if bp.split and k > 0 else 0) for k in range(len(bp.items))]

    def _index_key(self, order: OrderState) -> None:
        return None  # listings use the package index (FP times never change)

    def _apply(self, order: OrderState, at: int, step: str) -> None:
        order.apply(at, step)

    def _items(self, order: OrderState) -> list[tuple[int, dict[str, Any], dict[str, Any]]]:
        """(packageId, list entry, detail value) per item."""
        bp = Blueprint.make(self.seed, order.n, order.fp)
        city, province, postcode = CITIES[bp.city]
        out = []
        for k, ((index, qty, cut), package_id) in enumerate(zip(bp.items, self._package_ids(order, bp))):
            gdn, msku, product, name, price = CATALOG[index]
            status, item_no = order.statuses[k], str(25_000_000_000 + order.n * 10 + k)
            ordered = order.fp * 1000 - 90_000
            value = {
                "orderNo": order.number, "orderItemNo": item_no, "qty": qty, "orderDate": ordered,
                "autoCancelDate": order.fp * 1000 + 3 * DAY * 1000, "orderStatus": status, "orderStatusString": STATUS_TEXT[status],
                "productName": product, "itemName": name, "gdnSku": gdn, "merchantSku": msku,
                "productPrice": price, "finalPrice": price - cut, "shippingCost": bp.shipping if k == 0 else 0, "totalWeight": Decimal("0.2") * qty,
                "logisticService": "Regular", "logisticsProductName": LOGISTICS[bp.logistics],
                "awbNumber": bp.awb if order.shipped and status != "X" else None,
                "custName": f"{NAMES[bp.buyer]} Contoh", "shippingStreetAddress": f"Jl. Contoh No. {order.n % 97 + 1}",
                "shippingCity": city, "shippingProvince": province, "shippingZipCode": postcode,
                "updatedDate": order.updated * 1000,
            }
            if order.corrupt and k == 0:
                value.update({"finalPrice": "abc"} if order.corrupt == "finalPrice" else {"qty": "dua"} if order.corrupt == "qty" else {"orderDate": "kemarin"})
            entry = {
                "createdDate": ordered, "storeCode": self._seller_code,
                "order": {"id": order.number, "itemId": item_no, "itemStatus": status, "quantity": qty, "date": ordered,
                          "statusFPUpdatedTimestamp": order.fp * 1000, "customerFullName": value["custName"]},
                "product": {"blibliSku": gdn, "sellerSku": msku, "itemName": name, "price": price},
            }
            out.append((package_id, entry, value))
        return out

    def _assembled(self, order: OrderState) -> dict[str, Any]:
        packages: dict[int, list[dict[str, Any]]] = {}
        for package_id, _, value in self._items(order):
            packages.setdefault(package_id, []).append(value)
        return {"orderNo": order.number, "statusFPUpdatedTimestamp": order.fp * 1000, "packages": [{"packageId": p, "items": v} for p, v in packages.items()]}

    # -- requests -------------------------------------------------------------------------------
    def _authenticate(self, request: Request) -> str | None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            user, _, password = base64.b64decode(headers.get("authorization", "")[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            user = password = ""
        if not headers.get("authorization", "").startswith("Basic ") or not (hmac.compare_digest(user, self._client_id) and hmac.compare_digest(password, self._client_key)):
            return "Invalid client credentials"
        if not hmac.compare_digest(headers.get("api-seller-key", ""), self._seller_key):
            return "Invalid Api-Seller-Key"
        store = request.query.get("storeCode") or request.query.get("businessPartnerCode")
        if store != self._seller_code or request.query.get("storeId") != "10001":
            return "The Api-Seller-Key is not linked to this store"
        if self._signature_key:
            given, millis = headers.get("signature"), headers.get("signature-time", "")
            if not given or not millis.isdigit():
                return "Signature and Signature-Time are mandatory for this seller"
            wanted = expected_signature(self._signature_key, request.method, request.body, signature_date(int(millis)), request.path)
            if not hmac.compare_digest(given, wanted):
                return "Invalid signature"
        return None

    def _list(self, request: Request) -> Reply:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return error(400, "BAD_REQUEST", "Request body is not valid JSON")
        paging, filter_ = body.get("paging") or {}, body.get("filter") or {}
        page, size = paging.get("page", 0), paging.get("size", 10)
        if not (isinstance(page, int) and page >= 0 and isinstance(size, int) and 1 <= size <= MAX_SIZE):
            return error(400, "BAD_REQUEST", "Maximum size is 50; page starts at 0")
        cap = request.query.get(self.page_size_param, "")
        size = min(size, int(cap)) if cap.isdigit() and int(cap) > 0 else size
        chosen = self._select(filter_)
        if (body.get("sorting") or {}).get("direction") == "DESC":
            chosen = chosen[::-1]
        phantom = self._phantom is not None and self._phantom[0] == _listing_key(body)
        shift = 1 if phantom and page > self._phantom[1] else 0
        start = (page - shift) * size
        packages = chosen[start : start + size]
        total_pages = -(-len(chosen) // size) + (1 if phantom else 0)
        content = []
        for package_id, number in packages:
            order = self._by_number[number]
            content.append({"packageId": package_id, "orderItems": [e for p, e, _ in self._items(order) if p == package_id]})
        reply = Reply(200, {"requestId": request.query.get("requestId"), "errorCode": None, "errorMessage": None, "success": True,
                            "content": content, "paging": {"pageNumber": page, "pageSize": size, "totalPage": total_pages, "totalRecord": len(chosen)}})
        if "statusFPDateRange" in filter_:
            self._last_listing = reply
        return reply

    def _select(self, filter_: dict[str, Any]) -> list[tuple[int, str]]:
        visible = self._now * 1000
        if filter_.get("orderIds"):
            wanted = {str(i) for i in filter_["orderIds"]}
            return [(p, n) for fp, p, n in self._packages if n in wanted and fp <= visible]
        window = filter_.get("statusFPDateRange") or {}
        low, high = window.get("start", 0), min(window.get("end", visible), visible)
        lo = bisect.bisect_left(self._packages, (low, -1, ""))
        hi = bisect.bisect_right(self._packages, (high, 1 << 62, ""))
        return [(p, n) for _, p, n in self._packages[lo:hi]]

    def _detail(self, request: Request) -> Reply:
        number, item_no = request.query.get("orderNo"), request.query.get("orderItemNo")
        if not number or not item_no:
            return error(400, "BAD_REQUEST", "orderNo and orderItemNo are required")
        order = self._by_number.get(number)
        found = [v for _, _, v in self._items(order) if v["orderItemNo"] == item_no] if order and order.fp <= self._now else []
        if not found:
            return error(404, "NOT_FOUND", "Order item not found")
        value = found[0]
        if item_no == self._items(order)[0][2]["orderItemNo"]:
            value = self._with_poisons(number, value)
        return Reply(200, {"requestId": request.query.get("requestId"), "errorCode": None, "errorMessage": None, "success": True, "value": value})

    # -- admin ----------------------------------------------------------------------------------
    def _mutate(self, body: dict[str, Any]) -> dict[str, Any]:
        at = self._now if body.get("at") is None else int(body["at"])
        touched = [self._order(i) for i in body.get("touch") or []]
        for order in touched:
            order.updated = at
        inserted = [self._create(at).number for _ in range(int(body.get("insert") or 0))]
        return {"touched": len(touched), "inserted": inserted, "now": self._now}

    def _corrupt(self, body: dict[str, Any]) -> dict[str, Any]:
        order, field = self._order(body["id"]), body.get("field", "finalPrice")
        if field not in ("finalPrice", "qty", "orderDate"):
            raise ValueError("field must be finalPrice, qty or orderDate")
        order.corrupt, order.updated = field, self._now
        return {"id": order.number, "field": field}

    def _order(self, number: Any) -> OrderState:
        order = self._by_number.get(str(number))
        if order is None:
            raise ValueError(f"no order {number}")
        return order


def error(status: int, code: str, message: str) -> Reply:
    """Blibli's envelope ([B5], inferred): ``success`` false, ``errorCode``, ``errorMessage``."""
    return Reply(status, {"requestId": None, "errorCode": code, "errorMessage": message, "success": False, "value": None})


def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _listing_key(body: dict[str, Any]) -> str:
    return json.dumps([body.get("filter"), body.get("sorting")], sort_keys=True)


__all__ = ["BlibliSandbox", "expected_signature", "signature_date", "hostile"]
