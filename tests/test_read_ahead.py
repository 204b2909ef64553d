"""The engine's speed-ups keep its request and error semantics: read-ahead of pages, and
planner statistics on PostgreSQL (bench/README.md, figure 1)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from connectors._http.errors import CredentialError
from connectors.contract import Page
from simpul import tablestats
from simpul.engine import SyncRequest, read_ahead


class Pages:
    """A connector's page generator that records which thread fetched how many pages."""

    def __init__(self, count: int, *, last_has_position: bool = False, fail_at: int | None = None) -> None:
        self.count, self.last_has_position, self.fail_at = count, last_has_position, fail_at
        self.fetched = 0
        self.threads: set[str] = set()
        self.closed = False

    def __iter__(self) -> Iterator[Page]:
        try:
            for i in range(self.count):
                self.threads.add(threading.current_thread().name)
                if i == self.fail_at:
                    raise CredentialError("refused")
                self.fetched += 1
                last = i == self.count - 1
                yield Page(records=[{"i": i}], position=None if last and not self.last_has_position else {"page": i + 1}, requests=1)
        finally:
            self.closed = True


def test_one_page_ahead_in_order_and_nothing_after_the_last_page() -> None:
    source = Pages(4)
    seen = []
    for page, mapped in read_ahead(iter(source), limit=10, prepare=lambda p: [r["i"] * 2 for r in p.records]):
        seen.append(page.records[0]["i"])
        assert mapped == [page.records[0]["i"] * 2]
        assert source.fetched <= len(seen) + 1  # never more than one page ahead
    assert seen == [0, 1, 2, 3]
    assert source.fetched == 4 and source.closed
    assert all(name.startswith("simpul-fetch") for name in source.threads)


def test_no_page_is_fetched_beyond_the_limit() -> None:
    source = Pages(10)
    pages = read_ahead(iter(source), limit=3)
    assert [p.records[0]["i"] for p, _ in pages] == [0, 1, 2]
    assert source.fetched == 3 and source.closed  # the step's requests, no more


def test_a_connector_ending_without_a_final_page_just_ends() -> None:
    source = Pages(2, last_has_position=True)
    assert len(list(read_ahead(iter(source), limit=10))) == 2


def test_an_error_surfaces_at_the_page_it_concerns() -> None:
    source = Pages(5, fail_at=2)
    seen = []
    with pytest.raises(CredentialError):
        for page, _ in read_ahead(iter(source), limit=10):
            seen.append(page.records[0]["i"])
    assert seen == [0, 1] and source.closed


def test_a_consumer_that_stops_early_waits_for_the_fetch_in_flight() -> None:
    source = Pages(5)
    pages = read_ahead(iter(source), limit=10)
    next(pages)
    pages.close()
    assert source.fetched == 2 and source.closed


def test_planner_statistics_follow_a_growing_orders_table(hub, fake_channel, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(tablestats, "MIN_ROWS", 5)
    hub.accounts.add("shop-1", "fake", "Shop 1", "http://fake", {"token": "good"}, history_days=10)
    now = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
    hub.engine.clock = lambda: now  # the run's window ends here, whatever the wall clock says
    for i in range(20):
        fake_channel.put(f"o{i:02}", int((now - timedelta(hours=3 * i + 1)).timestamp()))
    assert hub.engine.run(SyncRequest("shop-1")).counts.new == 20
    if hub.db.dialect != "postgresql":
        assert hub.engine.statistics.analysed == 0  # SQLite's planner takes the index anyway
        return
    assert hub.engine.statistics.analysed >= 1
    with hub.db.connect() as conn:
        assert conn.execute(sa.text("SELECT reltuples FROM pg_class WHERE oid = to_regclass('orders')")).scalar_one() > 0
