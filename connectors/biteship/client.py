"""Biteship connector: public tracking of any waybill, one parcel per request.

Sources (shared/reference/storefronts_couriers.md §3, and the pages it cites):

- biteship.com/id/docs/api/authentication: the API key goes **raw** in the
  ``authorization`` header (the curl example: ``--header 'authorization:
  <<YOUR_API_KEY>>'``; the prose says "HTTP Basic", the example does not); keys start
  ``biteship_live.`` or ``biteship_test.``; the authentication error codes ``40000001``,
  ``40101001``, ``40101002``, ``40101003``, ``40301001``, ``40301002``.
- biteship.com/id/docs/errors: the envelope ``{"success": false, "error": "..."}`` and the
  statuses 200/400/401/402/403/404/500 ("404 - The request is not exist").
- biteship.com/en/docs/api/trackings/retrieve_public: ``GET
  /v1/trackings/:waybill_id/couriers/:courier_code`` tracks "any other waybill from any
  other source"; courier codes come from the Courier API (``GET /v1/couriers``).
- help.biteship.com article 40080182901145 ("Biteship API Rate Limit Restrictions in
  Production and Sandbox"): Tracking 50 requests/s and Courier 10 requests/s in
  production, every API 5 requests/s in the sandbox (test keys). Not in the reference
  yet; found with the docs search for this connector.

What ``parcels(keys)`` yields: one page per ``BATCH`` keys (in the order asked, duplicates
dropped); ``records`` are Biteship's tracking replies exactly as sent (``success``,
``waybill_id``, ``courier``, ``history[]``, ``status``...), one per parcel it knows;
``missing`` holds ``ParcelKey.text`` of each parcel it does not know; ``unreadable`` a
parcel whose own reply could not be parsed even after retries; ``requests`` the HTTP
requests the page cost (one per parcel, retries included).

Which reply means what (assumptions where the sources are silent):

- **found**: HTTP 200 with ``success: true``. The reply must name the waybill asked for
  (``waybill_id``, compared without case and surrounding blanks), else it is implausible.
- **missing**: HTTP 404 with Biteship's envelope (``success: false``) on the tracking path:
  the docs' "the request is not exist" for a waybill Biteship cannot find at that courier
  (**inferred**: the not-found body is not in our sources). A 404 *without* the envelope
  (a proxy, a wrong base URL) is an error, not a missing parcel, so a misconfigured
  account never turns every parcel into "missing". A key whose courier Biteship does not
  track (not in ``COURIER_CODES``) is reported missing without a request.
- **credential error** (``CredentialError``, never retried): any of the six documented
  authentication codes in the envelope, whatever the HTTP status (``40000001`` comes with
  a 400; we read the code's first three digits as its HTTP status: **inferred**), and a
  plain 401/403.
- **retried** (``TransientError``): 429 (Biteship's over-the-limit answer is not in our
  sources; **inferred**: 429, honouring ``Retry-After`` if sent), 5xx, timeouts, resets and
  truncated bodies, within the kit's retry budget.
- anything else (400, 402, 404 off the envelope, ``success: false`` with HTTP 200) fails
  the run as ``ApiError``.

Rate limit: ``RateLimit(per_second=5)`` per account: the documented sandbox limit, and a
tenth of production's documented 50/s for tracking, because one Simpul account may share
its key with the seller's own tools. Raise it with ``SIMPUL_RATE_LIMITS=biteship=RATE``.

Courier codes: ``COURIER_CODES`` translates Simpul's courier codes to Biteship's. It is
the shared table's Biteship rows (``mappings.couriers``, with their evidence); the
codes are Biteship's as client code and the Courier API examples use them (``jne``,
``jnt``, ``sicepat``, ``anteraja``, ``ninja``, ``pos``, ``tiki``, ``idexpress``, ``sap``,
``lion``, ``wahana``, ``rpx``; **inferred**, the Courier API list is not in our sources).

Keys do not rotate, so ``on_credentials`` is never called. The key travels in a header,
so the base URL must be https (plain http only to a loopback sandbox).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, ClassVar
from urllib.parse import quote

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
from mappings.couriers import BITESHIP_COURIERS

COURIERS = "/v1/couriers"
TRACKING = "/v1/trackings/{waybill_id}/couriers/{courier_code}"
BATCH = 20  # parcels per page: one request each, so a page is ~4 s at 5 requests/s
NOT_FOUND = "biteship_not_found"

# Simpul courier code -> Biteship courier code (see the module docstring).
COURIER_CODES: Mapping[str, str] = {simpul: own for own, simpul in BITESHIP_COURIERS.items()}

AUTH_CODES: Mapping[int, str] = {  # biteship.com/id/docs/api/authentication
    40000001: "authentication for the key failed",
    40101001: "authorization failed",
    40101002: "no account found for the key",
    40101003: "authorization could not be processed",
    40301001: "no matching token for the key",
    40301002: "user information not found",
}

POLICY = {
    **DEFAULT_POLICY,
    **{str(code): Resolution(Action.CREDENTIAL, message) for code, message in AUTH_CODES.items()},
    NOT_FOUND: Resolution(Action.FAIL, "waybill not found"),
    "biteship_error": Resolution(Action.FAIL, "Biteship refused the request"),
}

UNREADABLE = "Biteship's reply for this parcel cannot be parsed (not valid JSON); the next poll asks again"


def envelope(status: int, body: Any) -> tuple[int | str, str] | None:
    """Biteship's ``{"success": false, "error": ..., "code"?}``: the policy key it means."""
    if not isinstance(body, Mapping) or body.get("success") is not False:
        return None
    error, code = body.get("error"), body.get("code")
    detail = str(error)[:200] if isinstance(error, str) and error else "success: false"
    if isinstance(code, int) and not isinstance(code, bool) and code in AUTH_CODES:
        return str(code), f"{code}: {detail}"
    if status == 404:
        return NOT_FOUND, detail
    if status < 400:
        return "biteship_error", detail
    return status, detail


class RawKeyAuth:
    """The key itself as the ``authorization`` header, as Biteship's example sends it."""

    def __init__(self, key: str) -> None:
        self._key = key

    def apply(self, request: Outgoing) -> None:
        request.headers["Authorization"] = self._key

    def secrets(self) -> Iterable[str]:
        return (self._key,)


class BiteshipConnector:
    channel: ClassVar[str] = "biteship"
    couriers: ClassVar[frozenset[str]] = frozenset(COURIER_CODES)  # the Simpul courier codes it tracks
    rate_limit: ClassVar[RateLimit | None] = RateLimit(per_second=5)  # see the module docstring
    limits: ClassVar[ChannelLimits] = ChannelLimits(
        since=datetime(2019, 1, 1, tzinfo=timezone.utc),  # assumed: before Biteship's API existed
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
        key = reveal(credentials.get("api_key")).strip()
        if not key:
            raise CredentialError("biteship: credentials need api_key")
        self._http = HttpClient(
            require_https(base_url, "biteship", "the API key travels in a header"),
            RawKeyAuth(key),
            policy=POLICY,
            envelope=envelope,
            bucket=bucket,
            retry=retry or RetryConfig(),
            reply=reply,
        )

    def check(self) -> None:
        """``GET /v1/couriers``: one cheap call that proves the key."""
        body, _ = self._http.request("GET", COURIERS)
        if not isinstance(body, Mapping) or body.get("success") is not True:
            raise ApiError(f"GET {COURIERS}: expected a success reply")

    def parcels(self, keys: Sequence[ParcelKey]) -> Iterator[Page]:
        return keyed_pages(keys, BATCH, self._track, counter=self._http.counter, unreadable=UNREADABLE)

    def _track(self, key: ParcelKey) -> Mapping[str, Any] | None:
        """The tracking reply for one parcel, or None when Biteship does not know it."""
        courier = COURIER_CODES.get(key.courier.strip().lower())
        waybill = key.tracking_number.strip()
        if courier is None or not waybill:
            return None
        path = TRACKING.format(waybill_id=quote(waybill, safe=""), courier_code=courier)
        try:
            body, _ = self._http.request("GET", path)
        except ApiError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise
        if not isinstance(body, Mapping) or body.get("success") is not True:
            raise ApiError(f"GET {TRACKING}: expected a tracking object")
        answered = body.get("waybill_id")
        if isinstance(answered, str) and answered.strip().upper() != waybill.upper():
            raise ImplausibleReply(f"GET {TRACKING}: the reply tracks another waybill than the one asked for")
        return body
