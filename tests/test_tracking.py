"""The tracking stream in the engine: parcels read by key, committed batch by batch.

A fake tracking channel (``faketrack``, this module: connector and mapping) answers from
``REPLIES``; the order side is the fake marketplace of ``tests.fakes``. Both databases.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa

from connectors._http.errors import TransientError
from connectors.contract import Page, ParcelKey, RateLimit
from connectors.spec import TRACKING, ConnectorSpec, Credentials, Stream
from simpul import audit, parcels
from simpul.canonical import MappingError, ParcelTracking, TrackingEvent, TrackingStatus
from simpul.channels import CHANNELS
from simpul.engine import RESYNC, TRACK, SyncRequest
from simpul.model import Order, Parcel, ParcelEvent, Return, Shipment

UTC = timezone.utc
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
MAPPING_VERSION = "faketrack-1"
CODES = {"PU": TrackingStatus.IN_TRANSIT, "OD": TrackingStatus.OUT_FOR_DELIVERY, "DL": TrackingStatus.DELIVERED, "RT": TrackingStatus.EXCEPTION}

REPLIES: dict[str, dict[str, Any]] = {}  # airway bill -> the channel's reply
CALLS: list[list[str]] = []  # airway bills asked, per parcels() call
FAIL_ON_CALL: list[int] = []  # parcels() call numbers (1-based) that raise a transient error

SPEC = ConnectorSpec(
    name="faketrack",
    title="Fake tracking",
    connector="tests.test_tracking:FakeTracker",
    sandbox="tests.test_tracking:FakeTracker",
    credentials=Credentials(fields=("api_key",), secrets=("api_key",)),
    streams=(Stream(TRACKING, mapping="tests.test_tracking", batch=2),),
)


class FakeTracker:
    channel: ClassVar[str] = "faketrack"
    rate_limit: ClassVar[RateLimit | None] = None
    couriers: ClassVar[frozenset[str]] = frozenset({"jne", "jnt"})

    def __init__(self, base_url: str, credentials: Mapping[str, Any], **_: Any) -> None:
        pass

    def check(self) -> None:
        return None

    def parcels(self, keys: Sequence[ParcelKey]) -> Iterator[Page]:
        CALLS.append([k.tracking_number for k in keys])
        if len(CALLS) in FAIL_ON_CALL:
            raise TransientError("faketrack: injected failure")
        found = [dict(REPLIES[k.tracking_number]) for k in keys if k.tracking_number in REPLIES]
        yield Page(records=found, position=None, missing=[k.text for k in keys if k.tracking_number not in REPLIES], requests=len(keys))


def external_id(raw: Mapping[str, Any]) -> str | None:
    return raw.get("awb")


def scrub(raw: Mapping[str, Any]) -> dict[str, Any]:
    return dict(raw)


def map_tracking(raw: Mapping[str, Any]) -> ParcelTracking:
    if "awb" not in raw:
        raise MappingError("awb: missing")
    events = tuple(
        sorted(
            (TrackingEvent("p", T0 + timedelta(hours=h), CODES[code], code, f"scan {code}", None) for h, code in raw["scans"]),
            key=lambda e: e.occurred_at,
        )
    )
    last = events[-1] if events else None
    sub = "Exception_011" if last and last.raw_code == "RT" else None
    return ParcelTracking(
        courier=None, tracking_number=raw["awb"], status=last.status if last else TrackingStatus.PENDING, sub_status=sub,
        raw_status=last.raw_code if last else None, last_event_at=last.occurred_at if last else None,
        delivered_at=last.occurred_at if last and last.status == TrackingStatus.DELIVERED else None,
        returning=sub is not None, service=None, cod_amount=None, events=events,
    )  # fmt: skip


def reply(awb: str, *scans: tuple[int, str]) -> None:
    REPLIES[awb] = {"awb": awb, "scans": [list(s) for s in scans]}


@pytest.fixture
def tracker(hub, monkeypatch) -> str:  # noqa: ANN001
    monkeypatch.setitem(CHANNELS, "faketrack", SPEC)
    REPLIES.clear(), CALLS.clear(), FAIL_ON_CALL.clear()
    hub.accounts.add("trk", "faketrack", "Tracker", "http://127.0.0.1:9", {"api_key": "k"})
    return "trk"


@pytest.fixture
def account(hub, fake_channel) -> str:  # noqa: ANN001
    hub.accounts.add("shop-1", "fake", "Shop 1", "http://fake", {"token": "good"}, history_days=10)
    return "shop-1"


def keys(*awbs: str, courier: str = "jne") -> tuple[str, ...]:
    return tuple(ParcelKey(courier, a).text for a in awbs)


def stored(db) -> dict[str, tuple[str, str | None, int]]:  # noqa: ANN001
    """airway bill -> (status, sub-status, scans stored)."""
    p, e = Parcel.__table__, ParcelEvent.__table__
    with db.connect() as conn:
        counts = dict(conn.execute(sa.select(e.c.parcel_id, sa.func.count()).group_by(e.c.parcel_id)).all())
        rows = conn.execute(sa.select(p.c.id, p.c.tracking_number, p.c.status, p.c.sub_status)).all()
    return {n: (getattr(s, "value", s), sub, counts.get(i, 0)) for i, n, s, sub in rows}


def test_named_parcels_are_stored_and_a_reread_writes_nothing(hub, tracker) -> None:  # noqa: ANN001
    reply("A1", (0, "PU"), (5, "OD"))
    reply("A2", (0, "PU"), (9, "DL"))
    run = hub.engine.run(SyncRequest(tracker, job=TRACK, parcels=keys("A1", "A2", "NOPE")))
    assert (run.counts.new, run.missing, run.pages) == (2, ["jne:NOPE"], 2)  # batches of 2: one page each
    assert stored(hub.db) == {"A1": ("out_for_delivery", None, 2), "A2": ("delivered", None, 2), "NOPE": ("pending", None, 0)}
    with hub.db.connect() as conn:  # handed over at the first scan past booking
        shipped = dict(conn.execute(sa.select(Parcel.__table__.c.tracking_number, Parcel.__table__.c.shipped_at)).all())
    assert shipped["A1"].replace(tzinfo=UTC) == T0 and shipped["NOPE"] is None
    again = hub.engine.run(SyncRequest(tracker, job=TRACK, parcels=keys("A1", "A2")))
    assert (again.counts.new, again.counts.changed, again.counts.unchanged) == (0, 0, 2)
    assert stored(hub.db)["A1"] == ("out_for_delivery", None, 2)  # scans stored once, however often read
    with hub.db.connect() as conn:
        moves = [e["entity_key"] for e in audit.entries(conn, action_prefix="parcel.status")]
    assert sorted(moves) == ["jne:A1", "jne:A2"]  # audited once, when the status moved


def test_an_older_reply_never_moves_a_parcel_back(hub, tracker) -> None:  # noqa: ANN001
    reply("A1", (0, "PU"), (9, "DL"))
    hub.engine.run(SyncRequest(tracker, job=TRACK, parcels=keys("A1")))
    reply("A1", (0, "PU"), (5, "OD"))  # a lagging replica answers with fewer scans
    run = hub.engine.run(SyncRequest(tracker, job=TRACK, parcels=keys("A1")))
    assert run.counts.stale == 1 and run.counts.changed == 0
    assert stored(hub.db)["A1"] == ("delivered", None, 3)  # the late scan is kept, the status is not moved back


def test_the_courier_decides_the_order_and_an_order_sync_keeps_its_word(hub, tracker, fake_channel, account) -> None:  # noqa: ANN001
    now = int(hub.engine.clock().timestamp())
    fake_channel.put("o1", now - 3600, awb="A1")
    fake_channel.put("o2", now - 3600, awb="A2")
    hub.engine.run(SyncRequest(account))
    reply("A1", (0, "PU"), (9, "DL"))
    reply("A2", (0, "PU"), (30, "RT"))
    hub.engine.run(SyncRequest(tracker, job=TRACK, parcels=keys("A1", "A2")))
    orders, shipments = Order.__table__, Shipment.__table__

    def state() -> dict[str, tuple[Any, Any]]:
        with hub.db.connect() as conn:
            rows = conn.execute(
                sa.select(orders.c.external_id, orders.c.fulfillment_status, shipments.c.tracking_status).join(
                    shipments, sa.and_(shipments.c.account_id == orders.c.account_id, shipments.c.order_external_id == orders.c.external_id)
                )
            ).all()
        return {o: (getattr(f, "value", f), getattr(t, "value", t)) for o, f, t in rows}

    assert state() == {"o1": ("delivered", "delivered"), "o2": ("returned", "exception")}
    returns = Return.__table__
    with hub.db.connect() as conn:  # the parcel back at the seller is the order's return-to-sender
        rts = conn.execute(sa.select(returns.c.order_external_id, returns.c.type, returns.c.status)).all()
    assert [(o, getattr(t, "value", t), getattr(s, "value", s)) for o, t, s in rts] == [("o2", "return_to_sender", "received")]
    fake_channel.put("o1", now - 60, total="12000", awb="A1")  # the marketplace changes the order; its shipment row is replaced
    hub.engine.run(SyncRequest(account, job=RESYNC, order_ids=("o1",)))
    assert state()["o1"][1] == "delivered"  # the courier's newer word survives the order sync


def test_a_killed_tracking_run_resumes_after_its_last_committed_batch(hub, tracker) -> None:  # noqa: ANN001
    for awb in ("A1", "A2", "A3", "A4", "A5"):
        reply(awb, (0, "PU"))
    FAIL_ON_CALL.append(2)  # the second batch fails after the first committed
    first = hub.engine.run  # the runner records the failure and raises it
    with pytest.raises(TransientError):
        first(SyncRequest(tracker, job=TRACK, parcels=keys("A1", "A2", "A3", "A4", "A5")))
    assert set(stored(hub.db)) == {"A1", "A2", "A3", "A4", "A5"}  # registered when planned
    assert [n for n, (s, _, _) in stored(hub.db).items() if s == "in_transit"] == ["A1", "A2"]
    CALLS.clear(), FAIL_ON_CALL.clear()
    rerun = hub.engine.run(SyncRequest(tracker, job=TRACK))  # resumes the checkpoint, whatever is asked
    assert CALLS == [["A3", "A4"], ["A5"]]  # only what was not committed is asked again
    assert rerun.counts.new == 3
    assert all(s == "in_transit" for s, _, _ in stored(hub.db).values())


def test_due_parcels_are_chosen_by_the_hub_and_looked_at_less_often_when_quiet(hub, tracker) -> None:  # noqa: ANN001
    reply("A1", (0, "PU"))
    hub.engine.run(SyncRequest(tracker, job=TRACK, parcels=keys("A1")))
    with hub.db.begin() as conn:
        [row] = conn.execute(sa.select(Parcel.__table__)).mappings().all()
        assert (row["quiet"], row["done"]) == (0, False)
        looked = row["checked_at"]
        assert parcels.due(conn, ["jne"], now=looked, limit=10) == []  # not due again at once
        later = looked + timedelta(hours=1)
        assert [k.text for k in parcels.due(conn, ["jne"], now=later, limit=10)] == ["jne:A1"]
        assert parcels.due(conn, ["jnt"], now=later, limit=10) == []  # another courier's parcels are not this account's
    assert parcels.next_look(looked, 3) - looked == timedelta(hours=8)
    assert parcels.next_look(looked, 30) - looked == timedelta(hours=24)  # never forgotten: at least daily


def test_a_tracking_account_does_not_sync_orders_and_an_order_account_does_not_track(hub, tracker, fake_channel, account) -> None:  # noqa: ANN001
    orders = hub.engine.run(SyncRequest(tracker))
    assert orders.status == "skipped" and "tracks parcels" in orders.error
    tracking = hub.engine.run(SyncRequest(account, job=TRACK, parcels=keys("A1")))
    assert tracking.status == "skipped" and "tracks no parcels" in tracking.error
    assert stored(hub.db) == {}


def test_a_tracking_pass_enlists_shipped_parcels_and_looks_at_those_due(hub, tracker, fake_channel, account) -> None:  # noqa: ANN001
    now = int(hub.engine.clock().timestamp())
    fake_channel.put("o1", now - 3600, awb="A1")  # shipped by "JNE" "REG": courier jne, which faketrack covers
    fake_channel.put("o2", now - 3600)  # not shipped: nothing to track
    hub.engine.run(SyncRequest(account))
    reply("A1", (0, "PU"), (9, "DL"))
    run = hub.engine.run(SyncRequest(tracker, job=TRACK))
    assert (run.counts.new, CALLS) == (1, [["A1"]])
    assert stored(hub.db) == {"A1": ("delivered", None, 2)}
    CALLS.clear()
    assert hub.engine.run(SyncRequest(tracker, job=TRACK)).pages == 0 and CALLS == []  # delivered: done, never asked again


def test_the_stuck_threshold_has_documented_defaults_and_can_be_overridden(monkeypatch) -> None:  # noqa: ANN001
    now = T0 + timedelta(days=10)
    row = {"status": "in_transit", "sub_status": None, "done": False, "not_found": 0, "payload_hash": "h", "courier": "jne", "service": "REG",
           "last_event_at": now - timedelta(days=4)}  # fmt: skip
    assert parcels.attention(row, now=now) == "stuck"  # 4 silent days > the default 3
    monkeypatch.setenv("SIMPUL_STUCK_AFTER", "jne/reg=5d")
    assert parcels.attention(row, now=now) is None
    assert parcels.attention({**row, "service": "YES"}, now=now) == "stuck"  # another service keeps the default
    assert parcels.attention({**row, "courier": "grab", "last_event_at": now - timedelta(hours=13)}, now=now) == "stuck"  # instant: 12 h
    monkeypatch.setenv("SIMPUL_STUCK_AFTER", "jne=four days")
    with pytest.raises(ValueError, match="'jne=four days'"):
        parcels.attention(row, now=now)
