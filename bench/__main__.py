"""Run the benchmark suite: ``python -m bench [--quick] [--only FIGURE ...]``.

Prints each measurement as it goes, then the table of figures, and writes
bench/results.json (a list of {name, value, target, met, ...}) and bench/machine.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench import hub_scale, memory, peer_dlt, prefect_cost, rate_limit, results, throughput
from bench.databases import DEFAULT_POSTGRES_URL
from bench.results import Figure

HERE = Path(__file__).resolve().parent
CHANNEL = "woocommerce"  # one request per 100 orders: the engine, not the API, is measured

FULL = {
    "sizes": [10_000, 100_000],
    "dlt_orders": 10_000,
    "rate_limit_single": [("shopee", 2000)],
    "rate_limit_accounts": [("shopee", 2000), ("shopee", 1500), ("woocommerce", 5000)],
    "memory_sizes": [10_000, 100_000],
    "prefect_orders": 10_000,
    "hub_accounts": 1_000,
    "hub_sample": 200,
}
QUICK = {
    "sizes": [3_000],
    "dlt_orders": 2_000,
    "rate_limit_single": [("shopee", 800)],
    "rate_limit_accounts": [("shopee", 800), ("shopee", 600), ("woocommerce", 2000)],
    "memory_sizes": [2_000, 20_000],
    "prefect_orders": 4_000,
    "hub_accounts": 200,
    "hub_sample": 50,
}
FIGURES = ("throughput", "dlt", "rate-limit", "memory", "prefect", "hub-scale")
HUB_CONCURRENCY = 2  # accounts in flight per shard run (see bench/README.md, figure 7)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Simpul's benchmark figures, each a ratio measured side by side in this run (see bench/README.md).",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes: about a minute on two cores")
    parser.add_argument("--only", nargs="+", choices=FIGURES, metavar="FIGURE", help=f"run only these: {', '.join(FIGURES)}")
    parser.add_argument("--sizes", type=lambda t: [int(x) for x in t.split(",")], metavar="N,N", help="orders for the throughput figures (default 10000,100000; --quick 3000)")
    parser.add_argument("--databases", default="sqlite,postgresql", help="for the throughput and dlt figures (default: sqlite,postgresql)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, help="server for PostgreSQL runs; a temporary schema is used and dropped")
    parser.add_argument("--out", type=Path, default=HERE / "results.json", help="where to write the figures (default bench/results.json)")
    parser.add_argument("--merge", action="store_true", help="keep the figures already in --out that this run does not measure")
    args = parser.parse_args(argv)

    warnings.filterwarnings("ignore")  # dlt's SQLAlchemy 2.1 deprecation chatter
    plan = dict(QUICK if args.quick else FULL)
    if args.sizes:
        plan["sizes"] = args.sizes
    chosen = set(args.only or FIGURES)
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    figures: list[Figure] = []
    started = time.perf_counter()

    if "throughput" in chosen:
        print("figures 1 and 4: sync vs the database ceilings (same rows; old), re-syncs of unchanged data", flush=True)
        for orders in plan["sizes"]:
            for row in throughput.measure(kinds, CHANNEL, orders, args.postgres_url, log=_log):
                figures += _throughput_figures(row)
    if "dlt" in chosen:
        print("figure 2: against dlt", flush=True)
        for row in peer_dlt.measure(kinds, CHANNEL, plan["dlt_orders"], args.postgres_url, log=_log):
            figures.append(Figure(f"dlt_speedup_{row['database']}_{_k(row['orders'])}", row["dlt_seconds"] / row["simpul_seconds"], 2.0, "higher",
                                  "dlt merge load time / Simpul sync time, same orders, same database", row))
    if "rate-limit" in chosen:
        print("figure 3: rate-limit bound", flush=True)
        single = rate_limit.measure(plan["rate_limit_single"], log=_log)
        together = rate_limit.measure(plan["rate_limit_accounts"], log=_log)
        figures.append(Figure("rate_limit_wall_ratio_one_account", single["worst_ratio"], 1.15, "lower", "sync wall time / (requests needed / R), R enforced by the sandbox", single))
        figures.append(Figure("rate_limit_wall_ratio_accounts_together", together["worst_ratio"], 1.15, "lower", "worst account of 3 synced together, each against its own R", together))
        limited = sum(r["requests_429"] for run in (single, together) for r in run["accounts"])
        sent = sum(r["requests_429"] + r["requests_ok"] for run in (single, together) for r in run["accounts"])
        figures.append(Figure("rate_limit_429_share", limited / sent, 0.01, "lower", "429 answers / requests sent, both runs", {"requests": sent, "429": limited}))
    if "memory" in chosen:
        print("figure 5: memory", flush=True)
        small, big = memory.measure(CHANNEL, plan["memory_sizes"], log=_log)
        figures.append(Figure(f"memory_peak_ratio_{_k(big['orders'])}_vs_{_k(small['orders'])}", big["peak_rss_mib"] / small["peak_rss_mib"], 1.2, "lower",
                              "peak RSS of the sync process, 10x the orders", {"small": small, "big": big}))
    if "prefect" in chosen:
        print("figure 6: Prefect overhead", flush=True)
        row = prefect_cost.measure(CHANNEL, plan["prefect_orders"], log=_log)
        figures.append(Figure("prefect_task_share_default_batch", row["task_share_default_batch"], 0.05, "lower",
                              f"one task's cost / the work of its {row['pages_per_task_default']} pages", row))
        figures.append(Figure("prefect_task_share_per_page", row["task_share_per_page"], None, "info", "the same if every page were its own task", {}))
        figures.append(Figure("prefect_task_ms", row["per_task_ms"], None, "info", "cost of one advance task in the flow (client + API calls)", {}))
        figures.append(Figure("prefect_flow_fixed_s", row["flow_fixed_s"], None, "info", "a sync-orders flow run with nothing to do, minus the same run direct", {}))
        figures.append(Figure("prefect_api_start_s", row["api_start_s"], None, "info", "starting the temporary Prefect API server of a process", {}))
        figures.append(Figure("prefect_first_flow_s", row["first_flow_s"], None, "info", "the first flow of a process, once its API server is up", {}))

    if "hub-scale" in chosen:
        print("figure 7: a thousand shops per schedule (real Prefect server and workers, PostgreSQL)", flush=True)
        hub = hub_scale.measure(plan["hub_accounts"], concurrency=HUB_CONCURRENCY, per_account_sample=plan["hub_sample"], postgres_url=args.postgres_url, log=_log)
        for run in hub["runs"]:
            label = f"{run['workers']}_worker{'s' if run['workers'] > 1 else ''}"
            detail = {k: v for k, v in hub.items() if k not in ("runs", "per_account", "extrapolation_10k")} | {"run": run, "machine": results.machine()}
            figures.append(Figure(f"hub_scale_wall_vs_bound_{label}", run["ratio"], 1.25, "lower",
                                  f"{hub['accounts']:,} accounts: sync-all wall ({run['wall_seconds']:.1f} s) / bound ({run['bound_seconds']:.1f} s), {run['workers']} worker(s)", detail))
            figures.append(Figure(f"hub_scale_wall_seconds_{label}", run["wall_seconds"], 300.0, "lower", "the same run's wall time, against one 5-minute schedule interval", {}))
        figures.append(Figure("hub_scale_per_account", hub["per_account"]["sync_cpu_ms"], None, "info", "CPU ms per synced account in the sync process (PostgreSQL and sandbox CPU in detail)", hub["per_account"]))
        figures.append(Figure("hub_scale_10k_shard_processes", hub["extrapolation_10k"]["shard_processes_needed"], None, "info",
                              "10,000 accounts on paper: shard processes (8 accounts in flight each) one 5-minute interval needs", hub["extrapolation_10k"]))

    elapsed = time.perf_counter() - started
    print()
    print(results.table(figures))
    print(f"\n{sum(f.met is True for f in figures)} of {sum(f.met is not None for f in figures)} targets met in {elapsed:.0f} s ({'quick' if args.quick else 'full'} run)")
    if args.merge and args.out.exists():
        measured = {f.name for f in figures}
        kept = [Figure(**{k: v for k, v in f.items() if k != "met"}) for f in json.loads(args.out.read_text()) if f["name"] not in measured]
        figures = kept + figures
    results.write(args.out, figures)
    meta = {**results.machine(), "mode": "quick" if args.quick else "full", "seconds": round(elapsed), "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if not args.merge:  # a merged partial run keeps the full run's machine.json; its own is in its figures
        args.out.with_name("machine.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


def _throughput_figures(row: dict[str, Any]) -> list[Figure]:
    db, n = row["database"], _k(row["orders"])
    first = row["sync"]["seconds"]
    written = sum(row[k]["new"] + row[k]["changed"] for k in ("incremental_rerun", "full_resync")) + int(row["rows_rewritten"])
    return [
        Figure(f"sync_vs_same_rows_ceiling_{db}_{n}", row["sync_orders_per_s"] / row["same_rows_ceiling_orders_per_s"], 0.5, "higher",
               f"sync orders/s ({row['sync_orders_per_s']:,}) / plain inserts of the same rows, a transaction per page"
               f" ({row['same_rows_ceiling_orders_per_s']:,}, {row['same_rows']['method']})", row),
        *[
            Figure(f"sync_vs_same_rows_{method}_{db}_{n}", row["sync_orders_per_s"] / rate, None, "info",
                   f"the same with the same-rows ceiling written by {method} ({rate:,} orders/s)", {})
            for method, rate in row["same_rows"]["orders_per_s"].items()
            if method != row["same_rows"]["method"]
        ],
        Figure(f"sync_vs_ceiling_{db}_{n}", row["sync_orders_per_s"] / row["ceiling_orders_per_s"], None, "info",
               f"old figure, for reference: sync orders/s / bulk upsert of fewer rows, 1,000 orders a transaction ({row['ceiling_orders_per_s']:,})", {}),
        Figure(f"resync_incremental_time_{db}_{n}", row["incremental_rerun"]["seconds"] / first, 0.10, "lower",
               "scheduled re-run over unchanged data / first sync time", {}),
        Figure(f"resync_rows_written_{db}_{n}", written, 0, "lower", "rows the two re-runs of unchanged data wrote", {}),
        Figure(f"resync_full_window_time_{db}_{n}", row["full_resync"]["seconds"] / first, None, "info",
               "resync re-reading all N unchanged orders / first sync time", {}),
    ]


def _k(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def _log(text: str) -> None:
    print(text, flush=True)


if __name__ == "__main__":
    sys.exit(main())
