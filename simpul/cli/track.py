"""``simpul track``, ``simpul track-sync`` and ``simpul shipments``: parcels as couriers see them.

- ``track ACCOUNT --courier CODE AWB ...`` looks the named parcels up now through a
  tracking (aggregator) account, stores them (attached to the shipment with that airway
  bill, or as a parcel of their own) and prints their canonical tracking.
- ``track-sync [--account A] [--direct | --prefect]`` is one tracking pass: every active
  tracking account looks at the parcels due (``simpul.parcels``), batch by batch, each
  committed with its checkpoint, exactly as ``simpul sync`` runs orders (the same runner
  and run records). Directly, or as the ``track-shipments`` flow by the rule ``simpul
  sync`` uses (``simpul.cli.sync.uses_prefect``): the flow when ``PREFECT_API_URL`` is set
  or ``--prefect`` is given, directly otherwise.
- ``shipments [--attention] [--courier C] [--json]`` lists parcels, newest scan first;
  ``--attention`` keeps the ones that need a person, in the order of the
  ``shipments-attention`` artifact (``simpul.tracking_report.attention_rows``: back to the
  sender, trouble, stuck, unknown; newest trouble first). ``shipments --report FILE``
  writes the delivery-time and return-to-sender report as an HTML page with bar charts
  (``simpul.tracking_report``) and prints where.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from simpul.cli.common import EXIT_FAILED, EXIT_OK, UsageError, print_table, printable, progress_printer

SHIPMENT_COLUMNS = ["attention", "order", "courier", "tracking_number", "status", "sub_status", "days_since_scan", "last_message"]


def cmd_track(args: argparse.Namespace) -> int:
    from connectors.contract import ParcelKey
    from simpul.engine import TRACK, SyncRequest
    from simpul.runtime import open_hub

    keys = tuple(ParcelKey(args.courier.strip().lower(), awb.strip()).text for awb in args.airway_bills if awb.strip())
    if not keys:
        raise UsageError("give at least one airway bill")
    hub = open_hub(actor="cli:track")
    try:
        _tracking_account(hub, args.account)
        rows = _run(hub, [SyncRequest(args.account, job=TRACK, parcels=keys)])
        with hub.db.connect() as conn:
            parcels = _parcels(conn, hub, numbers={ParcelKey.parse(k).tracking_number for k in keys})
    finally:
        hub.close()
    if args.json:
        print(json.dumps({"run": rows[0], "parcels": parcels}, default=str, indent=2))
    else:
        _print_parcels(parcels, verbose=True)
        for row in rows:
            if row.get("missing"):
                print(printable(f"not known to {row['account']}: {', '.join(row['missing'])}"))
            if row["status"] != "completed":
                print(printable(f"{row['account']}: {row['status']}: {row['error']}"))
    return EXIT_OK if all(r["status"] == "completed" for r in rows) else EXIT_FAILED


def cmd_track_sync(args: argparse.Namespace) -> int:
    from simpul import parcels
    from simpul.channels import TRACKING, reading
    from simpul.cli.sync import uses_prefect
    from simpul.engine import TRACK, SyncRequest
    from simpul.runtime import open_hub

    hub = open_hub(actor="cli:track-sync")
    try:
        if args.account:
            _tracking_account(hub, args.account)
            accounts = [args.account]
        else:
            trackers = [a for a in hub.accounts.list() if a.channel in reading(TRACKING)]
            accounts = [a.id for a in trackers if a.status == "active"]
            idle = ", ".join(f"{a.id} ({a.status})" for a in trackers if a.status != "active")
            if not accounts:
                raise UsageError(
                    f"no active tracking account{': ' + printable(idle) if idle else ''}; "
                    + ("see `simpul accounts list`" if idle else "add one with `simpul accounts add biteship NAME ...` (or kiriminaja)")
                )
            if idle:
                print(f"not tracked: {printable(idle)}; see `simpul accounts list`", file=sys.stderr)
        if uses_prefect(args):
            rows = track_with_prefect(accounts)
        else:
            rows = _run(hub, [SyncRequest(a, job=TRACK) for a in accounts])
        with hub.db.connect() as conn:
            tally = parcels.tally(parcels.listing(conn), now=hub.engine.clock())
    finally:
        hub.close()
    if args.json:
        print(json.dumps({"runs": rows, "parcels": tally}, default=str, indent=2))
    else:
        print_table(rows, ["account", "channel", "status", "new", "changed", "unchanged", "stale", "quarantined", "pages", "requests", "error"])
        print("parcels: " + ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in tally.items()))
    return EXIT_OK if all(r["status"] in ("completed", "skipped") for r in rows) else EXIT_FAILED


def track_with_prefect(accounts: list[str]) -> list[dict[str, Any]]:
    """The ``track-shipments`` flow in this process, on the configured API or a temporary one."""
    from simpul.prefect_api import prefect_api

    with prefect_api():
        from flows.track_shipments import run_track_flow

        return run_track_flow(accounts)


def cmd_shipments(args: argparse.Namespace) -> int:
    from simpul import parcels, tracking_report
    from simpul.runtime import open_hub

    hub = open_hub(actor="cli:shipments")
    try:
        with hub.db.connect() as conn:
            if args.report:
                report = tracking_report.build(conn, now=hub.engine.clock(), courier=args.courier)
            else:
                rows = _parcels(conn, hub, courier=args.courier)
            if args.attention and not args.report:
                needing = tracking_report.attention_rows(parcels.listing(conn, courier=args.courier), now=hub.engine.clock())
                rank = {(r["courier"], r["tracking_number"]): i for i, r in enumerate(needing)}
    finally:
        hub.close()
    if args.report:
        path = Path(args.report)
        try:
            path.write_text(tracking_report.html(report), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {args.report}: {exc.strerror or exc}") from None
        delivered = sum(t.count for t in report.by_courier.values())
        print(printable(f"report written to {path.resolve()}: {report.parcels} parcel(s), {delivered} with a delivery time, {len(report.outcomes)} courier(s)"))
        return EXIT_OK
    if args.attention:
        rows = sorted((r for r in rows if (r["courier"], r["tracking_number"]) in rank), key=lambda r: rank[(r["courier"], r["tracking_number"])])
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
    else:
        _print_parcels(rows)
    return EXIT_OK


def _run(hub, requests) -> list[dict[str, Any]]:  # noqa: ANN001
    from simpul.runner import Runner

    return [s.as_row() for s in Runner(hub.engine).run_all(requests, on_step=progress_printer())]


def _tracking_account(hub, account_id: str) -> None:  # noqa: ANN001
    from simpul.channels import TRACKING, get_channel

    account = hub.accounts.get(account_id)
    if not get_channel(account.channel).has(TRACKING):
        raise UsageError(f"account {account_id!r} is a {account.channel} account; tracking needs a courier account (biteship, kiriminaja)")


def _parcels(conn, hub, *, courier: str | None = None, numbers: set[str] | None = None) -> list[dict[str, Any]]:  # noqa: ANN001
    from simpul import parcels

    now = hub.engine.clock()
    out = []
    for row in parcels.listing(conn, courier=courier):
        if numbers is not None and row["tracking_number"] not in numbers:
            continue
        last = row["last_event_at"]
        days = None if last is None else round((now - (last if last.tzinfo else last.replace(tzinfo=timezone.utc))).total_seconds() / 86400, 1)
        out.append(
            {
                "attention": parcels.attention(row, now=now) or "",
                "order": f"{row['account_id']}/{row['order_external_id']}" if row["order_external_id"] else "",
                "courier": row["courier"],
                "tracking_number": row["tracking_number"],
                "status": getattr(row["status"], "value", row["status"]),
                "sub_status": row["sub_status"] or "",
                "raw_status": row["raw_status"] or "",
                "last_event_at": _iso(last),
                "days_since_scan": days,
                "delivered_at": _iso(row["delivered_at"]),
                "last_message": row["last_message"] or "",
                "checked_at": _iso(row["checked_at"]),
            }
        )
    return out


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()


def _print_parcels(rows: list[dict[str, Any]], *, verbose: bool = False) -> None:
    columns = SHIPMENT_COLUMNS + (["raw_status", "last_event_at", "delivered_at"] if verbose else [])
    print_table(rows, columns)
    if not rows:
        print("no parcels")


def register(sub, channels: list[str]) -> None:  # noqa: ANN001, ARG001
    p = sub.add_parser("track", help="look parcels up now through a tracking account and store them")
    p.add_argument("account", help="a tracking account (biteship, kiriminaja)")
    p.add_argument("--courier", required=True, help="courier code: jne, jnt, sicepat, anteraja, ninja, pos, ...")
    p.add_argument("airway_bills", nargs="+", metavar="AWB", help="airway bill numbers (resi)")
    p.add_argument("--json", action="store_true", help="print the run and the parcels as JSON")
    p.set_defaults(func=cmd_track)

    p = sub.add_parser("track-sync", help="one tracking pass: every tracking account looks at the parcels due")
    p.add_argument("--account", help="only this tracking account")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--direct", action="store_true", help="run the engine in this process, never through Prefect")
    how.add_argument(
        "--prefect", action="store_true",
        help="run the track-shipments flow (the default when PREFECT_API_URL is set); without a server, a temporary one is started first",
    )
    p.add_argument("--json", action="store_true", help="print the runs and the parcel tally as JSON")
    p.set_defaults(func=cmd_track_sync)

    p = sub.add_parser("shipments", help="parcels as their couriers track them, newest scan first")
    p.add_argument("--attention", action="store_true", help="only parcels that need a person: returned or returning, trouble, stuck, unknown")
    p.add_argument("--courier", help="only this courier code")
    p.add_argument("--report", metavar="FILE", help="write delivery times per courier and service and return-to-sender rates as an HTML page with charts")
    p.add_argument("--json", action="store_true", help="print every parcel as JSON")
    p.set_defaults(func=cmd_shipments)
