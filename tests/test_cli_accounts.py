"""Account lifecycle from the command line: disable, enable, remove, a channel for life, and
a demo that leaves nothing behind that breaks the next command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from simpul.channels import ORDERS, reading
from simpul.cli import main

CREDS = {"consumer_key": "ck_1234567890", "consumer_secret": "cs_1234567890"}


@pytest.fixture
def home(cli_home: Path) -> Path:
    return cli_home


def rows(home: Path, query: str) -> list[tuple]:
    engine = sa.create_engine(f"sqlite:///{home / 'simpul.db'}")
    with engine.connect() as conn:
        found = [tuple(r) for r in conn.execute(sa.text(query))]
    engine.dispose()
    return found


def listed(capsys: pytest.CaptureFixture, *flags: str) -> dict[str, str]:
    capsys.readouterr()
    assert main(["accounts", "list", "--json", *flags]) == 0
    return {a["account"]: a["status"] for a in json.loads(capsys.readouterr().out)}


def test_disable_enable_remove(home: Path, capsys: pytest.CaptureFixture) -> None:
    from connectors._sandbox import SandboxServer
    from connectors.woocommerce.sandbox import WooCommerceSandbox

    assert main(["keys", "init"]) == 0
    app = WooCommerceSandbox(orders=4, seed=5)
    with SandboxServer(app) as server:
        (home / "c.json").write_text(json.dumps(app.demo_credentials()))
        assert main(["accounts", "add", "woocommerce", "toko-a", "--base-url", server.url, "--credentials-file", str(home / "c.json")]) == 0
        assert main(["sync", "toko-a", "--direct"]) == 0

        assert main(["accounts", "disable", "toko-a"]) == 0
        assert listed(capsys) == {"toko-a": "disabled"}
        capsys.readouterr()
        assert main(["sync", "--direct", "--json"]) == 0
        captured = capsys.readouterr()
        assert json.loads(captured.out) == [] and "not synced: toko-a (disabled)" in captured.err
        assert main(["sync", "toko-a", "--direct", "--json"]) == 0  # named: a skipped row says why
        [row] = json.loads(capsys.readouterr().out)
        assert row["status"] == "skipped" and "disabled" in row["error"]

        assert main(["accounts", "enable", "toko-a"]) == 0
        capsys.readouterr()
        assert main(["sync", "--direct", "--json"]) == 0
        assert [r["status"] for r in json.loads(capsys.readouterr().out)] == ["completed"]

        stored = rows(home, "SELECT count(*) FROM orders WHERE account_id = 'toko-a'")
        assert stored[0][0] > 0
        assert main(["accounts", "remove", "toko-a"]) == 0
        assert listed(capsys) == {} and listed(capsys, "--all") == {"toko-a": "removed"}
        assert rows(home, "SELECT count(*) FROM credential") == [(0,)]
        assert rows(home, "SELECT count(*) FROM orders WHERE account_id = 'toko-a'") == stored, "orders are kept"
        assert rows(home, "SELECT action FROM audit_log WHERE action LIKE 'account.%' ORDER BY seq") == [
            ("account.added",), ("account.disabled",), ("account.active",), ("account.removed",)
        ]
        assert main(["audit", "verify"]) == 0
        assert main(["accounts", "enable", "toko-a"]) == 2
        assert "add --replace" in capsys.readouterr().err

        # Back with new credentials, resuming from its cursor.
        assert main(["accounts", "add", "woocommerce", "toko-a", "--base-url", server.url, "--credentials-file", str(home / "c.json"), "--replace"]) == 0
        assert listed(capsys) == {"toko-a": "active"}


def test_replace_refuses_another_channel(home: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["keys", "init"]) == 0
    (home / "woo.json").write_text(json.dumps(CREDS))
    (home / "shopee.json").write_text(json.dumps({"partner_id": 1, "partner_key": "pk_1234567890", "shop_id": 2, "access_token": "at_1234567890", "refresh_token": "rt_1234567890"}))
    assert main(["accounts", "add", "woocommerce", "toko-a", "--base-url", "http://x", "--credentials-file", str(home / "woo.json"), "--no-verify"]) == 0
    capsys.readouterr()
    assert main(["accounts", "add", "shopee", "toko-a", "--base-url", "http://x", "--credentials-file", str(home / "shopee.json"), "--no-verify", "--replace"]) == 2
    err = capsys.readouterr().err
    assert "toko-a' is a woocommerce account" in err and "new account id" in err and err.count("\n") == 1
    assert rows(home, "SELECT channel FROM account") == [("woocommerce",)]


ORDER_ACCOUNTS = [f"demo-{c}" for c in reading(ORDERS)]  # the demo syncs every orders channel
DEMO_ACCOUNTS = sorted([*ORDER_ACCOUNTS, "demo-biteship"])  # and tracks their parcels through Biteship


@pytest.mark.prefect
def test_the_demo_syncs_through_prefect_and_leaves_nothing_that_breaks_the_next_sync(prefect_api: None, home: Path, capsys: pytest.CaptureFixture) -> None:
    """`make demo` then `simpul sync`: its sandboxes are gone, so its accounts are disabled."""
    assert not (home / "keyring.json").exists()
    assert main(["demo", "--orders", "5"]) == 0  # through the flows (the session's Prefect API)
    captured = capsys.readouterr()
    assert "key ring created" in captured.err and (home / "keyring.json").exists()
    assert [line.split()[2] for line in captured.out.splitlines()[1:]] == ["completed"] * len(DEMO_ACCOUNTS)  # every orders channel + the tracking pass
    assert "parcels: " in captured.err and " delivered, " in captured.err
    assert listed(capsys) == dict.fromkeys(DEMO_ACCOUNTS, "disabled")

    for how in ("--direct", "--prefect"):
        assert main(["sync", how]) == 0
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err and "failed" not in captured.out
        assert "not synced: " + ", ".join(f"{a} (disabled)" for a in ORDER_ACCOUNTS) in captured.err

    assert main(["demo", "--orders", "5", "--direct"]) == 0  # a second demo: enabled, synced, disabled again
    assert [line.split()[2] for line in capsys.readouterr().out.splitlines()[1:]] == ["completed"] * len(DEMO_ACCOUNTS)
    assert listed(capsys) == dict.fromkeys(DEMO_ACCOUNTS, "disabled")
