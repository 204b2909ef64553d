"""``simpul quarantine``: payloads that could not be mapped, and their replay."""

from __future__ import annotations

import argparse

from simpul.cli.common import EXIT_FAILED, EXIT_OK, print_table


def cmd_quarantine(args: argparse.Namespace) -> int:
    from simpul import quarantine, store
    from simpul.runtime import open_hub

    hub = open_hub(actor="cli:quarantine")
    try:
        if args.quarantine_cmd == "replay":
            result = quarantine.replay(hub.db, account_id=args.account, actor="cli:quarantine")
            print(f"replayed {result.replayed} (rows written {result.written}), still failing {result.still_failing}")
            return EXIT_OK if result.still_failing == 0 else EXIT_FAILED
        with hub.db.connect() as conn:
            rows = store.open_quarantine(conn, args.account)
        print_table([{"id": r["id"], "account": r["account_id"], "order": r["external_id"], "reason": r["reason"], "attempts": r["attempts"], "last_seen": r["last_seen_at"]} for r in rows])
        return EXIT_OK
    finally:
        hub.close()


def register(sub, channels: list[str]) -> None:  # noqa: ANN001 - argparse's private subparsers type
    p = sub.add_parser("quarantine", help="payloads that could not be mapped")
    asub = p.add_subparsers(dest="quarantine_cmd", required=True, metavar="ACTION")
    for name, text in (("list", "show open quarantine entries"), ("replay", "map them again with the current mappings")):
        q = asub.add_parser(name, help=text)
        q.add_argument("--account")
    p.set_defaults(func=cmd_quarantine)
