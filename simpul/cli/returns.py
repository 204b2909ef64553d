"""``simpul returns``: returns, refunds and cancellations as one list, and what the goods become.

- ``returns [--waiting] [--account A] [--json]`` lists returns, newest first; ``--waiting``
  keeps the ones waiting on the seller (an answer, soonest platform deadline first; then
  goods coming back with no disposition yet): ``simpul.returns.waiting``.
- ``returns show RETURN`` shows one return with its items and dispositions.
- ``returns receive RETURN [--item SKU=DISPOSITION[:QTY] ...] [--by NAME]`` records what the
  returned goods become (restock, refurbish, write_off, dispute); items not named follow
  the seller's rule table (``returns rules``), and a rule that says ``inspect`` needs them named.
- ``returns rules`` prints the rule table; ``returns rules set TYPE REASON DISPOSITION``
  changes one rule (``*`` matches any type or reason).

RETURN is ``ORDER/RETURN_ID``, or ``RETURN_ID`` where that is unique (``--account`` narrows it).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from typing import Any

from simpul.cli.common import EXIT_OK, UsageError, cell, print_table, printable

LIST_COLUMNS = ["account", "order", "return", "type", "status", "raw_status", "reason_code", "refund_amount", "respond_by", "updated_at"]
WAITING_COLUMNS = ["waiting_for", "respond_by", "account", "order", "return", "type", "status", "reason_code", "refund_amount"]
TABLE_LIMIT = 50


def cmd_returns(args: argparse.Namespace) -> int:
    from simpul import returns
    from simpul.runtime import open_hub

    hub = open_hub(actor=f"cli:{getattr(args, 'by', None) or 'returns'}")
    try:
        sub = getattr(args, "returns_cmd", None)
        if sub == "rules":
            return _rules(hub, args)
        with hub.db.connect() as conn:
            if sub == "show":
                return _show(conn, args)
            if sub == "receive":
                ret = _find(conn, args)
        if sub == "receive":
            return _receive(hub, ret, args)
        with hub.db.connect() as conn:
            rows = returns.waiting(conn, args.account) if args.waiting else _all(conn, args.account)
    finally:
        hub.close()
    rows = [_row(r) for r in rows]
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
        return EXIT_OK
    shown = rows if args.waiting else rows[:TABLE_LIMIT]
    print_table(shown, WAITING_COLUMNS if args.waiting else LIST_COLUMNS)
    if len(shown) < len(rows):
        print(f"{len(shown)} of {len(rows)} shown (--json: all)", file=sys.stderr)
    if args.waiting:
        answers = sum(r["waiting_for"] == "answer" for r in rows)
        print(f"{answers} waiting for an answer, {len(rows) - answers} for a disposition", file=sys.stderr)
    return EXIT_OK


def _all(conn, account: str | None) -> list[dict[str, Any]]:  # noqa: ANN001
    import sqlalchemy as sa

    from simpul.model import Return

    table = Return.__table__
    query = sa.select(table).order_by(table.c.updated_at.desc().nulls_last(), table.c.created_at.desc().nulls_last(), table.c.id.desc())
    if account:
        query = query.where(table.c.account_id == account)
    return [dict(r) for r in conn.execute(query).mappings()]


def _row(r: dict[str, Any]) -> dict[str, Any]:
    out = {"account": r["account_id"], "order": r["order_external_id"], "return": r["external_id"]}
    for key, value in r.items():
        if key not in ("id", "account_id", "order_external_id", "external_id", "payload_hash", "mapping_version"):
            out[key] = getattr(value, "value", value)
    return out


def _find(conn, args: argparse.Namespace) -> dict[str, Any]:  # noqa: ANN001
    from simpul import returns

    try:
        return dict(returns.find(conn, args.ret, args.account))
    except returns.ReturnError as exc:
        raise UsageError(str(exc)) from None


def _show(conn, args: argparse.Namespace) -> int:  # noqa: ANN001
    from simpul import returns

    ret = _find(conn, args)
    done = [dict(d) for d in returns.dispositions(conn, ret)]
    if args.json:
        print(json.dumps({**_row(ret), "dispositions": done}, default=str, indent=2))
        return EXIT_OK
    row = _row(ret)
    items = row.pop("items") or []
    for key, value in row.items():
        print(f"{key:>18}  {printable(cell(value))}")
    print("\nitems:")
    print_table([{k: i.get(k) for k in ("sku", "line_id", "name", "quantity", "refund")} for i in items if isinstance(i, dict)])
    print("\ndispositions:")
    print_table(done, ["sku", "quantity", "disposition", "restock_quantity", "loss", "rule", "decided_by", "decided_at"])
    return EXIT_OK


def _receive(hub, ret: dict[str, Any], args: argparse.Namespace) -> int:  # noqa: ANN001
    from simpul import returns

    named: dict[str, str] = {}
    for text in args.item or []:
        sku, sep, what = text.partition("=")
        if not sep or not sku.strip() or not what.strip():
            raise UsageError(f"--item {text!r}: expected SKU=DISPOSITION or SKU=DISPOSITION:QUANTITY")
        named[sku.strip()] = what.strip()
    now = datetime.now(timezone.utc)
    with hub.db.begin() as conn:
        try:
            items = returns.plan_receipt(conn, ret, named)
        except returns.ReturnError as exc:
            raise UsageError(str(exc)) from None
        rows = returns.receive(conn, ret, items, actor=args.by or "cli", now=now)
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
    else:
        print_table(rows, ["sku", "quantity", "disposition", "restock_quantity", "loss", "rule"])
        restock = sum(r["restock_quantity"] for r in rows)
        print(f"return {ret['order_external_id']}/{ret['external_id']}: {len(rows)} item(s) recorded, {restock} unit(s) to restock", file=sys.stderr)
    return EXIT_OK


def _rules(hub, args: argparse.Namespace) -> int:  # noqa: ANN001
    from simpul import returns

    if args.rules_cmd == "set":
        with hub.db.begin() as conn:
            try:
                returns.set_rule(conn, args.type, args.reason, args.disposition, actor=args.by or "cli", now=datetime.now(timezone.utc))
            except returns.ReturnError as exc:
                raise UsageError(str(exc)) from None
    with hub.db.connect() as conn:
        table = returns.rules(conn)
    rows = [{"type": t, "reason": r, "disposition": d} for (t, r), d in sorted(table.items(), key=lambda kv: (kv[0][0] == "*", kv[0]))]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print_table(rows, ["type", "reason", "disposition"])
    return EXIT_OK


def register(sub: argparse._SubParsersAction, channels: list[str]) -> None:
    p = sub.add_parser("returns", help="returns, refunds and cancellations; what waits on the seller; what the goods become")
    p.add_argument("--waiting", action="store_true", help="only returns waiting on the seller: an answer (soonest deadline first), then a disposition")
    p.add_argument("--account", help="only this account")
    p.add_argument("--json", action="store_true", help="print every return as JSON")
    p.set_defaults(func=cmd_returns, returns_cmd=None)
    more = p.add_subparsers(dest="returns_cmd", metavar="{show,receive,rules}")

    show = more.add_parser("show", help="one return with its items and dispositions")
    show.add_argument("ret", metavar="RETURN", help="ORDER/RETURN_ID, or RETURN_ID when unique")
    show.add_argument("--account", help="the account, when the return id is in several")
    show.add_argument("--json", action="store_true")

    receive = more.add_parser("receive", help="record what the returned goods become (audited)")
    receive.add_argument("ret", metavar="RETURN", help="ORDER/RETURN_ID, or RETURN_ID when unique")
    receive.add_argument("--item", action="append", metavar="SKU=DISPOSITION[:QTY]", help="restock, refurbish, write_off or dispute; items not named follow the rules")
    receive.add_argument("--by", help="who received the goods (recorded and audited)")
    receive.add_argument("--account", help="the account, when the return id is in several")
    receive.add_argument("--json", action="store_true")

    rules = more.add_parser("rules", help="the disposition rule table (by return type and reason)")
    rules.add_argument("--json", action="store_true")
    rules.set_defaults(rules_cmd=None)
    rules_more = rules.add_subparsers(dest="rules_cmd", metavar="{set}")
    set_rule = rules_more.add_parser("set", help="set one rule: TYPE REASON DISPOSITION (* matches any)")
    set_rule.add_argument("type", help="buyer_return, return_to_sender, cancellation, refund, unknown or *")
    set_rule.add_argument("reason", help="damaged, wrong_item, not_as_described, size_fit, changed_mind, failed_delivery, other, unknown or *")
    set_rule.add_argument("disposition", help="restock, refurbish, write_off, dispute or inspect (a person decides)")
    set_rule.add_argument("--by", help="who changed the rule (audited)")
    set_rule.add_argument("--json", action="store_true")
