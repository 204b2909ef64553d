"""Version-guarded, set-based writes of mapped pages, plus cursors and checkpoints.

``apply_page`` writes one page in the caller's transaction, so the page's rows, its
quarantined payloads, its audit entries and the checkpoint after it commit together or
not at all. Per order it decides, from one read of the stored versions:

- **new**: no row yet, insert;
- **changed**: the source's ``updated_at`` is newer, or equal with a different content
  hash (the tie-breaker), so update the header and replace its lines, shipments,
  events and returns;
- **unchanged**: same hash, write nothing;
- **stale**: older than what is stored, write nothing (older never overwrites newer);
  unless the page is a *repair* (``override=True``, a resync of named orders that an
  operator asked to override): then the channel's current payload is written anyway and
  audited as ``order.repaired`` with the versions before and after.

The upsert repeats the guard in its WHERE clause, so even a writer that raced past the
read cannot regress a row. Statements are executemany, never per-row ORM merges (those
measured ~27x slower: shared/reference/prefect_stack.md §6).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from connectors.spec import MODES
from connectors.spec import ORDERS as ORDERS_KIND
from simpul import audit, canonical, pii
from simpul.jsoncodec import dumps, loads
from simpul.model import (
    Account,
    Order,
    OrderLine,
    Quarantine,
    RawPayload,
    Return,
    Settlement,
    Shipment,
    SyncCheckpoint,
    SyncCursor,
    SyncRun,
    TrackingEvent,
)
from simpul.plan import Plan

ORDERS = Order.__table__
LINES = OrderLine.__table__
SHIPMENTS = Shipment.__table__
EVENTS = TrackingEvent.__table__
RETURNS = Return.__table__
SETTLEMENTS = Settlement.__table__
RAW = RawPayload.__table__
QUARANTINE = Quarantine.__table__
CHECKPOINTS = SyncCheckpoint.__table__
CURSORS = SyncCursor.__table__
RUNS = SyncRun.__table__
ACCOUNTS = Account.__table__

_ORDER_FIELDS = tuple(f.name for f in fields(canonical.Order))
_CHILDREN: tuple[tuple[sa.Table, str, tuple[str, ...]], ...] = (
    (LINES, "lines", tuple(f.name for f in fields(canonical.OrderLine))),
    (SHIPMENTS, "shipments", tuple(f.name for f in fields(canonical.Shipment))),
    (EVENTS, "events", tuple(f.name for f in fields(canonical.TrackingEvent))),
    (RETURNS, "returns", tuple(f.name for f in fields(canonical.Return))),
)
_CHUNK = 500
SIDE_STREAMS = tuple(k for k, mode in MODES.items() if mode == "window" and k != ORDERS_KIND)  # read after the orders, counted apart
_TEXT_ARRAY = postgresql.ARRAY(sa.String)


@dataclass(slots=True)
class PageCounts:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    stale: int = 0
    quarantined: int = 0

    def add(self, other: "PageCounts") -> None:
        for name in ("new", "changed", "unchanged", "stale", "quarantined"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def written(self) -> int:
        return self.new + self.changed

    def as_dict(self) -> dict[str, int]:
        return {"new": self.new, "changed": self.changed, "unchanged": self.unchanged, "stale": self.stale, "quarantined": self.quarantined}


@dataclass(frozen=True, slots=True)
class Rejected:
    """A payload the mapping refused, already scrubbed of buyer data."""

    external_id: str | None
    reason: str
    payload: Mapping[str, Any]
    payload_hash: str


@dataclass(slots=True)
class WriteContext:
    account_id: str
    channel: str
    run_id: str | None
    actor: str
    now: datetime
    mapping_version: str
    audit_events: list[audit.Event] = field(default_factory=list)
    stream: str = "orders"  # the stream kind being written (a quarantined payload remembers it)
    # (account, order number, buyer) -> the order's sealed PII columns (simpul.pii);
    # None stores no buyer contact at all.
    buyer_columns: Callable[[str, str, canonical.BuyerContact | None], Mapping[str, Any]] | None = None


def upsert_into(conn: Connection, table: sa.Table):  # noqa: ANN202 - dialect insert construct
    """An INSERT into ``table`` in the connection's dialect, which can take ON CONFLICT."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def chunked(seq: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    """``seq`` in slices short enough for an IN list."""
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def _order_row(bundle: canonical.OrderBundle, ctx: WriteContext) -> dict[str, Any]:
    o = bundle.order
    row = {name: getattr(o, name) for name in _ORDER_FIELDS}
    row.update(
        account_id=ctx.account_id,
        channel=ctx.channel,
        payload_hash=bundle.payload_hash,
        mapping_version=bundle.mapping_version or ctx.mapping_version,
        written_at=ctx.now,
        pii_purged_at=None,
    )
    if ctx.buyer_columns is not None:
        row.update(ctx.buyer_columns(ctx.account_id, o.external_id, bundle.buyer))
    else:
        row.update(dict.fromkeys(pii.SEALED_COLUMNS))
    return row


def _order_summary(status: Any, updated_at: datetime, payload_hash: str) -> dict[str, str]:
    return {
        "status": getattr(status, "value", status),
        "updated_at": updated_at.isoformat(),
        "hash": payload_hash[:16],
    }


def _newest_per_key(bundles: Iterable[canonical.OrderBundle]) -> dict[str, canonical.OrderBundle]:
    """One bundle per order id: a page may repeat an order (e.g. overlapping reads)."""
    best: dict[str, canonical.OrderBundle] = {}
    for b in bundles:
        key = b.order.external_id
        seen = best.get(key)
        if seen is None or (b.order.updated_at, b.payload_hash) > (seen.order.updated_at, seen.payload_hash):
            best[key] = b
    return best


def _stored_versions(conn: Connection, account_id: str, keys: Sequence[str]) -> dict[str, tuple[datetime, str, Any]]:
    out: dict[str, tuple[datetime, str, Any]] = {}
    postgres = conn.dialect.name == "postgresql"
    for chunk in chunked(keys):
        # PostgreSQL: one array parameter, one statement text whatever the page size
        matches = ORDERS.c.external_id == sa.any_(sa.bindparam("ids", list(chunk), type_=_TEXT_ARRAY)) if postgres else ORDERS.c.external_id.in_(chunk)
        query = sa.select(ORDERS.c.external_id, ORDERS.c.updated_at, ORDERS.c.payload_hash, ORDERS.c.status).where(
            ORDERS.c.account_id == account_id, matches
        )
        if postgres:
            query = query.with_for_update()  # hold the rows until this page commits
        for ext, updated_at, payload_hash, status in conn.execute(query):
            out[ext] = (updated_at, payload_hash, status)
    return out


def apply_page(
    conn: Connection,
    ctx: WriteContext,
    bundles: Sequence[canonical.OrderBundle],
    rejected: Sequence[Rejected] = (),
    *,
    override: bool = False,
) -> PageCounts:
    """Write one mapped page (see module docstring). Runs inside the caller's transaction.

    ``override`` (a repair of named orders) writes a payload even when the stored version
    is newer; it is counted as changed and audited as ``order.repaired``.
    """
    counts = PageCounts()
    incoming = _newest_per_key(bundles)
    stored = _stored_versions(conn, ctx.account_id, list(incoming))
    to_write: list[canonical.OrderBundle] = []
    forced: list[canonical.OrderBundle] = []
    replaced: list[str] = []
    for key, bundle in incoming.items():
        before = stored.get(key)
        o = bundle.order
        if before is None:
            counts.new += 1
            to_write.append(bundle)
            action = "order.created"
        elif before[1] == bundle.payload_hash:
            counts.unchanged += 1
            continue
        elif o.updated_at >= before[0]:  # newer, or a tie with different content
            counts.changed += 1
            to_write.append(bundle)
            replaced.append(key)
            action = "order.updated"
        elif override:  # the operator's repair: the channel's current payload wins
            counts.changed += 1
            forced.append(bundle)
            replaced.append(key)
            action = "order.repaired"
        else:
            counts.stale += 1
            continue
        ctx.audit_events.append(
            audit.Event(
                action=action,
                actor=ctx.actor,
                run_id=ctx.run_id,
                account_id=ctx.account_id,
                entity_type="order",
                entity_key=key,
                summary={
                    "before": _order_summary(before[2], before[0], before[1]) if before else None,
                    "after": _order_summary(o.status, o.updated_at, bundle.payload_hash),
                    **({"override_version": True} if action == "order.repaired" else {}),
                },
            )
        )
    if to_write:
        _upsert_orders(conn, ctx, to_write)
    if forced:
        _upsert_orders(conn, ctx, forced, guarded=False)
    to_write += forced
    if to_write:
        _replace_children(conn, ctx, to_write, replaced)
        _keep_raw(conn, ctx, to_write)
        _resolve_quarantine(conn, ctx, [b.order.external_id for b in to_write])
    if rejected:
        counts.quarantined += quarantine(conn, ctx, rejected)
    return counts


def _upsert_orders(conn: Connection, ctx: WriteContext, bundles: Sequence[canonical.OrderBundle], *, guarded: bool = True) -> None:
    rows = [_order_row(b, ctx) for b in bundles]
    conn.execute(upsert_statement(conn.dialect.name, tuple(rows[0]), guarded=guarded), rows)


@functools.lru_cache(maxsize=8)
def upsert_statement(dialect: str, columns: tuple[str, ...], *, guarded: bool = True) -> Any:
    """The guarded upsert, built once per dialect: building its ``excluded`` columns
    anew for every page cost ~1.5 ms a page. bench/ceiling.py runs the same statement.
    ``guarded=False`` (repairs only) drops the "newer wins" WHERE."""
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ORDERS)
    excluded = ins.excluded
    guard = sa.or_(
        ORDERS.c.updated_at < excluded.updated_at,
        sa.and_(ORDERS.c.updated_at == excluded.updated_at, ORDERS.c.payload_hash != excluded.payload_hash),
    )
    updatable = [c for c in columns if c not in ("account_id", "external_id")]
    return ins.on_conflict_do_update(
        index_elements=[ORDERS.c.account_id, ORDERS.c.external_id],
        set_={c: excluded[c] for c in updatable},
        where=guard if guarded else None,
    )


def _replace_children(conn: Connection, ctx: WriteContext, bundles: Sequence[canonical.OrderBundle], replaced: Sequence[str]) -> None:
    """The orders' lines, shipments, events and returns as their payloads say. Of the
    returns, only the order-derived ones are replaced: a returns stream's rows and the
    parcels' return-to-sender rows have their own versions (``apply_returns``)."""
    for table, attr, names in _CHILDREN:
        if replaced:
            for chunk in chunked(replaced):
                where = [table.c.account_id == ctx.account_id, table.c.order_external_id.in_(chunk)]
                conn.execute(sa.delete(table).where(*where, *([table.c.source == ORDER_SOURCE] if table is RETURNS else [])))
        rows = [
            {"account_id": ctx.account_id, "order_external_id": b.order.external_id, **{n: getattr(child, n) for n in names}}
            for b in bundles
            for child in getattr(b, attr)
        ]
        if rows and table is RETURNS:
            keys = [RETURNS.c.account_id, RETURNS.c.order_external_id, RETURNS.c.external_id]
            conn.execute(upsert_into(conn, RETURNS).on_conflict_do_nothing(index_elements=keys), rows)
            supersede_returns(conn, ctx.account_id, [b.order.external_id for b in bundles if b.returns])
        elif rows:
            conn.execute(sa.insert(table), rows)


def _keep_raw(conn: Connection, ctx: WriteContext, bundles: Sequence[canonical.OrderBundle]) -> None:
    keep_raw(conn, ctx, [(b.payload_hash, b.order.external_id, b.raw) for b in bundles])


def keep_raw(conn: Connection, ctx: WriteContext, payloads: Sequence[tuple[str, str, Mapping[str, Any]]]) -> None:
    """Keep each ``(payload hash, record id, scrubbed payload)`` once."""
    rows = [
        {"payload_hash": digest, "account_id": ctx.account_id, "external_id": key, "body": dumps(raw, canonical=True), "received_at": ctx.now}
        for digest, key, raw in payloads
    ]
    conn.execute(upsert_into(conn, RAW).on_conflict_do_nothing(index_elements=[RAW.c.payload_hash]), rows)


# -- the returns stream --------------------------------------------------------------------
ORDER_SOURCE, STREAM_SOURCE, PARCEL_SOURCE = "order", "stream", "parcel"
_RETURN_FIELDS = tuple(f.name for f in fields(canonical.Return))


def _return_summary(status: Any, updated_at: datetime | None, payload_hash: str | None) -> dict[str, str | None]:
    return {
        "status": getattr(status, "value", status),
        "updated_at": updated_at.isoformat() if updated_at else None,
        "hash": payload_hash[:16] if payload_hash else None,
    }


def apply_returns(conn: Connection, ctx: WriteContext, records: Sequence[canonical.ReturnRecord], rejected: Sequence[Rejected] = ()) -> PageCounts:
    """Write one mapped page of a returns stream, as ``apply_page`` does orders: per return
    (account, order, return id) new / changed / unchanged / stale by its ``updated_at`` then
    its content hash, the guard repeated in the upsert's WHERE. A stream row replaces an
    order-derived or tracking-derived row of the same key, and supersedes such rows of the
    same order and type (``supersede_returns``). Every status change is audited."""
    counts = PageCounts()
    incoming: dict[tuple[str, str], canonical.ReturnRecord] = {}
    for r in records:  # one record per return: a page may repeat one
        key = (r.order_external_id, r.ret.external_id)
        seen = incoming.get(key)
        if seen is None or (r.ret.updated_at, r.payload_hash) > (seen.ret.updated_at, seen.payload_hash):
            incoming[key] = r
    stored = _stored_returns(conn, ctx.account_id, list(incoming))
    to_write: list[canonical.ReturnRecord] = []
    for key, record in incoming.items():
        before = stored.get(key)
        new_version = (record.ret.updated_at, record.payload_hash)
        if before is None:
            counts.new += 1
            action = "return.created"
        elif before["source"] != STREAM_SOURCE:  # the stream's word replaces a summary
            counts.changed += 1
            action = "return.updated"
        elif before["payload_hash"] == record.payload_hash:
            counts.unchanged += 1
            continue
        elif before["updated_at"] is None or new_version[0] >= before["updated_at"]:
            counts.changed += 1
            action = "return.updated"
        else:
            counts.stale += 1
            continue
        to_write.append(record)
        ret = record.ret
        ctx.audit_events.append(
            audit.Event(
                action=action, actor=ctx.actor, run_id=ctx.run_id, account_id=ctx.account_id, entity_type="return",
                entity_key=f"{record.order_external_id}/{ret.external_id}",
                summary={
                    "type": ret.type.value, "reason_code": ret.reason_code.value,
                    "before": _return_summary(before["status"], before["updated_at"], before["payload_hash"]) if before else None,
                    "after": _return_summary(ret.status, ret.updated_at, record.payload_hash),
                },
            )
        )  # fmt: skip
    if to_write:
        rows = [
            {
                "account_id": ctx.account_id, "order_external_id": r.order_external_id, **{n: getattr(r.ret, n) for n in _RETURN_FIELDS},
                "source": STREAM_SOURCE, "payload_hash": r.payload_hash, "mapping_version": r.mapping_version or ctx.mapping_version,
            }
            for r in to_write
        ]  # fmt: skip
        conn.execute(returns_upsert(conn.dialect.name, tuple(rows[0])), rows)
        supersede_returns(conn, ctx.account_id, sorted({r.order_external_id for r in to_write}))
        keep_raw(conn, ctx, [(r.payload_hash, r.ret.external_id, r.raw) for r in to_write])
        _resolve_quarantine(conn, ctx, sorted({r.ret.external_id for r in to_write}))
    if rejected:
        counts.quarantined += quarantine(conn, ctx, rejected)
    return counts


def _stored_returns(conn: Connection, account_id: str, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Mapping[str, Any]]:
    out: dict[tuple[str, str], Mapping[str, Any]] = {}
    orders = sorted({order for order, _ in keys})
    wanted = set(keys)
    for chunk in chunked(orders):
        query = sa.select(
            RETURNS.c.order_external_id, RETURNS.c.external_id, RETURNS.c.status, RETURNS.c.updated_at, RETURNS.c.payload_hash, RETURNS.c.source
        ).where(RETURNS.c.account_id == account_id, RETURNS.c.order_external_id.in_(chunk))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()  # hold the rows until this page commits
        for row in conn.execute(query).mappings():
            key = (row["order_external_id"], row["external_id"])
            if key in wanted:
                out[key] = row
    return out


@functools.lru_cache(maxsize=8)
def returns_upsert(dialect: str, columns: tuple[str, ...]) -> Any:
    """The returns stream's guarded upsert: a stream row is replaced only by a newer
    version of itself (or a tie with other content); any other source's row by the stream."""
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(RETURNS)
    excluded = ins.excluded
    guard = sa.or_(
        RETURNS.c.source != STREAM_SOURCE,
        RETURNS.c.updated_at.is_(None),
        RETURNS.c.updated_at < excluded.updated_at,
        sa.and_(RETURNS.c.updated_at == excluded.updated_at, RETURNS.c.payload_hash != excluded.payload_hash),
    )
    keys = ("account_id", "order_external_id", "external_id")
    return ins.on_conflict_do_update(
        index_elements=[RETURNS.c[k] for k in keys], set_={c: excluded[c] for c in columns if c not in keys}, where=guard
    )


def supersede_returns(conn: Connection, account_id: str, order_ids: Sequence[str]) -> None:
    """One return is one row: of an order's returns of one type, a stream row supersedes
    order- and parcel-derived rows, and an order-derived row a parcel-derived one. A summary
    whose type the order payload could not tell (``unknown``, e.g. Blibli's item status
    ``CR``) is superseded by any stream row of its order."""
    other = RETURNS.alias("other")
    for chunk in chunked(list(order_ids)):
        for loser, winners in ((ORDER_SOURCE, (STREAM_SOURCE,)), (PARCEL_SOURCE, (STREAM_SOURCE, ORDER_SOURCE))):
            same_type = other.c.type == RETURNS.c.type
            if loser == ORDER_SOURCE:
                same_type = sa.or_(same_type, RETURNS.c.type == canonical.ReturnType.UNKNOWN)
            better = (
                sa.select(other.c.id)
                .where(
                    other.c.account_id == RETURNS.c.account_id, other.c.order_external_id == RETURNS.c.order_external_id,
                    same_type, other.c.source.in_(winners),
                )  # fmt: skip
                .exists()
            )
            conn.execute(
                sa.delete(RETURNS).where(
                    RETURNS.c.account_id == account_id, RETURNS.c.order_external_id.in_(chunk), RETURNS.c.source == loser, better
                )
            )


# -- the settlements stream ----------------------------------------------------------------
_SETTLEMENT_FIELDS = tuple(f.name for f in fields(canonical.Settlement))


def apply_settlements(conn: Connection, ctx: WriteContext, records: Sequence[canonical.SettlementRecord], rejected: Sequence[Rejected] = ()) -> PageCounts:
    """Write one mapped page of a settlements stream: per order, new / changed / unchanged /
    stale by the settlement's ``updated_at``, then whether it carries the detail (a listed
    payout alone, where the channel refused the detail, never replaces the detail of the
    same version), then its content hash; the guard repeated in the upsert's WHERE (an older
    word never overwrites a newer one). Every new settlement
    and every change of its payout is audited (``settlement.created`` / ``.updated``)."""
    counts = PageCounts()
    incoming: dict[str, canonical.SettlementRecord] = {}
    for r in records:  # one record per order: a page may repeat one
        seen = incoming.get(r.settlement.order_external_id)
        if seen is None or (r.settlement.updated_at, r.payload_hash) > (seen.settlement.updated_at, seen.payload_hash):
            incoming[r.settlement.order_external_id] = r
    stored: dict[str, Mapping[str, Any]] = {}
    for chunk in chunked(sorted(incoming)):
        query = sa.select(SETTLEMENTS.c.order_external_id, SETTLEMENTS.c.payout_amount, SETTLEMENTS.c.expected_amount, SETTLEMENTS.c.updated_at, SETTLEMENTS.c.payload_hash).where(
            SETTLEMENTS.c.account_id == ctx.account_id, SETTLEMENTS.c.order_external_id.in_(chunk)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()  # hold the rows until this page commits
        stored.update((row["order_external_id"], row) for row in conn.execute(query).mappings())
    to_write: list[canonical.SettlementRecord] = []
    for order, record in incoming.items():
        before, settlement = stored.get(order), record.settlement
        if before is not None and before["payload_hash"] == record.payload_hash:
            counts.unchanged += 1
            continue
        if before is not None and (settlement.updated_at, settlement.expected_amount is not None) < (before["updated_at"], before["expected_amount"] is not None):
            counts.stale += 1  # older, or as old and without the detail the stored one has
            continue
        if before is None:
            counts.new += 1
        else:
            counts.changed += 1
        to_write.append(record)
        ctx.audit_events.append(
            audit.Event(
                action="settlement.created" if before is None else "settlement.updated", actor=ctx.actor, run_id=ctx.run_id,
                account_id=ctx.account_id, entity_type="settlement", entity_key=order,
                summary={
                    "before": {"payout": str(before["payout_amount"]), "updated_at": before["updated_at"].isoformat()} if before else None,
                    "after": {
                        "payout": str(settlement.payout_amount), "expected": None if settlement.expected_amount is None else str(settlement.expected_amount),
                        "updated_at": settlement.updated_at.isoformat(),
                    },
                },
            )
        )  # fmt: skip
    if to_write:
        rows = [
            {"account_id": ctx.account_id, **{n: getattr(r.settlement, n) for n in _SETTLEMENT_FIELDS}, "payload_hash": r.payload_hash, "mapping_version": r.mapping_version or ctx.mapping_version}
            for r in to_write
        ]  # fmt: skip
        conn.execute(settlements_upsert(conn.dialect.name, tuple(rows[0])), rows)
        keep_raw(conn, ctx, [(r.payload_hash, r.settlement.order_external_id, r.raw) for r in to_write])
        _resolve_quarantine(conn, ctx, sorted(r.settlement.order_external_id for r in to_write))
    if rejected:
        counts.quarantined += quarantine(conn, ctx, rejected)
    return counts


@functools.lru_cache(maxsize=8)
def settlements_upsert(dialect: str, columns: tuple[str, ...]) -> Any:
    """The settlements stream's guarded upsert: a row is replaced only by a newer version,
    or a tie with other content that is not poorer (the listed payout alone never replaces
    the detail of the same version)."""
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SETTLEMENTS)
    excluded = ins.excluded
    guard = sa.or_(
        SETTLEMENTS.c.updated_at < excluded.updated_at,
        sa.and_(
            SETTLEMENTS.c.updated_at == excluded.updated_at, SETTLEMENTS.c.payload_hash != excluded.payload_hash,
            sa.or_(excluded.expected_amount.is_not(None), SETTLEMENTS.c.expected_amount.is_(None)),
        ),
    )
    keys = ("account_id", "order_external_id")
    return ins.on_conflict_do_update(index_elements=[SETTLEMENTS.c[k] for k in keys], set_={c: excluded[c] for c in columns if c not in keys}, where=guard)


def _resolve_quarantine(conn: Connection, ctx: WriteContext, keys: Sequence[str]) -> None:
    """A payload that maps now supersedes earlier unmappable versions of the same order."""
    for chunk in chunked(keys):
        conn.execute(
            sa.update(QUARANTINE)
            .where(
                QUARANTINE.c.account_id == ctx.account_id,
                QUARANTINE.c.stream == ctx.stream,  # a settlement's key is its order's number
                QUARANTINE.c.external_id.in_(chunk),
                QUARANTINE.c.resolved_at.is_(None),
            )
            .values(resolved_at=ctx.now)
        )


def quarantine(conn: Connection, ctx: WriteContext, rejected: Sequence[Rejected]) -> int:
    """Keep each rejected payload (once per hash; a repeat bumps its attempts), audited."""
    unique = {r.payload_hash: r for r in rejected}
    rows = [
        {
            "account_id": ctx.account_id,
            "channel": ctx.channel,
            "stream": ctx.stream,
            "external_id": r.external_id,
            "payload_hash": r.payload_hash,
            "reason": r.reason,
            "payload": dumps(r.payload, canonical=True),
            "mapping_version": ctx.mapping_version,
            "first_seen_at": ctx.now,
            "last_seen_at": ctx.now,
            "attempts": 1,
        }
        for r in unique.values()
    ]
    ins = upsert_into(conn, QUARANTINE)
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=[QUARANTINE.c.account_id, QUARANTINE.c.payload_hash],
            set_={"last_seen_at": ins.excluded.last_seen_at, "reason": ins.excluded.reason, "attempts": QUARANTINE.c.attempts + 1},
        ),
        rows,
    )
    for r in unique.values():
        ctx.audit_events.append(
            audit.Event(
                action="order.quarantined" if ctx.stream == "orders" else f"{ctx.stream}.quarantined",
                actor=ctx.actor,
                run_id=ctx.run_id,
                account_id=ctx.account_id,
                entity_type="order" if ctx.stream == "orders" else ctx.stream,
                entity_key=r.external_id,
                summary={"reason": r.reason, "hash": r.payload_hash[:16]},
            )
        )
    return len(unique)


def flush_audit(conn: Connection, ctx: WriteContext) -> None:
    audit.append(conn, ctx.audit_events, now=ctx.now)
    ctx.audit_events.clear()


# -- quarantine replay -----------------------------------------------------------------
def open_quarantine(conn: Connection, account_id: str | None = None) -> list[Mapping[str, Any]]:
    query = sa.select(QUARANTINE).where(QUARANTINE.c.resolved_at.is_(None)).order_by(QUARANTINE.c.id)
    if account_id is not None:
        query = query.where(QUARANTINE.c.account_id == account_id)
    return list(conn.execute(query).mappings())


def mark_quarantine(conn: Connection, row_id: int, *, now: datetime, reason: str | None) -> None:
    """Resolve a replayed row (reason None) or record that it still fails."""
    values: dict[str, Any] = {"last_seen_at": now, "attempts": QUARANTINE.c.attempts + 1}
    if reason is None:
        values["resolved_at"] = now
    else:
        values["reason"] = reason
    conn.execute(sa.update(QUARANTINE).where(QUARANTINE.c.id == row_id).values(**values))


# -- cursors and checkpoints -------------------------------------------------------------
def load_cursor(conn: Connection, account_id: str, stream: str = "orders") -> datetime | None:
    return conn.execute(
        sa.select(CURSORS.c.until).where(CURSORS.c.account_id == account_id, CURSORS.c.stream == stream)
    ).scalar_one_or_none()


def save_cursor(conn: Connection, account_id: str, until: datetime, *, now: datetime, stream: str = "orders") -> None:
    ins = upsert_into(conn, CURSORS).values(account_id=account_id, stream=stream, until=until, updated_at=now)
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=[CURSORS.c.account_id, CURSORS.c.stream],
            set_={"until": ins.excluded.until, "updated_at": ins.excluded.updated_at},
        )
    )


def load_checkpoint(conn: Connection, account_id: str, job: str) -> tuple[str, Plan] | None:
    """The run id and plan of the account's unfinished ``job`` run, or None."""
    row = conn.execute(
        sa.select(CHECKPOINTS.c.run_id, CHECKPOINTS.c.state).where(
            CHECKPOINTS.c.account_id == account_id, CHECKPOINTS.c.job == job
        )
    ).one_or_none()
    return None if row is None else (row[0], Plan.from_json(loads(row[1])))


def save_checkpoint(conn: Connection, account_id: str, job: str, run_id: str, plan: Plan, *, now: datetime) -> None:
    ins = upsert_into(conn, CHECKPOINTS).values(
        account_id=account_id, job=job, run_id=run_id, state=dumps(plan.to_json(), canonical=True), updated_at=now
    )
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=[CHECKPOINTS.c.account_id, CHECKPOINTS.c.job],
            set_={"run_id": ins.excluded.run_id, "state": ins.excluded.state, "updated_at": ins.excluded.updated_at},
        )
    )


def clear_checkpoint(conn: Connection, account_id: str, job: str) -> None:
    conn.execute(sa.delete(CHECKPOINTS).where(CHECKPOINTS.c.account_id == account_id, CHECKPOINTS.c.job == job))


# -- run bookkeeping (sync_run) -------------------------------------------------------------
def start_run(conn: Connection, run_id: str, account_id: str, job: str, *, now: datetime) -> None:
    """Record a run as running; a run of the same account and job that was still running
    never finished (its process died): it is marked abandoned, for ops reading the runs."""
    conn.execute(
        sa.update(RUNS)
        .where(RUNS.c.account_id == account_id, RUNS.c.job == job, RUNS.c.status == "running")
        .values(status="abandoned", finished_at=now, error=f"stopped before it finished; run {run_id} took over")
    )
    conn.execute(sa.insert(RUNS).values(run_id=run_id, account_id=account_id, job=job, status="running", started_at=now, counts="{}"))


def add_run_counts(conn: Connection, run_id: str, counts: PageCounts, requests: int, *, stream: str = "orders") -> None:
    """Add one committed page's counts to its run's row (in the page's transaction); a
    returns or settlements stream's go under ``returns_new``, ``settlements_changed``, ..."""
    current = loads(conn.execute(sa.select(RUNS.c.counts).where(RUNS.c.run_id == run_id)).scalar_one() or "{}")
    prefix = f"{stream}_" if stream in SIDE_STREAMS else ""
    for key, value in counts.as_dict().items():
        current[prefix + key] = current.get(prefix + key, 0) + value
    current["pages"] = current.get("pages", 0) + 1
    current["requests"] = current.get("requests", 0) + requests
    conn.execute(sa.update(RUNS).where(RUNS.c.run_id == run_id).values(counts=dumps(current, canonical=True)))


def finish_run(conn: Connection, run_id: str, account_id: str, status: str, error: str | None, *, now: datetime) -> dict[str, Any]:
    """Record the run's end (and the account's last completed sync); returns its counts."""
    conn.execute(sa.update(RUNS).where(RUNS.c.run_id == run_id).values(status=status, finished_at=now, error=error))
    counts = conn.execute(sa.select(RUNS.c.counts).where(RUNS.c.run_id == run_id)).scalar_one()
    if status == "completed":
        conn.execute(sa.update(ACCOUNTS).where(ACCOUNTS.c.id == account_id).values(last_sync_at=now))
    return loads(counts or "{}")


def awaiting_tracking(conn: Connection, account_id: str, *, limit: int) -> list[str]:
    """Order numbers shipped or ready to ship whose parcels still have no airway bill,
    newest first: the late-airway-bill follow-up re-reads them."""
    query = (
        sa.select(ORDERS.c.external_id)
        .join(SHIPMENTS, sa.and_(SHIPMENTS.c.account_id == ORDERS.c.account_id, SHIPMENTS.c.order_external_id == ORDERS.c.external_id))
        .where(
            ORDERS.c.account_id == account_id,
            SHIPMENTS.c.tracking_number.is_(None),
            ORDERS.c.fulfillment_status.in_([canonical.FulfillmentStatus.READY_TO_SHIP, canonical.FulfillmentStatus.SHIPPED]),
        )
        .group_by(ORDERS.c.external_id)
        .order_by(sa.func.max(ORDERS.c.updated_at).desc())
        .limit(limit)
    )
    return [r[0] for r in conn.execute(query)]
