"""``simpul accounts``: add, list, refresh, disable, enable and remove seller accounts.

Credentials never come from argv.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from simpul.cli.common import EXIT_FAILED, EXIT_OK, UsageError, bounded_int, print_table


def _read_credentials(path: str | None, channel: str) -> dict[str, Any]:
    """From a file, stdin ('-') or, at a terminal, a prompt per field (secrets not echoed)."""
    if path is None:
        if not sys.stdin.isatty():
            raise UsageError("no credentials given: use --credentials-file FILE, '-' to read JSON from stdin, or run at a terminal to be asked")
        return _prompt_credentials(channel)
    return _read_credentials_file(path)


def _prompt_credentials(channel: str) -> dict[str, Any]:
    import getpass

    from simpul.channels import get_channel

    spec = get_channel(channel)
    values: dict[str, Any] = {}
    for name in spec.credential_fields:
        ask = getpass.getpass if name in spec.secret_fields else input
        value = ask(f"{channel} {name}: ").strip()
        values[name] = int(value) if value.isdigit() and name not in spec.secret_fields else value
    return values


def _read_credentials_file(path: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
        values = json.loads(text)
    except OSError as exc:
        raise UsageError(f"cannot read credentials file: {exc.strerror}") from None
    except (ValueError, RecursionError):
        raise UsageError("credentials file is not valid JSON (or nested too deeply)") from None
    if not isinstance(values, dict):
        raise UsageError("credentials file must hold a JSON object")
    return values


def cmd_accounts(args: argparse.Namespace) -> int:
    from simpul.accounts import AccountError, cursors, last_runs
    from simpul.runtime import open_hub
    from simpul.tokens import countdown, refresh_all

    if args.accounts_cmd == "add" and args.channel == "bukalapak":  # retired: no connector, an import instead
        from simpul.bukalapak import RETIRED

        raise UsageError(RETIRED)
    hub = open_hub(actor="cli:accounts")
    try:
        if args.accounts_cmd == "add":
            try:
                info = hub.accounts.add(
                    args.name,
                    args.channel,
                    args.title or args.name,
                    args.base_url,
                    _read_credentials(args.credentials_file, args.channel),
                    history_days=args.history_days,
                    replace=args.replace,
                    verify=not args.no_verify,
                )
            except AccountError as exc:
                raise UsageError(str(exc)) from None
            checked = "not verified (--no-verify)" if args.no_verify else f"verified with {info.channel}"
            print(f"account {info.id} ({info.channel}) stored; credentials {checked} and encrypted")
            return EXIT_OK
        if args.accounts_cmd in ("disable", "enable", "remove"):
            change = getattr(hub.accounts, args.accounts_cmd)
            for account_id in args.accounts:
                info = change(account_id)
                note = {"disable": "syncs skip it until `simpul accounts enable`", "enable": "syncs include it again",
                        "remove": "credentials dropped; its orders and audit entries are kept"}[args.accounts_cmd]
                print(f"account {info.id} {info.status}: {note}")
            return EXIT_OK
        if args.accounts_cmd == "route":
            return route(hub, args)
        if args.accounts_cmd == "refresh":
            from datetime import timedelta

            from simpul.tokens import DEFAULT_HORIZON

            within = DEFAULT_HORIZON if args.horizon_minutes is None else timedelta(minutes=args.horizon_minutes)
            outcomes = refresh_all(hub.engine, within=within, force=args.force, accounts=args.accounts or None)
            print_table([o.as_row() for o in outcomes])
            return EXIT_FAILED if any(o.result == "failed" for o in outcomes) else EXIT_OK
        runs, marks = last_runs(hub.db), cursors(hub.db)
        now = datetime.now(timezone.utc)
        rows = [
            {
                "account": a.id,
                "channel": a.channel,
                "status": a.status,
                "last_sync": a.last_sync_at,
                "last_run": runs[a.id]["status"] if a.id in runs else None,
                "cursor": marks.get(a.id),
                "token_expires_in": countdown(a.access_expires_at, now),
                "refresh_expires_in": countdown(a.refresh_expires_at, now),
                "grant_expires_in": countdown(a.authorization_expires_at, now),
                "reason": a.status_reason,
            }
            for a in hub.accounts.list(include_removed=args.all)
        ]
        if args.json:
            print(json.dumps(rows, default=str, indent=2))
        else:
            print_table(rows)
        return EXIT_OK
    finally:
        hub.close()


def route(hub, args: argparse.Namespace) -> int:  # noqa: ANN001
    """Set, drop or list tracking routes (``simpul.parcels``); every change is audited."""
    from simpul import audit, parcels
    from simpul.channels import TRACKING, get_channel

    now = datetime.now(timezone.utc)
    changes: dict[str, str | None] = {c.strip().lower(): None for c in args.unset or ()}
    if args.account:
        account = hub.accounts.get(args.account)
        spec = get_channel(account.channel)
        if not spec.has(TRACKING):
            raise UsageError(f"account {account.id!r} is a {account.channel} account; routes name a tracking account (biteship, kiriminaja)")
        covered = spec.connector_class().couriers
        for courier in (c.strip().lower() for c in args.couriers):
            if courier not in covered:
                raise UsageError(f"{account.channel} does not track {courier!r}; it tracks: {', '.join(sorted(covered))}")
            changes[courier] = account.id
    if changes:
        with hub.db.begin() as conn:
            for courier, account_id in changes.items():
                parcels.set_route(conn, courier, account_id)
            audit.append(conn, [audit.Event(action="tracking.routed", actor=hub.engine.actor, entity_type="route", entity_key=c, summary={"account": a}) for c, a in changes.items()], now=now)
    with hub.db.connect() as conn:
        rows = [{"courier": c, "account": a} for c, a in sorted(parcels.routes(conn).items())]
    print_table(rows) if rows else print("no routes: each courier goes to the one tracking account that covers it")
    return EXIT_OK


def register(sub, channels: list[str]) -> None:  # noqa: ANN001 - argparse's private subparsers type
    p = sub.add_parser("accounts", help="add or list seller accounts")
    asub = p.add_subparsers(dest="accounts_cmd", required=True, metavar="ACTION")
    a = asub.add_parser("add", help="store an account and its encrypted credentials")
    a.add_argument("channel", choices=[*channels, "bukalapak"])
    a.add_argument("name", help="account id: lowercase letters, digits, dashes (e.g. toko-budi-shopee)")
    a.add_argument("--base-url", required=True, help="the channel API's base URL (a sandbox URL for testing)")
    a.add_argument(
        "--credentials-file", metavar="F", help="JSON with the channel's credential names; '-' reads stdin (default: ask at the terminal; never on the command line)"
    )
    a.add_argument("--no-verify", action="store_true", help="store without the one authenticated check call (offline set-up)")
    a.add_argument("--title", help="display name (default: the account id)")
    a.add_argument("--history-days", type=bounded_int(1, 10_000), default=30, help="how far back the first sync reaches (1 to 10,000; default 30)")
    a.add_argument("--replace", action="store_true", help="new credentials for an existing account of the same channel (resets a credential error, brings back a removed one)")
    a = asub.add_parser("list", help="show accounts, status, last sync, cursor and token expiry")
    a.add_argument("--json", action="store_true")
    a.add_argument("--all", action="store_true", help="include removed accounts")
    for name, text in (
        ("disable", "stop syncing accounts until `enable` (the schedule and `simpul sync` skip them)"),
        ("enable", "sync disabled accounts again"),
        ("remove", "drop accounts' credentials and hide them; their orders and audit entries stay (audited)"),
    ):
        a = asub.add_parser(name, help=text)
        a.add_argument("accounts", nargs="+", metavar="ACCOUNT")
    a = asub.add_parser("route", help="which tracking account reads which couriers' parcels (when several could)")
    a.add_argument("account", nargs="?", help="a tracking account (biteship, kiriminaja); omit to list the routes")
    a.add_argument("couriers", nargs="*", metavar="COURIER", help="courier codes (jne, jnt, sicepat, ...)")
    a.add_argument("--unset", nargs="+", metavar="COURIER", help="drop these couriers' routes (back to the default)")
    a = asub.add_parser("refresh", help="refresh access tokens that expire soon (what the refresh-tokens flow does)")
    a.add_argument("accounts", nargs="*", metavar="ACCOUNT", help="account ids (default: all)")
    a.add_argument("--horizon-minutes", type=int, help="refresh tokens expiring within this many minutes (default: the refresh-tokens flow's, 45)")
    a.add_argument("--force", action="store_true", help="refresh even tokens valid for longer")
    p.set_defaults(func=cmd_accounts)
