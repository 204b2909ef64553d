"""``simpul sync``: incremental syncs and resyncs, directly or as Prefect flows.

Without a Prefect server (no ``PREFECT_API_URL``) a sync runs the engine directly through
``simpul.runner``: the same account lock, plan, committed pages, ``sync_run`` rows and
audit entries as a flow run, in seconds. A one-shot command must not wait for a
temporary Prefect API to start (10-34 s measured on 2 cores, and under load it timed
out). With ``PREFECT_API_URL`` set, or ``--prefect``, it runs the Prefect flows so the
runs show in the UI (``simpul.prefect_api``: a temporary API is started, visibly, only
for ``--prefect`` without a server). ``--direct`` always runs directly.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from simpul.cli.common import EXIT_FAILED, EXIT_OK, UsageError, parse_time, print_table, printable, progress_printer


def cmd_sync(args: argparse.Namespace) -> int:
    from simpul.channels import ORDERS, reading
    from simpul.engine import INCREMENTAL, RESYNC, SyncRequest
    from simpul.runtime import open_hub

    order_ids = tuple(i.strip() for i in (args.orders or "").split(",") if i.strip())
    since = parse_time(args.since, option="--since") if args.since else None
    until = parse_time(args.until, option="--until") if args.until else None
    job = RESYNC if (since or until or order_ids) else INCREMENTAL
    if job == RESYNC and not args.account:
        raise UsageError("--since/--until/--orders need an ACCOUNT")
    if until and not since and not order_ids:
        raise UsageError("--until needs --since")
    if args.override_version and (not order_ids or since or until):
        raise UsageError("--override-version repairs named orders only: give --orders, without --since/--until")
    hub = open_hub(actor="cli:sync")
    try:
        if args.account:
            hub.accounts.get(args.account)  # a clear error for a typo before anything runs
            accounts = [args.account]
        else:
            listed = [a for a in hub.accounts.list() if a.channel in reading(ORDERS)]  # tracking accounts: `simpul track-sync`
            if not listed:
                raise UsageError("no accounts; add one with `simpul accounts add`")
            accounts = [a.id for a in listed if a.status == "active"]
            idle = [f"{a.id} ({a.status})" for a in listed if a.status != "active"]
            if idle:
                print(f"not synced: {printable(', '.join(idle))}; see `simpul accounts list`", file=sys.stderr)
        try:
            requests = [SyncRequest(a, job=job, since=since, until=until, order_ids=order_ids, override_version=args.override_version) for a in accounts]
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if not requests:
            rows: list[dict[str, Any]] = []
        elif uses_prefect(args):
            rows = sync_with_prefect(requests)
        else:
            rows = sync_direct(hub, requests)
    finally:
        hub.close()
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
    else:
        print_table(rows, ["account", "channel", "job", "status", "new", "changed", "unchanged", "stale", "quarantined", "returns", "settlements", "pages", "requests", "seconds", "error"])
        for row in rows:
            if row.get("missing"):
                print(printable(f"{row['account']}: not found at the channel: {', '.join(row['missing'])}"))
    return EXIT_OK if all(r["status"] in ("completed", "skipped") for r in rows) else EXIT_FAILED


def uses_prefect(args: argparse.Namespace) -> bool:
    """``--prefect``; else ``--direct``; else Prefect only when a server is configured."""
    if args.prefect or args.direct:
        return bool(args.prefect)
    from simpul.prefect_api import configured_url

    return configured_url() is not None


def sync_direct(hub, requests) -> list[dict[str, Any]]:  # noqa: ANN001
    """Run the engine in this process through the runner, without Prefect (cron, scripts,
    the fault harness): the same lock, plan, steps and run records as a flow run."""
    from simpul.runner import Runner

    return [s.as_row() for s in Runner(hub.engine).run_all(requests, on_step=progress_printer())]


def sync_with_prefect(requests) -> list[dict[str, Any]]:  # noqa: ANN001
    """The Prefect flows in this process, on the configured API or a temporary one."""
    from simpul.prefect_api import prefect_api

    with prefect_api():
        from flows.sync_orders import run_sync_flow

        return run_sync_flow(requests)


def register(sub, channels: list[str]) -> None:  # noqa: ANN001 - argparse's private subparsers type
    p = sub.add_parser("sync", help="sync one account or all active accounts")
    p.add_argument("account", nargs="?", help="account id (default: every active account)")
    p.add_argument("--since", help="resync from this time (ISO-8601; no offset = UTC)")
    p.add_argument("--until", help="resync up to this time")
    p.add_argument("--orders", metavar="ID,...", help="resync these order numbers")
    p.add_argument(
        "--override-version",
        action="store_true",
        help="with --orders: store the channel's current payload even if the stored version is newer (repairs an impossible update time; audited as order.repaired)",
    )
    how = p.add_mutually_exclusive_group()
    how.add_argument("--direct", action="store_true", help="run the engine in this process, never through Prefect")
    how.add_argument(
        "--prefect", action="store_true",
        help="run the Prefect flows (the default when PREFECT_API_URL is set); without a server, a temporary one is started first",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_sync)
