"""The sandbox host: a local HTTP server that any channel's twin plugs into.

A channel sandbox implements ``SandboxApp`` (route a request, render its own error
envelope, dump its data). This module adds what every twin shares:

- a real HTTP server on 127.0.0.1 (threaded; start in-process or serve from the CLI);
- fault knobs (``Faults``): latency, 5xx and 429 bursts, a server-enforced request
  rate, forced token expiry (now or mid-run), truncated bodies, connection resets,
  stalled replies, a smaller page size, empty and looping listing pages, and changes to
  the data while a sync pages through it; and hostile replies (``hostile.py``): bodies
  dripped a byte at a time, huge bodies, redirects to another host, extra headers (a
  page count of a million), ever-new page tokens, and poisoned records;
- admin endpoints under ``/_sandbox/``: ``GET health``, ``GET stats``, ``GET orders``
  (the full truth, for tests), ``POST faults`` (JSON knobs), ``POST clock``
  (``{"frozen_at": epoch}`` or ``{"advance": seconds}``), and channel extras;
- **many shops in one process** (``SandboxServer.hosting``): ``/shops/<n>/...`` is shop
  *n*, an app instance created on first use from ``make_app(n)`` with its own seeded
  data, credentials, fault knobs and counters. A connector whose base URL is
  ``<server>/shops/<n>`` works unchanged: the app sees the API path without the prefix,
  so signatures stay over the API path (as the real host serves it) and each shop
  enforces its own contract, request budget (``max_rps``) included. ``POST
  /_sandbox/faults`` at the root sets the knobs of every shop, present and future;
  ``GET /_sandbox/shops?first=0&count=100`` lists shops with their credentials (creating
  them); ``GET /_sandbox/stats`` sums every shop's counters.

Latency (``latency_ms``) is slept in the request's own thread, outside every lock, and
the server is threaded, so concurrent requests overlap instead of queueing.

Example::

    with SandboxServer(ShopeeSandbox(seed=7, orders=500)) as server:
        client = ShopeeConnector(server.url, server.app.demo_credentials())
        server.faults.update({"fail_next": [503, 429]})

    with SandboxServer.hosting(lambda n: ShopeeSandbox(seed=n, orders=20)) as hub:
        shop = hub.shop(3)   # base URL hub.shop_url(3), credentials shop.app.demo_credentials()
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from connectors._sandbox import hostile
from simpul.jsoncodec import dumps


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes
    base_path: str = ""  # the shop prefix the request came through (``/shops/<n>``), not part of ``path``

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass(slots=True)
class Reply:
    status: int
    body: Any = None  # JSON-able, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        if isinstance(self.body, (bytes, bytearray)):
            return bytes(self.body)
        if self.body is None:
            return b""
        try:
            return dumps(self.body).encode()
        except TypeError:  # a poisoned record carries raw JSON text (hostile.RawJson)
            return hostile.encode(self.body)


class SandboxApp(Protocol):
    """A channel's twin. ``is_listing``, ``page_fault`` and ``page_size_param`` are only
    needed by twins with a paged listing (the paging knobs do nothing without them)."""

    channel: str
    clock: "SandboxClock"
    page_size_param: str  # the listing's page-size query parameter (the ``page_size`` knob caps it)

    def handle(self, request: Request) -> Reply: ...

    def is_listing(self, request: Request) -> bool:
        """True for a request for one page of the order listing (not a lookup by id)."""

    def page_fault(self, kind: str, request: Request) -> Reply:
        """Answer a listing request with a paging fault, in the channel's own terms.

        ``empty``: no records, yet the API says more follow (and nothing is skipped).
        ``repeat``: a stuck API that hands back a position the client already had.
        """

    def error_reply(self, kind: str, status: int) -> Reply:
        """Render a fault in the channel's own envelope. kind: server|rate_limit|token_expired."""

    def dump_orders(self) -> list[dict[str, Any]]:
        """Every order as the channel's detail endpoint would return it now."""

    def admin(self, action: str, request: Request) -> Reply | None:
        """Channel-specific admin actions under /_sandbox/<action>; None if unknown.

        A twin of a channel with a ``returns`` stream also seeds returns of its orders (at
        least a quarter as many), offers ``dump_returns()`` (every return now, as the
        connector's ``return_pages`` yields it) and the ``returns`` action:
        ``{"touch": ids, "at": epoch}`` (update time set, default now), ``{"advance": ids}``
        (each to its next documented status) and ``{"corrupt": id}`` (one field its
        mapping needs broken). ``tests/contract/returns_suite.py`` relies on them.
        """


class SandboxClock:
    """The sandbox's notion of *data* time: real time, shifted, or frozen.

    Signature timestamps are always checked against the real clock, because the client
    signs with real time; only the seeded data's life cycle follows this clock.
    """

    def __init__(self, frozen_at: float | None = None) -> None:
        self._frozen_at = frozen_at
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    def freeze(self, at: float) -> None:
        with self._lock:
            self._frozen_at = float(at)

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds

    def unfreeze(self) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - time.time()
            self._frozen_at = None


class Faults:
    """Fault knobs, changed at run time through ``POST /_sandbox/faults``.

    - ``latency_ms``: added to every API request.
    - ``error_rate`` / ``rate_limit_rate``: probability of a 5xx / 429 (seeded RNG).
    - ``fail_next``: faults served to the next API requests, one each, in order
      (deterministic faults for tests; ``None`` serves a request normally):
      a status (500, 503, 429...), ``"reset"`` (the connection drops mid-body),
      ``"truncate"`` (half the body, a valid HTTP reply), ``"stall"`` (the reply is held
      ``stall_seconds``, longer than the client's read timeout) or ``"expire_tokens"``
      (every access token expires, then the request is served: a token that runs out
      mid-run).
    - ``retry_after``: the Retry-After header sent with 429s (None: no header).
    - ``max_rps``: a request budget enforced like the real API (429 beyond it).
    - ``expire_tokens``: treat every access token issued so far as expired (channels with
      tokens implement ``app.expire_tokens()``; set through ``POST /_sandbox/faults``).
    - ``stall_seconds``: how long a ``"stall"`` holds its reply.
    - ``page_size``: listing pages carry at most this many records, whatever the client
      asked for (the request's page-size parameter is lowered before the app sees it).
    - ``page_faults``: faults served to the next *listing* requests, one each, in order:
      ``None`` (a normal page), ``"empty"`` or ``"repeat"`` (see ``SandboxApp.page_fault``).
    - ``changes``: ``[{"after_pages": n, "action": "mutate", "body": {...}}]``: admin
      actions the sandbox runs by itself right after serving its n-th listing page, so
      the data changes while a sync pages through it.

    Hostile replies (a channel that does not play fair):

    - ``fail_next`` also takes ``"drip"`` (the reply's body sent one byte every
      ``drip_interval`` seconds), ``"huge"`` (``huge_bytes`` of padding before the body,
      without a Content-Length, then the connection closes), ``"huge_declared"`` (the
      same with a Content-Length announcing it) and ``"redirect"`` (302 to
      ``redirect_to`` + the same path and query).
    - ``headers``: extra headers on every API reply (e.g. ``{"X-WP-TotalPages":
      "1000000"}``).
    - ``page_faults`` also takes ``"fresh"``: more to come under a page token never
      seen before, and no records (a channel handing out ever-new cursors).
    """

    FIELDS = (
        "latency_ms",
        "error_rate",
        "rate_limit_rate",
        "fail_next",
        "retry_after",
        "max_rps",
        "expire_tokens",
        "stall_seconds",
        "page_size",
        "page_faults",
        "changes",
        "drip_interval",
        "huge_bytes",
        "redirect_to",
        "headers",
    )
    _LISTS = ("fail_next", "page_faults", "changes")
    PAGE_FAULTS = (None, "empty", "repeat", "fresh")
    HOSTILE = ("drip", "huge", "huge_declared", "redirect")  # fail_next kinds the HTTP handler renders

    def __init__(self, seed: int = 0) -> None:
        self.latency_ms = 0.0
        self.error_rate = 0.0
        self.rate_limit_rate = 0.0
        self.fail_next: list[Any] = []
        self.retry_after: str | None = "1"
        self.max_rps: float | None = None
        self.expire_tokens = False
        self.stall_seconds = 1.0
        self.page_size: int | None = None
        self.page_faults: list[str | None] = []
        self.changes: list[dict[str, Any]] = []
        self.drip_interval = 0.05
        self.huge_bytes = 64 * 1024 * 1024
        self.redirect_to = "http://127.0.0.2:9"
        self.headers: dict[str, str] = {}
        self._pages_served = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._window_start = time.monotonic()
        self._window_count = 0

    def update(self, knobs: Mapping[str, Any]) -> None:
        unknown = set(knobs) - set(self.FIELDS)
        if unknown:
            raise ValueError(f"unknown fault knobs: {sorted(unknown)}")
        if any(kind not in self.PAGE_FAULTS for kind in knobs.get("page_faults") or ()):
            raise ValueError(f"page_faults entries must be one of {self.PAGE_FAULTS}")
        with self._lock:
            for key, value in knobs.items():
                setattr(self, key, list(value) if key in self._LISTS else value)

    def snapshot(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.FIELDS}

    def draw(self) -> Any:
        """The fault for this request, if any: a status code, 'reset' or 'truncate'."""
        with self._lock:
            if self.fail_next:
                return self.fail_next.pop(0)
            if self.max_rps:
                now = time.monotonic()
                if now - self._window_start >= 1.0:
                    self._window_start, self._window_count = now, 0
                self._window_count += 1
                if self._window_count > self.max_rps:
                    return 429
            roll = self._rng.random()
            if roll < self.rate_limit_rate:
                return 429
            if roll < self.rate_limit_rate + self.error_rate:
                return 503
        return None

    def draw_page_fault(self) -> str | None:
        """Count one listing page served and return its paging fault, if any."""
        with self._lock:
            self._pages_served += 1
            return self.page_faults.pop(0) if self.page_faults else None

    def due_changes(self) -> list[tuple[str, Any]]:
        """The scheduled admin actions whose page count has been reached, once each."""
        with self._lock:
            due = [c for c in self.changes if int(c["after_pages"]) <= self._pages_served]
            self.changes = [c for c in self.changes if c not in due]
        return [(c["action"], c.get("body") or {}) for c in due]


class Stats:
    """Requests served by status and path, and the most that were inside their added
    latency at the same moment (``peak_in_flight``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.by_status: dict[int, int] = {}
        self.by_path: dict[str, int] = {}
        self.in_flight = 0
        self.peak_in_flight = 0

    @contextmanager
    def track(self) -> Iterator[None]:
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1

    def count(self, path: str, status: int) -> None:
        with self._lock:
            self.requests += 1
            self.by_status[status] = self.by_status.get(status, 0) + 1
            self.by_path[path] = self.by_path.get(path, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": self.requests, "by_status": dict(self.by_status), "by_path": dict(self.by_path), "peak_in_flight": self.peak_in_flight}

    @staticmethod
    def total(snapshots: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {"requests": 0, "by_status": {}, "by_path": {}, "peak_in_flight": 0}
        for snap in snapshots:
            out["peak_in_flight"] = max(out["peak_in_flight"], snap["peak_in_flight"])
            out["requests"] += snap["requests"]
            for key in ("by_status", "by_path"):
                for k, v in snap[key].items():
                    out[key][k] = out[key].get(k, 0) + v
        return out


class Shop:
    """One channel twin with its own fault knobs and counters.

    A plain ``SandboxServer`` serves one shop at its root; ``SandboxServer.hosting`` serves
    one per ``/shops/<n>`` prefix."""

    def __init__(self, app: SandboxApp, *, seed: int = 0, host_stats: Stats | None = None) -> None:
        self.app = app
        self.faults = Faults(seed)
        self.stats = Stats()
        self._host_stats = host_stats  # the hosting server's, for its in-flight gauge

    # -- dispatch -----------------------------------------------------------------------
    def dispatch(self, request: Request) -> Reply | str:
        if request.path.startswith("/_sandbox/"):
            return self._admin(request)
        fault = self.faults.draw()
        if self.faults.latency_ms:
            # Slept in this request's thread, holding no lock: other requests go on meanwhile.
            with self.stats.track(), (self._host_stats.track() if self._host_stats is not None else nullcontext()):
                time.sleep(self.faults.latency_ms / 1000.0)
        if fault in ("reset", "truncate", *Faults.HOSTILE):
            return fault
        if fault == "stall":  # the client gives up meanwhile; the late reply finds no reader
            time.sleep(self.faults.stall_seconds)
        if fault == "expire_tokens":
            self._expire_tokens()
        if fault == 429:
            reply = self.app.error_reply("rate_limit", 429)
            if self.faults.retry_after is not None:
                reply.headers.setdefault("Retry-After", str(self.faults.retry_after))
            return reply
        if isinstance(fault, int):
            return self.app.error_reply("server", fault)
        is_listing = getattr(self.app, "is_listing", None)
        if is_listing is None or not is_listing(request):
            return self.app.handle(request)
        return self._listing(request)

    def _listing(self, request: Request) -> Reply:
        """One listing page, with the paging knobs applied, then any changes now due."""
        cap, param = self.faults.page_size, self.app.page_size_param
        asked = request.query.get(param, "")
        if cap and (not asked.isdigit() or int(asked) > cap):
            request.query[param] = str(cap)
        kind = self.faults.draw_page_fault()
        reply = self.app.page_fault(kind, request) if kind else self.app.handle(request)
        for action, body in self.faults.due_changes():
            self.app.admin(action, Request("POST", f"/_sandbox/{action}", {}, {}, json.dumps(body).encode()))
        return reply

    def _expire_tokens(self) -> None:
        if hasattr(self.app, "expire_tokens"):
            self.app.expire_tokens()

    def set_faults(self, knobs: Mapping[str, Any]) -> dict[str, Any]:
        self.faults.update(knobs)
        if knobs.get("expire_tokens"):
            self._expire_tokens()  # tokens issued from now on are valid again
        return self.faults.snapshot()

    def _admin(self, request: Request) -> Reply:
        action = request.path[len("/_sandbox/") :].strip("/")
        try:
            if action == "health":
                return Reply(200, {"ok": True, "channel": self.app.channel})
            if action == "stats":
                return Reply(200, self.stats.snapshot())
            if action == "orders":
                return Reply(200, {"orders": self.app.dump_orders(), "now": self.app.clock.now()})
            if action == "faults" and request.method == "POST":
                return Reply(200, self.set_faults(request.json() or {}))
            if action == "faults":
                return Reply(200, self.faults.snapshot())
            if action == "credentials":
                return Reply(200, self.app.demo_credentials())
            if action == "clock" and request.method == "POST":
                knobs = request.json() or {}
                if "frozen_at" in knobs:
                    self.app.clock.freeze(knobs["frozen_at"])
                if "advance" in knobs:
                    self.app.clock.advance(knobs["advance"])
                if knobs.get("unfreeze"):
                    self.app.clock.unfreeze()
                return Reply(200, {"now": self.app.clock.now()})
            reply = self.app.admin(action, request)
        except (ValueError, KeyError, TypeError) as exc:
            return Reply(400, {"error": str(exc)})
        return reply if reply is not None else Reply(404, {"error": f"no admin action {action!r}"})


class ShopDirectory:
    """Shops behind ``/shops/<n>``, each created on first use by ``make_app(n)``."""

    PREFIX = "/shops/"
    MAX_SHOPS = 1_000_000

    def __init__(self, make_app: Callable[[int], SandboxApp], *, seed: int = 0) -> None:
        self.make_app = make_app
        self.seed = seed
        self.knobs: dict[str, Any] = {}  # applied to every shop, present and future
        self.load = Stats()  # requests in flight across all shops
        self._shops: dict[int, Shop] = {}
        self._lock = threading.Lock()

    def get(self, number: int) -> Shop:
        if not 0 <= number < self.MAX_SHOPS:
            raise KeyError(number)
        with self._lock:
            shop = self._shops.get(number)
            if shop is None:
                shop = Shop(self.make_app(number), seed=self.seed + number, host_stats=self.load)
                shop.faults.update(self.knobs)
                self._shops[number] = shop
            return shop

    def shops(self) -> list[Shop]:
        with self._lock:
            return list(self._shops.values())

    def route(self, request: Request) -> tuple[Shop, Request] | None:
        """The shop a ``/shops/<n>/...`` request is for, and the request as that shop sees it."""
        if not request.path.startswith(self.PREFIX):
            return None
        number, sep, rest = request.path[len(self.PREFIX) :].partition("/")
        if not number.isdigit() or not sep:
            return None
        try:
            shop = self.get(int(number))
        except KeyError:
            return None
        request.base_path = f"{self.PREFIX}{number}"
        request.path = "/" + rest
        return shop, request

    def set_faults(self, knobs: Mapping[str, Any]) -> dict[str, Any]:
        Faults().update(knobs)  # refuse unknown knobs before touching any shop
        with self._lock:
            self.knobs.update(knobs)
        for shop in self.shops():
            shop.set_faults(knobs)
        return dict(self.knobs)

    def admin(self, action: str, request: Request) -> Reply | None:
        if action == "faults" and request.method == "POST":
            return Reply(200, self.set_faults(request.json() or {}))
        if action == "faults":
            return Reply(200, dict(self.knobs))
        if action == "stats":
            shops = self.shops()
            return Reply(200, {**Stats.total([s.stats.snapshot() for s in shops]), "peak_in_flight": self.load.peak_in_flight, "shops": len(shops)})
        if action == "shops":
            first, count = int(request.query.get("first", "0")), int(request.query.get("count", "100"))
            if count < 0 or count > 10_000:
                raise ValueError("count must be 0..10000")
            listed = [(n, self.get(n)) for n in range(first, first + count)]
            return Reply(200, {"shops": [{"shop": n, "path": f"{self.PREFIX}{n}", "channel": s.app.channel, "credentials": s.app.demo_credentials()} for n, s in listed]})
        if action == "health":
            return Reply(200, {"ok": True, "shops": len(self.shops())})
        return None


class SandboxServer:
    """A threaded HTTP server for one shop at its root, or for many (``hosting``)."""

    def __init__(self, app: SandboxApp | None = None, *, port: int = 0, host: str = "127.0.0.1", seed: int = 0, shops: ShopDirectory | None = None) -> None:
        if (app is None) == (shops is None):
            raise ValueError("give one app, or a ShopDirectory (SandboxServer.hosting)")
        self.root = Shop(app, seed=seed) if app is not None else None
        self.directory = shops
        self._httpd = _Server((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @classmethod
    def hosting(cls, make_app: Callable[[int], SandboxApp], *, port: int = 0, host: str = "127.0.0.1", seed: int = 0) -> "SandboxServer":
        """Many shops in this process: ``/shops/<n>`` is ``make_app(n)``, made on first use."""
        return cls(port=port, host=host, shops=ShopDirectory(make_app, seed=seed))

    # A single shop's server keeps its old attributes.
    @property
    def app(self) -> SandboxApp:
        return self._root().app

    @property
    def faults(self) -> Faults:
        return self._root().faults

    @property
    def stats(self) -> Stats:
        return self._root().stats

    def _root(self) -> Shop:
        if self.root is None:
            raise AttributeError("this server hosts many shops: use shop(n)")
        return self.root

    def shop(self, number: int) -> Shop:
        if self.directory is None:
            raise AttributeError("this server hosts one shop at its root")
        return self.directory.get(number)

    def shop_url(self, number: int) -> str:
        return f"{self.url}{ShopDirectory.PREFIX}{number}"

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "SandboxServer":
        # A short poll interval makes stop() return in ~50 ms instead of 0.5 s per test.
        name = f"sandbox-{self.root.app.channel}" if self.root is not None else "sandbox-shops"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- dispatch -----------------------------------------------------------------------
    def route(self, request: Request) -> tuple[Shop | None, Request]:
        """The shop that answers ``request`` (None: the host's own admin or an unknown path)."""
        if self.root is not None:
            return self.root, request
        assert self.directory is not None
        routed = self.directory.route(request)
        return routed if routed is not None else (None, request)

    def dispatch(self, request: Request) -> Reply | str:
        shop, request = self.route(request)
        if shop is not None:
            return shop.dispatch(request)
        assert self.directory is not None
        if request.path.startswith("/_sandbox/"):
            try:
                reply = self.directory.admin(request.path[len("/_sandbox/") :].strip("/"), request)
            except (ValueError, KeyError, TypeError) as exc:
                return Reply(400, {"error": str(exc)})
            if reply is not None:
                return reply
        return Reply(404, {"error": "no such shop: use /shops/<n>/..."})


class _Server(ThreadingHTTPServer):
    # Many clients open connections at once (a thousand shops, dozens at a time): the
    # default listen backlog of 5 would drop SYNs and cost a 1 s retransmit each.
    request_queue_size = 1024


def _make_handler(server: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle on, the body waits for the
        # client's delayed ACK (~40 ms per small reply, 15x slower Shopee walks).
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            try:
                self._serve_one()
            except (BrokenPipeError, ConnectionResetError):  # the client left (a stalled reply)
                self.close_connection = True

        def _serve_one(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=parts.path,
                query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                headers={k: v for k, v in self.headers.items()},
                body=body,
            )
            if server.root is not None:  # one shop: through server.dispatch, which tests may wrap
                shop, outcome = server.root, server.dispatch(request)
            else:
                shop, request = server.route(request)
                outcome = shop.dispatch(request) if shop is not None else server.dispatch(request)
            stats = shop.stats if shop is not None else None
            if outcome == "reset":
                if stats is not None:
                    stats.count(request.path, 0)
                self._reset()
                return
            if outcome in Faults.HOSTILE:
                assert shop is not None
                self._hostile(shop, str(outcome), request)
                return
            if outcome == "truncate":
                assert shop is not None
                reply = shop.app.handle(request)
                payload = reply.encode()
                shop.stats.count(request.path, reply.status)
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload) // 2))
                self.end_headers()
                self.wfile.write(payload[: len(payload) // 2])
                return
            assert isinstance(outcome, Reply)
            payload = outcome.encode()
            if stats is not None and not request.path.startswith("/_sandbox/"):
                stats.count(request.path, outcome.status)
            self.send_response(outcome.status)
            extra = shop.faults.headers if shop is not None and not request.path.startswith("/_sandbox/") else {}
            headers = {"Content-Type": "application/json; charset=UTF-8", **outcome.headers, **extra}
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _hostile(self, shop: Shop, kind: str, request: Request) -> None:
            """A reply that does not play fair (see ``Faults``); stops when the client leaves."""
            faults, path = shop.faults, request.path
            if kind == "redirect":
                shop.stats.count(path, 302)
                self.send_response(302)
                self.send_header("Location", faults.redirect_to.rstrip("/") + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            reply = shop.app.handle(request)
            payload = reply.encode()
            shop.stats.count(path, reply.status)
            self.send_response(reply.status)
            for key, value in {"Content-Type": "application/json; charset=UTF-8", **reply.headers, **faults.headers}.items():
                self.send_header(key, value)
            try:
                if kind == "drip":
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    for i in range(len(payload)):
                        self.wfile.write(payload[i : i + 1])
                        self.wfile.flush()
                        time.sleep(faults.drip_interval)
                    return
                padding = faults.huge_bytes
                if kind == "huge_declared":
                    self.send_header("Content-Length", str(padding + len(payload)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                block = b" " * (256 * 1024)
                while padding > 0:
                    self.wfile.write(block[: min(padding, len(block))])
                    padding -= len(block)
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _reset(self) -> None:
            # Promise a body, send half of nothing, then drop the connection.
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"partial": ')
            self.wfile.flush()
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.close_connection = True

        do_GET = _serve
        do_POST = _serve
        do_PUT = _serve
        do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            return None  # the sandbox is quiet; stats are at /_sandbox/stats

    return Handler
