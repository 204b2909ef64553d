"""KiriminAja connector: pull tracking of express parcels booked through KiriminAja.

**KiriminAja tracks only parcels booked through KiriminAja** (its Mitra API creates the
order and the airway bill); any other waybill, even of a courier KiriminAja resells, is
unknown to it and reported missing. Use Biteship (public tracking) for the rest.

Sources (shared/reference/storefronts_couriers.md §4, and the pages it cites):

- developer.kiriminaja.com/docs/order/tracking and /docs/express/tracking: ``POST
  /api/mitra/tracking`` with ``{"order_id": "<order id or AWB>"}`` (a string of at most
  20 characters), ``Authorization: Bearer {token}``; the reply ``{status, text, method:
  "shTracking", status_code, details{awb, order_id, service, ...}, histories[]}``. The
  page's "Limitations" note (as mirrored in ongkipro/kiriminaja-documentation
  ``documents/05-order/04-tracking.md``): "we implement throttling ... you may receive a
  429 Too Many Requests response".
- developer.kiriminaja.com/docs/introduction (kiriminaja/kiriminaja-docs
  ``content/1.docs/1.introduction/1.index.md``): "We use HTTP Response Status Code 200 for
  every response from the API with a body status and text"; codes other than 200 come from
  server trouble or a bad request. Sandbox ``https://tdev.kiriminaja.com``; production
  ``https://client.kiriminaja.com`` (the mirror's introduction; the reference had it as
  inferred).
- /docs/order/tracking-instant: the documented not-found body ``{"status": false, "text":
  "data not found", "code": 2, ...}``.

Which reply means what (the express not-found and auth bodies are **inferred**):

- **found**: HTTP 200 with ``status: true``; ``details.awb`` or ``details.order_id`` must be
  the number asked for, else the reply is implausible.
- **missing**: HTTP 200 with ``status: false`` and ``code`` 2 or a ``text`` saying "not
  found" / "tidak ditemukan": we assume the express endpoint answers an unknown order id or
  AWB as the instant endpoint documents. A tracking number longer than 20 characters cannot
  be a KiriminAja order id or AWB (the documented maximum) and is reported missing without
  a request.
- **credential error** (``CredentialError``, never retried): HTTP 401/403, or ``status:
  false`` with a ``text`` about authentication ("Unauthenticated.", "Unauthorized", an
  invalid token or API key). KiriminAja runs on Laravel (its ``...000000Z`` timestamps);
  Laravel's auth failure text is "Unauthenticated." and the introduction says errors come
  with HTTP 200, so we accept either status.
- **retried**: 429 (documented), 5xx, timeouts, resets, truncated bodies.
- any other ``status: false`` (a validation message, for example) fails the run as
  ``ApiError``.

Rate limit: KiriminAja publishes no number ("contact our technical team"). We assume one
request per second per account, which stays under Laravel's default API throttle of 60
requests a minute (**inferred**: KiriminAja may configure another). Override with
``SIMPUL_RATE_LIMITS=kiriminaja=RATE[:BURST]``.

Times in the reply (``histories[].created_at``, ``shipped_at``, ``delivered_at``,
``refunded_at``) are ``YYYY-MM-DD HH:MM:SS`` without a zone (WIB, assumed); the mapping
converts them, the connector hands them on untouched. ``status_code`` values follow
KiriminAja's status-mapping page (developer.kiriminaja.com/docs/important-notes/
status-mapping: 100 created ... 106 in transit, 152 re-delivery, 200 delivered, 301
refused, 400 returned, 701 lost ...); ``refunded`` means returned to sender.

Courier: the key's courier is not sent (KiriminAja knows it from the order). When both the
key's courier is in ``COURIER_CODES`` and the reply names a ``details.service``, they must
agree; otherwise the number belongs to another courier's parcel and the key is reported
missing. The table holds only codes seen in KiriminAja's own examples and SDKs (``jne``,
``jnt``, ``sicepat``, ``anteraja``, ``ninja``, ``tiki``, ``sap``, ``lion``; **inferred**
for all but ``jne``), taken from the shared table's KiriminAja rows (``mappings.couriers``); a courier outside
it is not checked. Keys do not rotate, so ``on_credentials`` is never called.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, ClassVar

from connectors._http import (
    DEFAULT_POLICY,
    Action,
    ApiError,
    CredentialError,
    HttpClient,
    ImplausibleReply,
    Outgoing,
    ReplyLimits,
    Resolution,
    RetryConfig,
    TokenBucket,
    Unlimited,
)
from connectors._http.batches import keyed_pages
from connectors._http.secret import reveal
from connectors._http.urls import require_https
from connectors.contract import ChannelLimits, CredentialSink, Page, ParcelKey, RateLimit
from mappings.couriers import KIRIMINAJA_COURIERS

TRACKING = "/api/mitra/tracking"
ORDER_ID_MAX = 20  # documented: order_id string(max:20)
BATCH = 20
NOT_FOUND_CODE = 2  # the instant tracking's documented not-found code

# Simpul courier code -> KiriminAja ``service`` code (see the module docstring).
COURIER_CODES: Mapping[str, str] = {simpul: own for own, simpul in KIRIMINAJA_COURIERS.items()}

POLICY = {
    **DEFAULT_POLICY,
    "kiriminaja_auth": Resolution(Action.CREDENTIAL, "API key refused"),
    "kiriminaja_error": Resolution(Action.FAIL, "KiriminAja refused the request"),
}

_AUTH_TEXT = re.compile(r"unauthenticated|unauthori[sz]ed|invalid (api[ _-]?)?(key|token)|token (is )?(invalid|expired)", re.IGNORECASE)
_NOT_FOUND_TEXT = re.compile(r"not found|tidak ditemukan", re.IGNORECASE)

UNREADABLE = "KiriminAja's reply for this parcel cannot be parsed (not valid JSON); the next poll asks again"


def is_not_found(body: Any) -> bool:
    if not isinstance(body, Mapping) or body.get("status") is not False:
        return False
    text = body.get("text")
    return body.get("code") == NOT_FOUND_CODE or (isinstance(text, str) and bool(_NOT_FOUND_TEXT.search(text)))


def envelope(status: int, body: Any) -> tuple[int | str, str] | None:
    """``status: false`` is an error unless it says the parcel is unknown (an answer)."""
    if not isinstance(body, Mapping) or (status < 400 and body.get("status") is True):
        return None  # a found parcel's ``text`` is courier free text: never read it as an error
    text = body.get("text") if isinstance(body.get("text"), str) else body.get("message")
    detail = str(text)[:200] if isinstance(text, str) and text else f"HTTP {status}"
    if isinstance(text, str) and _AUTH_TEXT.search(text):
        return "kiriminaja_auth", detail
    if body.get("status") is not False or status >= 400:
        return (status, detail) if status >= 400 else None
    if is_not_found(body):
        return None
    return "kiriminaja_error", detail


class BearerAuth:
    def __init__(self, token: str) -> None:
        self._token = token

    def apply(self, request: Outgoing) -> None:
        request.headers["Authorization"] = "Bearer " + self._token
        request.headers["Accept"] = "application/json"

    def secrets(self) -> Iterable[str]:
        return (self._token,)


class KiriminAjaConnector:
    channel: ClassVar[str] = "kiriminaja"
    couriers: ClassVar[frozenset[str]] = frozenset(COURIER_CODES)  # the Simpul courier codes it tracks
    rate_limit: ClassVar[RateLimit | None] = RateLimit(per_second=1)  # assumed, see the module docstring
    limits: ClassVar[ChannelLimits] = ChannelLimits(
        since=datetime(2018, 1, 1, tzinfo=timezone.utc),  # assumed: before KiriminAja's Mitra API
        page_size=BATCH,
        requests_per_page=BATCH,
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
        token = reveal(credentials.get("api_key")).strip()
        if not token:
            raise CredentialError("kiriminaja: credentials need api_key")
        self._http = HttpClient(
            require_https(base_url, "kiriminaja", "the API key travels in a header"),
            BearerAuth(token),
            policy=POLICY,
            envelope=envelope,
            bucket=bucket,
            retry=retry or RetryConfig(),
            reply=reply,
        )

    def check(self) -> None:
        """One tracking call for an id no order has: an unknown-parcel answer proves the key.

        The Mitra API has no documented read-only "who am I" call that costs less; a
        refused key raises ``CredentialError`` here.
        """
        body, _ = self._http.request("POST", TRACKING, json_body={"order_id": "SIMPUL-CHECK"})
        if not isinstance(body, Mapping) or not (body.get("status") is True or is_not_found(body)):
            raise ApiError(f"POST {TRACKING}: expected a tracking reply")

    def parcels(self, keys: Sequence[ParcelKey]) -> Iterator[Page]:
        return keyed_pages(keys, BATCH, self._track, counter=self._http.counter, unreadable=UNREADABLE)

    def _track(self, key: ParcelKey) -> Mapping[str, Any] | None:
        number = key.tracking_number.strip()
        if not number or len(number) > ORDER_ID_MAX:
            return None
        body, _ = self._http.request("POST", TRACKING, json_body={"order_id": number})
        if is_not_found(body):
            return None
        if not isinstance(body, Mapping) or body.get("status") is not True or not isinstance(body.get("details"), Mapping):
            raise ApiError(f"POST {TRACKING}: expected a tracking reply with details")
        details = body["details"]
        if number not in {str(details.get("awb") or "").strip(), str(details.get("order_id") or "").strip()}:
            raise ImplausibleReply(f"POST {TRACKING}: the reply tracks another parcel than the one asked for")
        service = details.get("service")
        expected = COURIER_CODES.get(key.courier.strip().lower())
        if isinstance(service, str) and service and expected is not None and service.lower() != expected:
            return None  # the number is another courier's parcel at KiriminAja: not the one asked for
        return body
