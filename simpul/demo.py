"""``simpul demo``: every channel's sandbox, seeded, synced end to end on the default database,
then one tracking pass over the demo's shipped parcels through the Biteship sandbox.

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
from simpul.channels import CHANNELS, ORDERS
from simpul.db import Database
from simpul.engine import SyncRequest
from simpul.runtime import open_hub

STOPPED = "demo sandbox stopped when `simpul demo` ended; the next demo enables it again"


DEMO_RATE_LIMITS = "*=off,biteship=40"
"""The demo's request budgets, unless ``SIMPUL_RATE_LIMITS`` says otherwise: its sandboxes do
not throttle, and at the budgets the connectors declare for the real channels (Blibli
documents 100 requests per 30 minutes) a demo would take hours; Biteship's sandbox does
enforce its documented 50 requests/s for a live key, so the demo stays under that."""


def run_demo(*, orders: int = 300, seed: int = 7, direct: bool = False) -> list[dict[str, Any]]:
    import os

    from simpul import keys

    os.environ.setdefault("SIMPUL_RATE_LIMITS", DEMO_RATE_LIMITS)  # read by every hub of this process, the flows' too

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
            if not channel.has(ORDERS):
                continue
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

            rows = sync_direct(hub, requests)
        else:
            from simpul.cli.sync import sync_with_prefect

            rows = sync_with_prefect(requests)
        rows += track_demo_parcels(hub, servers, account_ids, seed=seed)
        print_returns_and_cod(hub)
        return rows
    finally:
        for server in servers:
            server.stop()
        for account_id in account_ids:
            hub.accounts.disable(account_id, STOPPED)
        hub.close()


def print_returns_and_cod(hub) -> None:  # noqa: ANN001
    """One line on the returns the demo synced and what waits on the seller, one on its COD money."""
    import sqlalchemy as sa

    from simpul import cod, returns
    from simpul.model import Return

    with hub.db.connect() as conn:
        table = Return.__table__
        by_source = dict(conn.execute(sa.select(table.c.source, sa.func.count()).group_by(table.c.source)).all())
        waiting = returns.waiting(conn)
        money = cod.report(conn)["total"]
    answers = sum(r["waiting_for"] == "answer" for r in waiting)
    print(
        f"returns: {sum(by_source.values())} ({by_source.get('stream', 0)} from returns streams, {by_source.get('order', 0)} from order payloads, "
        f"{by_source.get('parcel', 0)} from tracking); waiting on the seller: {answers} for an answer, {len(waiting) - answers} for a disposition",
        file=sys.stderr,
    )
    settled = f"; marketplaces settled {money['settled']} for {money['settled_amount']} (keeping {money['kept']})" if money["settled"] else ""
    print(
        f"COD: {money['shipped']} shipped, {money['delivered']} delivered ({money['delivered_amount']}), {money['refused']} refused "
        f"(costing {money['refusal_cost']} in shipping){settled}; {money['missing']} await a payout: `simpul cod remit FILE --remitter NAME`",
        file=sys.stderr,
    )


STORIES = ("delivered", "delivered", "delivered", "failed_attempt", "cod_refused", "lost")  # most parcels arrive


def track_demo_parcels(hub, servers: list, account_ids: list[str], *, seed: int) -> list[dict[str, Any]]:  # noqa: ANN001
    """Start the Biteship sandbox, make it know every airway bill the marketplace sandboxes
    issued (a story per parcel: most delivered, some failed attempts, refused COD, lost),
    and run one tracking pass; prints how many parcels are delivered, moving, stuck and returning."""
    import hashlib

    import sqlalchemy as sa

    from mappings import couriers
    from simpul import parcels
    from simpul.cli.sync import sync_direct
    from simpul.engine import TRACK
    from simpul.model import Order, Shipment

    app = CHANNELS["biteship"].sandbox_class()(orders=0, seed=seed)
    server = SandboxServer(app, seed=seed).start()
    servers.append(server)
    shipments, orders = Shipment.__table__, Order.__table__
    with hub.db.connect() as conn:
        rows = conn.execute(
            sa.select(shipments.c.courier, shipments.c.service, shipments.c.tracking_number, orders.c.updated_at)
            .join(orders, sa.and_(orders.c.account_id == shipments.c.account_id, orders.c.external_id == shipments.c.order_external_id))
            .where(shipments.c.tracking_number.is_not(None), shipments.c.account_id.in_(account_ids))
        ).all()
    known = 0
    for carrier, service, number, shipped in rows:
        code = couriers.courier_of_shipment(carrier, service)
        own = couriers.aggregator_courier("biteship", code) if code else None
        if own is None:
            continue
        story = STORIES[int(hashlib.sha1(number.encode()).hexdigest(), 16) % len(STORIES)]
        app.add_parcel(own, number, shipped, story=story)
        known += 1
    account_id = "demo-biteship"
    # A live-mode key: Biteship documents 50 tracking requests/s for it (5/s for test keys),
    # so the demo's pass (at DEMO_RATE_LIMITS) takes seconds.
    hub.accounts.add(account_id, "biteship", "Demo Biteship", server.url, {"api_key": app.add_live_key()}, replace=True, verify=True)
    account_ids.append(account_id)
    print(f"sandbox biteship: {known} of {len(rows)} shipped parcels known, on {server.url}", file=sys.stderr)
    result = sync_direct(hub, [SyncRequest(account_id, job=TRACK)])
    with hub.db.connect() as conn:
        tally = parcels.tally(parcels.listing(conn), now=hub.engine.clock())
    print("parcels: " + ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in tally.items()), file=sys.stderr)
    return result
