"""``simpul demo``: every channel's sandbox, seeded and synced end to end."""

from __future__ import annotations

import argparse
import sys

from simpul.cli.common import EXIT_FAILED, EXIT_OK, bounded_int, print_table


def cmd_demo(args: argparse.Namespace) -> int:
    from simpul.demo import run_demo

    rows = run_demo(orders=args.orders, seed=args.seed, direct=args.direct)
    print_table(rows, ["account", "channel", "status", "new", "changed", "unchanged", "stale", "quarantined", "returns", "settlements", "pages", "requests", "seconds"])
    print("the demo's sandboxes have stopped, so its accounts are now disabled (`simpul sync` skips them); `simpul orders` shows what was synced", file=sys.stderr)
    return EXIT_OK if all(r["status"] == "completed" for r in rows) else EXIT_FAILED


def register(sub, channels: list[str]) -> None:  # noqa: ANN001 - argparse's private subparsers type
    p = sub.add_parser("demo", help="sync seeded sandboxes of every channel end to end and print a summary")
    p.add_argument("--orders", type=bounded_int(1, 1_000_000), default=300, help="orders per sandbox (default 300)")
    p.add_argument("--seed", type=int, default=7, help="sandbox data seed (default 7)")
    p.add_argument("--direct", action="store_true", help="run the engine without Prefect")
    p.set_defaults(func=cmd_demo)
