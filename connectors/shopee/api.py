"""The parts of the Shopee Open Platform v2 protocol that the client and the sandbox share.

Sources (shared/reference/marketplaces.md §1):

- [S1] Shopee developer guide "API calls": common parameters in the query (POST too),
  the three API types and their base strings, the lowercase-hex HMAC-SHA256 signature,
  the 5-minute timestamp validity, the known-answer example reproduced in the tests.
- [S2] "Authorization and Authentication": public-API signing of the token endpoints,
  the partner key used as a UTF-8 string.
- [S8]/[S9]/[S10] API reference pages (get_order_list, get_order_detail, refresh):
  ``page_size`` 1..100, 15-day ``time_from``/``time_to`` range, ``order_sn_list`` 1..50,
  optional detail fields returned only when asked for.
- [P1] the ``v2.payment.get_escrow_list`` / ``get_escrow_detail`` reference pages, as
  transcribed by third-party SDK types generated from them (``congminh1254/shopee-sdk``
  ``src/schemas/payment.ts``; client.py cites each fact): ``release_time_from`` /
  ``release_time_to``, ``page_size`` "max: 100, default: 40", ``page_no`` "min: 1,
  default: 1", ``{escrow_list: [{order_sn, payout_amount, escrow_release_time}], more}``;
  the detail takes one ``order_sn``.
- [S6] "Return Refund Management" and [R1] the ``v2.returns.get_return_list`` /
  ``get_return_detail`` reference pages (as transcribed in ``client.py``'s sources): the
  paths, ``page_size`` "<= 100", each ``*_time_from``/``*_time_to`` range at most 15 days.

The sign function lives here because both sides must compute it identically; the
known-answer test pins it to Shopee's own example, so sharing it cannot hide a bug.
"""

from __future__ import annotations

import hashlib
import hmac

ORDER_LIST = "/api/v2/order/get_order_list"
ORDER_DETAIL = "/api/v2/order/get_order_detail"
MASS_TRACKING = "/api/v2/logistics/get_mass_tracking_number"
SHOP_INFO = "/api/v2/shop/get_shop_info"
REFRESH = "/api/v2/auth/access_token/get"
RETURN_LIST = "/api/v2/returns/get_return_list"
RETURN_DETAIL = "/api/v2/returns/get_return_detail"
ESCROW_LIST = "/api/v2/payment/get_escrow_list"
ESCROW_DETAIL = "/api/v2/payment/get_escrow_detail"
PUBLIC_PATHS = frozenset({REFRESH, "/api/v2/auth/token/get", "/api/v2/shop/auth_partner"})

PAGE_SIZE = 100  # get_order_list: "between 1 and 100"
DETAIL_BATCH = 50  # get_order_detail: order_sn_list limit [1,50]
TRACKING_BATCH = 50  # get_mass_tracking_number: package_list (assumed limit, see client.py)
MAX_RANGE_SECONDS = 15 * 86400  # time_to - time_from (get_order_list); update_time_to - update_time_from (get_return_list)
RETURN_PAGE_SIZE = 100  # get_return_list: page_size "<= 100"
ESCROW_PAGE_SIZE = 100  # get_escrow_list: page_size "max: 100, default: 40"
ESCROW_FIRST_PAGE = 1  # get_escrow_list: page_no "min: 1, default: 1"
TIMESTAMP_TOLERANCE = 300  # "within 5 minutes of a timestamp"
ACCESS_TOKEN_SECONDS = 4 * 3600  # expire_in 14400
OLD_TOKEN_GRACE = 300  # the previous access token lives 5 minutes after a refresh

# Optional get_order_detail fields Simpul asks for: everything the mapping reads.
DETAIL_FIELDS = (
    "buyer_user_id",
    "buyer_username",
    "estimated_shipping_fee",
    "recipient_address",
    "actual_shipping_fee",
    "actual_shipping_fee_confirmed",
    "note",
    "item_list",
    "pay_time",
    "buyer_cancel_reason",
    "cancel_by",
    "cancel_reason",
    "package_list",
    "shipping_carrier",
    "payment_method",
    "total_amount",
    "pickup_done_time",
)

# Package fulfilment statuses before a shipment is arranged: no tracking number can exist.
NOT_ARRANGED = frozenset(
    {"LOGISTICS_NOT_START", "LOGISTICS_PENDING_ARRANGE", "LOGISTICS_READY", "LOGISTICS_INVALID", "LOGISTICS_COD_REJECTED"}
)


def base_string(partner_id: int | str, path: str, timestamp: int, access_token: str = "", shop_id: int | str = "") -> str:
    """Shop API: partner_id + path + timestamp + access_token + shop_id; public API: the first three."""
    return f"{partner_id}{path}{timestamp}{access_token}{shop_id}"


def sign(partner_key: str, base: str) -> str:
    """Lowercase hex HMAC-SHA256 with the partner key taken as UTF-8 text (not hex-decoded)."""
    return hmac.new(partner_key.encode(), base.encode(), hashlib.sha256).hexdigest()


def needs_tracking(package: dict) -> bool:
    """True when the package's shipment is arranged, so a tracking number may exist."""
    return bool(package.get("package_number")) and package.get("logistics_status") not in NOT_ARRANGED
