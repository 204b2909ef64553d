"""The returns walk against the sandbox: exact windows, page numbers and their parameters,
resumption, a range restarted when its total moves, the page cap, summary-only items,
stuck pages, signing; and the sandbox's reverse-order contract and admin action."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import requests

from connectors._http import ConnectorError, CredentialError, PaginationLoop, RetryConfig
from connectors._sandbox import SandboxServer
from connectors.contract import ReturnSource, Window
from connectors.lazada import api
from connectors.lazada.client import LazadaConnector
from mappings import lazada_returns as mapping
from simpul.canonical import MappingError
from tests.lazada.support import FROZEN, call

UTC = timezone.utc
DAY = 86400
QUICK = RetryConfig(attempts=2, base_delay=0.01)


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def stamp(record: dict) -> int:
    return max(int(line["return_order_line_gmt_modified"]) for line in record["reverse_order_lines"])


def expected(server: SandboxServer, window: Window) -> set[int]:
    return {r["reverse_order_id"] for r in server.app.dump_returns() if window.since <= at(stamp(r)) < window.until}


def walk(connector: LazadaConnector, window: Window, position=None) -> list[int]:  # noqa: ANN001
    return [r["reverse_order_id"] for page in connector.return_pages(window, position) for r in page.records]


def everything() -> Window:
    return Window(at(FROZEN - 60 * DAY), at(FROZEN + 1))


def returns_admin(server: SandboxServer, body: dict) -> dict:
    response = requests.post(f"{server.url}/_sandbox/returns", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def recorded(server: SandboxServer, monkeypatch) -> list[dict[str, str]]:  # noqa: ANN001
    """The query of every reverse-order list request the sandbox answers."""
    seen: list[dict[str, str]] = []
    handle = server.app.handle

    def spy(request):  # noqa: ANN001, ANN202
        if request.path == api.REVERSE_ORDERS:
            seen.append(dict(request.query))
        return handle(request)

    monkeypatch.setattr(server.app, "handle", spy)
    return seen


def test_it_is_a_return_source_and_a_window_returns_exactly_its_reverse_orders_once(server, connector) -> None:  # noqa: ANN001
    assert isinstance(connector, ReturnSource)
    stamps = sorted({stamp(r) for r in server.app.dump_returns()})
    for window in (everything(), Window(at(stamps[5]), at(stamps[-5])), Window(at(stamps[5] - 0.4), at(stamps[-5] + 0.6))):
        seen = walk(connector, window)
        assert len(seen) == len(set(seen)) and set(seen) == expected(server, window)
    assert walk(connector, Window(at(stamps[3]), at(stamps[3]))) == []


def test_pages_are_numbered_from_1_and_ask_the_documented_parameters_in_milliseconds(server, connector, monkeypatch) -> None:  # noqa: ANN001
    queries = recorded(server, monkeypatch)
    window = everything()
    pages = list(connector.return_pages(window))
    total = len(server.app.dump_returns())
    assert len(pages) == -(-total // api.REVERSE_PAGE_SIZE) > 1 and all(p.requests == 1 for p in pages)
    assert [q["page_no"] for q in queries] == [str(n) for n in range(1, len(pages) + 1)]
    since_ms, until_ms = int(window.since.timestamp() * 1000), int(window.until.timestamp() * 1000)
    for q in queries:
        assert q["page_size"] == str(api.REVERSE_PAGE_SIZE)
        assert (q["ReverseOrderLineModifiedTimeRangeStart"], q["ReverseOrderLineModifiedTimeRangeEnd"]) == (str(since_ms - 1), str(until_ms))
    assert pages[-1].position is None and all(p.position for p in pages[:-1])
    truth = {r["reverse_order_id"]: r for r in server.app.dump_returns()}
    assert all(r == truth[r["reverse_order_id"]] for p in pages for r in p.records)  # what dump_returns says it yields


def test_inclusive_bounds_would_not_double_or_lose_a_reverse_order(server, connector) -> None:  # noqa: ANN001
    server.app.inclusive_bounds = True
    stamps = sorted({stamp(r) for r in server.app.dump_returns()})
    window = Window(at(stamps[4]), at(stamps[-4]))
    seen = walk(connector, window)
    assert len(seen) == len(set(seen)) and set(seen) == expected(server, window)


def test_resuming_from_a_position_in_a_fresh_connector_leaves_no_gap(server, connector) -> None:  # noqa: ANN001
    window = everything()
    first = next(connector.return_pages(window))
    position = json.loads(json.dumps(first.position))  # what the engine commits
    fresh = LazadaConnector(server.url, server.app.demo_credentials())
    seen = [r["reverse_order_id"] for r in first.records] + walk(fresh, window, position)
    assert len(seen) == len(set(seen)) and set(seen) == expected(server, window)


def test_reverse_orders_leaving_the_range_mid_walk_restart_it_and_nothing_is_skipped(server, connector, monkeypatch) -> None:  # noqa: ANN001
    window = Window(at(FROZEN - 60 * DAY), at(FROZEN - DAY))  # a touch moves a reverse order to now: out of this window
    inside = sorted(expected(server, window))
    queries = recorded(server, monkeypatch)
    pages = connector.return_pages(window)
    first = [r["reverse_order_id"] for r in next(pages).records]
    returns_admin(server, {"touch": inside[:3]})  # three of the first page leave: every later one shifts three places
    rest = [r["reverse_order_id"] for p in pages for r in p.records]
    assert set(first + rest) == set(inside)  # the three left already, the rest all came
    assert [q["page_no"] for q in queries][:3] == ["1", "2", "1"]  # the total moved on page 2: the range is read again


def test_a_range_too_large_to_page_through_is_halved_until_it_fits(server, connector, monkeypatch) -> None:  # noqa: ANN001
    server.app.reverse_page_cap = 1  # as third-party clients saw past page 100: nothing beyond the cap
    monkeypatch.setattr(api, "REVERSE_PAGE_CAP", 1)
    window = everything()
    seen = walk(connector, window)
    assert len(seen) == len(set(seen)) and set(seen) == expected(server, window)


def test_a_range_of_one_millisecond_beyond_the_cap_stops_with_a_clear_error(server, connector, monkeypatch) -> None:  # noqa: ANN001
    ids = [r["reverse_order_id"] for r in server.app.dump_returns()][:60]
    returns_admin(server, {"touch": ids, "at": FROZEN - DAY})
    monkeypatch.setattr(api, "REVERSE_PAGE_CAP", 1)
    with pytest.raises(ConnectorError, match="in one millisecond"):
        walk(connector, Window(at(FROZEN - DAY), at(FROZEN - DAY + 1)))


def test_items_listed_without_lines_get_the_detail_lines(server, connector) -> None:  # noqa: ANN001
    server.app.reverse_list_lines = False  # summary-only items (seen on Daraz)
    window = everything()
    records = [r for p in connector.return_pages(window) for r in p.records]
    assert {r["reverse_order_id"] for r in records} == expected(server, window)
    by_path = server.stats.snapshot()["by_path"]
    assert by_path[api.REVERSE_DETAIL] == len(records)
    truth = {r["reverse_order_id"]: mapping.map_return(r).ret for r in server.app.dump_returns()}
    assert all(mapping.map_return(r).ret == truth[r["reverse_order_id"]] for r in records)  # the detail's shape maps the same


@pytest.mark.parametrize("kind", ["empty", "repeat"])
def test_an_empty_or_repeated_page_stops_the_walk_instead_of_skipping_one(server, connector, kind: str) -> None:  # noqa: ANN001
    server.faults.update({"page_faults": [None, kind]})
    with pytest.raises(PaginationLoop):
        walk(connector, everything())


def test_a_wrong_secret_is_refused_by_the_sandbox_on_the_returns_walk(server) -> None:  # noqa: ANN001
    creds = {**server.app.demo_credentials(), "app_secret": "not-the-secret"}
    with pytest.raises(CredentialError, match="signature refused"):
        walk(LazadaConnector(server.url, creds, retry=QUICK), everything())


def test_the_sandbox_enforces_the_documented_reverse_list_parameters(server) -> None:  # noqa: ANN001
    missing = call(server, "GET", api.REVERSE_ORDERS, page_no=1).json()
    assert (missing["code"], "page_size" in missing["message"]) == ("MissingParameter", True)
    missing = call(server, "GET", api.REVERSE_ORDERS, page_size=10).json()
    assert missing["code"] == "MissingParameter" and "page_no" in missing["message"]
    assert call(server, "GET", api.REVERSE_ORDERS, page_size=0, page_no=1).json()["code"] == "InvalidParameter"
    listed = call(server, "POST", api.REVERSE_ORDERS, page_size=5, page_no=2, request_type_list=json.dumps(["CANCEL"])).json()
    assert listed["code"] == "0" and listed["result"]["page_no"] == 2 and len(listed["result"]["items"]) <= 5
    assert {i["request_type"] for i in listed["result"]["items"]} == {"CANCEL"}
    rid = listed["result"]["items"][0]["reverse_order_id"]
    detail = call(server, "GET", api.REVERSE_DETAIL, reverse_order_id=rid).json()
    assert detail["data"]["reverse_order_id"] == rid and detail["data"]["reverseOrderLineDTOList"][0]["productDTO"]
    assert call(server, "GET", api.REVERSE_DETAIL, reverse_order_id=1).json()["code"] == "106"  # another store's: ROC internal error
    assert call(server, "GET", api.REVERSE_DETAIL).json()["code"] == "105"


def test_the_returns_admin_action_moves_touches_and_corrupts(server) -> None:  # noqa: ANN001
    before = {r["reverse_order_id"]: r for r in server.app.dump_returns()}
    rid = next(i for i, r in before.items() if r["reverse_order_lines"][0]["reverse_status"] == "REQUEST_INITIATE")
    moved = returns_admin(server, {"advance": [rid]})
    after = {r["reverse_order_id"]: r for r in server.app.dump_returns()}
    assert moved["advanced"][str(rid)] == after[rid]["reverse_order_lines"][0]["reverse_status"] != "REQUEST_INITIATE"
    assert stamp(after[rid]) == FROZEN and mapping.map_return(after[rid]).ret.status != mapping.map_return(before[rid]).ret.status
    final = next(i for i, r in after.items() if r["reverse_order_lines"][0]["reverse_status"] == "REFUND_SUCCESS")
    returns_admin(server, {"advance": [final]})  # already final: only touched
    again = {r["reverse_order_id"]: r for r in server.app.dump_returns()}[final]
    assert again["reverse_order_lines"][0]["reverse_status"] == "REFUND_SUCCESS" and stamp(again) == FROZEN
    returns_admin(server, {"touch": [rid], "at": FROZEN - 5})
    assert stamp({r["reverse_order_id"]: r for r in server.app.dump_returns()}[rid]) == FROZEN - 5
    returns_admin(server, {"corrupt": rid})
    broken = {r["reverse_order_id"]: r for r in server.app.dump_returns()}[rid]
    with pytest.raises(MappingError, match="refund_amount"):
        mapping.map_return(broken)
    assert requests.post(f"{server.url}/_sandbox/returns", json={"advance": [42]}, timeout=10).status_code == 400


def test_seeded_reverse_orders_move_through_their_statuses_on_the_data_clock(server) -> None:  # noqa: ANN001
    open_ = {r["reverse_order_id"]: r["reverse_order_lines"][0]["reverse_status"] for r in server.app.dump_returns() if "sla" in r["reverse_order_lines"][0]}
    assert open_  # some are still waiting on someone
    server.app.clock.advance(10 * DAY)
    later = {r["reverse_order_id"]: r for r in server.app.dump_returns()}
    assert all(later[i]["reverse_order_lines"][0]["reverse_status"] != s for i, s in open_.items())
    assert all(stamp(later[i]) > FROZEN for i in open_)


def test_the_walk_fails_cleanly_on_a_result_without_items(server, connector, monkeypatch) -> None:  # noqa: ANN001
    from connectors._sandbox import Reply

    monkeypatch.setattr(server.app, "handle", lambda request: Reply(200, {"code": "0", "result": {"success": True, "total": 3}}))
    with pytest.raises(ConnectorError, match="no items list"):
        walk(connector, Window(at(FROZEN - DAY), at(FROZEN)))
    assert timedelta(0) < LazadaConnector.lookback
