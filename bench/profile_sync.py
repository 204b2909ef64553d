"""Profile one first sync with cProfile: ``python -m bench.profile_sync [--orders N] ...``.

The set-up is figure 1's (bench/throughput.py): a zero-latency sandbox in its own
process, a fresh migrated database, one account, ``Engine.run`` of a first incremental
sync. The main thread (page transactions) and the read-ahead thread (HTTP, JSON
decoding and mapping, ``simpul.engine.read_ahead``) are profiled separately: one
``cProfile.Profile`` per thread, the fetch thread's started by ``threading.setprofile``.

Percentages are of the profiled sync's wall time. cProfile slows Python code down (here
roughly 1.5-2x, more for many small calls than for C calls such as SQLite's), so the
shares are indicative, not exact; the orders/s of a profiled run is not figure 1's.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.databases import DEFAULT_POSTGRES_URL, add_account, fresh_database, open_bench_hub
from bench.sandbox import SandboxProcess
from simpul.engine import SyncRequest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_sync", description=__doc__.split("\n\n")[0].split(": ")[0] + ".")
    parser.add_argument("--orders", type=int, default=10_000, help="orders the sandbox serves and the sync writes (default 10,000)")
    parser.add_argument("--channel", default="woocommerce", help="channel sandbox (default woocommerce: one request per 100 orders)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite", help="default sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, help="server for --database postgresql (a temporary schema)")
    parser.add_argument("--top", type=int, default=25, help="rows of each table (default 25)")
    parser.add_argument("--out", type=Path, help="also write the main thread's stats here (pstats / snakeviz format)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unprofiled sync (into its own fresh database) run first for comparison")
    args = parser.parse_args(argv)

    with SandboxProcess(args.channel, orders=args.orders) as sandbox:
        if not args.no_baseline:
            with fresh_database(args.database, args.postgres_url) as db:
                hub = open_bench_hub(db)
                account = add_account(hub, "bench", args.channel, sandbox.url, sandbox.credentials)
                started = time.perf_counter()
                plain = hub.engine.run(SyncRequest(account))
                baseline = time.perf_counter() - started
                hub.close()
            print(f"{args.database}: {plain.counts.new:,} orders in {baseline:.2f} s without the profiler ({plain.counts.new / baseline:,.0f} orders/s)")
        with fresh_database(args.database, args.postgres_url) as db:
            wall, summary, main_profile, threads = _profiled_sync(db, args.channel, sandbox)
    print(f"{args.database}: {summary.counts.new:,} orders in {wall:.2f} s under cProfile ({summary.counts.new / wall:,.0f} orders/s), "
          f"{summary.pages} pages, {summary.requests} requests")
    main_stats = pstats.Stats(main_profile)
    if args.out:
        main_stats.dump_stats(str(args.out))
    _table("main thread (page transactions), by own time", main_stats, wall, "tottime", args.top)
    _table("main thread, by cumulative time", main_stats, wall, "cumulative", args.top)
    if threads:
        fetch = pstats.Stats(threads[0])
        for extra in threads[1:]:
            fetch.add(extra)
        _table(f"read-ahead thread ({len(threads)} thread(s): HTTP, JSON, mapping), by own time", fetch, wall, "tottime", args.top)
    return 0


def _profiled_sync(db: Any, channel: str, sandbox: SandboxProcess) -> tuple[float, Any, cProfile.Profile, list[cProfile.Profile]]:
    """(wall seconds, run summary, main thread's profile, the read-ahead threads' profiles)."""
    hub = open_bench_hub(db)
    account = add_account(hub, "bench", channel, sandbox.url, sandbox.credentials)
    threads: list[cProfile.Profile] = []

    def start_thread_profile(*_: Any) -> None:  # the first event of a new thread
        profile = cProfile.Profile()
        threads.append(profile)
        profile.enable()

    main_profile = cProfile.Profile()
    threading.setprofile(start_thread_profile)
    started = time.perf_counter()
    main_profile.enable()
    summary = hub.engine.run(SyncRequest(account))
    main_profile.disable()
    wall = time.perf_counter() - started
    threading.setprofile(None)  # type: ignore[arg-type]
    hub.close()
    return wall, summary, main_profile, threads


def _table(title: str, stats: pstats.Stats, wall: float, key: str, top: int) -> None:
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2 if key == "tottime" else 3], reverse=True)  # type: ignore[attr-defined]
    print(f"\n{title}\n{'% wall':>7} {'own s':>7} {'cum s':>7} {'calls':>9}  function")
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in rows[:top]:
        share = (tottime if key == "tottime" else cumtime) / wall * 100
        print(f"{share:6.1f}% {tottime:7.3f} {cumtime:7.3f} {calls:9,}  {_where(filename, line, name)}")


def _where(filename: str, line: int, name: str) -> str:
    if filename == "~":
        return name  # a built-in, e.g. <method 'execute' of 'sqlite3.Cursor' objects>
    path = Path(filename)
    parts = path.parts
    for anchor in ("site-packages", "simpul", "connectors", "mappings", "bench"):
        if anchor in parts:
            i = len(parts) - 1 - parts[::-1].index(anchor)
            short = "/".join(parts[i + 1 :] if anchor == "site-packages" else parts[i:])
            return f"{short}:{line}({name})"
    return f"{path.name}:{line}({name})"


if __name__ == "__main__":
    sys.exit(main())
