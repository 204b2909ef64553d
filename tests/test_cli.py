"""The ``simpul`` command as a person and a script meet it: help, errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from simpul.cli import main
from simpul.db import Database
from tests.tamper import drop_append_only

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(cli_home: Path) -> Path:
    assert main(["keys", "init"]) == 0  # set-up: the one command that creates a key ring
    return cli_home


def test_help_lists_every_command() -> None:
    out = subprocess.run([sys.executable, "-m", "simpul.cli", "--help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for command in ("demo", "sandbox", "accounts", "keys", "sync", "map", "orders", "audit", "pii", "quarantine"):
        assert command in out


def test_accounts_add_reports_missing_credential_names(home, capsys) -> None:  # noqa: ANN001
    creds = home / "c.json"
    creds.write_text(json.dumps({"consumer_key": "ck_canary_123456"}))
    code = main(["accounts", "add", "woocommerce", "toko-a", "--base-url", "http://127.0.0.1:1", "--credentials-file", str(creds)])
    err = capsys.readouterr().err
    assert code == 2 and "consumer_secret" in err and "ck_canary_123456" not in err


def test_accounts_add_rejects_unreadable_json(home, capsys) -> None:  # noqa: ANN001
    creds = home / "c.json"
    creds.write_text("{not json")
    assert main(["accounts", "add", "woocommerce", "toko-a", "--base-url", "http://x", "--credentials-file", str(creds)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_accounts_are_stored_encrypted_and_listed(home, capsys) -> None:  # noqa: ANN001
    creds = home / "c.json"
    creds.write_text(json.dumps({"consumer_key": "ck_canary_123456", "consumer_secret": "cs_canary_654321"}))
    assert main(["accounts", "add", "woocommerce", "toko-a", "--base-url", "http://127.0.0.1:1", "--credentials-file", str(creds), "--no-verify"]) == 0
    assert main(["accounts", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert [a["account"] for a in listed] == ["toko-a"] and listed[0]["token_expires_in"] == "-"
    engine = sa.create_engine(f"sqlite:///{home / 'simpul.db'}")
    with engine.connect() as conn:
        dump = "\n".join(str(row) for table in ("account", "credential", "audit_log") for row in conn.execute(sa.text(f"SELECT * FROM {table}")))
    engine.dispose()
    assert "canary" not in dump
    assert main(["accounts", "add", "woocommerce", "toko-a", "--base-url", "http://x", "--credentials-file", str(creds)]) == 2
    assert "exists already" in capsys.readouterr().err


def test_sync_with_unknown_account_and_bad_time_is_a_usage_error(home, capsys) -> None:  # noqa: ANN001
    assert main(["sync", "nope", "--direct"]) == 2
    assert "no account 'nope'" in capsys.readouterr().err
    assert main(["sync", "nope", "--since", "yesterday"]) == 2
    assert "ISO-8601" in capsys.readouterr().err
    assert main(["sync", "--orders", "1,2"]) == 2


def test_audit_verify_exit_codes(home, capsys) -> None:  # noqa: ANN001
    creds = home / "c.json"
    creds.write_text(json.dumps({"consumer_key": "ck_1234567890", "consumer_secret": "cs_1234567890"}))
    main(["accounts", "add", "woocommerce", "toko-a", "--base-url", "http://x", "--credentials-file", str(creds), "--no-verify"])
    assert main(["audit", "verify"]) == 0
    assert "chain intact" in capsys.readouterr().out
    anchor = home / "anchor.json"
    assert main(["audit", "anchor", "--out", str(anchor)]) == 0
    assert json.loads(anchor.read_text())["seq"] >= 1
    assert main(["audit", "verify", "--anchor", str(anchor)]) == 0
    assert "passes through the anchor" in capsys.readouterr().out
    db = Database(f"sqlite:///{home / 'simpul.db'}")
    drop_append_only(db)
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1"))
    db.dispose()
    assert main(["audit", "verify"]) == 1
    assert "BROKEN at seq 1" in capsys.readouterr().out
    assert main(["audit", "verify", "--anchor", str(home / "c.json")]) == 1
    assert "not a simpul-audit-anchor/1 file" in capsys.readouterr().out


def test_a_shopee_sandbox_account_syncs_and_a_resync_names_unknown_order_numbers(home, capsys) -> None:  # noqa: ANN001
    from connectors._sandbox import SandboxServer
    from connectors.shopee.sandbox import ShopeeSandbox

    app = ShopeeSandbox(orders=40, seed=9)
    with SandboxServer(app) as server:
        creds = home / "shopee.json"
        creds.write_text(json.dumps(app.demo_credentials()))
        assert main(["accounts", "add", "shopee", "toko-s", "--base-url", server.url, "--credentials-file", str(creds), "--history-days", "60"]) == 0
        assert main(["sync", "toko-s", "--direct", "--json"]) == 0
        out = capsys.readouterr().out
        [row] = json.loads(out[out.index("[") :])
        assert (row["status"], row["new"]) == ("completed", 40)
        known = app.dump_orders()[0]["order_sn"]
        assert main(["sync", "toko-s", "--direct", "--orders", f"{known},240101NOSUCH01"]) == 0
        out = capsys.readouterr().out
        assert "toko-s: not found at the channel: 240101NOSUCH01" in out and known not in out.split("not found")[1]


def test_a_refused_credential_fails_the_sync_with_a_readable_row_and_no_secret(home, capsys) -> None:  # noqa: ANN001
    from connectors._sandbox import SandboxServer
    from connectors.shopee.sandbox import ShopeeSandbox

    app = ShopeeSandbox(orders=5, seed=9)
    with SandboxServer(app) as server:
        creds = home / "shopee.json"
        creds.write_text(json.dumps({**app.demo_credentials(), "partner_key": "shpk_canary_0042_wrong"}))
        assert main(["accounts", "add", "shopee", "toko-x", "--base-url", server.url, "--credentials-file", str(creds)]) == 2
        refused = capsys.readouterr().err
        assert "shopee refused these credentials" in refused and "error_sign" in refused and "nothing was stored" in refused
        assert "canary" not in refused
        assert main(["accounts", "add", "shopee", "toko-x", "--base-url", server.url, "--credentials-file", str(creds), "--no-verify"]) == 0
        assert main(["sync", "toko-x", "--direct", "--json"]) == 1
        captured = capsys.readouterr()
        out = captured.out
        [row] = json.loads(out[out.index("[") :])
        assert (row["channel"], row["status"]) == ("shopee", "failed") and "error_sign" in row["error"]
        assert "canary" not in captured.out + captured.err


def test_credentials_come_from_stdin_or_a_prompt_never_argv(home, capsys, monkeypatch) -> None:  # noqa: ANN001
    import io

    from connectors._sandbox import SandboxServer
    from connectors.woocommerce.sandbox import WooCommerceSandbox

    app = WooCommerceSandbox(orders=3, seed=1)
    with SandboxServer(app) as server:
        creds = app.demo_credentials()
        monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(creds)))
        assert main(["accounts", "add", "woocommerce", "toko-in", "--base-url", server.url, "--credentials-file", "-"]) == 0
        assert "verified with woocommerce" in capsys.readouterr().out

        monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal, no file: say how
        assert main(["accounts", "add", "woocommerce", "toko-none", "--base-url", server.url]) == 2
        assert "--credentials-file" in capsys.readouterr().err

        asked: list[str] = []
        monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
        monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or creds[prompt.split()[1].rstrip(":")])
        assert main(["accounts", "add", "woocommerce", "toko-ask", "--base-url", server.url]) == 0
        assert asked == ["woocommerce consumer_key: ", "woocommerce consumer_secret: "]
        assert main(["accounts", "list", "--json"]) == 0
        assert {a["account"] for a in json.loads(capsys.readouterr().out.split("\n", 1)[1])} == {"toko-in", "toko-ask"}


def test_keys_rotate_status_and_retire(home, capsys) -> None:  # noqa: ANN001
    creds = home / "c.json"
    creds.write_text(json.dumps({"consumer_key": "ck_1234567890", "consumer_secret": "cs_1234567890"}))
    assert main(["accounts", "add", "woocommerce", "toko-a", "--base-url", "http://x", "--credentials-file", str(creds), "--no-verify"]) == 0
    assert main(["keys", "retire", "k1"]) == 2
    assert "cannot retire keys still in use (k1: 1 credentials, 2 hub secrets)" in capsys.readouterr().err
    assert main(["keys", "rotate"]) == 0
    out = capsys.readouterr().out
    assert "added key k2; 3 envelopes rewrapped" in out and "keys k1, k2" in out
    assert main(["keys", "retire", "k1"]) == 0
    assert main(["keys", "status"]) == 0
    out = capsys.readouterr().out
    assert "k2" in out and "k1 " not in out.split("KEY", 1)[1]
    ring = json.loads((home / "keyring.json").read_text())
    del ring["keys"]["k2"]
    ring["keys"]["k3"] = ring["keys"].get("k1") or "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    ring["active"] = "k3"
    (home / "keyring.json").write_text(json.dumps(ring))
    assert main(["keys", "status"]) == 1
    assert "MISSING" in capsys.readouterr().out
    assert main(["sync", "toko-a", "--direct"]) == 2  # refused before anything runs or is written
    err = capsys.readouterr()
    assert "opens none of the" in err.err and "needs key 'k2', which is not in the key ring" in err.err


def test_map_refuses_what_a_sync_would_quarantine(tmp_path, capsys) -> None:  # noqa: ANN001
    """`simpul map` applies the same storage check as a sync: a 10 KB order number is
    refused by field name, and the golden payload it came from maps (negative control)."""
    raw = json.loads((ROOT / "tests/shopee/golden/cod_completed.json").read_text())
    good = tmp_path / "good.json"
    good.write_text(json.dumps(raw))
    assert main(["map", "shopee", str(good)]) == 0
    capsys.readouterr()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**raw, "order_sn": "X" * 10_000}))
    assert main(["map", "shopee", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "external_id" in err and "X" * 200 not in err
