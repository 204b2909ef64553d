"""Bukalapak: a retired channel, and the one-shot import of a seller's order export.

Bukalapak stopped selling physical goods: the last orders were possible on 2025-02-09
and every order not processed by **2025-03-02** 23:59 WIB was cancelled
(shared/reference/marketplaces.md §6, news quoting Bukalapak's blog). There is no live
connector, so ``simpul accounts add bukalapak`` refuses with ``RETIRED`` and a seller keeps
their history with ``simpul import bukalapak FILE --account A``.

The export (``COLUMNS``) is an **assumption**: Bukalapak's seller centre documentation is
gone and no copy of an export was found (searched: code corpus, 2026). We assume what
Indonesian seller centres export: a UTF-8 CSV (a BOM allowed), one row per order line, the
transaction number repeated on each line of an order, times in WIB without an offset,
amounts in whole rupiah (``150000``, ``150.000`` or ``Rp150.000``), a status in the
states of Bukalapak's former API (``STATUS_TABLE``; anything else maps to ``unknown``).
Required columns must all be present (a missing one refuses the file in one line);
optional ones may be absent.

Mapping: ``map_order(raw)`` is pure; ``raw`` is one order as the import groups it,
``{"transaction_id": ..., "rows": [{column: text, ...}, ...]}``. A row that cannot be read
makes its order a quarantine entry whose reason names the row and the column.

Where the orders go: ``simpul.accounts`` has no offline accounts (``Accounts.add`` needs a
channel with a connector spec and stores credentials), and orders need an ``account`` row.
So the import keeps the history under an account of its own, ``A``, created on first
import with channel ``bukalapak`` and status ``retired`` (audited ``account.added``, no
credentials): syncs, token refreshes and ``sync all`` skip it, ``simpul accounts list``
and ``simpul orders`` show it. An id that already belongs to another channel is refused.

Writes go through the store's public functions, as a sync's do: ``engine.map_records``
(boundary check and quarantine of bad rows), ``store.apply_page`` (the version guard: the
export's ``Tanggal Update``, else ``Tanggal``, then the content hash), ``store.quarantine``
and ``store.flush_audit``, all in one transaction. Importing the same file again writes
nothing: every order is unchanged, and a bad row already in quarantine with the same
content is not counted again.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from mappings._common import ZERO, mask_name, mask_phone, text_or_none
from simpul import audit, store
from simpul.canonical import (
    BuyerContact,
    FulfillmentStatus,
    MappingError,
    Order,
    OrderBundle,
    OrderLine,
    OrderStatus,
    PaymentStatus,
    Shipment,
    TrackingStatus,
)
from simpul.jsoncodec import content_hash

CHANNEL = "bukalapak"
MAPPING_VERSION = "bukalapak-export-1"
RETIRED = (
    "Bukalapak has no live connector: it closed physical-goods selling on 2025-03-02 (orders not processed by then were cancelled;"
    " docs: shared/reference/marketplaces.md §6). Keep your history with `simpul import bukalapak FILE --account A`"
    " (FILE: the seller centre's order export, CSV)"
)
ZONE = "Asia/Jakarta"
SINCE = datetime(2010, 1, 1, tzinfo=timezone.utc)  # Bukalapak opened in 2010 (assumed from its public history)

TX, DATE, UPDATED, STATUS = "No. Transaksi", "Tanggal", "Tanggal Update", "Status"
PRODUCT, SKU, QTY, PRICE, DISCOUNT, SHIPPING = "Nama Produk", "SKU", "Jumlah", "Harga Satuan", "Diskon", "Ongkos Kirim"
BUYER, PHONE, STREET, CITY, PROVINCE, POSTCODE = "Nama Pembeli", "No. HP Pembeli", "Alamat", "Kota", "Provinsi", "Kode Pos"
COURIER, AWB, PAYMENT = "Kurir", "No. Resi", "Metode Pembayaran"
REQUIRED = (TX, DATE, STATUS, PRODUCT, QTY, PRICE, SHIPPING)
OPTIONAL = (UPDATED, SKU, DISCOUNT, BUYER, PHONE, STREET, CITY, PROVINCE, POSTCODE, COURIER, AWB, PAYMENT)
COLUMNS = REQUIRED + OPTIONAL
PERSONAL = (BUYER, PHONE, STREET)

O, P, F, T = OrderStatus, PaymentStatus, FulfillmentStatus, TrackingStatus
STATUS_TABLE: dict[str, tuple[OrderStatus, PaymentStatus, FulfillmentStatus]] = {  # states of Bukalapak's former API (assumed)
    "pending": (O.PENDING, P.UNPAID, F.UNFULFILLED),
    "paid": (O.OPEN, P.PAID, F.UNFULFILLED),
    "accepted": (O.OPEN, P.PAID, F.UNFULFILLED),  # the seller accepted the order
    "delivered": (O.OPEN, P.PAID, F.SHIPPED),  # sent by the seller
    "received": (O.COMPLETED, P.PAID, F.DELIVERED),  # the buyer confirmed receipt
    "remitted": (O.COMPLETED, P.PAID, F.DELIVERED),  # the money went to the seller
    "rejected": (O.CANCELLED, P.REFUNDED, F.CANCELLED),  # refused by the seller after payment
    "refunded": (O.CANCELLED, P.REFUNDED, F.CANCELLED),
    "cancelled": (O.CANCELLED, P.UNKNOWN, F.CANCELLED),  # paid or not is not in the export
    "expired": (O.CANCELLED, P.VOIDED, F.CANCELLED),  # never paid
}
TRACKING = {F.SHIPPED: T.IN_TRANSIT, F.DELIVERED: T.DELIVERED}


class ImportRefused(ValueError):
    """The file as a whole cannot be imported (one line, no buyer data)."""


# -- the pure mapping ----------------------------------------------------------------------
def external_id(raw: Mapping[str, Any]) -> str | None:
    value = raw.get("transaction_id") if isinstance(raw, Mapping) else None
    return value.strip() or None if isinstance(value, str) else None


def map_order(raw: Mapping[str, Any]) -> OrderBundle:
    number = external_id(raw)
    rows = raw.get("rows") if isinstance(raw, Mapping) else None
    if number is None:
        raise MappingError(f"column '{TX}': empty")
    if not isinstance(rows, list) or not rows:
        raise MappingError("rows: none")
    first = rows[0]
    status_text = (first.get(STATUS) or "").strip()
    if not status_text:
        raise MappingError(f"rows[0] column '{STATUS}': empty")
    created = _time(first, DATE, 0, required=True)
    updated = max((_time(r, UPDATED, i) or created for i, r in enumerate(rows)), default=created)
    lines = tuple(_line(r, i, number) for i, r in enumerate(rows))
    shipping = max(_rupiah(r, SHIPPING, i, required=True) for i, r in enumerate(rows))
    order_status, payment, fulfillment = STATUS_TABLE.get(status_text.lower(), (O.UNKNOWN, P.UNKNOWN, F.UNKNOWN))
    subtotal = sum((line.unit_price * line.quantity for line in lines), ZERO)
    discount = sum((line.discount for line in lines), ZERO)
    buyer, phone = text_or_none(first.get(BUYER)), text_or_none(first.get(PHONE))
    awb = next((text_or_none(r.get(AWB)) for r in rows if text_or_none(r.get(AWB))), None)
    order = Order(
        external_id=number,
        status=order_status,
        payment_status=payment,
        fulfillment_status=fulfillment,
        raw_status=status_text,
        created_at=created,
        updated_at=updated,
        paid_at=None,
        ship_by=None,
        currency="IDR",
        subtotal=subtotal,
        discount_total=discount,
        shipping_fee=shipping,
        shipping_fee_actual=None,
        tax_total=ZERO,
        total=subtotal - discount + shipping,
        payment_method=text_or_none(first.get(PAYMENT)),
        is_cod=False,
        cod_amount=None,
        buyer_ref=None,
        buyer_name_masked=mask_name(buyer),
        buyer_phone_masked=mask_phone(phone),
        buyer_is_masked=bool(buyer and "*" in buyer),
        ship_city=text_or_none(first.get(CITY)),
        ship_region=text_or_none(first.get(PROVINCE)),
        ship_postcode=text_or_none(first.get(POSTCODE)),
        ship_country="ID",
        note=None,
        source_zone=ZONE,
    )
    shipments = ()
    if awb or fulfillment in TRACKING:
        shipments = (
            Shipment(
                package_ref=number,
                courier=text_or_none(first.get(COURIER)),
                service=None,
                tracking_number=awb,
                tracking_status=TRACKING.get(fulfillment, T.UNKNOWN),
                tracking_sub_status=None,
                raw_status=None,
                last_event_at=None,
                cod_collected=None,
            ),
        )
    return OrderBundle(
        order=order,
        lines=lines,
        shipments=shipments,
        mapping_version=MAPPING_VERSION,
        payload_hash=content_hash(raw),
        raw=scrub(raw),
        buyer=BuyerContact(name=buyer, phone=phone, street=text_or_none(first.get(STREET))),
    )


def scrub(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The order with the buyer's name and phone masked and the street dropped."""
    out = dict(raw)
    if isinstance(raw.get("rows"), list):
        out["rows"] = [_scrub_row(r) for r in raw["rows"]]
    return out


def _scrub_row(row: Any) -> Any:
    if not isinstance(row, Mapping):
        return row
    out = {k: v for k, v in row.items() if k != STREET}
    if BUYER in out:
        out[BUYER] = mask_name(text_or_none(out[BUYER])) or ""
    if PHONE in out:
        out[PHONE] = mask_phone(text_or_none(out[PHONE])) or ""
    return out


_RUPIAH_DOTS = re.compile(r"^\d{1,3}(\.\d{3})+$")
_RUPIAH_PLAIN = re.compile(r"^\d+(,\d{1,2})?$")
_TIMES = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M")


def _rupiah(row: Mapping[str, Any], column: str, i: int, *, required: bool = False) -> Decimal:
    text = (row.get(column) or "").strip()
    if not text:
        if required:
            raise MappingError(f"rows[{i}] column '{column}': empty")
        return ZERO
    compact = re.sub(r"^rp\.?\s*", "", text, flags=re.IGNORECASE).replace(" ", "")
    if _RUPIAH_DOTS.match(compact):
        return Decimal(compact.replace(".", ""))
    if _RUPIAH_PLAIN.match(compact):
        return Decimal(compact.replace(",", "."))
    raise MappingError(f"rows[{i}] column '{column}': not an amount in rupiah")


def _time(row: Mapping[str, Any], column: str, i: int, *, required: bool = False) -> datetime | None:
    text = (row.get(column) or "").strip()
    if not text:
        if required:
            raise MappingError(f"rows[{i}] column '{column}': empty")
        return None
    for pattern in _TIMES:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=ZoneInfo(ZONE)).astimezone(timezone.utc)
        except ValueError:
            continue
    raise MappingError(f"rows[{i}] column '{column}': not a date and time (YYYY-MM-DD HH:MM[:SS] or DD/MM/YYYY HH:MM[:SS], WIB)")


def _line(row: Mapping[str, Any], i: int, number: str) -> OrderLine:
    qty_text = (row.get(QTY) or "").strip()
    if not qty_text.isdigit() or int(qty_text) < 1:
        raise MappingError(f"rows[{i}] column '{QTY}': expected a whole number of 1 or more")
    qty, unit = int(qty_text), _rupiah(row, PRICE, i, required=True)
    discount = _rupiah(row, DISCOUNT, i)
    name = text_or_none(row.get(PRODUCT))
    if name is None:
        raise MappingError(f"rows[{i}] column '{PRODUCT}': empty")
    return OrderLine(
        external_line_id=f"{number}-{i + 1}",
        item_id=None,
        variant_id=None,
        sku=text_or_none(row.get(SKU)),
        name=name,
        quantity=qty,
        unit_price=unit,
        discount=discount,
        total=unit * qty - discount,
    )


# -- reading the file ---------------------------------------------------------------------
def read_export(path: str | Path) -> list[dict[str, Any]]:
    """The export's orders (rows grouped by transaction number, in file order)."""
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ImportRefused(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ImportRefused(f"{path} is not UTF-8 text (save the export as CSV UTF-8)") from None
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample else csv.excel
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportRefused(f"{path} is not a Bukalapak order export: missing columns {', '.join(repr(c) for c in missing)} (expected {', '.join(REQUIRED)})")
    orders: dict[str, dict[str, Any]] = {}
    blank = 0
    for row in reader:
        cells = {k.strip(): (v or "").strip() for k, v in row.items() if isinstance(k, str) and k.strip() in COLUMNS}
        number = cells.get(TX, "")
        if not number:
            blank += 1
            orders[f"\0blank{blank}"] = {"transaction_id": "", "rows": [cells]}
            continue
        orders.setdefault(number, {"transaction_id": number, "rows": []})["rows"].append(cells)
    return list(orders.values())


# -- storing ------------------------------------------------------------------------------
@dataclass(slots=True)
class ImportResult:
    account_id: str
    orders: int
    counts: store.PageCounts
    account_created: bool


def import_export(hub: Any, path: str | Path, account_id: str, *, actor: str = "cli:import") -> ImportResult:
    """Read ``path`` and store its orders under ``account_id`` (see the module docstring)."""
    from simpul.accounts import _ID, AccountError
    from simpul.engine import map_records
    from simpul.limits import Boundary

    if not _ID.match(account_id):
        raise AccountError("account id: lowercase letters, digits and dashes, at most 63 characters")
    records = read_export(path)
    now = datetime.now(timezone.utc)
    import sys

    bundles, rejected = map_records(sys.modules[__name__], records, Boundary(since=SINCE, now=now))
    ctx = store.WriteContext(
        account_id=account_id, channel=CHANNEL, run_id=None, actor=actor, now=now, mapping_version=MAPPING_VERSION, buyer_columns=hub.engine.buyers.columns
    )
    with hub.db.begin() as conn:
        created = _ensure_account(conn, account_id, now, actor)
        known = {row["payload_hash"] for row in store.open_quarantine(conn, account_id)}
        fresh = [r for r in rejected if r.payload_hash not in known]
        counts = store.apply_page(conn, ctx, bundles, fresh)
        counts.quarantined += len(rejected) - len(fresh)
        if counts.written or fresh or created:
            digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
            ctx.audit_events.append(
                audit.Event(action="import.bukalapak", actor=actor, account_id=account_id, entity_type="account", entity_key=account_id,
                            summary={"file": Path(path).name[:100], "sha256": digest, "orders": len(records), **counts.as_dict()})
            )
        store.flush_audit(conn, ctx)
    return ImportResult(account_id, len(records), counts, created)


def _ensure_account(conn: sa.Connection, account_id: str, now: datetime, actor: str) -> bool:
    """The retired Bukalapak account ``account_id``: created if missing (audited); refused if
    the id belongs to another channel."""
    from simpul.accounts import AccountError
    from simpul.model import Account

    table = Account.__table__
    row = conn.execute(sa.select(table.c.channel).where(table.c.id == account_id)).first()
    if row is not None:
        if row.channel != CHANNEL:
            raise AccountError(f"account {account_id!r} is a {row.channel} account; import Bukalapak history under a new account id")
        return False
    conn.execute(
        sa.insert(table).values(
            id=account_id, channel=CHANNEL, name=f"{account_id} (Bukalapak history)", base_url="", status="retired",
            status_reason="Bukalapak closed physical-goods selling on 2025-03-02: imported history only", history_days=1, created_at=now,
        )
    )
    audit.append(
        conn,
        [audit.Event(action="account.added", actor=actor, account_id=account_id, entity_type="account", entity_key=account_id,
                     summary={"channel": CHANNEL, "offline": True, "verified": False})],
        now=now,
    )
    return True
