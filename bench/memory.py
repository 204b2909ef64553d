"""Figure 5: peak memory of a sync does not grow with the number of orders.

The sandbox serves from its own process (its seeded orders are its memory, not ours); the
sync runs in a fresh child process per size, into a fresh SQLite file, and reports its own
peak RSS (``ru_maxrss``) and its RSS after imports, before the first request. Pages stream
through the engine one at a time, so 10x the orders should cost (almost) no more memory.

The peak is the kernel's ``VmHWM`` of the child. ``ru_maxrss`` is reported too, but on
Linux it survives ``fork``/``exec``: a child of a big parent starts with the parent's peak.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

from bench.sandbox import ROOT, SandboxProcess


def measure(channel: str, sizes: list[int], log: Any = print) -> list[dict[str, Any]]:
    rows = []
    for orders in sizes:
        with SandboxProcess(channel, orders=orders) as sandbox:
            child = subprocess.run(
                [sys.executable, "-m", "bench.memory", channel, sandbox.url],
                input=json.dumps(sandbox.credentials), capture_output=True, text=True, cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True,
            )
        row = {"channel": channel, "orders": orders, **json.loads(child.stdout.strip().splitlines()[-1])}
        log(f"  N={orders:>7,}: peak RSS {row['peak_rss_mib']:.1f} MiB (after imports {row['start_rss_mib']:.1f} MiB), {row['seconds']:.1f} s")
        rows.append(row)
    return rows


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mib() -> float:
    """This process image's own high-water mark (VmHWM, reset by exec, unlike ru_maxrss)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(channel: str, url: str) -> None:
    from bench.databases import add_account, fresh_database, open_bench_hub
    from simpul.engine import SyncRequest

    credentials = json.loads(sys.stdin.read())
    with fresh_database("sqlite") as db:
        hub = open_bench_hub(db)
        account = add_account(hub, "mem", channel, url, credentials)
        start_rss = _rss_mib()
        started = time.perf_counter()
        summary = hub.engine.run(SyncRequest(account))
        seconds = time.perf_counter() - started
        assert summary.status == "completed", summary.as_row()
        hub.close()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"peak_rss_mib": round(_peak_rss_mib(), 1), "ru_maxrss_mib": round(maxrss, 1), "start_rss_mib": round(start_rss, 1), "seconds": round(seconds, 2), "new": summary.counts.new}))


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
