"""Figure 6: what Prefect costs a sync, with the real ephemeral Prefect API.

A child process (its own PREFECT_HOME, SQLite database and key ring) syncs the same N
sandbox orders into three accounts:

- **direct**: ``Engine.run`` without Prefect, the baseline (after a warm-up flow run);
- **coarse**: the ``sync-orders`` flow at the default batch size (one ``advance`` task per
  ``DEFAULT_PAGES_PER_TASK`` pages);
- **per page**: the same flow with ``pages_per_task=1``, one task per page
  (both flow variants run twice, alternating, on fresh accounts; the faster run counts).

per-task cost = (per page - coarse) / (extra tasks); a flow run's fixed cost is measured on
an incremental re-run that finds nothing to do (flow minus direct). The temporary API
server is started up front (``simpul.prefect_api``: a long wait instead of Prefect's 20 s,
which timed out on a busy machine) and its start is reported on its own, as is the first
flow run of the process. The server's
catch-up on recorded task runs (it ingests only ~25-30 task runs/s) comes on top of the
per-page numbers and is not waited for here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.sandbox import ROOT, SandboxProcess


def measure(channel: str, orders: int, log: Any = print) -> dict[str, Any]:
    with SandboxProcess(channel, orders=orders) as sandbox, tempfile.TemporaryDirectory(prefix="simpul-bench-prefect-") as tmp:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "PREFECT_HOME": str(Path(tmp) / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "SIMPUL_HOME": tmp,
            "SIMPUL_DATABASE_URL": f"sqlite:///{Path(tmp) / 'simpul.db'}",
            "SIMPUL_KEYRING": str(Path(tmp) / "keyring.json"),
            "SIMPUL_RATE_LIMITS": "*=off",
        }
        env.pop("PREFECT_API_URL", None)
        child = subprocess.run(
            [sys.executable, "-m", "bench.prefect_cost", channel, sandbox.url],
            input=json.dumps(sandbox.credentials), capture_output=True, text=True, cwd=ROOT, env=env, timeout=900,
        )
    if child.returncode != 0:
        raise RuntimeError(f"prefect child failed:\n{child.stderr[-3000:]}")
    row = json.loads(child.stdout.strip().splitlines()[-1])
    log(
        f"  N={orders:,}: import {row['import_prefect_s']:.2f} s, API start {row['api_start_s']:.1f} s, first flow {row['first_flow_s']:.2f} s, "
        f"flow fixed {row['flow_fixed_s']:.2f} s, per task {row['per_task_ms']:.1f} ms, page {row['page_ms']:.1f} ms"
    )
    return {"channel": channel, "orders": orders, **row}


def _child(channel: str, url: str) -> None:
    started = time.perf_counter()
    import prefect
    from prefect import flow

    import_seconds = time.perf_counter() - started
    from flows.params import DEFAULT_PAGES_PER_TASK
    from flows.sync_orders import sync_orders
    from simpul.engine import SyncRequest
    from simpul.prefect_api import prefect_api
    from simpul.runtime import open_hub
    from simpul.vault import KeyRing

    credentials = json.loads(sys.stdin.read())
    KeyRing.create()  # set-up of the child's own home (SIMPUL_KEYRING)
    hub = open_hub(actor="bench")
    for name in ("direct", "warm", "coarse", "fine", "coarse2", "fine2"):
        hub.accounts.add(name, channel, name, url, credentials, history_days=60)

    @flow(name="bench-empty", persist_result=False)
    def empty() -> None:
        return None

    api_started = time.perf_counter()
    with prefect_api():  # a temporary API started up front, long wait, visible line (simpul.prefect_api)
        api_start = time.perf_counter() - api_started
        from flows._limits import ensure_database_limit

        ensure_database_limit()  # sync runs take their database slots from it (what `simpul prefect setup` does)
        first_flow = _seconds(empty)

        def flow_run(account: str, pages: int) -> tuple[float, dict[str, Any]]:
            started = time.perf_counter()
            row = sync_orders(account, pages_per_task=pages)
            assert isinstance(row, dict) and row["status"] == "completed", row
            return time.perf_counter() - started, row

        flow_run("warm", DEFAULT_PAGES_PER_TASK)  # the first sync flow of a process warms caches
        direct_full, summary = _timed(hub.engine.run, SyncRequest("direct"))
        # alternate, and keep the faster of two runs each: the difference is small against noise
        fine_full, fine = flow_run("fine", 1)
        coarse_full, coarse = flow_run("coarse", DEFAULT_PAGES_PER_TASK)
        fine_full = min(fine_full, flow_run("fine2", 1)[0])
        coarse_full = min(coarse_full, flow_run("coarse2", DEFAULT_PAGES_PER_TASK)[0])
        direct_rerun, _ = _timed(hub.engine.run, SyncRequest("direct"))
        coarse_rerun, _ = flow_run("coarse", DEFAULT_PAGES_PER_TASK)
        hub.close()

    pages = summary.pages
    coarse_tasks = -(-pages // DEFAULT_PAGES_PER_TASK)
    per_task = (fine_full - coarse_full) / max(1, pages - coarse_tasks)
    page_seconds = direct_full / pages
    print(
        json.dumps(
            {
                "prefect_version": prefect.__version__,
                "import_prefect_s": round(import_seconds, 3),
                "api_start_s": round(api_start, 3),
                "first_flow_s": round(first_flow, 3),
                "pages": pages,
                "direct_s": round(direct_full, 3),
                "coarse_flow_s": round(coarse_full, 3),
                "coarse_tasks": coarse_tasks,
                "per_page_flow_s": round(fine_full, 3),
                "per_page_tasks": pages,
                "direct_rerun_s": round(direct_rerun, 3),
                "flow_rerun_s": round(coarse_rerun, 3),
                "flow_fixed_s": round(coarse_rerun - direct_rerun, 3),
                "per_task_ms": round(per_task * 1000, 2),
                "page_ms": round(page_seconds * 1000, 2),
                "pages_per_task_default": DEFAULT_PAGES_PER_TASK,
                "task_share_default_batch": round(per_task / (DEFAULT_PAGES_PER_TASK * page_seconds), 5),
                "task_share_per_page": round(per_task / page_seconds, 4),
                "rows": {"coarse": coarse.get("new"), "per_page": fine.get("new")},
            }
        )
    )


def _timed(fn: Any, *args: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - started, out


def _seconds(fn: Any) -> float:
    return _timed(fn)[0]


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
