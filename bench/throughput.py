"""Figures 1 and 4: a full sync against the database ceiling, then re-syncs of unchanged data.

One sandbox process serves N seeded orders (zero latency, frozen data clock). For each
database: the old ceiling writes the sandbox's orders, mapped beforehand, into one fresh
database; the same-rows ceiling writes exactly the rows a sync writes, page by page
(bench/ceiling.py), into another (on PostgreSQL twice: executemany and COPY); the engine
syncs them over HTTP into a third (mapping, version guard, raw payloads, audit chain
and checkpoints all on). Then, on the synced database:

- the scheduled **incremental** re-run (cursor minus lookback, plus the orders still
  waiting for a tracking number), which is what runs every few minutes;
- a **full-window resync** that re-reads all N orders and must write nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from bench import ceiling
from bench.databases import add_account, count_rows, fresh_database, open_bench_hub
from bench.sandbox import SandboxProcess
from simpul.channels import get_channel
from simpul.engine import RESYNC, RunSummary, SyncRequest


@dataclass(slots=True)
class SyncRun:
    seconds: float
    summary: RunSummary

    def row(self) -> dict[str, Any]:
        s = self.summary
        return {"seconds": round(self.seconds, 3), "pages": s.pages, "requests": s.requests, **s.counts.as_dict()}


def timed(fn: Any, *args: Any, **kw: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - started, out


def measure(kinds: list[str], channel: str, orders: int, postgres_url: str, log: Any = print) -> list[dict[str, Any]]:
    """One row per database kind: ceiling, first sync, incremental re-run, full resync."""
    mapping = get_channel(channel).mapping()
    rows = []
    with SandboxProcess(channel, orders=orders) as sandbox:
        bundles = [mapping.map_order(raw) for raw in sandbox.dump_orders()]
        batches = ceiling.build_rows("bench", channel, bundles)
        canonical_rows = len(bundles) + sum(len(r) for _, children in batches for r in children.values())
        del bundles
        same = ceiling.build_same_rows(channel, sandbox.url, sandbox.credentials)
        same_counts = same.row_counts()
        assert same_counts["orders"] == orders, same_counts
        for kind in kinds:
            with fresh_database(kind, postgres_url) as db:
                add_account(open_bench_hub(db), "bench", channel, sandbox.url, sandbox.credentials)  # orders reference it
                ceiling_seconds = ceiling.bulk_upsert(db, batches)
            log(f"  {kind:<10} N={orders:>7,}: old ceiling       {orders / ceiling_seconds:,.0f} orders/s")
            same_seconds: dict[str, float] = {}
            for method in ("executemany", "copy") if kind == "postgresql" else ("executemany",):
                with fresh_database(kind, postgres_url) as db:
                    add_account(open_bench_hub(db), "bench", channel, sandbox.url, sandbox.credentials)
                    prepared = ceiling.prepare_same_rows(db, same)
                    same_seconds[method] = ceiling.write_same_rows(db, same, prepared, method=method)
                    del prepared
                    assert count_rows(db, "orders") == orders
                log(f"  {kind:<10} N={orders:>7,}: same-rows ceiling {orders / same_seconds[method]:,.0f} orders/s ({method})")
            same_method = min(same_seconds, key=same_seconds.__getitem__)
            with fresh_database(kind, postgres_url) as db:
                hub = open_bench_hub(db)
                account = add_account(hub, "bench", channel, sandbox.url, sandbox.credentials)
                first = SyncRun(*timed(hub.engine.run, SyncRequest(account)))
                assert first.summary.status == "completed" and first.summary.counts.new == orders, first.summary.as_row()
                log(f"  {kind:<10} N={orders:>7,}: sync    {orders / first.seconds:,.0f} orders/s ({first.summary.requests} requests)")
                written_before = _last_write(db)
                incremental = SyncRun(*timed(hub.engine.run, SyncRequest(account)))
                since = datetime.now(timezone.utc) - timedelta(days=60)
                full = SyncRun(*timed(hub.engine.run, SyncRequest(account, job=RESYNC, since=since)))
                rewritten = _last_write(db) != written_before
                stored = count_rows(db, "orders")
                hub.close()
            log(f"  {kind:<10} N={orders:>7,}: re-runs incremental {incremental.seconds:.2f} s, full-window {full.seconds:.2f} s")
            rows.append(
                {
                    "database": kind,
                    "channel": channel,
                    "orders": orders,
                    "canonical_rows": canonical_rows,
                    "stored_orders": stored,
                    "ceiling_seconds": round(ceiling_seconds, 3),
                    "ceiling_orders_per_s": round(orders / ceiling_seconds),
                    "same_rows": {
                        "rows": same_counts,
                        "transactions": len(same.pages),
                        "method": same_method,
                        "seconds": {m: round(v, 3) for m, v in same_seconds.items()},
                        "orders_per_s": {m: round(orders / v) for m, v in same_seconds.items()},
                    },
                    "same_rows_ceiling_orders_per_s": round(orders / same_seconds[same_method]),
                    "sync": first.row(),
                    "sync_orders_per_s": round(orders / first.seconds),
                    "incremental_rerun": incremental.row(),
                    "full_resync": full.row(),
                    "rows_rewritten": rewritten,
                }
            )
    return rows


def _last_write(db: Any) -> Any:
    import sqlalchemy as sa

    with db.connect() as conn:
        return conn.execute(sa.text("SELECT count(*), max(written_at) FROM orders")).one()
