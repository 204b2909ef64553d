"""What Simpul takes from one reply: a total deadline, a size cap, and no redirects.

A socket read timeout bounds each read, not the reply: a server that drips its body at one
byte a second never trips a 30 s read timeout, and a 300 MB body is read into memory as
readily as a 3 kB one. So every reply gets

- a **total deadline** (``ReplyLimits.deadline_seconds``, headers and body together): a
  watchdog shuts the connection down when time is up, wherever the read is blocked, and
  the body loop checks the clock between reads as a second line (a proxied connection is
  not watched);
- a **size cap** (``ReplyLimits.max_bytes``, of the decoded body, so a compressed bomb is
  caught too): a ``Content-Length`` above it is refused before the body is read, and a
  body that grows past it is abandoned at the cap;
- **no redirects**: the session never follows one (see ``HttpClient``), because a
  redirect either means the account's base URL is wrong (fix it once, rather than pay an
  extra request on every call) or that someone else answers for the channel; signatures
  and credentials are bound to the URL they were made for.

Exceeding the deadline or the cap raises ``BudgetExceeded`` (never retried: the same
request would meet the same server).

Example::

    limits = ReplyLimits(deadline_seconds=60, max_bytes=32 * 2**20)
    with Deadline(limits.deadline_seconds) as deadline:
        response = session.request("GET", url, stream=True, allow_redirects=False)
        body = read_body(response, limits, deadline)
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import requests
import urllib3.connectionpool
import urllib3.exceptions
import urllib3.response
from requests.adapters import HTTPAdapter

READ_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class ReplyLimits:
    """How long one reply may take and how large it may be.

    The defaults are far above any reply a sync asks for (a WooCommerce page of 100 orders
    is ~1 MB, a Shopee detail batch of 50 ~0.3 MB; a slow shop answers in seconds) and far
    below what would hold up other accounts or exhaust a worker's memory.
    """

    deadline_seconds: float = 60.0
    max_bytes: int = 32 * 1024 * 1024

    def __post_init__(self) -> None:
        if not (self.deadline_seconds > 0 and self.max_bytes > 0):
            raise ValueError("reply limits must be positive")


class ReplyTooLarge(Exception):
    """Raised by ``read_body``; the client turns it into ``BudgetExceeded``."""

    def __init__(self, declared: int | None) -> None:
        super().__init__("reply too large")
        self.declared = declared


# -- the watchdog ---------------------------------------------------------------------------
_ACTIVE: ContextVar["Deadline | None"] = ContextVar("simpul_reply_deadline", default=None)


class Deadline:
    """Shuts down the connection of the request made inside it once ``seconds`` passed.

    The connection registers itself when it sends (``_Watched._make_request``), so the watchdog
    cuts exactly the socket this request reads from, whether it is waiting for headers or
    in the middle of a dripping body; the blocked read then fails at once.
    """

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: Any = None
        self._done = False
        self.fired = False
        self.started = 0.0
        self._token: Any = None

    def __enter__(self) -> "Deadline":
        self.started = self._clock()
        self._token = _ACTIVE.set(self)
        _WATCHDOG.add(time.monotonic() + self.seconds, self)
        return self

    def __exit__(self, *exc: object) -> None:
        _ACTIVE.reset(self._token)
        with self._lock:
            self._done, self._conn = True, None

    def expired(self) -> bool:
        return self.fired or self._clock() - self.started > self.seconds

    def attach(self, conn: Any) -> None:
        with self._lock:
            self._conn = conn
            fired = self.fired
        if fired:
            _shut(conn)

    def fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            conn = self._conn
        if conn is not None:
            _shut(conn)


class _Watchdog:
    """One daemon thread for every deadline of the process (a timer thread per request
    cost ~0.1 ms); finished deadlines are dropped when their time comes."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, due: float, deadline: Deadline) -> None:
        with self._cond:
            heapq.heappush(self._heap, (due, next(self._seq), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="simpul-reply-deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is deadline:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._cond.wait(None if not self._heap else self._heap[0][0] - time.monotonic())
                _, _, deadline = heapq.heappop(self._heap)
            deadline.fire()


_WATCHDOG = _Watchdog()


def _shut(conn: Any) -> None:
    sock = getattr(conn, "sock", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Watched:
    """Mixin for urllib3 pools: register the connection a request goes out on with the
    active deadline. (The pools keep their connection class, so whatever patches it, such
    as the test suite's cassette recorder, still applies.)"""

    def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
        deadline = _ACTIVE.get()
        if deadline is not None:
            deadline.attach(conn)
        return super()._make_request(conn, *args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPPool(_Watched, urllib3.connectionpool.HTTPConnectionPool):
    pass


class _WatchedHTTPSPool(_Watched, urllib3.connectionpool.HTTPSConnectionPool):
    pass


class WatchedAdapter(HTTPAdapter):
    """requests' adapter with connections the reply deadline can cut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


def watch(session: requests.Session) -> requests.Session:
    """Mount the watched adapter on ``session`` for http and https."""
    for prefix in ("http://", "https://"):
        session.mount(prefix, WatchedAdapter())
    return session


# -- reading the body -------------------------------------------------------------------------
def read_body(response: requests.Response, limits: ReplyLimits, deadline: Deadline) -> bytes:
    """The decoded body, read as it arrives, within the size cap and the deadline.

    Raises ``ReplyTooLarge``, or the requests exception that ``response.content`` would
    raise for a broken body (so the policy table classifies it as before). The caller
    checks ``deadline.fired``/``expired()`` whatever happened.
    """
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise ReplyTooLarge(int(declared))
    raw = response.raw
    if isinstance(raw, urllib3.response.BaseHTTPResponse):
        # One read of the socket at a time (read() would block until a whole chunk arrived).
        def read() -> bytes:
            return raw.read1(READ_CHUNK, decode_content=True)
    else:  # a stand-in (e.g. a test's recorded cassette): let requests iterate it
        chunks_in = response.iter_content(READ_CHUNK)

        def read() -> bytes:
            return next(chunks_in, b"")

    chunks: list[bytes] = []
    size = 0
    while True:
        if deadline.expired():
            raise requests.exceptions.ReadTimeout("reply deadline passed")
        try:
            chunk = read()
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise requests.exceptions.ReadTimeout(str(exc)) from None
        except urllib3.exceptions.ProtocolError as exc:
            raise requests.exceptions.ChunkedEncodingError(str(exc)) from None
        except urllib3.exceptions.DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(str(exc)) from None
        except urllib3.exceptions.SSLError as exc:
            raise requests.exceptions.SSLError(str(exc)) from None
        except OSError as exc:  # the watchdog shut the socket under a read
            raise requests.exceptions.ConnectionError(str(exc)) from None
        if not chunk:
            break
        size += len(chunk)
        if size > limits.max_bytes:
            raise ReplyTooLarge(None)
        chunks.append(chunk)
    body = b"".join(chunks)
    # The body is consumed: urllib3 has released the connection for reuse. Let requests
    # know, so response.content works and closing does not drop a reusable connection.
    response._content = body  # noqa: SLF001 - requests' own cache of the body
    response._content_consumed = True  # noqa: SLF001
    return body
