"""Planner statistics for a fast-growing ``orders`` table on PostgreSQL.

Every page reads the stored versions of its orders by ``(account_id, external_id)``.
PostgreSQL plans that read from the table's statistics; a table that was never analysed,
or has grown far past what was analysed (autovacuum off or lagging behind a first sync
of 100k orders), gets a plan that scans all of the account's rows: 71 ms a page at 40k
orders instead of 1 ms (bench/README.md). So a run refreshes the statistics itself,
outside any page's transaction, once it has inserted as many orders as they know of
(at least ``MIN_ROWS``): a handful of ``ANALYZE`` runs for a first sync of 100k orders,
none for a scheduled run. Nothing to do on SQLite, whose planner takes the index anyway.
"""

from __future__ import annotations

import threading

import sqlalchemy as sa

from simpul.db import Database

MIN_ROWS = 1000
TABLES = ("orders", "order_line", "shipment")  # read by order key per page and per run


class PlannerStatistics:
    """Counts inserted orders and runs ``ANALYZE`` when the statistics are half out of date."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._known: float | None = None  # the orders the statistics describe
        self._inserted = 0
        self.analysed = 0  # how many times, for tests and benchmarks

    def inserted(self, orders: int) -> None:
        if orders <= 0 or self.db.dialect != "postgresql":
            return
        with self._lock:
            if self._known is None:
                self._known = self._described()
            self._inserted += orders
            if self._inserted < max(MIN_ROWS, self._known):
                return
            with self.db.begin() as conn:
                conn.exec_driver_sql(f"ANALYZE {', '.join(TABLES)}")
            self.analysed += 1
            self._known, self._inserted = self._described(), 0

    def _described(self) -> float:
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT reltuples FROM pg_class WHERE oid = to_regclass('orders')")
            ).scalar_one_or_none()
        return max(float(rows or 0), 0.0)  # -1: never analysed
