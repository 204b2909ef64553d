"""``simpul demo``: every channel's sandbox, seeded, synced end to end on the default database.

Nothing to start by hand: the sandboxes run in this process on free ports, the demo
accounts are (re-)registered against them, and the sync runs as the Prefect flow (on
``PREFECT_API_URL``, else a temporary Prefect API started with a visible line,
``simpul.prefect_api``), or straight through the engine with ``direct=True``.

The demo is set-up for its home: it creates the key ring there if there is none (and the
database holds nothing sealed under another ring). When it ends, its sandboxes stop, so
the demo accounts are disabled with that reason: the next `simpul sync` skips them
instead of failing on ports nobody listens on. The next demo enables them again.
"""

from __future__ import annotations

import sys
from typing import Any

from connectors._sandbox import SandboxServer
from simpul.channels import CHANNELS
from simpul.db import Database
from simpul.engine import SyncRequest
from simpul.runtime import open_hub

STOPPED = "demo sandbox stopped when `simpul demo` ended; the next demo enables it again"


def run_demo(*, orders: int = 300, seed: int = 7, direct: bool = False) -> list[dict[str, Any]]:
    from simpul import keys

    db = Database()
    try:
        db.migrate()
        ring, created = keys.init_ring(db)
    finally:
        db.dispose()
    if created:
        print(f"key ring created at {ring.source} (mode 0600)", file=sys.stderr)
    servers = []
    hub = open_hub(actor="cli:demo", keyring=ring)
    account_ids: list[str] = []
    try:
        requests = []
        for name, channel in sorted(CHANNELS.items()):
            app = channel.sandbox_class()(orders=orders, seed=seed)
            server = SandboxServer(app, seed=seed).start()
            servers.append(server)
            account_id = f"demo-{name}"
            hub.accounts.add(account_id, name, f"Demo {channel.title}", server.url, app.demo_credentials(), history_days=60, replace=True, verify=True)
            account_ids.append(account_id)
            requests.append(SyncRequest(account_id))
            print(f"sandbox {name}: {orders} orders on {server.url}", file=sys.stderr)
        if direct:
            from simpul.cli.sync import sync_direct

            return sync_direct(hub, requests)
        from simpul.cli.sync import sync_with_prefect

        return sync_with_prefect(requests)
    finally:
        for server in servers:
            server.stop()
        for account_id in account_ids:
            hub.accounts.disable(account_id, STOPPED)
        hub.close()
