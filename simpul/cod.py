"""COD money: what each cash-on-delivery order should bring, whether it came, what a
refusal cost, and what the couriers (or marketplaces) still owe (issue 12 §2).

**Per COD order** (``cod_orders``), its state, decided in this order:

- ``refused``: a return to sender exists (the marketplace's, or one tracking saw), or the
  parcel is on its way back: the buyer refused the parcel or could not be reached;
- ``delivered``: the courier delivered it (the parcel's tracking, the shipment's tag, or
  the order's fulfilment / completion), so the courier collected the cash and owes it;
- ``cancelled``: cancelled before it shipped; then ``delivered`` also when a marketplace
  paid it out (a settlement of more than nothing: it collected the cash); ``in_transit``: handed to the courier (the
  marketplace says shipped, or tracking knows the parcel), not delivered yet;
  ``unshipped``: not handed over yet (an airway bill alone is a booking).

The amount to collect is the order's ``cod_amount`` (else its total). What a refusal
cost: the forward leg (what the courier charged, ``shipping_fee_actual``, else what the
buyer was to pay, ``shipping_fee``), the return leg (the return's ``return_shipping_cost``,
else assumed equal to the forward leg: couriers in Indonesia charge the return of a
failed COD like the delivery), the packing cost
(the seller setting ``packing_cost``) and the value written off when the goods came back
damaged (``simpul.returns`` dispositions).

**Remittance** (``import_remittance``): the reference found no documented COD payout API,
so a payout report is read as CSV in a minimal format, an *assumption* written down here
and in the README: a header row; ``amount`` (required: digits with an optional ``.``
decimal part of one or two digits, no thousands separators (``10.000`` is refused, not
read as ten), in rupiah unless a ``currency`` column says
otherwise); ``awb`` (or ``tracking_number``) and/or ``order`` (or ``order_number``), at
least one per line; optional ``paid_at`` (ISO 8601 date or time, WIB when no offset) and
``reference``. A line is matched to a COD order by airway bill, else by order number:
never by buyer. Importing one file twice changes nothing (its lines are keyed by the
file's content hash and line number). A line that cannot be read is reported with its
line number and reason and the rest lands. Each line's match is audited (``cod.matched``).

**Marketplace settlement**: where the marketplace collects the COD money through its own
logistics and pays the seller (Shopee's escrow: the ``settlements`` stream,
``order_settlement``), its payout for the order counts as one payout line, and it also
proves the delivery. It is ``paid`` when the payout equals what the marketplace itself said
the seller would receive (``expected_amount``, Shopee's ``escrow_amount``), else
``amount_differs`` (the marketplace adjusted it afterwards); the COD amount minus the
payout is what the marketplace kept (``kept``: its fees and the shipping it charged).

A payout for an order that was refused or cancelled is not taken as a delivery: it is
``settled_not_delivered``, listed for a person (Shopee documents a fee it charges the
seller for a failed delivery, ``final_return_to_seller_shipping_fee``; the refusal cost
does not read it yet). A marketplace payout of nothing or less does not prove a delivery
either.

**Reconciliation** of each delivered COD order: ``paid`` (one line, the same amount),
``paid_twice`` (two lines or more: two payout lines, or a courier's line and the
marketplace's settlement), ``amount_differs`` (one line, another amount), ``missing`` (no
line). A line that matches no delivered COD order is ``unmatched``.
Money is ``Decimal`` end to end, in the order's currency. Months are calendar months in
Asia/Jakarta (WIB), by the order's creation time.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mappings import couriers
from simpul import audit, store
from simpul import markdown as md
from simpul.canonical import FulfillmentStatus, OrderStatus, ReturnType, TrackingStatus
from simpul.model import Account, CodRemittance, HubSetting, Order, Parcel, Return, ReturnDisposition, Settlement, Shipment

WIB = ZoneInfo("Asia/Jakarta")
ORDERS, SHIPMENTS, PARCELS, RETURNS = Order.__table__, Shipment.__table__, Parcel.__table__, Return.__table__
REMITTANCES, DISPOSITIONS, SETTINGS, ACCOUNTS = CodRemittance.__table__, ReturnDisposition.__table__, HubSetting.__table__, Account.__table__
SETTLEMENTS = Settlement.__table__
STATES = ("unshipped", "in_transit", "delivered", "refused", "cancelled")
MATCHES = ("paid", "paid_twice", "amount_differs", "missing")
ZERO = Decimal(0)
MOVING = (FulfillmentStatus.SHIPPED, FulfillmentStatus.PARTIAL, FulfillmentStatus.RETURNED)
_AMOUNT = re.compile(r"^-?\d+(\.\d{1,2})?$")  # "10.000" is ten thousand in Indonesia: refused, never read as ten


class RemittanceError(ValueError):
    """A remittance file that cannot be read at all: one line for the person."""


@dataclass(slots=True)
class CodOrder:
    account: str
    channel: str
    order: str
    created_at: datetime
    currency: str
    amount: Decimal
    courier: str | None
    tracking_number: str | None
    state: str
    remitted: Decimal = ZERO  # the sum of the remittance lines matched to it
    lines: int = 0
    match: str | None = None  # for a delivered order: paid | paid_twice | amount_differs | missing
    refusal_cost: Decimal | None = None  # for a refused order: both legs, packing, write-off
    expected: Decimal | None = None  # for a delivered order: what its payout should be (the COD amount, or the marketplace's figure)
    settled: Decimal | None = None  # the marketplace's payout for it (its settlement), if any
    kept: Decimal | None = None  # of a settled order: the COD amount minus the payout (fees, shipping)


# -- settings ------------------------------------------------------------------------------
SETTINGS_KNOWN = {"packing_cost": "what packing one parcel costs the seller, in rupiah (the COD report counts it for each refused parcel)"}


def set_setting(conn: Connection, name: str, value: str, *, account: str = "*", actor: str, now: datetime) -> None:
    if name not in SETTINGS_KNOWN:
        raise ValueError(f"unknown setting {name!r}; known: {', '.join(SETTINGS_KNOWN)}")
    if name == "packing_cost" and (not _AMOUNT.match(value.strip()) or Decimal(value) < 0):
        raise ValueError(f"packing_cost must be an amount such as 2500 or 2500.50, not {value!r}")
    before = conn.execute(sa.select(SETTINGS.c.value).where(SETTINGS.c.account_id == account, SETTINGS.c.name == name)).scalar()
    ins = store.upsert_into(conn, SETTINGS).values(account_id=account, name=name, value=value.strip(), updated_by=actor, updated_at=now)
    conn.execute(ins.on_conflict_do_update(index_elements=[SETTINGS.c.account_id, SETTINGS.c.name], set_={"value": value.strip(), "updated_by": actor, "updated_at": now}))
    audit.append(conn, [audit.Event(action="setting.set", actor=actor, account_id=None if account == "*" else account, entity_type="setting", entity_key=f"{account}:{name}", summary={"before": before, "after": value.strip()})], now=now)


def packing_costs(conn: Connection) -> dict[str, Decimal]:
    """``packing_cost`` per account (``*``: the default for every account)."""
    rows = conn.execute(sa.select(SETTINGS.c.account_id, SETTINGS.c.value).where(SETTINGS.c.name == "packing_cost"))
    return {account: Decimal(value) for account, value in rows}


# -- months ----------------------------------------------------------------------------------
def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``YYYY-MM`` as ``[start, end)`` in UTC, the calendar month in WIB."""
    if not re.fullmatch(r"\d{4}-\d{2}", month or ""):
        raise ValueError(f"month {month!r}: expected YYYY-MM, e.g. 2026-11")
    year, number = (int(p) for p in month.split("-"))
    if not 1 <= number <= 12 or year < 2000:
        raise ValueError(f"month {month!r}: expected YYYY-MM with a month 01-12 from 2000 on")
    start = datetime(year, number, 1, tzinfo=WIB)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=WIB)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def current_month(now: datetime) -> str:
    return now.astimezone(WIB).strftime("%Y-%m")


# -- COD orders ------------------------------------------------------------------------------
def cod_orders(conn: Connection, *, month: str | None = None, account: str | None = None, only: Sequence[tuple[str, str]] | None = None) -> list[CodOrder]:
    """Every COD order (of ``month`` and ``account`` when given; of the ``(account, order)``
    keys ``only`` names when given), its state, and, matched against the imported
    remittance lines, its reconciliation."""
    where = [ORDERS.c.is_cod.is_(True)]
    if month:
        start, end = month_bounds(month)
        where += [ORDERS.c.created_at >= start, ORDERS.c.created_at < end]
    if account:
        where.append(ORDERS.c.account_id == account)
    columns = (
        ORDERS.c.account_id, ORDERS.c.external_id, ORDERS.c.channel, ORDERS.c.created_at, ORDERS.c.currency, ORDERS.c.total, ORDERS.c.cod_amount,
        ORDERS.c.status, ORDERS.c.fulfillment_status, ORDERS.c.shipping_fee, ORDERS.c.shipping_fee_actual,
    )  # fmt: skip
    if only is None:
        rows = conn.execute(sa.select(*columns).where(*where).order_by(ORDERS.c.account_id, ORDERS.c.created_at, ORDERS.c.external_id)).mappings().all()
    else:  # a few orders (a payout file's): read by key, not by scanning the hub
        rows = []
        for owner, orders in _by_account(sorted(set(only))).items():
            for chunk in store.chunked(orders):
                rows += conn.execute(sa.select(*columns).where(*where, ORDERS.c.account_id == owner, ORDERS.c.external_id.in_(chunk))).mappings().all()
    keys = [(r["account_id"], r["external_id"]) for r in rows]
    settled = _settlements(conn, keys)
    ships = _shipments(conn, keys)
    returns = _returns_to_sender(conn, keys)
    losses = _write_offs(conn, keys)
    packing = packing_costs(conn)
    out = []
    for r in rows:
        key = (r["account_id"], r["external_id"])
        courier, number, tag, sub_tag, parcel_status, returning = ships.get(key, (None, None, None, None, None, False))
        if key in returns or returning:
            state = "refused"
        elif TrackingStatus.DELIVERED in (tag, parcel_status) or r["fulfillment_status"] == FulfillmentStatus.DELIVERED or r["status"] == OrderStatus.COMPLETED:
            state = "delivered"
        elif r["status"] == OrderStatus.CANCELLED:
            state = "cancelled"
        elif key in settled and settled[key][0] > 0:  # a marketplace pays out what its courier collected
            state = "delivered"
        elif number and (r["fulfillment_status"] in MOVING or parcel_status is not None):
            state = "in_transit"
        else:
            state = "unshipped"
        item = CodOrder(
            account=r["account_id"], channel=r["channel"], order=r["external_id"], created_at=r["created_at"], currency=r["currency"],
            amount=r["cod_amount"] if r["cod_amount"] is not None else r["total"], courier=courier, tracking_number=number, state=state,
        )  # fmt: skip
        if state == "refused":
            forward = r["shipping_fee_actual"] if r["shipping_fee_actual"] is not None else r["shipping_fee"]
            back = returns.get(key)
            back = back if back is not None else forward
            item.refusal_cost = forward + back + packing.get(r["account_id"], packing.get("*", ZERO)) + losses.get(key, ZERO)
        out.append(item)
    _reconcile(conn, out, settled)
    return out


def _settlements(conn: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], tuple[Decimal, Decimal | None]]:
    """Per order with a marketplace settlement: its payout and what the marketplace said
    the seller would receive."""
    out: dict[tuple[str, str], tuple[Decimal, Decimal | None]] = {}
    for account, orders in _by_account(keys).items():
        for chunk in store.chunked(orders):
            query = sa.select(SETTLEMENTS.c.order_external_id, SETTLEMENTS.c.payout_amount, SETTLEMENTS.c.expected_amount).where(
                SETTLEMENTS.c.account_id == account, SETTLEMENTS.c.order_external_id.in_(chunk)
            )
            out.update(((account, order), (payout, expected)) for order, payout, expected in conn.execute(query))
    return out


def _shipments(conn: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], tuple]:
    """Per order: its first shipment with an airway bill (its courier code where the courier
    table names the carrier, else the carrier text; number, tag, sub-tag) and
    its parcel's status and whether it is going back (tracking's word, when there is one)."""
    out: dict[tuple[str, str], tuple] = {}
    for account, orders in _by_account(keys).items():
        for chunk in store.chunked(orders):
            query = (
                sa.select(SHIPMENTS.c.order_external_id, SHIPMENTS.c.courier, SHIPMENTS.c.service, SHIPMENTS.c.tracking_number, SHIPMENTS.c.tracking_status, SHIPMENTS.c.tracking_sub_status, PARCELS.c.status, PARCELS.c.return_to_sender)
                .outerjoin(PARCELS, sa.and_(PARCELS.c.tracking_number == SHIPMENTS.c.tracking_number, PARCELS.c.payload_hash.is_not(None)))
                .where(SHIPMENTS.c.account_id == account, SHIPMENTS.c.order_external_id.in_(chunk))
                .order_by(SHIPMENTS.c.order_external_id, SHIPMENTS.c.tracking_number.is_(None), SHIPMENTS.c.package_ref)
            )  # fmt: skip
            for order, carrier, service, number, tag, sub_tag, parcel_status, returning in conn.execute(query):
                courier = couriers.courier_of_shipment(carrier, service) or carrier  # "JNE" and "JNE Reguler" are one courier
                out.setdefault((account, order), (courier, number, tag, sub_tag, parcel_status, bool(returning)))
    return out


def _returns_to_sender(conn: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Decimal | None]:
    """Orders with a return-to-sender return, and its return leg's cost when known."""
    out: dict[tuple[str, str], Decimal | None] = {}
    for account, orders in _by_account(keys).items():
        for chunk in store.chunked(orders):
            query = sa.select(RETURNS.c.order_external_id, RETURNS.c.return_shipping_cost).where(
                RETURNS.c.account_id == account, RETURNS.c.order_external_id.in_(chunk), RETURNS.c.type == ReturnType.RETURN_TO_SENDER
            )
            for order, cost in conn.execute(query):
                out[(account, order)] = cost if cost is not None else out.get((account, order))
    return out


def _write_offs(conn: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
    out: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for account, orders in _by_account(keys).items():
        for chunk in store.chunked(orders):
            query = sa.select(DISPOSITIONS.c.order_external_id, DISPOSITIONS.c.loss).where(
                DISPOSITIONS.c.account_id == account, DISPOSITIONS.c.order_external_id.in_(chunk), DISPOSITIONS.c.loss.is_not(None)
            )
            for order, loss in conn.execute(query):
                out[(account, order)] += loss
    return dict(out)


# -- remittance ------------------------------------------------------------------------------
@dataclass(slots=True)
class ImportResult:
    lines: int = 0
    new: int = 0  # lines not imported before
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    matched: dict[str, int] = field(default_factory=dict)  # match result -> lines


def import_remittance(conn: Connection, data: bytes, *, remitter: str, actor: str, now: datetime) -> ImportResult:
    """Import a payout report (the CSV format in the module docstring) in the caller's
    transaction; audited per line (``cod.matched``) and per file (``cod.remittance_imported``)."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RemittanceError("the file is not UTF-8 text (save the payout report as CSV, UTF-8)") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = {(c or "").strip().lower() for c in reader.fieldnames or ()}
    if "amount" not in columns or not columns & {"awb", "tracking_number", "order", "order_number"}:
        raise RemittanceError("the header must name amount and awb (or tracking_number) and/or order (or order_number)")
    result = ImportResult()
    rows = []
    for line_no, raw in enumerate(reader, start=2):
        result.lines += 1
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        try:
            rows.append(_remittance_row(row, line_no))
        except ValueError as exc:
            result.bad.append((line_no, str(exc)))
    stored = {
        n for (n,) in conn.execute(sa.select(REMITTANCES.c.line_no).where(REMITTANCES.c.file_hash == digest))
    }
    fresh = [dict(r, remitter=remitter, file_hash=digest, imported_by=actor, imported_at=now) for r in rows if r["line_no"] not in stored]
    result.new = len(fresh)
    if fresh:
        conn.execute(sa.insert(REMITTANCES), fresh)
    events = []
    verdicts = _line_verdicts(conn, fresh)
    for r in fresh:
        verdict, order = verdicts[r["line_no"]]
        result.matched[verdict] = result.matched.get(verdict, 0) + 1
        events.append(
            audit.Event(
                action="cod.matched", actor=actor, account_id=order[0] if order else None, entity_type="cod_remittance",
                entity_key=f"{digest[:16]}:{r['line_no']}",
                summary={"order": order[1] if order else None, "awb": r["tracking_number"], "amount": str(r["amount"]), "result": verdict, "remitter": remitter},
            )
        )  # fmt: skip
    events.append(
        audit.Event(action="cod.remittance_imported", actor=actor, entity_type="cod_remittance", entity_key=digest[:16], summary={"remitter": remitter, "lines": result.lines, "new": result.new, "bad": len(result.bad), "matched": result.matched})
    )
    audit.append(conn, events, now=now)
    return result


def _remittance_row(row: Mapping[str, str], line_no: int) -> dict[str, Any]:
    awb = row.get("awb") or row.get("tracking_number") or None
    order = row.get("order") or row.get("order_number") or None
    if not awb and not order:
        raise ValueError("neither awb nor order")
    amount_text = row.get("amount", "")
    if not _AMOUNT.match(amount_text):
        raise ValueError(f"amount {amount_text[:40]!r} is not a plain amount (digits, an optional . and one or two decimals, no thousands separators)")
    amount = Decimal(amount_text)
    paid_at = None
    if row.get("paid_at"):
        try:
            paid_at = datetime.fromisoformat(row["paid_at"])
        except ValueError:
            raise ValueError(f"paid_at {row['paid_at'][:40]!r} is not an ISO date or time") from None
        paid_at = (paid_at if paid_at.tzinfo else paid_at.replace(tzinfo=WIB)).astimezone(timezone.utc)
    currency = (row.get("currency") or "IDR").upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ValueError(f"currency {currency[:10]!r} is not an ISO code")
    for name, value, limit in (("awb", awb, 100), ("order", order, 100), ("reference", row.get("reference"), 200)):
        if value and len(value) > limit:
            raise ValueError(f"{name}: {len(value)} characters, more than {limit}")
    return {"line_no": line_no, "tracking_number": awb, "order_external_id": order, "amount": amount, "currency": currency, "paid_at": paid_at, "reference": row.get("reference") or None}


def _line_verdicts(conn: Connection, lines: Sequence[Mapping[str, Any]]) -> dict[int, tuple[str, tuple[str, str] | None]]:
    """Each new line's match as it stands after the import: its order's result, or unmatched."""
    if not lines:
        return {}
    keys = _match_lines(conn, lines)
    items = {(i.account, i.order): i for i in cod_orders(conn, only=[k for k in keys if k])}
    out = {}
    for line, key in zip(lines, keys):
        item = items.get(key) if key else None
        out[line["line_no"]] = (item.match, key) if item is not None and item.match else ("unmatched", key)
    return out


def _match_lines(conn: Connection, lines: Sequence[Mapping[str, Any]]) -> list[tuple[str, str] | None]:
    """Each line's COD order ``(account, order)``, in the lines' order: by airway bill, else
    by order number; a number two accounts share matches neither (never guessed)."""
    awbs = sorted({line["tracking_number"] for line in lines if line["tracking_number"]})
    numbers = sorted({line["order_external_id"] for line in lines if line["order_external_id"]})
    by_awb: dict[str, set[tuple[str, str]]] = defaultdict(set)
    by_number: dict[str, set[tuple[str, str]]] = defaultdict(set)
    cod = ORDERS.c.is_cod.is_(True)
    for chunk in store.chunked(awbs):
        query = sa.select(SHIPMENTS.c.tracking_number, SHIPMENTS.c.account_id, SHIPMENTS.c.order_external_id).join(
            ORDERS, sa.and_(ORDERS.c.account_id == SHIPMENTS.c.account_id, ORDERS.c.external_id == SHIPMENTS.c.order_external_id)
        ).where(SHIPMENTS.c.tracking_number.in_(chunk), cod)
        for awb, account, order in conn.execute(query):
            by_awb[awb].add((account, order))
    for chunk in store.chunked(numbers):
        for order, account in conn.execute(sa.select(ORDERS.c.external_id, ORDERS.c.account_id).where(ORDERS.c.external_id.in_(chunk), cod)):
            by_number[order].add((account, order))
    out: list[tuple[str, str] | None] = []
    for line in lines:
        found = by_awb.get(line["tracking_number"] or "") or by_number.get(line["order_external_id"] or "") or set()
        out.append(next(iter(found)) if len(found) == 1 else None)
    return out


def _reconcile(conn: Connection, items: Sequence[CodOrder], settled: Mapping[tuple[str, str], tuple[Decimal, Decimal | None]] | None = None) -> None:
    """Attach the remittance lines and the marketplaces' settlements to the COD orders and
    decide each delivered one's match."""
    if not items:
        return
    expected: dict[tuple[str, str], Decimal] = {}
    for item in items:
        if settled and (found := settled.get((item.account, item.order))) is not None:
            payout, said = found
            item.settled = payout
            if item.state != "delivered":  # paid out for a parcel that was refused or cancelled: a person looks
                item.match = "settled_not_delivered"
                continue
            item.kept = item.amount - payout
            item.remitted += payout
            item.lines += 1
            expected[(item.account, item.order)] = said if said is not None else payout
    lines = conn.execute(sa.select(REMITTANCES.c.tracking_number, REMITTANCES.c.order_external_id, REMITTANCES.c.amount)).mappings().all()
    index = {(i.account, i.order): i for i in items}
    for line, key in zip(lines, _match_lines(conn, lines)):
        item = index.get(key) if key else None
        if item is not None:
            item.remitted += line["amount"]
            item.lines += 1
    for item in items:
        if item.state == "delivered":
            item.expected = expected.get((item.account, item.order), item.amount)
            item.match = "missing" if item.lines == 0 else "paid_twice" if item.lines > 1 else "paid" if item.remitted == item.expected else "amount_differs"


def unmatched_lines(conn: Connection) -> list[dict[str, Any]]:
    """Remittance lines that match no delivered COD order (money for what we did not deliver,
    or for an airway bill we do not know)."""
    lines = [dict(r) for r in conn.execute(sa.select(REMITTANCES).order_by(REMITTANCES.c.id)).mappings()]
    if not lines:
        return []
    keys = _match_lines(conn, lines)
    delivered = {(i.account, i.order) for i in cod_orders(conn, only=[k for k in keys if k]) if i.state == "delivered"}
    return [line for line, key in zip(lines, keys) if key not in delivered]


# -- the report ------------------------------------------------------------------------------
def report(conn: Connection, *, month: str | None = None, account: str | None = None) -> dict[str, Any]:
    """The COD report: per channel and courier, and in total: COD shipped, delivered
    (collected by the courier), refused and what refusals cost, remitted, pending (delivered,
    no payout line yet) and disputed (paid twice, another amount), and of what was remitted
    what marketplaces settled and kept (fees, shipping); plus the orders that
    need a look and the payout lines that match nothing. Amounts are Decimal."""
    items = cod_orders(conn, month=month, account=account)
    groups: dict[tuple[str, str], dict[str, Any]] = {}

    def bucket(key: tuple[str, str]) -> dict[str, Any]:
        return groups.setdefault(key, {"channel": key[0], "courier": key[1], **{k: 0 for k in COUNTS}, **{k: ZERO for k in AMOUNTS}})

    total = {"channel": "*", "courier": "*", **{k: 0 for k in COUNTS}, **{k: ZERO for k in AMOUNTS}}
    for item in items:
        for row in (bucket((item.channel, item.courier or "-")), total):
            _add(row, item)
    currencies = sorted({i.currency for i in items})
    rows = sorted(groups.values(), key=lambda r: (r["channel"], r["courier"]))
    attention = [asdict(i) for i in items if i.match in ("missing", "paid_twice", "amount_differs", "settled_not_delivered")]
    unmatched = [] if account else unmatched_lines(conn)  # a line that matches nothing belongs to no account
    return {"month": month, "account": account, "currencies": currencies, "rows": rows, "total": total, "attention": attention, "unmatched_lines": unmatched}


COUNTS = ("orders", "shipped", "delivered", "refused", "paid", "paid_twice", "amount_differs", "missing", "settled", "settled_not_delivered")
AMOUNTS = ("cod_amount", "shipped_amount", "delivered_amount", "refused_amount", "refusal_cost", "remitted", "pending", "disputed", "settled_amount", "kept")


def _add(row: dict[str, Any], item: CodOrder) -> None:
    row["orders"] += 1
    row["cod_amount"] += item.amount
    if item.state in ("in_transit", "delivered", "refused"):
        row["shipped"] += 1
        row["shipped_amount"] += item.amount
    if item.state == "delivered":
        row["delivered"] += 1
        row["delivered_amount"] += item.amount
        row[item.match] += 1
        row["remitted"] += item.remitted
        if item.match == "missing":
            row["pending"] += item.amount
        elif item.match in ("paid_twice", "amount_differs"):
            row["disputed"] += abs(item.remitted - item.expected)
    if item.settled is not None:  # what marketplaces paid out, delivered or not
        row["settled"] += 1
        row["settled_amount"] += item.settled
        row["kept"] += item.kept or ZERO
    if item.match == "settled_not_delivered":
        row["settled_not_delivered"] += 1
    if item.state == "refused":
        row["refused"] += 1
        row["refused_amount"] += item.amount
        row["refusal_cost"] += item.refusal_cost or ZERO


def _by_account(keys: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for account, order in keys:
        out[account].append(order)
    return out




def markdown(data: Mapping[str, Any]) -> str:
    """The COD report as markdown (the ``cod-report`` artifact): totals, per channel and
    courier, then the payouts to look at. Order numbers, airway bills and amounts only."""
    t = data["total"]
    title = f"### COD {data['month'] or 'all months'}" + (f", account {md.cell(data['account'])}" if data["account"] else "")
    lines = [
        title,
        "",
        f"{t['shipped']} shipped ({t['shipped_amount']}), {t['delivered']} delivered and collected by the courier ({t['delivered_amount']}), "
        f"{t['refused']} refused costing {t['refusal_cost']}.",
        f"Remitted {t['remitted']}; pending {t['pending']} ({t['missing']} parcel(s) with no payout yet); "
        f"disputed {t['disputed']} ({t['paid_twice']} paid twice, {t['amount_differs']} another amount).",
        *(
            [f"Of the remitted, marketplaces settled {t['settled']} order(s) for {t['settled_amount']}, keeping {t['kept']} of their COD amount in fees and shipping."]
            if t["settled"] else []
        ),
        "",
        "| channel | courier | shipped | delivered | refused | refusal cost | remitted | pending | disputed |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in data["rows"]:
        lines.append(
            f"| {md.cell(r['channel'])} | {md.cell(r['courier'])} | {r['shipped']} | {r['delivered']} | {r['refused']} | {r['refusal_cost']} | {r['remitted']} | {r['pending']} | {r['disputed']} |"
        )
    if data["attention"]:
        lines += ["", "**Payouts to look at**", "", "| match | account | order | airway bill | amount | expected payout | remitted |", "| --- | --- | --- | --- | ---: | ---: | ---: |"]
        for a in data["attention"][:200]:
            lines.append(
                f"| {a['match']} | {md.cell(a['account'])} | {md.cell(a['order'])} | {md.cell(a['tracking_number'] or '-')} | {a['amount']} | {a['expected']} | {a['remitted']} |"
            )
    if data["unmatched_lines"]:
        lines += ["", f"{len(data['unmatched_lines'])} payout line(s) match no delivered COD order: `simpul cod report --json`."]
    return "\n".join(lines) + "\n"

