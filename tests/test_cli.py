"""The ``simpul`` command as a person and a script meet it: help, errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from simpul.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:  # noqa: ANN001
    monkeypatch.setenv("SIMPUL_HOME", str(tmp_path))
    monkeypatch.setenv("SIMPUL_DATABASE_URL", f"sqlite:///{tmp_path / 'simpul.db'}")
    monkeypatch.setenv("SIMPUL_KEYRING", str(tmp_path / "keyring.json"))
    monkeypatch.delenv("SIMPUL_MASTER_KEY", raising=False)
    return tmp_path


def test_help_lists_every_command() -> None:
    out = subprocess.run([sys.executable, "-m", "simpul.cli", "--help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for command in ("demo", "sandbox", "accounts", "sync", "map", "orders", "audit", "quarantine"):
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
    assert main(["accounts", "add", "woocommerce", "toko-a", "--base-url", "http://127.0.0.1:1", "--credentials-file", str(creds)]) == 0
    assert main(["accounts", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert [a["account"] for a in listed] == ["toko-a"]
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
    main(["accounts", "add", "woocommerce", "toko-a", "--base-url", "http://x", "--credentials-file", str(creds)])
    assert main(["audit", "verify"]) == 0
    assert "chain intact" in capsys.readouterr().out
    engine = sa.create_engine(f"sqlite:///{home / 'simpul.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1"))
    engine.dispose()
    assert main(["audit", "verify"]) == 1
    assert "BROKEN at seq 1" in capsys.readouterr().out


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
        assert main(["accounts", "add", "shopee", "toko-x", "--base-url", server.url, "--credentials-file", str(creds)]) == 0
        assert main(["sync", "toko-x", "--direct", "--json"]) == 1
        captured = capsys.readouterr()
        out = captured.out
        [row] = json.loads(out[out.index("[") :])
        assert (row["channel"], row["status"]) == ("shopee", "failed") and "error_sign" in row["error"]
        assert "canary" not in captured.out + captured.err
