"""The algorithms the HTTP kit carries for every connector: the time-cursor walk, id
batching, the request counter and credential rotation (issue 10 §1)."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest

from connectors._http import MalformedReply, PaginationLoop, RetryConfig
from connectors._http.batches import UNREADABLE, batched, look_up, lookup_pages
from connectors._http.credentials import RotatingCredentials
from connectors._http.walk import Listing, Mark, PositionFormat, TimeCursorWalk
from connectors._sandbox import SandboxClock, SandboxServer
from connectors.contract import Window
from connectors.shopee.client import WALK as SHOPEE_WALK
from connectors.shopee.client import ShopeeConnector
from connectors.shopee.sandbox import ShopeeSandbox
from connectors.woocommerce.client import WALK as WOO_WALK
from connectors.woocommerce.client import WooCommerceConnector
from connectors.woocommerce.sandbox import WooCommerceSandbox

UTC = timezone.utc
T = 1_750_000_000  # a second on the walk's clock


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def rec(id_: str, t: int | None) -> dict:
    return {"id": id_, "t": t}


# Two walks over one in-memory channel: page numbers (computable, WooCommerce-like) and an
# opaque cursor (Shopee-like).
PAGED = TimeCursorWalk(
    "test", "pages", key=lambda r: r["id"], stamp=lambda r: r.get("t"), format=PositionFormat("from", "page"),
    first=1, second_page=2, follow_unplaced=True, carry_seen=False,
)  # fmt: skip
OPAQUE = TimeCursorWalk("test", "cursor", key=lambda r: r["id"], stamp=lambda r: r.get("t"), format=PositionFormat("from", "cursor"), first="")


class Channel:
    """A listing ordered by (time, id) from ``mark.second`` on, ``size`` records a page."""

    def __init__(self, times: dict[str, int], size: int) -> None:
        self.times, self.size, self.asked = dict(times), size, 0

    def fetch(self, mark: Mark, until: int) -> Listing:
        self.asked += 1
        rows = sorted((t, i) for i, t in self.times.items() if mark.second <= t < until)
        start = (mark.token - 1) * self.size if isinstance(mark.token, int) else int(mark.token or 0)
        page = [rec(i, t) for t, i in rows[start : start + self.size]]
        if start + self.size >= len(rows):
            return Listing(page)
        return Listing(page, mark.token + 1 if isinstance(mark.token, int) else str(start + self.size))

    def counter(self):  # noqa: ANN201
        start = self.asked
        return lambda: self.asked - start


def walk_ids(walk: TimeCursorWalk, channel: Channel, window: Window, position=None) -> tuple[list[str], list]:  # noqa: ANN001
    pages = list(walk.pages(window, position, channel.fetch, counter=channel.counter))
    return [r["id"] for p in pages for r in p.records], pages


# -- the walk: restart and dedup -------------------------------------------------------------
def test_a_page_restarts_at_its_newest_second_and_the_orders_of_that_second_are_dropped_when_they_return() -> None:
    mark = Mark(T, 1)
    page = [rec("a", T), rec("b", T + 1), rec("c", T + 2), rec("d", T + 2)]
    after = PAGED.after(mark, page, 2, until=T + 10)
    assert after == Mark(T + 2, 1, frozenset({"c", "d"}))  # page 1 from the newest second, not page 2
    again = [rec("c", T + 2), rec("d", T + 3), rec("e", T + 2), rec("f", T + 4)]  # d changed meanwhile: a new version
    assert [r["id"] for r in PAGED.unseen(after, again)] == ["d", "e", "f"]


def test_a_page_ending_mid_second_yields_the_rest_of_that_second_once() -> None:
    times = {"a": T, "b": T + 1, "c": T + 2, "d": T + 2, "e": T + 2, "f": T + 2, "g": T + 3}  # c..f straddle pages of 3
    for walk in (PAGED, OPAQUE):
        channel = Channel(times, size=3)
        ids, pages = walk_ids(walk, channel, Window(at(T), at(T + 10)))
        assert sorted(ids) == sorted(times) and len(ids) == len(set(ids)), walk.listing
        assert pages[0].position["from"] == T + 2 and set(pages[0].position["seen"]) == {"c"}
        assert all(p.requests == 1 for p in pages)


def test_more_than_a_page_in_one_second_follows_the_token_within_it() -> None:
    times = {f"s{i}": T + 1 for i in range(8)} | {"z": T + 2}
    for walk in (PAGED, OPAQUE):
        channel = Channel(times, size=3)
        ids, pages = walk_ids(walk, channel, Window(at(T), at(T + 10)))
        assert sorted(ids) == sorted(times) and len(ids) == len(set(ids)), walk.listing
    # Page numbers skip the page just read; an opaque cursor must ask that page again.
    whole = [rec("s0", T + 1), rec("s1", T + 1), rec("s2", T + 1)]
    assert PAGED.after(Mark(T, 1), whole, 2, T + 10) == Mark(T + 1, 2, frozenset({"s0", "s1", "s2"}))
    assert OPAQUE.after(Mark(T, ""), whole, "3", T + 10) == Mark(T + 1, "", frozenset({"s0", "s1", "s2"}))
    # Within the mark's second: the token; seen keeps every page of it, or the last one.
    nxt = [rec("s3", T + 1), rec("s4", T + 1)]
    assert OPAQUE.after(Mark(T + 1, "3", frozenset({"s0"})), nxt, "6", T + 10) == Mark(T + 1, "6", frozenset({"s0", "s3", "s4"}))
    assert PAGED.after(Mark(T + 1, 2, frozenset({"s0"})), nxt, 3, T + 10) == Mark(T + 1, 3, frozenset({"s3", "s4"}))


def test_every_page_position_resumes_exactly_the_rest() -> None:
    times = {f"o{i}": T + i // 4 for i in range(23)}  # four orders a second, pages of 3
    window = Window(at(T), at(T + 10))
    for walk in (PAGED, OPAQUE):
        ids, pages = walk_ids(walk, Channel(times, size=3), window)
        done: list[str] = []
        for page in pages[:-1]:
            done += [r["id"] for r in page.records]
            rest, _ = walk_ids(walk, Channel(times, size=3), window, json.loads(json.dumps(page.position)))
            assert done + rest == ids, walk.listing
        assert pages[-1].position is None


def test_times_the_walk_cannot_place_never_move_it_past_the_window() -> None:
    until = T + 10
    page = [rec("a", T + 1), rec("b", None), rec("c", T + 2), rec("d", 253402300799)]  # no time; year 9999
    assert PAGED.after(Mark(T, 1), page, 2, until) == Mark(T, 2)  # followed by page number
    assert OPAQUE.after(Mark(T, ""), page, "4", until) == Mark(T + 2, "", frozenset({"c"}))  # left out of the restart
    stale = [rec("x", T - 5), rec("y", T - 3)]  # older than the mark asked for (a stuck cache repeating a page)
    assert PAGED.after(Mark(T, 1), stale, 2, until) == Mark(T - 3, 1, frozenset({"y"}))  # a visited mark: the guard stops it
    assert OPAQUE.after(Mark(T, ""), stale, "2", until) == Mark(T, "2")


def test_a_stale_page_repeating_stops_the_walk_instead_of_looping() -> None:
    channel = Channel({f"o{i}": T + i for i in range(9)}, size=3)
    real, last = channel.fetch, []

    def stuck(mark: Mark, until: int) -> Listing:
        if len(last) == 2:
            return last[-1]  # the cache answers with the page before, whatever was asked
        last.append(real(mark, until))
        return last[-1]

    with pytest.raises(PaginationLoop, match="repeated a page token"):
        list(PAGED.pages(Window(at(T), at(T + 20)), None, stuck, counter=channel.counter))


def test_an_empty_window_is_one_empty_last_page() -> None:
    channel = Channel({"a": T}, size=3)
    ids, pages = walk_ids(OPAQUE, channel, Window(at(T + 0.2), at(T + 0.9)))  # one second: T+1 is excluded
    assert ids == [] and len(pages) == 1 and pages[0].position is None


# -- positions as the old code stored them ----------------------------------------------------
def test_positions_written_by_the_old_connectors_load_and_are_written_back_unchanged() -> None:
    shopee = {"time_from": T, "cursor": "20", "seen": ["2404098R48U37H", "2404098R48U37J"]}  # before issue 10
    mark = SHOPEE_WALK.load(shopee)
    assert mark == Mark(T, "20", frozenset(shopee["seen"])) and SHOPEE_WALK.dump(mark) == shopee
    woo = {"modified_after": "2025-06-15T15:06:39", "page": 3, "seen": ["1042", "1043"]}
    mark = WOO_WALK.load(woo)
    assert mark.second == datetime(2025, 6, 15, 15, 6, 40, tzinfo=UTC).timestamp()  # the second after: the bound is exclusive
    assert (mark.token, mark.seen) == (3, frozenset({"1042", "1043"})) and WOO_WALK.dump(mark) == woo
    assert SHOPEE_WALK.load({"time_from": str(T), "cursor": ""}) == Mark(T, "")  # "seen" absent: nothing seen
    with pytest.raises(Exception, match="unreadable resume position"):
        WOO_WALK.load({"modified_after": "yesterday", "page": 1})


@pytest.mark.parametrize("channel", ["shopee", "woocommerce"])
def test_a_checkpoint_in_the_old_format_resumes_against_the_sandbox(channel: str) -> None:
    """A position spelled as the connectors stored it before the kit walk existed: a second,
    the first page from there, and orders of that second already yielded."""
    if channel == "shopee":
        app, make, key, stamp = ShopeeSandbox(orders=120, seed=3, clock=SandboxClock(frozen_at=T)), ShopeeConnector, "order_sn", lambda o: o["update_time"]
    else:
        app, make, key, stamp = WooCommerceSandbox(orders=120, seed=3, clock=SandboxClock(frozen_at=T)), WooCommerceConnector, "id", lambda o: int(datetime.fromisoformat(o["date_modified_gmt"]).replace(tzinfo=UTC).timestamp())
    with SandboxServer(app, seed=3) as server:
        orders = {str(o[key]): stamp(o) for o in app.dump_orders()}
        second = sorted(orders.values())[len(orders) // 2]
        window = Window(at(min(orders.values())), at(min(max(orders.values()) + 1, second + 14 * 86400)))  # Shopee: 15 days at most
        at_second = sorted(i for i, t in orders.items() if t == second)
        seen = at_second[: max(1, len(at_second) // 2)]
        if channel == "shopee":
            position = json.loads(json.dumps({"time_from": second, "cursor": "", "seen": seen}))
        else:
            position = json.loads(json.dumps({"modified_after": at(second - 1).strftime("%Y-%m-%dT%H:%M:%S"), "page": 1, "seen": seen}))
        connector = make(server.url, app.demo_credentials(), retry=RetryConfig(attempts=3, base_delay=0.01))
        rest = [str(r[key]) for page in connector.order_pages(window, position) for r in page.records]
        want = {i for i, t in orders.items() if second < t < window.until.timestamp()} | (set(at_second) - set(seen))
        assert len(rest) == len(set(rest)) and set(rest) == want


# -- id batching ----------------------------------------------------------------------------
def test_ids_are_batched_in_order_without_repeats() -> None:
    ids = [str(i) for i in range(130)]
    assert [len(b) for b in batched(ids, 50)] == [50, 50, 30]
    assert [len(b) for b in batched(ids[:50], 50)] == [50] and [len(b) for b in batched(ids[:51], 50)] == [50, 1]
    assert list(batched([], 50)) == [] and list(batched(["b", "a", "b", "c", "a"], 2)) == [["b", "a"], ["c"]]
    with pytest.raises(ValueError):
        list(batched(ids, 0))


def test_a_lookup_names_what_it_found_what_is_missing_and_what_could_not_be_read() -> None:
    known = {str(i) for i in range(0, 110, 2)}  # even ids exist
    asked: list[tuple[int, int | None]] = []

    def fetch(batch: list[str], attempts: int | None) -> list[dict]:
        asked.append((len(batch), attempts))
        if "42" in batch:
            raise MalformedReply("one record is poison")
        return [{"id": i} for i in batch if i in known]

    ids = [str(i) for i in range(110)]
    found = look_up(ids, fetch, key=lambda r: r["id"], size=50)
    assert [n for n, attempts in asked if attempts is None] == [50, 50, 10]  # the channel's limit; halves of the poisoned batch besides
    assert sorted(r["id"] for r in found.records) == sorted(known - {"42"})
    assert found.unreadable == [("42", UNREADABLE)]
    assert found.missing == [i for i in ids if int(i) % 2]


def test_lookup_pages_are_one_per_batch_with_their_request_count() -> None:
    sent = [0]

    def find(batch: list[str]):  # noqa: ANN202
        sent[0] += 2
        return look_up(batch, lambda b, _: [{"id": i} for i in b if i != "7"], key=lambda r: r["id"], size=5)

    def counter():  # noqa: ANN202
        start = sent[0]
        return lambda: sent[0] - start

    pages = list(lookup_pages([str(i) for i in range(12)], 5, find, counter=counter, missing=["x"]))
    assert [len(p.records) for p in pages] == [5, 4, 2] and [p.requests for p in pages] == [2, 2, 2]
    assert [list(p.missing) for p in pages] == [["x"], ["7"], []]  # refused ids on the first page only


def test_the_request_counter_counts_every_attempt() -> None:
    app = WooCommerceSandbox(orders=5, seed=1, clock=SandboxClock(frozen_at=T))
    with SandboxServer(app, seed=1) as server:
        connector = WooCommerceConnector(server.url, app.demo_credentials(), retry=RetryConfig(attempts=3, base_delay=0.0))
        count = connector._http.counter()
        server.faults.update({"fail_next": [503], "retry_after": None})
        connector.check()
        assert count() == 2
        later = connector._http.counter()
        connector.check()
        assert (count(), later()) == (3, 1)


# -- credential rotation ---------------------------------------------------------------------
def test_rotation_hands_the_new_set_to_the_sink_before_it_is_used() -> None:
    calls: list[tuple[str, str]] = []
    creds = RotatingCredentials({"access_token": "old-a", "refresh_token": "old-r", "partner_key": "k"}, lambda fresh: calls.append(("sink", creds.secret("access_token"))))

    def exchange(current):  # noqa: ANN001, ANN202
        calls.append(("exchange", current["refresh_token"]))
        return {**current, "access_token": "new-a", "refresh_token": "new-r"}

    assert creds.rotate(exchange, stale="old-a") is True
    assert calls == [("exchange", "old-r"), ("sink", "old-a")]  # while the sink runs, the old token is still current
    assert (creds.secret("access_token"), creds.secret("refresh_token"), creds.get("partner_key")) == ("new-a", "new-r", "k")


def test_a_failing_sink_leaves_the_old_set_in_use() -> None:
    def sink(fresh) -> None:  # noqa: ANN001
        raise OSError("disk full")

    creds = RotatingCredentials({"access_token": "old-a", "refresh_token": "old-r"}, sink)
    with pytest.raises(OSError, match="disk full"):
        creds.rotate(lambda c: {**c, "access_token": "new-a", "refresh_token": "new-r"}, stale="old-a")
    assert (creds.secret("access_token"), creds.secret("refresh_token")) == ("old-a", "old-r")
    with pytest.raises(OSError):
        creds.save({"access_token": "other"})
    assert creds.secret("access_token") == "old-a"


def test_one_rotation_at_a_time_and_a_stale_caller_uses_the_rotated_set() -> None:
    saved: list[dict] = []
    creds = RotatingCredentials({"access_token": "a0"}, saved.append)
    gate, exchanges = threading.Barrier(4), []

    def exchange(current):  # noqa: ANN001, ANN202
        exchanges.append(current["access_token"])
        return {"access_token": current["access_token"] + "+"}

    def refused_call() -> None:
        gate.wait()
        creds.rotate(exchange, stale="a0")  # every thread's call was refused with a0

    threads = [threading.Thread(target=refused_call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert exchanges == ["a0"] and saved == [{"access_token": "a0+"}] and creds.secret("access_token") == "a0+"


def test_expiry_is_read_from_the_set() -> None:
    now = [1_000_000.0]
    creds = RotatingCredentials({"access_expires_at": 1_000_600, "refresh_expires_at": 3_000_000}, clock=lambda: now[0])
    assert creds.expires_within(timedelta(minutes=5), unknown=True) is False
    assert creds.expires_within(timedelta(minutes=10), unknown=False) is True
    assert RotatingCredentials({}).expires_within(timedelta(0), unknown=True) is True
    expiry = creds.expiry()
    assert expiry.access == at(1_000_600) and expiry.refresh == at(3_000_000) and expiry.authorization is None


def test_shopee_does_not_call_with_tokens_its_sink_could_not_keep() -> None:
    app = ShopeeSandbox(orders=5, seed=3, clock=SandboxClock(frozen_at=T))
    with SandboxServer(app, seed=3) as server:
        old = app.demo_credentials()

        def sink(fresh) -> None:  # noqa: ANN001
            raise OSError("the vault is unavailable")

        connector = ShopeeConnector(server.url, old, on_credentials=sink)
        app.expire_tokens()
        with pytest.raises(OSError, match="vault"):
            connector.check()
        assert server.stats.snapshot()["by_path"] == {"/api/v2/shop/get_shop_info": 1, "/api/v2/auth/access_token/get": 1}
        assert connector._credentials.secret("access_token") == old["access_token"]
