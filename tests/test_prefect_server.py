"""Deployed runs on a real Prefect server with real workers (tests/prefect_server.py).

The deployments are prefect.yaml's, made by ``prefect deploy --all``; the database limit
is made by ``simpul prefect setup``; workers are ``simpul prefect worker`` processes that
run each flow run in its own process, exactly as in production. Shops are many WooCommerce
sandboxes in one in-process server (``SandboxServer.hosting``), frozen in time, so
counts can be compared across runs. Nothing here asserts a duration: counts, states and
log lines only (waits have generous timeouts, never a measured time).
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter, FlowRunFilterParentFlowRunId, LogFilter, LogFilterFlowRunId
from prefect.exceptions import PrefectHTTPStatusError
from prefect.states import Scheduled

from connectors._sandbox import SandboxClock, SandboxServer
from connectors.woocommerce.sandbox import WooCommerceSandbox
from simpul.engine import SyncRequest
from simpul.model import Order, SyncRun
from simpul.runtime import Hub, open_hub
from tests.prefect_server import RealPrefect

pytestmark = [pytest.mark.prefect, pytest.mark.postgres]

CRASH_WORDS = ("Traceback", "Unexpected result", "Engine execution exited with unexpected exception")
STOP_QUEUE, RESUME_QUEUE = "stop-test", "resume-test"  # the worker-stop test's runs, out of the shared workers' reach


@pytest.fixture(scope="module")
def shops() -> Iterator[SandboxServer]:
    """WooCommerce shops: /shops/<n>. Shops 0-99: 20 orders each; 200+: 500 orders (one
    seed, so identical), frozen so that two runs see the same data."""
    frozen = time.time()

    def make(n: int) -> WooCommerceSandbox:
        return WooCommerceSandbox(orders=500 if n >= 200 else 20, seed=11 if n >= 200 else n, clock=SandboxClock(frozen_at=frozen))

    with SandboxServer.hosting(make) as server:
        server.directory.set_faults({"retry_after": None})
        yield server


@pytest.fixture(scope="module")
def hub(real_prefect: RealPrefect) -> Iterator[Hub]:
    """The hub the workers' flow runs open (same database, same master key)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SIMPUL_MASTER_KEY", real_prefect.master_key)
        opened = open_hub(real_prefect.hub_url, actor="test")
    yield opened
    opened.close()


def add(hub: Hub, shops: SandboxServer, account: str, shop: int, *, refused: bool = False) -> None:
    creds = dict(shops.shop(shop).app.demo_credentials())
    if refused:
        creds["consumer_secret"] = "cs_wrong"
    hub.accounts.add(account, "woocommerce", account, shops.shop_url(shop), creds, history_days=60)


def run_logs(run_id) -> str:  # noqa: ANN001
    with get_client(sync_client=True) as client:
        return "\n".join(log.message for log in client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))))


def artifact(run_id, key: str):  # noqa: ANN001, ANN201
    with get_client(sync_client=True) as client:
        [found] = [a for a in client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))) if a.key == key]
    return json.loads(found.data) if found.type == "table" else found.data


def runs_of(hub: Hub, account: str) -> list[dict]:
    runs = SyncRun.__table__
    with hub.db.connect() as conn:
        rows = conn.execute(sa.select(runs.c.status, runs.c.error, runs.c.counts).where(runs.c.account_id == account).order_by(runs.c.started_at)).all()
    return [{"status": r.status, "error": r.error, **json.loads(r.counts or "{}")} for r in rows]


def stored_orders(hub: Hub, account: str) -> int:
    orders = Order.__table__
    with hub.db.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(orders).where(orders.c.account_id == account)).scalar_one()


STOP_SHOPS = (200, 201)


@pytest.fixture(scope="module")
def kickoff(real_prefect: RealPrefect, hub: Hub, shops: SandboxServer) -> dict:
    """Everything the tests below wait for, started at once so that flow-run start-ups
    (a few seconds each: a process, Prefect, the flow's imports) overlap: the workers, the
    accounts, and the first runs of each test. The worker-stop test comes first, while
    its sync is still going."""
    for account, shop in (("fail-ok", 1), ("fail-refused", 2)):
        add(hub, shops, account, shop, refused=account.endswith("refused"))
    fan = [f"fan-{i:02d}" for i in range(9)] + ["fan-09-refused"]
    for i, account in enumerate(fan):
        add(hub, shops, account, 10 + i, refused=account.endswith("refused"))
    stop = ["stop-a", "stop-b"]
    for n, account in zip(STOP_SHOPS, stop):
        add(hub, shops, account, n)
        shops.shop(n).set_faults({"page_size": 20, "latency_ms": 100})
    add(hub, shops, "stop-reference", 202)  # the same seeded shop, synced without interruption
    shops.shop(202).set_faults({"page_size": 20})
    reference = hub.engine.run(SyncRequest("stop-reference"))

    workers = real_prefect.start_workers(
        shared={"work_queue": "default", "limit": 2},
        second={"work_queue": "default", "limit": 2},
        stopper={"work_queue": STOP_QUEUE, "grace": 20},
        resumer={"work_queue": RESUME_QUEUE},
    )
    return {
        "workers": workers,
        "fan_accounts": fan,
        "stop_accounts": stop,
        "stop_reference": reference,
        "unknown": real_prefect.run_deployment("resync/manual", {"params": {"account": "nobody-here", "order_numbers": ["1001"]}}),
        # sync-all runs one at a time (its deployment cancels a second one), so this shares the
        # code path of a sync-all with few accounts through a shard run.
        "one_bad": real_prefect.run_deployment("sync-shard/shard", {"accounts": ["fail-ok", "fail-refused"]}),
        "fan_out": real_prefect.run_deployment("sync-all/every-5-minutes", {"accounts": fan, "shard_size": 4, "concurrency": 2}),
        "stop_first": _run_on(STOP_QUEUE, {"accounts": stop, "concurrency": 2}),
    }


# -- §1.8 -----------------------------------------------------------------------------------
def test_a_worker_told_to_stop_stops_its_run_within_the_grace_period_and_the_next_run_resumes_it(
    real_prefect: RealPrefect, kickoff: dict, hub: Hub, shops: SandboxServer
) -> None:
    """SIGTERM to a real ``simpul prefect worker`` in the middle of a sync: its flow run
    ends Crashed (Prefect then ends the process by the signal, mid-page: each page is one
    transaction, so nothing half-written stays), the worker exits on its own within its
    grace period (exit code 0: nothing had to be killed), and the next run takes over
    each account's checkpoint: the pages of both runs add up to those of an uninterrupted
    sync, and the killed run's row says who took over."""
    accounts, stopper, reference = kickoff["stop_accounts"], kickoff["workers"]["stopper"], kickoff["stop_reference"]
    assert reference.status == "completed" and reference.pages > 20

    _wait_served(shops, STOP_SHOPS, pages=6)
    stopper.process.send_signal(signal.SIGTERM)
    exit_code = stopper.process.wait(timeout=90)

    assert exit_code == 0, stopper.log()[-3000:]  # stopped within --grace, nothing killed
    assert "stopping 1 flow run(s)" in stopper.log()
    first = real_prefect.wait_final(kickoff["stop_first"].id, timeout=30)
    assert first.state.type.value == "CRASHED"
    before = {a: runs_of(hub, a) for a in accounts}
    interrupted = [r for rows in before.values() for r in rows]
    assert interrupted and {r["status"] for r in interrupted} == {"running"}  # the process died with them
    assert 0 < sum(r.get("pages", 0) for r in interrupted) and all(r.get("pages", 0) < reference.pages for r in interrupted)

    second = real_prefect.wait_final(_run_on(RESUME_QUEUE, {"accounts": accounts, "concurrency": 2}).id)  # on another worker

    assert second.state.type.value == "COMPLETED"
    for n, account in zip(STOP_SHOPS, accounts):
        runs = runs_of(hub, account)
        assert [r["status"] for r in runs] == ["abandoned"] * len(before[account]) + ["completed"]
        assert all("took over" in r["error"] for r in runs[:-1])
        assert sum(r.get("pages", 0) for r in runs) == reference.pages  # no committed page read twice, none skipped
        served = shops.shop(n).stats.snapshot()["requests"]
        # At most the page in flight and the one read ahead, again: an orders page is one
        # request, a returns page one more per refunded order on it (20 a page here).
        assert served <= reference.requests + 2 * (1 + 20)
        assert stored_orders(hub, account) == stored_orders(hub, "stop-reference")
    assert not [w for w in CRASH_WORDS if w in run_logs(second.id)]


# -- §1.2 -----------------------------------------------------------------------------------
def test_failed_runs_end_failed_with_their_report_and_the_worker_logs_no_crash(real_prefect: RealPrefect, kickoff: dict, hub: Hub) -> None:
    """A resync of an unknown account, and a shard with one account refused (the sync-all
    with one refused account is the fan-out test's)."""
    unknown, one_bad = real_prefect.wait_final(kickoff["unknown"].id), real_prefect.wait_final(kickoff["one_bad"].id)

    assert unknown.state.type.value == "FAILED" and "nobody-here" in unknown.state.message and "no account" in unknown.state.message
    assert "no account" in artifact(unknown.id, "resync-report-nobody-here")
    assert one_bad.state.type.value == "FAILED" and one_bad.state.message == "1 of 2 account(s) failed: fail-refused"
    assert [r["status"] for r in artifact(one_bad.id, "sync-shard-summary")] == ["failed", "completed"]  # failing first
    assert stored_orders(hub, "fail-ok") == 20
    logs = "".join(w.log() for w in kickoff["workers"].values() if w.name in ("shared", "second"))
    assert "Finished in state Failed" in logs  # the runs' own output reached the workers' output
    for text in (logs, run_logs(unknown.id), run_logs(one_bad.id)):
        assert not [w for w in CRASH_WORDS if w in text], text[-3000:]


# -- §1.3 (the API; the form itself is in tests/test_prefect_browser.py) ------------------
@pytest.mark.parametrize(
    "params",
    [
        {"account": "shop-a"},
        {"account": "shop-a", "since": None, "order_numbers": []},
        {"account": "shop-a", "since": "2026-01-31T08:00:00"},
        {"account": "shop-a", "order_numbers": ["1"], "until": "2026-02-01T00:00:00Z"},
    ],
)
def test_the_server_refuses_a_resync_that_cannot_run(real_prefect: RealPrefect, params: dict) -> None:
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("resync/manual")
        with pytest.raises(PrefectHTTPStatusError) as refused:
            client.create_flow_run_from_deployment(deployment.id, parameters={"params": params})
        assert refused.value.response.status_code in (409, 422)
        assert "Validation failed" in refused.value.response.text


def test_the_server_accepts_a_resync_with_a_window_or_order_numbers(real_prefect: RealPrefect) -> None:
    later = Scheduled(scheduled_time=datetime.now(timezone.utc) + timedelta(days=1))  # accepted, never picked up
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("resync/manual")
        for params in ({"account": "shop-a", "since": "2026-01-31T08:00:00+07:00"}, {"account": "shop-a", "order_numbers": ["1001"], "since": None, "until": None}):
            run = client.create_flow_run_from_deployment(deployment.id, parameters={"params": params}, state=later)
            assert run.parameters == {"params": params}
            client.delete_flow_run(run.id)


# -- §3 -------------------------------------------------------------------------------------
def test_sync_all_splits_the_hub_into_shard_runs_that_both_workers_take(real_prefect: RealPrefect, kickoff: dict, hub: Hub) -> None:
    """Ten accounts, shards of four: three sync-shard runs on the pool, shared by two
    workers of two runs each (a waiting sync-all holds one)."""
    accounts = kickoff["fan_accounts"]
    parent = real_prefect.wait_final(kickoff["fan_out"].id)

    with get_client(sync_client=True) as client:
        shards = client.read_flow_runs(flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent.id])))
    assert sorted(s.name for s in shards) == ["sync-shard-1-of-3", "sync-shard-2-of-3", "sync-shard-3-of-3"]
    assert sorted(len(s.parameters["accounts"]) for s in shards) == [2, 4, 4]
    shard_ids = {str(s.id) for s in shards}
    workers = kickoff["workers"]
    assert shard_ids & workers["shared"].submitted() and shard_ids & workers["second"].submitted(), "each worker ran shards"
    assert parent.state.type.value == "FAILED" and parent.state.message == "1 of 10 account(s) failed: fan-09-refused"
    summary = artifact(parent.id, "sync-all-summary")
    assert [r["account"] for r in summary][0] == "fan-09-refused" and len(summary) == 10  # the whole hub, failing first
    assert list(summary[0]) == ["account", "status", "new", "changed", "quarantined", "seconds", "error"]
    assert {r["status"] for r in summary[1:]} == {"completed"} and sum(r["new"] for r in summary) == 9 * 20
    assert [r["seconds"] for r in summary[1:]] == sorted((r["seconds"] for r in summary[1:]), reverse=True)  # then the slowest
    assert [s.state.type.value for s in sorted(shards, key=lambda s: s.name)] == ["COMPLETED", "COMPLETED", "FAILED"]  # the refused account's shard
    for account in accounts[:-1]:
        assert stored_orders(hub, account) == 20
        assert [r["status"] for r in runs_of(hub, account)] == ["completed"]  # its own run row, once
    assert not [w for w in CRASH_WORDS if w in workers["shared"].log() + workers["second"].log()]


def _run_on(queue: str, parameters: dict):  # noqa: ANN202
    """A shard run of these accounts on one queue (one shard: what sync-all runs in-process)."""
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("sync-shard/shard")
        return client.create_flow_run_from_deployment(deployment.id, parameters=parameters, work_queue_name=queue)


def _wait_served(shops: SandboxServer, numbers: tuple[int, ...], *, pages: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while sum(shops.shop(n).stats.snapshot()["requests"] for n in numbers) < pages:
        assert time.monotonic() < deadline, "the sync never got going"
        time.sleep(0.1)
