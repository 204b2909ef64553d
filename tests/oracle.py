"""The convergence oracle: does the database hold exactly what the source holds?

"Exactly" means: the same set of order numbers for the account, no duplicate natural
keys, and every stored order carrying the content hash of the source's current payload
(so every field matches), with the right number of lines.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from simpul.db import Database
from simpul.model import Order, OrderLine


def source_state(mapping: Any, payloads: list[dict[str, Any]]) -> dict[str, tuple[str, int]]:
    out = {}
    for raw in payloads:
        bundle = mapping.map_order(raw)
        out[bundle.order.external_id] = (bundle.payload_hash, len(bundle.lines))
    return out


def stored_state(db: Database, account_id: str) -> dict[str, tuple[str, int]]:
    orders, lines = Order.__table__, OrderLine.__table__
    with db.connect() as conn:
        line_counts = dict(
            conn.execute(
                sa.select(lines.c.order_external_id, sa.func.count()).where(lines.c.account_id == account_id).group_by(lines.c.order_external_id)
            ).all()
        )
        rows = conn.execute(sa.select(orders.c.external_id, orders.c.payload_hash).where(orders.c.account_id == account_id)).all()
    assert len(rows) == len({r.external_id for r in rows}), "duplicate natural keys"
    return {r.external_id: (r.payload_hash, line_counts.get(r.external_id, 0)) for r in rows}


def assert_converged(db: Database, account_id: str, mapping: Any, payloads: list[dict[str, Any]]) -> None:
    want, have = source_state(mapping, payloads), stored_state(db, account_id)
    missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
    differ = sorted(k for k in set(want) & set(have) if want[k] != have[k])
    assert not (missing or extra or differ), f"not converged: missing {missing[:5]} ({len(missing)}), extra {extra[:5]} ({len(extra)}), differ {differ[:5]} ({len(differ)})"


def database_text(db: Database) -> str:
    """Every row of every table as text: what a stolen backup would show."""
    with db.connect() as conn:
        return "\n".join(str(tuple(row)) for table in SQLModel.metadata.sorted_tables for row in conn.execute(sa.select(table)))


# -- parcels (the tracking stream) ---------------------------------------------------------------
ParcelState = tuple[str, str | None, bool, object, str, int]
"""(status, sub-status, returning, last scan time (UTC), content hash of the reply, scans)."""


def tracking_source_state(mapping: Any, replies: list[dict[str, Any]]) -> dict[tuple[str, str], ParcelState]:
    """What the store must hold for each parcel the source knows, computed by mapping the
    source's own replies (never from the store): (courier, airway bill) -> ``ParcelState``."""
    out = {}
    for raw in replies:
        t = mapping.map_tracking(raw)
        scans = len({(e.occurred_at, e.raw_code or "") for e in t.events})
        out[(t.courier, t.tracking_number)] = (t.status.value, t.sub_status, t.returning, _utc(t.last_event_at), t.payload_hash, scans)
    return out


def tracking_stored_state(db: Database) -> dict[tuple[str, str], ParcelState]:
    """Every parcel the store has a courier's reply for, as ``ParcelState``."""
    from simpul.model import Parcel, ParcelEvent

    parcels, events = Parcel.__table__, ParcelEvent.__table__
    with db.connect() as conn:
        scans = dict(conn.execute(sa.select(events.c.parcel_id, sa.func.count()).group_by(events.c.parcel_id)).all())
        rows = conn.execute(sa.select(parcels).where(parcels.c.payload_hash.is_not(None))).mappings().all()
    keys = [(r["courier"], r["tracking_number"]) for r in rows]
    assert len(keys) == len(set(keys)), "duplicate parcel keys"
    return {
        (r["courier"], r["tracking_number"]): (
            getattr(r["status"], "value", r["status"]), r["sub_status"], bool(r["return_to_sender"]), _utc(r["last_event_at"]), r["payload_hash"], scans.get(r["id"], 0),
        )
        for r in rows
    }  # fmt: skip


def assert_parcels_converged(db: Database, mapping: Any, replies: list[dict[str, Any]]) -> None:
    want, have = tracking_source_state(mapping, replies), tracking_stored_state(db)
    missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
    differ = sorted(k for k in set(want) & set(have) if want[k] != have[k])
    detail = [(k, want[k], have[k]) for k in differ[:3]]
    assert not (missing or extra or differ), f"parcels not converged: missing {missing[:5]} ({len(missing)}), extra {extra[:5]} ({len(extra)}), differ {detail} ({len(differ)})"


def _utc(value: Any) -> Any:
    if value is None:
        return None
    return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


# -- returns (the returns stream) --------------------------------------------------------------
ReturnState = tuple[str, str, str | None, str]
"""(type, status, raw status, content hash of the record)."""


def returns_source_state(mapping: Any, records: list[dict[str, Any]]) -> dict[tuple[str, str], ReturnState]:
    """What the store must hold for each return the source knows, by mapping the source's own
    records: (order number, return id) -> ``ReturnState``."""
    from simpul.jsoncodec import content_hash

    out = {}
    for raw in records:
        r = mapping.map_return(raw)
        out[(r.order_external_id, r.ret.external_id)] = (r.ret.type.value, r.ret.status.value, r.ret.raw_status, r.payload_hash or content_hash(raw))
    return out


def returns_stored_state(db: Database, account_id: str) -> dict[tuple[str, str], ReturnState]:
    """Every return of the account that a returns stream wrote, as ``ReturnState``."""
    from simpul.model import Return

    table = Return.__table__
    with db.connect() as conn:
        rows = conn.execute(sa.select(table).where(table.c.account_id == account_id, table.c.source == "stream")).mappings().all()
    keys = [(r["order_external_id"], r["external_id"]) for r in rows]
    assert len(keys) == len(set(keys)), "duplicate return keys"
    return {(r["order_external_id"], r["external_id"]): (_value(r["type"]), _value(r["status"]), r["raw_status"], r["payload_hash"]) for r in rows}


def assert_returns_converged(db: Database, account_id: str, mapping: Any, records: list[dict[str, Any]]) -> None:
    want, have = returns_source_state(mapping, records), returns_stored_state(db, account_id)
    missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
    differ = sorted(k for k in set(want) & set(have) if want[k] != have[k])
    assert not (missing or extra or differ), f"returns not converged: missing {missing[:5]} ({len(missing)}), extra {extra[:5]} ({len(extra)}), differ {differ[:5]} ({len(differ)})"


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


# -- settlements (the settlements stream) ------------------------------------------------------
SettlementState = tuple[Decimal, Decimal | None, datetime]
"""(payout, the marketplace's expected amount, release time)."""


def settlements_source_state(truth: list[dict[str, Any]]) -> dict[str, SettlementState]:
    """What the store must hold per order, from the sandbox's own figures
    (``dump_settlements()``: ``order``, ``payout``, ``expected``, ``released_at`` epoch)."""
    return {t["order"]: (Decimal(str(t["payout"])), None if t["expected"] is None else Decimal(str(t["expected"])), datetime.fromtimestamp(t["released_at"], timezone.utc)) for t in truth}


def settlements_stored_state(db: Database, account_id: str) -> dict[str, SettlementState]:
    from simpul.model import Settlement

    table = Settlement.__table__
    with db.connect() as conn:
        rows = conn.execute(sa.select(table).where(table.c.account_id == account_id)).mappings().all()
    assert len(rows) == len({r["order_external_id"] for r in rows}), "duplicate settlement keys"
    return {r["order_external_id"]: (r["payout_amount"], r["expected_amount"], _utc(r["released_at"])) for r in rows}


def assert_settlements_converged(db: Database, account_id: str, truth: list[dict[str, Any]]) -> None:
    want, have = settlements_source_state(truth), settlements_stored_state(db, account_id)
    missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
    differ = sorted(k for k in set(want) & set(have) if want[k] != have[k])
    assert not (missing or extra or differ), f"settlements not converged: missing {missing[:5]} ({len(missing)}), extra {extra[:5]} ({len(extra)}), differ {differ[:5]} ({len(differ)})"
