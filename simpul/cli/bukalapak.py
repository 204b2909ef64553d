"""``simpul import bukalapak FILE --account A``: keep a seller's Bukalapak history.

Bukalapak closed physical-goods selling on 2025-03-02 (``simpul.bukalapak``); there is
no live connector, only this one-shot import of the seller centre's order export (CSV).
Running it again with the same file writes nothing.
"""

from __future__ import annotations

import argparse

from simpul.cli.common import EXIT_OK, UsageError


def cmd_import(args: argparse.Namespace) -> int:
    from simpul.accounts import AccountError
    from simpul.bukalapak import ImportRefused, import_export
    from simpul.runtime import open_hub

    hub = open_hub(actor="cli:import")
    try:
        try:
            result = import_export(hub, args.file, args.account)
        except (ImportRefused, AccountError) as exc:
            raise UsageError(str(exc)) from None
    finally:
        hub.close()
    c = result.counts
    created = " (new retired account)" if result.account_created else ""
    print(
        f"imported {result.orders} Bukalapak orders into account {result.account_id}{created}: {c.new} new, {c.changed} changed,"
        f" {c.unchanged} unchanged, {c.stale} older than stored, {c.quarantined} quarantined"
        + (" (see `simpul quarantine list`)" if c.quarantined else "")
    )
    return EXIT_OK


def register(sub, channels: list[str]) -> None:  # noqa: ANN001 - argparse's private subparsers type
    p = sub.add_parser("import", help="import order history a retired channel exported (bukalapak)")
    isub = p.add_subparsers(dest="import_source", required=True, metavar="SOURCE")
    b = isub.add_parser("bukalapak", help="a Bukalapak seller centre order export (CSV): Bukalapak closed physical-goods selling on 2025-03-02")
    b.add_argument("file", help="the export, CSV in UTF-8")
    b.add_argument("--account", required=True, help="account id to keep the history under (created as a retired bukalapak account)")
    p.set_defaults(func=cmd_import)
