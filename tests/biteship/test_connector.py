"""The Biteship connector against its sandbox: found, missing, refused, retried, moving."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
import requests

from connectors._http import ApiError, ConnectorError, CredentialError, RetryConfig, TransientError
from connectors._sandbox import Reply, SandboxClock, SandboxServer
from connectors.biteship.client import BATCH, BiteshipConnector
from connectors.biteship.sandbox import BiteshipSandbox
from connectors.contract import Page, ParcelKey, TrackingSource

FROZEN = 1_750_000_000  # the data clock: the same seed gives the same parcels
HOUR, DAY = 3600, 86400


def ticking(step: float) -> Iterator[float]:
    """A rate-limit clock that moves ``step`` seconds per request the sandbox counts."""
    return itertools.count(0.0, step)


@pytest.fixture
def app() -> BiteshipSandbox:
    sandbox = BiteshipSandbox(orders=60, seed=4, clock=SandboxClock(frozen_at=FROZEN))
    moments = ticking(0.25)  # four requests a second: under the test key's documented 5/s
    sandbox.rate_clock = lambda: next(moments)
    return sandbox


@pytest.fixture
def server(app: BiteshipSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(app, seed=4) as srv:
        srv.faults.update({"retry_after": None})
        yield srv


def connect(server: SandboxServer, credentials=None, attempts: int = 4) -> tuple[BiteshipConnector, list[float]]:  # noqa: ANN001
    connector = BiteshipConnector(server.url, credentials or server.app.demo_credentials(), retry=RetryConfig(attempts=attempts, base_delay=0.01))
    slept: list[float] = []
    connector._http._sleep = slept.append  # noqa: SLF001 - record backoff instead of waiting it out
    return connector, slept


def keys_of(app: BiteshipSandbox, story: str | None = None) -> list[ParcelKey]:
    return [ParcelKey(p.courier, p.waybill) for p in app.known_parcels() if story is None or p.story == story]


def one(connector: BiteshipConnector, key: ParcelKey) -> Page:
    [page] = list(connector.parcels([key]))
    return page


def test_it_meets_the_protocol_and_check_is_one_call(server) -> None:  # noqa: ANN001
    connector, _ = connect(server)
    assert isinstance(connector, TrackingSource) and connector.channel == "biteship"
    connector.check()
    assert server.stats.snapshot()["by_path"] == {"/v1/couriers": 1}


def test_a_batch_gets_one_record_per_parcel_one_request_each(server, app) -> None:  # noqa: ANN001
    connector, _ = connect(server)
    keys = keys_of(app)[:45]
    pages = list(connector.parcels(keys + keys[:3]))  # duplicates are asked once
    assert [len(p.records) for p in pages] == [BATCH, BATCH, 5]
    assert [p.requests for p in pages] == [BATCH, BATCH, 5]
    assert [(r["courier"]["company"], r["waybill_id"]) for p in pages for r in p.records] == [(k.courier, k.tracking_number) for k in keys]
    assert all(not p.missing and not p.unreadable and p.position is None for p in pages)
    assert server.stats.snapshot()["requests"] == 45


def test_an_unknown_waybill_is_missing_not_an_error(server, app) -> None:  # noqa: ANN001
    connector, _ = connect(server)
    known = keys_of(app)[0]
    unknown = ParcelKey(known.courier, "CGK000000000000")
    elsewhere = ParcelKey("sicepat" if known.courier != "sicepat" else "jne", known.tracking_number)  # the number, another courier
    untracked = ParcelKey("kurir-lokal", "ABC123")  # a courier Biteship does not track: no request
    [page] = list(connector.parcels([known, unknown, elsewhere, untracked]))
    assert [r["waybill_id"] for r in page.records] == [known.tracking_number]
    assert list(page.missing) == [unknown.text, elsewhere.text, untracked.text]
    assert page.requests == 3


def test_a_404_without_biteships_envelope_is_an_error_not_missing(server, app) -> None:  # noqa: ANN001
    connector = BiteshipConnector(server.url, app.demo_credentials(), retry=RetryConfig(attempts=1))
    original = server.dispatch
    server.dispatch = lambda request: Reply(404, {"message": "nginx: not found"})  # a proxy, not Biteship
    try:
        with pytest.raises(ApiError):
            list(connector.parcels(keys_of(app)[:1]))
    finally:
        server.dispatch = original


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("biteship_test.0000000000000000000000000000000000000000", 40101002),  # well-formed, no account
        ("canary-wrong-secret-0042", 40000001),  # not a Biteship key at all (an HTTP 400)
    ],
)
def test_a_refused_key_is_a_credential_error_without_retry(server, key, code) -> None:  # noqa: ANN001
    connector, slept = connect(server, {"api_key": key})
    with pytest.raises(CredentialError) as info:
        connector.check()
    assert info.value.code == str(code)
    assert key not in str(info.value)
    assert server.stats.snapshot()["requests"] == 1 and slept == []


def test_a_revoked_key_is_refused_while_tracking_too(server, app) -> None:  # noqa: ANN001
    connector, _ = connect(server)
    requests.post(f"{server.url}/_sandbox/revoke", json={}, timeout=10).raise_for_status()
    with pytest.raises(CredentialError) as info:
        list(connector.parcels(keys_of(app)[:3]))
    assert info.value.code == "40301001" and server.stats.snapshot()["requests"] == 1


def test_429_and_5xx_are_retried_within_the_budget(server, app) -> None:  # noqa: ANN001
    connector, slept = connect(server)
    server.faults.update({"fail_next": [429, 500, 503]})
    [page] = list(connector.parcels(keys_of(app)[:2]))
    assert len(page.records) == 2 and page.requests == 5
    assert server.stats.snapshot()["by_status"] == {429: 1, 500: 1, 503: 1, 200: 2}
    assert len(slept) == 3


def test_the_sandboxs_own_rate_limit_is_retried_honouring_retry_after_then_gives_up(server, app) -> None:  # noqa: ANN001
    app.rate_clock = lambda: 0.0  # every request in one second: the sixth is over the documented 5/s
    connector, slept = connect(server, attempts=3)
    with pytest.raises(TransientError) as info:
        list(connector.parcels(keys_of(app)[:6]))
    assert info.value.status == 429
    assert server.stats.snapshot()["by_status"] == {200: 5, 429: 3}  # 5 served, then 3 attempts of the 6th
    assert len(slept) == 2 and min(slept) >= 1.0  # Retry-After: 1 was honoured


def test_a_parcel_whose_reply_cannot_be_parsed_is_unreadable_and_the_rest_land(server, app) -> None:  # noqa: ANN001
    connector, _ = connect(server, attempts=2)
    keys = keys_of(app)[:3]
    server.faults.update({"fail_next": [None, "truncate", "truncate"]})
    [page] = list(connector.parcels(keys))
    assert [r["waybill_id"] for r in page.records] == [keys[0].tracking_number, keys[2].tracking_number]
    assert [k for k, _ in page.unreadable] == [keys[1].text] and not page.missing


def test_a_history_moves_with_the_data_clock(server, app) -> None:  # noqa: ANN001
    connector, _ = connect(server)
    app.add_parcel("jne", "CGK-DEMO-0001", FROZEN + 3 * HOUR, story="delivered")  # picked up in three hours
    key = ParcelKey("jne", "CGK-DEMO-0001")

    def status() -> str | None:
        page = one(connector, key)
        return page.records[0]["status"] if page.records else None

    seen = [status()]  # no scan yet: Biteship does not know it
    for hours in (1.5, 1.5, 5, 30, 24, 24):
        app.clock.advance(hours * HOUR)
        seen.append(status())
    assert seen[0] is None and seen[1] == "confirmed" and seen[2] == "picked"
    assert seen[-1] == "delivered" and "dropping_off" in seen
    history = one(connector, key).records[0]["history"]
    assert [h["status"] for h in history][:4] == ["confirmed", "allocated", "picking_up", "picked"]
    assert [h["updated_at"] for h in history] == sorted(h["updated_at"] for h in history)


@pytest.mark.parametrize(
    ("story", "final", "passes"),
    [
        ("delivered", "delivered", {"picked", "dropping_off"}),
        ("failed_attempt", "delivered", {"on_hold", "dropping_off"}),
        ("cod_refused", "returned", {"on_hold", "return_in_transit"}),
        ("lost", "dropping_off", {"picked"}),
    ],
)
def test_each_story_plays_out(server, app, story, final, passes) -> None:  # noqa: ANN001
    connector, _ = connect(server)
    app.add_parcel("sicepat", f"00{story[:6].upper()}", FROZEN - 20 * DAY, story=story)
    [record] = one(connector, ParcelKey("sicepat", f"00{story[:6].upper()}")).records
    statuses = [h["status"] for h in record["history"]]
    assert record["status"] == statuses[-1] == final and passes <= set(statuses)
    if story == "lost":  # a hub scan, then silence for weeks
        assert record["history"][-1]["updated_at"] < "2025-06-01"
        assert len(statuses) == 5


def test_one_process_hosts_many_accounts_each_with_its_own_key(app) -> None:  # noqa: ANN001
    with SandboxServer.hosting(lambda n: BiteshipSandbox(orders=3, seed=n, clock=SandboxClock(frozen_at=FROZEN))) as hub:
        two, three = hub.shop(2).app, hub.shop(3).app
        source = BiteshipConnector(hub.shop_url(2), two.demo_credentials(), retry=RetryConfig(attempts=1))
        [page] = list(source.parcels([ParcelKey(p.courier, p.waybill) for p in two.known_parcels()]))
        assert len(page.records) == 3
        with pytest.raises(CredentialError):
            BiteshipConnector(hub.shop_url(3), two.demo_credentials(), retry=RetryConfig(attempts=1)).check()
        assert three.known_parcels() != two.known_parcels()


def test_the_key_travels_only_over_https_or_to_a_loopback_sandbox() -> None:
    with pytest.raises(ConnectorError):
        BiteshipConnector("http://api.biteship.example", {"api_key": "biteship_test.x"})
    with pytest.raises(CredentialError):
        BiteshipConnector("https://api.biteship.com", {})
