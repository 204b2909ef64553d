"""The Prefect flows against a real Prefect API (one session-wide test harness).

The fake channel runs on a temp SQLite hub that the flows find through the environment,
as they do in production. Its connector accepts only a unique canary token, so the last
test can search everything Prefect stored for that one value.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from prefect.artifacts import Artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId
from prefect.logging.handlers import APILogWorker
from prefect.states import State
from pydantic import ValidationError

import tests.fakes as fakes
from connectors._http.errors import TransientError
from connectors._http.secret import reveal
from flows._artifacts import KEY_COLUMNS
from flows._states import Incomplete
from flows.params import ResyncParams
from flows.sync_orders import resync, run_sync_flow, sync_all, sync_orders
from simpul import store
from simpul.channels import CHANNELS
from tests.fakes import fake_spec
from simpul.engine import SyncRequest
from simpul.locks import AccountLock
from simpul.model import Order, SyncRun
from simpul.runtime import Hub, open_hub

CANARY = f"canary-{uuid.uuid4().hex}"
WRONG = f"wrong-{uuid.uuid4().hex}"


class CanaryConnector(fakes.FakeConnector):
    """The fake connector, accepting the canary token instead of the fake's fixed one."""

    def __init__(self, base_url: str, credentials: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(base_url, {"token": "good" if reveal(credentials.get("token")) == CANARY else "refused"}, **kwargs)


CANARY_CHANNEL = fake_spec("tests.test_flows:CanaryConnector")


@pytest.fixture
def flow_hub(prefect_api: None, tmp_path, monkeypatch) -> Iterator[Hub]:  # noqa: ANN001
    """A fresh hub the flows open by themselves from SIMPUL_DATABASE_URL / SIMPUL_MASTER_KEY."""
    monkeypatch.setenv("SIMPUL_DATABASE_URL", f"sqlite:///{tmp_path / 'simpul.db'}")
    monkeypatch.setenv("SIMPUL_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())
    monkeypatch.setitem(CHANNELS, "fake", CANARY_CHANNEL)
    monkeypatch.setattr(fakes, "SOURCE", fakes.FakeSource())
    hub = open_hub(actor="test")
    yield hub
    hub.close()


def add_account(hub: Hub, account_id: str, token: str = CANARY) -> None:
    hub.accounts.add(account_id, "fake", account_id, "http://fake.invalid", {"token": token})


def seed(orders: int = 10) -> None:
    """Orders spread over the last three weeks (several 2-day windows), plus one unmappable.

    The flows open their own engine on the wall clock, so the times are taken from it now,
    when the test seeds them (not when the module was imported); each is at least an hour
    inside the run's window."""
    now = datetime.now(timezone.utc)
    for i in range(orders):
        fakes.SOURCE.put(f"o{i}", int((now - timedelta(days=2 * i + 1)).timestamp()))
    fakes.SOURCE.put("bad", int((now - timedelta(hours=2)).timestamp()), total="not-money")


def stored_orders(hub: Hub, account_id: str) -> int:
    orders = Order.__table__
    with hub.db.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(orders).where(orders.c.account_id == account_id)).scalar_one()


def api_flow_run(state: State) -> Any:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(state.state_details.flow_run_id)


def table(key: str) -> list[dict[str, Any]]:
    return json.loads(Artifact.get(key).data)


@pytest.mark.prefect
def test_sync_orders_loads_an_account_then_writes_nothing_the_second_time(flow_hub: Hub) -> None:
    add_account(flow_hub, "shop-a")
    seed()

    state = sync_orders(account="shop-a", pages_per_task=5, return_state=True)

    run = api_flow_run(state)
    assert run.state.type.value == "COMPLETED"
    assert run.parameters == {"account": "shop-a", "pages_per_task": 5}
    row = state.result()
    assert (row["status"], row["new"], row["changed"], row["quarantined"]) == ("completed", 10, 0, 1)
    assert row["pages"] > 5  # more than one batch, so progress was updated between batches
    assert stored_orders(flow_hub, "shop-a") == 10
    [summary] = table("sync-summary-shop-a")
    assert list(summary) == list(KEY_COLUMNS)  # the key columns only: the table fits the screen
    assert {k: summary[k] for k in KEY_COLUMNS} == {k: row[k] for k in KEY_COLUMNS}
    assert Artifact.get("sync-progress-shop-a").data == 100
    report = Artifact.get("sync-report-shop-a").data
    assert "10 new" in report and f"({row['pages']} pages, {row['requests']} requests)" in report  # the rest is in the report

    again = sync_orders(account="shop-a", return_state=True).result()

    assert again["status"] == "completed"
    assert (again["new"], again["changed"]) == (0, 0)
    assert stored_orders(flow_hub, "shop-a") == 10


@pytest.mark.prefect
def test_an_account_already_syncing_is_skipped_without_running_the_engine(flow_hub: Hub) -> None:
    add_account(flow_hub, "shop-a")
    seed()

    with AccountLock(flow_hub.db, "shop-a"):
        state = sync_orders(account="shop-a", return_state=True)

    assert (state.type.value, state.name) == ("CANCELLED", "Skipped")
    assert "already running" in state.message
    assert api_flow_run(state).state.name == "Skipped"
    assert fakes.SOURCE.pages_served == 0
    with flow_hub.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(SyncRun.__table__)).scalar_one() == 0
    assert table("sync-summary-shop-a")[0]["status"] == "skipped"


@pytest.mark.prefect
def test_resync_rereads_exactly_the_order_numbers_and_keeps_the_cursor(flow_hub: Hub) -> None:
    add_account(flow_hub, "shop-a")
    seed()
    flow_hub.engine.run(SyncRequest("shop-a"))  # loaded without Prefect: only the resync is under test
    with flow_hub.db.connect() as conn:
        cursor = store.load_cursor(conn, "shop-a")
    fakes.SOURCE.pages_served = 0
    fakes.SOURCE.put("o3", int((datetime.now(timezone.utc) - timedelta(hours=1)).timestamp()), status="done")

    params = ResyncParams(account="shop-a", order_numbers=["o1", "o3", "nope", "o1"])
    state = resync(params, return_state=True)

    row = state.result()
    assert api_flow_run(state).state.type.value == "COMPLETED"
    assert (row["job"], row["status"], row["new"], row["changed"], row["unchanged"]) == ("resync", "completed", 0, 1, 1)
    assert fakes.SOURCE.pages_served == row["requests"] == 1  # one by-id call for the whole list
    assert "nope" in Artifact.get("resync-report-shop-a").data
    with flow_hub.db.connect() as conn:
        assert store.load_cursor(conn, "shop-a") == cursor


@pytest.mark.prefect
@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"account": "shop-a"}, "needs a time window"),
        ({"account": "shop-a", "since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until must be after since"),
        ({"account": "shop-a", "since": "2026-01-02T00:00:00"}, "timezone"),
        ({"account": "Shop A", "order_numbers": ["o1"]}, "pattern"),
    ],
)
def test_resync_flow_rejects_bad_parameters_before_touching_the_hub(flow_hub: Hub, params: dict, reason: str) -> None:
    add_account(flow_hub, "shop-a")
    seed()

    state = resync(params=params, return_state=True)

    assert state.is_failed()
    assert reason in state.message
    assert fakes.SOURCE.pages_served == 0


@pytest.mark.prefect
def test_sync_all_reports_every_account_and_leaks_no_credential(flow_hub: Hub) -> None:
    """The CLI path: a refused token fails its account, the others still run, and no
    credential shows up in parameters, artifacts or logs the API stored."""
    add_account(flow_hub, "shop-1-bad", token=WRONG)
    add_account(flow_hub, "shop-2")
    add_account(flow_hub, "shop-3-off")
    flow_hub.accounts.set_status("shop-3-off", "credential_error", "refused by the channel on 2026-01-01")
    seed()

    rows = run_sync_flow()

    by_account = {r["account"]: r for r in rows}
    assert [r["account"] for r in rows] == ["shop-1-bad", "shop-2", "shop-3-off"]
    assert by_account["shop-1-bad"]["status"] == "failed"
    assert "CredentialError" in by_account["shop-1-bad"]["error"]
    assert (by_account["shop-2"]["status"], by_account["shop-2"]["new"]) == ("completed", 10)
    assert by_account["shop-3-off"]["status"] == "skipped"
    assert "refused by the channel" in by_account["shop-3-off"]["error"]
    assert stored_orders(flow_hub, "shop-2") == 10
    assert [r["status"] for r in table("sync-all-summary")] == ["failed", "completed", "skipped"]

    APILogWorker.drain_all(timeout=5)
    with get_client(sync_client=True) as client:
        [run] = client.read_flow_runs(limit=1, sort="START_TIME_DESC")
        assert run.state.type.value == "FAILED"
        assert "1 of 3 account(s) failed: shop-1-bad" in run.state.message
        stored = {
            "parameters": [r.parameters for r in client.read_flow_runs()],
            "artifacts": [(a.key, a.description, a.data) for a in client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))],
            "logs": [log.message for log in client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))],
        }
    assert len(stored["artifacts"]) == 3  # one progress bar for the run (no task or bar per account), table, report
    assert any("shop-1-bad failed" in m for m in stored["logs"])
    dump = json.dumps(stored, default=str)
    assert CANARY not in dump
    assert WRONG not in dump


@pytest.mark.prefect
def test_a_failed_runs_state_resolves_to_an_exception_carrying_its_rows(flow_hub: Hub) -> None:
    """Prefect raises a Failed state's data as its exception: it must be one (a dict there
    made every deployed failed run log ``TypeError: Unexpected result for failed state``)."""
    add_account(flow_hub, "shop-1-bad", token=WRONG)

    state = sync_all(accounts=["shop-1-bad"], return_state=True)

    assert state.is_failed() and state.message == "1 of 1 account(s) failed: shop-1-bad"
    with pytest.raises(Incomplete, match="1 of 1 account") as raised:
        state.result()
    assert [r["account"] for r in raised.value.rows] == ["shop-1-bad"]



@pytest.mark.prefect
def test_an_expected_failure_in_a_batch_task_is_reported_without_a_traceback(flow_hub: Hub) -> None:
    """A channel that refuses mid-resync fails the task and the run with the reason, and
    nothing Prefect logged for the run carries a traceback (ops read those as crashes);
    the runner still records the account as failed with the channel's reason."""
    add_account(flow_hub, "shop-a")
    seed()
    fakes.SOURCE.fail_after_pages, fakes.SOURCE.fail_with = 0, TransientError

    state = resync(ResyncParams(account="shop-a", order_numbers=["o1"]), return_state=True)

    assert state.is_failed() and "TransientError: fake: injected failure" in state.message
    [row] = state.result(raise_on_failure=False).rows
    assert (row["status"], row["error"]) == ("failed", "TransientError: fake: injected failure")
    APILogWorker.drain_all(timeout=5)
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
        logs = [log.message for log in client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))]
    assert sorted((t.name.split("-")[0], t.state.type.value) for t in tasks) == [("advance", "FAILED"), ("plan", "COMPLETED")]
    assert any("Task run failed with state" in m and "injected failure" in m for m in logs)
    assert not [m for m in logs if "Traceback" in m or "NoneType: None" in m]


def test_resync_params_validate_the_window_and_normalise_to_utc() -> None:
    wib = timezone(timedelta(hours=7))
    params = ResyncParams(account="shop-a", since=datetime(2026, 1, 1, 7, tzinfo=wib), order_numbers=[" o1 ", "o1"])
    assert params.since == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert params.since.tzinfo == timezone.utc
    assert params.order_numbers == ["o1"]
    for bad in (
        {"account": "shop-a"},
        {"account": "shop-a", "order_numbers": ["o1"], "until": "2026-01-01T00:00:00Z"},
        {"account": "shop-a", "since": "2026-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"account": "shop-a", "since": "2026-01-01T00:00:00"},
        {"account": "shop-a", "order_numbers": [f"o{i}" for i in range(501)]},
        {"account": "shop-a", "order_numbers": ["o1"], "pages_per_task": 0},
        {"account": "shop-a", "order_numbers": ["o1"], "token": "x"},
    ):
        with pytest.raises(ValidationError):
            ResyncParams.model_validate(bad)
