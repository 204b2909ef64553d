"""WooCommerce REST API wc/v3 connector: orders by modification time, and by id; refunds.

Sources (shared/reference/storefronts_couriers.md §2):

- woocommerce/woocommerce-rest-api-docs ``source/includes/wp-api-v3/_authentication.md``
  (Basic auth with consumer key/secret over HTTPS; OAuth 1.0a over plain HTTP),
  ``_introduction.md`` (``X-WP-Total``/``X-WP-TotalPages``, ``Link``, the
  ``{code, message, data: {status}}`` error shape), ``_orders.md`` (list parameters).
- woocommerce/woocommerce ``plugins/woocommerce/includes/rest-api/Controllers/Version3/
  class-wc-rest-crud-controller.php``: ``get_collection_params()`` (``per_page`` 1..100,
  ``modified_after``/``modified_before``, ``dates_are_gmt``, ``orderby=modified``,
  ``include`` through ``wp_parse_id_list``), ``prepare_objects_query()`` (a
  ``date_query`` on ``post_modified_gmt`` when ``dates_are_gmt``; ``ID`` appended to
  ``orderby`` "for consistency with pagination"), ``get_items()`` (headers, ``Link``);
  ``.../Version3/class-wc-rest-orders-controller.php`` (``status`` is a list, ``any``);
  ``plugins/woocommerce/tests/legacy/unit-tests/rest-api/Tests/Version3/date-filtering.php``
  (the same filters hold for posts and HPOS order tables).
- WordPress ``wp-includes/class-wp-date-query.php`` (``get_sql_for_clause``,
  ``build_mysql_datetime``): ``after`` is a strict ``>``, ``before`` a strict ``<``
  (no ``inclusive`` flag is passed), and a value carrying an offset is converted to the
  *site's* zone before it is compared, even with the GMT column.
- ``class-wc-rest-authentication.php``: a wrong secret for a known key is 401
  ``woocommerce_rest_authentication_error``; an unknown key leaves the request anonymous,
  which the orders route refuses with 401 ``woocommerce_rest_cannot_view``.

Window: ``[since, until)`` becomes ``modified_after = ceil(since) - 1 s`` and
``modified_before = ceil(until)`` with naive GMT values and ``dates_are_gmt=true``:
WooCommerce stores whole seconds and both bounds are exclusive, so this is exactly the
half-open window. Values carry no offset on purpose (see WP_Date_Query above).

Resumption (``Page.position = {"modified_after": <naive GMT>, "page": n, "seen": [ids]}``):
plain page numbers are unsafe, because an order modified while we walk leaves its place,
every later order moves up one slot, and ``page + 1`` skips one of them for good. So the
walk is the kit's ``TimeCursorWalk`` (``connectors._http.walk``): after each page it
restarts at page 1 from ``modified_after = (newest date_modified_gmt on the page) - 1 s``
(the bound is exclusive), drops the orders of that second it already yielded (``seen``:
those of the last page), goes on at the next page number while a whole page shares one
second (page 2 when that second is new: page 1 is the page just read), and follows the
page number when a page holds an order whose time it cannot place (none, or at or after
the window's end: a year-9999 time must not skip the rest of the window). An empty or
short page is not the end while ``X-WP-TotalPages``
says more follow (``get_items`` drops orders the key may not read *after* the query, so a
page can come back empty yet counted): the walk goes on at the next page number.
Residual risk: while more than 100 orders share one second, one of
them changing during the walk can still shift one order of that second past us
(``exclude=`` of every id seen would close that gap but grows the URL without bound); and
sites on the posts table sort by local ``post_modified``, which disagrees with GMT order
only in a daylight-saving fall-back hour (Indonesia has none).

Where the sources are silent, we assume:

- the external id is ``id`` as a string (``number`` is a display value plugins rewrite);
- ``status=any`` (every status but ``trash``) is what a sync wants; trashed orders are
  invisible to the list and to ``include`` alike, so they are reported missing;
- core wc/v3 has no rate limit, but hosts and WAFs answer 429: retried like 5xx,
  honouring ``Retry-After``; 401/403 (and the two auth codes above) are a refused
  credential, never retried; ``rest_invalid_param``, ``rest_no_route`` and other 4xx fail;
- consumer keys do not rotate, so ``on_credentials`` is never called;
- ``rate_limit`` is 5 requests/s per shop, burst 1: core WooCommerce publishes no limit,
  but the API is the shop's own PHP server (a page of 100 orders costs it a good fraction
  of a second) and hosts and WAFs throttle well below what a loop could send, so we stay
  polite; an operator raises it with ``SIMPUL_RATE_LIMITS=woocommerce=RATE[:BURST]``;
- ``max_window`` is None: the API has no range limit and keyset restarts keep every
  query at page 1, so no chunking is needed; ``lookback`` of 10 minutes covers a save
  whose ``date_modified`` was stamped before a slow request committed.

Limits (``limits``): no order predates WooCommerce (first released September 2011;
assumed from its public history); a page holds at most 100 orders and costs one request
(``return_limits``: in the returns walk, one more per refunded order on it, at most 101);
a window (which has no documented size) plausibly holds at most 2,000,000 orders, far
above the biggest shops on the platform (assumed). What a reply says is checked against
them: ``X-WP-TotalPages`` must lie between ``ceil(X-WP-Total / 100)`` (``get_items``
computes ``ceil(total / per_page)``; a host may cap ``per_page`` lower) and one order a
page, the total must stay under the ceiling, and a page may not hold more orders than
asked for; otherwise the run fails (``ImplausibleReply``) instead of walking a million
claimed pages. The checked page count goes to the engine (``Page.reported_pages``), which
derives the window's page budget from it. A lookup batch (``include=``) whose reply
cannot be parsed is asked again in halves down to single orders
(``connectors._http.batches``); a listing page cannot be split that way and fails the run.

Returns (``return_pages``): WooCommerce's returns are its refunds (shared/reference/
storefronts_couriers.md §2.4; woocommerce-rest-api-docs ``_order-refunds.md``), read per
order with ``GET /wp-json/wc/v3/orders/<id>/refunds`` (``per_page`` up to 100, the same
``X-WP-Total``/``X-WP-TotalPages`` paging). The walk is the orders walk above over the same
window and positions, asking only ``_fields=id,currency,date_modified_gmt,refunds``
(WordPress's global ``_fields`` parameter, developer.wordpress.org/rest-api/
global-parameters/, since WordPress 4.9.8): every order modified in the window whose
embedded ``refunds[]`` summary is not empty has its refunds read (the kit's ``look_up``,
one order a request, an unreadable reply isolated and quarantined under the order's id),
and the page yields one record per refund: the refund object as the API renders it, plus
``"order": {"id", "currency"}`` from the listing (a refund names neither). Why orders
modified in the window find every new refund: ``wc_create_refund()`` ends with
``$order->set_date_modified( time() ); $order->save();`` (``includes/wc-order-functions.php``;
the ``order.updated`` webhook fires on ``woocommerce_order_refunded`` too, §2.5), so a
refund moves its order into the window it was made in. A refund has no modification time
and no update route; its record is versioned by ``date_created_gmt`` (the mapping,
``mappings.woocommerce_returns``, says why). The refunds route answers an order it does not
know with an empty list (``get_items`` filters refunds by parent); a refund whose order
vanished while it is rendered is 404 ``woocommerce_rest_invalid_order_id``
(``prepare_object_for_response``), read here as "no refunds any more".

The store-wide ``GET /wp-json/wc/v3/refunds`` (``WC_REST_Refunds_Controller``,
``Version3/class-wc-rest-refunds-controller.php``, ``@since 9.0.0``: every refund with its
``parent_id``, filterable by ``after``/``modified_after``) is not used: it exists only on
WooCommerce 9.0 (released 2024-06-18) and later, while the orders walk works on every
version this connector supports; it renders no currency, so its records would still need
their orders; and the refund's own modification time it filters by is rendered nowhere
(``get_formatted_item_data`` has no ``date_modified``), so a keyset walk could not place its
pages. Reading per order costs a request per refunded order on a page
(``limits.requests_per_page`` counts them).

Most orders hold no refund, so most listing pages of the returns walk yield no record; the
engine stops a walk after ten pages in a row that bring nothing new (its guard against a
channel paging forever without data). So each page names the orders it walked past
(``Page.scanned``: ``id@date_modified_gmt``), which the guard counts as progress, while the
same orders served again (a stuck listing) are not.

Assumed for the returns walk: a refund listing of one order beyond ``MAX_REFUND_PAGES``
pages of 100 (10,000 refunds) is implausible and fails the run; a deleted refund
(``DELETE ...?force=true``) is not seen: nothing lists what is gone, and deleting one is
assumed not to save its order (a third-party plugin saves the order itself for exactly
this reason; not checked in core), so its row stays until a person removes it.

Real WooCommerce accepts Basic auth only over HTTPS (plain HTTP needs OAuth 1.0a), so a
base URL must be ``https://``; plain ``http://`` is accepted for loopback hosts only, where
the sandbox stands in for HTTPS.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any, ClassVar

import requests

from connectors._http import (
    DEFAULT_POLICY,
    Action,
    ApiError,
    BasicAuth,
    ConnectorError,
    CredentialError,
    HttpClient,
    ImplausibleReply,
    ReplyLimits,
    Resolution,
    RetryConfig,
    TokenBucket,
    Unlimited,
)
from connectors._http.batches import look_up, lookup_pages
from connectors._http.secret import reveal
from connectors._http.urls import require_https
from connectors._http.walk import Listing, Mark, PositionFormat, TimeCursorWalk
from connectors.contract import ChannelLimits, CredentialSink, Page, Position, RateLimit, Window

ORDERS = "/wp-json/wc/v3/orders"
REFUNDS = ORDERS + "/{order_id}/refunds"
PER_PAGE = 100  # the API's maximum
RETURN_FIELDS = "id,currency,date_modified_gmt,refunds"  # what the returns walk reads of an order (_fields)
MAX_REFUND_PAGES = 10  # assumed: more than 10,000 refunds of one order is not a real reply
ORDER_GONE = "woocommerce_rest_invalid_order_id"

POLICY = {
    **DEFAULT_POLICY,
    "woocommerce_rest_authentication_error": Resolution(Action.CREDENTIAL, "credentials refused"),
    "woocommerce_rest_cannot_view": Resolution(Action.CREDENTIAL, "not allowed to read orders"),
    "rest_invalid_param": Resolution(Action.FAIL, "invalid parameter"),
    "rest_no_route": Resolution(Action.FAIL, "no such route (is WooCommerce active and are pretty permalinks on?)"),
    "woocommerce_rest_shop_order_invalid_id": Resolution(Action.FAIL, "no such order"),
    ORDER_GONE: Resolution(Action.FAIL, "no such order (its refunds were asked for)"),
}


def envelope(status: int, body: Any) -> tuple[int | str, str] | None:
    """WordPress's ``{code, message, data}`` error: its code when we know it, else the status."""
    if status < 400 or not isinstance(body, Mapping) or not isinstance(body.get("code"), str):
        return None
    code, message = body["code"], body.get("message")
    detail = f"{code}: {message}"[:200] if isinstance(message, str) else code
    return (code if code in POLICY else status), detail


def _naive_gmt(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _epoch(naive_gmt: str) -> float:
    return datetime.fromisoformat(naive_gmt).replace(tzinfo=timezone.utc).timestamp()


def _modified(record: Mapping[str, Any]) -> float | None:
    value = record.get("date_modified_gmt")
    try:
        return _epoch(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _order_id(record: Mapping[str, Any]) -> str:
    return str(record.get("id"))


WALK = TimeCursorWalk(
    "woocommerce",
    "orders",
    key=_order_id,
    stamp=_modified,
    # modified_after is exclusive: the stored value is the second before the walk's.
    format=PositionFormat(second="modified_after", token="page", write_second=lambda s: _naive_gmt(s - 1), read_second=lambda v: _epoch(v) + 1),
    first=1,
    second_page=2,
    follow_unplaced=True,
    carry_seen=False,
)


class WooCommerceConnector:
    channel: ClassVar[str] = "woocommerce"
    max_window: ClassVar[timedelta | None] = None
    lookback: ClassVar[timedelta] = timedelta(minutes=10)
    rate_limit: ClassVar[RateLimit | None] = RateLimit(per_second=5)  # assumed, see the module docstring
    limits: ClassVar[ChannelLimits] = ChannelLimits(
        since=datetime(2011, 9, 1, tzinfo=timezone.utc), page_size=PER_PAGE, requests_per_page=1, orders_per_window=2_000_000
    )  # assumed, see the module docstring
    return_limits: ClassVar[ChannelLimits] = replace(limits, requests_per_page=1 + PER_PAGE)  # a returns page reads each refunded order's refunds

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
        key, secret = reveal(credentials.get("consumer_key")), reveal(credentials.get("consumer_secret"))
        if not (key and secret):
            raise CredentialError("woocommerce: credentials need consumer_key and consumer_secret")
        self._http = HttpClient(
            require_https(base_url, "woocommerce", "WooCommerce takes Basic auth only over TLS"),
            BasicAuth(key, secret),
            policy=POLICY,
            envelope=envelope,
            bucket=bucket,
            retry=retry or RetryConfig(),
            reply=reply,
        )

    def check(self) -> None:
        """One list request for a single order: proves the key may read orders."""
        self._get({"per_page": 1})

    def order_pages(self, window: Window, position: Position | None = None) -> Iterator[Page]:
        return WALK.pages(window, position, self._list_page, counter=self._http.counter)

    def orders_by_id(self, external_ids: Sequence[str]) -> Iterator[Page]:
        """Ids are WooCommerce order ids (``id``, not ``number``), up to 100 per request."""
        wanted = list(dict.fromkeys(external_ids))
        malformed = [i for i in wanted if not _is_order_id(i)]
        ids = [i for i in wanted if _is_order_id(i)]
        if not ids:
            return iter([Page(records=[], position=None, missing=malformed)])
        find = partial(look_up, fetch=self._include, key=_order_id, size=PER_PAGE)
        return lookup_pages(ids, PER_PAGE, find, counter=self._http.counter, missing=malformed)

    def return_pages(self, window: Window, position: Position | None = None) -> Iterator[Page]:
        """The refunds of the orders modified in ``window`` (module docstring), with the orders
        walk's positions; each page names the orders it walked past without a refund
        (``Page.scanned``)."""
        for page in WALK.pages(window, position, partial(self._list_page, fields=RETURN_FIELDS), counter=self._http.counter):
            count = self._http.counter()
            refunded = {_order_id(o): o for o in page.records if _has_refunds(o)}
            found = look_up(list(refunded), partial(self._refunds, refunded), key=_refund_order, size=1)
            scanned = [f"{_order_id(o)}@{o.get('date_modified_gmt')}" for o in page.records if _order_id(o) not in refunded]
            yield replace(page, records=found.records, requests=page.requests + count(), unreadable=[*page.unreadable, *found.unreadable], scanned=scanned)

    def _refunds(self, orders: Mapping[str, Mapping[str, Any]], batch: list[str], attempts: int | None) -> list[dict[str, Any]]:
        """Every refund of the one order in ``batch``, as a returns record."""
        (order_id,) = batch
        order = {"id": orders[order_id]["id"], "currency": orders[order_id].get("currency")}
        path, records, page = REFUNDS.format(order_id=order_id), [], 1
        while True:
            params = {"per_page": PER_PAGE, "page": page, "orderby": "id", "order": "asc"}
            try:
                body, response = self._http.request("GET", path, params=params, attempts=attempts)
            except ApiError as exc:
                if exc.code == ORDER_GONE:  # deleted since the listing: nothing to read any more
                    return []
                raise
            if not isinstance(body, list):
                raise ConnectorError(f"GET {REFUNDS}: expected a JSON list of refunds, got {type(body).__name__}")
            if len(body) > PER_PAGE:
                raise ImplausibleReply(f"GET {REFUNDS}: asked for {PER_PAGE} refunds a page, the reply holds {len(body)}")
            records.extend({**r, "order": order} if isinstance(r, Mapping) else r for r in body)
            if _is_last(page, body, response):
                return records
            page += 1
            if page > MAX_REFUND_PAGES:
                raise ImplausibleReply(f"GET {REFUNDS}: more than {MAX_REFUND_PAGES} pages of refunds for one order")

    def _list_page(self, mark: Mark, until: int, *, fields: str | None = None) -> Listing:
        params = {"modified_after": _naive_gmt(mark.second - 1), "modified_before": _naive_gmt(until), "dates_are_gmt": "true"}
        if fields is not None:
            params["_fields"] = fields
        records, response = self._get({**params, "orderby": "modified", "order": "asc", "status": "any", "per_page": PER_PAGE, "page": mark.token})
        pages = self._reported_pages(response)
        return Listing(records, None if _is_last(mark.token, records, response) else mark.token + 1, reported_pages=pages)

    def _include(self, batch: list[str], attempts: int | None) -> list[dict[str, Any]]:
        records, _ = self._get({"include": ",".join(batch), "per_page": len(batch), "status": "any", "orderby": "id", "order": "asc"}, attempts=attempts)
        asked = set(batch)
        if any(str(r.get("id")) not in asked for r in records):
            raise ImplausibleReply(f"GET {ORDERS}: the reply holds orders that were not asked for")
        return records

    def _get(self, params: dict[str, Any], *, attempts: int | None = None) -> tuple[list[dict[str, Any]], requests.Response]:
        body, response = self._http.request("GET", ORDERS, params=params, attempts=attempts)
        if not isinstance(body, list):
            raise ConnectorError(f"GET {ORDERS}: expected a JSON list of orders, got {type(body).__name__}")
        if len(body) > int(params.get("per_page", 10)):
            raise ImplausibleReply(f"GET {ORDERS}: asked for {params.get('per_page', 10)} orders a page, the reply holds {len(body)}")
        return body, response

    def _reported_pages(self, response: requests.Response) -> int | None:
        """``X-WP-TotalPages``, checked against ``X-WP-Total`` and the window's ceiling.

        ``get_items`` computes ``ceil(total / per_page)``; a host may cap ``per_page`` below
        what we ask, so any count from ``ceil(total / 100)`` to one order a page is plausible.
        """
        total, pages = (response.headers.get(h, "").strip() for h in ("X-WP-Total", "X-WP-TotalPages"))
        if not pages.isdigit():
            return None
        ceiling = self.limits.orders_per_window
        if total.isdigit():
            if int(total) > ceiling:
                raise ImplausibleReply(f"GET {ORDERS}: X-WP-Total says {int(total):,} orders, more than a window plausibly holds ({ceiling:,})")
            if not -(-int(total) // PER_PAGE) <= int(pages) <= max(int(total), 1):
                raise ImplausibleReply(f"GET {ORDERS}: X-WP-TotalPages says {int(pages):,} pages for X-WP-Total {int(total):,} orders")
        elif int(pages) > ceiling:
            raise ImplausibleReply(f"GET {ORDERS}: X-WP-TotalPages says {int(pages):,} pages, more than a window plausibly holds")
        return int(pages)


def _is_last(page: int, records: Sequence[Any], response: requests.Response) -> bool:
    """The API's page count decides; without one, a short page is the last."""
    total_pages = response.headers.get("X-WP-TotalPages", "")
    if total_pages.isdigit():
        return page >= int(total_pages)
    return len(records) < PER_PAGE


def _has_refunds(order: Mapping[str, Any]) -> bool:
    """The order's embedded ``refunds[]`` summary names at least one refund, and its id can
    be asked for (an order with a broken id is the orders stream's to quarantine)."""
    refunds = order.get("refunds") if isinstance(order, Mapping) else None
    return bool(refunds) and isinstance(refunds, list) and _is_order_id(_order_id(order))


def _refund_order(record: Mapping[str, Any]) -> str:
    """The order a returns record was read for (``look_up``'s key)."""
    order = record.get("order") if isinstance(record, Mapping) else None
    return str(order.get("id")) if isinstance(order, Mapping) else ""


def _is_order_id(text: str) -> bool:
    return isinstance(text, str) and text.isdigit() and text == str(int(text)) and int(text) > 0
