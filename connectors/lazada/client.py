"""Lazada Open Platform connector: orders by update time, and by order id; reverse orders
(returns, refunds, cancellations) by update time.

Sources (shared/reference/marketplaces.md §4; keys as listed there):

- [L1]/[L2] signing and common parameters: ``app_key``, ``timestamp`` (epoch
  milliseconds, within 7,200 s of UTC), ``sign_method=sha256``, ``access_token`` for seller
  data, ``sign`` = UPPERCASE hex HMAC-SHA256 of ``path + sorted(key + value)`` (``api``).
- [L3]/[L10]: the ``{code, type, message, request_id, data}`` envelope, ``code`` ``"0"``
  on success; error types ISV (request/business data), ISP (backend: retry later),
  SYSTEM (platform) [L8].
- [L4] tokens: ``/auth/token/refresh`` (param ``refresh_token``) on the central
  ``https://auth.lazada.com/rest``, signed like any call; ``expires_in`` 30 days and
  ``refresh_expires_in`` 180 days for live apps; refresh about 30 minutes before the
  access token expires; keep the newest refresh token every time.
- [L5]/[L9] ``/orders/get``: ``update_after``/``update_before`` (ISO 8601),
  ``sort_by=updated_at``, ``sort_direction=ASC``, ``offset``/``limit`` (limit at most 100,
  offset at most 4,500 by the reference table, 5,000 by the guide; we keep to 4,500),
  ``data.count``/``data.countTotal``/``data.orders``. The guide's advice at the offset cap:
  restart the window at the last order's time with ``offset=0``.
- [L5] ``/orders/items/get`` (``order_ids``, a JSON list) gives each order's items:
  Lazada has no order-level status, every unit is its own item. ``/order/get`` reads one
  order by id. The Indonesia host ``https://api.lazada.co.id/rest`` is listed in the
  fulfilment API page (``lazykern/ecommerce-api-docs`` new-fulfillment-api-details.md).

What the connector yields: each order object exactly as ``/orders/get`` (or ``/order/get``)
returns it, with that order's item list from ``/orders/items/get`` under ``order_items``:
the record ``mappings.lazada`` reads and ``simpul map lazada FILE`` takes.

The walk (``connectors._http.walk.TimeCursorWalk``): after every page it restarts at the
newest update second on the page with ``offset=0``, dropping the orders of that second it
already yielded; it follows the offset only while a whole page shares one second. That is
the guide's "restart at the last order's time" done after every page instead of only at
the cap, so the offset stays 0 unless more than a page of orders share one second, and it
also keeps an order that changes mid-walk from shifting another past the walk. More than
``OFFSET_CAP`` orders in one second cannot be read by offset at all: the walk stops with
a clear error rather than skip them.

Returns (``return_pages``, the ``returns`` stream; sources and choices in
``mappings.lazada_returns`` too). Source keys, all found with ``search``:
[L14] the Return and Refund API reference (open.lazada.com ``?path=/reverse/
getreverseordersforseller``, ``?path=/order/reverse/return/detail/list`` and the other
reverse-order pages; transcribed, documented secondary); [L15] the reverse-order push page
(``lazykern/ecommerce-api-docs`` ``.../webhook-apis/webhook-api-reverse-order.md``: message
type 10 and its ``reverse_status`` keys); [L16] Lazada's help pages on return reasons
(Lazada MY support centre "Customer Return Policy for the Seller", a Lazada return-info
page, the Lazada PH seller community's "Non-DRTM Return Overview", lazada.com.ph/returns);
[L17] the order-cancellation guide (``.../api-best-practice/order-operation/
order-cancellation.md``: the seller's reasons, "reason_id may be different for each
country"); [L18] the reverse-order overview and processing guides
(``.../api-best-practice/reverse-order/``: RTM and RTW, RETURN and ONLY_REFUND, no reverse
order for a failed delivery, the seller acts on REQUEST_INITIATE). Inferred from
third-party code: a Daraz integration's notes (list items without lines, the page cap past
100, times in seconds, amounts in minor units) and a Vietnamese client (times in seconds).

- [L14] ``GetReverseOrdersForSeller`` (``/reverse/getreverseordersforseller``, GET/POST):
  ``page_size`` ("default 10") and ``page_no`` required; filters ``reverse_order_id``,
  ``trade_order_id``, ``request_type_list``, ``reverse_status_list``, ``ofc_status_list``,
  ``return_to_type``, ``dispute_in_progress`` and three time ranges in **milliseconds**
  (``TradeOrderLineCreatedTimeRange*``, ``ReverseOrderLineTimeRange*``,
  ``ReverseOrderLineModifiedTimeRangeStart``/``End``); the reply is ``{code, request_id,
  result: {success, page_no, page_size, total, items: [reverse order with
  reverse_order_lines]}}`` (``result``, not ``data``). ``GetReverseOrderDetail``
  (``/order/reverse/return/detail/list``, GET, ``reverse_order_id``) answers ``data`` with
  the lines under ``reverseOrderLineDTOList``; error ``106`` "ROC internal error" for a
  reverse order the store does not have. Found with ``search``: the API reference pages
  (open.lazada.com ``?path=/reverse/getreverseordersforseller`` and
  ``?path=/order/reverse/return/detail/list``, transcribed), the reverse-order guides in
  ``lazykern/ecommerce-api-docs`` (``guides/api-best-practice/reverse-order/``) and the
  reverse-order push page (``webhook-api-reverse-order.md``).
- The walk: one window is asked by the lines' **modified** time
  (``ReverseOrderLineModifiedTimeRangeStart`` = the window's start in ms minus 1,
  ``...End`` = its end in ms; the bounds' inclusiveness is not documented, so both readings
  are covered and a reverse order whose update time, the newest line's
  ``return_order_line_gmt_modified``, lies outside ``[since, until)`` is dropped: it belongs
  to another window). No sort order is documented, so the walk cannot restart at a time as
  the orders walk does: it pages by ``page_no`` (from 1) through one time range, and the
  position is ``{from_ms, to_ms, page_no, total, window_to, last}`` (``last``: a digest of
  the page's reverse order ids, to refuse a repeated page). A reverse order that changes
  meanwhile leaves the range (its new time is after the window), which would shift the
  pages: when ``total`` differs from the one the walk started the range with, the range is
  read again from page 1 (re-reads are harmless: the store counts them unchanged).
  Residual risk: one reverse order leaving while another enters keeps ``total`` and may
  shift one past the walk (the next run's lookback reads it again only if it changed).
- A range whose ``total`` is more than ``REVERSE_PAGE_CAP`` pages is halved before it is
  read (third-party clients saw pages past the 100th come back empty); a range of one
  millisecond that still holds more stops the walk with a clear error.
- A list item without ``reverse_order_lines`` (a third-party client saw summary-only items
  on Daraz, Lazada's sister platform) gets the lines of ``GetReverseOrderDetail``, one call
  per such item; the documented list carries the lines, so this costs nothing there.
- An empty page while ``total`` claims more asks the same page again, and the loop guard
  stops the walk (``PaginationLoop``), as an empty orders page does.
- Assumed: ``page_size`` up to ``REVERSE_PAGE_SIZE`` (50, what third-party clients send and
  one validates); ``total`` counts the reverse orders of the filter; the list's order is
  stable while nothing changes; the ms filters are what the documentation says
  (milliseconds), although one third-party client sends seconds. The returns walk shares
  the connector's ``max_window`` (none), ``lookback`` (10 minutes), rate limit and limits.

Tracking: the pack call (``/order/fulfill/pack``, new fulfilment API) returns each item's
``package_id`` and ``tracking_number`` and moves the item to ``packed``, so the number
arrives with an update of the order: no late-resi follow-up (``spec.py``).

Assumptions where the sources are silent (the sandbox mirrors them):

- ``update_after``/``update_before`` are read as strict bounds; the client asks from the
  second *before* the mark and up to the window's end and drops orders timed exactly at
  either bound, so inclusive bounds would lose nothing either (tested both ways). An order
  timed before that is a stale page: the walk's restart then repeats a position and stops
  (``PaginationLoop``) instead of skipping. The next offset is the offset plus the orders
  received; an empty page that still claims more repeats its offset and stops the same way.
- Errors come with HTTP 200 and the code in the body (``type`` ISV/ISP/SYSTEM). The codes
  ``IllegalAccessToken`` ("The specified access token is invalid or expired") and
  ``IncompleteSignature`` are seen in third-party Lazada clients with captured bodies; the
  others in ``POLICY`` are the common LazOP names the reference lists as unconfirmed.
- ``/orders/items/get`` takes at most 50 ids (third-party SDKs), returns ``data`` as a list
  of ``{order_id, order_number, order_items}`` and leaves out ids the shop does not know.
- ``/auth/token/refresh`` returns the token fields at the top level next to ``code``. The
  refresh goes to ``AUTH_URL`` when the base URL is a Lazada API host
  (``https://api.lazada.*``), otherwise to the base URL itself (a sandbox or a proxy).
- Rate limit: none published ([L5] warns that looping GetOrders "may get throttled"); we
  assume 5 requests/s per seller, burst 1, and retry ``ApiCallLimit`` with backoff.
  Override with ``SIMPUL_RATE_LIMITS=lazada=RATE[:BURST]``.
- Limits: Lazada began in 2012 (public company history, not our sources); a list page
  holds at most 100 orders and costs at most 3 requests (the list, 2 item batches of 50);
  no window limit is documented, so a window's ceiling is assumed at 3,000,000 orders.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar
from urllib.parse import urlsplit

from connectors._http import (
    DEFAULT_POLICY,
    Action,
    ApiError,
    ConnectorError,
    CredentialError,
    HttpClient,
    ImplausibleReply,
    LoopGuard,
    Outgoing,
    PaginationLoop,
    ReplyLimits,
    Resolution,
    RetryConfig,
    TokenBucket,
    TokenExpired,
    Unlimited,
)
from connectors._http.batches import Found, isolate_unreadable, look_up, lookup_pages
from connectors._http.credentials import RotatingCredentials
from connectors._http.secret import reveal
from connectors._http.urls import require_https
from connectors._http.walk import Listing, Mark, PositionFormat, TimeCursorWalk
from connectors.contract import ChannelLimits, CredentialExpiry, CredentialSink, Page, Position, RateLimit, Window
from connectors.lazada import api
from simpul.jsoncodec import dumps

REFRESH_MARGIN = timedelta(minutes=30)  # [L4]: "refresh about 30 minutes before expiry"

POLICY = {
    **DEFAULT_POLICY,
    "IllegalAccessToken": Resolution(Action.REFRESH, "access token refused"),
    "IllegalRefreshToken": Resolution(Action.CREDENTIAL, "refresh token refused: the seller must authorise again"),
    "IncompleteSignature": Resolution(Action.CREDENTIAL, "signature refused (check app_key and app_secret)"),
    "InvalidAppKey": Resolution(Action.CREDENTIAL, "app_key refused"),
    "InsufficientPermission": Resolution(Action.CREDENTIAL, "the app lacks permission for this API"),
    "InvalidTimestamp": Resolution(Action.FAIL, "timestamp refused (is this machine's clock more than 2 hours off?)"),
    "ApiCallLimit": Resolution(Action.RETRY, "rate limited"),
    "AppCallLimit": Resolution(Action.RETRY, "rate limited"),
    "ServiceUnavailable": Resolution(Action.RETRY, "Lazada service unavailable"),
    "ISP": Resolution(Action.RETRY, "Lazada backend error (ISP)"),  # [L8]: "try again after some time"
    "MissingParameter": Resolution(Action.FAIL, "missing parameter"),
    "InvalidParameter": Resolution(Action.FAIL, "invalid parameter"),
}


def envelope(status: int, body: Any) -> tuple[int | str, str] | None:
    """Lazada's ``code``: anything but ``"0"`` is an error whatever the HTTP status; an
    unknown ISP (backend) code is retried, an unknown ISV/SYSTEM code fails the call."""
    if not isinstance(body, Mapping) or "code" not in body:
        return None
    code = str(body.get("code"))
    if code == "0":
        return None
    message = body.get("message")
    detail = f"{code}: {message}"[:200] if isinstance(message, str) and message else code
    if code in POLICY:
        return code, detail
    if body.get("type") == "ISP":
        return "ISP", detail
    return (status if status >= 400 else code), detail


def epoch_of(value: Any) -> int | None:
    """Lazada's times as epoch seconds: ``2018-02-09T22:44:30+08:00`` ([L9]) or
    ``2021-07-29 11:02:19 +0700`` ([L12]); None without an offset or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    for parse in (datetime.fromisoformat, lambda v: datetime.strptime(v, "%Y-%m-%d %H:%M:%S %z")):
        try:
            moment = parse(value)
        except ValueError:
            continue
        return int(moment.timestamp()) if moment.tzinfo is not None else None
    return None


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


def _stamp(record: Mapping[str, Any]) -> int | None:
    return epoch_of(record.get("updated_at"))


def _order_id(record: Mapping[str, Any]) -> str:
    return str(record.get("order_id"))


WALK = TimeCursorWalk(
    "lazada",
    "/orders/get",
    key=_order_id,
    stamp=_stamp,
    format=PositionFormat(second="update_second", token="offset"),
    first=0,
    follow_unplaced=True,  # a stale page (times before the mark) restarts at a visited mark: the loop guard stops it
    carry_seen=True,
)


class LazadaAuth:
    """Adds the common parameters and the signature to each attempt (fresh timestamp)."""

    def __init__(self, app_key: str, app_secret: str, credentials: RotatingCredentials) -> None:
        self.app_key, self._app_secret, self._credentials = app_key, app_secret, credentials

    def apply(self, request: Outgoing) -> None:
        request.params["app_key"] = self.app_key
        request.params["timestamp"] = int(time.time() * 1000)
        request.params["sign_method"] = api.SIGN_METHOD
        if request.path != api.REFRESH:
            request.params["access_token"] = self._credentials.secret("access_token")
        request.params.pop("sign", None)
        request.params["sign"] = api.sign(self._app_secret, api.base_string(request.path, request.params))

    def secrets(self) -> list[str]:
        return [self._app_secret, self._credentials.secret("access_token"), self._credentials.secret("refresh_token")]


class LazadaConnector:
    channel: ClassVar[str] = "lazada"
    max_window: ClassVar[timedelta | None] = None  # no window limit documented
    lookback: ClassVar[timedelta] = timedelta(minutes=10)
    rate_limit: ClassVar[RateLimit | None] = RateLimit(per_second=5)  # assumed, see the module docstring
    limits: ClassVar[ChannelLimits] = ChannelLimits(
        since=datetime(2012, 1, 1, tzinfo=timezone.utc),  # assumed, see the module docstring
        page_size=api.PAGE_SIZE,
        requests_per_page=1 + math.ceil(api.PAGE_SIZE / api.ITEMS_BATCH),
        orders_per_window=3_000_000,
    )

    def __init__(
        self,
        base_url: str,
        credentials: Mapping[str, Any],
        *,
        on_credentials: CredentialSink | None = None,
        bucket: TokenBucket | Unlimited | None = None,
        retry: RetryConfig | None = None,
        reply: ReplyLimits | None = None,
    ) -> None:
        try:
            app_key = str(credentials["app_key"]).strip()
            app_secret = reveal(credentials["app_secret"])
            reveal(credentials["access_token"]), reveal(credentials["refresh_token"])
        except (KeyError, TypeError, ValueError):
            raise CredentialError("lazada: credentials need app_key, app_secret, access_token and refresh_token") from None
        if not app_key or not app_secret:
            raise CredentialError("lazada: credentials need app_key, app_secret, access_token and refresh_token")
        self._credentials = RotatingCredentials(credentials, on_credentials)
        self._auth = LazadaAuth(app_key, app_secret, self._credentials)
        base_url = require_https(base_url, "lazada", "signatures and access tokens travel in the query")
        retry = retry or RetryConfig()
        self._http = HttpClient(base_url, self._auth, policy=POLICY, envelope=envelope, bucket=bucket, retry=retry, reply=reply)
        host = urlsplit(base_url).hostname or ""
        auth_url = api.AUTH_URL if host.startswith("api.lazada.") else base_url
        self._auth_http = HttpClient(auth_url, self._auth, policy=POLICY, envelope=envelope, bucket=bucket, retry=retry, reply=reply)

    # -- contract ---------------------------------------------------------------------------
    def check(self) -> None:
        """One signed seller call (``/seller/get``): proves the key, secret and access token."""
        self._call("GET", api.SELLER)

    def credential_expiry(self) -> CredentialExpiry:
        return self._credentials.expiry()

    def refresh(self, *, within: timedelta = timedelta(0), force: bool = False) -> bool:
        """Refresh when the access token expires within ``within`` (or its expiry is unknown)."""
        if not (force or self._credentials.expires_within(within, unknown=True)):
            return False
        self._credentials.rotate(self._new_tokens, stale=self._credentials.secret("access_token"))
        return True

    def order_pages(self, window: Window, position: Position | None = None) -> Iterator[Page]:
        return WALK.pages(window, position, self._list_page, counter=self._http.counter)

    def orders_by_id(self, external_ids: Sequence[str]) -> Iterator[Page]:
        wanted = list(dict.fromkeys(i for i in external_ids if isinstance(i, str) and i.strip()))
        malformed = [i for i in wanted if not i.isdigit()]  # Lazada order ids are numbers
        return lookup_pages([i for i in wanted if i.isdigit()], api.ITEMS_BATCH, self._by_id, counter=self._http.counter, missing=malformed)

    def return_pages(self, window: Window, position: Position | None = None) -> Iterator[Page]:
        """Reverse orders whose update time lies in ``window``, page by page (module
        docstring, "Returns"): each record one ``result.items`` element with its lines."""
        since, until = math.ceil(window.since.timestamp() * 1000), math.ceil(window.until.timestamp() * 1000)
        at = ReturnsPosition.load(position) if position else ReturnsPosition(since, until, 1, None)
        guard = LoopGuard(f"lazada {api.REVERSE_ORDERS}")
        while True:
            guard.advance(at.key())
            count = self._http.counter()
            records, at, following = self._returns_page(at)
            yield Page(records=records, position=None if following is None else following.dump(), requests=count())
            if following is None:
                return
            at = following

    # -- calls ------------------------------------------------------------------------------
    def _list_page(self, mark: Mark, until: int) -> Listing:
        """One ``/orders/get`` page from ``mark`` with its orders' items."""
        if mark.second >= until:
            return Listing([])
        if mark.token > api.OFFSET_CAP:
            raise ConnectorError(
                f"lazada: more than {api.OFFSET_CAP:,} orders share the update second {iso(mark.second)}; "
                "/orders/get cannot page past its offset cap, so the walk stops instead of skipping them"
            )
        params = {
            "update_after": iso(mark.second - 1),  # strict "after" (assumed): orders from mark.second on
            "update_before": iso(until),
            "sort_by": "updated_at",
            "sort_direction": "ASC",
            "offset": mark.token,
            "limit": api.PAGE_SIZE,
        }
        data = self._call("GET", api.ORDERS, params=params)
        orders = data.get("orders") if isinstance(data, Mapping) else None
        if orders is None and isinstance(data, Mapping) and _count(data.get("countTotal")) == 0:
            orders = []
        if not isinstance(orders, list) or len(orders) > api.PAGE_SIZE:
            raise ImplausibleReply(f"GET {api.ORDERS}: asked for {api.PAGE_SIZE} orders a page, the reply lists more (or no list)")
        total = _count(data.get("countTotal"))
        received = mark.token + len(orders)
        more = received < total if total is not None else len(orders) == api.PAGE_SIZE
        # Orders timed exactly at either bound are the other reading of "after"/"before":
        # the one before the mark was yielded already, the one at the end belongs to the next window.
        listed = [o for o in orders if isinstance(o, Mapping) and _stamp(o) not in (mark.second - 1, until)]
        found = self._with_items(listed)
        return Listing(found.records, received if more else None, unreadable=found.unreadable)

    def _returns_page(self, at: "ReturnsPosition") -> tuple[list[dict[str, Any]], "ReturnsPosition", "ReturnsPosition | None"]:
        """One list page at ``at`` (after halving a range too large to page through, or
        restarting one whose total moved); returns its records in the window, the position
        it was read at and the one after it (None: the window is done)."""
        while True:
            if at.from_ms >= at.to_ms:
                return [], at, None
            result = self._reverse_list(at)
            total = _count(result.get("total"))
            items = result.get("items")
            if items is None and total == 0:
                items = []
            if not isinstance(items, list) or total is None or len(items) > api.REVERSE_PAGE_SIZE:
                raise ImplausibleReply(f"GET {api.REVERSE_ORDERS}: the reply's result has no items list and total, or more than a page")
            # The page size the reply says it used: a server may serve fewer a page than asked
            # (assumed possible), and page_no counts in its pages, not ours.
            size = min(_count(result.get("page_size")) or api.REVERSE_PAGE_SIZE, api.REVERSE_PAGE_SIZE)
            if at.page_no == 1 and total > api.REVERSE_PAGE_CAP * size:
                if at.to_ms - at.from_ms <= 1:
                    raise ConnectorError(
                        f"lazada: more than {api.REVERSE_PAGE_CAP * size:,} reverse orders changed in one millisecond "
                        f"({iso(at.from_ms / 1000)}); the list cannot page past its cap, so the walk stops instead of skipping them"
                    )
                at = ReturnsPosition(at.from_ms, at.from_ms + (at.to_ms - at.from_ms) // 2, 1, None, at.window_to)
                continue
            if at.total is not None and total != at.total and at.page_no > 1:
                at = ReturnsPosition(at.from_ms, at.to_ms, 1, total, at.window_to)  # pages shifted: read the range again
                continue
            break
        listed = [i for i in items if isinstance(i, Mapping)]
        ids = hashlib.sha256("\n".join(str(i.get("reverse_order_id")) for i in listed).encode()).hexdigest()[:16] if listed else ""
        if ids and ids == at.last:
            raise PaginationLoop(f"lazada {api.REVERSE_ORDERS}: page {at.page_no} repeats the page before it; stopping instead of skipping a page")
        # Each reverse order once: in the part of the window its update time lies in.
        records = [r for r in self._with_lines(listed) if (t := _reverse_stamp(r)) is None or at.from_ms <= t < at.to_ms]
        if at.page_no * size < total:
            nxt = at.page_no if not items else at.page_no + 1  # an empty page claiming more: asked again, the guard stops it
            following = ReturnsPosition(at.from_ms, at.to_ms, nxt, total, at.window_to, ids)
        elif at.to_ms < at.window_to:
            following = ReturnsPosition(at.to_ms, at.window_to, 1, None, at.window_to)
        else:
            following = None
        return records, at, following

    def _reverse_list(self, at: "ReturnsPosition") -> Mapping[str, Any]:
        params = {
            "page_size": api.REVERSE_PAGE_SIZE,
            "page_no": at.page_no,
            "ReverseOrderLineModifiedTimeRangeStart": at.from_ms - 1,  # inclusive or not, nothing at from_ms is lost
            "ReverseOrderLineModifiedTimeRangeEnd": at.to_ms,  # what lies at to_ms is dropped (the next range's)
        }
        result = self._call("GET", api.REVERSE_ORDERS, params=params, field="result")
        if not isinstance(result, Mapping):
            raise ConnectorError(f"GET {api.REVERSE_ORDERS}: the reply has no result object")
        if str(result.get("success", "true")).lower() == "false":
            raise ConnectorError(f"GET {api.REVERSE_ORDERS}: the result says success false")
        return result

    def _with_lines(self, items: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The items, each with its lines; an item listed without lines gets the detail's."""
        out = []
        for item in items:
            lines = item.get("reverse_order_lines")
            if isinstance(lines, list) and lines:
                out.append(dict(item))
                continue
            data = self._call("GET", api.REVERSE_DETAIL, params={"reverse_order_id": item.get("reverse_order_id")})
            detail = data.get("reverseOrderLineDTOList") if isinstance(data, Mapping) else None
            if isinstance(data, Mapping) and str(data.get("reverse_order_id")) not in (str(item.get("reverse_order_id")), "None"):
                raise ImplausibleReply(f"GET {api.REVERSE_DETAIL}: the reply is for another reverse order")
            out.append({**item, "reverse_order_lines": detail if isinstance(detail, list) else []})
        return out

    def _with_items(self, orders: list[Mapping[str, Any]]) -> Found:
        """The orders with their ``order_items`` merged in; an order whose items reply cannot
        be read is reported unreadable, one Lazada returns no items for gets an empty list
        (the mapping refuses it, by name)."""
        ids = [_order_id(o) for o in orders]
        found = look_up(ids, self._items_batch, key=lambda g: str(g.get("order_id")), size=api.ITEMS_BATCH)
        items = {str(g.get("order_id")): g.get("order_items") for g in found.records}
        lost = {i for i, _ in found.unreadable}
        records = [{**o, "order_items": items.get(i) if items.get(i) is not None else []} for o, i in zip(orders, ids) if i not in lost]
        return Found(records, [], found.unreadable)

    def _items_batch(self, batch: list[str], attempts: int | None) -> list[dict[str, Any]]:
        """One ``/orders/items/get`` call; only the orders asked for (anything else is implausible)."""
        order_ids = dumps([int(i) if i.isdigit() else i for i in batch])
        data = self._call("GET", api.ORDER_ITEMS, params={"order_ids": order_ids}, attempts=attempts)
        if data is None:
            return []
        if not isinstance(data, list):
            raise ImplausibleReply(f"GET {api.ORDER_ITEMS}: the reply's data is not a list")
        groups = [g for g in data if isinstance(g, dict)]
        asked = set(batch)
        if len(groups) > len(batch) or any(str(g.get("order_id")) not in asked for g in groups):
            raise ImplausibleReply(f"GET {api.ORDER_ITEMS}: the reply holds orders that were not asked for")
        return groups

    def _by_id(self, batch: list[str]) -> Found:
        """Orders by id: their items first (which also says which ids the shop knows), then
        each known order's object from ``/order/get``."""
        found = look_up(batch, self._items_batch, key=lambda g: str(g.get("order_id")), size=api.ITEMS_BATCH)
        records: list[Mapping[str, Any]] = []
        unreadable = list(found.unreadable)
        for group in found.records:
            order_id = str(group.get("order_id"))
            replies, lost = isolate_unreadable([order_id], self._one_order)
            unreadable += lost
            for order in replies:
                records.append({**order, "order_items": group.get("order_items") or []})
        return Found(records, found.missing, unreadable)

    def _one_order(self, batch: list[str], attempts: int | None) -> dict[str, Any]:
        data = self._call("GET", api.ORDER, params={"order_id": batch[0]}, attempts=attempts)
        if not isinstance(data, dict) or str(data.get("order_id")) != batch[0]:
            raise ImplausibleReply(f"GET {api.ORDER}: the reply is not the order that was asked for")
        return data

    def _call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, attempts: int | None = None, field: str = "data") -> Any:
        """A seller API call's ``data`` (or ``field``: the reverse-order list answers ``result``). An access token about to expire is refreshed first;
        one Lazada refuses anyway is refreshed once, then the call is retried."""
        if self._credentials.expires_within(REFRESH_MARGIN, unknown=False):
            self._refresh(self._credentials.secret("access_token"))
        token_used = self._credentials.secret("access_token")
        try:
            body, _ = self._http.request(method, path, params=params, attempts=attempts)
        except TokenExpired:
            self._refresh(token_used)
            try:
                body, _ = self._http.request(method, path, params=params, attempts=attempts)
            except TokenExpired as exc:
                raise CredentialError(f"lazada: access token refused right after a refresh ({exc})", code=exc.code) from None
        if not isinstance(body, Mapping):
            raise ConnectorError(f"{method} {path}: the reply is not a JSON object")
        return body.get(field)

    def _refresh(self, token_used: str) -> None:
        """Trade the refresh token for a new pair; the sink persists it before use (unless
        another thread refreshed meanwhile)."""
        self._credentials.rotate(self._new_tokens, stale=token_used)

    def _new_tokens(self, current: Mapping[str, Any]) -> dict[str, Any]:
        try:
            body, _ = self._auth_http.request("POST", api.REFRESH, params={"refresh_token": reveal(current.get("refresh_token"))})
        except (TokenExpired, ApiError) as exc:
            raise CredentialError(f"lazada: refreshing the access token failed ({exc})", code=exc.code) from None
        get = body.get if isinstance(body, Mapping) else (lambda _k: None)
        access, refresh = get("access_token"), get("refresh_token")
        if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh):
            raise CredentialError("lazada: the token refresh reply carries no tokens")
        now = int(time.time())
        fresh = {**current, "access_token": access, "refresh_token": refresh}
        expires_in, refresh_in = _count(get("expires_in")), _count(get("refresh_expires_in"))
        fresh["access_expires_at"] = now + expires_in if expires_in else None
        fresh["refresh_expires_at"] = now + refresh_in if refresh_in else current.get("refresh_expires_at")
        return fresh


def _count(value: Any) -> int | None:
    """A count Lazada may send as a number or as text (``"countTotal": "500"``, [L9])."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    try:
        return int(value) if value is not None and int(value) == value else None
    except (TypeError, ValueError, OverflowError):
        return None


@dataclass(frozen=True, slots=True)
class ReturnsPosition:
    """Where the returns walk stands: page ``page_no`` of the reverse orders modified in
    ``[from_ms, to_ms)`` (a part of the window ``[.., window_to)`` when the window was
    halved), whose listing said ``total`` (None: not asked yet)."""

    from_ms: int
    to_ms: int
    page_no: int
    total: int | None
    window_to: int = 0
    last: str = ""  # a digest of the reverse order ids of the page before (a repeated page is refused)

    def __post_init__(self) -> None:
        if not self.window_to:
            object.__setattr__(self, "window_to", self.to_ms)

    def key(self) -> tuple[int, int, int, int | None]:
        return (self.from_ms, self.to_ms, self.page_no, self.total)

    def dump(self) -> Position:
        return {"from_ms": self.from_ms, "to_ms": self.to_ms, "page_no": self.page_no, "total": self.total, "window_to": self.window_to, "last": self.last}

    @classmethod
    def load(cls, position: Position) -> "ReturnsPosition":
        try:
            total = position.get("total")
            last = str(position.get("last") or "")
            return cls(int(position["from_ms"]), int(position["to_ms"]), int(position["page_no"]), None if total is None else int(total), int(position["window_to"]), last)
        except (KeyError, TypeError, ValueError):
            raise ConnectorError("lazada: unreadable returns resume position") from None


def _epoch_ms(value: Any) -> int | None:
    """A reverse-order time (seconds or milliseconds, see ``mappings.lazada_returns``) in ms."""
    number = _count(value)
    if not number:
        return None
    return number if number >= 10**12 else number * 1000


def _reverse_stamp(record: Mapping[str, Any]) -> int | None:
    """A reverse order's update time in ms: its newest line's modified time."""
    lines = record.get("reverse_order_lines")
    stamps = [t for line in lines if isinstance(line, Mapping) and (t := _epoch_ms(line.get("return_order_line_gmt_modified")))] if isinstance(lines, list) else []
    return max(stamps, default=None)
