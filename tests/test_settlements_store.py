"""The settlements stream's store path on both databases: one row per order, the version
guard (update time, then content hash) in the read and again in the upsert, the audit of
every payout change, and quarantine resolved only for the settlement stream (a
settlement's key is its order's number, which an order's quarantine row shares). The
Shopee walk through the real engine is ``tests/shopee/test_settlements_stream.py``."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa

from simpul import audit, store
from simpul.canonical import Settlement, SettlementRecord
from simpul.model import Quarantine
from simpul.model import Settlement as SettlementRow

UTC = timezone.utc
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
RELEASED = NOW - timedelta(days=2)
TABLE, QUARANTINE = SettlementRow.__table__, Quarantine.__table__


def record(order: str, payout: str, *, updated: datetime = RELEASED, digest: str | None = None, detail: bool = True) -> SettlementRecord:
    expected = Decimal("90000") if detail else None  # without the detail, only the listed payout is known
    s = Settlement(order_external_id=order, payout_amount=Decimal(payout), released_at=RELEASED, updated_at=updated, expected_amount=expected)
    return SettlementRecord(settlement=s, mapping_version="t-1", payload_hash=digest or f"{order}-{payout}-{updated.timestamp():.0f}-{detail}")


def ctx(stream: str = "settlements") -> store.WriteContext:
    return store.WriteContext(account_id="a1", channel="shopee", run_id=None, actor="test", now=NOW, mapping_version="t-1", stream=stream)


def write(db, records, rejected=()) -> store.PageCounts:  # noqa: ANN001
    context = ctx()
    with db.begin() as conn:
        counts = store.apply_settlements(conn, context, records, rejected)
        store.flush_audit(conn, context)
    return counts


def payouts(db) -> dict[str, Decimal]:  # noqa: ANN001
    with db.connect() as conn:
        rows = conn.execute(sa.select(TABLE.c.order_external_id, TABLE.c.payout_amount).where(TABLE.c.account_id == "a1")).all()
    assert len(rows) == len({r[0] for r in rows}), "one row per order"
    return dict(rows)


def events(db, prefix: str) -> list[dict]:  # noqa: ANN001
    with db.connect() as conn:
        assert audit.verify(conn).ok
        return [{**e, "summary": json.loads(e["summary"])} for e in audit.entries(conn, action_prefix=prefix)]


def test_new_unchanged_newer_older_and_a_tie_with_other_content(db) -> None:  # noqa: ANN001
    assert write(db, [record("o1", "88000"), record("o2", "5000")]).new == 2
    assert write(db, [record("o1", "88000")]).unchanged == 1
    later = RELEASED + timedelta(hours=5)
    assert write(db, [record("o1", "87000", updated=later)]).changed == 1
    assert write(db, [record("o1", "86000")]).stale == 1  # the release-time version is older than the adjustment
    assert write(db, [record("o2", "5100", digest="other-content")]).changed == 1  # same version, other content
    assert payouts(db) == {"o1": Decimal("87000"), "o2": Decimal("5100")}
    created, updated = events(db, "settlement.created"), events(db, "settlement.updated")
    assert sorted(e["entity_key"] for e in created) == ["o1", "o2"]
    first = next(e for e in updated if e["entity_key"] == "o1")
    assert (Decimal(first["summary"]["before"]["payout"]), Decimal(first["summary"]["after"]["payout"])) == (88000, 87000)


def test_the_listed_payout_alone_never_replaces_the_detail_of_the_same_version(db) -> None:  # noqa: ANN001
    write(db, [record("o1", "88000")])
    assert write(db, [record("o1", "88000", detail=False)]).stale == 1
    with db.connect() as conn:
        assert conn.execute(sa.select(TABLE.c.expected_amount)).scalar_one() == Decimal("90000")
    older = record("o1", "88000", detail=False)  # and the upsert's own guard, for a writer that raced past the read
    row = {"account_id": "a1", **{f: getattr(older.settlement, f) for f in store._SETTLEMENT_FIELDS}, "payload_hash": older.payload_hash, "mapping_version": "t-1"}
    with db.begin() as conn:
        conn.execute(store.settlements_upsert(conn.dialect.name, tuple(row)), [row])
        assert conn.execute(sa.select(TABLE.c.expected_amount)).scalar_one() == Decimal("90000")
    assert write(db, [record("o2", "5000", detail=False)]).new == 1  # a listed payout alone lands
    assert write(db, [record("o2", "5000")]).changed == 1  # and the detail, when it comes, replaces it


def test_one_page_repeating_an_order_keeps_its_newest_word(db) -> None:  # noqa: ANN001
    later = RELEASED + timedelta(hours=1)
    assert write(db, [record("o1", "2", updated=later), record("o1", "1")]).new == 1
    assert payouts(db) == {"o1": Decimal("2")}


def test_the_upserts_own_guard_holds_for_a_writer_that_raced_past_the_read(db) -> None:  # noqa: ANN001
    write(db, [record("o1", "87000", updated=RELEASED + timedelta(hours=5))])
    older = record("o1", "86000")
    row = {"account_id": "a1", **{f: getattr(older.settlement, f) for f in store._SETTLEMENT_FIELDS}, "payload_hash": older.payload_hash, "mapping_version": "t-1"}
    with db.begin() as conn:
        conn.execute(store.settlements_upsert(conn.dialect.name, tuple(row)), [row])
    assert payouts(db) == {"o1": Decimal("87000")}


def test_a_mapped_settlement_resolves_its_own_quarantine_row_not_its_orders(db) -> None:  # noqa: ANN001
    bad = store.Rejected(external_id="o1", reason="order_income: expected an object", payload={"order_sn": "o1"}, payload_hash="bad-settlement")
    with db.begin() as conn:
        for stream, rejected in (("orders", replace(bad, payload_hash="bad-order")), ("settlements", bad)):
            context = ctx(stream)
            store.quarantine(conn, context, [rejected])
            store.flush_audit(conn, context)
    write(db, [record("o1", "88000")])
    with db.connect() as conn:
        rows = dict(conn.execute(sa.select(QUARANTINE.c.stream, QUARANTINE.c.resolved_at).where(QUARANTINE.c.external_id == "o1")).all())
    assert rows["settlements"] is not None and rows["orders"] is None
