"""The returns stream through the real engine and store, on both databases, with the fake
channel (``tests.fakes`` with ``returns=True``): what every channel's returns stream relies
on, independent of any channel's protocol (the per-channel suite is
``tests/contract/returns_suite.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

import tests.fake_returns as fake_returns
from simpul import audit, quarantine, store
from simpul.canonical import ReturnStatus
from simpul.channels import CHANNELS
from simpul.engine import RESYNC, SyncRequest
from simpul.model import Order, Return
from tests.fakes import FakeSource, fake_spec

UTC = timezone.utc
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
T0 = int((NOW - timedelta(days=3)).timestamp())
RETURNS, ORDERS = Return.__table__, Order.__table__


@pytest.fixture
def source(monkeypatch) -> Iterator[FakeSource]:  # noqa: ANN001
    import tests.fakes as fakes

    monkeypatch.setitem(CHANNELS, "fake", fake_spec("tests.fakes:FakeConnector", returns=True))
    monkeypatch.setattr(fakes, "SOURCE", FakeSource())
    yield fakes.SOURCE


@pytest.fixture
def account(hub, source) -> str:  # noqa: ANN001
    hub.engine.clock = lambda: NOW
    hub.accounts.add("f1", "fake", "Fake", "http://fake", {"token": "good"}, history_days=7)
    for i in range(7):
        source.put(f"o{i}", T0 + i)
    for i in range(5):
        source.put_return(f"r{i}", f"o{i}", T0 + 100 + i)
    return "f1"


def stored(hub) -> dict[tuple[str, str], dict]:  # noqa: ANN001
    with hub.db.connect() as conn:
        rows = conn.execute(sa.select(RETURNS).where(RETURNS.c.account_id == "f1")).mappings().all()
    keys = [(r["order_external_id"], r["external_id"]) for r in rows]
    assert len(keys) == len(set(keys)), "one row per return"
    return {(r["order_external_id"], r["external_id"]): dict(r) for r in rows}


def actions(hub, prefix: str) -> list[dict]:  # noqa: ANN001
    with hub.db.connect() as conn:
        assert audit.verify(conn).ok
        return [{**e, "summary": json.loads(e["summary"])} for e in audit.entries(conn, action_prefix=prefix)]


def test_an_incremental_run_reads_the_returns_after_the_orders_and_a_rerun_writes_nothing(hub, source, account) -> None:  # noqa: ANN001
    first = hub.engine.run(SyncRequest(account))
    assert first.status == "completed" and (first.counts.new, first.returns.new) == (7, 5)
    rows = stored(hub)
    assert sorted(rows) == [(f"o{i}", f"r{i}") for i in range(5)]
    assert {r["source"] for r in rows.values()} == {"stream"}
    assert rows[("o0", "r0")]["reason_code"] == "damaged" and rows[("o0", "r0")]["reason"] == "rusak"
    with hub.db.connect() as conn:  # each stream has its own cursor, at the plan's end
        assert store.load_cursor(conn, account) == NOW
        assert store.load_cursor(conn, account, stream="returns") == NOW
    assert len(actions(hub, "return.created")) == 5
    second = hub.engine.run(SyncRequest(account))
    assert second.counts.written == second.returns.written == 0 and second.returns.unchanged == 0  # nothing new after the lookback
    assert stored(hub) == rows


def test_a_status_change_is_written_and_audited_with_before_and_after(hub, source, account) -> None:  # noqa: ANN001
    hub.engine.run(SyncRequest(account))
    later = int(NOW.timestamp()) + 60
    source.put_return("r1", "o1", later, status="approved")
    hub.engine.clock = lambda: NOW + timedelta(minutes=5)
    run = hub.engine.run(SyncRequest(account))
    assert (run.returns.changed, run.counts.written) == (1, 0)
    assert stored(hub)[("o1", "r1")]["status"] == "approved"
    [event] = actions(hub, "return.updated")
    assert event["entity_key"] == "o1/r1"
    assert (event["summary"]["before"]["status"], event["summary"]["after"]["status"]) == ("requested", "approved")


def test_an_older_record_never_overwrites_a_newer_one(hub, source, account) -> None:  # noqa: ANN001
    hub.engine.run(SyncRequest(account))
    newer = fake_returns.map_return({**source.returns["r2"], "updated": T0 + 5000, "status": "refunded"})
    older = fake_returns.map_return({**source.returns["r2"], "updated": T0 + 3000, "status": "approved"})
    ctx = store.WriteContext(account_id=account, channel="fake", run_id=None, actor="test", now=NOW, mapping_version="x", stream="returns")
    with hub.db.begin() as conn:
        assert store.apply_returns(conn, ctx, [newer]).changed == 1
        assert store.apply_returns(conn, ctx, [older]).stale == 1
        # the upsert's own guard holds even for a writer that raced past the read
        row = {"account_id": account, "order_external_id": "o2", **{f: getattr(older.ret, f) for f in store._RETURN_FIELDS}}
        row.update(source="stream", payload_hash=older.payload_hash, mapping_version="x")
        conn.execute(store.returns_upsert(conn.dialect.name, tuple(row)), [row])
    assert stored(hub)[("o2", "r2")]["status"] == "refunded"


def test_an_order_sync_keeps_the_stream_rows_and_the_stream_supersedes_the_orders_summary(hub, source, account) -> None:  # noqa: ANN001
    source.records["o0"]["returned"] = True  # the order's own summary also names a buyer return
    source.records["o6"]["returned"] = True  # ... and one the returns stream does not know
    source.records["o2"]["returned"] = "unknown"  # a summary whose type the payload cannot tell
    hub.engine.run(SyncRequest(account))
    rows = stored(hub)
    assert ("o0", "o0-return") not in rows  # superseded: one return, one row
    assert ("o2", "o2-return") not in rows  # an untyped summary gives way to the stream's record of the order
    assert rows[("o6", "o6-return")]["source"] == "order"
    later = int(NOW.timestamp()) + 60
    for i in (0, 1, 6):  # the orders change: their children are replaced
        source.put(f"o{i}", later, status="done")
    source.records["o0"]["returned"] = source.records["o6"]["returned"] = True
    hub.engine.clock = lambda: NOW + timedelta(minutes=5)
    hub.engine.run(SyncRequest(account))
    after = stored(hub)
    assert sorted(after) == sorted(rows)
    assert after[("o0", "r0")]["source"] == "stream" and after[("o1", "r1")]["status"] == "requested"


def test_a_failing_returns_listing_never_holds_the_orders_back_and_the_rerun_resumes(hub, source, account) -> None:  # noqa: ANN001
    source.fail_returns = 99
    with pytest.raises(Exception, match="returns listing failed"):
        hub.engine.run(SyncRequest(account))
    with hub.db.connect() as conn:
        assert store.load_cursor(conn, account) == NOW  # the orders are in, their cursor moved
        assert store.load_cursor(conn, account, stream="returns") is None
    assert stored(hub) == {}
    for later in (1, 2):  # the returns keep failing: every run still brings the orders first
        hub.engine.clock = lambda later=later: NOW + timedelta(minutes=30 * later)
        source.put(f"late{later}", int((NOW + timedelta(minutes=30 * later - 1)).timestamp()))  # changed since the last run
        with pytest.raises(Exception, match="returns listing failed"):
            hub.engine.run(SyncRequest(account))
        with hub.db.connect() as conn:
            assert store.load_cursor(conn, account) == NOW + timedelta(minutes=30 * later)
            assert conn.execute(sa.select(sa.func.count()).select_from(ORDERS).where(ORDERS.c.external_id == f"late{later}")).scalar_one() == 1
    source.fail_returns = 0
    rerun = hub.engine.run(SyncRequest(account))
    assert rerun.returns.new == 5  # the returns start over from their own cursor: none was written before
    with hub.db.connect() as conn:
        assert store.load_cursor(conn, account, stream="returns") == NOW + timedelta(minutes=60)


def test_a_resync_window_rereads_the_returns_without_moving_their_cursor(hub, source, account) -> None:  # noqa: ANN001
    hub.engine.run(SyncRequest(account))
    with hub.db.begin() as conn:
        conn.execute(sa.delete(RETURNS).where(RETURNS.c.external_id == "r3"))
    since = datetime.fromtimestamp(T0, UTC)
    hub.engine.clock = lambda: NOW + timedelta(hours=1)
    run = hub.engine.run(SyncRequest(account, job=RESYNC, since=since))
    assert run.returns.new == 1 and ("o3", "r3") in stored(hub)
    with hub.db.connect() as conn:
        assert store.load_cursor(conn, account, stream="returns") == NOW
    by_number = hub.engine.run(SyncRequest(account, job=RESYNC, order_ids=("o1",)))  # order numbers: orders only
    assert by_number.counts.unchanged == 1


def test_a_bad_return_is_quarantined_the_rest_lands_and_replay_uses_the_returns_mapping(hub, source, account, monkeypatch) -> None:  # noqa: ANN001
    source.returns["r4"]["refund"] = "sepuluh ribu"
    run = hub.engine.run(SyncRequest(account))
    assert (run.returns.quarantined, run.counts.quarantined) == (1, 0) and len(stored(hub)) == 4
    with hub.db.connect() as conn:
        [row] = store.open_quarantine(conn, account)
    assert (row["stream"], row["external_id"], row["reason"]) == ("returns", "r4", "refund: not an amount")
    assert actions(hub, "returns.quarantined")
    fixed = fake_returns.map_return
    monkeypatch.setattr(fake_returns, "map_return", lambda raw: fixed({**raw, "refund": "0"}))  # the mapping learnt it
    result = quarantine.replay(hub.db, account_id=account, actor="test")
    assert (result.replayed, result.written) == (1, 1)
    assert stored(hub)[("o4", "r4")]["source"] == "stream"


def test_a_return_without_its_update_time_is_refused_by_the_boundary(hub, source, account, monkeypatch) -> None:  # noqa: ANN001
    mapped = fake_returns.map_return
    monkeypatch.setattr(fake_returns, "map_return", lambda raw: replace(r := mapped(raw), ret=replace(r.ret, updated_at=None)))
    run = hub.engine.run(SyncRequest(account))
    assert run.returns.quarantined == 5
    with hub.db.connect() as conn:
        reasons = {r["reason"] for r in store.open_quarantine(conn, account)}
    assert reasons == {"updated_at: missing (a returns stream's record needs the source's update time)"}


def test_the_statuses_are_the_canonical_ones(hub, source, account) -> None:  # noqa: ANN001
    source.put_return("r9", "o6", T0 + 200, status="weird")
    hub.engine.run(SyncRequest(account))
    row = stored(hub)[("o6", "r9")]
    assert (row["status"], row["raw_status"]) == (ReturnStatus.UNKNOWN.value, "weird")


def test_a_returns_stream_has_its_own_page_budget_where_its_pages_cost_more() -> None:
    """A returns page of Shopee or WooCommerce reads a detail per return (per refunded order),
    so its budget allows that; the orders walk keeps its own, tighter one."""
    from connectors.contract import limits_of
    from connectors.shopee.client import ShopeeConnector
    from connectors.tiktok.client import TikTokConnector
    from connectors.woocommerce.client import WooCommerceConnector

    assert (limits_of(WooCommerceConnector).requests_per_page, limits_of(WooCommerceConnector, "returns").requests_per_page) == (1, 101)
    assert (limits_of(ShopeeConnector).requests_per_page, limits_of(ShopeeConnector, "returns").requests_per_page) == (5, 101)
    assert limits_of(TikTokConnector, "returns") is limits_of(TikTokConnector)  # one request a page either way
