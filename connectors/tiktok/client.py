"""TikTok Shop Partner API v202309 connector: orders by update time and by order id;
returns, refunds and cancellations by update time.

Serves TikTok Shop and Tokopedia sellers alike (``connectors/tiktok/__init__.py``).

Sources (shared/reference/marketplaces.md §2; keys as listed there):

- [T2] "Sign your API request" (documented): ``app_key``, ``timestamp``, ``sign`` and,
  for shop-scoped APIs, ``shop_cipher`` in the query; the access token in the
  ``x-tts-access-token`` header; the signer in ``api.sign`` (sorted ``{key}{value}``
  without ``sign``/``access_token``, path in front, raw body behind, wrapped in the app
  secret, lowercase-hex HMAC-SHA256).
- [T3] "Common errors" (documented): envelope ``{code, message, request_id, data}`` with
  ``code`` 0 on success; the codes in ``POLICY``; ``timestamp`` valid from 300 s before
  to 30 s after TikTok's clock (36009004).
- [T4] "Rate limits" (documented): 50 QPS per API per app and shop; HTTP 429 (and 503)
  when throttled, retried with random exponential backoff; no ``Retry-After``.
- [T1] authorization guide (documented): ``GET {auth host}/api/v2/token/refresh`` with
  ``app_key``, ``app_secret``, ``refresh_token``, ``grant_type=refresh_token``;
  ``access_token_expire_in`` and ``refresh_token_expire_in`` are **absolute** epochs;
  access tokens last 7 days; the refresh token's expiry is the seller's authorisation.
- [T8]/[T9] "Get Order List" / "Get Order Detail" (documented, secondary: typed SDK
  comments copying the doc pages): ``POST /order/202309/orders/search`` with
  ``page_size`` 1..100, ``sort_field``, ``sort_order``, ``page_token`` (omitted on the
  first call) and the body filters ``update_time_ge``/``update_time_lt``;
  ``next_page_token`` empty at the end; ``GET /order/202309/orders?ids=`` at most 50.
- [T6] (documented): since 2024-03-25 an ID local shop's ``tracking_number`` stays empty
  until the package ships; the engine's late-tracking follow-up re-reads such orders by
  id (``spec.py``: ``reread_awaiting_tracking``).
- [T12]/[T13] "Search Cancellations" / "Search Returns" (documented: the doc pages' own
  specifications, request and response tables with examples, mirrored in
  ``lazykern/ecommerce-api-docs`` ``data/raw/tiktok/api-reference/return-and-refund/
  search-cancellations.spec.json`` and ``search-returns.spec.json``; the operations
  ``CancellationsSearchPost``/``ReturnsSearchPost`` of [T11]'s ``ReturnRefundV202309Api``
  take the same query): ``POST /return_refund/202309/cancellations/search`` and
  ``POST /return_refund/202309/returns/search``; query ``sort_field`` (``create_time``
  default, or ``update_time``), ``sort_order`` (``ASC`` default, or ``DESC``),
  ``page_size`` (default 10, "Upper limit 50"; returns "[10-50]", cancellations "[1-50]"),
  ``page_token`` ("not needed for the first page"), ``shop_cipher``; body filters
  ``update_time_ge``/``update_time_lt`` (and create time, ids, types, statuses, ``locale``);
  reply ``data.cancellations[]`` / ``data.return_orders[]``, ``total_count``,
  ``next_page_token``; error 25001001 for an invalid parameter; scope "Return & Refund
  Basic" (``seller.return_refund.basic``; without it TikTok answers 105005).
- [T14]-[T16] the reason lists, the status flows and the v202309 changelog on return
  amounts: ``mappings/tiktok_returns.py``. Keys [T12]-[T16] are new here: marketplaces.md
  §2.8 has the API names only and calls their paths inferred; the doc pages' own
  specifications above confirm them (and that both searches are POST).

What the connector yields: each order object exactly as the API returns it in
``data.orders[]``. The listing already returns full order objects ([T8]: payment,
recipient_address, line_items, ...), so a list page costs one request and needs no
detail call; ``orders_by_id`` uses Get Order Detail. ``return_pages`` yields each
cancellation exactly as it is in ``data.cancellations[]`` and each return as it is in
``data.return_orders[]`` (the returns mapping tells them apart by ``cancel_id`` /
``return_id``).

Windows: ``[since, until)`` becomes ``update_time_ge = ceil(since)`` (inclusive) and
``update_time_lt = ceil(until)`` (exclusive), whole seconds. ``max_window`` is 15 days:
not a documented limit (none is known, §2.4) but Simpul's own chunking, so that a first
sync of a long history commits window by window and each window's budget stays
meaningful.

Resumption (``Page.position = {"update_time_ge": s, "page_token": t, "seen": [id]}``):
the list is asked ``sort_field=update_time, sort_order=ASC``; ``page_token`` is opaque
and belongs to the query it came from. The walk is the kit's ``TimeCursorWalk``
(``connectors._http.walk``), as for Shopee: after a page it restarts without a token
from the newest ``update_time`` on the page (``update_time_ge`` is inclusive), drops the
orders of that second it already yielded, and follows ``next_page_token`` only while a
whole page shares one second (the filter is then unchanged, so the token is still the
query's own).

Returns (``return_pages``): one stream, two listings walked one after the other over the
same window, Search Cancellations first, then Search Returns, each with the orders' walk
(``TimeCursorWalk``: ``sort_field=update_time``, ``sort_order=ASC``, ``page_size=50``, body
``update_time_ge``/``update_time_lt``). The position names the listing and the walk's
place in it: ``{"listing": "cancellations"|"returns", "update_time_ge": s, "page_token": t,
"seen": [id]}``; the last page of the cancellations carries ``{"listing": "returns"}``
(the returns from the window's start), the last page of the returns none. Each listing
page costs one request; no detail call is needed (the search carries whole records).

Assumptions where the sources are silent (each mirrored by the sandbox):

- Search Orders' ``orders[]`` objects are the same objects Get Order Detail returns (the
  two doc pages list the same fields, [T8]/[T9]), so ``simpul map tiktok`` and the
  mapping read either.
- ``ids`` travels as one comma-separated query value; unknown ids are left out of the
  reply (code 0), not an error.
- Non-throttling errors come with HTTP 200 and the code in the body (only a Q&A reports a
  401 with 106001); the envelope decides, whatever the status.
- A refused refresh token answers 105002 like an expired access token; the refresh reply
  carries a refresh token, which Simpul stores before using the new access token (a
  rotation is not documented either way, so the new one is always kept).
- ``commerce_platform`` (``TIKTOK_SHOP``; ``TOKOPEDIA`` for orders placed in the
  Tokopedia app) is seen in captured replies, not in [T8]; nothing depends on it.
- A cancellation's and a return's ``update_time`` moves with every status change (the
  type 12 webhook calls it "the time when return order status update"); the time filters
  are inclusive (``_ge``) and exclusive (``_lt``) as their names say, and ``update_time``
  sorts the search as it does Search Orders; a page token belongs to the query it came
  from; ``next_page_token`` is "" on the last page ("The last page is an empty string", in
  the typed comments of ``lywzx/tiktok-partner-api`` ``SearchReturns.ts``, [T8]'s
  repository); the return APIs sign, answer and refuse as the order APIs do ([T2]/[T3]:
  the same envelope and codes; an invalid parameter, 25001001, fails the run).
- ``cancel_id`` and ``return_id`` are never the same for two records of one order (both
  are reverse-order ids; the store keys a return by order and id).

Rate limit: 50 requests/s per shop, burst 1 ([T4]: 50 QPS per API; one budget for all
APIs of a shop is the safe reading). Override with ``SIMPUL_RATE_LIMITS=tiktok=RATE``.

Limits (``limits``): no order predates 2020 (TikTok Shop opened in Indonesia in 2021;
assumed from public history, not from our sources); a list page holds at most 100 orders
[T8] and costs one request (a return listing page holds at most 50 records, one request);
a 15-day window is assumed to hold at most 1,500,000 orders.
A reply with more orders than asked for, or with orders nobody asked for, is implausible
and fails the run (``ImplausibleReply``). A detail batch whose reply cannot be parsed is
asked again in halves (``connectors._http.batches``); an order whose own reply still
cannot be parsed is reported unreadable and quarantined. Known limit: Search Orders
carries whole orders, so an order whose JSON no parser reads (a raw control character)
makes its whole *listing* page unreadable; the kit retries, then the run fails with the
page's checkpoint kept. Isolating it needs the HTTP kit to let a connector parse a
listing leniently (not possible from a connector today); a resync by id isolates it.

Errors (``POLICY``): 105002 (expired access token) refreshes once and retries, and is a
credential error if it persists; 106001 (sign), 101000 (token or cipher), 105005
(scope), 106013 (missing ``shop_cipher``), 36009033 (IP allow list) and 36009004 (missing
signature, invalid ``app_key`` or token header, timestamp out of range) are credential
errors, never retried: 36009004 also covers a clock more than 30 s fast, which no retry
fixes; 36009002 (too many requests), 36009007 (timeout), 429 and 5xx are retried with
backoff; malformed-request codes fail the run.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from connectors._http import (
    DEFAULT_POLICY,
    Action,
    ApiError,
    ConnectorError,
    CredentialError,
    HttpClient,
    ImplausibleReply,
    Outgoing,
    ReplyLimits,
    Resolution,
    RetryConfig,
    TokenBucket,
    TokenExpired,
    Unlimited,
)
from connectors._http.batches import Found, look_up, lookup_pages
from connectors._http.credentials import RotatingCredentials
from connectors._http.secret import reveal
from connectors._http.urls import require_https
from connectors._http.walk import Listing, Mark, PositionFormat, TimeCursorWalk
from connectors.contract import ChannelLimits, CredentialExpiry, CredentialSink, Page, Position, RateLimit, Window
from connectors.tiktok import api

REFRESH_MARGIN = timedelta(hours=1)  # refresh this long before the access token expires

POLICY = {
    **DEFAULT_POLICY,
    105002: Resolution(Action.REFRESH, "access token expired"),
    106001: Resolution(Action.CREDENTIAL, "signature refused (check app_key and app_secret)"),
    36009004: Resolution(
        Action.CREDENTIAL,
        "request refused: missing signature, invalid app_key or token header, or a timestamp outside -300 s/+30 s of TikTok's clock (check the credentials and this machine's clock)",
    ),
    101000: Resolution(Action.CREDENTIAL, "access token or shop_cipher refused"),
    105005: Resolution(Action.CREDENTIAL, "the app lacks the scope for this API"),
    106013: Resolution(Action.CREDENTIAL, "shop_cipher missing (Get Authorized Shops gives it)"),
    36009033: Resolution(Action.CREDENTIAL, "calling IP not in the app's allow list"),
    36009002: Resolution(Action.RETRY, "rate limited"),
    36009007: Resolution(Action.RETRY, "TikTok request timeout"),
    36009009: Resolution(Action.FAIL, "invalid path"),
    36009010: Resolution(Action.FAIL, "invalid method"),
    36009022: Resolution(Action.FAIL, "invalid content type"),
    36009023: Resolution(Action.FAIL, "invalid content type"),
}


def envelope(status: int, body: Any) -> tuple[int | str, str] | None:
    """TikTok's ``code``: anything but 0 is an error whatever the HTTP status."""
    if not isinstance(body, Mapping):
        return None
    code = body.get("code")
    if code == 0 or code is None or isinstance(code, bool):
        return None
    message = body.get("message")
    detail = f"{code}: {message}"[:200] if isinstance(message, str) and message else str(code)
    if code in POLICY:
        return code, detail
    return (status if status >= 400 else str(code)), detail


def _update_time(record: Mapping[str, Any]) -> int | None:
    value = record.get("update_time")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


WALK = TimeCursorWalk(
    "tiktok",
    "orders/search",
    key=lambda r: str(r.get("id")),
    stamp=_update_time,
    format=PositionFormat(second="update_time_ge", token="page_token"),  # update_time_ge: inclusive
    first="",
)


def _return_walk(listing: str, id_field: str) -> TimeCursorWalk:
    return TimeCursorWalk(
        "tiktok",
        listing,
        key=lambda r: str(r.get(id_field)),
        stamp=_update_time,
        format=PositionFormat(second="update_time_ge", token="page_token"),
        first="",
    )


RETURN_LISTINGS: tuple[tuple[str, str, str, TimeCursorWalk], ...] = (
    ("cancellations", api.CANCELLATION_SEARCH, "cancellations", _return_walk("cancellations/search", "cancel_id")),
    ("returns", api.RETURN_SEARCH, "return_orders", _return_walk("returns/search", "return_id")),
)
"""The returns stream's listings, walked in this order: (the position's name for it, path,
the reply's list field, the walk)."""
LISTING = "listing"  # the position key naming the listing


class TikTokAuth:
    """Common parameters, the access-token header and the signature on each attempt (a
    fresh timestamp every time, so a retry is never refused as stale)."""

    def __init__(self, app_key: str, app_secret: str, shop_cipher: str, credentials: RotatingCredentials) -> None:
        self.app_key, self._app_secret, self.shop_cipher, self._credentials = app_key, app_secret, shop_cipher, credentials

    def apply(self, request: Outgoing) -> None:
        request.params.pop("sign", None)
        request.params["app_key"] = self.app_key
        request.params["timestamp"] = int(time.time())
        if request.path != api.AUTHORIZED_SHOPS:  # the one call made before a shop is chosen
            request.params["shop_cipher"] = self.shop_cipher
        request.headers["x-tts-access-token"] = self._credentials.secret("access_token")
        multipart = request.headers.get("Content-Type", "").startswith("multipart/form-data")
        request.params["sign"] = api.sign(self._app_secret, request.path, request.params, request.body or b"", multipart=multipart)

    def secrets(self) -> list[str]:
        return [self._app_secret, self._credentials.secret("access_token"), self._credentials.secret("refresh_token")]


class TokenAuth:
    """The token endpoint is not signed: app_key and app_secret travel in its query [T1].
    Nothing to add; it only names the secrets the kit scrubs from any message."""

    def __init__(self, app_secret: str, credentials: RotatingCredentials) -> None:
        self._app_secret, self._credentials = app_secret, credentials

    def apply(self, request: Outgoing) -> None:
        return None

    def secrets(self) -> Iterable[str]:
        return [self._app_secret, self._credentials.secret("access_token"), self._credentials.secret("refresh_token")]


def auth_base_url(base_url: str) -> str:
    """The token host for an API host (documented pairs); any other base URL (a sandbox, a
    proxy) serves the token path itself."""
    hosts = {api.API_HOST: api.AUTH_HOST, api.SANDBOX_API_HOST: api.SANDBOX_AUTH_HOST}
    return hosts.get(base_url.rstrip("/"), base_url)


class TikTokConnector:
    channel: ClassVar[str] = "tiktok"
    max_window: ClassVar[timedelta | None] = timedelta(days=15)  # Simpul's chunking, see the module docstring
    lookback: ClassVar[timedelta] = timedelta(minutes=10)
    rate_limit: ClassVar[RateLimit | None] = RateLimit(per_second=50)  # [T4]
    limits: ClassVar[ChannelLimits] = ChannelLimits(
        since=datetime(2020, 1, 1, tzinfo=timezone.utc),  # assumed, see the module docstring
        page_size=api.PAGE_SIZE,
        requests_per_page=1,
        orders_per_window=1_500_000,
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
            app_key, shop_cipher = str(credentials["app_key"]).strip(), str(credentials["shop_cipher"]).strip()
            app_secret = reveal(credentials["app_secret"])
            tokens = reveal(credentials["access_token"]), reveal(credentials["refresh_token"])
        except (KeyError, TypeError, ValueError):
            tokens, app_key = ("", ""), ""
        if not (app_key and shop_cipher and app_secret and all(tokens)):
            raise CredentialError("tiktok: credentials need app_key, app_secret, access_token, refresh_token and shop_cipher")
        self._credentials = RotatingCredentials(credentials, on_credentials)
        self._app_secret = app_secret
        self._auth = TikTokAuth(app_key, app_secret, shop_cipher, self._credentials)
        why = "the access token travels in a header and the app secret in the token refresh's query"
        base_url = require_https(base_url, "tiktok", why)
        options: dict[str, Any] = {"policy": POLICY, "envelope": envelope, "bucket": bucket, "retry": retry or RetryConfig(), "reply": reply}
        self._http = HttpClient(base_url, self._auth, **options)
        self._token_http = HttpClient(require_https(auth_base_url(base_url), "tiktok", why), TokenAuth(app_secret, self._credentials), **options)

    # -- contract ---------------------------------------------------------------------------
    def check(self) -> None:
        """Get Authorized Shops: proves app key, secret and access token (refreshing it), and
        that the account's ``shop_cipher`` is one of the shops the seller authorised."""
        data = self._call("GET", api.AUTHORIZED_SHOPS)
        shops = data.get("shops")
        ciphers = {s.get("cipher") for s in shops if isinstance(s, Mapping)} if isinstance(shops, list) else set()
        if self._auth.shop_cipher not in ciphers:
            raise CredentialError("tiktok: the shop_cipher is not among the shops this seller authorised (Get Authorized Shops)")

    # -- token lifecycle (connectors.contract.RefreshableSource) -----------------------------
    def credential_expiry(self) -> CredentialExpiry:
        return self._credentials.expiry()

    def refresh(self, *, within: timedelta = timedelta(0), force: bool = False) -> bool:
        """Refresh when the access token expires within ``within`` (or its expiry is unknown)."""
        if not (force or self._credentials.expires_within(within, unknown=True)):
            return False
        self._refresh(self._credentials.secret("access_token"))
        return True

    def order_pages(self, window: Window, position: Position | None = None) -> Iterator[Page]:
        return WALK.pages(window, position, self._list_page, counter=self._http.counter)

    def return_pages(self, window: Window, position: Position | None = None) -> Iterator[Page]:
        """Cancellations, then returns, changed in ``window`` (module docstring: Returns)."""
        names = [name for name, *_ in RETURN_LISTINGS]
        start, inner = 0, None
        if position:
            name = position.get(LISTING)
            if name not in names:
                raise ConnectorError("tiktok: unreadable resume position")
            start = names.index(name)
            inner = {k: v for k, v in position.items() if k != LISTING} or None
        for n in range(start, len(RETURN_LISTINGS)):
            name, path, field, walk = RETURN_LISTINGS[n]

            def fetch(mark: Mark, until: int, path: str = path, field: str = field) -> Listing:
                return self._return_page(path, field, mark, until)

            following = names[n + 1] if n + 1 < len(names) else None
            for page in walk.pages(window, inner if n == start else None, fetch, counter=self._http.counter):
                if page.position is not None:
                    yield replace(page, position={LISTING: name, **page.position})
                else:  # this listing is done: the next one starts at the window's start
                    yield replace(page, position={LISTING: following} if following else None)

    def orders_by_id(self, external_ids: Sequence[str]) -> Iterator[Page]:
        wanted = [i for i in external_ids if isinstance(i, str) and i.strip()]
        malformed = [i for i in wanted if "," in i]  # would split into other ids in the comma-joined query
        wanted = [i for i in wanted if "," not in i]
        return lookup_pages(wanted, api.DETAIL_BATCH, self._details, counter=self._http.counter, missing=malformed)

    # -- calls ------------------------------------------------------------------------------
    def _list_page(self, mark: Mark, until: int) -> Listing:
        """One Search Orders page from ``mark``: orders with ``mark.second <= update_time < until``."""
        if mark.second >= until:
            return Listing([])
        params: dict[str, Any] = {"page_size": api.PAGE_SIZE, "sort_field": "update_time", "sort_order": "ASC"}
        if mark.token:
            params["page_token"] = mark.token
        data = self._call("POST", api.ORDER_SEARCH, params=params, json_body={"update_time_ge": int(mark.second), "update_time_lt": until})
        orders = data.get("orders") or []
        if not isinstance(orders, list) or len(orders) > api.PAGE_SIZE:
            raise ImplausibleReply(f"POST {api.ORDER_SEARCH}: asked for {api.PAGE_SIZE} orders a page, the reply lists more (or no list)")
        token = data.get("next_page_token")
        if token is not None and not isinstance(token, str):
            raise ImplausibleReply(f"POST {api.ORDER_SEARCH}: next_page_token is not text")
        return Listing([o for o in orders if isinstance(o, Mapping)], token or None)

    def _return_page(self, path: str, field: str, mark: Mark, until: int) -> Listing:
        """One Search Cancellations or Search Returns page from ``mark``: records with
        ``mark.second <= update_time < until``."""
        if mark.second >= until:
            return Listing([])
        params: dict[str, Any] = {"page_size": api.RETURN_PAGE_SIZE, "sort_field": "update_time", "sort_order": "ASC"}
        if mark.token:
            params["page_token"] = mark.token
        data = self._call("POST", path, params=params, json_body={"update_time_ge": int(mark.second), "update_time_lt": until})
        records = data.get(field) or []
        if not isinstance(records, list) or len(records) > api.RETURN_PAGE_SIZE:
            raise ImplausibleReply(f"POST {path}: asked for {api.RETURN_PAGE_SIZE} records a page, the reply lists more (or no list)")
        token = data.get("next_page_token")
        if token is not None and not isinstance(token, str):
            raise ImplausibleReply(f"POST {path}: next_page_token is not text")
        return Listing([r for r in records if isinstance(r, Mapping)], token or None)

    def _details(self, ids: list[str]) -> Found:
        return look_up(ids, self._detail_batch, key=lambda r: str(r.get("id")), size=api.DETAIL_BATCH)

    def _detail_batch(self, batch: list[str], attempts: int | None) -> list[dict[str, Any]]:
        """One Get Order Detail call; only the orders asked for (anything else is implausible)."""
        data = self._call("GET", api.ORDER_DETAIL, params={"ids": ",".join(batch)}, attempts=attempts)
        orders = [o for o in data.get("orders") or [] if isinstance(o, dict)]
        asked = set(batch)
        if len(orders) > len(batch) or any(str(o.get("id")) not in asked for o in orders):
            raise ImplausibleReply(f"GET {api.ORDER_DETAIL}: the reply holds orders that were not asked for")
        return orders

    def _call(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json_body: Any = None, attempts: int | None = None
    ) -> dict[str, Any]:
        """A call's ``data`` object. An access token about to expire is refreshed first; one
        TikTok refuses as expired (105002) is refreshed once, then the call is retried."""
        if self._credentials.expires_within(REFRESH_MARGIN, unknown=False):
            self._refresh(self._credentials.secret("access_token"))
        token_used = self._credentials.secret("access_token")
        try:
            body, _ = self._http.request(method, path, params=params, json_body=json_body, attempts=attempts)
        except TokenExpired:
            self._refresh(token_used)
            try:
                body, _ = self._http.request(method, path, params=params, json_body=json_body, attempts=attempts)
            except TokenExpired as exc:
                raise CredentialError(f"tiktok: access token refused right after a refresh ({exc})", code=exc.code) from None
        data = body.get("data") if isinstance(body, Mapping) else None
        if data is None and isinstance(body, Mapping) and body.get("code") == 0:
            data = {}
        if not isinstance(data, dict):
            raise ConnectorError(f"{method} {path}: the reply has no data object")
        return data

    def _refresh(self, token_used: str) -> None:
        """Trade the refresh token for a new pair; the sink persists it before use (unless
        another thread refreshed meanwhile)."""
        self._credentials.rotate(self._new_tokens, stale=token_used)

    def _new_tokens(self, current: Mapping[str, Any]) -> dict[str, Any]:
        query = {
            "app_key": self._auth.app_key,
            "app_secret": self._app_secret,  # [T1]: the token endpoint takes the secret in its query (scrubbed from messages)
            "refresh_token": reveal(current.get("refresh_token")),
            "grant_type": "refresh_token",
        }
        try:
            body, _ = self._token_http.request("GET", api.TOKEN_REFRESH, params=query)
        except (TokenExpired, ApiError, CredentialError) as exc:
            raise CredentialError(f"tiktok: refreshing the access token failed ({exc})", code=exc.code) from None
        data = body.get("data") if isinstance(body, Mapping) else None
        data = data if isinstance(data, Mapping) else {}
        access, refresh = data.get("access_token"), data.get("refresh_token")
        if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh):
            raise CredentialError("tiktok: the token refresh reply carries no tokens")
        fresh = {**current, "access_token": access, "refresh_token": refresh}
        # [T1]: absolute epochs, not durations; the refresh token's is the authorisation's end.
        access_at, refresh_at = data.get("access_token_expire_in"), data.get("refresh_token_expire_in")
        fresh["access_expires_at"] = access_at if _epoch(access_at) else None
        if _epoch(refresh_at):
            fresh["refresh_expires_at"] = fresh["authorization_expires_at"] = refresh_at
        return fresh


def _epoch(value: Any) -> bool:
    """A plausible absolute epoch (seconds), not a duration someone mistook for one."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 1_000_000_000
