"""Parcels as their couriers track them: write a tracking page, choose who is due a look.

The tracking stream is read by key (courier, airway bill), not by time. The hub chooses
the keys: every shipment with an airway bill whose courier it can name becomes a parcel
(``enlist``), a parcel is due when its next look comes (``due``; a parcel whose looks bring
no new scan is looked at less often, never forgotten), and each courier's parcels go to
the tracking account that covers it (``routes``).

``apply_tracking`` writes one page of tracking replies in the caller's transaction, next
to the page's checkpoint, with the guarantees orders have:

- a parcel's status follows its newest scan: a reply whose last scan is older than the
  stored one changes nothing but the bookkeeping of the look (older never overwrites
  newer), an equal one with a different content hash updates (the tie-breaker);
- scans are stored idempotently: one row per (parcel, time, raw code);
- the order's ``shipment`` rows carry the parcel's tag, sub-status and last scan time, and
  the order's fulfillment moves forward where the parcel decides it (delivered; back at
  the sender); an order sync that replaces the shipment rows re-applies them
  (``refresh_shipments``), so the courier's newer word survives it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from connectors.contract import ParcelKey
from simpul import audit, store
from simpul.canonical import FulfillmentStatus, ParcelTracking, ReturnReason, ReturnStatus, ReturnType, TrackingStatus
from simpul.model import Account, Order, Parcel, ParcelEvent, Return, Shipment, TrackingRoute

PARCELS = Parcel.__table__
EVENTS = ParcelEvent.__table__
ROUTES = TrackingRoute.__table__
SHIPMENTS = Shipment.__table__
ORDERS = Order.__table__
RETURNS = Return.__table__

RETURNING = "Exception_010"  # on its way back to the sender (storefronts_couriers.md §12.3)
RETURNED = "Exception_011"  # back at the sender
FINAL_SUB_STATUSES = frozenset({RETURNED, "Exception_020", "Exception_021"})  # returned, cancelled, disposed
FINAL_STATUSES = frozenset({TrackingStatus.DELIVERED, TrackingStatus.EXPIRED})

FIRST_LOOK = timedelta(hours=1)
LONGEST_WAIT = timedelta(hours=24)
OPEN_FULFILMENT = (FulfillmentStatus.READY_TO_SHIP, FulfillmentStatus.SHIPPED)


def next_look(now: datetime, quiet: int) -> datetime:
    """When to look again after ``quiet`` looks in a row brought no new scan: 1 h, 2 h,
    4 h, ... at most a day (a parcel stuck in a hub is still looked at daily)."""
    return now + min(FIRST_LOOK * (2 ** min(quiet, 10)), LONGEST_WAIT)


def is_final(status: TrackingStatus, sub_status: str | None) -> bool:
    return status in FINAL_STATUSES or sub_status in FINAL_SUB_STATUSES


# -- choosing the work -----------------------------------------------------------------------
def enlist(conn: Connection, resolve: Callable[[str | None, str | None], str | None], *, now: datetime) -> int:
    """Make a parcel of every shipment with an airway bill whose courier ``resolve``
    (carrier text, service -> courier code) can name; returns how many were new.
    Shipments whose courier nobody can name stay listed by ``unnamed``, never dropped."""
    known = sa.select(PARCELS.c.id).where(PARCELS.c.tracking_number == SHIPMENTS.c.tracking_number).exists()
    query = sa.select(SHIPMENTS.c.account_id, SHIPMENTS.c.order_external_id, SHIPMENTS.c.courier, SHIPMENTS.c.service, SHIPMENTS.c.tracking_number).where(
        SHIPMENTS.c.tracking_number.is_not(None), ~known
    )
    rows = []
    for account_id, order_id, carrier, service, number in conn.execute(query):
        courier = resolve(carrier, service)
        if courier:
            rows.append(_new_parcel(courier, number, now, account_id=account_id, order_external_id=order_id))
    if rows:
        conn.execute(store.upsert_into(conn, PARCELS).on_conflict_do_nothing(index_elements=[PARCELS.c.courier, PARCELS.c.tracking_number]), rows)
    return len(rows)


def register(conn: Connection, key: ParcelKey, *, now: datetime, tracker_account_id: str | None = None) -> None:
    """A parcel booked outside any synced order (``simpul track``), linked to the shipment
    with that airway bill when there is one."""
    link = conn.execute(
        sa.select(SHIPMENTS.c.account_id, SHIPMENTS.c.order_external_id).where(SHIPMENTS.c.tracking_number == key.tracking_number).limit(1)
    ).first()
    row = _new_parcel(key.courier, key.tracking_number, now, account_id=link[0] if link else None, order_external_id=link[1] if link else None)
    row["tracker_account_id"] = tracker_account_id
    conn.execute(store.upsert_into(conn, PARCELS).on_conflict_do_nothing(index_elements=[PARCELS.c.courier, PARCELS.c.tracking_number]), [row])


def _new_parcel(courier: str, number: str, now: datetime, **link: Any) -> dict[str, Any]:
    return {
        "courier": courier, "tracking_number": number, "status": TrackingStatus.PENDING, "return_to_sender": False, "done": False,
        "not_found": 0, "quiet": 0, "next_check_at": now, "created_at": now, "tracker_account_id": None, **link,
    }  # fmt: skip


def routes(conn: Connection) -> dict[str, str]:
    """courier code -> the tracking account that reads its parcels (a hub setting)."""
    return dict(conn.execute(sa.select(ROUTES.c.courier, ROUTES.c.account_id)).all())


def set_route(conn: Connection, courier: str, account_id: str | None) -> None:
    conn.execute(sa.delete(ROUTES).where(ROUTES.c.courier == courier))
    if account_id is not None:
        conn.execute(sa.insert(ROUTES).values(courier=courier, account_id=account_id))


def covered(conn: Connection, account_id: str, channel: str, channels: Mapping[str, frozenset[str]]) -> list[str]:
    """The couriers whose parcels ``account_id`` reads: those routed to it, and those its
    channel tracks that no route names when it is the only active tracking account able to
    (a hub with one aggregator account needs no routes)."""
    accounts = Account.__table__
    routed = routes(conn)
    able = conn.execute(sa.select(accounts.c.id, accounts.c.channel).where(accounts.c.status == "active", accounts.c.channel.in_(list(channels)))).all()
    mine = {c for c, a in routed.items() if a == account_id}
    for courier in channels.get(channel, frozenset()) - set(routed):
        if [a for a, ch in able if courier in channels[ch]] == [account_id]:
            mine.add(courier)
    return sorted(mine)


def due(conn: Connection, couriers: Sequence[str], *, now: datetime, limit: int) -> list[ParcelKey]:
    """Parcels of ``couriers`` due a look, most overdue first (never-looked-at first)."""
    if not couriers:
        return []
    query = (
        sa.select(PARCELS.c.courier, PARCELS.c.tracking_number)
        .where(~PARCELS.c.done, PARCELS.c.courier.in_(list(couriers)), PARCELS.c.next_check_at <= now)
        .order_by(PARCELS.c.next_check_at, PARCELS.c.id)
        .limit(limit)
    )
    return [ParcelKey(c, n) for c, n in conn.execute(query)]


# -- writing a page ---------------------------------------------------------------------------
def apply_tracking(
    conn: Connection,
    ctx: store.WriteContext,
    trackings: Sequence[ParcelTracking],
    *,
    missing: Sequence[ParcelKey] = (),
    rejected: Sequence[store.Rejected] = (),
) -> store.PageCounts:
    """Write one page of tracking replies (see the module docstring). Each tracking's
    ``courier`` is the one it was asked for and ``payload_hash`` its reply's content hash."""
    counts = store.PageCounts()
    newest: dict[tuple[str, str], ParcelTracking] = {}
    for t in trackings:  # within a page, the copy with the newest scan wins
        key = (t.courier, t.tracking_number)
        if key not in newest or _at(t) > _at(newest[key]):
            newest[key] = t
    stored = _stored(conn, list(newest) + [(k.courier, k.tracking_number) for k in missing])
    for key, t in newest.items():
        if key not in stored:
            register(conn, ParcelKey(*key), now=ctx.now, tracker_account_id=ctx.account_id)
    stored = _stored(conn, list(newest) + [(k.courier, k.tracking_number) for k in missing])
    for key, t in newest.items():
        row = stored[key]
        digest = t.payload_hash
        added = _add_events(conn, row["id"], t)
        newer = row["last_event_at"] is None and row["payload_hash"] is None or (
            _at(t) > _utc(row["last_event_at"]) or (_at(t) == _utc(row["last_event_at"]) and digest != row["payload_hash"])
        )
        look = {"checked_at": ctx.now, "not_found": 0, "tracker_account_id": ctx.account_id}
        if not newer:
            counts.unchanged += 1 if digest == row["payload_hash"] else 0
            counts.stale += 0 if digest == row["payload_hash"] else 1
            quiet = row["quiet"] + 1
            conn.execute(sa.update(PARCELS).where(PARCELS.c.id == row["id"]).values(**look, quiet=quiet, next_check_at=next_look(ctx.now, quiet)))
            continue
        final = is_final(t.status, t.sub_status)
        quiet = 0 if added or row["payload_hash"] is None else row["quiet"] + 1
        values = {
            **look, "status": t.status, "sub_status": t.sub_status, "raw_status": t.raw_status, "return_to_sender": t.returning,
            "last_event_at": t.last_event_at, "last_message": t.events[-1].message if t.events else None,
            "delivered_at": t.delivered_at, "service": t.service, "payload_hash": digest, "mapping_version": ctx.mapping_version,
            "done": final, "quiet": quiet, "next_check_at": None if final else next_look(ctx.now, quiet),
            "shipped_at": row["shipped_at"] or _handed_over(t),
        }  # fmt: skip
        conn.execute(sa.update(PARCELS).where(PARCELS.c.id == row["id"]).values(**values))
        counts.new += 1 if row["payload_hash"] is None else 0
        counts.changed += 0 if row["payload_hash"] is None else 1
        if row["status"] != t.status or row["sub_status"] != t.sub_status:
            ctx.audit_events.append(
                audit.Event(
                    action="parcel.status", actor=ctx.actor, run_id=ctx.run_id, account_id=ctx.account_id, entity_type="parcel",
                    entity_key=f"{t.courier}:{t.tracking_number}",
                    summary={"from": _value(row["status"]), "to": t.status.value, "sub_status": t.sub_status, "at": t.last_event_at.isoformat() if t.last_event_at else None},
                )
            )  # fmt: skip
        _onto_order(conn, t.tracking_number)
    for key in missing:
        row = stored.get((key.courier, key.tracking_number))
        if row is not None:
            quiet = row["quiet"] + 1
            conn.execute(
                sa.update(PARCELS)
                .where(PARCELS.c.id == row["id"])
                .values(checked_at=ctx.now, not_found=row["not_found"] + 1, quiet=quiet, next_check_at=next_look(ctx.now, quiet))
            )
    if rejected:
        counts.quarantined += store.quarantine(conn, ctx, rejected)
    return counts


def refresh_shipments(conn: Connection, account_id: str, order_ids: Sequence[str]) -> None:
    """Re-apply what couriers said onto shipment rows an order sync just replaced."""
    for chunk in store.chunked(list(order_ids)):
        numbers = conn.execute(
            sa.select(SHIPMENTS.c.tracking_number)
            .join(PARCELS, PARCELS.c.tracking_number == SHIPMENTS.c.tracking_number)
            .where(SHIPMENTS.c.account_id == account_id, SHIPMENTS.c.order_external_id.in_(chunk), PARCELS.c.payload_hash.is_not(None))
            .distinct()
        ).scalars().all()
        for number in numbers:
            _onto_order(conn, number)


def _onto_order(conn: Connection, tracking_number: str) -> None:
    """The parcel's tag, sub-status and last scan onto the shipment rows with its airway
    bill, and the order's fulfillment forward where the parcel decides it."""
    parcel = conn.execute(
        sa.select(PARCELS.c.status, PARCELS.c.sub_status, PARCELS.c.last_event_at, PARCELS.c.account_id, PARCELS.c.order_external_id)
        .where(PARCELS.c.tracking_number == tracking_number, PARCELS.c.payload_hash.is_not(None))
        .order_by(PARCELS.c.last_event_at.desc())
        .limit(1)
    ).first()
    if parcel is None:
        return
    status, sub_status, last_event_at, account_id, order_id = parcel
    conn.execute(
        sa.update(SHIPMENTS)
        .where(SHIPMENTS.c.tracking_number == tracking_number)
        .values(tracking_status=status, tracking_sub_status=sub_status, last_event_at=last_event_at)
    )
    fulfilment = FulfillmentStatus.RETURNED if sub_status == RETURNED else FulfillmentStatus.DELIVERED if status == TrackingStatus.DELIVERED else None
    if fulfilment is not None and account_id is not None:
        conn.execute(
            sa.update(ORDERS)
            .where(ORDERS.c.account_id == account_id, ORDERS.c.external_id == order_id, ORDERS.c.fulfillment_status.in_(OPEN_FULFILMENT))
            .values(fulfillment_status=fulfilment)
        )
    if sub_status in (RETURNING, RETURNED) and account_id is not None:
        _return_to_sender(conn, account_id, order_id, tracking_number, sub_status, last_event_at)


def _return_to_sender(conn: Connection, account_id: str, order_id: str, tracking_number: str, sub_status: str, at: datetime | None) -> None:
    """The order's ``return_to_sender`` Return, as the parcel shows it: in transit while it
    goes back, received once back at the seller. A Return of that type the marketplace
    already reported for the order stands (one return, not two)."""
    key = f"parcel:{tracking_number}"
    theirs = conn.execute(
        sa.select(RETURNS.c.external_id).where(
            RETURNS.c.account_id == account_id, RETURNS.c.order_external_id == order_id,
            RETURNS.c.type == ReturnType.RETURN_TO_SENDER, RETURNS.c.external_id != key,
        )  # fmt: skip
    ).first()
    if theirs is not None:
        return
    status = ReturnStatus.RECEIVED if sub_status == RETURNED else ReturnStatus.IN_TRANSIT
    ins = store.upsert_into(conn, RETURNS).values(
        account_id=account_id, order_external_id=order_id, external_id=key, type=ReturnType.RETURN_TO_SENDER, status=status,
        raw_status=sub_status, reason="returned by the courier (tracking)", reason_code=ReturnReason.FAILED_DELIVERY, items=[], created_at=at,
        updated_at=at, source=store.PARCEL_SOURCE,
    )  # fmt: skip
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=[RETURNS.c.account_id, RETURNS.c.order_external_id, RETURNS.c.external_id],
            set_={"status": ins.excluded.status, "raw_status": ins.excluded.raw_status, "updated_at": ins.excluded.updated_at},
        )
    )


BOOKED = frozenset({TrackingStatus.PENDING, TrackingStatus.INFO_RECEIVED, TrackingStatus.UNKNOWN})


def _handed_over(t: ParcelTracking) -> datetime | None:
    """When the courier had the parcel: its first scan past booking (a booking scan can
    come hours before pickup, which is the seller's time, not the courier's)."""
    return next((e.occurred_at for e in sorted(t.events, key=lambda e: e.occurred_at) if e.status not in BOOKED), None)


def _add_events(conn: Connection, parcel_id: int, t: ParcelTracking) -> int:
    """Insert the reply's scans not stored yet; returns how many were new."""
    rows = {
        (e.occurred_at, e.raw_code or ""): {
            "parcel_id": parcel_id, "occurred_at": e.occurred_at, "status": e.status, "raw_code": e.raw_code or "",
            "message": e.message, "location": e.location,
        }  # fmt: skip
        for e in t.events
    }
    if not rows:
        return 0
    before = conn.execute(sa.select(sa.func.count()).select_from(EVENTS).where(EVENTS.c.parcel_id == parcel_id)).scalar_one()
    conn.execute(
        store.upsert_into(conn, EVENTS).on_conflict_do_nothing(index_elements=[EVENTS.c.parcel_id, EVENTS.c.occurred_at, EVENTS.c.raw_code]),
        list(rows.values()),
    )
    after = conn.execute(sa.select(sa.func.count()).select_from(EVENTS).where(EVENTS.c.parcel_id == parcel_id)).scalar_one()
    return after - before


def _stored(conn: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Mapping[str, Any]]:
    out: dict[tuple[str, str], Mapping[str, Any]] = {}
    wanted = set(keys)
    numbers = sorted({n for _, n in keys})
    for chunk in store.chunked(numbers):
        for row in conn.execute(sa.select(PARCELS).where(PARCELS.c.tracking_number.in_(chunk))).mappings():
            if (row["courier"], row["tracking_number"]) in wanted:
                out[(row["courier"], row["tracking_number"])] = row
    return out


def _at(t: ParcelTracking) -> datetime:
    return _utc(t.last_event_at)


def _utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.min.replace(tzinfo=timezone.utc)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _value(status: Any) -> str | None:
    return getattr(status, "value", status)


# -- what needs a person -------------------------------------------------------------------------
STUCK_AFTER: dict[str, timedelta] = {
    # Days without a scan after which a parcel counts as stuck. Our defaults, not a courier's
    # promise: regular services take 2-4 days within Java and longer beyond, and their hubs
    # scan at least daily, so 3 silent days is abnormal; same-day/instant services scan
    # hourly. Override per courier code or ``courier/service`` with SIMPUL_STUCK_AFTER.
    "*": timedelta(days=3),
    "grab": timedelta(hours=12),
    "gojek": timedelta(hours=12),
    "lalamove": timedelta(hours=12),
}
TROUBLE = frozenset({TrackingStatus.ATTEMPT_FAIL, TrackingStatus.EXCEPTION})


def stuck_overrides(text: str | None = None) -> dict[str, timedelta]:
    """``SIMPUL_STUCK_AFTER``: ``COURIER[/SERVICE]=N{h|d}``, comma-separated, ``*`` for every
    courier (e.g. ``jne=4d,sicepat/halu=36h``); a bad entry is refused with the entry named."""
    text = os.environ.get("SIMPUL_STUCK_AFTER", "") if text is None else text
    out: dict[str, timedelta] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, _, value = item.partition("=")
        match = re.fullmatch(r"(\d+(?:\.\d+)?)([hd])", value.strip().lower())
        if not key.strip() or match is None:
            raise ValueError(f"SIMPUL_STUCK_AFTER: {item!r} is not COURIER[/SERVICE]=N followed by h or d")
        amount = float(match.group(1))
        out[key.strip().lower()] = timedelta(hours=amount) if match.group(2) == "h" else timedelta(days=amount)
    return out


def stuck_after(courier: str, service: str | None, overrides: Mapping[str, timedelta] | None = None) -> timedelta:
    """How long without a scan makes a parcel of ``courier`` (and ``service``) stuck: our
    defaults (``STUCK_AFTER``), then ``SIMPUL_STUCK_AFTER``, then ``overrides``."""
    table = {**STUCK_AFTER, **stuck_overrides(), **(overrides or {})}
    for key in (f"{courier}/{(service or '').lower()}", courier, "*"):
        if key in table:
            return table[key]
    return STUCK_AFTER["*"]


def attention(row: Mapping[str, Any], *, now: datetime, overrides: Mapping[str, timedelta] | None = None) -> str | None:
    """Why a parcel needs a person, or None: ``returned``/``returning`` (to the sender),
    ``trouble`` (failed attempt, exception), ``stuck`` (no scan for longer than its courier's
    threshold), ``unknown`` (the courier does not know the airway bill)."""
    status = TrackingStatus(_value(row["status"]))
    if row["sub_status"] == RETURNED:
        return "returned"
    if row["sub_status"] == RETURNING:
        return "returning"
    if row["done"]:
        return None
    if status in TROUBLE:
        return "trouble"
    if row["not_found"] and row["payload_hash"] is None:
        return "unknown"
    last = row["last_event_at"]
    if last is not None and now - _utc(last) > stuck_after(row["courier"], row["service"], overrides):
        return "stuck"
    return None


def listing(conn: Connection, *, courier: str | None = None) -> list[Mapping[str, Any]]:
    """Every parcel with what the list and the report need (no buyer data)."""
    query = sa.select(
        PARCELS.c.courier, PARCELS.c.tracking_number, PARCELS.c.account_id, PARCELS.c.order_external_id, PARCELS.c.service,
        PARCELS.c.status, PARCELS.c.sub_status, PARCELS.c.raw_status, PARCELS.c.last_event_at, PARCELS.c.last_message,
        PARCELS.c.delivered_at, PARCELS.c.created_at, PARCELS.c.done, PARCELS.c.not_found, PARCELS.c.payload_hash,
        PARCELS.c.checked_at, PARCELS.c.tracker_account_id,
    ).order_by(PARCELS.c.last_event_at.desc(), PARCELS.c.id)  # fmt: skip
    if courier:
        query = query.where(PARCELS.c.courier == courier)
    return list(conn.execute(query).mappings())


def tally(rows: Sequence[Mapping[str, Any]], *, now: datetime) -> dict[str, int]:
    """How many parcels are delivered, moving, stuck or in other trouble, and returning."""
    out = {"delivered": 0, "moving": 0, "stuck": 0, "trouble": 0, "returning": 0, "unknown": 0, "not_looked_at": 0}
    for row in rows:
        why = attention(row, now=now)
        if why in ("returned", "returning"):
            out["returning"] += 1
        elif why is not None:
            out[why] += 1
        elif TrackingStatus(_value(row["status"])) == TrackingStatus.DELIVERED:
            out["delivered"] += 1
        elif row["payload_hash"] is None:
            out["not_looked_at"] += 1
        else:
            out["moving"] += 1
    return out
