"""WooCommerce REST wc/v3 refund record -> canonical ``ReturnRecord`` (pure, no I/O).

Sources (shared/reference/storefronts_couriers.md §2.4):

- woocommerce/woocommerce-rest-api-docs ``source/includes/wp-api-v3/_order-refunds.md``:
  the refund's fields (``id``, ``date_created(_gmt)``, ``amount`` "Total refund amount"
  as a string, ``reason``, ``refunded_by``, ``refunded_payment`` "If the payment was
  refunded via the API", ``meta_data``, ``line_items`` with negative ``quantity``,
  ``subtotal`` and ``total`` and ``_refunded_item_id`` in their ``meta_data``), and the
  list example of order 723 (refunds 726 and 724) the golden ``docs_order_723_refund_724``
  is built from.
- woocommerce/woocommerce ``plugins/woocommerce/includes/rest-api/Controllers/Version2/
  class-wc-rest-order-refunds-v2-controller.php`` ``get_formatted_item_data()``: what a
  refund renders (also ``shipping_lines``, ``tax_lines``, ``fee_lines``; no modification
  time); ``register_routes()``: GET, POST and DELETE only, so a refund is never edited
  through the API. ``includes/wc-order-functions.php`` ``wc_create_refund()``: the
  refund's line items carry ``_refunded_item_id`` and a negative quantity, and
  ``refunded_payment`` is set only after the gateway returned the money;
  ``wc_order_fully_refunded()``: the refund WooCommerce writes itself when an order is set
  to ``refunded`` by hand, reason "Order fully refunded.", with the note "To return funds
  to the customer you will need to issue a refund through your payment gateway."

The record (assembled by ``connectors.woocommerce.client``, served the same way by the
sandbox): the refund object exactly as ``GET /orders/<id>/refunds`` renders it, plus
``"order": {"id": <order id>, "currency": <the order's currency>}`` taken from the order
listing that found it (a refund names neither; its amounts are in its order's currency).

Decisions where the sources are silent (each a choice, written down):

- Type ``refund`` (money back; WooCommerce core has no return of goods). Status from
  ``refunded_payment``, kept in ``raw_status`` in WooCommerce's own words for the two
  refund buttons (``api``: "Refund via <gateway>", ``manual``: "Refund manually"):
  ``api`` -> ``refunded`` (the gateway returned the money); ``manual`` -> ``approved``
  (WooCommerce recorded the refund but moved no money: "you will need to issue a refund
  through your payment gateway", which Simpul cannot see happen); anything else ->
  ``unknown`` with no raw status. Neither moves on: a manual refund never becomes an API
  one. One read catching a refund between its first save and the gateway's answer (its
  ``refunded_payment`` is set a moment later) moves ``approved`` to ``refunded``.
- ``updated_at`` is ``date_created_gmt``: a refund has no modification time (none in the
  schema, no update route); it is immutable once created, so its creation time is its
  version, and a changed content at the same time still wins by the store's tie rule
  (another content hash). The connector finds refunds through their order's
  ``date_modified_gmt`` (every refund saves its order), which is not part of the record:
  an order's later saves must not look like changes of its refunds.
- ``reason`` is free text typed by the shop. ``reason_code`` comes from the keyword table
  ``REASONS`` (Indonesian and English words, matched in the order of ``PRIORITY``: a
  seller-side reason such as "stok habis" first, then size, damage, delivery, change of
  mind, wrong item, not as described); a text none of them names is ``other``; an empty
  reason, or the text WooCommerce writes itself (``CORE_TEXTS``), says nothing about why:
  ``unknown``. A translated core text (a site in Indonesian) is not listed: ``other``.
- The reason may hold what a shop typed about the buyer (a bank account for a transfer
  back, a phone number, an e-mail): runs of 8 or more digits keep their last two, and an
  e-mail address its first character and domain, in ``ret.reason`` and in ``scrub``.
  Names cannot be told from other words and are not masked (residual risk).
- ``items``: one per refunded line item with a non-zero quantity or amount:
  ``line_id`` (the order line's id, from ``_refunded_item_id``), ``sku``, ``name``,
  ``quantity`` (positive), ``refund`` (line ``total`` plus ``total_tax``, as positive
  text). Refunded shipping and fees are in ``refund_amount`` but are not goods, so not items.
- ``return_shipping_cost``, ``tracking_number``, ``shipping_paid_by`` and ``respond_by``
  stay None: WooCommerce core has no return leg and no deadline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from mappings._common import ZERO, list_field, money, money_or_none, ref, text_or_none
from mappings.woocommerce import SiteTimes, is_personal_meta
from simpul.canonical import MappingError, Return, ReturnReason, ReturnRecord, ReturnStatus, ReturnType
from simpul.jsoncodec import content_hash

MAPPING_VERSION = "woocommerce-returns-1"

R = ReturnReason
PRIORITY: tuple[ReturnReason, ...] = (R.OTHER, R.SIZE_FIT, R.DAMAGED, R.FAILED_DELIVERY, R.CHANGED_MIND, R.WRONG_ITEM, R.NOT_AS_DESCRIBED)
"""The order in which a reason's keywords are tried: the first category with a match wins
("ukuran salah" is a size, "salah pesan" the buyer's mistake, "batal karena stok habis"
the shop's stock)."""

REASONS: dict[str, ReturnReason] = {
    # the shop's side, none of the buyer-facing categories (tried first)
    "stok habis": R.OTHER, "stock habis": R.OTHER, "stok kosong": R.OTHER, "kehabisan stok": R.OTHER, "out of stock": R.OTHER,
    # size and fit
    "ukuran": R.SIZE_FIT, "kekecilan": R.SIZE_FIT, "kebesaran": R.SIZE_FIT, "tidak muat": R.SIZE_FIT, "size": R.SIZE_FIT,
    "fit": R.SIZE_FIT, "too small": R.SIZE_FIT, "too big": R.SIZE_FIT, "too large": R.SIZE_FIT,
    # broken, defective, not working, spoiled
    "rusak": R.DAMAGED, "cacat": R.DAMAGED, "pecah": R.DAMAGED, "retak": R.DAMAGED, "bocor": R.DAMAGED, "penyok": R.DAMAGED,
    "sobek": R.DAMAGED, "robek": R.DAMAGED, "tidak berfungsi": R.DAMAGED, "tidak menyala": R.DAMAGED, "basi": R.DAMAGED,
    "kedaluwarsa": R.DAMAGED, "kadaluarsa": R.DAMAGED, "kadaluwarsa": R.DAMAGED, "damaged": R.DAMAGED, "broken": R.DAMAGED,
    "defective": R.DAMAGED, "faulty": R.DAMAGED, "not working": R.DAMAGED, "cracked": R.DAMAGED, "leaking": R.DAMAGED, "expired": R.DAMAGED,
    # never arrived, refused at the door, lost
    "tidak sampai": R.FAILED_DELIVERY, "belum sampai": R.FAILED_DELIVERY, "tidak diterima": R.FAILED_DELIVERY, "belum diterima": R.FAILED_DELIVERY,
    "paket hilang": R.FAILED_DELIVERY, "hilang di": R.FAILED_DELIVERY, "ditolak": R.FAILED_DELIVERY, "gagal kirim": R.FAILED_DELIVERY,
    "gagal dikirim": R.FAILED_DELIVERY, "gagal antar": R.FAILED_DELIVERY, "never arrived": R.FAILED_DELIVERY, "not delivered": R.FAILED_DELIVERY,
    "undelivered": R.FAILED_DELIVERY, "not received": R.FAILED_DELIVERY, "lost": R.FAILED_DELIVERY, "refused": R.FAILED_DELIVERY,
    "returned to sender": R.FAILED_DELIVERY,
    # the buyer no longer wants it, or ordered by mistake
    "berubah pikiran": R.CHANGED_MIND, "ganti pikiran": R.CHANGED_MIND, "tidak jadi": R.CHANGED_MIND, "batal": R.CHANGED_MIND,
    "salah pesan": R.CHANGED_MIND, "salah order": R.CHANGED_MIND, "salah beli": R.CHANGED_MIND, "tidak butuh": R.CHANGED_MIND,
    "mind": R.CHANGED_MIND, "no longer": R.CHANGED_MIND, "by mistake": R.CHANGED_MIND, "cancel": R.CHANGED_MIND,
    # wrong product, variant or quantity, parts missing
    "salah kirim": R.WRONG_ITEM, "salah barang": R.WRONG_ITEM, "salah produk": R.WRONG_ITEM, "salah varian": R.WRONG_ITEM,
    "salah warna": R.WRONG_ITEM, "salah": R.WRONG_ITEM, "tertukar": R.WRONG_ITEM, "tidak lengkap": R.WRONG_ITEM,
    "kurang lengkap": R.WRONG_ITEM, "jumlah kurang": R.WRONG_ITEM, "barang kurang": R.WRONG_ITEM, "wrong": R.WRONG_ITEM,
    "missing": R.WRONG_ITEM, "incomplete": R.WRONG_ITEM,
    # differs from the listing, fake
    "tidak sesuai": R.NOT_AS_DESCRIBED, "beda": R.NOT_AS_DESCRIBED, "berbeda": R.NOT_AS_DESCRIBED, "palsu": R.NOT_AS_DESCRIBED,
    "tiruan": R.NOT_AS_DESCRIBED, "kw": R.NOT_AS_DESCRIBED, "not as described": R.NOT_AS_DESCRIBED, "different": R.NOT_AS_DESCRIBED,
    "fake": R.NOT_AS_DESCRIBED, "counterfeit": R.NOT_AS_DESCRIBED,
}  # fmt: skip
"""Keyword (lower case) -> reason. A keyword of up to four letters must stand as a word
("fit" is not in "profit"); a longer one may sit inside a word ("rusak" in "kerusakan",
"batal" in "dibatalkan")."""

CORE_TEXTS: dict[str, ReturnReason] = {"order fully refunded.": R.UNKNOWN}
"""Reasons WooCommerce writes itself (``wc_order_fully_refunded``): no word on why."""

STATUSES: dict[str, ReturnStatus] = {"api": ReturnStatus.REFUNDED, "manual": ReturnStatus.APPROVED}
"""``raw_status`` (from ``refunded_payment``: true is ``api``, false ``manual``) -> status."""

REFUNDED_ITEM = "_refunded_item_id"


def _pattern(keyword: str) -> re.Pattern[str]:
    word = re.escape(keyword)
    return re.compile(rf"(?<![\w]){word}(?![\w])" if len(keyword) <= 4 else word)


_MATCHERS: tuple[tuple[ReturnReason, tuple[re.Pattern[str], ...]], ...] = tuple(
    (reason, tuple(_pattern(k) for k, r in REASONS.items() if r is reason)) for reason in PRIORITY
)
_LONG_DIGITS = re.compile(r"\d(?:[ .-]?\d){7,}")  # 8+ digits, maybe grouped: phones, bank accounts
_EMAIL = re.compile(r"([^\s@*])[^\s@]*@([\w-]+(?:\.[\w-]+)+)")


def reason_code(text: Any) -> ReturnReason:
    """The taxonomy of a free-text refund reason (module docstring): by ``REASONS``."""
    folded = " ".join(str(text).casefold().split()) if text is not None else ""
    if not folded:
        return R.UNKNOWN
    if folded in CORE_TEXTS:
        return CORE_TEXTS[folded]
    for reason, patterns in _MATCHERS:
        if any(p.search(folded) for p in patterns):
            return reason
    return R.OTHER


def mask_reason(text: Any) -> str | None:
    """The reason with long digit runs and e-mail addresses masked (idempotent)."""
    value = text_or_none(text)
    if value is None:
        return None
    value = _LONG_DIGITS.sub(lambda m: _keep_last_two_digits(m.group()), value)
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", value)


def _keep_last_two_digits(run: str) -> str:
    kept, out = 0, []
    for c in reversed(run):
        if c.isdigit():
            kept += 1
            out.append(c if kept <= 2 else "*")
        else:
            out.append(c)
    return "".join(reversed(out))


def external_id(raw: Mapping[str, Any]) -> str | None:
    try:
        return _positive_id(raw.get("id"), "id")
    except (MappingError, AttributeError):
        return None


def map_return(raw: Mapping[str, Any]) -> ReturnRecord:
    if not isinstance(raw, Mapping):
        raise MappingError("payload: expected a JSON object")
    refund_id = _positive_id(raw.get("id"), "id")
    order = raw.get("order")
    if not isinstance(order, Mapping):
        raise MappingError("order: missing (the connector adds the refund's order)")
    order_id = _positive_id(order.get("id"), "order.id")
    currency = order.get("currency")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
        raise MappingError("order.currency: missing or not an ISO 4217 code")
    amount = money(raw.get("amount"), field="amount")
    if amount < 0:
        raise MappingError("amount: negative (WooCommerce documents a positive refund amount)")
    created_at = SiteTimes(raw).require("date_created")
    paid_back = raw.get("refunded_payment")
    raw_status = "api" if paid_back is True else "manual" if paid_back is False else None
    reason = text_or_none(raw.get("reason"))
    ret = Return(
        external_id=refund_id,
        type=ReturnType.REFUND,
        status=STATUSES.get(raw_status or "", ReturnStatus.UNKNOWN),
        raw_status=raw_status,
        reason=mask_reason(reason),
        refund_amount=amount,
        return_shipping_cost=None,
        items=tuple(item for i, line in enumerate(list_field(raw, "line_items")) if (item := _item(line, f"line_items[{i}]"))),
        created_at=created_at,
        reason_code=reason_code(reason),
        updated_at=created_at,
        currency=currency.upper(),
    )
    return ReturnRecord(order_external_id=order_id, ret=ret, mapping_version=MAPPING_VERSION, payload_hash=content_hash(raw), raw=scrub(raw))


def scrub(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A copy fit to store: the reason masked (``mask_reason``), personal meta dropped as the
    order mapping drops it. A refund names no buyer otherwise (``refunded_by`` is the shop's
    user)."""
    out = dict(raw)
    if isinstance(out.get("reason"), str):
        out["reason"] = mask_reason(out["reason"]) or out["reason"]
    if isinstance(out.get("meta_data"), list):
        out["meta_data"] = [m for m in out["meta_data"] if not is_personal_meta(m)]
    return out


# -- pieces -----------------------------------------------------------------------------------
def _positive_id(value: Any, field: str) -> str:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise MappingError(f"{field}: missing or not a positive integer")
    return str(value)


def _item(line: Any, where: str) -> dict[str, Any] | None:
    """A refunded line item as ``Return.items`` holds it; None for a line that refunds nothing."""
    if not isinstance(line, Mapping):
        raise MappingError(f"{where}: expected an object")
    quantity = _whole(line.get("quantity"), f"{where}.quantity")
    refund = abs(money(line.get("total"), field=f"{where}.total")) + abs(money_or_none(line.get("total_tax"), field=f"{where}.total_tax") or ZERO)
    if quantity == 0 and refund == 0:
        return None
    meta = {m.get("key"): m.get("value") for m in list_field(line, "meta_data") if isinstance(m, Mapping)}
    item = {
        "line_id": ref(meta.get(REFUNDED_ITEM)),
        "sku": text_or_none(line.get("sku")),
        "name": text_or_none(line.get("name")),
        "quantity": abs(quantity),
        "refund": str(refund),
    }
    return {k: v for k, v in item.items() if v is not None}


def _whole(value: Any, field: str) -> int:
    """A whole number, as WooCommerce sends a refunded quantity (negative, or 0)."""
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,9}", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MappingError(f"{field}: expected a whole number")
    return value
