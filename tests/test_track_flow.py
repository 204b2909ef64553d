"""The ``track-shipments`` flow against the session's real Prefect API and the Biteship sandbox.

A fake shop's orders ship by JNE (tests.fakes: carrier "JNE", service "REG"); their airway
bills, and two parcels booked outside the shop, are known to a Biteship sandbox served
over HTTP, each with a story (``connectors.biteship.sandbox.STORIES``) placed on the data
clock so that at ``NOW`` it is delivered, moving, in trouble, on its way back, back home
or lost. The flow's engine runs on the same injected clock (``NOW``), so which parcel needs
a person, and since how many days, follows from the sandbox's own timelines, whatever the
wall clock says.
"""

from __future__ import annotations

import base64
import itertools
import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from prefect.artifacts import Artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId
from prefect.logging.handlers import APILogWorker

import flows._hub
import tests.fakes as fakes
from connectors._sandbox import SandboxClock, SandboxServer
from connectors.biteship.sandbox import NAMES, BiteshipSandbox, Parcel, timeline
from connectors.contract import ParcelKey
from flows import _artifacts
from flows._states import Incomplete
from flows.track_shipments import run_track_flow, track_shipments
from simpul import parcels
from simpul.channels import CHANNELS
from simpul.engine import SyncRequest
from simpul.runtime import Hub, open_hub
from tests.fakes import fake_spec

UTC = timezone.utc
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # the data clock and the flow's clock
HOUR, DAY = 3600, 86400
SEED = 5


def offset(courier: str, awb: str, story: str, status: str) -> int:
    """Seconds from pickup to the story's first ``status`` event (the sandbox's own timeline)."""
    return next(t for t, s, _ in timeline(Parcel(courier, awb, 0, story, SEED)) if s == status)


def last_scan(courier: str, awb: str, story: str, shipped_at: int) -> int:
    return max(t for t, _, _ in timeline(Parcel(courier, awb, shipped_at, story, SEED)) if t <= NOW.timestamp())


AT = int(NOW.timestamp())
# order number -> (airway bill, story, pickup): where each story stands at NOW.
SHOP_PARCELS = {
    "o1": ("JNE-DELIVERED", "delivered", AT - 10 * DAY),  # delivered: needs nobody
    "o2": ("JNE-RETURNED", "cod_refused", AT - 12 * DAY),  # COD refused, back at the sender days ago
    "o3": ("JNE-RETURNING", "cod_refused", AT - offset("jne", "JNE-RETURNING", "cod_refused", "return_in_transit") - HOUR),
    "o4": ("JNE-TROUBLE", "failed_attempt", AT - offset("jne", "JNE-TROUBLE", "failed_attempt", "on_hold") - HOUR),
    "o5": ("JNE-LOST", "lost", AT - 6 * DAY),  # last scan at a hub ~6 days ago: stuck (jne: 3 days)
    "o6": ("JNE-MOVING", "delivered", AT - HOUR),  # picked up an hour ago
    "o7": ("JNE-NOPE", None, None),  # an airway bill Biteship does not know
}
OUTSIDE = {("jne", "JNE-LOST-OLD"): ("lost", AT - 9 * DAY), ("sicepat", "SCP-LOST"): ("lost", AT - 10 * DAY)}  # booked outside the shop


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    app = BiteshipSandbox(orders=0, seed=SEED, clock=SandboxClock(frozen_at=AT))
    moments = itertools.count(0.0, 0.25)  # four requests a "second": under the test key's 5/s
    app.rate_clock = lambda: next(moments)
    for awb, story, shipped in SHOP_PARCELS.values():
        if story is not None:
            app.add_parcel("jne", awb, shipped, story)
    for (courier, awb), (story, shipped) in OUTSIDE.items():
        app.add_parcel(courier, awb, shipped, story)
    with SandboxServer(app, seed=SEED) as server:
        yield server


def at_now(hub: Hub) -> Hub:
    hub.engine.clock = lambda: NOW
    return hub


@pytest.fixture
def hub(prefect_api: None, tmp_path, monkeypatch, sandbox: SandboxServer) -> Iterator[Hub]:  # noqa: ANN001
    """A SQLite hub the flow opens by itself from the environment, on the injected clock,
    with the fake shop's orders synced and the parcels booked outside it registered."""
    monkeypatch.setenv("SIMPUL_DATABASE_URL", f"sqlite:///{tmp_path / 'simpul.db'}")
    monkeypatch.setenv("SIMPUL_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())
    monkeypatch.setitem(CHANNELS, "fake", fake_spec("tests.fakes:FakeConnector"))
    monkeypatch.setattr(fakes, "SOURCE", fakes.FakeSource())
    monkeypatch.setattr(flows._hub, "open_hub", lambda **kw: at_now(open_hub(**kw)))  # the flow's clock
    hub = at_now(open_hub(actor="test"))
    hub.accounts.add("shop-a", "fake", "Shop A", "http://fake.invalid", {"token": "good"}, history_days=30)
    for order, (awb, _, _) in SHOP_PARCELS.items():
        fakes.SOURCE.put(order, AT - 20 * DAY, awb=awb)
    assert hub.engine.run(SyncRequest("shop-a")).status == "completed"
    with hub.db.begin() as conn:
        for courier, awb in OUTSIDE:
            parcels.register(conn, ParcelKey(courier, awb), now=NOW)
    hub.accounts.add("trk", "biteship", "Biteship", sandbox.url, sandbox.app.demo_credentials())
    yield hub
    hub.close()


def attention_table() -> list[list[str]]:
    text = Artifact.get(_artifacts.ATTENTION_KEY).data
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in rows[2:]]  # without the header and its rule


def days(courier: str, awb: str, story: str, shipped: int) -> str:
    return f"{(AT - last_scan(courier, awb, story, shipped)) / DAY:.1f}"


@pytest.mark.prefect
def test_track_shipments_lists_the_parcels_that_need_a_person_newest_trouble_first(hub: Hub, sandbox: SandboxServer) -> None:
    state = track_shipments(return_state=True)

    assert state.is_completed(), state.message
    [row] = state.result()
    assert (row["account"], row["job"], row["status"], row["new"]) == ("trk", "track", "completed", 8)
    assert row["missing"] == ["jne:JNE-NOPE"]
    shop = {order: (awb, story, shipped) for order, (awb, story, shipped) in SHOP_PARCELS.items()}

    def expect(needs: str, order: str, courier: str, awb: str, story: str | None, shipped: int | None) -> list[str]:
        return [needs, order, courier, awb, "never scanned" if story is None else days(courier, awb, story, shipped)]

    table = attention_table()
    assert [r[:5] for r in table] == [
        expect("returning", "o3", "jne", *shop["o3"]),  # back to the sender: newest last scan first
        expect("returned", "o2", "jne", *shop["o2"]),
        expect("trouble", "o4", "jne", *shop["o4"]),
        expect("stuck", "o5", "jne", *shop["o5"]),  # stuck: the newest silence first
        expect("stuck", "-", "jne", "JNE-LOST-OLD", *OUTSIDE[("jne", "JNE-LOST-OLD")]),
        expect("stuck", "-", "sicepat", "SCP-LOST", *OUTSIDE[("sicepat", "SCP-LOST")]),
        expect("unknown", "o7", "jne", "JNE-NOPE", None, None),
    ]
    assert table[0][1:5] == ["o3", "jne", "JNE-RETURNING", "0.0"]  # an hour since its last scan
    assert table[2][5] == "Gagal antar: penerima tidak di tempat, dijadwalkan antar ulang"  # the courier's last word
    text = Artifact.get(_artifacts.ATTENTION_KEY).data
    assert "9 parcel(s): 1 delivered, 1 moving, 3 stuck, 1 trouble, 2 returning, 1 unknown, 0 not looked at." in text
    report = Artifact.get(_artifacts.SHIPMENTS_REPORT_KEY).data
    assert "| jne | - | 1 |" in report  # one delivery time (Biteship's public tracking names no service)
    assert "| jne | 8 | 1 | 1 | 50.0% | 1 | 2 | 1 |" in report  # 1 back of 2 finished
    for name in NAMES:  # the receivers the sandbox's delivered parcels name
        assert name.upper() not in text and name.upper() not in report
    assert [r["status"] for r in _artifacts_rows("track-all-summary")] == ["completed"]
    assert Artifact.get("track-progress-trk").data == 100


def _artifacts_rows(key: str) -> list[dict[str, Any]]:
    import json

    return json.loads(Artifact.get(key).data)


@pytest.mark.prefect
def test_a_failed_tracking_account_fails_the_run_without_a_traceback(hub: Hub, sandbox: SandboxServer) -> None:
    """A key Biteship does not know: that account fails with the channel's reason, the
    other still tracks its parcels, the artifacts are published, and nothing the run
    logged carries a traceback (ops read those as crashes)."""
    hub.accounts.add("trk-bad", "biteship", "Biteship, old key", sandbox.url, {"api_key": "biteship_test.not-a-key-biteship-knows"})
    with hub.db.begin() as conn:  # two Biteship accounts: the hub says which reads which courier
        parcels.set_route(conn, "jne", "trk")
        parcels.set_route(conn, "sicepat", "trk-bad")

    state = track_shipments(return_state=True)

    assert state.is_failed() and state.message == "1 of 2 account(s) failed: trk-bad"
    with pytest.raises(Incomplete) as raised:
        state.result()
    by_account = {r["account"]: r for r in raised.value.rows}
    assert by_account["trk"]["status"] == "completed" and by_account["trk"]["new"] == 7
    assert by_account["trk-bad"]["status"] == "failed" and "CredentialError" in by_account["trk-bad"]["error"]
    assert hub.accounts.get("trk-bad").status == "credential_error"  # skipped with that reason from now on
    assert [r["account"] for r in _artifacts_rows("track-all-summary")] == ["trk-bad", "trk"]  # failing first
    assert "SCP-LOST" not in {r[3] for r in attention_table()}  # its account failed: not looked at, not guessed
    assert "1 not looked at" in Artifact.get(_artifacts.ATTENTION_KEY).data
    APILogWorker.drain_all(timeout=5)
    with get_client(sync_client=True) as client:
        run_id = state.state_details.flow_run_id
        assert client.read_flow_run(run_id).state.type.value == "FAILED"
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
        logs = [log.message for log in client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))]
    assert sorted((t.name.split("-")[0], t.state.type.value) for t in tasks) == [("advance", "COMPLETED"), ("advance", "FAILED"), ("plan", "COMPLETED"), ("plan", "COMPLETED")]
    assert any("trk-bad failed" in m for m in logs)
    assert not [m for m in logs if "Traceback" in m or "NoneType: None" in m]
    assert "not-a-key-biteship-knows" not in "\n".join(logs)


@pytest.mark.prefect
def test_track_sync_runs_the_flow_for_the_cli(hub: Hub) -> None:
    """``simpul track-sync --prefect`` goes through ``run_track_flow``: rows, not a state."""
    rows = run_track_flow(["trk"])
    assert [(r["account"], r["status"], r["new"]) for r in rows] == [("trk", "completed", 8)]
    again = run_track_flow()
    assert [(r["account"], r["status"], r["new"], r["changed"]) for r in again] == [("trk", "completed", 0, 0)]  # nothing due at the same moment


@pytest.mark.parametrize(
    ("options", "server", "through"),
    [
        ([], None, "direct"),  # no Prefect server configured: a one-shot command never waits for a temporary one
        ([], "http://prefect.internal:4200/api", "prefect"),
        (["--prefect"], None, "prefect"),
        (["--direct"], "http://prefect.internal:4200/api", "direct"),
    ],
)
def test_track_sync_chooses_prefect_by_the_rule_of_simpul_sync(cli_home, monkeypatch, options: list[str], server: str | None, through: str) -> None:  # noqa: ANN001
    import simpul.cli.track as track_cli
    import simpul.prefect_api
    from simpul.cli import main

    assert main(["keys", "init"]) == 0
    setup = open_hub(actor="test")
    setup.accounts.add("trk", "biteship", "Biteship", "http://127.0.0.1:9", {"api_key": "biteship_test.k"})
    setup.close()
    calls: list[tuple[str, list[str]]] = []
    row = {"account": "trk", "channel": "biteship", "job": "track", "status": "completed", "new": 0, "changed": 0, "error": ""}
    monkeypatch.setattr(simpul.prefect_api, "configured_url", lambda: server)
    monkeypatch.setattr(track_cli, "track_with_prefect", lambda accounts: calls.append(("prefect", accounts)) or [row])
    monkeypatch.setattr(track_cli, "_run", lambda hub, requests: calls.append(("direct", [r.account_id for r in requests])) or [row])

    assert main(["track-sync", *options]) == 0

    assert calls == [(through, ["trk"])]


def test_track_sync_refuses_both_ways_at_once(cli_home, capsys) -> None:  # noqa: ANN001
    from simpul.cli import main

    assert main(["track-sync", "--direct", "--prefect"]) == 2
    assert "not allowed with" in capsys.readouterr().err


def test_a_courier_message_cannot_break_the_attention_table_or_add_markup() -> None:
    row = {
        "courier": "jne", "tracking_number": "CGK1|2", "account_id": "shop-a", "order_external_id": "o9", "service": None,
        "status": "exception", "sub_status": None, "raw_status": "X", "last_event_at": NOW - timedelta(days=1),
        "last_message": "Gagal antar | alamat <b>salah</b>\n| x | y |\u202e" + "z" * 300, "delivered_at": None,
        "created_at": NOW - timedelta(days=3), "done": False, "not_found": 0, "payload_hash": "h", "checked_at": NOW, "tracker_account_id": "trk",
    }  # fmt: skip
    text = _artifacts.attention([row], {"trouble": 1}, now=NOW)
    [line] = [line for line in text.splitlines() if line.startswith("| trouble")]
    assert line.count(" | ") == 5  # six cells, whatever the message holds
    assert "CGK1\\|2" in line and "\\<b\\>salah\\</b\\>" in line and "<b>" not in line and "\u202e" not in line
    assert line.endswith("\u2026 |") and len(line) < 300  # long messages are cut


@pytest.mark.prefect
@pytest.mark.postgres
def test_a_deployed_tracking_run_with_a_refused_key_ends_failed_and_the_worker_logs_no_crash(real_prefect, sandbox: SandboxServer) -> None:  # noqa: ANN001
    """The deployment of prefect.yaml, run by a real worker (DESIGN.md: a Failed state's
    data once made deployed runs log a crash): Failed with the account's reason, the
    artifacts published, no traceback in the worker's output or the run's logs."""
    from tests.prefect_server import RealPrefect

    assert isinstance(real_prefect, RealPrefect)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SIMPUL_MASTER_KEY", real_prefect.master_key)
        workers_hub = open_hub(real_prefect.hub_url, actor="test")
    try:
        workers_hub.accounts.add("trk-deployed", "biteship", "Biteship", sandbox.url, {"api_key": "biteship_test.refused-by-the-sandbox"})
        with workers_hub.db.begin() as conn:
            parcels.register(conn, ParcelKey("jne", "JNE-DEPLOYED"), now=datetime.now(UTC))
        worker = real_prefect.start_worker("tracker", work_queue="track-test")
        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name("track-shipments/every-30-minutes")
            created = client.create_flow_run_from_deployment(deployment.id, parameters={"accounts": ["trk-deployed"]}, work_queue_name="track-test")
        run = real_prefect.wait_final(created.id)
        worker.process.terminate()
        worker.process.wait(timeout=30)
    finally:
        workers_hub.close()

    assert run.state.type.value == "FAILED" and run.state.message == "1 of 1 account(s) failed: trk-deployed"
    output = worker.log()  # the run's own output reaches the worker's (as tests/test_prefect_server.py reads it)
    assert "Finished in state Failed('1 of 1 account(s) failed: trk-deployed')" in output
    assert "trk-deployed failed: CredentialError" in output
    with get_client(sync_client=True) as client:
        logs = "\n".join(log.message for log in client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id]))))
        keys = {a.key for a in client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))}
    assert {"track-all-summary", "track-all-report", _artifacts.ATTENTION_KEY, _artifacts.SHIPMENTS_REPORT_KEY} <= keys
    for text in (logs, output):
        assert not [w for w in ("Traceback", "Unexpected result", "Engine execution exited with unexpected exception") if w in text], text[-3000:]
    assert "refused-by-the-sandbox" not in logs + output
