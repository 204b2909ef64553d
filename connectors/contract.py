"""The connector contract: what every channel client offers the engine.

A connector says *what* (endpoints, signing, paging, quirks); the engine says *how*
(windows, checkpoints, upserts, audit). A connector never imports the database, Prefect
or the vault. It yields raw pages, each with the position to resume from after it.

Example (the whole surface the engine uses)::

    source = ShopeeConnector(base_url, credentials, on_credentials=save)
    source.check()                                   # cheap authenticated call
    for page in source.order_pages(Window(since, until), position=None):
        page.records     # raw order payloads, as the channel's detail endpoint returns them
        page.position    # JSON-able; pass it back to resume *after* this page
    for page in source.orders_by_id(["2404098R48U37H"]):
        page.missing     # ids the channel does not know

Rate limits: a connector *declares* its channel's request budget per account
(``rate_limit``, e.g. ``RateLimit(per_second=10, burst=1)``) and takes a ``bucket=``
argument; the engine builds one ``TokenBucket`` per account from the declaration, keeps it
for its lifetime and hands it to every connector it builds for that account, so
consecutive steps and parallel runs of one account share one budget while other
accounts keep their own.

Limits: a connector *declares* what its channel documents about itself (``limits``, a
``ChannelLimits``): when the channel began (times before that are implausible), the most
records a list page holds, the most requests a page costs, and a ceiling on the orders one
window can plausibly hold. The engine derives each window's budget (pages, requests, time)
from them and from the page count a channel reports for a walk (``Page.reported_pages``); a connector
checks what a reply says against the same limits and raises ``ImplausibleReply`` when it
contradicts them. Per reply, the HTTP kit enforces a deadline and a size cap
(``connectors._http.reply``); connectors take a ``reply=`` argument to change them.

Resumption rule: ``order_pages(window, page.position)`` must continue with the records
after ``page`` without skipping any record whose update time lies inside the window and
that did not change meanwhile. The engine commits ``page.position`` in the same
transaction as the page's rows, so a killed run resumes exactly there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, Protocol, runtime_checkable

Position = dict[str, Any]
"""A connector's opaque, JSON-serialisable place inside one window."""

EXPIRY_FIELDS = ("access_expires_at", "refresh_expires_at", "authorization_expires_at")
"""Optional credential fields (epoch seconds) a connector keeps current; not secrets."""

CredentialSink = Callable[[Mapping[str, Any]], None]
"""Called with the full new credential set when a connector rotated tokens.

It must persist durably *before* returning: a Shopee refresh token is single-use, so
losing the new one locks the shop out.
"""


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open interval ``[since, until)`` of source update times, aware UTC."""

    since: datetime
    until: datetime

    def __post_init__(self) -> None:
        if self.since.tzinfo is None or self.until.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware")
        if self.until < self.since:
            raise ValueError("window ends before it starts")

    def split(self, size: timedelta | None) -> list["Window"]:
        """Cut into consecutive windows no longer than ``size`` (None: no limit)."""
        if size is None or self.until - self.since <= size:
            return [self]
        out, start = [], self.since
        while start < self.until:
            end = min(start + size, self.until)
            out.append(Window(start, end))
            start = end
        return out


@dataclass(frozen=True, slots=True)
class RateLimit:
    """An account's request budget: a sustained rate and how many requests may burst.

    A bucket allows at most ``burst + per_second * T`` requests in any T seconds, so a
    server that counts requests per fixed second is never exceeded with ``burst=1``.
    """

    per_second: float
    burst: float = 1.0

    def __post_init__(self) -> None:
        if not self.per_second > 0 or not self.burst >= 1:
            raise ValueError("a rate limit needs per_second > 0 and burst >= 1")

    @classmethod
    def parse(cls, text: str) -> "RateLimit | None":
        """``"10"`` (10/s, burst 1), ``"10:5"`` (burst 5) or ``"off"`` (None: unlimited)."""
        text = text.strip().lower()
        if text in ("off", "none", "unlimited"):
            return None
        rate, _, burst = text.partition(":")
        try:
            return cls(float(rate), float(burst) if burst else 1.0)
        except ValueError:
            raise ValueError(f"rate limit {text!r}: expected RATE, RATE:BURST or off") from None


@dataclass(frozen=True, slots=True)
class ChannelLimits:
    """What a channel documents (or, where it is silent, what we assume) about itself.

    - ``since``: when the channel (its order API) began; an order time before it is
      implausible and the record is quarantined.
    - ``page_size``: the most records one list page holds.
    - ``requests_per_page``: the most requests a list page costs, retries aside (a
      listing plus its detail and tracking lookups).
    - ``orders_per_window``: a ceiling on the orders one window can plausibly hold. It
      sets the window's expected size when the channel reports no page count, and a
      reported total above it is implausible.
    """

    since: datetime
    page_size: int = 100
    requests_per_page: int = 1
    orders_per_window: int = 1_000_000

    def __post_init__(self) -> None:
        if self.since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        if min(self.page_size, self.requests_per_page, self.orders_per_window) < 1:
            raise ValueError("channel limits must be positive")


DEFAULT_LIMITS = ChannelLimits(since=datetime(2000, 1, 1, tzinfo=timezone.utc))
"""For a connector that declares none (tests' fakes): permissive, never implausible."""


STREAM_LIMITS = {"returns": "return_limits", "settlements": "settlement_limits"}


def limits_of(source: Any, kind: str = "orders") -> ChannelLimits:
    """A connector's (class's or instance's) declared limits for stream ``kind``, or the
    permissive default: ``return_limits`` / ``settlement_limits`` for a returns or
    settlements stream where a connector declares them (such a page may cost other requests
    than an orders page), else ``limits``."""
    found = getattr(source, STREAM_LIMITS[kind], None) if kind in STREAM_LIMITS else None
    found = found if isinstance(found, ChannelLimits) else getattr(source, "limits", None)
    return found if isinstance(found, ChannelLimits) else DEFAULT_LIMITS


@dataclass(frozen=True, slots=True)
class Page:
    records: Sequence[Mapping[str, Any]]
    position: Position | None  # None: this was the window's last page
    missing: Sequence[str] = field(default_factory=tuple)  # only for orders_by_id
    requests: int = 0  # HTTP requests this page cost (for progress and benchmarks)
    # Orders the channel answered for but whose reply could not be read, with the reason:
    # they exist (not missing), so the engine quarantines them by id.
    unreadable: Sequence[tuple[str, str]] = field(default_factory=tuple)
    # How many pages the channel says this walk takes from this page's request on (e.g.
    # WooCommerce's X-WP-TotalPages), already checked for plausibility; None: not said.
    reported_pages: int | None = None
    # Source records the page walked past without yielding them (a side stream that lists
    # orders to find the few with refunds), each as its id and version (``id@modified``):
    # the engine's idle guard counts them as progress, so a shop whose orders rarely hold a
    # refund is not taken for a channel paging without data; the same ones again are not.
    scanned: Sequence[str] = field(default_factory=tuple)


@runtime_checkable
class OrderSource(Protocol):
    """What the engine needs from a marketplace or storefront connector."""

    channel: ClassVar[str]
    max_window: ClassVar[timedelta | None]  # the API's longest allowed time range
    lookback: ClassVar[timedelta]  # overlap re-read at the start of each incremental run
    rate_limit: ClassVar[RateLimit | None]  # the channel's budget per account; None: unlimited
    limits: ClassVar[ChannelLimits]  # what the channel documents about itself (see ChannelLimits)

    def check(self) -> None:
        """Make one cheap authenticated call; raise CredentialError if refused."""

    def order_pages(self, window: Window, position: Position | None = None) -> Iterator[Page]:
        """Orders whose source update time lies in ``window``, page by page."""

    def orders_by_id(self, external_ids: Sequence[str]) -> Iterator[Page]:
        """The current payloads of the named orders (order numbers as the channel shows them)."""


@runtime_checkable
class ReturnSource(Protocol):
    """What the engine needs from a connector with a ``returns`` stream: the channel's
    returns, refunds and cancellations, by their source update time, page by page.

    ``return_pages`` follows ``order_pages``'s rules (the same window, the same resumption
    rule, the connector's own ``max_window``, ``lookback`` and ``rate_limit``; its
    ``limits``, unless it declares ``return_limits`` for this stream: ``limits_of``);
    each record is one return as the mapping of the stream reads it (``map_return``). A
    channel that lists returns without their detail fetches the detail inside the page,
    as the orders stream does.
    """

    channel: ClassVar[str]

    def return_pages(self, window: Window, position: Position | None = None) -> Iterator[Page]: ...


@runtime_checkable
class SettlementSource(Protocol):
    """What the engine needs from a connector with a ``settlements`` stream: what the
    marketplace paid the seller for each order (its escrow or order income, with the fees
    it kept), by the time of the payout, page by page.

    ``settlement_pages`` follows ``order_pages``'s rules (window, resumption, the
    connector's ``max_window``, ``lookback`` and ``rate_limit``; ``settlement_limits`` where
    declared, else ``limits``); each record is one order's settlement as the stream's
    mapping reads it (``map_settlement``), the detail fetched inside the page.
    """

    channel: ClassVar[str]

    def settlement_pages(self, window: Window, position: Position | None = None) -> Iterator[Page]: ...


@dataclass(frozen=True, slots=True)
class ParcelKey:
    """One parcel as a tracking stream is asked for it: the courier's code and airway bill.

    ``courier`` is Simpul's courier code (``jne``, ``jnt``, ``sicepat``, ...: the table in
    ``mappings.couriers``); the connector translates it to its own code where it differs.
    ``text`` is how the key appears in ``Page.missing`` and in the engine's work list.
    """

    courier: str
    tracking_number: str

    @property
    def text(self) -> str:
        return f"{self.courier}:{self.tracking_number}"

    @classmethod
    def parse(cls, text: str) -> "ParcelKey":
        courier, sep, number = text.partition(":")
        if not sep or not courier or not number:
            raise ValueError("a parcel key is COURIER:AIRWAY_BILL")
        return cls(courier, number)


@runtime_checkable
class TrackingSource(Protocol):
    """What the engine needs from a courier or aggregator connector: parcels read by key.

    ``parcels(keys)`` yields pages whose ``records`` are the channel's tracking replies, one
    per parcel it knows, and whose ``missing`` holds the ``ParcelKey.text`` of each parcel
    it does not know (an unknown airway bill is an answer, not an error). The engine chooses
    the keys and commits each page with its checkpoint.
    """

    channel: ClassVar[str]
    rate_limit: ClassVar[RateLimit | None]
    couriers: ClassVar[frozenset[str]]  # the Simpul courier codes it can track (routing reads it)

    def check(self) -> None: ...

    def parcels(self, keys: Sequence[ParcelKey]) -> Iterator[Page]: ...


@dataclass(frozen=True, slots=True)
class CredentialExpiry:
    """When an account's access stops working unless refreshed (None: unknown or never)."""

    access: datetime | None = None  # the access token
    refresh: datetime | None = None  # the refresh token (after that: the seller re-authorises)
    authorization: datetime | None = None  # the seller's grant, as the channel announces it


@runtime_checkable
class RefreshableSource(Protocol):
    """A connector whose access tokens expire: the refresh-tokens flow keeps them fresh.

    ``refresh`` trades the refresh token for a new pair when the access token expires
    within ``within`` (or always, with ``force``), hands the new set to the credential sink
    before using it, and returns whether it refreshed. It raises ``CredentialError`` when
    the channel refuses; the caller marks the account.
    """

    def credential_expiry(self) -> CredentialExpiry: ...

    def refresh(self, *, within: timedelta = timedelta(0), force: bool = False) -> bool: ...
