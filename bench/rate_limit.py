"""Figure 3: a sync against a sandbox that enforces the channel's request budget.

Each account gets its own sandbox process that answers 429 beyond ``max_rps`` requests
per second (counted per one-second window, as a short-window API limit does) and adds
``latency_ms`` to every request. The engine runs with the budgets the connectors declare
(``rate_limit``), nothing overridden, so what is measured is the contract at work:

- one account alone: wall time / (requests needed / R), and the share of 429s;
- several accounts of two channels synced together in threads through one engine: each
  must still finish within its own bound, which only holds if each has its own bucket.

"Requests needed" counts the successful requests, so a 429 and its retry are charged to
the sync's wall time, not excused by it.
"""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack
from typing import Any

from bench.databases import add_account, fresh_database, open_bench_hub
from bench.sandbox import SandboxProcess
from simpul.channels import get_channel
from simpul.engine import Engine, SyncRequest

LATENCY_MS = 50  # well under 1/R for both channels, so the budget, not latency, bounds a sync


def declared_rate(channel: str) -> float:
    limit = get_channel(channel).connector_class().rate_limit
    if limit is None:
        raise ValueError(f"{channel} declares no rate limit")
    return limit.per_second


def measure(accounts: list[tuple[str, int]], log: Any = print) -> dict[str, Any]:
    """Sync ``accounts`` ([(channel, orders)]) together; one row per account plus totals."""
    with ExitStack() as stack:
        sandboxes = [stack.enter_context(SandboxProcess(channel, orders=orders, seed=20 + i)) for i, (channel, orders) in enumerate(accounts)]
        for (channel, _), sandbox in zip(accounts, sandboxes):
            sandbox.faults(max_rps=declared_rate(channel), latency_ms=LATENCY_MS, retry_after=None)
        db = stack.enter_context(fresh_database("sqlite"))
        hub = open_bench_hub(db, rate_limits={})  # the connectors' own budgets
        names = [add_account(hub, f"rl-{i}-{channel}", channel, sb.url, sb.credentials) for i, ((channel, _), sb) in enumerate(zip(accounts, sandboxes))]
        results: dict[str, Any] = {}
        threads = [threading.Thread(target=_sync, args=(hub.engine, name, results)) for name in names]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        rows = []
        for name, (channel, orders), sandbox in zip(names, accounts, sandboxes):
            stats = sandbox.stats()["by_status"]
            ok, limited = int(stats.get("200", 0)), int(stats.get("429", 0))
            rate = declared_rate(channel)
            bound = (ok - 1) / rate  # the first request needs no token wait
            seconds, summary = results[name]
            rows.append(
                {
                    "account": name,
                    "channel": channel,
                    "orders": orders,
                    "rate_per_s": rate,
                    "latency_ms": LATENCY_MS,
                    "requests_ok": ok,
                    "requests_429": limited,
                    "seconds": round(seconds, 3),
                    "bound_seconds": round(bound, 3),
                    "ratio": round(seconds / bound, 4),
                    "status": summary.status,
                }
            )
            log(f"  {name:<18} {ok:>4} requests + {limited} x 429 at {rate:g}/s: {seconds:.2f} s, bound {bound:.2f} s, ratio {seconds / bound:.3f}")
        hub.close()
    total = sum(r["requests_ok"] + r["requests_429"] for r in rows)
    return {
        "accounts": rows,
        "wall_seconds": round(wall, 3),
        "worst_ratio": max(r["ratio"] for r in rows),
        "share_429": sum(r["requests_429"] for r in rows) / total,
    }


def _sync(engine: Engine, account: str, results: dict[str, Any]) -> None:
    started = time.perf_counter()
    summary = engine.run(SyncRequest(account))
    results[account] = (time.perf_counter() - started, summary)
