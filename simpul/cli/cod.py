"""``simpul cod`` and ``simpul settings``: COD money and the seller settings it needs.

- ``cod remit FILE --remitter NAME`` imports a COD payout report (the CSV format in
  ``simpul.cod``: an assumption, no channel documents a payout API) and prints how its
  lines matched; a line it cannot read is reported with its line number, the rest lands
  (exit 1 when any line was bad). Importing a file again changes nothing.
- ``cod report [--month YYYY-MM] [--account A] [--json]``: COD shipped, delivered and
  collected, refused and what refusals cost, remitted vs pending vs disputed, per channel
  and courier, with what marketplaces settled (``settled``) and kept of the COD amount
  (``kept``: fees and shipping); then the orders whose payout is missing, doubled or
  another amount than expected, and payout lines that match nothing.
- ``settings`` lists the seller settings; ``settings set NAME VALUE [--account A]`` sets one
  (``packing_cost``: what packing a parcel costs, counted for each refused COD parcel).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from simpul.cli.common import EXIT_FAILED, EXIT_OK, UsageError, print_table

REPORT_COLUMNS = ["channel", "courier", "shipped", "shipped_amount", "delivered", "delivered_amount", "refused", "refusal_cost", "remitted", "pending", "disputed", "settled", "kept"]
ATTENTION_COLUMNS = ["match", "account", "order", "courier", "tracking_number", "amount", "expected", "remitted", "lines"]


def cmd_cod(args: argparse.Namespace) -> int:
    from simpul.runtime import open_hub

    hub = open_hub(actor="cli:cod")
    try:
        if args.cod_cmd == "remit":
            return _remit(hub, args)
        return _report(hub, args)
    finally:
        hub.close()


def _remit(hub, args: argparse.Namespace) -> int:  # noqa: ANN001
    from simpul import cod

    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"no file {args.file!r}")
    with hub.db.begin() as conn:
        try:
            result = cod.import_remittance(conn, path.read_bytes(), remitter=args.remitter, actor=f"cli:{args.by or 'cod'}", now=datetime.now(timezone.utc))
        except cod.RemittanceError as exc:
            raise UsageError(f"{path.name}: {exc}") from None
    summary = {"file": path.name, "lines": result.lines, "new": result.new, "already_imported": result.lines - result.new - len(result.bad), "matched": result.matched, "bad": [{"line": n, "reason": r} for n, r in result.bad]}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        matched = ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in sorted(result.matched.items())) or "nothing new"
        print(f"{path.name}: {result.lines} line(s), {result.new} new: {matched}")
        for line, reason in result.bad:
            print(f"{path.name}:{line}: {reason}", file=sys.stderr)
    return EXIT_FAILED if result.bad else EXIT_OK


def _report(hub, args: argparse.Namespace) -> int:  # noqa: ANN001
    from simpul import cod

    try:
        month = args.month or (None if args.all else cod.current_month(datetime.now(timezone.utc)))
        if month:
            cod.month_bounds(month)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    with hub.db.connect() as conn:
        data = cod.report(conn, month=month, account=args.account)
    if args.json:
        print(json.dumps(data, default=str, indent=2))
        return EXIT_OK
    print(f"COD {month or 'all months'}" + (f", account {args.account}" if args.account else "") + (f" ({', '.join(data['currencies'])})" if data["currencies"] else ""))
    print_table(data["rows"] + ([data["total"]] if len(data["rows"]) > 1 else []), REPORT_COLUMNS)
    t = data["total"]
    print(
        f"\n{t['shipped']} shipped, {t['delivered']} delivered ({t['paid']} paid, {t['missing']} missing, {t['paid_twice']} paid twice, "
        f"{t['amount_differs']} another amount), {t['refused']} refused costing {t['refusal_cost']}"
    )
    if data["attention"]:
        print("\npayouts to look at:")
        print_table([{**a, "order": a["order"]} for a in data["attention"]], ATTENTION_COLUMNS)
    if data["unmatched_lines"]:
        print("\npayout lines that match no delivered COD order:")
        print_table(data["unmatched_lines"], ["remitter", "tracking_number", "order_external_id", "amount", "paid_at", "reference"])
    return EXIT_OK


def cmd_settings(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from simpul import cod
    from simpul.model import HubSetting
    from simpul.runtime import open_hub

    hub = open_hub(actor="cli:settings")
    try:
        if args.settings_cmd == "set":
            with hub.db.begin() as conn:
                try:
                    cod.set_setting(conn, args.name, args.value, account=args.account or "*", actor=f"cli:{args.by or 'settings'}", now=datetime.now(timezone.utc))
                except ValueError as exc:
                    raise UsageError(str(exc)) from None
        table = HubSetting.__table__
        with hub.db.connect() as conn:
            rows: list[dict[str, Any]] = [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.name, table.c.account_id)).mappings()]
    finally:
        hub.close()
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
    else:
        print_table([{**r, "account": r["account_id"]} for r in rows], ["name", "account", "value", "updated_by", "updated_at"])
        known = ", ".join(f"{name} ({what})" for name, what in cod.SETTINGS_KNOWN.items())
        print(f"settings: {known}", file=sys.stderr)
    return EXIT_OK


def register(sub: argparse._SubParsersAction, channels: list[str]) -> None:
    p = sub.add_parser("cod", help="COD money: import payout reports, report what is owed, refused and disputed")
    p.set_defaults(func=cmd_cod)
    more = p.add_subparsers(dest="cod_cmd", metavar="{remit,report}", required=True)
    remit = more.add_parser("remit", help="import a COD payout report (CSV: amount and awb and/or order; see README)")
    remit.add_argument("file", metavar="FILE")
    remit.add_argument("--remitter", required=True, help="who paid out: the courier or aggregator, e.g. jne, biteship")
    remit.add_argument("--by", help="who imported it (audited)")
    remit.add_argument("--json", action="store_true")
    report = more.add_parser("report", help="COD shipped, delivered, refused, remitted, pending and disputed, per channel and courier")
    when = report.add_mutually_exclusive_group()
    when.add_argument("--month", metavar="YYYY-MM", help="orders created in this month (WIB); default: this month")
    when.add_argument("--all", action="store_true", help="every month")
    report.add_argument("--account", help="only this account")
    report.add_argument("--json", action="store_true", help="the whole report as JSON (amounts as decimal text)")

    s = sub.add_parser("settings", help="seller settings (packing_cost)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_settings, settings_cmd=None)
    s_more = s.add_subparsers(dest="settings_cmd", metavar="{set}")
    set_one = s_more.add_parser("set", help="set NAME VALUE for every account, or --account A")
    set_one.add_argument("name", help="packing_cost")
    set_one.add_argument("value")
    set_one.add_argument("--account", help="only this account (default: every account)")
    set_one.add_argument("--by", help="who changed it (audited)")
    set_one.add_argument("--json", action="store_true")
