"""The Biteship sandbox enforces §3 on its own: auth codes, envelope, limits, statuses, times."""

from __future__ import annotations

import ast
import inspect
import itertools
import re
from collections import Counter
from collections.abc import Iterator

import pytest
import requests

from connectors._sandbox import SandboxClock, SandboxServer
from connectors.biteship import client, sandbox
from connectors.biteship.sandbox import BiteshipSandbox

FROZEN = 1_750_000_000
HOUR, DAY = 3600, 86400

# storefronts_couriers.md §3 and the pages it cites, typed from them (not from the code).
DOCUMENTED_STATUSES = {  # biteship.com/docs/api/orders/overview (snake_case, as sent)
    "confirmed", "scheduled", "allocated", "picking_up", "picked", "cancelled", "on_hold", "dropping_off",
    "return_in_transit", "returned", "rejected", "disposed", "courier_not_found", "delivered",
}
DOCUMENTED_AUTH_ERRORS = {  # biteship.com/id/docs/api/authentication, "Authentication Error Codes"
    40000001: "Authentication for your key has failed. Please make sure to input the right key",  # then a support address
    40101001: "Authorization failed",
    40101002: "No account found with associated key",
    40101003: "Cannot process authorization",
    40301001: "There's no match token for this key",
    40301002: "User information not found.",
}
DOCUMENTED_LIMITS = {"live": {"tracking": 50, "courier": 10}, "test": {"tracking": 5, "courier": 5}}  # help.biteship.com 40080182901145
DOCUMENTED_KEY_PREFIXES = ("biteship_live.", "biteship_test.")
DOCUMENTED_TRACKING_FIELDS = {"success", "message", "object", "id", "waybill_id", "courier", "origin", "destination", "history", "link", "order_id", "status"}
ISO_WIB = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+07:00$")


@pytest.fixture
def app() -> BiteshipSandbox:
    twin = BiteshipSandbox(orders=200, seed=9, clock=SandboxClock(frozen_at=FROZEN))
    moments = itertools.count(0.0, 0.25)  # a rate-limit clock: four requests a second, under 5/s
    twin.rate_clock = lambda: next(moments)
    return twin


@pytest.fixture
def server(app: BiteshipSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(app, seed=9) as srv:
        yield srv


def get(server: SandboxServer, path: str, key: str | None = "demo") -> requests.Response:
    headers = {} if key is None else {"authorization": server.app.demo_credentials()["api_key"] if key == "demo" else key}
    return requests.get(server.url + path, headers=headers, timeout=10)


def track(server: SandboxServer, courier: str, waybill: str, key: str | None = "demo") -> requests.Response:
    return get(server, f"/v1/trackings/{waybill}/couriers/{courier}", key)


def test_the_sandbox_and_the_client_share_no_code() -> None:
    def imported(module) -> set[str]:  # noqa: ANN001
        names = set()
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.ImportFrom):
                names.add(node.module or "")
            elif isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
        return names

    assert not {m for m in imported(sandbox) if m.startswith("connectors.biteship")}
    assert not {m for m in imported(client) if m.startswith("connectors.biteship")}


def test_both_sides_hold_the_documented_codes_statuses_and_limits() -> None:
    assert set(sandbox.STATUSES) == DOCUMENTED_STATUSES
    assert set(sandbox.AUTH_ERRORS) == set(client.AUTH_CODES) == set(DOCUMENTED_AUTH_ERRORS)
    for code, text in DOCUMENTED_AUTH_ERRORS.items():
        assert sandbox.AUTH_ERRORS[code].startswith(text)
    assert sandbox.RATE_LIMITS == DOCUMENTED_LIMITS
    assert client.BiteshipConnector.rate_limit.per_second <= min(DOCUMENTED_LIMITS["test"].values())
    assert sandbox.KEY_PREFIXES == DOCUMENTED_KEY_PREFIXES
    assert set(client.COURIER_CODES.values()) <= set(sandbox.COURIERS)  # every code the client sends, the twin tracks


def test_refused_keys_get_the_documented_codes_in_the_documented_envelope(server, app) -> None:  # noqa: ANN001
    waybill = app.known_parcels()[0].waybill
    cases = [
        (None, 401, 40101001),
        ("not-a-biteship-key", 400, 40000001),
        ("biteship_live.0123456789abcdef", 401, 40101002),
    ]
    for key, status, code in cases:
        reply = track(server, "jne", waybill, key)
        assert (reply.status_code, reply.json()) == (status, {"success": False, "error": sandbox.AUTH_ERRORS[code], "code": code})
    requests.post(f"{server.url}/_sandbox/revoke", json={}, timeout=10).raise_for_status()
    reply = get(server, "/v1/couriers")
    assert (reply.status_code, reply.json()["code"]) == (403, 40301001)


def test_the_raw_key_is_documented_and_bearer_is_accepted_too(server, app) -> None:  # noqa: ANN001
    key = app.demo_credentials()["api_key"]
    assert key.startswith(DOCUMENTED_KEY_PREFIXES)
    assert get(server, "/v1/couriers", key).status_code == 200
    assert get(server, "/v1/couriers", "Bearer " + key).status_code == 200
    assert get(server, "/v1/couriers", key + "x").status_code == 401


def test_a_test_key_gets_five_requests_a_second_per_api(server, app) -> None:  # noqa: ANN001
    now = [100.0]
    app.rate_clock = lambda: now[0]
    parcel = app.known_parcels()[0]
    statuses = [track(server, parcel.courier, parcel.waybill).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    over = track(server, parcel.courier, parcel.waybill)
    assert over.json() == {"success": False, "error": "Too many requests"} and over.headers["Retry-After"] == "1"
    assert get(server, "/v1/couriers").status_code == 200  # the courier API has its own budget
    now[0] = 101.2  # the next second
    assert track(server, parcel.courier, parcel.waybill).status_code == 200


def test_a_live_key_gets_productions_documented_limits(server, app) -> None:  # noqa: ANN001
    app.rate_clock = lambda: 5.0
    live = app.add_live_key()
    parcel = app.known_parcels()[0]
    tracking = Counter(track(server, parcel.courier, parcel.waybill, live).status_code for _ in range(52))
    couriers = Counter(get(server, "/v1/couriers", live).status_code for _ in range(12))
    assert tracking == {200: 50, 429: 2} and couriers == {200: 10, 429: 2}


def test_unknown_waybills_couriers_and_routes(server, app) -> None:  # noqa: ANN001
    parcel = app.known_parcels()[0]
    missing = track(server, parcel.courier, "NO-SUCH-WAYBILL")
    assert missing.status_code == 404 and missing.json()["success"] is False and isinstance(missing.json()["error"], str)
    assert track(server, "kurir-antah", parcel.waybill).status_code == 400
    assert get(server, "/v1/orders").status_code == 404
    assert track(server, parcel.courier, parcel.waybill.lower()).status_code == 200  # waybills match without case


def test_a_tracking_reply_has_the_documented_shape_statuses_and_times(server, app) -> None:  # noqa: ANN001
    for parcel in app.known_parcels()[:40]:
        reply = track(server, parcel.courier, parcel.waybill)
        if reply.status_code == 404:  # first scan still ahead of the clock
            assert min(e[0] for e in sandbox.timeline(parcel)) > FROZEN
            continue
        body = reply.json()
        assert set(body) == DOCUMENTED_TRACKING_FIELDS and body["object"] == "tracking" and body["success"] is True
        assert body["waybill_id"] == parcel.waybill and body["courier"]["company"] == parcel.courier
        assert all(set(h) == {"note", "updated_at", "status"} for h in body["history"])  # no service_type in public tracking
        assert all(h["status"] in DOCUMENTED_STATUSES and ISO_WIB.match(h["updated_at"]) for h in body["history"])
        assert body["status"] == body["history"][-1]["status"]


def test_seeding_is_deterministic_and_tells_every_story(app) -> None:  # noqa: ANN001
    again = BiteshipSandbox(orders=200, seed=9, clock=SandboxClock(frozen_at=FROZEN))
    assert again.dump_orders() == app.dump_orders()
    assert len(app.known_parcels()) == 200
    assert set(Counter(p.story for p in app.known_parcels())) == set(sandbox.STORIES)
    final = Counter(r["status"] for r in app.dump_orders())
    assert final["delivered"] and final["returned"] and final["dropping_off"]


def test_parcels_can_be_registered_in_python_and_over_http(server, app) -> None:  # noqa: ANN001
    assert app.add_parcel("jnt", "JP9000000001", FROZEN - DAY, "failed_attempt")["story"] == "failed_attempt"
    body = {"courier": "anteraja", "awb": "10900000000002", "shipped_at": FROZEN - 10 * DAY, "story": "cod_refused"}
    requests.post(f"{server.url}/_sandbox/parcels", json=body, timeout=10).raise_for_status()
    assert track(server, "jnt", "JP9000000001").status_code == 200
    assert track(server, "anteraja", "10900000000002").json()["status"] == "returned"
    for bad in (("kurir-antah", "X1", FROZEN, "delivered"), ("jne", "X1", FROZEN, "vanished"), ("jne", " ", FROZEN, "delivered")):
        with pytest.raises(ValueError):
            app.add_parcel(*bad)
    assert requests.post(f"{server.url}/_sandbox/parcels", json={"courier": "jne"}, timeout=10).status_code == 400


def test_time_moves_histories_only_forward_from_the_data_clock(app) -> None:  # noqa: ANN001
    app.add_parcel("jne", "CGK-CLOCK", FROZEN, "delivered")
    counts = []
    for _ in range(8):
        [record] = [r for r in app.dump_orders() if r["waybill_id"] == "CGK-CLOCK"]
        counts.append(len(record["history"]))
        app.clock.advance(8 * HOUR)
    assert counts == sorted(counts) and counts[0] == 4 and counts[-1] == 8
