"""``simpul map``: the canonical JSON of one raw record: an order payload of a marketplace or
storefront, or a tracking reply of a courier aggregator (the channel's first stream)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from simpul.cli.common import EXIT_FAILED, EXIT_OK, UsageError, printable


def cmd_map(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from connectors.contract import limits_of
    from simpul.canonical import MappingError, bundle_to_dict, tracking_to_dict
    from simpul.channels import TRACKING, get_channel
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
    # the same check a sync applies: a value the hub could not store is refused here too
    boundary = Boundary(since=limits_of(channel.connector_class()).since, now=datetime.now(timezone.utc))
    try:
        if channel.streams[0].kind == TRACKING:
            canonical = tracking_to_dict(boundary.check_tracking(mapping.map_tracking(raw)))
        else:
            canonical = bundle_to_dict(boundary.check(mapping.map_order(raw)))
    except MappingError as exc:
        print(printable(f"cannot map this payload: {exc}"), file=sys.stderr)
        return EXIT_FAILED
    print(dumps(canonical, indent=2))
    return EXIT_OK


def register(sub, channels: list[str]) -> None:  # noqa: ANN001 - argparse's private subparsers type
    p = sub.add_parser("map", help="print the canonical JSON of one raw order payload or tracking reply")
    p.add_argument("channel", choices=channels)
    p.add_argument("file", help="the channel's order-detail JSON object, or an aggregator's tracking reply ('-' for stdin)")
    p.set_defaults(func=cmd_map)
