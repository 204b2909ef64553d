"""The parts of the TikTok Shop Partner API (v202309) that the client and the sandbox share.

Sources (shared/reference/marketplaces.md §2; keys as listed there):

- [T2] "Sign your API request": query parameters except ``sign`` and ``access_token``,
  sorted by key, concatenated as ``{key}{value}``, the request path in front, the raw
  body behind (unless the body is ``multipart/form-data``), the whole wrapped in the app
  secret, HMAC-SHA256 keyed with the app secret, lowercase hex. Its worked example is the
  known-answer test in ``tests/tiktok/test_sandbox.py``.
- [T3] "Common errors": ``timestamp`` in Unix seconds, valid from 5 minutes before to 30
  seconds after the server's time (36009004); the error codes in ``client.POLICY``.
- [T1] authorization guide: ``GET /api/v2/token/refresh`` on the auth host, absolute
  expiry epochs in ``access_token_expire_in``/``refresh_token_expire_in``, 7-day access
  tokens.
- [T8]/[T9] "Get Order List" / "Get Order Detail": ``POST /order/202309/orders/search``
  with ``page_size`` 1..100 and ``page_token``; ``GET /order/202309/orders`` with at most
  50 ``ids``.
- [T12]/[T13] "Search Cancellations" / "Search Returns" (documented: the doc pages' own
  specification, mirrored in ``lazykern/ecommerce-api-docs``
  ``data/raw/tiktok/api-reference/return-and-refund/search-cancellations.spec.json`` and
  ``search-returns.spec.json``): ``POST /return_refund/202309/cancellations/search`` and
  ``POST /return_refund/202309/returns/search``, ``page_size`` "Upper limit 50" (cancellations
  "[1-50]", returns "[10-50]"), default 10.

Only the signer and plain constants live here. The sandbox has its own signer, written
again from [T2]; tests pin both to the documented example, so sharing this one with the
client cannot hide a bug in it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

API_HOST = "https://open-api.tiktokglobalshop.com"  # [T2]
AUTH_HOST = "https://auth.tiktok-shops.com"  # [T1]
SANDBOX_API_HOST = "https://open-api-sandbox.tiktokglobalshop.com"  # documented (secondary), §2.2
SANDBOX_AUTH_HOST = "https://auth-sandbox.tiktok-shops.com"

ORDER_SEARCH = "/order/202309/orders/search"  # POST, [T8]
ORDER_DETAIL = "/order/202309/orders"  # GET ?ids=..., [T9]
AUTHORIZED_SHOPS = "/authorization/202309/shops"  # GET, [T2]/[T7]: no shop_cipher needed
TOKEN_REFRESH = "/api/v2/token/refresh"  # GET on the auth host, [T1]
CANCELLATION_SEARCH = "/return_refund/202309/cancellations/search"  # POST, [T12] Search Cancellations
RETURN_SEARCH = "/return_refund/202309/returns/search"  # POST, [T13] Search Returns

PAGE_SIZE = 100  # Get Order List: page_size "Must be 1-100"
DETAIL_BATCH = 50  # Get Order Detail: ids "Max count: 50"
RETURN_PAGE_SIZE = 50  # Search Cancellations / Search Returns: page_size "Upper limit 50"
TIMESTAMP_PAST = 300  # "5 minutes before ..."
TIMESTAMP_FUTURE = 30  # "... to 30 seconds beyond the current time"
ACCESS_TOKEN_SECONDS = 7 * 86400  # "must be refreshed every 7 days"

UNSIGNED = frozenset({"sign", "access_token"})  # [T2] step 1: every query parameter except these


def string_to_sign(path: str, params: Mapping[str, Any], body: bytes = b"", *, multipart: bool = False) -> bytes:
    """[T2] steps 1-5: path + sorted ``{key}{value}`` (without sign and access_token) + body."""
    pairs = "".join(f"{k}{params[k]}" for k in sorted(params) if k not in UNSIGNED)
    return (path + pairs).encode() + (b"" if multipart else body)


def sign(app_secret: str, path: str, params: Mapping[str, Any], body: bytes = b"", *, multipart: bool = False) -> str:
    """[T2] steps 6-7: wrap in the secret, HMAC-SHA256 keyed with the secret, lowercase hex."""
    secret = app_secret.encode()
    message = secret + string_to_sign(path, params, body, multipart=multipart) + secret
    return hmac.new(secret, message, hashlib.sha256).hexdigest()
