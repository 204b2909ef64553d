"""Figure 7: a thousand shops in one scheduled run, on PostgreSQL, with 1 and 2 workers.

The production path end to end: a real ``prefect server start`` (on its own PostgreSQL
database), prefect.yaml's deployments (``prefect deploy --all``), ``simpul prefect
setup``, and ``simpul prefect worker`` processes. One ``sync-all`` run of the deployment
``sync-all/every-5-minutes`` is scheduled through the API a few seconds ahead, as the
schedule does (the worker prefetches it), and the wall time is from its scheduled start
to its end, by the server's clock: the shard runs' creation, pick-up and process start,
their syncs and the parent's wait are all in it.

Shops: half Shopee, half WooCommerce, each in one sandbox process hosting all its shops
(``/shops/<n>``), every request delayed by ``LATENCY_MS`` and every shop enforcing its
channel's budget (``max_rps``: Shopee 10/s, WooCommerce 5/s), while the engine uses the
budgets the connectors declare (nothing overridden). Each account's first sync reads one
window of ``HISTORY_DAYS`` holding ~20 orders.

The bound is ``max(slowest account's requests / its rate, total requests x latency /
configured concurrency)``, where the configured concurrency is the accounts in flight
across the hub: ``concurrency`` per shard run times the shard runs that can run at once
(each worker runs ``SHARD_SLOTS`` of them; ``--limit`` is one more, for a waiting
sync-all). The first term is what one account cannot beat; the second is what the
concurrency allows against the channels' latency.

Per-account costs (CPU of the sync process, PostgreSQL and the sandboxes, requests,
orders) are measured separately on a slice of accounts synced in-process, and give the
10,000-account extrapolation.
"""

from __future__ import annotations

import base64
import json
import math
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import requests as http
import sqlalchemy as sa

from bench.databases import DEFAULT_POSTGRES_URL, fresh_database
from bench.sandbox import ROOT, SandboxProcess

BIN = Path(sys.executable).parent
CHANNELS = {"shopee": 10.0, "woocommerce": 5.0}  # the budgets the connectors declare (requests/s per account)
LATENCY_MS = 100
HISTORY_DAYS = 14
SHOP_ORDERS = 51  # seeded over 45 days: ~20 of them changed in the last 14
SHARD_SLOTS = 2  # shard runs per worker at once (each about one core)
SCHEDULE_AHEAD_SECONDS = 8.0  # within the worker's prefetch (10 s), as for a schedule


def measure(accounts: int, *, concurrency: int, configs: tuple[tuple[int, int], ...] = ((1, SHARD_SLOTS), (2, SHARD_SLOTS)),
            postgres_url: str = DEFAULT_POSTGRES_URL, per_account_sample: int = 200, log: Any = print) -> dict[str, Any]:
    """One sync-all of ``accounts`` fresh accounts per (workers, shard slots per worker),
    plus per-account costs."""
    out: dict[str, Any] = {"accounts": accounts, "concurrency": concurrency, "latency_ms": LATENCY_MS, "budgets_per_s": CHANNELS,
                           "orders_per_shop_seeded": SHOP_ORDERS, "history_days": HISTORY_DAYS, "runs": []}
    with ExitStack() as stack:
        sandboxes = {ch: stack.enter_context(SandboxProcess(ch, orders=SHOP_ORDERS, seed=7, shops=True)) for ch in CHANNELS}
        for channel, sandbox in sandboxes.items():
            sandbox.faults(latency_ms=LATENCY_MS, max_rps=CHANNELS[channel], retry_after=None)
        master_key = base64.b64encode(os.urandom(32)).decode()
        server = stack.enter_context(prefect_server(postgres_url, master_key, log=log))
        first_shop = 0
        for n, slots in configs:
            shard_size = -(-accounts // (n * slots))
            db = stack.enter_context(fresh_database("postgresql", postgres_url))
            ids = _add_accounts(db.url, master_key, sandboxes, first_shop, accounts)
            first_shop += accounts
            before = {ch: sb.stats()["by_status"] for ch, sb in sandboxes.items()}
            run = _one_sync_all(server, db.url, n, slots, shard_size=shard_size, concurrency=concurrency, log=log)
            after = {ch: sb.stats()["by_status"] for ch, sb in sandboxes.items()}
            row = {**run, **_bound(db.url, ids, before, after, n, slots, shard_size=shard_size, concurrency=concurrency, accounts=accounts)}
            row["ratio"] = round(row["wall_seconds"] / row["bound_seconds"], 3)
            out["runs"].append(row)
            log(f"  {n} worker(s) x {slots} shard slot(s), shards of {shard_size}: {row['wall_seconds']:.1f} s for {row['completed']}/{accounts} accounts, {row['orders']} orders, "
                f"{row['requests_ok']} requests (+{row['requests_429']} x 429); bound {row['bound_seconds']:.1f} s "
                f"(concurrency {row['configured_concurrency']}); ratio {row['ratio']:.2f}; machine CPU busy {row['machine_cpu_busy']:.0%}")
        stack.close()
        out["per_account"] = per_account_costs(per_account_sample, concurrency, postgres_url, log=log)
    out["extrapolation_10k"] = extrapolate(out, 10_000)
    return out


# -- the real thing: server, workers, one scheduled run ------------------------------------
@contextmanager
def prefect_server(postgres_url: str, master_key: str, *, log: Any = print) -> Iterator[dict[str, Any]]:
    """``prefect server start`` on a new PostgreSQL database, set up and deployed."""
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    name = f"bench_prefect_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    home = Path(tempfile.mkdtemp(prefix="simpul-bench-prefect-"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    db_url = sa.engine.make_url(postgres_url).set(database=name, drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SIMPUL_"))}
    env.update(PREFECT_HOME=str(home), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    server_env = dict(env, PREFECT_SERVER_DATABASE_CONNECTION_URL=db_url, PREFECT_SERVER_API_HOST="127.0.0.1", PREFECT_SERVER_API_PORT=str(port),
                      PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false", PREFECT_SERVER_LOGGING_LEVEL="WARNING")
    client_env = dict(env, PREFECT_API_URL=f"{url}/api", SIMPUL_MASTER_KEY=master_key, SIMPUL_PROJECT_DIR=str(ROOT),
                      PREFECT_WORKER_QUERY_SECONDS="1")  # shard runs are created on demand: pick them up within a second
    log_file = open(home / "server.log", "wb")
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start"], env=server_env, stdout=log_file, stderr=subprocess.STDOUT, cwd=home)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if http.get(f"{url}/api/health", timeout=2).ok:
                    break
            except http.RequestException:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((home / "server.log").read_text()[-3000:])
            time.sleep(0.5)
        for command in ([str(BIN / "simpul"), "prefect", "setup", "--database-slots", "80"], [str(BIN / "prefect"), "--no-prompt", "deploy", "--all"]):
            done = subprocess.run(command, env=client_env, cwd=ROOT, capture_output=True, text=True, timeout=300)
            if done.returncode:
                raise RuntimeError(f"{command[1:3]}: {done.stdout[-1500:]}{done.stderr[-1500:]}")
        log(f"  prefect server on {url} (PostgreSQL), set up and deployed")
        yield {"url": url, "env": client_env, "home": home}
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log_file.close()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
        shutil.rmtree(home, ignore_errors=True)


def _one_sync_all(server: dict[str, Any], hub_url: str, n_workers: int, slots: int, *, shard_size: int, concurrency: int, log: Any) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.states import Scheduled

    env = dict(server["env"], SIMPUL_DATABASE_URL=hub_url)
    procs = []
    for i in range(n_workers):
        out = open(server["home"] / f"worker-{n_workers}-{i}.log", "wb")
        procs.append((subprocess.Popen([str(BIN / "simpul"), "prefect", "worker", "--pool", "simpul", "--limit", str(slots + 1), "--", "--name", f"w{n_workers}-{i}"],
                                       env=env, stdout=out, stderr=subprocess.STDOUT, cwd=server["home"]), out))
    try:
        for proc, out in procs:
            path = Path(out.name)
            while b"started!" not in path.read_bytes():
                if proc.poll() is not None:
                    raise RuntimeError(path.read_text()[-2000:])
                time.sleep(0.2)
        with temporary_settings(updates={PREFECT_API_URL: server["env"]["PREFECT_API_URL"]}), get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name("sync-all/every-5-minutes")
            at = datetime.now(timezone.utc) + timedelta(seconds=SCHEDULE_AHEAD_SECONDS)
            created = time.perf_counter()
            run = client.create_flow_run_from_deployment(deployment.id, parameters={"shard_size": shard_size, "concurrency": concurrency}, state=Scheduled(scheduled_time=at))
            time.sleep(max(0.0, (at - datetime.now(timezone.utc)).total_seconds()))
            cpu0, load0 = _cpu_times(), os.getloadavg()[0]
            while True:
                run = client.read_flow_run(run.id)
                if run.state.is_final():
                    break
                time.sleep(0.2)
            busy = _busy(cpu0, _cpu_times())
            from_creation = time.perf_counter() - created
            wall = (run.end_time - at).total_seconds()
            shards = client.read_flow_runs(flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run.id])))
            shard_spans = [(s.start_time, s.end_time) for s in shards if s.start_time and s.end_time]
            on_worker = {}
            for proc, out in procs:
                text = Path(out.name).read_text(errors="replace")
                on_worker[Path(out.name).stem] = sum(f"submitting flow run '{s.id}'" in text for s in shards)
    finally:
        for proc, out in procs:
            proc.terminate()
        for proc, out in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
            out.close()
    first = min((a for a, _ in shard_spans), default=None)
    last = max((b for _, b in shard_spans), default=None)
    return {
        "workers": n_workers,
        "state": run.state.name,
        "wall_seconds": round(wall, 2),
        "seconds_from_creation": round(from_creation, 2),
        "started_late_seconds": round((run.start_time - at).total_seconds(), 2) if run.start_time else None,
        "shard_runs": len(shards),
        "shard_runs_per_worker": on_worker,
        "shard_phase_seconds": round((last - first).total_seconds(), 2) if first and last else None,
        "machine_cpu_busy": round(busy, 3),
        "load_average_1min_before_after": [round(load0, 2), round(os.getloadavg()[0], 2)],
    }


def _bound(hub_url: str, ids: list[str], before: dict, after: dict, n_workers: int, slots: int, *, shard_size: int, concurrency: int, accounts: int) -> dict[str, Any]:
    engine = sa.create_engine(hub_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT r.account_id, a.channel, r.status, r.counts FROM sync_run r JOIN account a ON a.id = r.account_id")).all()
    engine.dispose()
    per_account = [(channel, json.loads(counts or "{}")) for _, channel, _, counts in rows]
    requests_ok = sum(int(after[ch].get("200", 0)) - int(before[ch].get("200", 0)) for ch in CHANNELS)
    requests_429 = sum(int(after[ch].get("429", 0)) - int(before[ch].get("429", 0)) for ch in CHANNELS)
    slowest = max((c.get("requests", 0) / CHANNELS[ch] for ch, c in per_account), default=0.0)
    shards = -(-accounts // shard_size)
    in_flight = concurrency * min(shards, n_workers * slots)
    latency_bound = requests_ok * LATENCY_MS / 1000.0 / in_flight
    return {
        "shard_size": shard_size,
        "shard_slots_per_worker": slots,
        "completed": sum(status == "completed" for _, _, status, _ in rows),
        "orders": sum(c.get("new", 0) for _, c in per_account),
        "requests_ok": requests_ok,
        "requests_429": requests_429,
        "configured_concurrency": in_flight,
        "slowest_account_bound_seconds": round(slowest, 2),
        "latency_bound_seconds": round(latency_bound, 2),
        "bound_seconds": round(max(slowest, latency_bound), 2),
    }


def _add_accounts(hub_url: str, master_key: str, sandboxes: dict[str, SandboxProcess], first_shop: int, accounts: int) -> list[str]:
    from simpul.runtime import open_hub
    from simpul.vault import KeyRing

    os.environ["SIMPUL_MASTER_KEY"] = master_key
    hub = open_hub(hub_url, actor="bench", keyring=KeyRing.load())
    ids = []
    half = accounts // 2
    for channel, count in zip(CHANNELS, (accounts - half, half)):
        for i, (url, creds) in enumerate(sandboxes[channel].shops(first_shop, count)):
            account = f"{channel[:4]}-{first_shop + i:05d}"
            hub.accounts.add(account, channel, account, url, creds, history_days=HISTORY_DAYS)
            ids.append(account)
    hub.close()
    return ids


# -- per-account costs, in-process (no Prefect) ---------------------------------------------
def per_account_costs(accounts: int, concurrency: int, postgres_url: str, *, log: Any = print) -> dict[str, Any]:
    """CPU per synced account in the sync process, PostgreSQL and the sandboxes, on a slice
    synced in this process with ``Runner.run_all`` (what a shard run does)."""
    from simpul.engine import SyncRequest
    from simpul.runner import Runner
    from simpul.runtime import open_hub
    from simpul.vault import KeyRing

    with ExitStack() as stack:
        sandboxes = {ch: stack.enter_context(SandboxProcess(ch, orders=SHOP_ORDERS, seed=9, shops=True)) for ch in CHANNELS}
        for channel, sandbox in sandboxes.items():
            sandbox.faults(latency_ms=LATENCY_MS, max_rps=CHANNELS[channel], retry_after=None)
        db = stack.enter_context(fresh_database("postgresql", postgres_url))
        master_key = base64.b64encode(os.urandom(32)).decode()
        ids = _add_accounts(db.url, master_key, sandboxes, 0, accounts)
        hub = open_hub(db.url, actor="bench", keyring=KeyRing.load(), pool_size=2 * concurrency + 2)
        pg0, sb0 = _pg_cpu(), {ch: _proc_cpu(sb._proc.pid) for ch, sb in sandboxes.items()}
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        summaries = Runner(hub.engine).run_all([SyncRequest(a) for a in ids], concurrency=concurrency)
        wall = time.perf_counter() - started
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        pg = _pg_cpu() - pg0
        sandbox_cpu = sum(_proc_cpu(sb._proc.pid) - sb0[ch] for ch, sb in sandboxes.items())
        requests = sum(sb.stats()["requests"] for sb in sandboxes.values())
        hub.close()
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    n = len(summaries)
    out = {
        "accounts": n,
        "concurrency": concurrency,
        "completed": sum(s.status == "completed" for s in summaries),
        "wall_seconds": round(wall, 2),
        "accounts_per_s": round(n / wall, 1),
        "sync_cpu_ms": round(1000 * cpu / n, 1),
        "postgres_cpu_ms": round(1000 * pg / n, 1),
        "sandbox_cpu_ms": round(1000 * sandbox_cpu / n, 1),
        "requests": round(requests / n, 2),
        "orders": round(sum(s.counts.new for s in summaries) / n, 1),
        "pages": round(sum(s.pages for s in summaries) / n, 2),
    }
    log(f"  per account ({n} in-process, {concurrency} at once): sync process {out['sync_cpu_ms']} ms CPU, PostgreSQL {out['postgres_cpu_ms']} ms, "
        f"sandbox {out['sandbox_cpu_ms']} ms; {out['requests']} requests, {out['orders']} orders; {out['accounts_per_s']} accounts/s")
    return out


def extrapolate(result: dict[str, Any], accounts: int, *, interval: float = 300.0, concurrency: int = 8) -> dict[str, Any]:
    """``accounts`` on paper, from what was measured: the seconds an account holds one
    in-flight slot in a deployed shard run (the run with the fewest shard processes per
    core, so CPU did not limit it), and the CPU an account costs (the in-process sample)."""
    per = result["per_account"]
    base = min(result["runs"], key=lambda r: r["configured_concurrency"])
    slot_seconds = base["shard_phase_seconds"] * base["configured_concurrency"] / result["accounts"]
    usable = interval * 0.8  # room for the shards' start (~5-10 s) and the slowest account
    in_flight = math.ceil(accounts * slot_seconds / usable)
    processes = math.ceil(in_flight / concurrency)
    process_rate = concurrency / slot_seconds  # accounts/s of one shard process at that concurrency
    return {
        "accounts": accounts,
        "interval_seconds": interval,
        "seconds_per_account_slot": round(slot_seconds, 3),
        "latency_seconds_per_account": round(per["requests"] * LATENCY_MS / 1000, 3),
        "requests": round(per["requests"] * accounts),
        "accounts_in_flight_needed": in_flight,
        "shard_processes_needed": processes,
        "concurrency_per_shard": concurrency,
        "core_share_per_shard_process": round(process_rate * per["sync_cpu_ms"] / 1000, 2),
        "db_slots_needed": in_flight * 2,
        "sync_cpu_seconds": round(per["sync_cpu_ms"] * accounts / 1000),
        "postgres_cpu_seconds": round(per["postgres_cpu_ms"] * accounts / 1000),
        "postgres_cores_over_the_interval": round(per["postgres_cpu_ms"] * accounts / 1000 / usable, 2),
        "flow_runs_per_schedule_at_shard_size_250": 1 + math.ceil(accounts / 250),
    }


# -- machine probes -------------------------------------------------------------------------
def _cpu_times() -> tuple[float, float]:
    fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields), idle


def _busy(a: tuple[float, float], b: tuple[float, float]) -> float:
    total, idle = b[0] - a[0], b[1] - a[1]
    return 0.0 if total <= 0 else 1.0 - idle / total


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pg_cpu() -> float:
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "(postgres)" in text or "(postmaster)" in text:
            fields = text.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
