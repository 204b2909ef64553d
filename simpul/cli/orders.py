"""``simpul orders``: stored orders, as a list or one order in full (``orders show``).

The table shows the newest 50 by default and says so ("50 of 530 shown"); ``--json``
returns every order unless ``--limit`` is given, since a script reading it cannot see a
cut. Buyer contacts never appear here (not even sealed); channel text is escaped.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from simpul.cli.common import EXIT_FAILED, EXIT_OK, UsageError, bounded_int, cell, print_table, printable

TABLE_LIMIT = 50
LIST_COLUMNS = ["account_id", "external_id", "status", "payment_status", "fulfillment_status", "raw_status", "currency", "total", "is_cod", "updated_at"]


def cmd_orders(args: argparse.Namespace) -> int:
    from simpul.runtime import open_hub

    hub = open_hub(actor="cli:orders")
    try:
        with hub.db.connect() as conn:
            if args.orders_cmd == "show":
                return show(conn, args)
            return list_orders(conn, args)
    finally:
        hub.close()


def list_orders(conn, args: argparse.Namespace) -> int:  # noqa: ANN001
    import sqlalchemy as sa

    from simpul.model import Order

    orders = Order.__table__
    where = [orders.c.account_id == args.account] if args.account else []
    limit = args.limit if args.limit is not None else (0 if args.json else TABLE_LIMIT)
    query = sa.select(*(orders.c[c] for c in LIST_COLUMNS)).where(*where).order_by(orders.c.account_id, orders.c.updated_at.desc(), orders.c.external_id)
    if limit:
        query = query.limit(limit)
    rows = [_plain(dict(r)) for r in conn.execute(query).mappings()]
    total = len(rows) if not limit or len(rows) < limit else conn.execute(sa.select(sa.func.count()).select_from(orders).where(*where)).scalar_one()
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
    else:
        print_table([{**r, "account": r.pop("account_id"), "order": r.pop("external_id")} for r in rows],
                    ["account", "order", "status", "payment_status", "fulfillment_status", "raw_status", "currency", "total", "is_cod", "updated_at"])
    if len(rows) < total:
        print(f"{len(rows)} of {total} shown (--limit 0: all)", file=sys.stderr)
    return EXIT_OK


def show(conn, args: argparse.Namespace) -> int:  # noqa: ANN001
    """One order: header, lines, shipments (airway bill, tracking), returns, the
    marketplace's payout (settlement), quarantine."""
    import sqlalchemy as sa

    from simpul.model import Order, OrderLine, Quarantine, Return, Settlement, Shipment

    orders = Order.__table__
    found = conn.execute(sa.select(orders.c.account_id).where(orders.c.external_id == args.order, *([orders.c.account_id == args.account] if args.account else []))).scalars().all()
    quarantine = Quarantine.__table__
    held = conn.execute(
        sa.select(quarantine).where(quarantine.c.external_id == args.order, *([quarantine.c.account_id == args.account] if args.account else [])).order_by(quarantine.c.id)
    ).mappings().all()
    accounts = sorted(set(found) | {q["account_id"] for q in held})
    if not accounts:
        print(printable(f"simpul: no order {args.order!r}{f' in account {args.account!r}' if args.account else ''}"), file=sys.stderr)
        return EXIT_FAILED
    if len(accounts) > 1:
        raise UsageError(printable(f"order {args.order!r} exists in several accounts ({', '.join(accounts)}): add --account"))
    account = accounts[0]

    def rows(table: sa.Table, key: str = "order_external_id", order_by: str = "id") -> list[dict[str, Any]]:
        query = sa.select(table).where(table.c.account_id == account, table.c[key] == args.order).order_by(table.c[order_by])
        return [_plain(dict(r)) for r in conn.execute(query).mappings()]

    header = rows(orders, "external_id")
    doc = {
        "order": _header(header[0]) if header else None,
        "lines": [_pick(r, "external_line_id", "sku", "name", "quantity", "unit_price", "discount", "total", "item_id", "variant_id") for r in rows(OrderLine.__table__)],
        "shipments": [
            _pick(r, "package_ref", "courier", "service", "tracking_number", "tracking_status", "tracking_sub_status", "raw_status", "last_event_at", "cod_collected")
            for r in rows(Shipment.__table__)
        ],
        "returns": [
            _pick(r, "external_id", "type", "status", "raw_status", "reason", "refund_amount", "return_shipping_cost", "created_at") for r in rows(Return.__table__)
        ],
        "settlement": [_pick(r, *SETTLEMENT_COLUMNS) for r in rows(Settlement.__table__)],
        "quarantine": [
            {"id": q["id"], "reason": q["reason"], "attempts": q["attempts"], "first_seen_at": q["first_seen_at"], "last_seen_at": q["last_seen_at"], "resolved_at": q["resolved_at"]}
            for q in (r for r in held if r["account_id"] == account)
        ],
    }
    if args.json:
        print(json.dumps({"account": account, "external_id": args.order, **doc}, default=str, indent=2))
        return EXIT_OK
    print(printable(f"order {args.order}  (account {account})"))
    if doc["order"] is None:
        print("  not stored: every payload of it was quarantined (below)")
    else:
        width = max(map(len, doc["order"]))
        for name, value in doc["order"].items():
            print(f"  {name.ljust(width)}  {cell(value)}")
    for title, items, columns in (
        ("lines", doc["lines"], ["external_line_id", "sku", "name", "quantity", "unit_price", "discount", "total"]),
        ("shipments", doc["shipments"], ["package_ref", "courier", "service", "tracking_number", "tracking_status", "tracking_sub_status", "raw_status", "last_event_at", "cod_collected"]),
        ("returns", doc["returns"], ["external_id", "type", "status", "raw_status", "reason", "refund_amount", "return_shipping_cost", "created_at"]),
        ("settlement", doc["settlement"], list(SETTLEMENT_COLUMNS)),
        ("quarantine", doc["quarantine"], ["id", "reason", "attempts", "last_seen_at", "resolved_at"]),
    ):
        print(f"\n{title}")
        print_table([{**r, "tracking_number": r.get("tracking_number") or "(no airway bill yet)"} if title == "shipments" else r for r in items], columns)
    return EXIT_OK


SETTLEMENT_COLUMNS = ("payout_amount", "expected_amount", "released_at", "commission_fee", "service_fee", "transaction_fee", "shipping_fee_actual", "adjustment_amount")


def _header(row: dict[str, Any]) -> dict[str, Any]:
    """The order's own columns, without buyer contact or notes (they may hold buyer data)."""
    return _pick(
        row, "channel", "status", "payment_status", "fulfillment_status", "raw_status", "created_at", "paid_at", "updated_at", "ship_by",
        "currency", "subtotal", "discount_total", "shipping_fee", "shipping_fee_actual", "tax_total", "total", "payment_method", "is_cod",
        "cod_amount", "source_zone", "mapping_version", "written_at", "pii_purged_at",
    )


def _pick(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {n: row.get(n) for n in names}


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: getattr(v, "value", v) for k, v in row.items()}


def register(sub, channels: list[str]) -> None:  # noqa: ANN001 - argparse's private subparsers type
    p = sub.add_parser("orders", help="list stored orders, or show one in full (`orders show ORDER`)")
    p.add_argument("--account")
    p.add_argument("--limit", type=bounded_int(0), help=f"at most this many (0: all; default {TABLE_LIMIT} in the table, all with --json)")
    p.add_argument("--json", action="store_true")
    osub = p.add_subparsers(dest="orders_cmd", metavar="show")
    s = osub.add_parser("show", help="one order: header, lines, shipments (airway bill, tracking), returns, the marketplace payout, quarantine reasons, raw status")
    s.add_argument("order", metavar="ORDER", help="the channel's order number")
    # SUPPRESS: a subcommand's defaults would overwrite `orders --account A show ...`
    s.add_argument("--account", default=argparse.SUPPRESS, help="needed when the number exists in several accounts")
    s.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_orders, orders_cmd=None)
