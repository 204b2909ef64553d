"""``simpul pii purge``: buyer data retention."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from simpul.cli.common import EXIT_OK, bounded_int


def cmd_pii(args: argparse.Namespace) -> int:
    from simpul import pii
    from simpul.runtime import open_hub

    hub = open_hub(actor="cli:pii")
    try:
        days = pii.DEFAULT_RETENTION_DAYS if args.retention_days is None else args.retention_days
        result = pii.purge(hub.db, now=datetime.now(timezone.utc), retention_days=days, actor="cli:pii")
    finally:
        hub.close()
    print(f"buyer data removed from {result.orders} finished orders last changed before {result.cutoff:%Y-%m-%d %H:%M} UTC ({result.raw_payloads} raw payloads deleted)")
    return EXIT_OK


def register(sub, channels: list[str]) -> None:  # noqa: ANN001 - argparse's private subparsers type
    p = sub.add_parser("pii", help="buyer data retention")
    asub = p.add_subparsers(dest="pii_cmd", required=True, metavar="ACTION")
    k = asub.add_parser("purge", help="remove buyer data from finished orders older than the retention period")
    k.add_argument("--retention-days", type=bounded_int(0, 36_500), help="days after an order's last change (0 to 36,500; default: the purge-pii flow's, 365)")
    p.set_defaults(func=cmd_pii)
