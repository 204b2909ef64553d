"""``simpul map``: the canonical JSON of one raw order payload."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from simpul.cli.common import EXIT_FAILED, EXIT_OK, UsageError, printable


def cmd_map(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from connectors.contract import limits_of
    from simpul.canonical import MappingError, bundle_to_dict
    from simpul.channels import get_channel
    from simpul.jsoncodec import dumps, loads
    from simpul.limits import Boundary

    channel = get_channel(args.channel)
    mapping = channel.mapping()
    try:
        raw = loads(Path(args.file).read_text() if args.file != "-" else sys.stdin.read())
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    except (ValueError, RecursionError):
        raise UsageError(f"{args.file} is not valid JSON (or nested too deeply)") from None
    try:
        # the same check a sync applies: a value the hub could not store is refused here too
        bundle = Boundary(since=limits_of(channel.connector_class()).since, now=datetime.now(timezone.utc)).check(mapping.map_order(raw))
    except MappingError as exc:
        print(printable(f"cannot map this payload: {exc}"), file=sys.stderr)
        return EXIT_FAILED
    print(dumps(bundle_to_dict(bundle), indent=2))
    return EXIT_OK


def register(sub, channels: list[str]) -> None:  # noqa: ANN001 - argparse's private subparsers type
    p = sub.add_parser("map", help="print the canonical JSON of one raw order payload")
    p.add_argument("channel", choices=channels)
    p.add_argument("file", help="the channel's order-detail JSON object ('-' for stdin)")
    p.set_defaults(func=cmd_map)
