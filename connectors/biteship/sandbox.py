"""The Biteship sandbox: a local twin of Biteship's public tracking, with seeded parcels.

It serves, as the sources show them (shared/reference/storefronts_couriers.md §3; the
pages are listed in ``client.py``, which this module never imports):

- ``GET /v1/trackings/<waybill_id>/couriers/<courier_code>``: the tracking object
  ``{success, message, object: "tracking", id, waybill_id, courier{company, driver_*},
  origin, destination, history[{note, updated_at, status}], link, order_id, status}``;
  ``history[].updated_at`` in ISO 8601 with ``+07:00`` (inferred), statuses in snake_case
  (§3: what goes over the wire), no ``service_type`` in public tracking (§16.4). A waybill
  the sandbox does not know at that courier, or one whose first scan is still ahead of the
  data clock, is **404** with the documented envelope ``{"success": false, "error": ...}``
  (the not-found wording is ours: inferred). An unknown courier code is 400.
- ``GET /v1/couriers``: the courier list (``{success, object: "courier", couriers[]}``;
  fields inferred), the cheap authenticated call a connector checks its key with.
- **Auth**: the key raw in the ``authorization`` header (documented; ``Bearer <key>`` is
  accepted too, as some clients send it: inferred). Refusals use the documented codes and
  messages, with the code's first three digits as the HTTP status (inferred): no header
  -> 401 ``40101001`` "Authorization failed"; a value that is not a Biteship key (no
  ``biteship_live.``/``biteship_test.`` prefix) -> 400 ``40000001``; a well-formed unknown
  key -> 401 ``40101002`` "No account found with associated key"; a revoked key (admin
  ``revoke``) -> 403 ``40301001`` "There's no match token for this key".
- **Rate limit** per key and API, in fixed one-second windows, as help.biteship.com
  article 40080182901145 documents: test keys 5 requests/s for every API, live keys 50/s
  for Tracking and 10/s for Courier. Beyond it: **429** ``{"success": false, "error":
  "Too many requests"}`` with ``Retry-After: 1`` (status and body inferred). The window
  clock is ``rate_clock`` (monotonic by default; tests inject one).

Parcels and their stories: each parcel is (courier, waybill, shipped_at, story); its
history is derived from them and the data clock (``SandboxClock``): events at or before
"now" are shown, so histories move as the clock moves, and setting the clock back hides
them again (the derivation is pure). ``shipped_at`` is the pickup. Stories
(``STORIES``): ``delivered`` (confirmed -> allocated -> picking_up -> picked -> hub scans
-> out for delivery -> delivered), ``failed_attempt`` (one failed attempt, ``on_hold``
with a note, then delivered next day: Biteship has no failed-attempt status, §3),
``cod_refused`` (COD refused at the door -> ``return_in_transit`` -> ``returned``),
``lost`` (picked, one hub scan, then no scan ever again). Hub scans and the courier run
both carry ``dropping_off`` ("Item is on the way to customer"); notes tell them apart.

``BiteshipSandbox(orders=N)`` seeds N parcels over the last 30 days of the data clock;
``add_parcel(courier, awb, shipped_at, story)`` (or ``POST /_sandbox/parcels``)
registers one more, e.g. an airway bill a marketplace sandbox issued. ``dump_orders()``
returns the reply for every parcel that has at least one scan by now.
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
from urllib.parse import unquote

from connectors._sandbox import Reply, Request, SandboxClock

WIB = timezone(timedelta(hours=7))
HOUR, DAY = 3600, 86400
HISTORY = 30 * DAY

COURIERS_ROUTE = "/v1/couriers"
TRACKING_PREFIX = "/v1/trackings/"
KEY_PREFIXES = ("biteship_live.", "biteship_test.")  # documented

# Documented statuses, snake_case as they go over the wire (§3).
STATUSES = (
    "confirmed", "scheduled", "allocated", "picking_up", "picked", "cancelled", "on_hold", "dropping_off",
    "return_in_transit", "returned", "rejected", "disposed", "courier_not_found", "delivered",
)
# Documented authentication error codes and messages (biteship.com/id/docs/api/authentication).
# 40000001's message ends in a support address our copy of the page had obscured.
AUTH_ERRORS = {
    40000001: "Authentication for your key has failed. Please make sure to input the right key or contact Biteship for more information.",
    40101001: "Authorization failed",
    40101002: "No account found with associated key",
    40101003: "Cannot process authorization",
    40301001: "There's no match token for this key",
    40301002: "User information not found.",
}
# Documented per-second limits (help.biteship.com 40080182901145): mode -> API -> requests/s.
RATE_LIMITS = {"test": {"tracking": 5, "courier": 5}, "live": {"tracking": 50, "courier": 10}}
# Biteship courier codes this twin tracks (inferred from client code; the Courier API list
# is not in our sources) with the name its courier list shows.
COURIERS = {
    "jne": "JNE", "jnt": "J&T", "sicepat": "SiCepat", "anteraja": "AnterAja", "ninja": "Ninja Xpress",
    "pos": "POS Indonesia", "tiki": "TIKI", "idexpress": "ID Express", "sap": "SAP", "lion": "Lion Parcel",
    "wahana": "Wahana", "rpx": "RPX", "paxel": "Paxel", "sentralcargo": "Sentral Cargo",
    # instant couriers (grab, gojek, lalamove, borzo): Biteship's rates/orders docs list them
    "grab": "Grab Express", "gojek": "GoSend", "lalamove": "Lalamove", "borzo": "Borzo",
}
SEEDED_COURIERS = ("anteraja", "idexpress", "jne", "jnt", "lion", "ninja", "pos", "rpx", "sap", "sicepat", "tiki", "wahana")  # parcel couriers
STORIES = ("delivered", "failed_attempt", "cod_refused", "lost")
STORY_WEIGHTS = (60, 15, 10, 15)
CITIES = ("JAKARTA", "BANDUNG", "SURABAYA", "SEMARANG", "MEDAN", "MAKASSAR", "DENPASAR", "YOGYAKARTA")
NAMES = ("Budi", "Siti", "Agus", "Dewi", "Rina", "Joko")


@dataclass(frozen=True, slots=True)
class Parcel:
    courier: str
    waybill: str
    shipped_at: int  # epoch seconds: the pickup
    story: str
    salt: int  # varies hours, cities and names per parcel (deterministic)


def timeline(parcel: Parcel) -> list[tuple[int, str, str]]:
    """Every event of the parcel's story: (epoch, status, note), oldest first."""
    rng = random.Random(f"{parcel.salt}:{parcel.courier}:{parcel.waybill}")
    origin, destination = rng.sample(CITIES, 2)
    name = rng.choice(NAMES).upper()
    t = parcel.shipped_at
    events = [
        (t - 2 * HOUR, "confirmed", "Courier order is confirmed"),
        (t - HOUR, "allocated", "Courier has been allocated. Waiting to pick up."),
        (t - HOUR // 2, "picking_up", "Courier is on the way to pick up item"),
        (t, "picked", f"Paket telah diterima oleh kurir di {origin}"),
    ]
    hub = t + rng.randrange(2, 6) * HOUR
    events.append((hub, "dropping_off", f"Paket diproses di hub {origin}"))
    if parcel.story == "lost":
        return events  # no scan after the hub, ever
    arrive = hub + rng.randrange(12, 30) * HOUR
    events.append((arrive, "dropping_off", f"Paket tiba di hub {destination}"))
    out = arrive + rng.randrange(4, 10) * HOUR
    events.append((out, "dropping_off", f"Paket dibawa kurir untuk diantar ke penerima ({destination})"))
    if parcel.story == "delivered":
        return events + [(out + rng.randrange(1, 5) * HOUR, "delivered", f"Paket diterima oleh {name}")]
    attempt = out + rng.randrange(1, 5) * HOUR
    if parcel.story == "failed_attempt":
        again = attempt + DAY
        return events + [
            (attempt, "on_hold", "Gagal antar: penerima tidak di tempat, dijadwalkan antar ulang"),
            (again, "dropping_off", f"Paket dibawa kurir untuk diantar ulang ({destination})"),
            (again + rng.randrange(1, 5) * HOUR, "delivered", f"Paket diterima oleh {name}"),
        ]
    back = attempt + rng.randrange(6, 24) * HOUR  # cod_refused
    return events + [
        (attempt, "on_hold", "Gagal antar: COD ditolak penerima"),
        (back, "return_in_transit", f"Paket dikembalikan ke pengirim ({origin})"),
        (back + rng.randrange(1, 3) * DAY, "returned", f"Paket telah dikembalikan ke pengirim di {origin}"),
    ]


def stamp(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, WIB).isoformat(timespec="seconds")


def envelope(status: int, error: str, code: int | None = None, headers: dict[str, str] | None = None) -> Reply:
    """Biteship's documented error envelope (``code`` for the authentication errors)."""
    body: dict[str, Any] = {"success": False, "error": error}
    if code is not None:
        body["code"] = code
    return Reply(status, body, headers or {})


def auth_error(code: int) -> Reply:
    return envelope(int(str(code)[:3]), AUTH_ERRORS[code], code)


class BiteshipSandbox:
    """Seeded parcels behind Biteship's public tracking; ``SandboxServer`` serves it."""

    channel = "biteship"
    page_size_param = ""  # no listing

    def __init__(self, *, orders: int = 200, seed: int = 0, clock: SandboxClock | None = None) -> None:
        self.clock = clock or SandboxClock()
        self.seed = seed
        self.rate_clock: Callable[[], float] = time.monotonic
        self._key = "biteship_test." + hashlib.sha1(f"biteship-key:{seed}".encode()).hexdigest()
        self._keys = {self._key: "test"}  # key -> mode
        self._revoked: set[str] = set()
        self._parcels: dict[tuple[str, str], Parcel] = {}
        self._windows: dict[tuple[str, str], tuple[int, int]] = {}  # (key, api) -> (second, count)
        self._lock = threading.Lock()
        rng = random.Random(seed)
        now = int(self.clock.now())
        for _ in range(orders):
            courier = rng.choice(SEEDED_COURIERS)
            self._add(courier, self._new_waybill(rng, courier), now - rng.randrange(HISTORY), rng.choices(STORIES, STORY_WEIGHTS)[0])

    # -- registration and credentials ---------------------------------------------------------
    def demo_credentials(self) -> dict[str, str]:
        return {"api_key": self._key}

    def add_live_key(self) -> str:
        """A second, live-mode key (production's documented limits apply to it)."""
        key = "biteship_live." + hashlib.sha1(f"biteship-live:{self.seed}".encode()).hexdigest()
        with self._lock:
            self._keys[key] = "live"
        return key

    def add_parcel(self, courier: str, awb: str, shipped_at: float | datetime, story: str = "delivered") -> dict[str, Any]:
        """Make the sandbox know a waybill: ``courier`` is Biteship's courier code, ``shipped_at``
        the pickup (epoch seconds or an aware datetime), ``story`` one of ``STORIES``."""
        courier = str(courier).strip().lower()
        if courier not in COURIERS:
            raise ValueError(f"unknown Biteship courier code {courier!r}; known: {', '.join(sorted(COURIERS))}")
        if story not in STORIES:
            raise ValueError(f"story must be one of {STORIES}")
        if not str(awb).strip():
            raise ValueError("an airway bill is needed")
        at = shipped_at.timestamp() if isinstance(shipped_at, datetime) else float(shipped_at)
        with self._lock:
            parcel = self._add(courier, str(awb).strip(), int(at), story)
        return {"courier": parcel.courier, "waybill_id": parcel.waybill, "shipped_at": parcel.shipped_at, "story": parcel.story}

    def known_parcels(self) -> list[Parcel]:
        with self._lock:
            return list(self._parcels.values())

    def _add(self, courier: str, waybill: str, shipped_at: int, story: str) -> Parcel:
        parcel = Parcel(courier, waybill, shipped_at, story, salt=self.seed)
        self._parcels[(courier, waybill.upper())] = parcel
        return parcel

    @staticmethod
    def _new_waybill(rng: random.Random, courier: str) -> str:
        digits = f"{rng.randrange(10**12):012d}"
        return {"jne": "CGK" + digits, "jnt": "JP" + digits[:10], "sicepat": "00" + digits[:10], "anteraja": "10" + digits}.get(courier, courier.upper()[:3] + digits)

    # -- SandboxApp ---------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        key_or_error = self._authenticate(request)
        if isinstance(key_or_error, Reply):
            return key_or_error
        key = key_or_error
        path = request.path.rstrip("/")
        if request.method == "GET" and path == COURIERS_ROUTE:
            return self._limited(key, "courier") or self._couriers()
        if request.method == "GET" and path.startswith(TRACKING_PREFIX):
            parts = path[len(TRACKING_PREFIX) :].split("/")
            if len(parts) == 3 and parts[1] == "couriers" and parts[0] and parts[2]:
                return self._limited(key, "tracking") or self._tracking(unquote(parts[0]), unquote(parts[2]).lower())
        return envelope(404, "The request is not exist")

    def error_reply(self, kind: str, status: int) -> Reply:
        if kind == "rate_limit":
            return envelope(status, "Too many requests")
        if kind == "token_expired":
            return auth_error(40101001)
        return envelope(status, "Something's wrong with Biteship's internal server")

    def dump_orders(self) -> list[dict[str, Any]]:
        now = int(self.clock.now())
        replies = [self._render(p, now) for p in self.known_parcels()]
        return [r for r in replies if r is not None]

    def admin(self, action: str, request: Request) -> Reply | None:
        if action == "parcels" and request.method == "POST":
            body = request.json() or {}
            return Reply(200, self.add_parcel(body["courier"], body["awb"], body["shipped_at"], body.get("story", "delivered")))
        if action == "parcels":
            return Reply(200, {"parcels": [{"courier": p.courier, "waybill_id": p.waybill, "shipped_at": p.shipped_at, "story": p.story} for p in self.known_parcels()]})
        if action == "revoke" and request.method == "POST":
            key = (request.json() or {}).get("api_key", self._key)
            with self._lock:
                self._revoked.add(str(key))
            return Reply(200, {"revoked": True})
        return None

    # -- the contract -------------------------------------------------------------------------
    def _authenticate(self, request: Request) -> str | Reply:
        header = {k.lower(): v for k, v in request.headers.items()}.get("authorization", "").strip()
        if not header:
            return auth_error(40101001)
        key = header[7:].strip() if header.lower().startswith("bearer ") else header
        if not key.startswith(KEY_PREFIXES):
            return auth_error(40000001)
        with self._lock:
            known = next((k for k in self._keys if hmac.compare_digest(k.encode(), key.encode())), None)
            revoked = known in self._revoked
        if known is None:
            return auth_error(40101002)
        if revoked:
            return auth_error(40301001)
        return known

    def _limited(self, key: str, api: str) -> Reply | None:
        """429 when this key has used its documented budget for ``api`` in this second."""
        limit = RATE_LIMITS[self._keys[key]][api]
        second = int(self.rate_clock())
        with self._lock:
            window, count = self._windows.get((key, api), (second, 0))
            if window != second:
                window, count = second, 0
            count += 1
            self._windows[(key, api)] = (window, count)
        if count > limit:
            return envelope(429, "Too many requests", headers={"Retry-After": "1"})
        return None

    def _couriers(self) -> Reply:
        couriers = [
            {"courier_name": name, "courier_code": code, "courier_service_name": "Reguler", "courier_service_code": "reg",
             "available_for_cash_on_delivery": code in ("jne", "jnt", "sicepat", "anteraja", "ninja", "idexpress")}
            for code, name in sorted(COURIERS.items())
        ]
        return Reply(200, {"success": True, "object": "courier", "couriers": couriers})

    def _tracking(self, waybill: str, courier: str) -> Reply:
        if courier not in COURIERS:
            return envelope(400, f"Courier code {courier} is not supported")
        with self._lock:
            parcel = self._parcels.get((courier, waybill.strip().upper()))
        rendered = self._render(parcel, int(self.clock.now())) if parcel is not None else None
        if rendered is None:
            return envelope(404, "Tracking not found for this waybill and courier")
        return Reply(200, rendered)

    def _render(self, parcel: Parcel, now: int) -> dict[str, Any] | None:
        """The tracking object as of ``now``; None before the parcel's first event."""
        shown = [e for e in timeline(parcel) if e[0] <= now]
        if not shown:
            return None
        rng = random.Random(f"contacts:{parcel.salt}:{parcel.waybill}")
        status = shown[-1][1]
        return {
            "success": True,
            "message": "Successfully get tracking info",
            "object": "tracking",
            "id": hashlib.sha1(f"{parcel.courier}:{parcel.waybill}".encode()).hexdigest()[:24],
            "waybill_id": parcel.waybill,
            "courier": {
                "company": parcel.courier,
                "driver_name": None,
                "driver_phone": None,
                "driver_photo_url": None,
                "driver_plate_number": None,
            },
            "origin": {"contact_name": "Toko Contoh", "address": f"Jl. Contoh No. {rng.randrange(1, 99)}"},
            "destination": {"contact_name": f"{rng.choice(NAMES)} Contoh", "address": f"Jl. Penerima No. {rng.randrange(1, 99)}"},
            "history": [{"note": note, "updated_at": stamp(at), "status": st} for at, st, note in shown],
            "link": f"https://tracking.example/{parcel.courier}/{parcel.waybill}",
            "order_id": None,
            "status": status,
        }
