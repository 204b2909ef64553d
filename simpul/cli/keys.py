"""``simpul keys``: the key ring that encrypts credentials and buyer data.

``init`` is the one command that creates a key ring (and the hub secrets); every other
command refuses to run without one, naming the file, so a moved or unmounted ring is
noticed instead of silently replaced.
"""

from __future__ import annotations

import argparse
import sys

from simpul.cli.common import EXIT_FAILED, EXIT_OK, print_table


def cmd_keys(args: argparse.Namespace) -> int:
    from simpul import keys
    from simpul.db import Database
    from simpul.vault import KeyRing, Vault, VaultError

    if args.keys_cmd == "init":
        db = Database()
        try:
            db.migrate()
            ring, created = keys.init_ring(db)
            keys.check_ring(db, Vault(ring))
            made = keys.ensure_hub_secrets(db, Vault(ring))
        finally:
            db.dispose()
        where = f"created {ring.source} (mode 0600; back it up: without it nothing decrypts)" if created else f"{ring.source} (kept)"
        print(f"key ring: {where}; active key {ring.active}")
        print(f"hub secrets: {'created ' + ', '.join(made) if made else 'present'}")
        return EXIT_OK

    ring = KeyRing.load()
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
            keys.check_ring(db, Vault(ring))
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
        try:
            keys.check_ring(db, Vault(ring))
        except VaultError as exc:
            print(f"simpul: {exc}", file=sys.stderr)
            return EXIT_FAILED
        return EXIT_FAILED if any(r["in_ring"] == "MISSING" for r in rows) else EXIT_OK
    finally:
        db.dispose()


def register(sub, channels: list[str]) -> None:  # noqa: ANN001 - argparse's private subparsers type
    p = sub.add_parser("keys", help="the key ring that encrypts credentials and buyer data")
    asub = p.add_subparsers(dest="keys_cmd", required=True, metavar="ACTION")
    asub.add_parser("init", help="set-up: create the key ring file (mode 0600; never overwritten) and the hub secrets")
    asub.add_parser("status", help="keys in the ring, how many sealed values each one wraps, and whether the ring opens them")
    k = asub.add_parser("rotate", help="add a key, rewrap every sealed value with it (resumes an unfinished rotation)")
    k.add_argument("--retire", action="store_true", help="then drop the old keys from the ring")
    k = asub.add_parser("retire", help="drop keys from the ring (refused while any value needs them)")
    k.add_argument("key_ids", nargs="+", metavar="KEY_ID")
    p.set_defaults(func=cmd_keys)
