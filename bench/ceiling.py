"""The database ceiling: the same canonical rows bulk-upserted straight into the same tables.

No HTTP, no mapping, no raw-payload copy, no audit, no checkpoint: rows are built before
the clock starts, then written 1,000 orders per transaction with the statement shape the
store uses (executemany, ``ON CONFLICT DO UPDATE ... WHERE`` newer wins) plus plain
executemany inserts of the lines, shipments, events and returns. This is as fast as
these tables take these rows from Python; the engine is measured against it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from simpul import store
from simpul.canonical import OrderBundle
from simpul.db import Database

BATCH = 1000  # orders per statement and transaction


def build_rows(account: str, channel: str, bundles: Sequence[OrderBundle]) -> list[tuple[list[dict[str, Any]], dict[sa.Table, list[dict[str, Any]]]]]:
    """Per batch: the order rows and the child rows of each child table (built untimed)."""
    # store's own row builders, so the ceiling writes exactly the columns a sync writes
    ctx = store.WriteContext(account, channel, None, "bench", datetime.now(timezone.utc), "ceiling")
    batches = []
    for start in range(0, len(bundles), BATCH):
        chunk = bundles[start : start + BATCH]
        children = {
            table: [
                {"account_id": account, "order_external_id": b.order.external_id, **{n: getattr(child, n) for n in names}}
                for b in chunk
                for child in getattr(b, attr)
            ]
            for table, attr, names in store._CHILDREN
        }
        batches.append(([store._order_row(b, ctx) for b in chunk], children))
    return batches


def bulk_upsert(db: Database, batches: list[tuple[list[dict[str, Any]], dict[sa.Table, list[dict[str, Any]]]]]) -> float:
    """Write every batch; returns the seconds it took."""
    statement = store.upsert_statement(db.dialect, tuple(batches[0][0][0]))  # the sync's own guarded upsert
    started = time.perf_counter()
    for orders, children in batches:
        with db.begin() as conn:
            conn.execute(statement, orders)
            for table, rows in children.items():
                if rows:
                    conn.execute(sa.insert(table), rows)
    return time.perf_counter() - started
