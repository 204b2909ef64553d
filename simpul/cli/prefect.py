"""``simpul prefect``: set up a Prefect server for Simpul, and run a worker that stops.

``simpul prefect setup`` (once per Prefect server; safe to repeat) creates the process
work pool ``simpul`` and the ``simpul-database`` global concurrency limit that every sync
run takes its database slots from (``flows._limits``). A run refuses to start while the
limit is missing (it is acquired with ``strict=True``), because a missing limit would
otherwise limit nothing.

``simpul prefect worker`` runs ``prefect worker start --pool simpul`` and makes it stop
when told to. Prefect 3.9's process worker turns SIGTERM into SIGINT to itself and then
waits for the flow runs it started, however long they take (measured: still running 45 s
later; even with no run in flight it did not exit within a minute, and only a second
SIGTERM, which makes it SIGKILL itself, ends it). Its flow runs live in their own
session, so nothing reaches them. On SIGTERM or SIGINT this command:

1. sends SIGTERM to the worker's flow-run processes: Prefect's engine turns it into a
   Crashed state, and Simpul's runner stops each account before its next step (a page is
   one transaction, so nothing half-written stays), so the next run resumes them from
   their last committed page;
2. once they are gone, passes SIGTERM to the worker, and a second one (Prefect's own way
   to end it) if it is still there after a moment;
3. kills whatever is left after ``--grace`` seconds.

It exits 0 when everything stopped within the grace period, 1 when it had to kill.
Set ``--grace`` below your supervisor's own (Kubernetes: 30 s, ``docker stop``: 10 s).
Flow-run processes are found through ``/proc`` (Linux, where workers run).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from simpul.cli.common import EXIT_FAILED, EXIT_OK, UsageError

DEFAULT_POOL = "simpul"
DEFAULT_GRACE_SECONDS = 25.0
SETTLE_SECONDS = 2.0  # after the last flow run exits, before the worker's second SIGTERM


def cmd_setup(args: argparse.Namespace) -> int:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    from flows._limits import DATABASE_LIMIT, ensure_database_limit

    if not os.environ.get("PREFECT_API_URL"):
        from prefect.settings import PREFECT_API_URL

        if not PREFECT_API_URL.value():
            raise UsageError("PREFECT_API_URL is not set: point it at your Prefect server (setup is for a server, not the ephemeral API)")
    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(name=args.pool, type="process"))
            print(f"work pool {args.pool!r}: created (process)")
        except ObjectAlreadyExists:
            print(f"work pool {args.pool!r}: exists")
        if args.database_slots is not None:
            client.upsert_global_concurrency_limit_by_name(DATABASE_LIMIT, args.database_slots)
            print(f"concurrency limit {DATABASE_LIMIT!r}: {args.database_slots} slot(s)")
            return EXIT_OK
    slots, created = ensure_database_limit()
    print(f"concurrency limit {DATABASE_LIMIT!r}: {'created with' if created else 'exists,'} {slots} slot(s)")
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 2:
        raise UsageError("--limit must be 2 or more: a sync-all run waiting for its shards holds one slot, and its shards need another")
    extra = list(args.prefect_args or [])
    if extra and extra[0] == "--":
        extra = extra[1:]
    command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", args.pool, *extra]
    if args.limit is not None:
        command += ["--limit", str(args.limit)]
    worker = subprocess.Popen(command)
    asked: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        asked.append(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    while worker.poll() is None and not asked:
        time.sleep(0.2)
    if not asked:
        return worker.returncode
    return stop_worker(worker, grace=args.grace)


def stop_worker(worker: subprocess.Popen, *, grace: float, log=None) -> int:  # noqa: ANN001
    """Stop ``worker`` and its flow runs (see the module docstring); 0 if nothing had to be killed."""
    log = log or (lambda text: print(f"simpul prefect worker: {text}", file=sys.stderr, flush=True))
    deadline = time.monotonic() + grace
    told: set[int] = set()
    # 1. The flow runs first, while the worker still streams their output: each reports
    #    Crashed and exits. (Stopping the worker first tears down its side of their pipes
    #    and signals them again mid-report; their runs then stayed Running.) A run the
    #    worker starts meanwhile is told too.
    while worker.poll() is None and time.monotonic() < deadline:
        runs = flow_run_processes(worker.pid)
        if runs - told:
            log(f"stopping {len(runs - told)} flow run(s): {', '.join(map(str, sorted(runs - told)))}")
            for pid in runs - told:
                _signal(pid, signal.SIGTERM)
            told |= runs
        if not runs:
            break
        time.sleep(0.2)
    # 2. Then the worker: the first SIGTERM stops its polling; Prefect 3.9's worker may not
    #    exit on it even when idle, and ends itself on a second one.
    _signal(worker.pid, signal.SIGTERM)
    second = time.monotonic() + SETTLE_SECONDS
    while worker.poll() is None and time.monotonic() < deadline:
        late = flow_run_processes(worker.pid) - told
        for pid in late:
            _signal(pid, signal.SIGTERM)
        told |= late
        if time.monotonic() >= second and not flow_run_processes(worker.pid):
            _signal(worker.pid, signal.SIGTERM)
            second = float("inf")
        time.sleep(0.2)
    if worker.poll() is not None:
        log(f"stopped ({len(told)} flow run(s) told to stop)")
        return EXIT_OK
    left = flow_run_processes(worker.pid)
    log(f"still running after {grace:.0f} s: killing the worker and {len(left)} flow run(s)")
    for pid in left:
        _signal(pid, signal.SIGKILL)
    worker.kill()
    worker.wait()
    return EXIT_FAILED


def flow_run_processes(worker_pid: int) -> set[int]:
    """The worker's child processes (its flow runs), from /proc; empty where there is none."""
    children: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields and fields[0] != "Z" and int(fields[1]) == worker_pid:
            children.add(int(stat.parent.name))
    return children


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def register(sub, channels: list[str]) -> None:  # noqa: ANN001 - argparse's private subparsers type
    p = sub.add_parser("prefect", help="set up a Prefect server for Simpul; run a worker that stops when told")
    cmds = p.add_subparsers(dest="prefect_command", required=True, metavar="COMMAND")
    s = cmds.add_parser("setup", help="create the work pool and the simpul-database concurrency limit (idempotent)")
    s.add_argument("--pool", default=DEFAULT_POOL, help=f"process work pool to create (default {DEFAULT_POOL})")
    s.add_argument("--database-slots", type=int, metavar="N", help="set the limit to N database connections (default: create with 80 if missing, else keep)")
    s.set_defaults(func=cmd_setup)
    w = cmds.add_parser(
        "worker",
        help="run a Prefect process worker that stops its flow runs and itself on SIGTERM",
        description="Runs `prefect worker start --pool POOL [ARGS]`; arguments after `--` go to it.",
    )
    w.add_argument("--pool", default=DEFAULT_POOL, help=f"work pool (default {DEFAULT_POOL})")
    w.add_argument("--limit", type=int, metavar="N", help="flow runs this worker runs at once (sync-all waiting counts as one)")
    w.add_argument("--grace", type=float, default=DEFAULT_GRACE_SECONDS, help=f"seconds to stop before killing (default {DEFAULT_GRACE_SECONDS:.0f})")
    w.add_argument("prefect_args", nargs=argparse.REMAINDER, help="more `prefect worker start` arguments, after --")
    w.set_defaults(func=cmd_worker)
