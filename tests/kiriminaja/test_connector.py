"""The KiriminAja connector against its sandbox: found, missing, refused, retried, moving."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from connectors._http import ApiError, ConnectorError, CredentialError, RetryConfig, TransientError
from connectors._sandbox import Reply, SandboxClock, SandboxServer
from connectors.contract import ParcelKey, TrackingSource
from connectors.kiriminaja.client import BATCH, KiriminAjaConnector
from connectors.kiriminaja.sandbox import KiriminAjaSandbox

FROZEN = 1_750_000_000
HOUR, DAY = 3600, 86400


@pytest.fixture
def app() -> KiriminAjaSandbox:
    twin = KiriminAjaSandbox(orders=60, seed=6, clock=SandboxClock(frozen_at=FROZEN))
    moments = itertools.count(0.0, 1.0)  # one request a second: inside the 60-a-minute throttle
    twin.rate_clock = lambda: next(moments)
    return twin


@pytest.fixture
def server(app: KiriminAjaSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(app, seed=6) as srv:
        srv.faults.update({"retry_after": None})
        yield srv


def connect(server: SandboxServer, credentials=None, attempts: int = 4) -> tuple[KiriminAjaConnector, list[float]]:  # noqa: ANN001
    connector = KiriminAjaConnector(server.url, credentials or server.app.demo_credentials(), retry=RetryConfig(attempts=attempts, base_delay=0.01))
    slept: list[float] = []
    connector._http._sleep = slept.append  # noqa: SLF001 - record backoff instead of waiting it out
    return connector, slept


def keys_of(app: KiriminAjaSandbox, story: str | None = None) -> list[ParcelKey]:
    return [ParcelKey(p.service, p.awb) for p in app.known_parcels() if story is None or p.story == story]


def test_it_meets_the_protocol_and_check_is_one_call(server) -> None:  # noqa: ANN001
    connector, _ = connect(server)
    assert isinstance(connector, TrackingSource) and connector.channel == "kiriminaja"
    connector.check()
    assert server.stats.snapshot()["by_path"] == {"/api/mitra/tracking": 1}


def test_a_batch_gets_one_record_per_parcel_one_request_each(server, app) -> None:  # noqa: ANN001
    connector, _ = connect(server)
    keys = keys_of(app)[:45]
    pages = list(connector.parcels(keys + keys[-2:]))
    assert [len(p.records) for p in pages] == [BATCH, BATCH, 5]
    assert [p.requests for p in pages] == [BATCH, BATCH, 5]
    assert [(r["details"]["service"], r["details"]["awb"]) for p in pages for r in p.records] == [(k.courier, k.tracking_number) for k in keys]
    assert all(not p.missing and not p.unreadable for p in pages)


def test_unknown_parcels_are_missing_not_errors(server, app) -> None:  # noqa: ANN001
    connector, _ = connect(server)
    known = keys_of(app)[0]
    unknown = ParcelKey("jne", "CGK000000000000")  # not booked through KiriminAja
    too_long = ParcelKey("jne", "X" * 21)  # longer than any KiriminAja id: no request
    other = ParcelKey("sicepat" if known.courier != "sicepat" else "jne", known.tracking_number)  # KiriminAja knows it as another courier's
    [page] = list(connector.parcels([known, unknown, too_long, other]))
    assert [r["details"]["awb"] for r in page.records] == [known.tracking_number]
    assert list(page.missing) == [unknown.text, too_long.text, other.text]
    assert page.requests == 3


def test_a_parcel_is_found_by_its_order_id_too(server, app) -> None:  # noqa: ANN001
    connector, _ = connect(server)
    parcel = app.known_parcels()[0]
    [page] = list(connector.parcels([ParcelKey(parcel.service, parcel.order_id)]))
    assert [r["details"]["order_id"] for r in page.records] == [parcel.order_id]


@pytest.mark.parametrize("http_status", [200, 401])
def test_a_refused_key_is_a_credential_error_without_retry(server, app, http_status) -> None:  # noqa: ANN001
    app.auth_failure_status = http_status  # KiriminAja's 200 envelope, or Laravel's bare 401
    connector, slept = connect(server, {"api_key": "canary-wrong-secret-0042"})
    with pytest.raises(CredentialError) as info:
        list(connector.parcels(keys_of(app)[:3]))
    assert "canary-wrong-secret-0042" not in str(info.value)
    assert server.stats.snapshot()["requests"] == 1 and slept == []


def test_any_other_refusal_fails_the_run(server, app) -> None:  # noqa: ANN001
    connector, _ = connect(server)
    original = server.dispatch
    server.dispatch = lambda request: Reply(200, {"status": False, "text": "Akun dinonaktifkan sementara"})
    try:
        with pytest.raises(ApiError):
            list(connector.parcels(keys_of(app)[:1]))
    finally:
        server.dispatch = original


def test_429_and_5xx_are_retried_within_the_budget(server, app) -> None:  # noqa: ANN001
    connector, slept = connect(server)
    server.faults.update({"fail_next": [429, 500, 502]})
    [page] = list(connector.parcels(keys_of(app)[:2]))
    assert len(page.records) == 2 and page.requests == 5
    assert server.stats.snapshot()["by_status"] == {429: 1, 500: 1, 502: 1, 200: 2}
    assert len(slept) == 3


def test_the_sandboxs_throttle_is_retried_honouring_retry_after_then_gives_up(server, app) -> None:  # noqa: ANN001
    app.rate_clock = lambda: 30.0  # every request in one minute: the 61st is throttled
    connector, slept = connect(server, attempts=3)
    with pytest.raises(TransientError) as info:
        list(connector.parcels(keys_of(app) + [ParcelKey("jne", "NOT-BOOKED-1")]))  # 61 parcels
    assert info.value.status == 429
    assert server.stats.snapshot()["by_status"] == {200: 60, 429: 3}
    assert len(slept) == 2 and min(slept) >= 30  # Retry-After: the seconds left in the minute


def test_a_history_moves_with_the_data_clock(server, app) -> None:  # noqa: ANN001
    connector, _ = connect(server)
    app.add_parcel("jne", "JNE-DEMO-0001", FROZEN + 5 * HOUR, "failed_attempt")
    key = ParcelKey("jne", "JNE-DEMO-0001")

    def state() -> tuple[int, bool, int] | None:
        [page] = list(connector.parcels([key]))
        if not page.records:
            return None
        record = page.records[0]
        return record["status_code"], record["details"]["delivered"], len(record["histories"])

    seen = [state()]
    for hours in (3, 2, 12, 30, 24, 24, 24):
        app.clock.advance(hours * HOUR)
        seen.append(state())
    assert seen[0] is None and seen[1] == (100, False, 1) and seen[2] == (106, False, 2)
    assert seen[-1][:2] == (200, True)
    assert [s[2] for s in seen[1:]] == sorted(s[2] for s in seen[1:])  # histories only grow
    [page] = list(connector.parcels([key]))
    assert [h["status_code"] for h in page.records[0]["histories"]][:4] == [200, 106, 152, 106]  # newest first


@pytest.mark.parametrize(
    ("story", "final", "codes", "delivered", "refunded"),
    [
        ("delivered", 200, {100, 106, 200}, True, False),
        ("failed_attempt", 200, {152}, True, False),
        ("cod_refused", 400, {301, 403, 404, 400}, False, True),
        ("lost", 106, {100, 106}, False, False),
    ],
)
def test_each_story_plays_out(server, app, story, final, codes, delivered, refunded) -> None:  # noqa: ANN001
    connector, _ = connect(server)
    awb = f"SCP{story[:6].upper()}"
    app.add_parcel("sicepat", awb, FROZEN - 20 * DAY, story)
    [page] = list(connector.parcels([ParcelKey("sicepat", awb)]))
    [record] = page.records
    history = record["histories"]
    assert record["status_code"] == history[0]["status_code"] == final and codes <= {h["status_code"] for h in history}
    assert (record["details"]["delivered"], record["details"]["refunded"]) == (delivered, refunded)
    if story == "cod_refused":
        assert record["details"]["costs"]["cod"] > 0 and record["details"]["refunded_at"]
    if story == "lost":
        assert len(history) == 3 and history[0]["created_at"] < "2025-06-01"


def test_one_process_hosts_many_accounts_each_with_its_own_key() -> None:
    with SandboxServer.hosting(lambda n: KiriminAjaSandbox(orders=3, seed=n, clock=SandboxClock(frozen_at=FROZEN))) as hub:
        two = hub.shop(2).app
        source = KiriminAjaConnector(hub.shop_url(2), two.demo_credentials(), retry=RetryConfig(attempts=1))
        [page] = list(source.parcels([ParcelKey(p.service, p.awb) for p in two.known_parcels()]))
        assert len(page.records) == 3
        with pytest.raises(CredentialError):
            KiriminAjaConnector(hub.shop_url(3), two.demo_credentials(), retry=RetryConfig(attempts=1)).check()


def test_the_key_travels_only_over_https_or_to_a_loopback_sandbox() -> None:
    with pytest.raises(ConnectorError):
        KiriminAjaConnector("http://client.kiriminaja.example", {"api_key": "k"})
    with pytest.raises(CredentialError):
        KiriminAjaConnector("https://client.kiriminaja.com", {"api_key": " "})
