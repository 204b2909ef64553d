"""The ``simpul`` command: one module per command, each registering its own parser.

Output is meant to be scripted: tables on stdout, progress and diagnostics on stderr,
``--json`` where a machine reads it, exit code 0 on success, 1 when a sync failed,
2 for bad input. Credentials are read from a file or standard input, never from argv.
An expected failure is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from simpul.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "UsageError", "build_parser", "main"]

COMMANDS = ("demo", "sandbox", "accounts", "keys", "pii", "sync", "map", "orders", "audit", "quarantine")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    from simpul.channels import CHANNELS

    parser = argparse.ArgumentParser(
        prog="simpul",
        description="Simpul: one canonical order hub for Indonesian marketplaces, storefronts and couriers.",
        epilog="Data: SIMPUL_DATABASE_URL (default: SQLite under SIMPUL_HOME or ./data). Keys: SIMPUL_MASTER_KEY, else the key ring file SIMPUL_KEYRING (default secrets/keyring.json).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"simpul.cli.{name}").register(sub, sorted(CHANNELS))
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


