"""``simpul report``: the monthly report a seller reads (``simpul.monthly_report``).

``report [--month YYYY-MM] [--account A] [--out FILE] [--json]`` prints, for the orders
created in the month (WIB; default: this month), a row per account, per channel (``*`` as
the account) and the total (``*``, ``*``): orders, GMV, AOV, cancel, return and RTS rates,
refunds, COD share and COD refusal rate; then the top return reasons and the delivery time
per courier. ``--out FILE`` also writes the report as an HTML page with charts and says
where; ``--json`` prints the report as JSON instead of the tables.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from simpul.cli.common import EXIT_OK, UsageError, print_table, printable

COLUMNS = ["account", "channel", "orders", "gmv", "aov", "cancel_rate", "return_rate", "rts_rate", "refunds", "cod_share", "cod_refusal_rate"]


def cmd_report(args: argparse.Namespace) -> int:
    from simpul import cod, monthly_report
    from simpul.runtime import open_hub

    if args.month:
        _check_month(args.month)  # before anything is opened: a typo needs no database
    hub = open_hub(actor="cli:report")
    try:
        now = hub.engine.clock()
        month = args.month or cod.current_month(now)
        if args.account:
            hub.accounts.get(args.account)  # an unknown account is one line, not an empty report
        with hub.db.connect() as conn:
            report = monthly_report.build(conn, month=month, account=args.account, now=now)
    finally:
        hub.close()
    written = None
    if args.out:
        path = Path(args.out)
        try:
            path.write_text(monthly_report.html(report), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from None
        written = printable(f"report written to {path.resolve()}: {monthly_report.title(report)}, {report.total.orders} order(s), {len(report.by_account)} account(s)")
    if args.json:
        print(json.dumps(monthly_report.to_dict(report), indent=2))
        if written:
            print(written, file=sys.stderr)
        return EXIT_OK
    _print(report)
    if written:
        print(written)
    return EXIT_OK


def _check_month(month: str) -> None:
    from simpul import cod

    try:
        cod.month_bounds(month)
    except ValueError as exc:
        raise UsageError(printable(str(exc))) from None


def _print(report) -> None:  # noqa: ANN001 - monthly_report.MonthlyReport
    from simpul import monthly_report as mr

    start, end = report.bounds
    print(f"{mr.title(report)} (WIB; orders created {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC)")
    rows = list(report.by_account) + (list(report.by_channel) if len(report.by_channel) > 1 else []) + ([report.total] if len(report.by_account) > 1 else [])
    print_table([_row(f) for f in rows], COLUMNS)
    reasons = report.total.top_reasons()
    print("\ntop reasons: " + (", ".join(f"{reason} {n}" for reason, n in reasons) if reasons else "no buyer returns or returns to sender"))
    if report.delivery:
        print("\ndelivery time per courier (days, first courier scan to delivered):")
        print_table([{"courier": c, "delivered": t.count, "median": f"{t.median:.1f}", "p90": f"{t.p90:.1f}"} for c, t in report.delivery.items()])
    else:
        print("no delivery times yet (no delivered parcel of these orders with a first scan)")


def _row(f) -> dict[str, Any]:  # noqa: ANN001 - monthly_report.Figures
    from simpul.monthly_report import money, percent

    return {
        "account": f.account, "channel": f.channel, "orders": f.orders, "gmv": money(f.gmv), "aov": money(f.aov),
        "cancel_rate": percent(f.cancel_rate, counts=False), "return_rate": percent(f.return_rate, counts=False),
        "rts_rate": percent(f.rts_rate, counts=False), "refunds": money(f.refunds), "cod_share": percent(f.cod_share, counts=False),
        "cod_refusal_rate": percent(f.cod_refusal_rate, counts=False),
    }  # fmt: skip


def register(sub: argparse._SubParsersAction, channels: list[str]) -> None:  # noqa: ARG001
    p = sub.add_parser("report", help="the monthly report: orders, GMV, AOV, cancel/return/RTS rates, refunds, COD, delivery times")
    p.add_argument("--month", metavar="YYYY-MM", help="orders created in this month (WIB); default: this month")
    p.add_argument("--account", help="only this account")
    p.add_argument("--out", metavar="FILE", help="also write the report as an HTML page with charts")
    p.add_argument("--json", action="store_true", help="the report as JSON (amounts as decimal text, rates as fractions)")
    p.set_defaults(func=cmd_report)
