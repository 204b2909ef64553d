"""Every refusal of the `simpul` command is one line on stderr with the right exit code.

Each case below once ended in a traceback (or, worse, in silence): out-of-range numbers,
dates and expiry times, a damaged key ring, JSON nested too deeply, a database that
refuses connections. A case passes only if stderr holds exactly one ``simpul: ...`` line
naming the problem and no traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simpul.cli import main

ROOT = Path(__file__).resolve().parents[1]
CREDS = {"consumer_key": "ck_1234567890", "consumer_secret": "cs_1234567890"}


@pytest.fixture
def home(cli_home: Path) -> Path:
    (cli_home / "c.json").write_text(json.dumps(CREDS))
    return cli_home


@pytest.fixture
def ready(home: Path) -> Path:
    """A home after set-up (`simpul keys init`), for the cases that reach the database."""
    assert main(["keys", "init"]) == 0
    return home


def one_line(capsys: pytest.CaptureFixture, *needles: str) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert "Traceback" not in err and len(lines) == 1 and lines[0].startswith("simpul: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def add(home: Path, *extra: str, name: str = "toko-a", channel: str = "woocommerce", creds: str = "c.json") -> int:
    return main(["accounts", "add", channel, name, "--base-url", "http://127.0.0.1:9", "--credentials-file", str(home / creds), "--no-verify", *extra])


@pytest.mark.parametrize("days", ["99999999", "-5", "0"])
def test_history_days_out_of_range_are_refused(home: Path, capsys: pytest.CaptureFixture, days: str) -> None:
    assert add(home, "--history-days", days) == 2
    one_line(capsys, "--history-days", "1 to 10,000")


def test_history_days_are_checked_by_the_accounts_book_too(hub) -> None:  # noqa: ANN001 - flows and scripts add accounts without the CLI
    from simpul.accounts import AccountError

    for days in (99_999_999, -5):
        with pytest.raises(AccountError, match="history days"):
            hub.accounts.add("toko-a", "woocommerce", "A", "http://x", CREDS, history_days=days)


@pytest.mark.parametrize("since", ["0001-01-01", "9999-12-31", "1969-12-31T23:00:00Z"])
def test_a_resync_window_outside_unix_time_up_to_now_is_refused(ready: Path, capsys: pytest.CaptureFixture, since: str) -> None:
    assert add(ready) == 0
    capsys.readouterr()
    assert main(["sync", "toko-a", "--direct", "--since", since]) == 2
    one_line(capsys, "--since", "out of range")


@pytest.mark.parametrize("value", [1e300, -1, "soon", True])
def test_an_expiry_time_that_is_no_time_is_refused(ready: Path, capsys: pytest.CaptureFixture, value: object) -> None:
    (ready / "bad.json").write_text(json.dumps({**CREDS, "access_expires_at": value}))
    assert add(ready, creds="bad.json") == 2
    one_line(capsys, "access_expires_at")


def test_a_key_ring_with_a_short_key_is_refused(ready: Path, capsys: pytest.CaptureFixture) -> None:
    ring = json.loads((ready / "keyring.json").read_text())
    ring["keys"]["k1"] = "YWJj"  # 3 bytes
    (ready / "keyring.json").write_text(json.dumps(ring))
    assert main(["accounts", "list"]) == 2
    one_line(capsys, "keyring.json", "not 32 bytes")


def test_deeply_nested_json_is_refused(ready: Path, capsys: pytest.CaptureFixture) -> None:
    (ready / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    assert main(["map", "shopee", str(ready / "deep.json")]) == 2
    one_line(capsys, "not valid JSON")
    assert add(ready, creds="deep.json") == 2
    one_line(capsys, "not valid JSON")


@pytest.mark.parametrize("argv", [["pii", "purge", "--retention-days", "-3650"], ["orders", "--limit", "-1"], ["demo", "--orders", "-3"]])
def test_negative_numbers_are_refused_before_anything_runs(home: Path, capsys: pytest.CaptureFixture, argv: list[str]) -> None:
    assert main(argv) == 2
    one_line(capsys, argv[-2])


def test_a_database_that_refuses_connections_is_one_line(ready: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMPUL_DATABASE_URL", "postgresql+psycopg://simpul:hunter2-secret@127.0.0.1:9/nowhere")
    assert main(["accounts", "list"]) == 1
    line = one_line(capsys, "database postgresql+psycopg://simpul:***@127.0.0.1:9/nowhere", "OperationalError")
    assert "hunter2" not in line


def test_an_unexpected_error_is_one_line_and_simpul_debug_shows_the_traceback(home: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    import simpul.cli.orders

    def boom(args: object) -> int:
        raise RuntimeError("first line\nsecond line with detail")

    monkeypatch.setattr(simpul.cli.orders, "cmd_orders", boom)
    assert main(["orders"]) == 1
    line = one_line(capsys, "unexpected error: RuntimeError: first line", "SIMPUL_DEBUG=1")
    assert "second line" not in line
    monkeypatch.setenv("SIMPUL_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["orders"])


def test_interrupt_is_one_line(home: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    import simpul.cli.orders

    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(simpul.cli.orders, "cmd_orders", interrupted)
    assert main(["orders"]) == 130
    one_line(capsys, "interrupted")


def test_a_real_process_prints_no_traceback_for_a_refusing_database(tmp_path: Path) -> None:
    """The same as a user sees it: the whole stderr of `simpul` (logging included)."""
    from simpul.vault import KeyRing

    KeyRing.create(tmp_path / "ring.json")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SIMPUL_HOME": str(tmp_path), "SIMPUL_KEYRING": str(tmp_path / "ring.json"),
           "SIMPUL_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:9/test"}
    done = subprocess.run([sys.executable, "-m", "simpul.cli", "orders"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("simpul: database postgresql+psycopg://postgres@127.0.0.1:9/test"), done.stderr
