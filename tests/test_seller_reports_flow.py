"""The ``seller-reports`` flow against the session's real Prefect API: the COD report, the
returns waiting on the seller and the monthly report land as markdown artifacts with the
numbers of the store (a fake shop with COD orders, returns and a payout file)."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from prefect.artifacts import Artifact

import flows._hub
import tests.fakes as fakes
from flows.seller_reports import COD_KEY, MONTHLY_KEY, RETURNS_KEY, seller_reports
from simpul import cod
from simpul.channels import CHANNELS
from simpul.engine import SyncRequest
from simpul.runtime import Hub, open_hub
from tests.fakes import fake_spec

UTC = timezone.utc
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
T0 = int((NOW - timedelta(days=3)).timestamp())


def at_now(hub: Hub) -> Hub:
    hub.engine.clock = lambda: NOW
    return hub


@pytest.fixture
def hub(prefect_api: None, tmp_path, monkeypatch) -> Iterator[Hub]:  # noqa: ANN001
    """Three COD orders of 10,000 delivered (A1, A2, A3), one refused at the door (o4), a
    prepaid one; a buyer return of o5 waiting for an answer; a payout paying A1 twice and A2."""
    monkeypatch.setenv("SIMPUL_DATABASE_URL", f"sqlite:///{tmp_path / 'simpul.db'}")
    monkeypatch.setenv("SIMPUL_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())
    monkeypatch.setitem(CHANNELS, "fake", fake_spec("tests.fakes:FakeConnector", returns=True))
    monkeypatch.setattr(fakes, "SOURCE", fakes.FakeSource())
    monkeypatch.setattr(flows._hub, "open_hub", lambda **kw: at_now(open_hub(**kw)))
    hub = at_now(open_hub(actor="test"))
    hub.accounts.add("shop-a", "fake", "Shop A", "http://fake.invalid", {"token": "good"}, history_days=30)
    for i in (1, 2, 3):
        fakes.SOURCE.put(f"o{i}", T0 + i, status="done", awb=f"A{i}", cod=True)
    fakes.SOURCE.put("o4", T0 + 4, awb="A4", cod=True)
    fakes.SOURCE.put("o5", T0 + 5, status="done", awb="A5")
    fakes.SOURCE.put_return("rts-o4", "o4", T0 + 10, status="approved", reason="ditolak")
    fakes.SOURCE.put_return("ret-o5", "o5", T0 + 11, status="requested", reason="rusak")
    assert hub.engine.run(SyncRequest("shop-a")).status == "completed"
    with hub.db.begin() as conn:
        payout = "awb,amount\nA1,10000\nA1,10000\nA2,10000\n"
        cod.import_remittance(conn, payout.encode(), remitter="jne", actor="test", now=NOW)
    yield hub
    hub.close()


@pytest.mark.prefect
def test_seller_reports_publish_the_cod_report_the_returns_waiting_and_the_monthly_report(hub: Hub) -> None:
    state = seller_reports(month="2026-11", return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    assert result["month"] == "2026-11" and result["returns_waiting"] == 2  # o5's answer, o4's goods coming back
    assert (result["cod"]["delivered"], result["cod"]["refused"], result["cod"]["remitted"], result["cod"]["pending"]) == (3, 1, "30000", "10000")

    money = Artifact.get(COD_KEY).data
    assert "4 shipped (40000), 3 delivered and collected by the courier (30000), 1 refused costing 0." in money
    assert "Remitted 30000; pending 10000 (1 parcel(s) with no payout yet); disputed 10000 (1 paid twice, 0 another amount)." in money
    assert "| paid_twice | shop-a | o1 | A1 | 10000 | 10000 | 20000 |" in money and "| missing | shop-a | o3 | A3 | 10000 | 10000 | 0 |" in money

    waiting = Artifact.get(RETURNS_KEY).data
    assert "1 waiting for an answer, 1 for a disposition" in waiting
    rows = [line for line in waiting.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [r.split(" | ")[3:5] for r in rows] == [["o5", "ret-o5"], ["o4", "rts-o4"]]

    monthly = Artifact.get(MONTHLY_KEY).data
    assert "2026-11" in monthly and "shop-a" in monthly
