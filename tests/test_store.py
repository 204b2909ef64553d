"""The store's write rules on their own, on SQLite and PostgreSQL: the guarded upsert and
the choice between two copies of one order in a page.

``apply_page`` decides from one read of the stored versions, and the upsert statement
repeats the guard in its WHERE clause, so even a writer that raced past the read (another
worker whose read saw an older row) cannot regress a row. The engine tests go through the
read; these tests call the write half alone, so the WHERE clause is what they check.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from simpul import store
from simpul.canonical import OrderBundle
from simpul.model import Order
from tests import fakes

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
T = int(NOW.timestamp()) - 3600  # the order's newest update time in these tests


def bundle(updated: int, total: str, status: str = "paid") -> OrderBundle:
    return fakes.map_order({"id": "o1", "updated": updated, "status": status, "total": total})


def context(now: datetime = NOW, account: str = "shop-1") -> store.WriteContext:
    return store.WriteContext(account, "fake", None, "test", now, fakes.MAPPING_VERSION)


def row(db, account: str = "shop-1") -> dict[str, Any]:  # noqa: ANN001
    t = Order.__table__
    with db.connect() as conn:
        found = conn.execute(
            sa.select(t.c.total, t.c.raw_status, t.c.updated_at, t.c.payload_hash, t.c.written_at).where(t.c.account_id == account, t.c.external_id == "o1")
        ).mappings().one()
    return {"total": str(found["total"]), "status": found["raw_status"], "updated": int(found["updated_at"].timestamp()), "hash": found["payload_hash"], "written_at": found["written_at"]}


@pytest.fixture
def shop(hub, fake_channel):  # noqa: ANN001
    hub.accounts.add("shop-1", "fake", "Shop 1", "http://fake", {"token": "good"})
    with hub.db.begin() as conn:
        store.apply_page(conn, context(), [bundle(T, "500", "done")])
    return hub.db


def upsert_only(db, b: OrderBundle, now: datetime) -> None:  # noqa: ANN001
    """The write half of ``apply_page`` without its read: a writer that raced past it."""
    with db.begin() as conn:
        store._upsert_orders(conn, context(now), [b])


def test_the_upsert_statement_itself_never_lets_an_older_version_overwrite_a_newer(shop) -> None:  # noqa: ANN001
    before = row(shop)
    upsert_only(shop, bundle(T - 7200, "400", "unpaid"), NOW + timedelta(minutes=1))
    assert row(shop) == before


def test_the_upsert_statement_writes_nothing_for_the_same_version(shop) -> None:  # noqa: ANN001
    before = row(shop)
    upsert_only(shop, bundle(T, "500", "done"), NOW + timedelta(minutes=1))
    assert row(shop) == before  # written_at included: the row was not touched


def test_the_upsert_statement_applies_a_newer_version_and_a_same_second_change(shop) -> None:  # noqa: ANN001
    later = NOW + timedelta(minutes=1)
    upsert_only(shop, bundle(T, "501", "done"), later)  # same update time, other content: the hash breaks the tie
    assert (row(shop)["total"], row(shop)["updated"], row(shop)["written_at"]) == ("501", T, later)
    upsert_only(shop, bundle(T + 60, "600", "done"), later + timedelta(minutes=1))
    assert (row(shop)["total"], row(shop)["updated"]) == ("600", T + 60)


@pytest.mark.parametrize("newer_first", [True, False], ids=["newer-first", "older-first"])
def test_of_two_copies_of_one_order_in_a_page_the_newer_lands(hub, fake_channel, newer_first: bool) -> None:  # noqa: ANN001
    hub.accounts.add("shop-1", "fake", "Shop 1", "http://fake", {"token": "good"})
    newer, older = bundle(T, "500", "done"), bundle(T - 7200, "400", "unpaid")
    page = [newer, older] if newer_first else [older, newer]
    with hub.db.begin() as conn:
        counts = store.apply_page(conn, context(), page)
    assert (counts.new, counts.changed) == (1, 0)
    assert (row(hub.db)["total"], row(hub.db)["status"], row(hub.db)["updated"]) == ("500", "done", T)


def test_two_copies_sharing_one_update_time_land_the_same_way_in_either_order(hub, fake_channel) -> None:  # noqa: ANN001
    a, b = bundle(T, "500"), bundle(T, "501")
    for account, page in (("shop-1", [a, b]), ("shop-2", [b, a])):  # one page each, in opposite orders
        hub.accounts.add(account, "fake", account, "http://fake", {"token": "good"})
        with hub.db.begin() as conn:
            store.apply_page(conn, context(account=account), page)
    # The larger (update time, content hash) wins, whatever its position in the page.
    assert row(hub.db, "shop-1")["hash"] == row(hub.db, "shop-2")["hash"] == max(a.payload_hash, b.payload_hash)
