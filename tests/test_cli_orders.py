"""`simpul orders`: no silent truncation, one order in full, and channel text that cannot
forge a row or drive the terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from simpul.cli import main


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One WooCommerce sandbox synced once for the whole module (more orders than a table shows)."""
    from connectors._sandbox import SandboxServer
    from connectors.woocommerce.sandbox import WooCommerceSandbox

    home = tmp_path_factory.mktemp("orders-home")
    with pytest.MonkeyPatch.context() as mp:
        _env(mp, home)
        assert main(["keys", "init"]) == 0
        app = WooCommerceSandbox(orders=80, seed=4)
        with SandboxServer(app) as server:
            (home / "c.json").write_text(json.dumps(app.demo_credentials()))
            assert main(["accounts", "add", "woocommerce", "toko-a", "--base-url", server.url, "--credentials-file", str(home / "c.json"), "--history-days", "365"]) == 0
            assert main(["sync", "toko-a", "--direct"]) == 0
    return home


def _env(mp: pytest.MonkeyPatch, home: Path) -> None:
    mp.setenv("SIMPUL_HOME", str(home))
    mp.setenv("SIMPUL_DATABASE_URL", f"sqlite:///{home / 'simpul.db'}")
    mp.setenv("SIMPUL_KEYRING", str(home / "keyring.json"))
    mp.delenv("SIMPUL_MASTER_KEY", raising=False)


@pytest.fixture
def home(synced: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Path:
    _env(monkeypatch, synced)
    capsys.readouterr()
    return synced


def sql(home: Path, statement: str, **params: object) -> list[tuple]:
    engine = sa.create_engine(f"sqlite:///{home / 'simpul.db'}")
    with engine.begin() as conn:
        result = conn.execute(sa.text(statement), params)
        found = [tuple(r) for r in result] if result.returns_rows else []
    engine.dispose()
    return found


def test_the_table_says_how_many_it_left_out_and_json_returns_all(home: Path, capsys: pytest.CaptureFixture) -> None:
    [(total,)] = sql(home, "SELECT count(*) FROM orders")
    assert total > 50

    assert main(["orders"]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 1 + 50 and err == f"50 of {total} shown (--limit 0: all)\n"

    assert main(["orders", "--json"]) == 0
    out, err = capsys.readouterr()
    assert len(json.loads(out)) == total and err == ""

    assert main(["orders", "--json", "--limit", "7"]) == 0
    out, err = capsys.readouterr()
    assert len(json.loads(out)) == 7 and err == f"7 of {total} shown (--limit 0: all)\n"

    assert main(["orders", "--limit", "0"]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 1 + total and err == ""


def test_show_prints_header_lines_shipments_returns_and_quarantine(home: Path, capsys: pytest.CaptureFixture) -> None:
    [(order, raw_status)] = sql(
        home,
        "SELECT o.external_id, o.raw_status FROM orders o JOIN shipment s ON s.account_id = o.account_id AND s.order_external_id = o.external_id"
        " WHERE s.tracking_number IS NOT NULL ORDER BY o.external_id LIMIT 1",
    )
    [(airway_bill, tracking)] = sql(home, "SELECT tracking_number, tracking_status FROM shipment WHERE order_external_id = :o", o=order)
    sql(
        home,
        "INSERT INTO quarantine (account_id, channel, external_id, payload_hash, reason, payload, mapping_version, first_seen_at, last_seen_at, attempts)"
        " VALUES ('toko-a', 'woocommerce', :o, 'h1', 'line 2: quantity is not a number', '{}', 't', '2026-01-01', '2026-01-01', 1)",
        o=order,
    )
    assert main(["orders", "show", order]) == 0
    out = capsys.readouterr().out
    for expected in (f"order {order}  (account toko-a)", "raw_status", raw_status, "\nlines\n", "\nshipments\n", airway_bill, tracking,
                     "\nreturns\n", "\nquarantine\n", "quantity is not a number"):
        assert expected in out, expected
    assert "buyer" not in out and "note" not in out.split("\nlines\n")[0]

    assert main(["orders", "--account", "toko-a", "show", order, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["order"]["raw_status"] == raw_status and doc["shipments"][0]["tracking_number"] == airway_bill
    assert doc["quarantine"][0]["reason"] == "line 2: quantity is not a number" and doc["lines"]


def test_show_names_a_missing_or_ambiguous_order(home: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["orders", "show", "no-such-order"]) == 1
    assert capsys.readouterr().err == "simpul: no order 'no-such-order'\n"
    [(order,)] = sql(home, "SELECT external_id FROM orders ORDER BY external_id LIMIT 1")
    sql(
        home,
        "INSERT INTO quarantine (account_id, channel, external_id, payload_hash, reason, payload, mapping_version, first_seen_at, last_seen_at, attempts)"
        " VALUES ('toko-b', 'woocommerce', :o, 'h2', 'r', '{}', 't', '2026-01-01', '2026-01-01', 1)",
        o=order,
    )
    assert main(["orders", "show", order]) == 2
    assert "several accounts (toko-a, toko-b): add --account" in capsys.readouterr().err
    sql(home, "DELETE FROM quarantine WHERE account_id = 'toko-b'")


def test_control_characters_from_a_channel_are_escaped_not_obeyed(home: Path, capsys: pytest.CaptureFixture) -> None:
    [(order, status)] = sql(home, "SELECT external_id, raw_status FROM orders ORDER BY external_id LIMIT 1")
    forged = "processing\x1b[2K\r\ntoko-a  FAKE-ORDER  completed\u202e"
    sql(home, "UPDATE orders SET raw_status = :s WHERE external_id = :o", s=forged, o=order)
    sql(home, "UPDATE order_line SET name = :n WHERE order_external_id = :o", n="Kaos\x1b]0;pwned\x07", o=order)
    try:
        assert main(["orders", "--limit", "0"]) == 0
        table = capsys.readouterr().out
        [(total,)] = sql(home, "SELECT count(*) FROM orders")
        assert len(table.splitlines()) == 1 + total, "a status added a row"
        assert main(["orders", "show", order]) == 0
        shown = capsys.readouterr().out
        for out in (table, shown):
            assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
        assert "processing\\x1b[2K\\r\\ntoko-a  FAKE-ORDER  completed\\u202e" in table
        assert "Kaos\\x1b]0;pwned\\x07" in shown
    finally:
        sql(home, "UPDATE orders SET raw_status = :s WHERE external_id = :o", s=status, o=order)
