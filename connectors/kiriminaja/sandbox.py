"""The KiriminAja sandbox: a local twin of ``POST /api/mitra/tracking`` with seeded parcels.

It serves, as the sources show them (shared/reference/storefronts_couriers.md §4; the
pages are listed in ``client.py``, which this module never imports):

- ``POST /api/mitra/tracking`` with ``{"order_id": "<order id or AWB>"}`` (a string of at
  most 20 characters, documented) and ``Authorization: Bearer <api key>``. A parcel is
  found by its order id or its AWB: ``{"status": true, "text": <latest history text>,
  "method": "shTracking", "status_code": <latest code>, "details": {awb, signature_code,
  sorting_code, order_id, status_code: null, estimation, service, service_name, drop,
  shipped_at, delivered, delivered_at, refunded, refunded_at, images, costs, origin,
  destination}, "histories": [...newest first]}`` (the documented sample's shape and
  order). Times are ``YYYY-MM-DD HH:MM:SS`` in WIB without a zone (documented format;
  zone assumed). ``shipped_at`` is null until the courier's first scan, ``delivered_at``
  and ``refunded_at`` are ``""`` until they happen (the sample's ``refunded_at: ""``).
- **Every answer is HTTP 200** with ``status``/``text`` (documented in the introduction),
  except throttling (429, documented) and server faults. An unknown order id or AWB is
  ``{"status": false, "text": "data not found", "code": 2, "method": null}``: the
  instant tracking's documented not-found body, assumed for express (inferred). A missing
  or over-long ``order_id`` is ``status: false`` with Laravel's validation message
  (inferred).
- **Auth**: a missing or unknown bearer token is ``{"status": false, "text":
  "Unauthenticated."}`` with HTTP 200 (inferred: Laravel's message inside KiriminAja's
  200 envelope); set ``auth_failure_status = 401`` for Laravel's bare ``401 {"message":
  "Unauthenticated."}`` instead.
- **Rate limit**: 60 requests per 60-second window per token (inferred: Laravel's default
  API throttle; KiriminAja publishes no number), then **429** ``{"message": "Too Many
  Attempts."}`` with ``Retry-After`` and ``X-RateLimit-Limit``/``-Remaining`` (Laravel's
  throttle middleware: inferred; the 429 itself is documented). ``rate_clock`` (monotonic
  by default) decides the window; tests inject one.

Stories on the data clock (``SandboxClock``), with ``histories[].status_code`` from
KiriminAja's status-mapping page (developer.kiriminaja.com/docs/important-notes/
status-mapping, mirrored in ongkipro/kiriminaja-documentation): 100 package created, 106
with the courier / in transit, 152 re-delivery (a failed attempt), 200 delivered, 301
recipient refused, 403 return initiated, 404 courier returning to seller, 400 returned.
``delivered``: created -> counter scan -> hubs -> with delivery courier -> delivered;
``failed_attempt``: one 152, delivered the next day; ``cod_refused``: a COD parcel refused
at the door, returned (``refunded: true``, §4: refunded means returned to sender);
``lost``: two scans, then none ever again. Events at or before "now" are shown; a parcel
whose creation lies ahead of the clock is not found yet. KiriminAja only knows parcels
booked through it: ``add_parcel`` (or ``POST /_sandbox/parcels``) is how a demo books one.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from connectors._sandbox import Reply, Request, SandboxClock

WIB = timezone(timedelta(hours=7))
HOUR, DAY = 3600, 86400
HISTORY = 30 * DAY

TRACKING_ROUTE = "/api/mitra/tracking"  # documented
ORDER_ID_MAX = 20  # documented: string(max:20)
NOT_FOUND = {"status": False, "text": "data not found", "code": 2, "method": None}  # documented for instant tracking
THROTTLE = (60, 60)  # requests per window, window seconds (inferred: Laravel's default)
# Status codes from the status-mapping page (documented there; the reference has 100/200 only).
STATUS_CODES = {
    100: "New package created by client",
    106: "Package with courier / in transit",
    152: "Re-delivery process / undelivery",
    200: "Package delivered to recipient",
    301: "Recipient refused the package",
    400: "Package successfully returned",
    403: "Return request initiated",
    404: "Courier requested for return delivery to seller",
}
SERVICES = {"jne": "REG", "jnt": "EZ", "sicepat": "REG", "anteraja": "REG", "ninja": "STANDARD", "sap": "REG", "lion": "REGPACK"}
STORIES = ("delivered", "failed_attempt", "cod_refused", "lost")
STORY_WEIGHTS = (60, 15, 10, 15)
CITIES = ("JAKARTA", "BANDUNG", "SURABAYA", "SEMARANG", "MEDAN", "MAKASSAR", "DENPASAR", "YOGYAKARTA")
NAMES = ("BUDI", "SITI", "AGUS", "DEWI", "RINA", "JOKO")


@dataclass(frozen=True, slots=True)
class Parcel:
    service: str  # KiriminAja's courier code (details.service)
    awb: str
    order_id: str
    shipped_at: int  # epoch seconds: the courier's first scan
    story: str
    cod: int  # IDR; 0 for non-COD
    salt: int


def timeline(parcel: Parcel) -> list[tuple[int, int, str, str]]:
    """Every event: (epoch, status_code, status text, receiver), oldest first."""
    rng = random.Random(f"{parcel.salt}:{parcel.service}:{parcel.awb}")
    origin, destination = rng.sample(CITIES, 2)
    name = rng.choice(NAMES)
    t = parcel.shipped_at
    events = [
        (t - 3 * HOUR, 100, "Paket dibuat oleh KiriminAja", ""),
        (t, 106, f"Shipment received by {parcel.service} counter officer at {origin}", ""),
        (t + rng.randrange(1, 4) * HOUR, 106, f"Received at sorting center {origin}", ""),
    ]
    if parcel.story == "lost":
        return events  # no scan after the sorting center, ever
    forwarded = events[-1][0] + rng.randrange(2, 8) * HOUR
    inbound = forwarded + rng.randrange(8, 30) * HOUR
    out = inbound + rng.randrange(4, 10) * HOUR
    events += [
        (forwarded, 106, f"Shipment forwarded to destination {destination}", ""),
        (inbound, 106, f"Received at inbound station {destination}", ""),
        (out, 106, f"With delivery courier {destination}", ""),
    ]

    def delivered(at: int) -> tuple[int, int, str, str]:
        when = datetime.fromtimestamp(at, WIB).strftime("%d-%m-%Y %H:%M")
        return (at, 200, f"Delivered to {name} | {when} | {destination} ", name)

    attempt = out + rng.randrange(1, 5) * HOUR
    if parcel.story == "delivered":
        return events + [delivered(attempt)]
    if parcel.story == "failed_attempt":
        again = attempt + DAY
        return events + [
            (attempt, 152, f"Undelivered, consignee not at home, re-delivery scheduled {destination}", ""),
            (again, 106, f"With delivery courier {destination}", ""),
            delivered(again + rng.randrange(1, 5) * HOUR),
        ]
    back = attempt + rng.randrange(6, 24) * HOUR  # cod_refused
    return events + [
        (attempt, 301, f"Recipient refused the package (COD) {destination}", ""),
        (attempt + 2 * HOUR, 403, "Return request initiated", ""),
        (back, 404, f"Courier returning package to seller {origin}", ""),
        (back + rng.randrange(1, 3) * DAY, 400, f"Package returned to seller {origin}", "TOKO CONTOH"),
    ]


def stamp(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, WIB).strftime("%Y-%m-%d %H:%M:%S")


def failure(text: str, **extra: Any) -> Reply:
    """KiriminAja's HTTP 200 error envelope."""
    return Reply(200, {"status": False, "text": text, **extra})


class KiriminAjaSandbox:
    """Seeded parcels behind ``POST /api/mitra/tracking``; ``SandboxServer`` serves it."""

    channel = "kiriminaja"
    page_size_param = ""  # no listing

    def __init__(self, *, orders: int = 200, seed: int = 0, clock: SandboxClock | None = None) -> None:
        self.clock = clock or SandboxClock()
        self.seed = seed
        self.rate_clock: Callable[[], float] = time.monotonic
        self.auth_failure_status = 200  # or 401: see the module docstring
        self._token = hashlib.sha256(f"kiriminaja-token:{seed}".encode()).hexdigest()
        self._parcels: dict[str, Parcel] = {}  # by AWB and by order id (upper case)
        self._windows: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()
        rng = random.Random(seed)
        now = int(self.clock.now())
        for n in range(orders):
            service = rng.choice(sorted(SERVICES))
            story = rng.choices(STORIES, STORY_WEIGHTS)[0]
            cod = rng.randrange(50, 500) * 1000 if story == "cod_refused" or rng.random() < 0.3 else 0
            awb = f"{service.upper()[:3]}{rng.randrange(10**11):011d}"
            self._add(Parcel(service, awb, f"OID-{seed:03d}{n:06d}", now - rng.randrange(HISTORY), story, cod, seed))

    # -- registration and credentials ---------------------------------------------------------
    def demo_credentials(self) -> dict[str, str]:
        return {"api_key": self._token}

    def add_parcel(
        self, courier: str, awb: str, shipped_at: float | datetime, story: str = "delivered", *, order_id: str | None = None, cod: int = 0
    ) -> dict[str, Any]:
        """Book a parcel through the twin: ``courier`` is KiriminAja's service code (``jne``,
        ``sicepat``...), ``shipped_at`` the first courier scan (epoch seconds or an aware
        datetime), ``story`` one of ``STORIES``; ``order_id`` defaults to ``OID-<awb>``."""
        service = str(courier).strip().lower()
        if service not in SERVICES:
            raise ValueError(f"unknown KiriminAja service {service!r}; known: {', '.join(sorted(SERVICES))}")
        if story not in STORIES:
            raise ValueError(f"story must be one of {STORIES}")
        awb = str(awb).strip()
        order_id = (order_id or f"OID-{awb}")[:ORDER_ID_MAX]
        if not awb or len(awb) > ORDER_ID_MAX:
            raise ValueError(f"an AWB of 1..{ORDER_ID_MAX} characters is needed (KiriminAja tracks by it)")
        at = shipped_at.timestamp() if isinstance(shipped_at, datetime) else float(shipped_at)
        cod = int(cod) or (150_000 if story == "cod_refused" else 0)  # a refused COD parcel carries an amount
        parcel = Parcel(service, awb, order_id, int(at), story, cod, self.seed)
        with self._lock:
            self._add(parcel)
        return {"service": service, "awb": awb, "order_id": order_id, "shipped_at": parcel.shipped_at, "story": story}

    def known_parcels(self) -> list[Parcel]:
        with self._lock:
            return list({p.awb: p for p in self._parcels.values()}.values())

    def _add(self, parcel: Parcel) -> None:
        self._parcels[parcel.awb.upper()] = parcel
        self._parcels[parcel.order_id.upper()] = parcel

    # -- SandboxApp ---------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        if not self._authenticated(request):
            if self.auth_failure_status == 401:
                return Reply(401, {"message": "Unauthenticated."})
            return failure("Unauthenticated.")
        limited = self._throttle()
        if limited is not None:
            return limited
        route = request.path.rstrip("/")
        if route != TRACKING_ROUTE:
            return Reply(404, {"message": f"The route {route.lstrip('/')} could not be found."})
        if request.method != "POST":
            return Reply(405, {"message": f"The {request.method} method is not supported for route {route.lstrip('/')}. Supported methods: POST."})
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        order_id = body.get("order_id") if isinstance(body, dict) else None
        if not isinstance(order_id, str) or not order_id.strip():
            return failure("The order id field is required.")
        if len(order_id) > ORDER_ID_MAX:
            return failure(f"The order id may not be greater than {ORDER_ID_MAX} characters.")
        with self._lock:
            parcel = self._parcels.get(order_id.strip().upper())
        rendered = self._render(parcel, int(self.clock.now())) if parcel is not None else None
        return Reply(200, rendered if rendered is not None else dict(NOT_FOUND))

    def error_reply(self, kind: str, status: int) -> Reply:
        if kind == "rate_limit":
            return Reply(status, {"message": "Too Many Attempts."})
        if kind == "token_expired":
            return failure("Unauthenticated.")
        return Reply(status, {"message": "Server Error"})

    def dump_orders(self) -> list[dict[str, Any]]:
        now = int(self.clock.now())
        replies = [self._render(p, now) for p in self.known_parcels()]
        return [r for r in replies if r is not None]

    def admin(self, action: str, request: Request) -> Reply | None:
        if action == "parcels" and request.method == "POST":
            body = request.json() or {}
            return Reply(200, self.add_parcel(body["courier"], body["awb"], body["shipped_at"], body.get("story", "delivered"),
                                              order_id=body.get("order_id"), cod=int(body.get("cod") or 0)))
        if action == "parcels":
            return Reply(200, {"parcels": [{"service": p.service, "awb": p.awb, "order_id": p.order_id, "shipped_at": p.shipped_at, "story": p.story}
                                           for p in self.known_parcels()]})
        return None

    # -- the contract -------------------------------------------------------------------------
    def _authenticated(self, request: Request) -> bool:
        header = {k.lower(): v for k, v in request.headers.items()}.get("authorization", "")
        scheme, _, token = header.strip().partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self._token.encode())

    def _throttle(self) -> Reply | None:
        limit, seconds = THROTTLE
        window = int(self.rate_clock() // seconds)
        with self._lock:
            start, count = self._windows.get(self._token, (window, 0))
            if start != window:
                start, count = window, 0
            count += 1
            self._windows[self._token] = (start, count)
        if count <= limit:
            return None
        retry = max(1, int((window + 1) * seconds - self.rate_clock()))
        headers = {"Retry-After": str(retry), "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0"}
        return Reply(429, {"message": "Too Many Attempts."}, headers)

    def _render(self, parcel: Parcel, now: int) -> dict[str, Any] | None:
        shown = [e for e in timeline(parcel) if e[0] <= now]
        if not shown:
            return None
        delivered = next((at for at, code, _, _ in shown if code == 200), None)
        returned = next((at for at, code, _, _ in shown if code == 400), None)
        scanned = next((at for at, code, _, _ in shown if code == 106), None)
        rng = random.Random(f"details:{parcel.salt}:{parcel.awb}")
        latest = shown[-1]
        return {
            "status": True,
            "text": latest[2],
            "method": "shTracking",
            "status_code": latest[1],
            "details": {
                "awb": parcel.awb,
                "signature_code": hashlib.sha1(parcel.awb.encode()).hexdigest()[:8].upper(),
                "sorting_code": "JKT-JKT1000-SUB2020",
                "order_id": parcel.order_id,
                "status_code": None,
                "estimation": "2-3",
                "service": parcel.service,
                "service_name": SERVICES[parcel.service],
                "drop": False,
                "shipped_at": stamp(scanned) if scanned is not None else None,
                "delivered": delivered is not None,
                "delivered_at": stamp(delivered) if delivered is not None else "",
                "refunded": returned is not None,
                "refunded_at": stamp(returned) if returned is not None else "",
                "images": {"camera_img": None, "signature_img": None, "pop_img": None},
                "costs": {
                    "add_cost": 0, "currency": "IDR", "cod": parcel.cod, "insurance_amount": 0, "insurance_percent": 0,
                    "discount_amount": 0, "subsidi_amount": 0, "shipping_cost": rng.randrange(9, 40) * 1000, "correction": 0,
                },
                "origin": {"name": "Toko Contoh", "address": "Jl. Contoh No. 1", "phone": "0800000000", "city": "Kota Contoh", "zip_code": "10110"},
                "destination": {"name": f"{rng.choice(NAMES).title()} Contoh", "address": "Jl. Penerima No. 2", "phone": "0800000001",
                                "city": "Kota Tujuan", "zip_code": "40115"},
            },
            "histories": [
                {"created_at": stamp(at), "status": text, "status_code": code, "driver": "", "receiver": receiver}
                for at, code, text, receiver in reversed(shown)
            ],
        }
