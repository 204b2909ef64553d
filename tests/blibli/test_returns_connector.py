"""The Blibli returns walk against the sandbox: exact windows, the documented parameters
and signature, the newest-first stop and the read-everything fallback, resumption, rows
moving to the front, stuck pages; and the sandbox's returns contract and admin action."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import requests

from connectors._http import CredentialError, PaginationLoop, RetryConfig
from connectors._sandbox import Reply, SandboxClock, SandboxServer
from connectors.blibli import client
from connectors.blibli.client import BlibliConnector
from connectors.blibli.sandbox import BlibliSandbox
from connectors.contract import ReturnSource, Window
from mappings import blibli_returns as mapping
from simpul.canonical import MappingError
from tests.blibli.test_signing import TUE_MAY_12

UTC = timezone.utc
DAY = 86400
FROZEN = 1_750_000_000
QUICK = RetryConfig(attempts=2, base_delay=0.01)
# [B7] "API raw string" of Returned Order List V1, verbatim
SUMMARY_RAW = "GET\n\n\nTue May 12 16:28:52 WIB 2020\n/mtaapi/api/businesspartner/v1/order/getReturnedOrderSummary"


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    app = BlibliSandbox(orders=300, seed=3, clock=SandboxClock(frozen_at=FROZEN))
    with SandboxServer(app, seed=3) as srv:
        yield srv


@pytest.fixture
def connector(server: SandboxServer) -> BlibliConnector:
    return BlibliConnector(server.url, server.app.demo_credentials(), retry=QUICK)


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def stamp(row: dict) -> float:
    return (row.get("updatedDate") or row["createdDate"]) / 1000


def expected(server: SandboxServer, window: Window) -> set[str]:
    return {r["returnId"] for r in server.app.dump_returns() if window.since <= at(stamp(r)) < window.until}


def walk(connector: BlibliConnector, window: Window, position=None) -> list[str]:  # noqa: ANN001
    return [r["returnId"] for page in connector.return_pages(window, position) for r in page.records]


def everything() -> Window:
    return Window(at(FROZEN - 40 * DAY), at(FROZEN + 1))


def recorded(server: SandboxServer, monkeypatch) -> list[dict]:  # noqa: ANN001
    seen: list[dict] = []
    handle = server.app.handle

    def spy(request):  # noqa: ANN001, ANN202
        if request.path == client.RETURNS_LIST:
            seen.append({"query": dict(request.query), "headers": dict(request.headers)})
        return handle(request)

    monkeypatch.setattr(server.app, "handle", spy)
    return seen


def test_the_documented_raw_string_of_the_summary() -> None:
    assert client.raw_string("GET", client.body_md5(None), "", client.wib_date(TUE_MAY_12), client.signed_path(client.RETURNS_LIST)) == SUMMARY_RAW


def test_it_is_a_return_source_and_a_window_returns_exactly_its_rmas_once(server, connector) -> None:  # noqa: ANN001
    assert isinstance(connector, ReturnSource)
    stamps = sorted({stamp(r) for r in server.app.dump_returns()})
    assert len(stamps) > client.RETURNS_PAGE_SIZE  # more than one page
    for window in (everything(), Window(at(stamps[5]), at(stamps[-5])), Window(at(stamps[5] - 0.4), at(stamps[-5] + 0.6))):
        seen = walk(connector, window)
        assert len(seen) == len(set(seen)) and set(seen) == expected(server, window)
    assert walk(connector, Window(at(stamps[3]), at(stamps[3]))) == []


def test_pages_from_0_carry_the_documented_parameters_and_a_signature(server, connector, monkeypatch) -> None:  # noqa: ANN001
    calls = recorded(server, monkeypatch)
    pages = list(connector.return_pages(everything()))
    total = len(server.app.dump_returns())
    assert len(pages) == len(calls) == -(-total // client.RETURNS_PAGE_SIZE) and all(p.requests == 1 for p in pages)
    assert [c["query"]["page"] for c in calls] == [str(n) for n in range(len(calls))]
    for c in calls:
        q, headers = c["query"], {k.lower(): v for k, v in c["headers"].items()}
        assert q["size"] == str(client.RETURNS_PAGE_SIZE) and q["requestId"] and q["channelId"] == client.CHANNEL_ID
        assert q["businessPartnerCode"] == server.app.demo_credentials()["seller_code"]
        assert headers["signature"] and headers["signature-time"].isdigit()  # the sandbox recomputed and accepted it
    truth = {r["returnId"]: r for r in server.app.dump_returns()}
    assert all(r == truth[r["returnId"]] for p in pages for r in p.records)  # what dump_returns says it yields


def test_newest_first_rows_stop_the_walk_once_older_than_the_window_allows(server, connector, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(client, "RMA_LIFETIME", timedelta(days=1))
    calls = recorded(server, monkeypatch)
    window = Window(at(FROZEN - 3 * DAY), at(FROZEN + 1))
    seen = set(walk(connector, window))
    cutoff = (FROZEN - 4 * DAY) * 1000
    rows = server.app.dump_returns()
    assert {r["returnId"] for r in rows if r["createdDate"] >= cutoff and window.since <= at(stamp(r)) < window.until} <= seen <= expected(server, window)
    assert len(calls) < -(-len(rows) // client.RETURNS_PAGE_SIZE)  # it stopped before the last page


def test_rows_that_do_not_come_newest_first_are_all_read(server, connector, monkeypatch) -> None:  # noqa: ANN001
    server.app.returns_newest_first = False
    monkeypatch.setattr(client, "RMA_LIFETIME", timedelta(days=1))
    calls = recorded(server, monkeypatch)
    window = Window(at(FROZEN - 3 * DAY), at(FROZEN + 1))
    assert set(walk(connector, window)) == expected(server, window)
    assert len(calls) == -(-len(server.app.dump_returns()) // client.RETURNS_PAGE_SIZE)


def test_resuming_from_a_position_in_a_fresh_connector_leaves_no_gap(server, connector) -> None:  # noqa: ANN001
    window = everything()
    first = next(connector.return_pages(window))
    position = json.loads(json.dumps(first.position))
    assert "customerName" not in json.dumps(position) and all(r["customerName"] not in json.dumps(position) for r in first.records)
    seen = [r["returnId"] for r in first.records] + walk(BlibliConnector(server.url, server.app.demo_credentials()), window, position)
    assert set(seen) == expected(server, window)


def test_a_row_moving_to_the_front_mid_walk_is_read_twice_never_skipped(server, connector) -> None:  # noqa: ANN001
    window = everything()
    pages = connector.return_pages(window)
    first = [r["returnId"] for r in next(pages).records]
    later = server.app.dump_returns()[-1]["returnId"]  # the oldest: not read yet
    with server.app._lock:  # a new RMA arriving: it goes to the front of a newest-first list
        rma = server.app._rmas[later]
        rma.created = rma.updated = FROZEN
    rest = [r["returnId"] for p in pages for r in p.records]
    # every row that did not change came, one of them twice (the shift); the moved one changed
    # meanwhile and now sits before the walk: the next run's lookback reads it
    assert set(first + rest) == expected(server, window) - {later} and len(first + rest) == len(set(first + rest)) + 1


def test_an_empty_page_claiming_more_or_a_repeated_page_stops_the_walk(server, connector, monkeypatch) -> None:  # noqa: ANN001
    handle, replies = server.app.handle, []

    def empty(request):  # noqa: ANN001, ANN202
        reply = handle(request)
        if request.path == client.RETURNS_LIST and request.query.get("page") == "1":
            return Reply(200, {**reply.body, "content": []})
        return reply

    monkeypatch.setattr(server.app, "handle", empty)
    with pytest.raises(PaginationLoop):
        walk(connector, everything())

    def repeat(request):  # noqa: ANN001, ANN202
        reply = handle(request)
        if request.path == client.RETURNS_LIST:
            replies.append(reply)
            return replies[0]
        return reply

    monkeypatch.setattr(server.app, "handle", repeat)
    with pytest.raises(PaginationLoop, match="repeats the page before it"):
        walk(connector, everything())


def test_a_wrong_signature_key_is_refused_by_the_sandbox(server) -> None:  # noqa: ANN001
    creds = {**server.app.demo_credentials(), "signature_key": "not-the-key"}
    with pytest.raises(CredentialError):
        walk(BlibliConnector(server.url, creds, retry=QUICK), everything())


def test_the_sandbox_enforces_the_documented_returns_contract(server) -> None:  # noqa: ANN001
    creds = server.app.demo_credentials()
    unsigned = BlibliSandbox(orders=40, seed=3, clock=SandboxClock(frozen_at=FROZEN), signature=False)
    with SandboxServer(unsigned) as srv:
        c = unsigned.demo_credentials()
        auth = {"Authorization": "Basic " + __import__("base64").b64encode(f"{c['client_id']}:{c['client_key']}".encode()).decode(), "Api-Seller-Key": c["api_seller_key"]}
        base = {"storeId": "10001", "businessPartnerCode": c["seller_code"], "channelId": "simpul", "requestId": "r-1"}
        for missing in ("requestId", "businessPartnerCode", "channelId"):
            query = {k: v for k, v in base.items() if k != missing}
            if missing == "businessPartnerCode":
                query["storeCode"] = c["seller_code"]
            reply = requests.get(srv.url + client.RETURNS_LIST, params=query, headers=auth, timeout=10)
            assert reply.status_code == 400 and missing in reply.json()["errorMessage"]
        rows = requests.get(srv.url + client.RETURNS_LIST, params=base, headers=auth, timeout=10).json()
        assert rows["success"] and rows["pageMetaData"]["totalRecords"] == len(unsigned.dump_returns())
        one = unsigned.dump_returns()[0]
        by_order = requests.get(srv.url + client.RETURNS_LIST, params={**base, "orderIdOrItemId": one["orderNo"]}, headers=auth, timeout=10).json()
        assert one["returnId"] in {r["returnId"] for r in by_order["content"]} and {r["orderNo"] for r in by_order["content"]} == {one["orderNo"]}
        day = datetime.fromtimestamp(one["createdDate"] / 1000, timezone(timedelta(hours=7))).strftime("%d-%m-%Y")
        by_day = requests.get(srv.url + client.RETURNS_LIST, params={**base, "returDate": day}, headers=auth, timeout=10).json()
        assert one["returnId"] in {r["returnId"] for r in by_day["content"]}
        detail = {**base, "rmaId": one["returnId"], "orderNo": one["orderNo"], "orderItemNo": one["orderItemNo"]}
        answers = [requests.get(srv.url + client.RETURN_DETAIL, params=detail, headers=auth, timeout=10).status_code for _ in range(6)]
        assert answers == [200] * 5 + [429]  # [B7] "5 requests in an hour per rmaId"
        reply = requests.get(srv.url + client.RETURN_DETAIL, params={**base, "rmaId": one["returnId"]}, headers=auth, timeout=10)
        assert reply.status_code == 400
    assert creds.get("signature_key")  # the default sandbox demands signatures (the other tests sign)


def test_the_returns_admin_action_moves_touches_and_corrupts(server) -> None:  # noqa: ANN001
    def rows() -> dict[str, dict]:
        return {r["returnId"]: r for r in server.app.dump_returns()}

    def admin(body: dict) -> dict:
        reply = requests.post(f"{server.url}/_sandbox/returns", json=body, timeout=10)
        reply.raise_for_status()
        return reply.json()

    before = rows()
    rid = next(i for i, r in before.items() if r["status"] == "RMA_REQUEST_APPROVAL")
    moved = admin({"advance": [rid]})
    assert moved["advanced"][rid] == rows()[rid]["status"] != "RMA_REQUEST_APPROVAL" and rows()[rid]["updatedDate"] == FROZEN * 1000
    final = next(i for i, r in before.items() if r["status"] == "RMA_PROCESS_FINISHED")
    admin({"advance": [final]})
    assert rows()[final]["status"] == "RMA_PROCESS_FINISHED" and rows()[final]["updatedDate"] == FROZEN * 1000
    admin({"touch": [rid], "at": FROZEN - 7})
    assert rows()[rid]["updatedDate"] == (FROZEN - 7) * 1000
    admin({"corrupt": rid})
    with pytest.raises(MappingError, match="productSalePrice"):
        mapping.map_return(rows()[rid])
    assert requests.post(f"{server.url}/_sandbox/returns", json={"advance": ["nope"]}, timeout=10).status_code == 400


def test_seeded_rmas_move_on_the_data_clock(server) -> None:  # noqa: ANN001
    open_ = {r["returnId"]: r["status"] for r in server.app.dump_returns() if r["status"] not in ("RMA_PROCESS_FINISHED", "RMA_REQUEST_CANCELLED", "RMA_PROCESS_CANCELLED", "RMA_FORCE_CLOSED")}
    assert open_
    server.app.clock.advance(10 * DAY)
    later = {r["returnId"]: r for r in server.app.dump_returns()}
    assert all(later[i]["status"] != s and later[i]["updatedDate"] > FROZEN * 1000 for i, s in open_.items())
