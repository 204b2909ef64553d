"""TikTok Shop (and Tokopedia) returns, refunds and cancellations -> ``ReturnRecord`` (pure).

Input: one record exactly as Search Cancellations lists it in ``data.cancellations[]`` or
Search Returns in ``data.return_orders[]`` (``connectors/tiktok/client.py``:
``return_pages`` walks both). A record with ``cancel_id`` is a cancellation, one with
``return_id`` a return, a refund or a replacement.

Sources (documented: the official doc pages' own specifications, mirrored in
``lazykern/ecommerce-api-docs`` under ``data/raw/tiktok/api-reference/return-and-refund/``;
keys as in ``connectors/tiktok/client.py``):

- [T12] Search Cancellations (``search-cancellations.spec.json``): ``cancel_id``, ``order_id``,
  ``cancel_type`` (``CANCEL``: by seller or system; ``BUYER_CANCEL``: by the buyer, to be
  approved), ``cancel_status`` (``CANCELLATION_REQUEST_PENDING``, ``_SUCCESS``,
  ``_CANCELLED``, ``_COMPLETE``; the request filter spells the third ``_CANCEL``), ``role``,
  ``cancel_reason`` (a reason name) and ``cancel_reason_text`` (localised), ``create_time``
  and ``update_time`` (Unix seconds), ``seller_next_action_response[{action, deadline}]``,
  ``refund_amount{currency, refund_total, refund_subtotal, refund_shipping_fee, refund_tax,
  buyer_service_fee}`` (amounts as text), ``cancel_line_items[]``.
- [T13] Search Returns (``search-returns.spec.json``): ``return_id``, ``order_id``,
  ``return_type`` (``REFUND``: "the buyer is not required to send the item(s) back";
  ``RETURN_AND_REFUND``; ``REPLACEMENT``), ``return_status`` (table below), ``role``,
  ``return_reason``/``return_reason_text``, ``return_tracking_number`` ("the tracking number
  of parcels when buyer returns the item(s)"), ``seller_next_action_response``,
  ``return_line_items[]``, ``refund_amount`` ("Total refund amount to buyer"),
  ``shipping_fee_amount[{currency, seller_paid_return_shipping_fee,
  platform_paid_return_shipping_fee, buyer_paid_return_shipping_fee}]``.
- [T14] "Return reasons", "Refund reasons", "Cancel reasons" (``return-reasons.json``,
  ``refund-reasons.json``, ``cancel-reasons.json``): every reason name with its English text,
  per market; ``REASONS`` below holds all of them (every market, the buyer's, the seller's,
  the system's and the operator's; not the seller's *reject* reasons, which are no reason
  for a return).
- [T15] "Return, refund and cancel API overview" and the webhooks "Cancellation status
  change" (type 11) / "Return status change" (type 12): the status flows (a return:
  pending -> awaiting buyer ship -> buyer shipped -> success (the seller checked the items
  and confirmed the refund) -> complete (refunded); a cancellation: pending -> success ->
  complete, "successful and a refund is issued"; closed by the buyer or system: cancelled).

Decisions where the sources are silent:

- External id is ``cancel_id`` or ``return_id``; the order is ``order_id``. Type: a
  cancellation is ``cancellation``, or ``return_to_sender`` when its reason says the parcel
  went back to the shipper (``returned_to_shipper_*``: "Package rejected", "Package delivery
  failed"; ``RTS_REASONS``), so it supersedes what parcel tracking saw of the same return.
  ``REFUND`` is ``refund``; ``RETURN_AND_REFUND`` and ``REPLACEMENT`` are ``buyer_return``
  (goods go back; a replacement sends new ones).
- Status (``RETURN_STATUSES``, ``CANCEL_STATUSES``; anything else ``unknown``, the raw value
  kept): a return's ``RETURN_OR_REFUND_REQUEST_SUCCESS`` is ``received`` when goods come
  back (``RETURN_AND_REFUND``: the seller inspected them), ``approved`` for a refund only; a
  cancellation's ``CANCELLATION_REQUEST_COMPLETE`` is ``refunded`` when money went back
  (``refund_total`` above zero), else ``closed`` (an unpaid or COD order refunds nothing).
- Reason: ``ret.reason`` keeps the reason name (its localised text when the name is
  empty); ``reason_code`` looks the name up in ``REASONS``, then the text (the order API's
  ``cancel_reason`` is such a text: "Pricing error"), then both without case and a final
  full stop; anything else is ``unknown``. Late or failed delivery, lost or scrapped
  parcels, unable to deliver to the address and collection time-outs are
  ``failed_delivery``; buyers' own mistakes (wrong address, wrong variation, coupon,
  payment method, better price) and "Does not suit me" are ``changed_mind``; sizes are
  ``size_fit``; expired, spoiled or thawed goods and a damaged box are ``damaged``;
  missing parts or items are ``wrong_item``; counterfeits and quality, colour or style
  not as expected are ``not_as_described``; sellers' stock and price errors, unpaid
  time-outs, unauthorised purchases and the platform's own cancellations are ``other``;
  "No reason" is ``unknown``.
- Money: ``refund_amount.refund_total`` in ``refund_amount.currency`` (the order's); the
  return leg's cost is the sum of the three ``*_paid_return_shipping_fee`` amounts, and
  ``shipping_paid_by`` is the one payer with a share above zero (several or none: unknown).
  The v202309 changelog ([T16] "Return amount detail information available in Search
  Return API") spells the object ``return_shipping_fee_amount`` with ``*_fee_amount`` keys;
  both spellings are read. A binary float is refused, as in ``mappings.tiktok``.
- Items: one per line item, ``{"sku": seller_sku, "line_id": order_line_item_id, "name":
  "product - sku", "quantity": 1, "refund": refund_total}``: TikTok lists one line item per
  unit (``mappings.tiktok``), so each is one unit.
- ``respond_by`` is the earliest ``seller_next_action_response[].deadline``;
  ``tracking_number`` is ``return_tracking_number`` ("" is none yet).
- Buyer data: the documented records name the buyer by no more than ids; ``scrub`` still
  drops ``buyer_email`` and a recipient address's street and masks its name and phone,
  should TikTok ever add one (as ``mappings.tiktok.scrub`` does for orders).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from mappings._common import ZERO, mask_name, mask_phone, money_or_none, text_or_none, utc_from_epoch
from simpul.canonical import MappingError, Return, ReturnReason, ReturnRecord, ReturnStatus, ReturnType
from simpul.jsoncodec import content_hash

MAPPING_VERSION = "tiktok-returns-1"

R = ReturnReason
# [T14]: every documented reason name, by what it means (module docstring).
NAMES: dict[ReturnReason, tuple[str, ...]] = {
    R.DAMAGED: (
        "buyer_refund_product_is_expired/spoiled", "buyer_refund_product_not_frozen_on_arrival",
        "buyer_return_and_refund_product_is_expired/spoiled", "buyer_return_and_refund_product_not_frozen_on_arrival",
        "buyer_return_and_refund_shipping_box_damaged,_but_item_is_ok", "ecom_order_delivered_refund_and_return_reason_damaged",
        "ecom_order_delivered_refund_and_return_reason_damaged_seller", "ecom_order_delivered_refund_and_return_reason_damaged_seller_uk",
        "ecom_order_delivered_refund_and_return_reason_damaged_uk", "ecom_order_delivered_refund_and_return_reason_defective",
        "ecom_order_delivered_refund_and_return_reason_defective_seller",
        "ecom_order_delivered_refund_and_return_reason_defective_seller_uk", "ecom_order_delivered_refund_and_return_reason_defective_uk",
        "ecom_order_delivered_refund_reason_damaged", "ecom_order_delivered_refund_reason_damaged_seller",
        "ecom_order_delivered_refund_reason_damaged_seller_uk", "ecom_order_delivered_refund_reason_damaged_uk",
        "ecom_order_delivered_refund_reason_defective", "ecom_order_delivered_refund_reason_defective_seller",
        "ecom_order_delivered_refund_reason_defective_seller_uk", "ecom_order_delivered_refund_reason_defective_uk", "package_damagaed",
        "package_damaged", "package_damaged_uk", "seller_return_damaged_item", "seller_return_defective_item",
    ),
    R.WRONG_ITEM: (
        "ecom_order_delivered_refund_and_return_reason_missing_parts_JP", "ecom_order_delivered_refund_and_return_reason_missing_product",
        "ecom_order_delivered_refund_and_return_reason_missing_product_seller",
        "ecom_order_delivered_refund_and_return_reason_missing_product_seller_uk",
        "ecom_order_delivered_refund_and_return_reason_missing_product_uk", "ecom_order_delivered_refund_and_return_reason_wrong_product",
        "ecom_order_delivered_refund_and_return_reason_wrong_product_JP",
        "ecom_order_delivered_refund_and_return_reason_wrong_product_seller",
        "ecom_order_delivered_refund_and_return_reason_wrong_product_seller_uk",
        "ecom_order_delivered_refund_and_return_reason_wrong_product_uk", "ecom_order_delivered_refund_reason_missing_product",
        "ecom_order_delivered_refund_reason_missing_product_JP", "ecom_order_delivered_refund_reason_missing_product_seller",
        "ecom_order_delivered_refund_reason_missing_product_seller_uk", "ecom_order_delivered_refund_reason_missing_product_uk",
        "ecom_order_delivered_refund_reason_wrong_product", "ecom_order_delivered_refund_reason_wrong_product_seller",
        "ecom_order_delivered_refund_reason_wrong_product_seller_uk", "ecom_order_delivered_refund_reason_wrong_product_uk",
        "seller_return_missing_item", "seller_return_wrong_item_was_sent",
    ),
    R.NOT_AS_DESCRIBED: (
        "buyer_refund_quality_or_style_not_as_expected", "buyer_refund_suspected_counterfeit", "buyer_refund_suspected_counterfeit_seller",
        "buyer_refund_suspected_counterfeit_seller_uk", "buyer_return_and_refund_color_or_pattern_not_as_expected",
        "buyer_return_and_refund_fabric,_material_or_style_not_as_expected", "buyer_return_and_refund_quality_or_style_not_as_expected",
        "buyer_return_and_refund_suspected_counterfeit", "buyer_return_and_refund_suspected_counterfeit_seller",
        "buyer_return_and_refund_suspected_counterfeit_seller_uk", "ecom_order_delivered_refund_and_return_reason_not_match_description",
        "ecom_order_delivered_refund_and_return_reason_not_match_description_JP",
        "ecom_order_delivered_refund_and_return_reason_not_match_description_seller",
        "ecom_order_delivered_refund_and_return_reason_not_match_description_seller_uk",
        "ecom_order_delivered_refund_and_return_reason_not_match_description_uk", "ecom_order_delivered_refund_reason_not_match",
        "ecom_order_delivered_refund_reason_not_match_description_seller",
        "ecom_order_delivered_refund_reason_not_match_description_seller_uk", "ecom_order_delivered_refund_reason_not_match_seller",
        "ecom_order_delivered_refund_reason_not_match_uk",
    ),
    R.SIZE_FIT: (
        "buyer_refund_item_is_too_big/long", "buyer_refund_item_is_too_small/short", "buyer_refund_multiple_sizes_ordered",
        "buyer_refund_ordered_incorrect_size", "buyer_return_and_refund_item_doesn't_fit", "buyer_return_and_refund_item_is_too_big/long",
        "buyer_return_and_refund_item_is_too_small/short", "buyer_return_and_refund_multiple_sizes_ordered",
        "buyer_return_and_refund_ordered_incorrect_size",
    ),
    R.CHANGED_MIND: (
        "buyer_cancel_need_to_input/change_coupon_code", "buyer_cancel_wrong_item_variation_(colour,_size,_etc.)",
        "buyer_refund_does_not_suit_me", "buyer_return_and_refund_does_not_suit_me",
        "ecom_order_delivered_refund_and_return_reason_no_need", "ecom_order_delivered_refund_and_return_reason_no_need_uk",
        "ecom_order_delivered_refund_reason_no_need", "ecom_order_delivered_refund_reason_no_need_uk",
        "ecom_order_shipped_refund_wrong_delivery_info", "ecom_order_to_ship_canceled_reason_better_price",
        "ecom_order_to_ship_canceled_reason_better_price_uk", "ecom_order_to_ship_canceled_reason_change_payment_method",
        "ecom_order_to_ship_canceled_reason_change_payment_method_uk", "ecom_order_to_ship_canceled_reason_created_by_mistakes",
        "ecom_order_to_ship_canceled_reason_created_by_mistakes_uk", "ecom_order_to_ship_canceled_reason_discount_not_expected",
        "ecom_order_to_ship_canceled_reason_discount_not_expected_uk", "ecom_order_to_ship_canceled_reason_forgot_to_apply_coupons",
        "ecom_order_to_ship_canceled_reason_high_delivery_costs", "ecom_order_to_ship_canceled_reason_high_delivery_costs_uk",
        "ecom_order_to_ship_canceled_reason_no_longer_needed", "ecom_order_to_ship_canceled_reason_no_longer_needed_uk",
        "ecom_order_to_ship_canceled_reason_wrong_delivery_info", "ecom_order_to_ship_canceled_reason_wrong_delivery_info_uk",
        "ecom_order_unpaid_canceled_reason_better_price", "ecom_order_unpaid_canceled_reason_better_price_uk",
        "ecom_order_unpaid_canceled_reason_created_by_mistakes", "ecom_order_unpaid_canceled_reason_created_by_mistakes_uk",
        "ecom_order_unpaid_canceled_reason_no_longer_needed", "ecom_order_unpaid_canceled_reason_no_longer_needed_uk",
        "ecom_order_unpaid_canceled_reason_payment_method_not_available",
        "ecom_order_unpaid_canceled_reason_payment_method_not_available_S",
        "ecom_order_unpaid_canceled_reason_payment_method_not_available_uk", "ecom_order_unpaid_canceled_reason_wrong_delivery_info",
        "ecom_order_unpaid_canceled_reason_wrong_delivery_info_uk", "seller_cancel_paid_reason_buyer_requested_cancellation",
        "seller_cancel_unpaid_reason_buyer_requested_cancellation", "seller_ecom_delivered_return_refund_reason1",
        "seller_ecom_delivered_return_refund_reason1_uk",
    ),
    R.FAILED_DELIVERY: (
        "buyer_cancel_late_shipment", "buyer_refund_package_didn't_arrive_on_time", "buyer_return_and_refund_item_arrived_too_late",
        "early_refund_returned_to_shipper", "ecom_order_delivered_refund_and_return_reason_missed_delivery",
        "ecom_order_delivered_refund_and_return_reason_missed_delivery_date_JP", "ecom_order_delivered_refund_reason_missed_delivery_date",
        "ecom_order_delivered_refund_reason_missed_delivery_date_seller",
        "ecom_order_delivered_refund_reason_missed_delivery_date_seller_uk", "ecom_order_delivered_refund_reason_missed_delivery_date_uk",
        "ecom_order_delivered_refund_reason_not_received", "ecom_order_delivered_refund_reason_not_received_seller",
        "ecom_order_delivered_refund_reason_not_received_seller_uk", "ecom_order_delivered_refund_reason_not_received_uk",
        "ecom_order_shipped_refund_reason_not_arrive_on_time", "ecom_order_shipped_refund_reason_not_arrive_on_time_JP",
        "ecom_order_shipped_refund_reason_not_arrive_on_time_seller", "ecom_order_shipped_refund_reason_not_arrive_on_time_seller_uk",
        "ecom_order_to_ship_canceled_reason_not_shipped_on_time", "ecom_seller_order_delivered_refund_reason_return_proxy_app",
        "package_lost", "package_lost_uk", "package_scrap", "package_scrap_uk", "returned_to_shipper_other", "returned_to_shipper_other_uk",
        "returned_to_shipper_refused", "returned_to_shipper_refused_uk", "seller_cancel_paid_reason_address_not_deliver",
        "seller_cancel_paid_reason_address_not_deliver_uk", "seller_cancel_unable_to_deliver_to_buyer_address", "seller_package_lost",
        "seller_package_lost_uk", "seller_return_late_delivery", "seller_shipped_refund_miss_estimated_delivery_date",
        "seller_shipped_refund_package_delivery_failed", "seller_shipped_refund_package_lost", "system_cancel_order_exceed_edt_not_arrive",
        "system_cancel_order_reason_shipping_timeout", "system_cancel_order_reason_shipping_timeout_uk", "system_cancel_order_untracked",
        "system_cancel_order_untracked_uk", "threepl_breach", "threepl_breach_uk",
    ),
    R.OTHER: (
        "buyer_refund_unauthorised_purchase", "buyer_return_and_refund_unauthorised_purchase", "ecom_cb_sc_out_return",
        "ecom_order_delivered_refund_and_return_reason_other", "ecom_order_delivered_refund_and_return_reason_other_uk",
        "ecom_order_delivered_refund_reason_general_adjustment", "ecom_order_delivered_refund_reason_other",
        "ecom_order_delivered_refund_reason_other_uk", "ecom_order_shipped_refund_other",
        "ecom_order_to_ship_canceled_reason_seller_no_response", "ecom_order_unpaid_canceled_reason_not_want_pay",
        "ecom_order_unpaid_canceled_reason_other", "ecom_order_unpaid_canceled_reason_other_uk",
        "ecom_order_unpaid_canceled_reason_seller_ask_cancel", "operator_cancel_risk_control_block", "package_cancel", "package_cancel_uk",
        "platform_cancel", "platform_cancel_uk", "seller_cancel_order_reason_potential_fraud", "seller_cancel_reason_out_of_stock",
        "seller_cancel_reason_out_of_stock_uk", "seller_cancel_reason_wrong_price", "seller_cancel_reason_wrong_price_uk",
        "seller_cancel_unpaid_reason_buyer_hasnt_paid_within_time_allowed",
        "seller_cancel_unpaid_reason_buyer_hasnt_paid_within_time_allowed_uk", "seller_cancel_unpaid_reason_out_of_stock",
        "seller_cancel_unpaid_reason_out_of_stock_uk", "seller_cancel_unpaid_reason_wrong_price",
        "seller_cancel_unpaid_reason_wrong_price_uk", "system_cancel_add_address_overtime", "system_cancel_anti_span_block",
        "system_cancel_anti_span_block_uk", "system_cancel_create_valid_order_failed",
        "system_cancel_cross_border_entry_warehouse_failed_reason2", "system_cancel_cross_border_entry_warehouse_failed_reason2_uk",
        "system_cancel_order_reason_coa_2nd_upload_rejected", "system_cancel_order_reason_coa_moderation_more_than_12hrs",
        "system_cancel_order_reason_coa_rejected_fraud", "system_cancel_order_reason_coa_upload_more_than_24hrs",
        "system_cancel_order_reason_experience_related", "system_cancel_order_reason_nrr_related",
        "system_cancel_order_reason_potential_fraud", "system_cancel_payment_capture_failed", "system_cancel_payment_risk_review_failed",
        "system_cancel_unpaid_postage", "system_cancel_unpaid_time_out", "system_cancel_unpaid_time_out_uk",
        "system_cancel_virtual_phone_number_invalid", "system_cancel_virtual_timeout", "system_cancel_virtual_top_up_failed",
    ),
    R.UNKNOWN: (
        "ecom_order_delivered_refund_reason_none",
    ),
}  # fmt: skip
TEXTS: dict[ReturnReason, tuple[str, ...]] = {
    R.DAMAGED: (
        "Damaged item or packaging", "Defective item", "Package damaged", "Package or product is damaged", "Package or product is damaged.",
        "Product is defective or doesn't work", "Product is defective or doesn't work.", "Product is expired/spoiled",
        "Product not frozen on arrival", "Shipping box damaged, but item is Ok",
    ),
    R.WRONG_ITEM: (
        "Missing item or parts", "Missing items or parts", "Missing product or accessories", "Missing products or accessories",
        "Package received but missing item", "Received package but missing parts or accessories.",
        "Received package but some items are missing.", "Wrong item was sent", "Wrong product sent.", "Wrong product was sent",
        "Wrong product was sent.",
    ),
    R.NOT_AS_DESCRIBED: (
        "Color or pattern not as expected", "Fabric, material or style not as expected", "Item doesn't match description",
        "Product doesn't match description", "Product doesn't match description.", "Quality or style not as expected",
        "Suspected Counterfeit",
    ),
    R.SIZE_FIT: (
        "Item doesn't fit", "Item is too big/long", "Item is too small/short", "Multiple sizes ordered", "Ordered incorrect size",
    ),
    R.CHANGED_MIND: (
        "Better price available", "Bought by mistake", "Buyer requested cancellation", "Customer requested cancellation",
        "Desired payment method not available", "Discount not as expected", "Does not suit me", "Forgot to apply coupons",
        "Found better price.", "High delivery costs", "High shipping fee", "Incorrect shipping address", "Need to change color or size.",
        "Need to change payment method", "Need to change payment method.", "Need to change shipping address.",
        "Need to input/change coupon code", "Need to use coupon.", "No longer need item.", "No longer needed",
        "No longer needed (Item must be returned in sealed/original condition).", "Order created by mistake", "Order created by mistake.",
        "Ordered by mistake", "Preferred payment method not available", "Wrong delivery information",
        "Wrong item variation (color, size, etc.)",
    ),
    R.FAILED_DELIVERY: (
        "Automatically canceled as not delivered within 30 days of estimated time of delivery",
        "Automatically canceled due to collection time out", "Automatically canceled due to untraceable tracking number",
        "Automatically cancelled due to collection time out", "Automatically cancelled due to untraceable tracking number",
        "Didn't receive package.", "Item arrived too late", "Item wasn't shipped on time", "Late delivery",
        "Late delivery (Item arrived too late)", "Late shipment", "Missed estimated delivery date", "Missed estimated delivery date.",
        "Package delivery failed", "Package delivery failed.", "Package didn't arrive on time", "Package lost", "Package lost.",
        "Package rejected", "Package scrapped", "Package wasn't received", "Package wasn't received.", "Product didn't arrive on time.",
        "Product wasn't shipped on time", "Product wouldn't arrive on time",
        "This order was automatically canceled because it wasn't delivered within the estimated delivery time.",
        "Unable to deliver to buyer address", "Unable to deliver to customer address",
    ),
    R.OTHER: (
        "As your product violates the platform's negative review policy, we canceled this transaction. We recommend you process the buyer's after-sales request.",
        "As your product violates the platform's negative review policy, we canceled this transaction. We recommend you process the customer's after-sales request.",
        "Automatically cancelled due to recharge time out", "Buyer did not pay on time", "Buyer hasn't paid", "Buyer payment overdue",
        "Certificate not uploaded", "Customer did not pay on time", "Customer hasn't paid", "Customer overdue to pay",
        "During our regular review, the order you placed was found to have potential issues that may result in an experience that doesn't meet our standards. To ensure you have a great shopping experience, we have proactively issued a full refund.",
        "Failed to pass risk review", "General adjustment.", "Inbound failed", "Invalid phone number", "Order canceled by system.",
        "Order canceled by the system", "Order cancelled by system", "Order with high chance of cancellation / refund", "Other",
        "Out of stock", "Pricing error", "Seller is not responsive to my inquiries / seller requests to cancel", "Seller not responsive",
        "Seller requested to cancel order",
        "The packaging or shipping failed to meet standards due to incorrect labeling, postage issues, third-party fulfillment problems, or weight discrepancies.",
        "This order has been automatically canceled as you didn't provide your delivery address.",
        "This order was canceled automatically as the customer's payment method could not be charged.",
        "This order was canceled automatically due to inventory shortage.",
        "This order was canceled automatically due to payment risk control interception.", "Top up failed", "Unable to authenticate",
        "Unable to verify certificate", "Unauthorised purchase", "Unauthorized purchase", "Verification timed out",
        "We have identified a risk involved with your order and canceled your order for safety reasons to protect your transaction.",
        "We have identified a risk involved with your order and cancelled your order for safety reasons to protect your transaction.",
    ),
    R.UNKNOWN: (
        "No reason",
    ),
}  # fmt: skip

REASONS: dict[str, ReturnReason] = {key: reason for table in (NAMES, TEXTS) for reason, keys in table.items() for key in keys}
"""Raw reason (a documented name or its English text) -> ``ReturnReason``."""


def _folded(text: str) -> str:
    return text.strip().rstrip(".").strip().casefold()


_FOLDED = {_folded(key): reason for key, reason in REASONS.items()}

# [T14] cancel reasons that send the parcel back to the seller: the system's "Package
# rejected" / "Package delivery failed", Japan's early refund on the same event.
RTS_REASONS = frozenset(
    {"returned_to_shipper_refused", "returned_to_shipper_refused_uk", "returned_to_shipper_other", "returned_to_shipper_other_uk",
     "early_refund_returned_to_shipper", "Package rejected", "Package delivery failed"}
)  # fmt: skip

S = ReturnStatus
RETURN_STATUSES: dict[str, ReturnStatus] = {  # [T13] return_status, [T15]
    "RETURN_OR_REFUND_REQUEST_PENDING": S.REQUESTED,
    "AWAITING_BUYER_RESPONSE": S.REQUESTED,  # the seller offered another return type; the buyer has not answered
    "AWAITING_BUYER_SHIP": S.APPROVED,
    "BUYER_SHIPPED_ITEM": S.IN_TRANSIT,
    "RETURN_OR_REFUND_REQUEST_SUCCESS": S.APPROVED,  # received, for goods that come back (module docstring)
    "RETURN_OR_REFUND_REQUEST_COMPLETE": S.REFUNDED,
    "REFUND_OR_RETURN_REQUEST_REJECT": S.REJECTED,
    "REJECT_RECEIVE_PACKAGE": S.REJECTED,  # the seller refused the returned package
    "RETURN_OR_REFUND_REQUEST_CANCEL": S.CANCELLED,
    "REPLACEMENT_REQUEST_PENDING": S.REQUESTED,
    "REPLACEMENT_REQUEST_REJECT": S.REJECTED,
    "REPLACEMENT_REQUEST_REFUND_SUCCESS": S.REFUNDED,  # resolved by a refund: no stock to replace
    "REPLACEMENT_REQUEST_CANCEL": S.CANCELLED,
    "REPLACEMENT_REQUEST_COMPLETE": S.CLOSED,  # approved: the platform creates a new order to ship
}
GOODS_COME_BACK = frozenset({"RETURN_AND_REFUND"})
CANCEL_STATUSES: dict[str, ReturnStatus] = {  # [T12] cancel_status, [T15] webhook 11
    "CANCELLATION_REQUEST_PENDING": S.REQUESTED,
    "CANCELLATION_REQUEST_SUCCESS": S.APPROVED,  # accepted by the seller or the system
    "CANCELLATION_REQUEST_COMPLETE": S.REFUNDED,  # closed when nothing was refunded (module docstring)
    "CANCELLATION_REQUEST_CANCELLED": S.CANCELLED,  # closed by the buyer or the system: no cancellation
    "CANCELLATION_REQUEST_CANCEL": S.CANCELLED,  # the request filter's spelling of the same
}
RETURN_TYPES: dict[str, ReturnType] = {"REFUND": ReturnType.REFUND, "RETURN_AND_REFUND": ReturnType.BUYER_RETURN, "REPLACEMENT": ReturnType.BUYER_RETURN}
PAYERS = (  # who pays the return leg: the spec's keys, then the changelog's [T16]
    ("seller", ("seller_paid_return_shipping_fee", "seller_paid_return_shipping_fee_amount")),
    ("platform", ("platform_paid_return_shipping_fee", "platform_paid_return_shipping_fee_amount")),
    ("buyer", ("buyer_paid_return_shipping_fee", "buyer_paid_return_shipping_fee_amount")),
)
DROPPED_ADDRESS_FIELDS = ("full_address", "address_detail", "address_line1", "address_line2", "address_line3", "address_line4")


def reason_code(*raw_reasons: Any) -> ReturnReason:
    """The first of ``raw_reasons`` (reason names or texts) the table knows, else ``UNKNOWN``."""
    for raw in raw_reasons:
        if isinstance(raw, str) and raw.strip():
            found = REASONS.get(raw.strip()) or _FOLDED.get(_folded(raw))
            if found is not None:
                return found
    return R.UNKNOWN


def is_return_to_sender(*raw_reasons: Any) -> bool:
    """Whether a cancellation's reason (name or text) says the parcel went back to the seller."""
    return any(isinstance(raw, str) and raw.strip() in RTS_REASONS for raw in raw_reasons)


def external_id(raw: Mapping[str, Any]) -> str | None:
    if not isinstance(raw, Mapping):
        return None
    return _id(raw.get("cancel_id") if "cancel_id" in raw else raw.get("return_id"))


def scrub(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A copy fit to store (the module docstring: nothing documented needs it today)."""
    out = dict(raw)
    out.pop("buyer_email", None)
    address = out.get("recipient_address")
    if isinstance(address, dict):
        address = out["recipient_address"] = dict(address)
        address["name"] = mask_name(text_or_none(address.get("name"))) or ""
        address["phone_number"] = mask_phone(text_or_none(address.get("phone_number"))) or ""
        for name in DROPPED_ADDRESS_FIELDS:
            address.pop(name, None)
    return out


def map_return(raw: Mapping[str, Any]) -> ReturnRecord:
    if not isinstance(raw, Mapping):
        raise MappingError("payload: expected a JSON object")
    cancellation = "cancel_id" in raw
    if not cancellation and "return_id" not in raw:
        raise MappingError("return_id: missing (a record has a return_id or a cancel_id)")
    prefix = "cancel" if cancellation else "return"
    return_id = external_id(raw)
    if return_id is None:
        raise MappingError(f"{prefix}_id: missing")
    order_id = _id(raw.get("order_id"))
    if order_id is None:
        raise MappingError("order_id: missing")
    updated_at = _required_time(raw, "update_time")
    created_at = _time(raw, "create_time")
    refund, currency = _refund(raw.get("refund_amount"), "refund_amount")
    shipping_cost, paid_by, shipping_currency = _return_shipping(raw)
    if currency is None:
        currency = shipping_currency
    elif shipping_currency is not None and shipping_currency != currency:
        raise MappingError("shipping_fee_amount.currency: differs from refund_amount.currency")
    name, text = text_or_none(raw.get(f"{prefix}_reason")), text_or_none(raw.get(f"{prefix}_reason_text"))
    raw_status = text_or_none(raw.get(f"{prefix}_status"))
    if cancellation:
        kind = ReturnType.RETURN_TO_SENDER if is_return_to_sender(name, text) else ReturnType.CANCELLATION
        status = CANCEL_STATUSES.get(raw_status or "", S.UNKNOWN)
        if raw_status == "CANCELLATION_REQUEST_COMPLETE" and not (refund is not None and refund > ZERO):
            status = S.CLOSED
    else:
        return_type = text_or_none(raw.get("return_type")) or ""
        kind = RETURN_TYPES.get(return_type, ReturnType.UNKNOWN)
        status = RETURN_STATUSES.get(raw_status or "", S.UNKNOWN)
        if raw_status == "RETURN_OR_REFUND_REQUEST_SUCCESS" and return_type in GOODS_COME_BACK:
            status = S.RECEIVED
    ret = Return(
        external_id=return_id,
        type=kind,
        status=status,
        raw_status=raw_status,
        reason=name or text,
        refund_amount=refund,
        return_shipping_cost=shipping_cost,
        items=_items(raw.get(f"{prefix}_line_items"), f"{prefix}_line_items"),
        created_at=created_at,
        reason_code=reason_code(name, text),
        updated_at=updated_at,
        currency=currency,
        tracking_number=None if cancellation else text_or_none(raw.get("return_tracking_number")),
        shipping_paid_by=paid_by,
        respond_by=_deadline(raw.get("seller_next_action_response")),
    )
    return ReturnRecord(order_external_id=order_id, ret=ret, mapping_version=MAPPING_VERSION, payload_hash=content_hash(raw), raw=scrub(raw))


# -- pieces -----------------------------------------------------------------------------------
def _id(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _time(raw: Mapping[str, Any], field: str) -> datetime | None:
    value = raw.get(field)
    if isinstance(value, bool) or not (value is None or isinstance(value, int)):
        raise MappingError(f"{field}: expected epoch seconds")
    return utc_from_epoch(value, field=field)


def _required_time(raw: Mapping[str, Any], field: str) -> datetime:
    moment = _time(raw, field)
    if moment is None:
        raise MappingError(f"{field}: missing")
    return moment


def _currency(value: Any, field: str) -> str:
    if not (isinstance(value, str) and len(value) == 3 and value.isalpha()):
        raise MappingError(f"{field}: missing or not an ISO 4217 code")
    return value.upper()


def _refund(amount: Any, field: str) -> tuple[Decimal | None, str | None]:
    """``refund_total`` and ``currency`` of a refund_amount object (absent: neither)."""
    if amount is None:
        return None, None
    if not isinstance(amount, Mapping):
        raise MappingError(f"{field}: expected an object")
    total = money_or_none(amount.get("refund_total"), field=f"{field}.refund_total")
    if total is None:
        return None, None
    return total, _currency(amount.get("currency"), f"{field}.currency")


def _return_shipping(raw: Mapping[str, Any]) -> tuple[Decimal | None, str | None, str | None]:
    """(cost of the return leg, who pays it, its currency) from the shipping fee entries."""
    field = "shipping_fee_amount" if "shipping_fee_amount" in raw else "return_shipping_fee_amount"
    value = raw.get(field)
    if value is None:
        return None, None, None
    entries = [value] if isinstance(value, Mapping) else value
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise MappingError(f"{field}: expected a list of objects")
    shares: dict[str, Decimal] = {}
    currency = None
    for i, entry in enumerate(entries):
        for payer, keys in PAYERS:
            for key in keys:
                amount = money_or_none(entry.get(key), field=f"{field}[{i}].{key}")
                if amount is not None:
                    shares[payer] = shares.get(payer, ZERO) + amount
        if entry.get("currency") is not None:
            currency = _currency(entry.get("currency"), f"{field}[{i}].currency")
    if not shares:
        return None, None, currency
    paying = [payer for payer, amount in shares.items() if amount > ZERO]
    return sum(shares.values(), ZERO), (paying[0] if len(paying) == 1 else None), currency


def _items(items: Any, field: str) -> tuple[dict[str, Any], ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise MappingError(f"{field}: expected a list")
    out = []
    for i, item in enumerate(items):
        where = f"{field}[{i}]"
        if not isinstance(item, Mapping):
            raise MappingError(f"{where}: expected an object")
        refund, _ = _refund(item.get("refund_amount"), f"{where}.refund_amount")
        name = " - ".join(filter(None, (text_or_none(item.get("product_name")), text_or_none(item.get("sku_name")))))
        known = {"sku": text_or_none(item.get("seller_sku")), "line_id": _id(item.get("order_line_item_id")), "name": name or None, "quantity": 1,
                 "refund": None if refund is None else str(refund)}  # fmt: skip
        out.append({key: value for key, value in known.items() if value is not None})
    return tuple(out)


def _deadline(actions: Any) -> datetime | None:
    """The earliest deadline of the seller's next actions."""
    if actions is None:
        return None
    if not isinstance(actions, list):
        raise MappingError("seller_next_action_response: expected a list")
    deadlines = [a.get("deadline") for a in actions if isinstance(a, Mapping)]
    found = [d for d in deadlines if isinstance(d, int) and not isinstance(d, bool) and d > 0]
    return utc_from_epoch(min(found), field="seller_next_action_response.deadline") if found else None
