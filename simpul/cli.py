"""The ``simpul`` command: demo, sandboxes, accounts, keys, sync, map, orders, audit, pii, quarantine.

Output is meant to be scripted: tables on stdout, progress and diagnostics on stderr,
``--json`` where a machine reads it, exit code 0 on success, 1 when a sync failed,
2 for bad input. Credentials are read from a file or standard input, never from argv.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the person at the terminal: shown as one line, exit code 2."""


# -- small output helpers ------------------------------------------------------------------
def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, out=None) -> None:  # noqa: ANN001
    out = out or sys.stdout  # looked up now: tests and pipes may have replaced it
    if not rows:
        print("(nothing)", file=out)
        return
    columns = list(columns or rows[0].keys())
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)), file=out)
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)), file=out)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    return str(value)


def parse_time(text: str) -> datetime:
    """ISO-8601 date or datetime; a value without offset is taken as UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"not an ISO-8601 time: {text!r} (e.g. 2026-11-01 or 2026-11-01T08:00:00+07:00)") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _progress_printer(label: str):  # noqa: ANN202
    """A one-line progress bar on stderr when it is a terminal; silent otherwise."""
    if not sys.stderr.isatty():
        return None

    def show(step) -> None:  # noqa: ANN001
        filled = int(step.progress * 30)
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {step.progress:4.0%}")
        if step.done:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


# -- commands --------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    from simpul.demo import run_demo

    rows = run_demo(orders=args.orders, seed=args.seed, direct=args.direct)
    print_table(rows, ["account", "channel", "status", "new", "changed", "unchanged", "stale", "quarantined", "pages", "requests", "seconds"])
    return EXIT_OK if all(r["status"] == "completed" for r in rows) else EXIT_FAILED


def cmd_sandbox(args: argparse.Namespace) -> int:
    from connectors._sandbox import SandboxServer
    from simpul.channels import get_channel

    app = get_channel(args.channel).sandbox_class()(orders=args.orders, seed=args.seed)
    server = SandboxServer(app, port=args.port, seed=args.seed)
    creds_note = ""
    if args.credentials_out:
        Path(args.credentials_out).write_text(json.dumps(app.demo_credentials(), indent=2))
        os.chmod(args.credentials_out, 0o600)
        creds_note = f"; credentials written to {args.credentials_out}"
    print(f"{args.channel} sandbox with {args.orders} orders (seed {args.seed}) on {server.url}{creds_note}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return EXIT_OK


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
    except ValueError:
        raise UsageError("credentials file is not valid JSON") from None
    if not isinstance(values, dict):
        raise UsageError("credentials file must hold a JSON object")
    return values


def cmd_accounts(args: argparse.Namespace) -> int:
    from simpul.accounts import AccountError, cursors, last_runs
    from simpul.runtime import open_hub
    from simpul.tokens import countdown, refresh_all

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
            for a in hub.accounts.list()
        ]
        if args.json:
            print(json.dumps(rows, default=str, indent=2))
        else:
            print_table(rows)
        return EXIT_OK
    finally:
        hub.close()


def cmd_keys(args: argparse.Namespace) -> int:
    from simpul import keys
    from simpul.db import Database
    from simpul.vault import KeyRing

    ring = KeyRing.load(create=False)
    db = Database()
    db.migrate()
    try:
        if args.keys_cmd == "rotate":
            def progress(name: str, n: int) -> None:
                print(f"  rewrapped {n} {name}", file=sys.stderr)

            report = keys.rotate(db, ring, retire=args.retire, on_batch=progress)
            how = f"added key {report.added}" if report.added else f"rewrapped everything to key {report.active}"
            total = sum(report.rewrapped.values())
            print(f"{how}; {total} envelopes rewrapped ({', '.join(f'{n} {k}' for k, n in report.rewrapped.items())})")
            if report.retired:
                print(f"retired keys: {', '.join(report.retired)}")
            print(f"key ring ({ring.source}): active {report.active}; keys {', '.join(report.remaining_keys)}")
            return EXIT_OK
        if args.keys_cmd == "retire":
            ring = keys.retire(db, ring, set(args.key_ids))
            print(f"retired {', '.join(sorted(args.key_ids))}; key ring now holds {', '.join(sorted(ring.keys))}")
            return EXIT_OK
        use = keys.key_use(db)
        rows = [
            {"key": kid, "active": "yes" if kid == ring.active else "", "in_ring": "yes" if kid in ring.keys else "MISSING", **{k: use.by_key.get(kid, {}).get(k, 0) for k in (s.name for s in keys.SEALED)}}
            for kid in sorted(set(ring.keys) | set(use.by_key))
        ]
        print(f"key ring: {ring.source}{' (rotation not finished: run `simpul keys rotate`)' if ring.rotating else ''}")
        print_table(rows)
        return EXIT_FAILED if any(r["in_ring"] == "MISSING" for r in rows) else EXIT_OK
    finally:
        db.dispose()


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


def cmd_sync(args: argparse.Namespace) -> int:
    from simpul.engine import INCREMENTAL, RESYNC, SyncRequest
    from simpul.runtime import open_hub

    order_ids = tuple(i.strip() for i in (args.orders or "").split(",") if i.strip())
    since = parse_time(args.since) if args.since else None
    until = parse_time(args.until) if args.until else None
    job = RESYNC if (since or until or order_ids) else INCREMENTAL
    if job == RESYNC and not args.account:
        raise UsageError("--since/--until/--orders need an ACCOUNT")
    if until and not since and not order_ids:
        raise UsageError("--until needs --since")
    hub = open_hub(actor="cli:sync")
    try:
        accounts = [args.account] if args.account else [a.id for a in hub.accounts.list() if a.status == "active"]
        if not accounts:
            raise UsageError("no accounts; add one with `simpul accounts add`")
        for account_id in accounts:
            hub.accounts.get(account_id)  # a clear error for a typo before anything runs
        try:
            requests = [SyncRequest(a, job=job, since=since, until=until, order_ids=order_ids) for a in accounts]
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if args.direct:
            rows = _sync_direct(hub, requests)
        else:
            from flows.sync_orders import run_sync_flow

            rows = run_sync_flow(requests)
    finally:
        hub.close()
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
    else:
        print_table(rows, ["account", "channel", "job", "status", "new", "changed", "unchanged", "stale", "quarantined", "pages", "requests", "seconds", "error"])
        for row in rows:
            if row.get("missing"):
                print(f"{row['account']}: not found at the channel: {', '.join(row['missing'])}")
    return EXIT_OK if all(r["status"] in ("completed", "skipped") for r in rows) else EXIT_FAILED


def _sync_direct(hub, requests) -> list[dict[str, Any]]:  # noqa: ANN001
    """Run the engine in this process, without Prefect (cron, scripts, the fault harness)."""
    from simpul.locks import AccountLock, SyncAlreadyRunning

    rows = []
    for request in requests:
        row = {"account": request.account_id, "channel": hub.accounts.get(request.account_id).channel, "job": request.job}
        try:
            with AccountLock(hub.db, request.account_id):
                summary = hub.engine.run(request, on_step=_progress_printer(request.account_id))
            rows.append(summary.as_row())
        except SyncAlreadyRunning as exc:
            rows.append({**row, "status": "skipped", "error": str(exc)})
        except Exception as exc:  # noqa: BLE001 - one account's failure is reported, the rest go on
            rows.append({**row, "status": "failed", "error": f"{type(exc).__name__}: {exc}"})
    return rows


def cmd_map(args: argparse.Namespace) -> int:
    from simpul.canonical import MappingError
    from simpul.channels import get_channel
    from simpul.jsoncodec import dumps, loads

    mapping = get_channel(args.channel).mapping()
    try:
        raw = loads(Path(args.file).read_text() if args.file != "-" else sys.stdin.read())
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    except ValueError:
        raise UsageError(f"{args.file} is not valid JSON") from None
    try:
        bundle = mapping.map_order(raw)
    except MappingError as exc:
        print(f"cannot map this payload: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(dumps(bundle_to_dict(bundle), indent=2))
    return EXIT_OK


def bundle_to_dict(bundle: Any) -> dict[str, Any]:
    """The canonical JSON form of a bundle (without the stored raw payload)."""
    out = {}
    for name in ("order", "lines", "shipments", "events", "returns", "mapping_version", "payload_hash"):
        value = getattr(bundle, name)
        if isinstance(value, tuple):
            out[name] = [asdict(v) for v in value]
        elif is_dataclass(value):
            out[name] = asdict(value)
        else:
            out[name] = value
    return out


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


def cmd_audit(args: argparse.Namespace) -> int:
    from simpul import audit, keys
    from simpul.runtime import open_hub

    hub = open_hub(actor="cli:audit")
    try:
        anchor_path = getattr(args, "anchor", None)
        key = keys.hub_secret(hub.db, hub.vault, keys.AUDIT_ANCHOR_KEY) if args.audit_cmd == "anchor" or anchor_path else b""
        if args.audit_cmd == "anchor":
            with hub.db.connect() as conn:
                checkpoint = audit.anchor(conn, key)
            text = json.dumps(checkpoint, indent=2) + "\n"
            if args.out in (None, "-"):
                sys.stdout.write(text)
            else:
                Path(args.out).write_text(text)
                print(f"anchor of seq {checkpoint['seq']} written to {args.out}; keep it outside this database", file=sys.stderr)
            return EXIT_OK
        if anchor_path:
            try:
                checkpoint = json.loads(Path(anchor_path).read_text())
            except OSError as exc:
                raise UsageError(f"cannot read anchor {anchor_path}: {exc.strerror}") from None
            except ValueError:
                raise UsageError(f"{anchor_path} is not an anchor file (not JSON)") from None
            with hub.db.connect() as conn:
                verdict = audit.verify_anchor(conn, key, checkpoint if isinstance(checkpoint, dict) else {})
        else:
            with hub.db.connect() as conn:
                verdict = audit.verify(conn)
    finally:
        hub.close()
    print(verdict)
    return EXIT_OK if verdict.ok else EXIT_FAILED


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


# -- parser ----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    from simpul.channels import CHANNELS

    channels = sorted(CHANNELS)
    parser = argparse.ArgumentParser(
        prog="simpul",
        description="Simpul: one canonical order hub for Indonesian marketplaces, storefronts and couriers.",
        epilog="Data: SIMPUL_DATABASE_URL (default: SQLite under SIMPUL_HOME or ./data). Keys: SIMPUL_MASTER_KEY, else the key ring file SIMPUL_KEYRING (default secrets/keyring.json).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="sync seeded sandboxes of every channel end to end and print a summary")
    p.add_argument("--orders", type=int, default=300, help="orders per sandbox (default 300)")
    p.add_argument("--seed", type=int, default=7, help="sandbox data seed (default 7)")
    p.add_argument("--direct", action="store_true", help="run the engine without Prefect")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("sandbox", help="serve one channel's local API twin until Ctrl-C")
    p.add_argument("channel", choices=channels)
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default: any free port)")
    p.add_argument("--orders", type=int, default=200, help="seeded orders (default 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--credentials-out", metavar="FILE", help="write credentials this sandbox accepts to FILE (mode 0600)")
    p.set_defaults(func=cmd_sandbox)

    p = sub.add_parser("accounts", help="add or list seller accounts")
    asub = p.add_subparsers(dest="accounts_cmd", required=True, metavar="ACTION")
    a = asub.add_parser("add", help="store an account and its encrypted credentials")
    a.add_argument("channel", choices=channels)
    a.add_argument("name", help="account id: lowercase letters, digits, dashes (e.g. toko-budi-shopee)")
    a.add_argument("--base-url", required=True, help="the channel API's base URL (a sandbox URL for testing)")
    a.add_argument(
        "--credentials-file", metavar="F", help="JSON with the channel's credential names; '-' reads stdin (default: ask at the terminal; never on the command line)"
    )
    a.add_argument("--no-verify", action="store_true", help="store without the one authenticated check call (offline set-up)")
    a.add_argument("--title", help="display name (default: the account id)")
    a.add_argument("--history-days", type=int, default=30, help="how far back the first sync reaches (default 30)")
    a.add_argument("--replace", action="store_true", help="overwrite an existing account (resets a credential error)")
    a = asub.add_parser("list", help="show accounts, status, last sync, cursor and token expiry")
    a.add_argument("--json", action="store_true")
    a = asub.add_parser("refresh", help="refresh access tokens that expire soon (what the refresh-tokens flow does)")
    a.add_argument("accounts", nargs="*", metavar="ACCOUNT", help="account ids (default: all)")
    a.add_argument("--horizon-minutes", type=int, help="refresh tokens expiring within this many minutes (default: the refresh-tokens flow's, 45)")
    a.add_argument("--force", action="store_true", help="refresh even tokens valid for longer")
    p.set_defaults(func=cmd_accounts)

    p = sub.add_parser("keys", help="the key ring that encrypts credentials and buyer data")
    asub = p.add_subparsers(dest="keys_cmd", required=True, metavar="ACTION")
    asub.add_parser("status", help="keys in the ring and how many sealed values each one wraps")
    k = asub.add_parser("rotate", help="add a key, rewrap every sealed value with it (resumes an unfinished rotation)")
    k.add_argument("--retire", action="store_true", help="then drop the old keys from the ring")
    k = asub.add_parser("retire", help="drop keys from the ring (refused while any value needs them)")
    k.add_argument("key_ids", nargs="+", metavar="KEY_ID")
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("pii", help="buyer data retention")
    asub = p.add_subparsers(dest="pii_cmd", required=True, metavar="ACTION")
    k = asub.add_parser("purge", help="remove buyer data from finished orders older than the retention period")
    k.add_argument("--retention-days", type=int, help="days after an order's last change (default: the purge-pii flow's, 365)")
    p.set_defaults(func=cmd_pii)

    p = sub.add_parser("sync", help="sync one account or all active accounts")
    p.add_argument("account", nargs="?", help="account id (default: every active account)")
    p.add_argument("--since", help="resync from this time (ISO-8601; no offset = UTC)")
    p.add_argument("--until", help="resync up to this time")
    p.add_argument("--orders", metavar="ID,...", help="resync these order numbers")
    p.add_argument("--direct", action="store_true", help="run the engine in this process without Prefect")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("map", help="print the canonical JSON of one raw order payload")
    p.add_argument("channel", choices=channels)
    p.add_argument("file", help="the channel's order-detail JSON object ('-' for stdin)")
    p.set_defaults(func=cmd_map)

    p = sub.add_parser("orders", help="list stored orders")
    p.add_argument("--account")
    p.add_argument("--limit", type=int, default=50, help="at most this many (0: all; default 50)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_orders)

    p = sub.add_parser("audit", help="audit log tools")
    asub = p.add_subparsers(dest="audit_cmd", required=True, metavar="ACTION")
    a = asub.add_parser("verify", help="check the hash chain; names the first broken entry")
    a.add_argument("--anchor", metavar="FILE", help="also check that the chain still passes through this signed anchor")
    a = asub.add_parser("anchor", help="export a signed checkpoint (sequence + head hash) to keep outside the database")
    a.add_argument("--out", metavar="FILE", help="write it here (default: stdout)")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("quarantine", help="payloads that could not be mapped")
    asub = p.add_subparsers(dest="quarantine_cmd", required=True, metavar="ACTION")
    for name, text in (("list", "show open quarantine entries"), ("replay", "map them again with the current mappings")):
        q = asub.add_parser(name, help=text)
        q.add_argument("--account")
    p.set_defaults(func=cmd_quarantine)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from simpul.logs import configure_logging

    # Simpul runs offline: Prefect's telemetry would only log failures (and its server-side
    # heartbeat a "database is locked" trace at start). An explicit setting still wins.
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    configure_logging()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"simpul: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `simpul orders | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - a person gets one line, not a traceback
        from simpul.accounts import AccountError
        from simpul.vault import VaultError

        if isinstance(exc, (AccountError, VaultError)):
            print(f"simpul: {exc}", file=sys.stderr)
            return EXIT_USAGE
        raise


if __name__ == "__main__":
    sys.exit(main())
