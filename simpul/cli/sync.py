"""``simpul sync``: incremental syncs and resyncs, directly or as Prefect flows."""

from __future__ import annotations

import argparse
import json
from typing import Any

from simpul.cli.common import EXIT_FAILED, EXIT_OK, UsageError, parse_time, print_table, progress_printer


def cmd_sync(args: argparse.Namespace) -> int:
    from simpul.engine import INCREMENTAL, RESYNC, SyncRequest
    from simpul.runtime import open_hub

    order_ids = tuple(i.strip() for i in (args.orders or "").split(",") if i.strip())
    since = parse_time(args.since) if args.since else None
    until = parse_time(args.until) if args.until else None
    job = RESYNC if (since or until or order_ids) else INCREMENTAL
    if job == RESYNC and not args.account:
        raise UsageError("--since/--until/--orders need an ACCOUNT")
    if until and not since and not order_ids:
        raise UsageError("--until needs --since")
    hub = open_hub(actor="cli:sync")
    try:
        accounts = [args.account] if args.account else [a.id for a in hub.accounts.list() if a.status == "active"]
        if not accounts:
            raise UsageError("no accounts; add one with `simpul accounts add`")
        for account_id in accounts:
            hub.accounts.get(account_id)  # a clear error for a typo before anything runs
        try:
            requests = [SyncRequest(a, job=job, since=since, until=until, order_ids=order_ids) for a in accounts]
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if args.direct:
            rows = sync_direct(hub, requests)
        else:
            from flows.sync_orders import run_sync_flow

            rows = run_sync_flow(requests)
    finally:
        hub.close()
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
    else:
        print_table(rows, ["account", "channel", "job", "status", "new", "changed", "unchanged", "stale", "quarantined", "pages", "requests", "seconds", "error"])
        for row in rows:
            if row.get("missing"):
                print(f"{row['account']}: not found at the channel: {', '.join(row['missing'])}")
    return EXIT_OK if all(r["status"] in ("completed", "skipped") for r in rows) else EXIT_FAILED


def sync_direct(hub, requests) -> list[dict[str, Any]]:  # noqa: ANN001
    """Run the engine in this process through the runner, without Prefect (cron, scripts,
    the fault harness): the same lock, plan, steps and run records as a flow run."""
    from simpul.runner import Runner

    return [s.as_row() for s in Runner(hub.engine).run_all(requests, on_step=progress_printer())]


def register(sub, channels: list[str]) -> None:  # noqa: ANN001 - argparse's private subparsers type
    p = sub.add_parser("sync", help="sync one account or all active accounts")
    p.add_argument("account", nargs="?", help="account id (default: every active account)")
    p.add_argument("--since", help="resync from this time (ISO-8601; no offset = UTC)")
    p.add_argument("--until", help="resync up to this time")
    p.add_argument("--orders", metavar="ID,...", help="resync these order numbers")
    p.add_argument("--direct", action="store_true", help="run the engine in this process without Prefect")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_sync)
