"""Figure 2: the same orders loaded by dlt, the peer a Python user would pick.

dlt gets the fairest possible source: the very pages our WooCommerce connector fetches
from the same sandbox process (so HTTP and JSON parsing cost both sides the same), one
``@dlt.resource`` with ``primary_key="id"`` and ``write_disposition="merge"``, loaded into
the same database (SQLite through dlt's ``sqlalchemy`` destination, the same PostgreSQL
server through its ``postgres`` destination). dlt normalises the nested payload into
child tables (line items, meta data, refunds, ...). It runs with its own defaults; its
working files go to a temporary directory and telemetry is off.

Simpul's side is the full sync with its guarantees on: version guard, raw payloads,
audit chain, per-page checkpoints.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from bench.databases import add_account, fresh_database, open_bench_hub
from bench.sandbox import SandboxProcess
from connectors.contract import Window
from simpul.channels import get_channel
from simpul.engine import SyncRequest


def measure(kinds: list[str], channel: str, orders: int, postgres_url: str, log: Any = print) -> list[dict[str, Any]]:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    import dlt  # noqa: F401 - fail early with a clear message when the bench extra is missing

    rows = []
    with SandboxProcess(channel, orders=orders) as sandbox:
        for kind in kinds:
            with fresh_database(kind, postgres_url) as db:
                hub = open_bench_hub(db)
                account = add_account(hub, "bench", channel, sandbox.url, sandbox.credentials)
                started = time.perf_counter()
                summary = hub.engine.run(SyncRequest(account))
                simpul_seconds = time.perf_counter() - started
                assert summary.counts.new == orders, summary.as_row()
                hub.close()
                dlt_seconds, loaded = _dlt_load(kind, db.url, postgres_url, channel, sandbox)
            assert loaded == orders, f"dlt loaded {loaded} of {orders} orders"
            log(f"  {kind:<10} N={orders:>7,}: simpul {simpul_seconds:.2f} s, dlt {dlt_seconds:.2f} s")
            rows.append(
                {
                    "database": kind,
                    "channel": channel,
                    "orders": orders,
                    "simpul_seconds": round(simpul_seconds, 3),
                    "dlt_seconds": round(dlt_seconds, 3),
                    "simpul_orders_per_s": round(orders / simpul_seconds),
                    "dlt_orders_per_s": round(orders / dlt_seconds),
                    "dlt_version": _dlt_version(),
                }
            )
    return rows


def _dlt_load(kind: str, simpul_url: str, postgres_url: str, channel: str, sandbox: SandboxProcess) -> tuple[float, int]:
    """Run one dlt pipeline into the same database; returns (seconds, orders in its table)."""
    import dlt

    connector = get_channel(channel).connector_class()(sandbox.url, sandbox.credentials)
    until = datetime.now(timezone.utc) + timedelta(seconds=1)
    windows = Window(until - timedelta(days=60), until).split(connector.max_window)

    @dlt.resource(name="orders", primary_key="id", write_disposition="merge")
    def orders() -> Iterator[Any]:
        for window in windows:
            for page in connector.order_pages(window):
                yield list(page.records)

    dataset = f"dlt_{uuid.uuid4().hex[:8]}"
    if kind == "sqlite":
        # dlt's sqlalchemy destination on SQLite attaches each dataset as its own file next
        # to the main one; the main file is the database Simpul's sync wrote to.
        destination = dlt.destinations.sqlalchemy(credentials=simpul_url)
        url = simpul_url
    else:
        plain = sa.engine.make_url(postgres_url).set(drivername="postgresql")
        # dlt insists on a password; a server with trust auth never asks for it.
        plain = plain.set(password=plain.password or "unused-with-trust-auth")
        destination = dlt.destinations.postgres(credentials=plain.render_as_string(hide_password=False))
        url = postgres_url
    with tempfile.TemporaryDirectory(prefix="simpul-bench-dlt-") as workdir:
        pipeline = dlt.pipeline(pipeline_name=dataset, destination=destination, dataset_name=dataset, pipelines_dir=workdir)
        started = time.perf_counter()
        pipeline.run(orders())
        seconds = time.perf_counter() - started
        with pipeline.sql_client() as client:
            loaded = client.execute_sql(f"SELECT count(*) FROM {client.make_qualified_table_name('orders')}")[0][0]
        if kind != "sqlite":
            engine = sa.create_engine(url)
            with engine.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{dataset}" CASCADE')
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{dataset}_staging" CASCADE')
            engine.dispose()
    return seconds, loaded


def _dlt_version() -> str:
    import dlt

    return dlt.__version__
