"""Issue 9 §3: nothing hangs, and one shop never blocks the others.

Every reply has a total deadline and a size cap, every window a budget of pages, requests
and time (``simpul.budget``), and no redirect is followed. A channel that drips its body,
sends a huge one, claims a million pages, hands out ever-new cursors, keeps inventing
orders or redirects elsewhere fails its own account's run with a one-line reason and
without a traceback; the runner moves on to the next account; the committed pages and
the checkpoint stay, the cursor does not move; and once the channel behaves, the next run
completes with the store equal to the source. No test asserts a duration: the budgets are
tiny and injected, the clocks are the engine's, and the counts are asserted.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
import urllib3.response
from requests.structures import CaseInsensitiveDict

from connectors._http import HttpClient, ReplyLimits
from connectors._http.errors import ApiError, BudgetExceeded
from connectors._http.reply import READ_CHUNK, Deadline, ReplyTooLarge, read_body
from connectors._sandbox import SandboxServer
from connectors.shopee import api as shopee_api
from connectors.tiktok import api as tiktok_api
from connectors.woocommerce.sandbox import WooCommerceSandbox
from simpul import budget, store
from simpul.budget import BudgetPolicy
from simpul.engine import INCREMENTAL, SyncRequest
from simpul.runner import Runner
from tests.faults.harness import assert_synced
from tests.hostile import support
from tests.hostile.support import add_account, log_text, no_traceback
from tests.oracle import stored_state

LISTING = {"shopee": shopee_api.ORDER_LIST, "woocommerce": "/wp-json/wc/v3/orders", "lazada": "/orders/get", "tiktok": tiktok_api.ORDER_SEARCH, "blibli": "/v2/proxy/seller/v1/orders/packages/filter"}
METHOD = {"tiktok": "POST", "blibli": "POST"}  # the listing's method where it is not GET


def stopped_cleanly(hub, account: str, summary, expected: str, capfd, caplog) -> None:  # noqa: ANN001
    """A run that a hostile channel stopped: failed with a one-line reason, no traceback,
    checkpoint kept for the next run, cursor not moved."""
    assert summary.status == "failed", summary
    assert summary.error.startswith(expected) and "\n" not in summary.error, summary.error
    out, err = capfd.readouterr()
    no_traceback(out, err, log_text(caplog))
    with hub.db.connect() as conn:
        assert store.load_cursor(conn, account) is None


def test_a_dripping_body_hits_the_reply_deadline_and_the_next_account_still_runs(sqlite_hub, sandbox, capfd, caplog) -> None:  # noqa: ANN001
    caplog.set_level(logging.INFO)
    dripping, neighbour = add_account(sqlite_hub, sandbox, "h-drip"), add_account(sqlite_hub, sandbox, "h-neighbour")
    sandbox.faults.update({"fail_next": ["drip"], "drip_interval": 0.05})  # ~20 bytes/s: minutes for a page
    first, second = Runner(sqlite_hub.engine).run_all([SyncRequest(dripping), SyncRequest(neighbour)])
    stopped_cleanly(sqlite_hub, dripping, first, f"BudgetExceeded: {METHOD.get(sandbox.app.channel, 'GET')} {LISTING[sandbox.app.channel]}: the reply took longer than {support.REPLY.deadline_seconds:g} s", capfd, caplog)
    assert first.requests == 0 and sandbox.stats.snapshot()["by_path"][LISTING[sandbox.app.channel]] >= 1  # not retried
    assert second.status == "completed"  # the runner moved on
    assert_synced(sqlite_hub.db, neighbour, sandbox)
    assert Runner(sqlite_hub.engine).run(SyncRequest(dripping)).status == "completed"
    assert_synced(sqlite_hub.db, dripping, sandbox)


@pytest.mark.parametrize("kind", ["huge", "huge_declared"])
def test_a_huge_body_is_refused_at_the_size_cap(sqlite_hub, sandbox, kind, capfd, caplog) -> None:  # noqa: ANN001
    account = add_account(sqlite_hub, sandbox)
    sandbox.faults.update({"fail_next": [kind], "huge_bytes": 4 * support.REPLY.max_bytes})
    summary = Runner(sqlite_hub.engine).run(SyncRequest(account))
    announced = " (it announced" if kind == "huge_declared" else "; Simpul stops reading there"
    stopped_cleanly(sqlite_hub, account, summary, f"BudgetExceeded: {METHOD.get(sandbox.app.channel, 'GET')} {LISTING[sandbox.app.channel]}: the reply is larger than 2,097,152 bytes", capfd, caplog)
    assert announced in summary.error
    assert Runner(sqlite_hub.engine).run(SyncRequest(account)).status == "completed"
    assert_synced(sqlite_hub.db, account, sandbox)


def test_reading_stops_at_the_cap_and_a_declared_length_above_it_is_not_read_at_all() -> None:
    class Endless(urllib3.response.BaseHTTPResponse):
        def __init__(self) -> None:  # a socket that never stops sending
            self.reads = 0

        def read1(self, amount: int, decode_content: bool = True) -> bytes:
            self.reads += 1
            return b" " * amount

    limits = ReplyLimits(deadline_seconds=60, max_bytes=10 * READ_CHUNK)
    for declared, reads in (("", 11), (str(limits.max_bytes + 1), 0)):
        response = requests.Response()
        response.raw, response.headers = Endless(), CaseInsensitiveDict({"Content-Length": declared} if declared else {})
        with Deadline(limits.deadline_seconds) as deadline, pytest.raises(ReplyTooLarge):
            read_body(response, limits, deadline)
        assert response.raw.reads == reads  # memory stays bounded: one chunk past the cap at most


def test_ever_new_cursors_without_data_use_up_the_idle_budget_and_the_rerun_does_not_trust_them(sqlite_hub, capfd, caplog) -> None:  # noqa: ANN001
    server = support.start_sandbox("shopee", orders=60)
    try:
        account = add_account(sqlite_hub, server)
        server.faults.update({"page_size": 20, "page_faults": [None] + ["fresh"] * 100})
        summary = Runner(sqlite_hub.engine).run(SyncRequest(account))
        idle = BudgetPolicy().idle_pages
        stopped_cleanly(sqlite_hub, account, summary, "BudgetExceeded: shopee window", capfd, caplog)
        assert f"{idle} pages in a row brought nothing new" in summary.error
        listed = server.stats.snapshot()["by_path"][shopee_api.ORDER_LIST]
        assert summary.pages >= idle and listed <= summary.pages + 1  # stopped right there
        with sqlite_hub.db.connect() as conn:  # the checkpoint is before the idle pages, not at a made-up cursor
            plan = store.load_checkpoint(conn, account, INCREMENTAL)[1]
        assert plan.position is None or plan.position["cursor"] == "", plan.position
        server.faults.update({"page_faults": []})
        rerun = Runner(sqlite_hub.engine).run(SyncRequest(account))
        assert rerun.status == "completed" and rerun.counts.new + summary.counts.new == 60
        assert_synced(sqlite_hub.db, account, server)
    finally:
        server.stop()


@pytest.mark.parametrize(
    "headers,reason",
    [
        ({"X-WP-TotalPages": "1000000"}, "X-WP-TotalPages says 1,000,000 pages for X-WP-Total 30 orders"),
        ({"X-WP-Total": "100000000", "X-WP-TotalPages": "1000000"}, "X-WP-Total says 100,000,000 orders, more than a window plausibly holds"),
    ],
    ids=["pages-contradict-total", "total-beyond-ceiling"],
)
def test_a_million_claimed_pages_is_implausible_at_the_first_reply(sqlite_hub, headers, reason, capfd, caplog) -> None:  # noqa: ANN001
    server = support.start_sandbox("woocommerce")
    try:
        account = add_account(sqlite_hub, server)
        server.faults.update({"headers": headers})
        summary = Runner(sqlite_hub.engine).run(SyncRequest(account))
        stopped_cleanly(sqlite_hub, account, summary, "ImplausibleReply: GET /wp-json/wc/v3/orders: ", capfd, caplog)
        assert reason in summary.error and server.stats.requests == 1
        server.faults.update({"headers": {}})
        assert Runner(sqlite_hub.engine).run(SyncRequest(account)).status == "completed"
        assert_synced(sqlite_hub.db, account, server)
    finally:
        server.stop()


def test_a_channel_that_keeps_inventing_orders_uses_up_the_page_budget_it_reported(sqlite_db, keyring, capfd, caplog) -> None:  # noqa: ANN001
    """WooCommerce reports 3 pages; 10 new orders appear after every page, so the walk
    would never end. Budget: 2 x 3 reported pages + 2."""
    hub = support.make_hub(sqlite_db, keyring, policy=BudgetPolicy(slack_pages=2))
    server = support.start_sandbox("woocommerce")
    try:
        account = add_account(hub, server)
        endless = [{"after_pages": n, "action": "mutate", "body": {"insert": 10}} for n in range(1, 60)]
        server.faults.update({"page_size": 10, "changes": endless})
        summary = Runner(hub.engine).run(SyncRequest(account))
        stopped_cleanly(hub, account, summary, "BudgetExceeded: woocommerce window", capfd, caplog)
        assert "page budget used up (9 pages, at most 8: the channel reported 3 pages)" in summary.error
        assert summary.pages == 9 and len(stored_state(hub.db, account)) > 30  # the pages before it landed
        server.faults.update({"changes": []})
        assert Runner(hub.engine).run(SyncRequest(account)).status == "completed"
        assert_synced(hub.db, account, server)
    finally:
        server.stop()


def test_request_and_time_budgets(sqlite_db, keyring, capfd, caplog) -> None:  # noqa: ANN001
    """Requests: retries count (3 per page here, the budget allows 1.5). Time: the engine's
    clock, injected, moves 10 minutes per reading."""
    server = support.start_sandbox("woocommerce")
    try:
        tight = support.make_hub(sqlite_db, keyring, policy=BudgetPolicy(request_factor=0.5, slack_pages=1))
        account = add_account(tight, server)
        server.faults.update({"page_size": 10, "fail_next": [503, 503, None, 503, 503], "retry_after": "0"})
        summary = Runner(tight.engine).run(SyncRequest(account))
        stopped_cleanly(tight, account, summary, "BudgetExceeded: woocommerce window", capfd, caplog)
        assert "request budget used up (6 requests, at most 4 for 7 pages)" in summary.error, summary.error

        ticks = iter(range(10**6))
        start = datetime.now(timezone.utc)
        slow = support.make_hub(sqlite_db, keyring, policy=BudgetPolicy(min_seconds=900), clock=lambda: start + timedelta(minutes=10 * next(ticks)))
        other = add_account(slow, server, "h-slow")
        summary = Runner(slow.engine).run(SyncRequest(other))
        stopped_cleanly(slow, other, summary, "BudgetExceeded: woocommerce window", capfd, caplog)
        assert "time budget used up" in summary.error and "at most 900 s" in summary.error

        relaxed = support.make_hub(sqlite_db, keyring)
        for name in (account, other):
            assert Runner(relaxed.engine).run(SyncRequest(name)).status == "completed"
            assert_synced(sqlite_db, name, server)
    finally:
        server.stop()


class AnyoneWelcome(WooCommerceSandbox):
    """Another host: it answers whoever asks, with its own orders."""

    def _authenticate(self, request: Any) -> str:
        return "ok"


def test_a_redirect_to_another_host_is_not_followed(sqlite_hub, capfd, caplog) -> None:  # noqa: ANN001
    server = support.start_sandbox("woocommerce")
    other = SandboxServer(AnyoneWelcome(orders=15, seed=99)).start()
    try:
        account = add_account(sqlite_hub, server)
        server.faults.update({"fail_next": ["redirect"], "redirect_to": other.url})
        summary = Runner(sqlite_hub.engine).run(SyncRequest(account))
        stopped_cleanly(sqlite_hub, account, summary, "ApiError: GET /wp-json/wc/v3/orders: HTTP 302, the channel redirected to another host (http://127.0.0.1:", capfd, caplog)
        assert "Simpul does not follow redirects off the account's base URL" in summary.error
        assert other.stats.requests == 0 and stored_state(sqlite_hub.db, account) == {}  # none of the other host's orders
        assert Runner(sqlite_hub.engine).run(SyncRequest(account)).status == "completed"
        assert_synced(sqlite_hub.db, account, server)
    finally:
        other.stop()
        server.stop()


def test_a_redirect_is_named_in_one_line_without_its_query(sandbox) -> None:  # noqa: ANN001
    sandbox.faults.update({"fail_next": ["redirect", "redirect"], "redirect_to": "https://evil.example:8443/x?token=s3cr3t-t0ken"})
    client = HttpClient(sandbox.url)
    with pytest.raises(ApiError) as info:
        client.request("GET", "/anything", params={"q": 1})
    assert str(info.value) == (
        "GET /anything: HTTP 302, the channel redirected to another host (https://evil.example:8443); "
        "Simpul does not follow redirects off the account's base URL (check the base URL)"
    )
    sandbox.faults.update({"redirect_to": sandbox.url + "/elsewhere"})
    with pytest.raises(ApiError, match=r"another path on the same host \(/elsewhere/anything\)"):
        client.request("GET", "/anything")


def test_window_budgets_are_derived_from_the_channel() -> None:
    from connectors.shopee.client import ShopeeConnector
    from connectors.woocommerce.client import WooCommerceConnector

    policy = BudgetPolicy()
    woo = budget.limits_for(policy, WooCommerceConnector.limits, reported=3, rate=5)
    assert (woo.pages, woo.requests, woo.seconds) == (16, 48, 600)  # 2 x 3 + 10 pages; x1 request x3; the floor
    shopee = budget.limits_for(policy, ShopeeConnector.limits, reported=None, rate=10)
    assert shopee.pages == 2 * 15_000 + 10 and shopee.requests == shopee.pages * 5 * 3  # from the 1.5M-order ceiling
    assert shopee.seconds == shopee.requests / 10 * 3
    with pytest.raises(BudgetExceeded, match="4 pages in a row"):  # the same page again and again: 1 new, then 4 idle
        state = None
        for _ in range(5):
            state = budget.charge(state, run_id="r", window=0, record_keys=["same"], requests=1, seconds=0, reported_pages=None)
        budget.check(state, BudgetPolicy(idle_pages=4), WooCommerceConnector.limits, None, what="w", since=datetime.now(timezone.utc), until=datetime.now(timezone.utc))
