"""The database ceilings figure 1 measures a sync against.

**The old ceiling** (``build_rows``, ``bulk_upsert``; kept for reference): the same
canonical order, line and shipment rows bulk-upserted straight into the same tables.
No HTTP, no mapping, no raw-payload copy, no audit, no checkpoint: rows are built before
the clock starts, then written 1,000 orders per transaction with the statement shape the
store uses (executemany, ``ON CONFLICT DO UPDATE ... WHERE`` newer wins) plus plain
executemany inserts of the lines, shipments, events and returns. This is as fast as
these tables take these rows from Python, but not the rows a sync writes: the sync also
keeps each raw payload, seals buyer contacts into the order row, appends an audit entry
per order and saves a checkpoint per page, and commits every page (100 orders), not
every 1,000.

**The same-rows ceiling** (``build_same_rows``, ``prepare_same_rows``, ``write_same_rows``;
issue 8 §4): exactly the rows a first sync writes (orders with their sealed buyer
columns, lines, shipments, tracking events, returns, raw payload copies, audit entries
with the audit head, the per-page checkpoint and run counts, the last page's cursor),
obtained by reading and mapping the same sandbox pages with the same mapping, written
with plain inserts in one transaction per sync page. On PostgreSQL both psycopg 3's
executemany and ``COPY`` are timed and the faster is the ceiling.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from connectors.contract import Window
from simpul import audit, budget, store
from simpul.canonical import OrderBundle
from simpul.channels import get_channel
from simpul.db import Database
from simpul.engine import SyncRequest, map_page
from simpul.jsoncodec import dumps
from simpul.model import AuditEntry, AuditHead, SyncRun

BATCH = 1000  # orders per statement and transaction


def build_rows(account: str, channel: str, bundles: Sequence[OrderBundle]) -> list[tuple[list[dict[str, Any]], dict[sa.Table, list[dict[str, Any]]]]]:
    """Per batch: the order rows and the child rows of each child table (built untimed)."""
    # store's own row builders, so the ceiling writes exactly the columns a sync writes
    ctx = store.WriteContext(account, channel, None, "bench", datetime.now(timezone.utc), "ceiling")
    batches = []
    for start in range(0, len(bundles), BATCH):
        chunk = bundles[start : start + BATCH]
        children = {
            table: [
                {"account_id": account, "order_external_id": b.order.external_id, **{n: getattr(child, n) for n in names}}
                for b in chunk
                for child in getattr(b, attr)
            ]
            for table, attr, names in store._CHILDREN
        }
        batches.append(([store._order_row(b, ctx) for b in chunk], children))
    return batches


def bulk_upsert(db: Database, batches: list[tuple[list[dict[str, Any]], dict[sa.Table, list[dict[str, Any]]]]]) -> float:
    """Write every batch; returns the seconds it took."""
    statement = store.upsert_statement(db.dialect, tuple(batches[0][0][0]))  # the sync's own guarded upsert
    started = time.perf_counter()
    for orders, children in batches:
        with db.begin() as conn:
            conn.execute(statement, orders)
            for table, rows in children.items():
                if rows:
                    conn.execute(sa.insert(table), rows)
    return time.perf_counter() - started


# -- the same-rows ceiling (issue 8 §4) ---------------------------------------------------
# The ceiling above writes fewer rows than a sync does (no raw copy, no audit entry, no
# sealed buyer columns, no checkpoint) and commits every 1,000 orders where the sync
# commits every page. The same-rows ceiling below writes exactly what a first sync's page
# transactions write, in the same transactions, with plain statements and nothing else:
# no read of stored versions, no version guard, no mapping, hashing, sealing or chaining
# inside the clock.

AUDIT = AuditEntry.__table__
AUDIT_HEAD = AuditHead.__table__
RUNS = SyncRun.__table__
CHECKPOINTS = store.CHECKPOINTS


@dataclass(slots=True)
class SyncPage:
    """One of the sync's page transactions, as the rows it writes (built untimed)."""

    orders: list[dict[str, Any]]
    children: dict[sa.Table, list[dict[str, Any]]]
    raw: list[dict[str, Any]]
    events: list[audit.Event]  # chained onto the target database's audit head before the clock
    checkpoint: str | None  # the checkpoint state after the page; None: the walk's last page (cleared, cursor saved)
    counts: str  # the run's counts after the page (sync_run.counts)


@dataclass(slots=True)
class SameRows:
    run_id: str
    account_id: str
    now: datetime
    until: datetime  # the plan's end: the cursor the last page saves
    first_state: str  # the checkpoint the plan writes before the first request
    pages: list[SyncPage]

    def row_counts(self) -> dict[str, int]:
        out = {"orders": 0, "raw_payload": 0, "audit_log": 0, "sync_checkpoint": 0, "sync_cursor": 0, "sync_run": 0, "audit_head": 0}
        for p in self.pages:
            out["orders"] += len(p.orders)
            for table, rows in p.children.items():
                out[table.name] = out.get(table.name, 0) + len(rows)
            out["raw_payload"] += len(p.raw)
            out["audit_log"] += len(p.events)
            out["audit_head"] += bool(p.events)
            out["sync_checkpoint"] += 1  # updated, or cleared by the last page
            out["sync_cursor"] += p.checkpoint is None
            out["sync_run"] += 1
        return out


def build_same_rows(channel: str, url: str, credentials: Mapping[str, Any], *, account: str = "bench") -> SameRows:
    """The rows a first incremental sync of the sandbox at ``url`` writes, page by page.

    The pages are read the way the sync reads them (the engine's plan, the account's
    connector, the same window and page size) and mapped by ``simpul.engine.map_page``
    with the channel's mapping; the rows come from the store's own row builders, buyer
    contacts sealed by the engine's ``BuyerVault``, audit events as ``store.apply_page``
    makes them for new orders, checkpoint states and run counts as the engine saves them.
    A scratch SQLite hub holds the plan and the pepper; nothing here is timed.
    """
    from bench.databases import add_account, fresh_database, open_bench_hub

    with fresh_database("sqlite") as scratch:
        hub = open_bench_hub(scratch)
        add_account(hub, account, channel, url, credentials)
        run_id = uuid.uuid4().hex
        engine = hub.engine
        plan = engine.plan(SyncRequest(account), run_id)
        first_state = dumps(plan.to_json(), canonical=True)
        info = hub.accounts.get(account)
        source = engine.connector(info, run_id)
        mapping = get_channel(channel).mapping()
        boundary = engine.boundary(info)
        now = datetime.now(timezone.utc)
        ctx = store.WriteContext(account, channel, run_id, engine.actor, now, mapping.MAPPING_VERSION, buyer_columns=engine.buyers.columns)
        counts: dict[str, int] = {}
        pages: list[SyncPage] = []
        for w, (since, until) in enumerate(plan.windows):
            plan = plan.with_(window=w, position=None, budget=None)
            for page in source.order_pages(Window(datetime.fromisoformat(since), datetime.fromisoformat(until)), None):
                bundles, rejected = map_page(mapping, page, boundary)
                if rejected:
                    raise RuntimeError(f"{len(rejected)} payloads of the sandbox were quarantined; the ceiling expects none")
                before, plan = plan.position, plan.with_(position=page.position)
                last = page.position is None and w == len(plan.windows) - 1
                if page.position is not None:
                    plan = plan.with_(budget=budget.charge(plan.budget, run_id=run_id, window=w, record_keys=[b.payload_hash for b in bundles],
                                                           requests=page.requests, seconds=0.0, reported_pages=page.reported_pages, resume=before))
                elif not last:  # the next window starts (Engine._next_window)
                    plan = plan.with_(window=w + 1, position=None, budget=None)
                for key, value in (("new", len(bundles)), ("changed", 0), ("unchanged", 0), ("stale", 0), ("quarantined", 0), ("pages", 1), ("requests", page.requests)):
                    counts[key] = counts.get(key, 0) + value
                pages.append(_sync_page(ctx, bundles, None if last else dumps(plan.to_json(), canonical=True), dumps(counts, canonical=True)))
        hub.close()
    return SameRows(run_id, account, now, datetime.fromisoformat(plan.until), first_state, pages)


def _sync_page(ctx: store.WriteContext, bundles: Sequence[OrderBundle], checkpoint: str | None, counts: str) -> SyncPage:
    children = {
        table: [
            {"account_id": ctx.account_id, "order_external_id": b.order.external_id, **{n: getattr(child, n) for n in names}}
            for b in bundles
            for child in getattr(b, attr)
        ]
        for table, attr, names in store._CHILDREN
    }
    raw = [
        {"payload_hash": b.payload_hash, "account_id": ctx.account_id, "external_id": b.order.external_id, "body": dumps(b.raw, canonical=True), "received_at": ctx.now}
        for b in bundles
    ]
    events = [
        audit.Event(
            action="order.created", actor=ctx.actor, run_id=ctx.run_id, account_id=ctx.account_id, entity_type="order", entity_key=b.order.external_id,
            summary={"before": None, "after": store._order_summary(b.order.status, b.order.updated_at, b.payload_hash)},
        )
        for b in bundles
    ]
    return SyncPage([store._order_row(b, ctx) for b in bundles], children, raw, events, checkpoint, counts)


@dataclass(slots=True)
class _Prepared:
    page: SyncPage
    audit_rows: list[dict[str, Any]]
    head: dict[str, Any]


def prepare_same_rows(db: Database, same: SameRows) -> list[_Prepared]:
    """Untimed: the run's row and first checkpoint (the sync's plan writes them before its
    first page), and each page's audit entries chained onto this database's head."""
    with db.begin() as conn:
        conn.execute(sa.insert(RUNS).values(run_id=same.run_id, account_id=same.account_id, job="incremental", status="running", started_at=same.now, counts="{}"))
        conn.execute(sa.insert(CHECKPOINTS).values(account_id=same.account_id, job="incremental", run_id=same.run_id, state=same.first_state, updated_at=same.now))
        seq, prev = conn.execute(sa.select(AUDIT_HEAD.c.seq, AUDIT_HEAD.c.hash).where(AUDIT_HEAD.c.id == 1)).one()
    ts = audit._now_text(same.now)
    out = []
    for page in same.pages:
        rows = []
        for e in page.events:
            seq += 1
            row = {"seq": seq, "ts": ts, "actor": e.actor, "run_id": e.run_id, "action": e.action, "account_id": e.account_id,
                   "entity_type": e.entity_type, "entity_key": e.entity_key, "summary": dumps(e.summary, canonical=True), "prev_hash": prev}
            row["hash"] = prev = audit._digest(prev, row)
            rows.append(row)
        out.append(_Prepared(page, rows, {"seq": seq, "hash": prev}))
    return out


def write_same_rows(db: Database, same: SameRows, prepared: list[_Prepared], *, method: str = "executemany") -> float:
    """Every page in its own transaction, as the sync commits them; returns the seconds.

    ``method``: "executemany" (SQLAlchemy Core ``insert(table)`` with a list of rows:
    sqlite3's and psycopg 3's executemany) or, on PostgreSQL, "copy" (``COPY ... FROM
    STDIN`` through psycopg 3 in the same transaction, values bound by the columns' own
    SQLAlchemy types inside the clock, as executemany binds them). The few single-row
    writes (audit head, checkpoint, run counts, cursor) are plain UPDATE/INSERT either way.
    """
    insert = _copy if method == "copy" else _executemany
    head = sa.update(AUDIT_HEAD).where(AUDIT_HEAD.c.id == 1).values(seq=sa.bindparam("seq"), hash=sa.bindparam("hash"))
    keyed = sa.and_(CHECKPOINTS.c.account_id == same.account_id, CHECKPOINTS.c.job == "incremental")
    checkpoint = sa.update(CHECKPOINTS).where(keyed).values(run_id=same.run_id, state=sa.bindparam("state"), updated_at=same.now)
    counts = sa.update(RUNS).where(RUNS.c.run_id == same.run_id).values(counts=sa.bindparam("counts"))
    started = time.perf_counter()
    for p in prepared:
        page = p.page
        with db.begin() as conn:
            insert(conn, store.ORDERS, page.orders)
            for table, rows in page.children.items():
                insert(conn, table, rows)
            insert(conn, store.RAW, page.raw)
            insert(conn, AUDIT, p.audit_rows)
            if p.audit_rows:
                conn.execute(head, p.head)
            if page.checkpoint is not None:
                conn.execute(checkpoint, {"state": page.checkpoint})
            else:
                conn.execute(sa.delete(CHECKPOINTS).where(keyed))
                conn.execute(sa.insert(store.CURSORS).values(account_id=same.account_id, stream="orders", until=same.until, updated_at=same.now))
            conn.execute(counts, {"counts": page.counts})
    return time.perf_counter() - started


def _executemany(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(sa.insert(table), rows)


def _copy(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    names = list(rows[0])
    binds = [table.c[n].type._cached_bind_processor(conn.dialect) for n in names]
    columns = ", ".join(f'"{n}"' for n in names)
    cursor = conn.connection.dbapi_connection.cursor()
    with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[n] if bind is None else bind(row[n]) for n, bind in zip(names, binds)])
