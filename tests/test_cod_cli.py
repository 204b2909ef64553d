"""``simpul cod remit|report`` and ``simpul settings`` as a person and a script use them:
readable output, one-line refusals, a bad payout line reported by its line number while
the rest lands, amounts exact."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from simpul.channels import CHANNELS
from simpul.cli import main
from simpul.engine import SyncRequest
from tests.fakes import FakeSource, fake_spec
from tests.test_returns_lifecycle import hub_like

UTC = timezone.utc
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
T0 = int((NOW - timedelta(days=2)).timestamp())
PAYOUT = """awb,order,amount,paid_at,reference
A1,,10000,2026-11-29,TRF-1
,o2,9000.50,2026-11-29T10:00:00,TRF-2
ZZ9,,5000,,TRF-3
A1,,10.000,,TRF-4
,,7000,,TRF-5
"""


@pytest.fixture
def cli(hub, cli_home, monkeypatch):  # noqa: ANN001, ANN201
    """Four COD orders of 10,000 (o1, o2 delivered by JNE, o3 on its way, o4 unpaid) and one
    prepaid order; the command line reads the test's hub."""
    import tests.fakes as fakes

    monkeypatch.setitem(CHANNELS, "fake", fake_spec("tests.fakes:FakeConnector"))
    source = FakeSource()
    monkeypatch.setattr(fakes, "SOURCE", source)
    hub.engine.clock = lambda: NOW
    hub.accounts.add("f1", "fake", "Fake", "http://fake", {"token": "good"}, history_days=7)
    source.put("o1", T0, status="done", awb="A1", cod=True)
    source.put("o2", T0 + 1, status="done", awb="A2", cod=True)
    source.put("o3", T0 + 2, awb="A3", cod=True)
    source.put("o4", T0 + 3, status="unpaid", cod=True)
    source.put("o5", T0 + 4, status="done", awb="A5")
    assert hub.engine.run(SyncRequest("f1")).status == "completed"
    monkeypatch.setattr("simpul.runtime.open_hub", lambda *a, **k: hub_like(hub))
    return cli_home


def test_a_payout_file_lands_except_its_bad_lines_which_are_named(cli, capsys) -> None:  # noqa: ANN001
    payout = cli / "payout.csv"
    payout.write_text(PAYOUT)
    assert main(["cod", "remit", str(payout), "--remitter", "jne"]) == 1  # a bad line: exit 1, the rest landed
    captured = capsys.readouterr()
    assert captured.out.strip() == "payout.csv: 5 line(s), 3 new: 1 amount differs, 1 paid, 1 unmatched"
    assert captured.err.splitlines() == [
        "payout.csv:5: amount '10.000' is not a plain amount (digits, an optional . and one or two decimals, no thousands separators)",
        "payout.csv:6: neither awb nor order",
    ]
    assert main(["cod", "remit", str(payout), "--remitter", "jne", "--json"]) == 1  # again: nothing new
    assert json.loads(capsys.readouterr().out)["new"] == 0

    assert main(["cod", "report", "--all", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    total = report["total"]
    assert (total["orders"], total["shipped"], total["delivered"], total["paid"], total["amount_differs"], total["missing"]) == (4, 3, 2, 1, 1, 0)
    assert (total["remitted"], total["disputed"], total["pending"]) == ("19000.5", "999.5", "0")  # Decimal, trailing zeros dropped as every stored amount
    assert [(a["order"], a["match"]) for a in report["attention"]] == [("o2", "amount_differs")]
    assert [line["tracking_number"] for line in report["unmatched_lines"]] == ["ZZ9"]

    assert main(["cod", "report", "--all"]) == 0
    text = capsys.readouterr().out
    assert "3 shipped, 2 delivered (1 paid, 0 missing, 0 paid twice, 1 another amount), 0 refused costing 0" in text
    assert "payout lines that match no delivered COD order" in text and "ZZ9" in text


@pytest.mark.parametrize(
    "argv,line",
    [
        (["cod", "report", "--month", "2026-13"], "simpul: month '2026-13': expected YYYY-MM with a month 01-12 from 2000 on"),
        (["cod", "remit", "nowhere.csv", "--remitter", "jne"], "simpul: no file 'nowhere.csv'"),
        (["settings", "set", "packing_cost", "dua ribu"], "simpul: packing_cost must be an amount such as 2500 or 2500.50, not 'dua ribu'"),
        (["settings", "set", "colour", "red"], "simpul: unknown setting 'colour'; known: packing_cost"),
    ],
)
def test_bad_input_is_one_line(cli, capsys, argv: list[str], line: str) -> None:  # noqa: ANN001
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == line


def test_a_file_without_the_columns_is_refused_whole(cli, capsys) -> None:  # noqa: ANN001
    payout = cli / "wrong.csv"
    payout.write_text("resi;jumlah\nA1;10000\n")
    assert main(["cod", "remit", str(payout), "--remitter", "jne"]) == 2
    assert capsys.readouterr().err.strip() == "simpul: wrong.csv: the header must name amount and awb (or tracking_number) and/or order (or order_number)"


def test_the_packing_cost_is_a_setting_and_counts_for_each_refused_parcel(cli, hub, capsys) -> None:  # noqa: ANN001
    import tests.fakes as fakes

    assert main(["settings", "set", "packing_cost", "2500", "--by", "owner"]) == 0
    capsys.readouterr()
    assert main(["settings", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["name"], row["account_id"], row["value"], row["updated_by"]) == ("packing_cost", "*", "2500", "cli:owner")
    CHANNELS["fake"] = fake_spec("tests.fakes:FakeConnector", returns=True)  # o3 comes back: refused at the door
    fakes.SOURCE.put_return("rts-o3", "o3", T0 + 10, status="approved", reason="ditolak")
    hub.engine.clock = lambda: NOW + timedelta(minutes=5)
    assert hub.engine.run(SyncRequest("f1")).status == "completed"
    assert main(["cod", "report", "--all", "--json"]) == 0
    total = json.loads(capsys.readouterr().out)["total"]
    assert (total["refused"], total["refused_amount"], total["refusal_cost"], total["shipped"]) == (1, "10000", "2500", 3)  # both legs free (the fake's shipping fee is 0) + packing


def test_marketplace_settlements_pay_delivered_orders_and_flag_the_others(cli, hub, capsys) -> None:  # noqa: ANN001
    """A marketplace's payout (the settlements stream) for: a delivered order (o1, as the
    marketplace said: paid), an order still on its way (o3: the payout proves the delivery,
    but it paid less than it said: amount differs), a cancelled order (o6: flagged, not a
    delivery) and an order a courier's payout line also names (o2: paid twice)."""
    from simpul import cod, store
    from simpul.canonical import Settlement, SettlementRecord

    import tests.fakes as fakes

    fakes.SOURCE.put("o6", int(NOW.timestamp()) - 60, status="cancelled", cod=True)  # changed since the last sync
    assert hub.engine.run(SyncRequest("f1")).status == "completed"
    released = NOW - timedelta(hours=1)

    def settled(order: str, payout: str, expected: str) -> SettlementRecord:
        s = Settlement(order_external_id=order, payout_amount=Decimal(payout), released_at=released, updated_at=released, expected_amount=Decimal(expected))
        return SettlementRecord(settlement=s, mapping_version="t", payload_hash=f"s-{order}")

    ctx = store.WriteContext(account_id="f1", channel="fake", run_id=None, actor="test", now=NOW, mapping_version="t", stream="settlements")
    with hub.db.begin() as conn:
        store.apply_settlements(conn, ctx, [settled("o1", "9300", "9300"), settled("o2", "9300", "9300"), settled("o3", "9000", "9300"), settled("o6", "-1500", "-1500")])
        store.flush_audit(conn, ctx)
        cod.import_remittance(conn, b"awb,amount\nA2,10000\n", remitter="jne", actor="test", now=NOW)
    with hub.db.connect() as conn:
        items = {i.order: i for i in cod.cod_orders(conn)}
        total = cod.report(conn)["total"]
    assert (items["o1"].state, items["o1"].match, items["o1"].kept) == ("delivered", "paid", Decimal("700"))
    assert (items["o3"].state, items["o3"].match, items["o3"].expected) == ("delivered", "amount_differs", Decimal("9300"))
    assert (items["o6"].state, items["o6"].match, items["o6"].remitted) == ("cancelled", "settled_not_delivered", 0)
    assert (items["o2"].match, items["o2"].remitted) == ("paid_twice", Decimal("19300"))
    assert (total["settled"], total["settled_amount"], total["settled_not_delivered"]) == (4, Decimal("26100"), 1)
    assert total["disputed"] == Decimal("300") + Decimal("10000")  # o3's 300 short; o2's second payout
