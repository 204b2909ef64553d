"""``simpul sandbox``: serve one channel's local API twin."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from simpul.cli.common import EXIT_OK


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


def register(sub, channels: list[str]) -> None:  # noqa: ANN001 - argparse's private subparsers type
    p = sub.add_parser("sandbox", help="serve one channel's local API twin until Ctrl-C")
    p.add_argument("channel", choices=channels)
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default: any free port)")
    p.add_argument("--orders", type=int, default=200, help="seeded orders (default 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--credentials-out", metavar="FILE", help="write credentials this sandbox accepts to FILE (mode 0600)")
    p.set_defaults(func=cmd_sandbox)
