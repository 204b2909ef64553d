"""Returns as a lifecycle (issue 12 §1): what waits on the seller, and what returned goods
become by the seller's rule table, recorded with who and when, audited; through the store
and the command line, on both databases."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from simpul import audit, returns
from simpul.channels import CHANNELS
from simpul.cli import main
from simpul.engine import SyncRequest
from tests.fakes import FakeSource, fake_spec

UTC = timezone.utc
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
T0 = int((NOW - timedelta(days=2)).timestamp())


@pytest.fixture
def synced(hub, monkeypatch) -> FakeSource:  # noqa: ANN001
    """Seven orders of 10,000 (one line, SKU ``SKU``), five returns of them: r0 damaged (deadline
    in 2 days), r1 damaged (deadline tomorrow), r2 refused at the door (return to sender,
    coming back), r3 wrong item, approved; r4 refunded."""
    import tests.fakes as fakes

    monkeypatch.setitem(CHANNELS, "fake", fake_spec("tests.fakes:FakeConnector", returns=True))
    source = FakeSource()
    monkeypatch.setattr(fakes, "SOURCE", source)
    hub.engine.clock = lambda: NOW
    hub.accounts.add("f1", "fake", "Fake", "http://fake", {"token": "good"}, history_days=7)
    for i in range(7):
        source.put(f"o{i}", T0 + i)
    day = 86400
    source.put_return("r0", "o0", T0 + 100)
    source.returns["r0"]["due"] = int(NOW.timestamp()) + 2 * day
    source.put_return("r1", "o1", T0 + 101)
    source.returns["r1"]["due"] = int(NOW.timestamp()) + day
    source.put_return("r2", "o2", T0 + 102, status="approved", reason="ditolak")
    source.put_return("r3", "o3", T0 + 103, status="approved", reason="salah")
    source.put_return("r4", "o4", T0 + 104, status="refunded")
    assert hub.engine.run(SyncRequest("f1")).status == "completed"
    return source


def test_waiting_lists_answers_by_deadline_then_goods_without_a_disposition(hub, synced) -> None:  # noqa: ANN001
    with hub.db.connect() as conn:
        rows = returns.waiting(conn)
    assert [(r["external_id"], r["waiting_for"]) for r in rows] == [("r1", "answer"), ("r0", "answer"), ("r2", "disposition"), ("r3", "disposition")]


def test_a_return_to_sender_is_restocked_by_the_default_rule_and_leaves_the_waiting_list(hub, synced) -> None:  # noqa: ANN001
    with hub.db.begin() as conn:
        ret = returns.find(conn, "r2")
        items = returns.plan_receipt(conn, ret)
        assert items == [returns.Item("SKU", 1, "restock", "return_to_sender/*")]
        [row] = returns.receive(conn, ret, items, actor="gudang", now=NOW)
    assert (row["restock_quantity"], row["loss"], row["decided_by"]) == (1, None, "gudang")
    with hub.db.connect() as conn:
        assert "r2" not in [r["external_id"] for r in returns.waiting(conn)]
        [event] = audit.entries(conn, action_prefix="return.received")
        assert audit.verify(conn).ok
    assert json.loads(event["summary"])["items"] == [{"sku": "SKU", "quantity": 1, "disposition": "restock", "rule": "return_to_sender/*", "loss": None}]


def test_a_rule_that_says_inspect_needs_a_person_and_a_write_off_counts_its_loss(hub, synced) -> None:  # noqa: ANN001
    with hub.db.begin() as conn:
        ret = returns.find(conn, "o3/r3")  # wrong item: the catch-all rule says inspect
        with pytest.raises(returns.ReturnError, match=r"rule \*/\* says inspect: decide SKU"):
            returns.plan_receipt(conn, ret)
        items = returns.plan_receipt(conn, ret, {"SKU": "write_off"})
        [row] = returns.receive(conn, ret, items, actor="gudang", now=NOW)
    assert (row["disposition"], row["loss"], row["currency"], row["rule"]) == ("write_off", Decimal("10000"), "IDR", None)


def test_the_seller_edits_the_rule_table_and_the_change_is_audited(hub, synced) -> None:  # noqa: ANN001
    with hub.db.begin() as conn:
        returns.set_rule(conn, "*", "wrong_item", "restock", actor="owner", now=NOW)
        with pytest.raises(returns.ReturnError, match="unknown disposition 'keep'"):
            returns.set_rule(conn, "*", "*", "keep", actor="owner", now=NOW)
    with hub.db.begin() as conn:
        assert returns.plan_receipt(conn, returns.find(conn, "r3")) == [returns.Item("SKU", 1, "restock", "*/wrong_item")]
        [event] = audit.entries(conn, action_prefix="disposition_rule.set")
    assert json.loads(event["summary"]) == {"before": None, "after": "restock"}


def test_the_command_line_receives_lists_and_refuses_in_one_line(hub, synced, cli_home, monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.setenv("SIMPUL_DATABASE_URL", hub.db.url)
    monkeypatch.setattr("simpul.runtime.open_hub", lambda *a, **k: hub_like(hub))
    assert main(["returns", "--waiting", "--json"]) == 0
    assert [r["return"] for r in json.loads(capsys.readouterr().out)] == ["r1", "r0", "r2", "r3"]
    assert main(["returns", "receive", "r0", "--item", "SKU=restock:2"]) == 2
    assert capsys.readouterr().err.strip() == "simpul: SKU: quantity 2 is not between 1 and the 1 returned"
    assert main(["returns", "receive", "r0", "--item", "NOPE=restock"]) == 2
    assert "has no item 'NOPE'" in capsys.readouterr().err
    assert main(["returns", "receive", "r0", "--item", "SKU=write_off", "--by", "gudang", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["disposition"], row["loss"], row["decided_by"]) == ("write_off", "10000", "gudang")
    assert main(["returns", "show", "o0/r0", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["reason_code"] == "damaged" and [d["disposition"] for d in shown["dispositions"]] == ["write_off"]
    assert main(["returns", "show", "r9"]) == 2
    assert capsys.readouterr().err.strip() == "simpul: no return 'r9' (see `simpul returns`)"


class hub_like:  # noqa: N801 - the CLI closes the hub it opened; the test's hub stays open
    def __init__(self, hub) -> None:  # noqa: ANN001
        self._hub = hub

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._hub, name)

    def close(self) -> None:
        pass
