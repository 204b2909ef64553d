"""``simpul orders``: stored orders."""

from __future__ import annotations

import argparse
import json

from simpul.cli.common import EXIT_OK, print_table


def cmd_orders(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from simpul.model import Order
    from simpul.runtime import open_hub

    hub = open_hub()
    orders = Order.__table__
    columns = ["account_id", "external_id", "status", "payment_status", "fulfillment_status", "raw_status", "currency", "total", "is_cod", "updated_at"]
    query = sa.select(*(orders.c[c] for c in columns)).order_by(orders.c.account_id, orders.c.updated_at.desc())
    if args.account:
        query = query.where(orders.c.account_id == args.account)
    if args.limit:
        query = query.limit(args.limit)
    with hub.db.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    hub.close()
    for row in rows:
        for key in ("status", "payment_status", "fulfillment_status"):
            row[key] = getattr(row[key], "value", row[key])
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
    else:
        print_table([{**r, "account": r.pop("account_id"), "order": r.pop("external_id")} for r in rows],
                    ["account", "order", "status", "payment_status", "fulfillment_status", "raw_status", "currency", "total", "is_cod", "updated_at"])
    return EXIT_OK


def register(sub, channels: list[str]) -> None:  # noqa: ANN001 - argparse's private subparsers type
    p = sub.add_parser("orders", help="list stored orders")
    p.add_argument("--account")
    p.add_argument("--limit", type=int, default=50, help="at most this many (0: all; default 50)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_orders)
