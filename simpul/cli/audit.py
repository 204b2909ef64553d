"""``simpul audit``: verify the hash chain, export signed anchors."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from simpul.cli.common import EXIT_FAILED, EXIT_OK, UsageError


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


def register(sub, channels: list[str]) -> None:  # noqa: ANN001 - argparse's private subparsers type
    p = sub.add_parser("audit", help="audit log tools")
    asub = p.add_subparsers(dest="audit_cmd", required=True, metavar="ACTION")
    a = asub.add_parser("verify", help="check the hash chain; names the first broken entry")
    a.add_argument("--anchor", metavar="FILE", help="also check that the chain still passes through this signed anchor")
    a = asub.add_parser("anchor", help="export a signed checkpoint (sequence + head hash) to keep outside the database")
    a.add_argument("--out", metavar="FILE", help="write it here (default: stdout)")
    p.set_defaults(func=cmd_audit)
