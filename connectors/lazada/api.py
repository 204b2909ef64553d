"""The parts of the Lazada Open Platform protocol that the client and the sandbox share.

Sources (shared/reference/marketplaces.md §4; keys as listed there):

- [L1] "Signature algorithm": sort every parameter but ``sign`` by name (ASCII), join
  ``key + value``, put the API path in front, HMAC-SHA256 with the app secret, hex in
  UPPERCASE; the example string ``/test/apibar2foo1foo_bar3foobar4``.
- [L2] "Calling parameters": ``app_key``, ``access_token``, ``timestamp`` (epoch
  milliseconds, at most 7,200 s from UTC), ``sign_method`` ``sha256``, ``sign``.
- [L4] tokens: ``/auth/token/refresh`` on ``https://auth.lazada.com/rest``; ``expires_in``
  30 days (7 for apps in Test status), ``refresh_expires_in`` 180 days (30 in Test).
- [L5]/[L9] ``/orders/get``: ``limit`` at most 100; the offset cap is 4,500 in the
  reference table and 5,000 in the best-practice guide (we take the smaller).
- ``/orders/items/get`` (``order_ids``): the limit of 50 is **inferred** (a third-party Go
  SDK's doc comment "No more than 50 at a time"; a TypeScript client's
  ``LAZADA_MULTIPLE_ORDER_ITEMS_MAX = 50``); the official page was not in our sources.
- [L14] Return and Refund API: ``GetReverseOrdersForSeller`` (``/reverse/getreverseordersforseller``,
  GET/POST, ``page_size`` and ``page_no`` required) and ``GetReverseOrderDetail``
  (``/order/reverse/return/detail/list``, ``reverse_order_id``); the maximum ``page_size``
  (50) and the page cap (100 pages) are **inferred** from third-party clients (client.py).

The client's signer lives here; the sandbox has its own, written separately from the same
documentation, and ``tests/lazada/test_sandbox.py`` pins both to the documented example.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

ORDERS = "/orders/get"
ORDER = "/order/get"
ORDER_ITEMS = "/orders/items/get"
SELLER = "/seller/get"
REVERSE_ORDERS = "/reverse/getreverseordersforseller"  # [L14] GetReverseOrdersForSeller
REVERSE_DETAIL = "/order/reverse/return/detail/list"  # [L14] GetReverseOrderDetail
REFRESH = "/auth/token/refresh"
AUTH_URL = "https://auth.lazada.com/rest"  # [L4]: the token service, central for every country

PAGE_SIZE = 100  # /orders/get limit: "The supported maximum number is 100"
OFFSET_CAP = 4500  # /orders/get offset: 4500 [L9] or 5000 [L5]: the smaller one
ITEMS_BATCH = 50  # /orders/items/get order_ids (inferred, see above)
REVERSE_PAGE_SIZE = 50  # GetReverseOrdersForSeller page_size: "default 10", no maximum documented; 50 (inferred)
REVERSE_PAGE_CAP = 100  # pages past the 100th come back empty (a third-party observation; inferred)
TIMESTAMP_TOLERANCE_MS = 7200 * 1000  # "should not exceed 7200 seconds"
ACCESS_TOKEN_SECONDS = 30 * 86400  # expires_in, an app in "Online" status
REFRESH_TOKEN_SECONDS = 180 * 86400  # refresh_expires_in, an app in "Online" status
SIGN_METHOD = "sha256"


def base_string(path: str, params: Mapping[str, Any]) -> str:
    """[L1]: the API path, then ``key + value`` of every parameter but ``sign``, sorted by name."""
    return path + "".join(f"{key}{params[key]}" for key in sorted(params) if key != "sign")


def sign(app_secret: str, base: str) -> str:
    """[L1]: HMAC-SHA256 keyed with the app secret (UTF-8), as UPPERCASE hex."""
    return hmac.new(app_secret.encode(), base.encode(), hashlib.sha256).hexdigest().upper()
