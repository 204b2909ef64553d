"""The engine over the in-memory fake channel, on SQLite and on PostgreSQL.

These pin the sync guarantees independent of any one channel: nothing lost, nothing
doubled, older never overwrites newer, crashes resume from the last committed page,
credential errors stop without advancing, bad payloads are quarantined.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from connectors._http.errors import CredentialError, TransientError
from simpul import audit, quarantine, store
from simpul.engine import RESYNC, AccountUnavailable, SyncRequest
from simpul.model import Order, OrderLine, SyncCheckpoint, SyncRun
from tests import fakes
from tests.tamper import drop_append_only

# The engine reads this fixed instant, never the wall clock (the ``account`` fixture
# injects it): a window computed from NOW is the window the engine plans, however long
# the suite took to get here.
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)


def ts(delta: timedelta) -> int:
    return int((NOW + delta).timestamp())


def stored(db) -> dict[str, tuple]:  # noqa: ANN001
    t = Order.__table__
    with db.connect() as conn:
        return {r.external_id: (r.raw_status, str(r.total), int(r.updated_at.timestamp())) for r in conn.execute(sa.select(t))}


def expected(source) -> dict[str, tuple]:  # noqa: ANN001
    return {
        k: (r["status"], str(r["total"]), r["updated"])
        for k, r in source.records.items()
        if r["total"] != "abc"
    }


@pytest.fixture
def account(hub, fake_channel):  # noqa: ANN001
    hub.engine.clock = lambda: NOW
    hub.accounts.add("shop-1", "fake", "Shop 1", "http://fake", {"token": "good"}, history_days=10)
    return "shop-1"


def test_first_sync_lands_everything_and_second_writes_nothing(hub, fake_channel, account) -> None:  # noqa: ANN001
    for i in range(20):  # the window ends at NOW, exclusive: the newest order is an hour older
        fake_channel.put(f"o{i:02}", ts(-timedelta(hours=7 * i + 1)))
    first = hub.engine.run(SyncRequest(account))
    assert first.status == "completed"
    assert first.counts.new == 20
    assert stored(hub.db) == expected(fake_channel)

    second = hub.engine.run(SyncRequest(account))
    assert second.counts.written == 0
    assert stored(hub.db) == expected(fake_channel)
    with hub.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(OrderLine.__table__)).scalar() == 20


def test_ties_across_page_and_run_boundaries_land_exactly_once(hub, fake_channel, account) -> None:  # noqa: ANN001
    tie = ts(-timedelta(hours=2))
    for i in range(8):  # page size 3: the tie spans three pages
        fake_channel.put(f"t{i}", tie)
    run = hub.engine.run(SyncRequest(account))
    assert run.counts.new == 8
    with hub.db.connect() as conn:
        cursor = store.load_cursor(conn, account)
    # Records stamped with the bookmark's own second arrive after the run.
    for i in range(4):
        fake_channel.put(f"late{i}", int(cursor.timestamp()) - 1)
    run2 = hub.engine.run(SyncRequest(account))
    assert run2.counts.new == 4
    assert stored(hub.db) == expected(fake_channel)
    t = Order.__table__
    with hub.db.connect() as conn:
        dupes = conn.execute(sa.select(t.c.external_id).group_by(t.c.account_id, t.c.external_id).having(sa.func.count() > 1)).all()
    assert dupes == []


def test_older_payload_never_overwrites_newer(hub, fake_channel, account) -> None:  # noqa: ANN001
    fake_channel.put("o1", ts(-timedelta(hours=1)), status="done", total="500")
    hub.engine.run(SyncRequest(account))
    older = fakes.map_order({"id": "o1", "updated": ts(-timedelta(hours=3)), "status": "unpaid", "total": "400"})
    ctx = store.WriteContext(account, "fake", None, "test", NOW, fakes.MAPPING_VERSION)
    with hub.db.begin() as conn:
        counts = store.apply_page(conn, ctx, [older])
        store.flush_audit(conn, ctx)
    assert (counts.stale, counts.written) == (1, 0)
    assert stored(hub.db)["o1"] == ("done", "500", fake_channel.records["o1"]["updated"])
    # An equal update time with different content is applied (the hash breaks the tie).
    same_time = fakes.map_order({**fake_channel.records["o1"], "total": "501"})
    with hub.db.begin() as conn:
        counts = store.apply_page(conn, ctx, [same_time])
        store.flush_audit(conn, ctx)
    assert counts.changed == 1
    assert stored(hub.db)["o1"][1] == "501"


def test_crash_resumes_after_last_committed_page(hub, fake_channel, account) -> None:  # noqa: ANN001
    for i in range(12):
        fake_channel.put(f"o{i:02}", ts(-timedelta(hours=1, minutes=i)))
    fake_channel.fail_after_pages = 6  # four empty windows, then two pages of three
    with pytest.raises(TransientError):
        hub.engine.run(SyncRequest(account))
    with hub.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(SyncCheckpoint.__table__)).scalar() == 1
        assert store.load_cursor(conn, account) is None  # the cursor never runs ahead
    landed_before = len(stored(hub.db))
    assert 0 < landed_before < 12
    served_before = fake_channel.pages_served
    rerun = hub.engine.run(SyncRequest(account))
    assert rerun.counts.new == 12 - landed_before
    assert rerun.counts.unchanged == 0  # resumed after the committed pages, no re-read
    assert fake_channel.pages_served - served_before < 12 // 3 + 6
    assert stored(hub.db) == expected(fake_channel)


def test_a_run_that_died_is_marked_abandoned_when_the_next_takes_over(hub, fake_channel, account) -> None:  # noqa: ANN001
    fake_channel.put("o1", ts(-timedelta(hours=1)))
    hub.engine.plan(SyncRequest(account), "died")  # planned, then the process was killed
    done = hub.engine.run(SyncRequest(account))
    runs = SyncRun.__table__
    with hub.db.connect() as conn:
        rows = {r.run_id: r for r in conn.execute(sa.select(runs.c.run_id, runs.c.status, runs.c.error))}
    assert rows["died"].status == "abandoned" and done.run_id in rows["died"].error
    assert rows[done.run_id].status == "completed"


def test_credential_error_stops_without_advancing(hub, fake_channel, account) -> None:  # noqa: ANN001
    fake_channel.put("o1", ts(-timedelta(hours=1)))
    fake_channel.fail_after_pages, fake_channel.fail_with = 0, CredentialError
    with pytest.raises(CredentialError):
        hub.engine.run(SyncRequest(account))
    info = hub.accounts.get(account)
    assert info.status == "credential_error"
    with hub.db.connect() as conn:
        assert store.load_cursor(conn, account) is None
    skipped = hub.engine.run(SyncRequest(account))
    assert skipped.status == "skipped" and "credential_error" in skipped.error
    with pytest.raises(AccountUnavailable):
        hub.engine.plan(SyncRequest(account), "x")


def test_bad_payload_is_quarantined_and_the_page_still_lands(hub, fake_channel, account) -> None:  # noqa: ANN001
    fake_channel.put("ok1", ts(-timedelta(hours=1)))
    fake_channel.put("bad", ts(-timedelta(hours=1)), total="abc")
    fake_channel.put("ok2", ts(-timedelta(hours=1)))
    run = hub.engine.run(SyncRequest(account))
    assert (run.counts.new, run.counts.quarantined) == (2, 1)
    with hub.db.connect() as conn:
        rows = store.open_quarantine(conn)
    assert [(r["external_id"], r["reason"]) for r in rows] == [("bad", "total: not an amount")]
    # Still bad: replay keeps it open. A fixed payload arriving later resolves it.
    assert quarantine.replay(hub.db).still_failing == 1
    fake_channel.put("bad", ts(-timedelta(minutes=1)), total="700")
    hub.engine.run(SyncRequest(account, job=RESYNC, order_ids=("bad",)))
    with hub.db.connect() as conn:
        assert store.open_quarantine(conn) == []
    assert stored(hub.db)["bad"][1] == "700"


def test_resync_by_order_numbers_reports_missing(hub, fake_channel, account) -> None:  # noqa: ANN001
    fake_channel.put("o1", ts(-timedelta(hours=1)))
    run = hub.engine.run(SyncRequest(account, job=RESYNC, order_ids=("o1", "nope")))
    assert run.counts.new == 1 and run.missing == ["nope"]
    with hub.db.connect() as conn:
        assert store.load_cursor(conn, account) is None  # a resync never moves the cursor
        [asked] = audit.entries(conn, action_prefix="resync.requested")
    assert (asked["actor"], asked["run_id"], asked["summary"]) == ("test", run.run_id, '{"ids":2,"since":null,"until":null}')


def test_a_resync_reads_order_numbers_in_the_batches_the_spec_declares(hub, fake_channel, account, monkeypatch) -> None:  # noqa: ANN001
    from dataclasses import replace

    from simpul.channels import CHANNELS

    spec = CHANNELS["fake"]
    monkeypatch.setitem(CHANNELS, "fake", replace(spec, streams=(replace(spec.streams[0], batch=3),)))
    for i in range(7):
        fake_channel.put(f"o{i}", ts(-timedelta(hours=1)))
    run = hub.engine.run(SyncRequest(account, job=RESYNC, order_ids=tuple(f"o{i}" for i in range(7))))
    assert (run.counts.new, run.pages) == (7, 3)  # 3 + 3 + 1, one committed page per read


def test_audit_records_every_write_and_catches_tampering(hub, fake_channel, account) -> None:  # noqa: ANN001
    for i in range(5):
        fake_channel.put(f"o{i}", ts(-timedelta(hours=i + 1)))
    run = hub.engine.run(SyncRequest(account))
    fake_channel.put("o0", ts(-timedelta(minutes=1)), status="done")
    run2 = hub.engine.run(SyncRequest(account))
    with hub.db.connect() as conn:
        writes = [e for e in audit.entries(conn, action_prefix="order.") if e["action"] in ("order.created", "order.updated")]
        assert len(writes) == run.counts.written + run2.counts.written == 6
        assert audit.verify(conn).ok
    drop_append_only(hub.db)
    with hub.db.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET summary = '{}' WHERE seq = 3"))
    with hub.db.connect() as conn:
        verdict = audit.verify(conn)
    assert not verdict.ok and verdict.first_broken_seq == 3
