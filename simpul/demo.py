"""``simpul demo``: every channel's sandbox, seeded, synced end to end on the default database.

Nothing to start by hand: the sandboxes run in this process on free ports, the demo
accounts are (re-)registered against them, and the sync runs as the Prefect flow on an
ephemeral Prefect API (or straight through the engine with ``direct=True``).
"""

from __future__ import annotations

import sys
from typing import Any

from connectors._sandbox import SandboxServer
from simpul.channels import CHANNELS
from simpul.engine import SyncRequest
from simpul.runtime import open_hub


def run_demo(*, orders: int = 300, seed: int = 7, direct: bool = False) -> list[dict[str, Any]]:
    servers = []
    hub = open_hub(actor="cli:demo")
    try:
        requests = []
        for name, channel in sorted(CHANNELS.items()):
            app = channel.sandbox_class()(orders=orders, seed=seed)
            server = SandboxServer(app, seed=seed).start()
            servers.append(server)
            account_id = f"demo-{name}"
            hub.accounts.add(account_id, name, f"Demo {channel.title}", server.url, app.demo_credentials(), history_days=60, replace=True, verify=True)
            requests.append(SyncRequest(account_id))
            print(f"sandbox {name}: {orders} orders on {server.url}", file=sys.stderr)
        if direct:
            from simpul.cli.sync import sync_direct

            return sync_direct(hub, requests)
        from flows.sync_orders import run_sync_flow

        return run_sync_flow(requests)
    finally:
        for server in servers:
            server.stop()
        hub.close()
