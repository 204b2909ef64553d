"""``simpul report``: the monthly report from the command line, on the data of
tests/test_monthly_report.py (its module docstring has every number by hand)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from simpul.cli import main
from tests.test_monthly_report import TOTAL, read, seed

NOW = datetime(2026, 11, 30, 17, 30, tzinfo=timezone.utc)  # Dec 1 00:30 in WIB


@pytest.fixture
def home(cli_home: Path, monkeypatch, capsys) -> Path:  # noqa: ANN001
    """A home with a key ring and the test data; the command's clock fixed at ``NOW``."""
    from simpul import runtime

    assert main(["keys", "init"]) == 0
    real = runtime.open_hub

    def at_now(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        hub = real(*args, **kwargs)
        hub.engine.clock = lambda: NOW
        return hub

    monkeypatch.setattr(runtime, "open_hub", at_now)
    hub = real(actor="test")
    try:
        seed(hub.db)
    finally:
        hub.close()
    capsys.readouterr()
    return cli_home


def test_the_report_writes_the_page_and_says_where(home: Path, capsys) -> None:  # noqa: ANN001
    target = home / "out" / "report.html"
    target.parent.mkdir()

    assert main(["report", "--month", "2026-11", "--out", str(target)]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Monthly report 2026-11 (WIB; orders created 2026-10-31 17:00 to 2026-11-30 17:00 UTC)"
    assert out[1].split() == ["ACCOUNT", "CHANNEL", "ORDERS", "GMV", "AOV", "CANCEL_RATE", "RETURN_RATE", "RTS_RATE", "REFUNDS", "COD_SHARE", "COD_REFUSAL_RATE"]
    rows = [line.split("  ") for line in out[2:8]]
    assert [[cell.strip() for cell in row if cell.strip()] for row in rows] == [
        ["toko-a", "shopee", "6", "IDR 540,000", "IDR 108,000", "16.7%", "33.3%", "20.0%", "IDR 75,000.50", "33.3%", "50.0%"],
        ["toko-b", "woocommerce", "3", "IDR 380,000", "IDR 190,000", "33.3%", "0.0%", "0.0%", "-", "33.3%", "0.0%"],
        ["toko-c", "shopee", "1", "IDR 60,000", "IDR 60,000", "0.0%", "-", "-", "-", "100.0%", "-"],
        ["*", "shopee", "7", "IDR 600,000", "IDR 100,000", "14.3%", "33.3%", "20.0%", "IDR 75,000.50", "42.9%", "50.0%"],
        ["*", "woocommerce", "3", "IDR 380,000", "IDR 190,000", "33.3%", "0.0%", "0.0%", "-", "33.3%", "0.0%"],
        ["*", "*", "10", "IDR 980,000", "IDR 122,500", "20.0%", "25.0%", "14.3%", "IDR 75,000.50", "40.0%", "33.3%"],
    ]
    assert "top reasons: damaged 1, failed_delivery 1" in out
    assert out[-1] == f"report written to {target.resolve()}: Monthly report 2026-11, 10 order(s), 3 account(s)"
    page = read(target.read_text(encoding="utf-8"))
    assert page.tables["by-channel"][-1] == ["all channels", *TOTAL]
    assert len(page.bars["delivery-days"]) == 2 and len(page.bars["gmv-idr"]) == 2


def test_json_has_the_numbers(home: Path, capsys) -> None:  # noqa: ANN001
    assert main(["report", "--month", "2026-11", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    t = data["total"]
    assert (data["month"], data["from"], data["until"]) == ("2026-11", "2026-10-31T17:00:00+00:00", "2026-11-30T17:00:00+00:00")
    assert (t["orders"], t["cancelled"], t["delivered"], t["shipped"], t["gmv"], t["aov"], t["refunds"]) == (10, 2, 4, 7, {"IDR": "980000"}, {"IDR": "122500"}, {"IDR": "75000.5"})
    assert t["cancel_rate"] == {"count": 2, "of": 10, "rate": 0.2}
    assert t["rts_rate"] == {"count": 1, "of": 7, "rate": 1 / 7}  # a fraction, not rounded
    assert (t["return_rate"]["rate"], t["cod_share"]["rate"], t["cod_refusal_rate"]) == (0.25, 0.4, {"count": 1, "of": 3, "rate": 1 / 3})
    assert t["top_reasons"] == [{"reason": "damaged", "returns": 1}, {"reason": "failed_delivery", "returns": 1}]
    assert data["delivery_days"] == {"j&t": {"delivered": 1, "median": 1.5, "p90": 1.5}, "jne": {"delivered": 2, "median": 3.0, "p90": 3.8}}
    assert [(a["account"], a["orders"], a["aov"]) for a in data["accounts"]] == [("toko-a", 6, {"IDR": "108000"}), ("toko-b", 3, {"IDR": "190000"}), ("toko-c", 1, {"IDR": "60000"})]
    toko_c = data["accounts"][2]
    assert (toko_c["return_rate"], toko_c["cod_refusal_rate"]) == ({"count": 0, "of": 0, "rate": None}, {"count": 0, "of": 0, "rate": None})


def test_the_default_month_is_this_month_in_wib(home: Path, capsys) -> None:  # noqa: ANN001
    assert main(["report", "--account", "toko-b", "--json"]) == 0  # Nov 30 17:30 UTC is December in WIB
    data = json.loads(capsys.readouterr().out)
    assert (data["month"], data["account"], data["total"]["orders"], data["total"]["rts_rate"]) == ("2026-12", "toko-b", 1, {"count": 1, "of": 1, "rate": 1.0})


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--month", "2026-13"], "simpul: month '2026-13': expected YYYY-MM with a month 01-12 from 2000 on"),
        (["--month", "11-2026"], "simpul: month '11-2026': expected YYYY-MM, e.g. 2026-11"),
        (["--month", "2026-11", "--account", "nope"], "simpul: no account 'nope'; see `simpul accounts list`"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(home: Path, capsys, args: list[str], line: str) -> None:  # noqa: ANN001
    assert main(["report", *args]) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", line + "\n")


def test_a_bad_month_needs_no_set_up(cli_home: Path, capsys) -> None:  # noqa: ANN001
    assert main(["report", "--month", "2026-1"]) == 2  # no key ring, no database yet
    assert capsys.readouterr().err == "simpul: month '2026-1': expected YYYY-MM, e.g. 2026-11\n"
    assert not (cli_home / "simpul.db").exists()
