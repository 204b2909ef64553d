"""The ``simpul`` command: one module per command, each registering its own parser.

Output is meant to be scripted: tables on stdout, progress and diagnostics on stderr,
``--json`` where a machine reads it, exit code 0 on success, 1 when a sync failed,
2 for bad input or set-up. Credentials are read from a file or standard input, never
from argv.

A failure is one line on stderr (``simpul: <reason>``), never a traceback: a person
needs the reason and the fix, and a traceback of a database error would print the
statement's parameters (buyer data, sealed envelopes). ``SIMPUL_DEBUG=1`` re-raises
unexpected errors for developers. Files the command creates are owner-only (umask 077).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from simpul.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Parser, UsageError

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "UsageError", "build_parser", "main"]

COMMANDS = ("demo", "sandbox", "accounts", "keys", "pii", "sync", "track", "map", "orders", "returns", "cod", "report", "audit", "quarantine", "prefect", "bukalapak")
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    import importlib

    from simpul.channels import CHANNELS

    parser = Parser(
        prog="simpul",
        description="Simpul: one canonical order hub for Indonesian marketplaces, storefronts and couriers.",
        epilog="Data: SIMPUL_DATABASE_URL (default: SQLite under SIMPUL_HOME or ./data). Keys: SIMPUL_MASTER_KEY, else the key ring file SIMPUL_KEYRING (default secrets/keyring.json; `simpul keys init` creates it).",
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
    umask = os.umask(0o077)  # the database, data/, key rings, anchors, Prefect's files
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except SystemExit as exc:  # argparse: --help, or its one-line error
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except BrokenPipeError:  # `simpul orders | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("simpul: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a person gets one line, not a traceback
        code, line = explain(exc)
        if line is None and os.environ.get("SIMPUL_DEBUG"):
            raise
        print(f"simpul: {line or unexpected(exc)}", file=sys.stderr)
        return code
    finally:
        os.umask(umask)


def explain(exc: BaseException) -> tuple[int, str | None]:
    """Exit code and one line for an expected failure; ``(EXIT_FAILED, None)`` for a bug."""
    import sqlalchemy.exc as sa_exc

    from simpul import failures
    from simpul.accounts import AccountError
    from simpul.prefect_api import PrefectUnavailable
    from simpul.vault import VaultError

    if isinstance(exc, (UsageError, AccountError, VaultError)):
        return EXIT_USAGE, failures.cap(str(exc), 500)
    if isinstance(exc, PrefectUnavailable):
        return EXIT_FAILED, failures.cap(str(exc), 500)
    if isinstance(exc, (sa_exc.SQLAlchemyError, _alembic_error())):
        from simpul.db import default_url, redact_db_url

        try:
            where = redact_db_url(default_url())
        except Exception:  # noqa: BLE001 - the URL itself may be what is wrong
            where = "SIMPUL_DATABASE_URL"
        return EXIT_FAILED, f"database {where}: {failures.describe(exc)}"
    return EXIT_FAILED, None


def unexpected(exc: BaseException) -> str:
    from simpul import failures

    return f"unexpected error: {failures.describe(exc)} (SIMPUL_DEBUG=1 shows the traceback)"


def _alembic_error() -> type[BaseException]:
    from alembic.util import CommandError

    return CommandError
