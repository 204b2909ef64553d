"""The returns walk against the sandbox: exact windows and parameters, paging, resumption,
the detail per return, and what the connector refuses to believe."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

import pytest

from connectors._http import CredentialError, ImplausibleReply
from connectors._sandbox import Reply
from connectors.contract import ReturnSource, Window
from connectors.shopee import api
from connectors.shopee.client import ShopeeConnector
from connectors.shopee.spec import SPEC
from mappings import shopee_returns
from tests.shopee.support import FROZEN, admin

UTC = timezone.utc
DAY = 86400


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def sns(connector: ShopeeConnector, window: Window, position=None) -> list[str]:  # noqa: ANN001
    return [r["return_sn"] for page in connector.return_pages(window, position) for r in page.records]


def expected(server, window: Window) -> set[str]:  # noqa: ANN001
    return {r["return_sn"] for r in server.app.dump_returns() if window.since <= at(r["update_time"]) < window.until}


def admin_returns(server, body: dict) -> dict:  # noqa: ANN001
    return admin(server, "returns", body)


def record_queries(server, path: str) -> list[dict[str, str]]:  # noqa: ANN001
    """Every query the sandbox gets on ``path`` from now on (the signed parameters included)."""
    seen: list[dict[str, str]] = []
    method, handler = server.app._routes[path]

    def spy(request):  # noqa: ANN001, ANN202
        seen.append(dict(request.query))
        return handler(request)

    server.app._routes[path] = (method, spy)
    return seen


def test_the_spec_declares_the_returns_stream_and_the_connector_meets_it(connector) -> None:  # noqa: ANN001
    stream = SPEC.stream("returns")
    assert stream.mapping_module() is shopee_returns and stream.mode == "window"
    assert isinstance(connector, ReturnSource) and connector.channel == "shopee"


def test_a_window_yields_each_of_its_returns_once_as_the_detail_answers_it(server, connector) -> None:  # noqa: ANN001
    truth = {r["return_sn"]: r for r in server.app.dump_returns()}
    whole = Window(at(FROZEN - 60 * DAY), at(FROZEN + 1))
    pages = [page for window in whole.split(connector.max_window) for page in connector.return_pages(window)]
    records = [r for page in pages for r in page.records]
    assert len(records) == len(truth) and {r["return_sn"]: r for r in records} == truth
    assert sum(p.requests for p in pages) == sum(server.stats.snapshot()["by_path"].values())
    assert server.stats.snapshot()["by_path"][api.RETURN_DETAIL] == len(truth)  # one detail call per return, none twice


def test_the_list_is_asked_with_the_documented_parameters_and_inclusive_bounds(server, connector) -> None:  # noqa: ANN001
    queries = record_queries(server, api.RETURN_LIST)
    since, until = FROZEN - 15 * DAY + 0.4, FROZEN + 0.6  # fractional bounds: [since, until) in whole seconds
    window = Window(at(since), at(until))
    seen = sns(connector, window)
    assert len(seen) == len(set(seen)) and set(seen) == expected(server, window)
    assert len(queries) > 1  # the sandbox's 25 a page: several pages
    first = queries[0]
    assert first["update_time_from"] == str(math.ceil(since)) and first["update_time_to"] == str(math.ceil(until) - 1)
    assert first["page_no"] == "0" and all(q["page_size"] == str(api.RETURN_PAGE_SIZE) == "100" for q in queries)
    assert not any(k.startswith("create_time") or k in ("status", "negotiation_status") for q in queries for k in q)
    assert all(int(q["update_time_to"]) - int(q["update_time_from"]) <= api.MAX_RANGE_SECONDS for q in queries)
    assert {"partner_id", "timestamp", "access_token", "shop_id", "sign"} <= set(first)


def test_the_bounds_are_half_open(server, connector) -> None:  # noqa: ANN001
    stamps = sorted({r["update_time"] for r in server.app.dump_returns() if r["update_time"] > FROZEN - 15 * DAY})
    since, until = stamps[2], stamps[-2]
    seen = sns(connector, Window(at(since), at(until)))
    assert set(seen) == expected(server, Window(at(since), at(until)))
    assert any(r["update_time"] == since for r in server.app.dump_returns() if r["return_sn"] in seen)
    assert not any(r["update_time"] == until for r in server.app.dump_returns() if r["return_sn"] in seen)
    assert sns(connector, Window(at(since), at(since))) == []


def test_resuming_from_a_committed_position_in_a_fresh_connector_leaves_no_gap(server, connector) -> None:  # noqa: ANN001
    window = Window(at(FROZEN - 15 * DAY), at(FROZEN + 1))
    first = next(connector.return_pages(window))
    assert first.position is not None
    position = json.loads(json.dumps(first.position))  # what the engine commits
    assert set(position) == {"update_time_from", "page_no", "seen"}
    fresh = ShopeeConnector(server.url, server.app.demo_credentials())
    seen = [r["return_sn"] for r in first.records] + sns(fresh, window, position)
    assert len(seen) == len(set(seen)) and set(seen) == expected(server, window)


def test_more_than_a_page_sharing_one_second_each_appear_once(server, connector) -> None:  # noqa: ANN001
    ids = [r["return_sn"] for r in server.app.dump_returns()]
    second = FROZEN - 3600
    admin_returns(server, {"touch": ids, "at": second})
    queries = record_queries(server, api.RETURN_LIST)
    window = Window(at(second - 5), at(second + 5))
    pages = list(connector.return_pages(window))
    assert sorted(r["return_sn"] for p in pages for r in p.records) == sorted(ids)
    assert [q["page_no"] for q in queries] == ["0", "1", "2"]  # the second's pages, computed: nothing asked twice
    assert pages[0].position == {"update_time_from": second, "page_no": 1, "seen": sorted(r["return_sn"] for r in pages[0].records)}
    resumed = [r["return_sn"] for r in pages[0].records] + sns(ShopeeConnector(server.url, server.app.demo_credentials()), window, pages[0].position)
    assert sorted(resumed) == sorted(ids)


def test_a_return_updated_mid_walk_does_not_hide_any_other(server, connector) -> None:  # noqa: ANN001
    window = Window(at(FROZEN - 45 * DAY), at(FROZEN - 30 * DAY))
    want = expected(server, window)
    pages = connector.return_pages(window)
    first = next(pages)
    moved = [r["return_sn"] for r in first.records[:5]]
    admin_returns(server, {"touch": moved, "at": FROZEN + 3600})  # they jump out of the window
    seen = [r["return_sn"] for r in first.records] + [r["return_sn"] for page in pages for r in page.records]
    assert set(seen) == want and len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("code", "message"),
    [("error_data", "The return you queried doesn't exist."), ("error_param", "Wrong parameters, detail: Return SN or ID is invalid.")],
)
def test_a_listed_return_whose_detail_is_refused_is_yielded_as_listed(server, connector, code: str, message: str) -> None:  # noqa: ANN001
    gone = server.app.dump_returns()[0]["return_sn"]
    method, detail = server.app._routes[api.RETURN_DETAIL]
    refusal = {"request_id": "x", "error": code, "message": message}
    server.app._routes[api.RETURN_DETAIL] = (method, lambda r: Reply(200, refusal) if r.query.get("return_sn") == gone else detail(r))
    windows = Window(at(FROZEN - 60 * DAY), at(FROZEN + 1)).split(connector.max_window)
    records = {r["return_sn"]: r for window in windows for page in connector.return_pages(window) for r in page.records}
    assert len(records) == len(server.app.dump_returns())
    listed = records[gone]
    assert "negotiation_status" in listed and "negotiation" not in listed  # the list element's shape
    assert shopee_returns.map_return(listed).ret.external_id == gone  # which the mapping reads as well


def test_a_page_not_ordered_by_update_time_fails_instead_of_skipping(server, connector) -> None:  # noqa: ANN001
    method, listing = server.app._routes[api.RETURN_LIST]

    def newest_first(request):  # noqa: ANN001, ANN202
        reply = listing(request)
        reply.body["response"]["return"].reverse()
        return reply

    server.app._routes[api.RETURN_LIST] = (method, newest_first)
    with pytest.raises(ImplausibleReply, match="not ordered by update_time"):
        list(connector.return_pages(Window(at(FROZEN - 15 * DAY), at(FROZEN + 1))))


def test_a_detail_about_another_return_is_implausible(server, connector) -> None:  # noqa: ANN001
    method, detail = server.app._routes[api.RETURN_DETAIL]

    def confused(request):  # noqa: ANN001, ANN202
        reply = detail(request)
        reply.body["response"]["return_sn"] = "2206140TA5PM808"
        return reply

    server.app._routes[api.RETURN_DETAIL] = (method, confused)
    with pytest.raises(ImplausibleReply, match="another return"):
        list(connector.return_pages(Window(at(FROZEN - 15 * DAY), at(FROZEN + 1))))


def test_a_wrong_signature_is_refused_by_the_sandbox_without_retry(server) -> None:  # noqa: ANN001
    wrong = {**server.app.demo_credentials(), "partner_key": "shpk" + "0" * 60}
    with pytest.raises(CredentialError, match="signature refused"):
        list(ShopeeConnector(server.url, wrong).return_pages(Window(at(FROZEN - DAY), at(FROZEN + 1))))
    assert server.stats.snapshot()["by_path"] == {api.RETURN_LIST: 1}


def test_an_expired_token_mid_walk_is_refreshed_and_the_walk_goes_on(server) -> None:  # noqa: ANN001
    saved: list[dict] = []
    connector = ShopeeConnector(server.url, server.app.demo_credentials(), on_credentials=saved.append)
    window = Window(at(FROZEN - 15 * DAY), at(FROZEN + 1))
    pages = connector.return_pages(window)
    seen = [r["return_sn"] for r in next(pages).records]
    server.app.expire_tokens()
    seen += [r["return_sn"] for page in pages for r in page.records]
    assert set(seen) == expected(server, window) and len(saved) == 1
    assert server.stats.snapshot()["by_path"][api.REFRESH] == 1


def test_max_window_is_the_documented_fifteen_days() -> None:
    assert ShopeeConnector.max_window == timedelta(seconds=api.MAX_RANGE_SECONDS) == timedelta(days=15)
