"""Shopee Open Platform v2 connector: orders by update time, and by order number; returns
and refunds by update time; settlements (escrow) by release time.

Sources (shared/reference/marketplaces.md §1; keys as listed there):

- [S1] developer guide "API calls": hosts, common parameters in the query, Shop-API base
  string ``partner_id + path + timestamp + access_token + shop_id``, lowercase-hex
  HMAC-SHA256, timestamps valid for 5 minutes, the ``{request_id, error, message,
  response}`` envelope with ``error`` empty on success.
- [S2] "Authorization and Authentication": access token 4 h (``expire_in``), refresh
  token 30 days, ``POST /api/v2/auth/access_token/get`` as a public API (signed with
  ``partner_id + path + timestamp``; ``partner_id`` in query and body), top-level
  token response. [S8]: the refresh token is single-use and rotates; the old access
  token lives 5 more minutes.
- [S8]/[S9] reference: ``get_order_list`` (``time_range_field=update_time``, ``time_from``/
  ``time_to`` at most 15 days apart, ``page_size`` 1..100, ``cursor``/``more``/
  ``next_cursor``), ``get_order_detail`` (``order_sn_list`` 1..50, optional fields only
  when requested), the error codes (``error_auth``, ``error_sign``, ``error_param``,
  ``error_rate_limit``, ``error_limit``, ``error_server``, ...), no published rate
  limit and no ``Retry-After``.
- [S3]/[S4]: the tracking number is not part of the order detail and may arrive after the
  shipment is arranged ("logistics partners take some time"), without a new order
  status. ``v2.logistics.get_mass_tracking_number`` (POST, body ``{"package_list":
  [{"package_number": ...}]}``, response ``success_list``/``fail_list``) is read from
  third-party SDK types of that endpoint; its batch limit is not in our sources, so we
  assume 50 like the other mass endpoints.
- [S6] guide "Return Refund Management" (marketplaces.md §1.7): ``v2.returns.get_return_list``
  lists a shop's return and refund requests, "Each application will return a return_sn as
  a unique ID", "Buyers may submit multiple return_sn for the same order"; the list
  filters by return status, negotiation status, proof and compensation status;
  ``v2.returns.get_return_detail`` reads one return by ``return_sn``.
- [R1] the ``v2.returns.get_return_list`` reference page
  (``open.shopee.com/documents/v2/v2.returns.get_return_list?module=102&type=1``), as
  transcribed by an index file: a Go SDK package ``goshopee`` generated from the reference
  (each field's doc text kept with its HTML, ``// [Required] <p>...``):
  ``page_no`` and ``page_size`` required ("the maximum number of entries (<= 100) ... per
  page", "Default is 40"), optional ``create_time_from``/``create_time_to`` and
  ``update_time_from``/``update_time_to`` ("based on the last return updated time", "The
  maximum date range ... is 15 days", "update_time_from should be >= create_time_from"),
  ``status``, ``negotiation_status``, ``seller_proof_status``,
  ``seller_compensation_status``; the response ``{"more": bool ("Whether has next page"),
  "return": [...]}`` whose elements carry the return's fields (``return_sn``,
  ``order_sn``, ``status``, ``reason``, ``update_time``, ``item``, ...).
- [R2] the ``v2.returns.get_return_detail`` reference page, in two transcriptions (the
  same generated package, and an index file that copies the page's field table from
  ``open.shopee.com/documents/v2/returns.get_return_detail``): ``return_sn`` in, the
  return out, with what the list lacks: ``negotiation``, ``seller_proof``, the reverse
  logistics status (spelled both ``reverse_logistics_status`` and
  ``reverse_logistic_status`` by the page), ``item[].refund_amount`` (Partial Qty RR
  shops), the buyer's pickup address.
- [R3] the two pages' request/response examples, as reproduced by the tests generated
  from them in ``congminh1254/shopee-sdk``
  (``src/__tests__/generated/returns.generated.test.ts``): the golden files
  ``tests/shopee/golden_returns/official_*.json`` are those examples.

- [P1] the ``v2.payment.get_escrow_list`` and ``get_escrow_detail`` reference pages, as
  transcribed by SDK types generated from them (``congminh1254/shopee-sdk``
  ``src/schemas/payment.ts``, the pages' field texts kept): the list takes
  ``release_time_from``/``release_time_to`` ("Query start/end time"), ``page_size`` ("max:
  100, default: 40") and ``page_no`` ("min: 1, default: 1") and answers ``{escrow_list:
  [{order_sn, payout_amount ("The settlement amount"), escrow_release_time}], more}``; the
  detail takes one ``order_sn`` and answers ``{order_sn, buyer_user_name,
  return_order_sn_list, order_income: {escrow_amount ("The total amount seller expected to
  receive"), buyer_total_amount, commission_fee, service_fee, seller_transaction_fee,
  actual_shipping_fee, ..., order_adjustment, total_adjustment_amount,
  escrow_amount_after_adjustment}, buyer_payment_info: {buyer_payment_method, ...}}``. A
  second implementation reading the same pages (a TypeScript client that documents its
  readings) found the detail is a GET with ``order_sn`` in the query, that
  ``escrow_release_time`` is only on the list, and that no maximum range is documented.

The pages' own JSON and examples are kept by the same repository
(``schemas/v2.payment.get_escrow_{list,detail}.json``); ``tests/shopee/golden_settlements``
holds the examples and ``FACTS.md`` there what a person checked on those pages (the error
tables: ``error_param`` for a missing or bad parameter, ``order_not_found`` "Order SN
provided is invalid or does not belong to you", ``common.error_not_found``,
``income_not_found``, ``error_data``).

What ``settlement_pages`` yields: per released order, the ``get_escrow_detail`` response
with the list element's ``payout_amount`` and ``escrow_release_time`` added at its top
level (the detail does not carry them); where Shopee refuses the detail for that order
(``ESCROW_REFUSED``), the list element alone. A list page of n orders costs 1 + n requests
(``get_escrow_detail_batch`` exists but drops fields and per-order errors, so it is not
used). Settlement windows: ``[since, until)`` becomes ``release_time_from = ceil(since)``,
``release_time_to = ceil(until) - 1``, ``page_size`` 100, ``page_no`` from 1, walked by
the orders' rule on ``escrow_release_time``. Assumptions, where [P1] is silent:

- both bounds are inclusive, like every other Shopee time range; a window as long as
  the orders' (15 days) is accepted, since no maximum is documented;
- the list is ordered by ``escrow_release_time``, oldest first (checked: a page whose
  times go backwards fails the run, ``ImplausibleReply``);
- a released escrow is final: a later adjustment shows in the detail
  (``order_adjustment``, ``escrow_amount_after_adjustment``) but does not list the order
  again, so a resync over the release window is what reads it.

What ``return_pages`` yields: each return exactly as ``get_return_detail`` returns it. A
listed return whose detail Shopee refuses for its ``return_sn`` (``error_data``,
``error_not_found``, ``error_param``) is yielded as listed (the list element carries the
return's fields: the mapping reads both, and quarantines an unusable id);
one whose detail reply cannot be parsed is reported unreadable and quarantined by
``return_sn``. The detail takes one ``return_sn`` per call, so a list page of n returns
costs 1 + n requests.

Returns windows: ``[since, until)`` becomes ``update_time_from = ceil(since)``,
``update_time_to = ceil(until) - 1`` (both inclusive, whole seconds), no create window,
``page_size`` 100, ``page_no`` from 0. The walk is the orders' rule (``TimeCursorWalk``,
position ``{"update_time_from": s, "page_no": n, "seen": [return_sn]}``): after each page it
restarts at page 0 from the newest ``update_time`` on it, and follows ``page_no`` only while
a whole page shares one second; page numbers are computable, so a page wholly in a newer
second continues at page 1 from there. Assumptions, where [R1] is silent or unclear:

- ``page_no`` is a page index from 0 (the reference calls it "the starting entry ... Default
  is 0" but names it a page number, and third-party clients pass 0, 1, 2, ...);
- an update-time window without a create-time window is accepted (both are optional);
- ``update_time_to`` is inclusive, like ``get_order_list``'s ``time_to``;
- the list is ordered by ``update_time``, oldest first, ties by ``return_sn``. Unlike the
  order list, the return list carries each element's ``update_time``, so this one is
  checked: a page whose times go backwards fails the run (``ImplausibleReply``) instead of
  letting the walk skip returns;
- a return's ``update_time`` moves whenever the return changes (status, reverse logistics,
  negotiation), so a window by update time sees every change;
- ``get_return_detail`` answers a ``return_sn`` Shopee no longer finds with ``error_data``
  "The return you queried doesn't exist." (the code third-party clients handle; the page
  documents no error table).

What the connector yields: each order exactly as ``get_order_detail`` returns it with the
fields in ``api.DETAIL_FIELDS``, plus ``tracking_number`` on every package whose shipment
is arranged (``""`` while the courier has not assigned one). The mapping reads that
merged field; the engine re-reads orders still waiting for a number.

Windows: ``[since, until)`` becomes ``time_from = ceil(since)``, ``time_to = ceil(until)
- 1`` (both inclusive, whole seconds), so ``max_window`` is 15 days.

Resumption (``Page.position = {"time_from": s, "cursor": c, "seen": [order_sn]}``):
where the sources are silent we assume the list is ordered by the requested time field,
oldest first, and that ``cursor`` is an offset (the documented example's
``next_cursor`` is ``"20"``). An offset is unsafe while orders change under it, so the
walk is the kit's ``TimeCursorWalk`` (``connectors._http.walk``): after each page it
restarts at ``cursor=""`` from the newest ``update_time`` on the page (``time_from`` is
inclusive), dropping the orders of that second it already yielded (``seen``: every page
of the second), and follows ``next_cursor`` only while a whole page shares one second.
The cursor is opaque, so a page wholly in a newer second is asked again from ``""``.
Orders without a usable ``update_time`` are left out of the restart.

Rate limit: Shopee publishes no number ([S8]: every API page's ``rate_limit`` is
``[0,0,0]``; only the short-window ``error_rate_limit`` and the daily ``error_limit``
exist). We assume 10 requests/s per shop, burst 1 (a fifth of the 50 QPS per API that
TikTok Shop documents for the same kind of seller API), which syncs ~250 orders/s (a list
page costs ~4 calls); ``error_rate_limit`` is still retried with backoff if the real
budget is lower. Override with ``SIMPUL_RATE_LIMITS=shopee=RATE[:BURST]``.

Limits (``limits``): the orders API cannot hold an order from before Shopee began (2015;
assumed from the company's public history, not from our sources); a list page holds at
most ``page_size`` 100 orders [S8] and costs at most 5 requests (the list, 2 detail
batches of 50, 2 tracking batches of 50); the documented 15-day window has no documented
order count, so its ceiling is assumed at 1,500,000 (100,000 orders a day, above the
busiest shops we know of). A reply with more orders than asked for, or with orders nobody
asked for, is implausible and fails the run (``ImplausibleReply``). A detail batch whose
reply cannot be parsed is asked again in halves down to single orders
(``connectors._http.batches``); an order whose own reply still cannot be parsed is
reported as unreadable, not missing, and the engine quarantines it. The returns and
settlements walks declare their own (``return_limits``, ``settlement_limits``): a page
holds at most 100 returns ([R1]) or payouts ([P1]) and costs up to 101 requests (the list
and one detail each).

Errors (HTTP status of errors is undocumented; the envelope decides): ``error_auth``
(an expired or revoked access token) refreshes once and retries, and is a credential
error if it persists, except on a returns or escrow path, where it (or
``error_api_permission``) means the app lacks that module's permission (the escrow pages
list ``error_auth`` "No permission to current api."): ``StreamRefused``, and the engine
skips that stream while the orders go on; ``error_sign``, ``refresh_token_expired`` and the other
permission codes are credential errors, never retried; ``error_rate_limit``,
``error_server``, ``error_network`` and 5xx are retried with backoff; ``error_limit``
(the daily quota, reset at 00:00 UTC+8) and parameter errors fail the run.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, replace
from collections.abc import Iterator, Mapping, Sequence
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
    StreamRefused,
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
from connectors.shopee import api

REFRESH_MARGIN = timedelta(minutes=10)  # refresh this long before the access token expires
REFRESH_TOKEN_LIFE = timedelta(days=30)  # [S2]

POLICY = {
    **DEFAULT_POLICY,
    "error_auth": Resolution(Action.REFRESH, "access token refused"),
    "error_sign": Resolution(Action.CREDENTIAL, "signature refused (check partner_id and partner_key)"),
    "refresh_token_expired": Resolution(Action.CREDENTIAL, "refresh token expired: the seller must authorise again"),
    "shop_access_expired": Resolution(Action.CREDENTIAL, "shop authorisation expired: the seller must authorise again"),
    "error_partner_key_expired": Resolution(Action.CREDENTIAL, "partner key expired"),
    "error_api_permission": Resolution(Action.CREDENTIAL, "the app lacks permission for this API"),
    "error_api_call_restricted": Resolution(Action.CREDENTIAL, "API calls restricted for this app"),
    "source_ip_undeclared": Resolution(Action.CREDENTIAL, "calling IP not in the app's whitelist"),
    "shop_no_linked": Resolution(Action.CREDENTIAL, "shop not linked to this partner"),
    "shop_banned": Resolution(Action.CREDENTIAL, "shop banned"),
    "error_rate_limit": Resolution(Action.RETRY, "rate limited"),
    "error_server": Resolution(Action.RETRY, "Shopee system error"),
    "error_network": Resolution(Action.RETRY, "Shopee network error"),
    "error_limit": Resolution(Action.FAIL, "daily API quota used up (resets 00:00 UTC+8)"),
    "error_param": Resolution(Action.FAIL, "invalid parameter"),
    "error_not_found": Resolution(Action.FAIL, "not found"),
    "error_data": Resolution(Action.FAIL, "data error"),
    "order.order_list_invalid_time": Resolution(Action.FAIL, "invalid order list time range"),
    "order_not_found": Resolution(Action.FAIL, "order not found"),
    "income_not_found": Resolution(Action.FAIL, "escrow income not found"),
    "common.error_not_found": Resolution(Action.FAIL, "not found"),
}


def envelope(status: int, body: Any) -> tuple[int | str, str] | None:
    """Shopee's ``error`` field: a non-empty code is an error whatever the HTTP status."""
    if not isinstance(body, Mapping):
        return None
    code = body.get("error")
    if not isinstance(code, str) or not code:
        return None
    message = body.get("message")
    detail = f"{code}: {message}"[:200] if isinstance(message, str) and message else code
    if code in POLICY:
        return code, detail
    return (status if status >= 400 else code), detail


def _epoch(record: Mapping[str, Any], field: str) -> int | None:
    value = record.get(field)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _update_time(record: Mapping[str, Any]) -> int | None:
    return _epoch(record, "update_time")


@dataclass(frozen=True, slots=True)
class NumberedList:
    """A Shopee list paged by ``page_no`` over ``<time>_from``/``<time>_to`` (inclusive),
    its elements under ``items``, ordered by their ``stamp`` field (checked on every page)."""

    path: str
    time: str
    items: str
    stamp: str
    page_size: int


RETURN_LISTING = NumberedList(api.RETURN_LIST, "update_time", "return", "update_time", api.RETURN_PAGE_SIZE)
ESCROW_LISTING = NumberedList(api.ESCROW_LIST, "release_time", "escrow_list", "escrow_release_time", api.ESCROW_PAGE_SIZE)


WALK = TimeCursorWalk(
    "shopee",
    "get_order_list",
    key=lambda r: str(r.get("order_sn")),
    stamp=_update_time,
    format=PositionFormat(second="time_from", token="cursor"),  # time_from: inclusive
    first="",
)
RETURN_WALK = TimeCursorWalk(
    "shopee",
    "get_return_list",
    key=lambda r: str(r.get("return_sn")),
    stamp=_update_time,
    format=PositionFormat(second="update_time_from", token="page_no"),  # update_time_from: inclusive
    first=0,
    second_page=1,  # page numbers are computable (assumed page index from 0, see above)
)
SETTLEMENT_WALK = TimeCursorWalk(
    "shopee",
    "get_escrow_list",
    key=lambda r: str(r.get("order_sn")),
    stamp=lambda r: _epoch(r, "escrow_release_time"),
    format=PositionFormat(second="release_time_from", token="page_no"),  # release_time_from: inclusive (assumed)
    first=api.ESCROW_FIRST_PAGE,
    second_page=api.ESCROW_FIRST_PAGE + 1,  # page numbers are computable
)
# A detail Shopee refuses for this return_sn: gone ("The return you queried doesn't exist.",
# assumed error_data), or an id it does not take ("Return SN or ID is invalid.", error_param).
# The listed element carries the return's fields, so it is yielded instead of failing every run.
DETAIL_REFUSED = frozenset({"error_data", "error_not_found", "error_param"})
# The side streams' paths: a refusal that survives a fresh token is a permission the app
# lacks for that module (the escrow pages' error table: error_auth "No permission to current
# api."), not a dead credential: the stream is skipped, the orders go on (StreamRefused).
SIDE_PATHS = frozenset({api.RETURN_LIST, api.RETURN_DETAIL, api.ESCROW_LIST, api.ESCROW_DETAIL})
PERMISSION_CODES = frozenset({"error_api_permission", "error_api_call_restricted"})
# An escrow detail Shopee refuses for this order_sn: the detail page's error table ([P1],
# FACTS.md) lists order_not_found, error_data, common.error_not_found ("supplier order item
# income not found") and error_param "The information you queried is not found."; the list
# page's adds income_not_found ("The escrow income not found."). Each is about this order,
# so its listed payout is yielded instead of failing every run.
ESCROW_REFUSED = frozenset({"order_not_found", "income_not_found", "error_data", "common.error_not_found", "error_param"})


class ShopeeAuth:
    """Adds the common parameters and the signature to each attempt (fresh timestamp)."""

    def __init__(self, partner_id: int, partner_key: str, shop_id: int, credentials: RotatingCredentials) -> None:
        self.partner_id, self._partner_key, self.shop_id, self._credentials = partner_id, partner_key, shop_id, credentials

    def apply(self, request: Outgoing) -> None:
        timestamp = int(time.time())
        request.params["partner_id"] = self.partner_id
        request.params["timestamp"] = timestamp
        if request.path in api.PUBLIC_PATHS:
            base = api.base_string(self.partner_id, request.path, timestamp)
        else:
            token = self._credentials.secret("access_token")
            request.params["access_token"] = token
            request.params["shop_id"] = self.shop_id
            base = api.base_string(self.partner_id, request.path, timestamp, token, self.shop_id)
        request.params["sign"] = api.sign(self._partner_key, base)

    def secrets(self) -> list[str]:
        return [self._partner_key, self._credentials.secret("access_token"), self._credentials.secret("refresh_token")]


class ShopeeConnector:
    channel: ClassVar[str] = "shopee"
    max_window: ClassVar[timedelta | None] = timedelta(seconds=api.MAX_RANGE_SECONDS)
    lookback: ClassVar[timedelta] = timedelta(minutes=10)
    rate_limit: ClassVar[RateLimit | None] = RateLimit(per_second=10)  # assumed, see the module docstring
    limits: ClassVar[ChannelLimits] = ChannelLimits(
        since=datetime(2015, 1, 1, tzinfo=timezone.utc),  # assumed, see the module docstring
        page_size=api.PAGE_SIZE,
        requests_per_page=1 + 2 * math.ceil(api.PAGE_SIZE / api.DETAIL_BATCH),
        orders_per_window=1_500_000,
    )
    # A returns page: the list, then get_return_detail once per return listed.
    return_limits: ClassVar[ChannelLimits] = replace(limits, page_size=api.RETURN_PAGE_SIZE, requests_per_page=1 + api.RETURN_PAGE_SIZE)
    # A settlements page: the escrow list, then get_escrow_detail once per order listed.
    settlement_limits: ClassVar[ChannelLimits] = replace(limits, page_size=api.ESCROW_PAGE_SIZE, requests_per_page=1 + api.ESCROW_PAGE_SIZE)

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
            partner_id, shop_id = int(credentials["partner_id"]), int(credentials["shop_id"])
            partner_key = reveal(credentials["partner_key"])
            reveal(credentials["access_token"]), reveal(credentials["refresh_token"])
        except (KeyError, TypeError, ValueError):
            raise CredentialError(
                "shopee: credentials need partner_id and shop_id (numbers), partner_key, access_token and refresh_token"
            ) from None
        self._credentials = RotatingCredentials(credentials, on_credentials)
        self._auth = ShopeeAuth(partner_id, partner_key, shop_id, self._credentials)
        base_url = require_https(base_url, "shopee", "signatures and access tokens travel in the query")
        self._http = HttpClient(base_url, self._auth, policy=POLICY, envelope=envelope, bucket=bucket, retry=retry or RetryConfig(), reply=reply)

    # -- contract ---------------------------------------------------------------------------
    def check(self) -> None:
        """One signed shop call: proves the key, the shop and the access token (refreshing it).

        ``get_shop_info`` also tells when the seller's authorisation ends (``expire_time``);
        a changed date is saved with the credentials.
        """
        info = self._call("GET", api.SHOP_INFO, unwrap=False)
        expire_time = info.get("expire_time")
        if isinstance(expire_time, int) and expire_time > 0 and expire_time != self._credentials.get("authorization_expires_at"):
            self._credentials.save({**self._credentials.current, "authorization_expires_at": expire_time})

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

    def orders_by_id(self, external_ids: Sequence[str]) -> Iterator[Page]:
        wanted = [i for i in external_ids if isinstance(i, str) and i.strip()]
        return lookup_pages(wanted, api.DETAIL_BATCH, self._details, counter=self._http.counter)

    def return_pages(self, window: Window, position: Position | None = None) -> Iterator[Page]:
        """Returns whose ``update_time`` lies in ``window``, as ``get_return_detail`` answers
        them, page by page. The walk places each page by the listed update times; the
        details of the returns it yields are read after it (one call each)."""
        for page in RETURN_WALK.pages(window, position, functools.partial(self._numbered_page, RETURN_LISTING), counter=self._http.counter):
            count = self._http.counter()
            records, unreadable = self._each_detail(page.records, api.RETURN_DETAIL, "return_sn", DETAIL_REFUSED)
            yield replace(page, records=records, unreadable=[*page.unreadable, *unreadable], requests=page.requests + count())

    def settlement_pages(self, window: Window, position: Position | None = None) -> Iterator[Page]:
        """Orders whose escrow was released in ``window``, each as ``get_escrow_detail``
        answers it plus its listed payout and release time, page by page."""
        for page in SETTLEMENT_WALK.pages(window, position, functools.partial(self._numbered_page, ESCROW_LISTING), counter=self._http.counter):
            count = self._http.counter()
            records, unreadable = self._each_detail(page.records, api.ESCROW_DETAIL, "order_sn", ESCROW_REFUSED, keep=("payout_amount", "escrow_release_time"))
            yield replace(page, records=records, unreadable=[*page.unreadable, *unreadable], requests=page.requests + count())

    # -- calls ------------------------------------------------------------------------------
    def _list_page(self, mark: Mark, until: int) -> Listing:
        """One get_order_list page from ``mark`` with its orders' details (``time_to`` is
        inclusive); Shopee refuses a ``time_from`` after ``time_to``, so none is asked."""
        if mark.second > until - 1:
            return Listing([])
        params = {"time_range_field": "update_time", "time_from": mark.second, "time_to": until - 1, "page_size": api.PAGE_SIZE}
        listed = self._call("GET", api.ORDER_LIST, params={**params, "cursor": mark.token, "response_optional_fields": "order_status"})
        order_list = listed.get("order_list") or []
        if not isinstance(order_list, list) or len(order_list) > api.PAGE_SIZE:
            raise ImplausibleReply(f"GET {api.ORDER_LIST}: asked for {api.PAGE_SIZE} orders a page, the reply lists more (or no list)")
        order_sns = [o.get("order_sn") for o in order_list if isinstance(o, Mapping)]
        found = self._details(list(dict.fromkeys(sn for sn in order_sns if isinstance(sn, str) and sn)))
        more = bool(listed.get("more"))  # an empty page with more to come follows next_cursor
        return Listing(found.records, str(listed.get("next_cursor") or "") if more else None, unreadable=found.unreadable)

    def _numbered_page(self, listing: NumberedList, mark: Mark, until: int) -> Listing:
        """One page of a list paged by ``page_no`` over an inclusive time range (the return
        list, the escrow list) from ``mark``, checked against the walk's assumption that it
        is ordered by the listing's time field, oldest first."""
        if mark.second > until - 1:
            return Listing([])
        params = {f"{listing.time}_from": mark.second, f"{listing.time}_to": until - 1, "page_size": listing.page_size, "page_no": mark.token}
        listed = self._call("GET", listing.path, params=params)
        elements = listed.get(listing.items) or []
        if not isinstance(elements, list) or len(elements) > listing.page_size:
            raise ImplausibleReply(f"GET {listing.path}: asked for {listing.page_size} a page, the reply lists more (or no list)")
        elements = [e for e in elements if isinstance(e, dict)]
        stamps = [t for e in elements if (t := _epoch(e, listing.stamp)) is not None]
        if any(later < earlier for earlier, later in zip(stamps, stamps[1:])):
            raise ImplausibleReply(f"GET {listing.path}: the page is not ordered by {listing.stamp}, oldest first; walking it could skip records")
        return Listing(elements, mark.token + 1 if listed.get("more") else None)

    def _each_detail(self, listed: Sequence[Mapping[str, Any]], path: str, key: str, refused: frozenset[str], keep: Sequence[str] = ()) -> tuple[list[Mapping[str, Any]], list[tuple[str, str]]]:
        """Each listed element's detail (``GET path``, one call per ``key``), in list order,
        with the listed fields ``keep`` added; the listed element where Shopee refuses the
        detail for that id (``refused``) or it names no ``key``; ``(id, reason)`` for a
        detail whose reply cannot be parsed."""
        records: list[Mapping[str, Any]] = []
        unreadable: list[tuple[str, str]] = []
        for element in listed:
            sn = element.get(key)
            if not isinstance(sn, str) or not sn.strip():
                records.append(element)  # the mapping quarantines it by its missing id
                continue
            replies, lost = isolate_unreadable([sn], functools.partial(self._one_detail, path, key, refused))
            unreadable.extend(lost)
            records.extend({**reply, **{k: element.get(k) for k in keep}} if reply is not None else element for reply in replies)
        return records, unreadable

    def _one_detail(self, path: str, key: str, refused: frozenset[str], batch: list[str], attempts: int | None) -> dict[str, Any] | None:
        """One detail call (``batch`` holds one id, sent as ``key``); None when Shopee refuses
        it for this id (``refused``). A reply about another id is implausible."""
        [sn] = batch
        try:
            detail = self._call("GET", path, params={key: sn}, attempts=attempts)
        except ApiError as exc:
            if exc.code in refused:
                return None
            raise
        if detail.get(key) != sn:
            raise ImplausibleReply(f"GET {path}: the reply is about another {key} than the one asked for")
        return detail
    def _details(self, order_sns: list[str]) -> Found:
        """Detail payloads (in batches of 50) with tracking numbers merged, unknown sns, and
        sns whose reply could not be parsed (with the reason)."""
        found = look_up(order_sns, self._detail_batch, key=lambda r: r.get("order_sn"), size=api.DETAIL_BATCH)
        self._merge_tracking(found.records)
        return found

    def _detail_batch(self, batch: list[str], attempts: int | None) -> list[dict[str, Any]]:
        """One get_order_detail call; only the orders asked for (anything else is implausible)."""
        try:
            body = self._call(
                "GET",
                api.ORDER_DETAIL,
                params={"order_sn_list": ",".join(batch), "response_optional_fields": ",".join(api.DETAIL_FIELDS)},
                attempts=attempts,
            )
        except ApiError as exc:
            if exc.code == "error_not_found":  # none of the batch belongs to the shop
                return []
            raise
        orders = [o for o in body.get("order_list") or [] if isinstance(o, dict)]
        asked = set(batch)
        if len(orders) > len(batch) or any(o.get("order_sn") not in asked for o in orders):
            raise ImplausibleReply(f"GET {api.ORDER_DETAIL}: the reply holds orders that were not asked for")
        return orders

    def _merge_tracking(self, records: list[dict[str, Any]]) -> None:
        packages = [p for r in records for p in r.get("package_list") or [] if isinstance(p, dict) and api.needs_tracking(p)]
        for start in range(0, len(packages), api.TRACKING_BATCH):
            batch = packages[start : start + api.TRACKING_BATCH]
            body = self._call("POST", api.MASS_TRACKING, json_body={"package_list": [{"package_number": p["package_number"]} for p in batch]})
            numbers = {
                s.get("package_number"): s.get("tracking_number") or ""
                for s in body.get("success_list") or []
                if isinstance(s, Mapping)
            }
            for package in batch:
                package["tracking_number"] = numbers.get(package["package_number"], "")

    def _call(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json_body: Any = None, unwrap: bool = True, attempts: int | None = None
    ) -> dict[str, Any]:
        """A shop API call's ``response`` object (the whole body if not ``unwrap``).

        An access token about to expire is refreshed first; one Shopee refuses anyway is
        refreshed once, then the call is retried.
        """
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
                if path in SIDE_PATHS:  # a fresh token refused: this module's permission, not the credential
                    raise StreamRefused(f"shopee: {path} refused with a fresh access token ({exc.code}): the app lacks the permission for it", code=exc.code) from None
                raise CredentialError(f"shopee: access token refused right after a refresh ({exc})", code=exc.code) from None
        except CredentialError as exc:
            if path in SIDE_PATHS and exc.code in PERMISSION_CODES:
                raise StreamRefused(f"shopee: {path} refused ({exc.code}): the app lacks the permission for it", code=exc.code) from None
            raise
        response = body if not unwrap else body.get("response") if isinstance(body, Mapping) else None
        if not isinstance(response, dict):
            raise ConnectorError(f"{method} {path}: the reply has no response object")
        return response

    def _refresh(self, token_used: str) -> None:
        """Trade the single-use refresh token for a new pair; the sink persists it before use
        (unless another thread refreshed meanwhile)."""
        self._credentials.rotate(self._new_tokens, stale=token_used)

    def _new_tokens(self, current: Mapping[str, Any]) -> dict[str, Any]:
        refresh_token, partner_id, shop_id = reveal(current.get("refresh_token")), self._auth.partner_id, self._auth.shop_id
        try:
            body, _ = self._http.request("POST", api.REFRESH, json_body={"refresh_token": refresh_token, "partner_id": partner_id, "shop_id": shop_id})
        except (TokenExpired, ApiError) as exc:
            raise CredentialError(f"shopee: refreshing the access token failed ({exc})", code=exc.code) from None
        access, refresh, expire_in = (body.get(k) if isinstance(body, Mapping) else None for k in ("access_token", "refresh_token", "expire_in"))
        if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh):
            raise CredentialError("shopee: the token refresh reply carries no tokens")
        now = int(time.time())
        fresh = {**current, "access_token": access, "refresh_token": refresh, "refresh_expires_at": now + int(REFRESH_TOKEN_LIFE.total_seconds())}
        fresh["access_expires_at"] = now + int(expire_in) if isinstance(expire_in, int) else None
        return fresh
