"""The KiriminAja sandbox enforces §4 on its own: bearer auth, 200 envelopes, throttle, histories."""

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
from connectors.kiriminaja import client, sandbox
from connectors.kiriminaja.sandbox import KiriminAjaSandbox

FROZEN = 1_750_000_000
HOUR, DAY = 3600, 86400

# storefronts_couriers.md §4 and the pages it cites, typed from them (not from the code).
DOCUMENTED_ROUTE = "/api/mitra/tracking"  # developer.kiriminaja.com/docs/order/tracking
DOCUMENTED_ORDER_ID_MAX = 20  # "order_id string(max:20)"
DOCUMENTED_NOT_FOUND = {"status": False, "text": "data not found", "code": 2, "method": None}  # /docs/order/tracking-instant
DOCUMENTED_SAMPLE_FIELDS = {"status", "text", "method", "status_code", "details", "histories"}  # the express sample
DOCUMENTED_DETAILS = {
    "awb", "signature_code", "sorting_code", "order_id", "status_code", "estimation", "service", "service_name", "drop",
    "shipped_at", "delivered", "delivered_at", "refunded", "refunded_at", "images", "costs", "origin", "destination",
}
DOCUMENTED_HISTORY = {"created_at", "status", "status_code", "driver", "receiver"}
DOCUMENTED_COSTS = {"add_cost", "currency", "cod", "insurance_amount", "insurance_percent", "discount_amount", "subsidi_amount", "shipping_cost", "correction"}
DOCUMENTED_CODES = {  # developer.kiriminaja.com/docs/important-notes/status-mapping (the codes the twin uses)
    100: "New package created by client", 106: "Package with courier / in transit", 152: "Re-delivery process / undelivery",
    200: "Package delivered to recipient", 301: "Recipient refused the package", 400: "Package successfully returned",
    403: "Return request initiated", 404: "Courier requested for return delivery to seller",
}
WIB_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")  # "YYYY-MM-DD HH:MM:SS", no zone


@pytest.fixture
def app() -> KiriminAjaSandbox:
    twin = KiriminAjaSandbox(orders=200, seed=8, clock=SandboxClock(frozen_at=FROZEN))
    moments = itertools.count(0.0, 1.0)
    twin.rate_clock = lambda: next(moments)
    return twin


@pytest.fixture
def server(app: KiriminAjaSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(app, seed=8) as srv:
        yield srv


def track(server: SandboxServer, order_id, token: str | None = "demo", method: str = "POST") -> requests.Response:  # noqa: ANN001
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = "Bearer " + (server.app.demo_credentials()["api_key"] if token == "demo" else token)
    return requests.request(method, server.url + DOCUMENTED_ROUTE, json={"order_id": order_id}, headers=headers, timeout=10)


def test_the_sandbox_and_the_client_share_no_code() -> None:
    def imported(module) -> set[str]:  # noqa: ANN001
        names = set()
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.ImportFrom):
                names.add(node.module or "")
            elif isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
        return names

    assert not {m for m in imported(sandbox) if m.startswith("connectors.kiriminaja")}
    assert not {m for m in imported(client) if m.startswith("connectors.kiriminaja")}


def test_both_sides_hold_the_documented_route_limits_and_codes() -> None:
    assert sandbox.TRACKING_ROUTE == client.TRACKING == DOCUMENTED_ROUTE
    assert sandbox.ORDER_ID_MAX == client.ORDER_ID_MAX == DOCUMENTED_ORDER_ID_MAX
    assert sandbox.NOT_FOUND == DOCUMENTED_NOT_FOUND and client.NOT_FOUND_CODE == DOCUMENTED_NOT_FOUND["code"]
    assert sandbox.STATUS_CODES == DOCUMENTED_CODES
    assert set(sandbox.SERVICES) <= set(client.COURIER_CODES.values())


@pytest.mark.parametrize("token", [None, "canary-wrong-token", "Basic Zm9vOmJhcg=="])
def test_a_missing_or_wrong_token_gets_the_200_envelope(server, token) -> None:  # noqa: ANN001
    reply = track(server, "OID-1", token=token)
    assert (reply.status_code, reply.json()) == (200, {"status": False, "text": "Unauthenticated."})


def test_laravels_bare_401_is_available_too(server, app) -> None:  # noqa: ANN001
    app.auth_failure_status = 401
    reply = track(server, "OID-1", token="canary-wrong-token")
    assert (reply.status_code, reply.json()) == (401, {"message": "Unauthenticated."})


def test_the_throttle_answers_429_after_sixty_requests_a_minute(server, app) -> None:  # noqa: ANN001
    now = [125.0]  # 5 s into the third minute
    app.rate_clock = lambda: now[0]
    statuses = Counter(track(server, "OID-NONE").status_code for _ in range(62))
    assert statuses == {200: 60, 429: 2}
    over = track(server, "OID-NONE")
    assert over.json() == {"message": "Too Many Attempts."}
    assert (over.headers["Retry-After"], over.headers["X-RateLimit-Limit"], over.headers["X-RateLimit-Remaining"]) == ("55", "60", "0")
    now[0] = 180.0  # the next minute
    assert track(server, "OID-NONE").status_code == 200


def test_unknown_ids_validation_and_routes(server, app) -> None:  # noqa: ANN001
    assert track(server, "CGK0000000000").json() == DOCUMENTED_NOT_FOUND
    assert track(server, "").json()["status"] is False
    assert track(server, "X" * 21).json() == {"status": False, "text": "The order id may not be greater than 20 characters."}
    assert track(server, "OID-1", method="GET").status_code == 405
    headers = {"Authorization": "Bearer " + app.demo_credentials()["api_key"]}
    assert requests.post(server.url + "/api/mitra/v9/nothing", json={}, headers=headers, timeout=10).status_code == 404


def test_a_reply_has_the_documented_shape_codes_and_times(server, app) -> None:  # noqa: ANN001
    for parcel in app.known_parcels()[:40]:
        body = track(server, parcel.awb).json()
        if body == DOCUMENTED_NOT_FOUND:  # created after the frozen clock
            assert min(e[0] for e in sandbox.timeline(parcel)) > FROZEN
            continue
        assert set(body) == DOCUMENTED_SAMPLE_FIELDS and body["status"] is True and body["method"] == "shTracking"
        details, histories = body["details"], body["histories"]
        assert set(details) == DOCUMENTED_DETAILS and set(details["costs"]) == DOCUMENTED_COSTS
        assert details["awb"] == parcel.awb and details["order_id"] == parcel.order_id and details["service"] == parcel.service
        assert all(set(h) == DOCUMENTED_HISTORY and WIB_TEXT.match(h["created_at"]) for h in histories)
        assert [h["created_at"] for h in histories] == sorted((h["created_at"] for h in histories), reverse=True)  # newest first
        assert body["status_code"] == histories[0]["status_code"] and body["text"] == histories[0]["status"]
        assert {h["status_code"] for h in histories} <= set(DOCUMENTED_CODES)
        assert details["delivered"] == (body["status_code"] == 200) and details["refunded"] == (body["status_code"] == 400)
        assert details["delivered_at"] == "" or WIB_TEXT.match(details["delivered_at"])
        assert track(server, parcel.order_id).json() == body  # the same parcel by its order id


def test_seeding_is_deterministic_and_tells_every_story(app) -> None:  # noqa: ANN001
    again = KiriminAjaSandbox(orders=200, seed=8, clock=SandboxClock(frozen_at=FROZEN))
    assert again.dump_orders() == app.dump_orders()
    assert len(app.known_parcels()) == 200
    assert set(Counter(p.story for p in app.known_parcels())) == set(sandbox.STORIES)
    finals = Counter(r["status_code"] for r in app.dump_orders())
    assert finals[200] and finals[400] and finals[106]


def test_parcels_can_be_booked_in_python_and_over_http(server, app) -> None:  # noqa: ANN001
    booked = app.add_parcel("jnt", "JP9000000001", FROZEN - DAY, "delivered", order_id="SHOPEE-240101ABC")
    assert booked["order_id"] == "SHOPEE-240101ABC"
    body = {"courier": "sicepat", "awb": "004900000002", "shipped_at": FROZEN - 10 * DAY, "story": "cod_refused"}
    requests.post(f"{server.url}/_sandbox/parcels", json=body, timeout=10).raise_for_status()
    assert track(server, "JP9000000001").json()["details"]["order_id"] == "SHOPEE-240101ABC"
    refused = track(server, "004900000002").json()
    assert refused["details"]["costs"]["cod"] > 0 and refused["status_code"] == 400
    for bad in (("kurir-antah", "A1", FROZEN), ("jne", "A" * 21, FROZEN), ("jne", "A1", FROZEN, "vanished")):
        with pytest.raises(ValueError):
            app.add_parcel(*bad)
