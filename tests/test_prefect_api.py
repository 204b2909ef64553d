"""`simpul sync` and Prefect's API: direct without a server, one line when Prefect is out of
reach, and a temporary API server that never outlives the command (``kill -9`` included).

These run `simpul` as a real process with its own ``PREFECT_HOME``, never waiting for a
temporary API to become ready (that takes 10-30 s on two cores): a start that cannot
finish in time, an unreachable ``PREFECT_API_URL``, and a kill while the server starts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simpul.cli import main

ROOT = Path(__file__).resolve().parents[1]
SERVER_MARK = "prefect.server.api.server:create_app"


@pytest.fixture
def home(cli_home: Path) -> Path:
    """A set-up home (key ring, one account at a dead URL) and the env of its `simpul` processes."""
    assert main(["keys", "init"]) == 0
    creds = cli_home / "c.json"
    creds.write_text(json.dumps({"consumer_key": "ck_1234567890", "consumer_secret": "cs_1234567890"}))
    assert main(["accounts", "add", "woocommerce", "toko-a", "--base-url", "http://127.0.0.1:9", "--credentials-file", str(creds), "--no-verify"]) == 0
    return cli_home


def simpul_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PYTHONPATH=str(ROOT), SIMPUL_HOME=str(home), SIMPUL_DATABASE_URL=f"sqlite:///{home / 'simpul.db'}", SIMPUL_KEYRING=str(home / "keyring.json"),
        PREFECT_HOME=str(home / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1", SIMPUL_RATE_LIMITS="*=off",
    )
    env.update(extra)
    return env


def run_simpul(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simpul.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def servers_of(prefect_home: Path) -> list[int]:
    """Pids of Prefect API servers started with this PREFECT_HOME (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if SERVER_MARK.encode() in cmdline and f"PREFECT_HOME={prefect_home}".encode() in environ.split(b"\0"):
            if (entry / "stat").read_text().split(")")[-1].split()[0] != "Z":  # a zombie is dead already
                found.append(int(entry.name))
    return found


def wait_for(predicate, seconds: float) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


def assert_one_line(stderr: str, *needles: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("simpul: ")]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; the tether is Linux-only")


def test_a_plain_sync_without_a_prefect_server_runs_directly_and_is_recorded(home: Path) -> None:
    import sqlalchemy as sa

    from connectors._sandbox import SandboxServer
    from connectors.woocommerce.sandbox import WooCommerceSandbox

    app = WooCommerceSandbox(orders=5, seed=3)
    with SandboxServer(app) as server:
        creds = home / "woo.json"
        creds.write_text(json.dumps(app.demo_credentials()))
        assert main(["accounts", "add", "woocommerce", "toko-w", "--base-url", server.url, "--credentials-file", str(creds)]) == 0
        assert main(["accounts", "disable", "toko-a"]) == 0
        done = run_simpul(simpul_env(home), "sync", "--json")
    assert done.returncode == 0, done.stderr
    assert "Starting a temporary Prefect API" not in done.stderr and "Traceback" not in done.stderr
    [row] = json.loads(done.stdout)
    assert (row["account"], row["status"], row["new"]) == ("toko-w", "completed", 5)
    assert not list((home / "prefect").glob("*")), "a plain sync started Prefect's API (its database, its log)"
    engine = sa.create_engine(f"sqlite:///{home / 'simpul.db'}")
    with engine.connect() as conn:
        runs = conn.execute(sa.text("SELECT account_id, status FROM sync_run")).all()
        audited = conn.execute(sa.text("SELECT count(*) FROM audit_log WHERE action = 'sync.completed'")).scalar_one()
    engine.dispose()
    assert [tuple(r) for r in runs] == [("toko-w", "completed")] and audited == 1


def test_an_unreachable_prefect_api_url_is_one_line_naming_the_fix(home: Path) -> None:
    done = run_simpul(simpul_env(home, PREFECT_API_URL="http://127.0.0.1:9/api"), "sync")
    assert done.returncode == 1
    assert_one_line(done.stderr, "cannot reach the Prefect API at http://127.0.0.1:9/api", "PREFECT_API_URL", "--direct")


def test_a_temporary_api_that_does_not_start_in_time_is_one_line_and_is_stopped(home: Path) -> None:
    env = simpul_env(home, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="1")
    done = run_simpul(env, "sync", "--prefect")
    assert done.returncode == 1
    assert "Starting a temporary Prefect API (up to 1 s" in done.stderr  # the visible line
    line = assert_one_line(done.stderr, "did not start within 1 s", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "--direct")
    assert Path(line.split("(log: ", 1)[1].split(";", 1)[0]).exists(), "the log the line names"
    assert servers_of(home / "prefect") == [], "the server outlived the command"


@pytest.mark.slow
def test_kill_minus_nine_of_the_cli_takes_its_temporary_api_server_with_it(home: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "simpul.cli", "sync", "--prefect"], cwd=ROOT, env=simpul_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        assert wait_for(lambda: servers_of(home / "prefect"), 60), "no temporary server appeared"
        server = servers_of(home / "prefect")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    try:
        assert wait_for(lambda: not servers_of(home / "prefect"), 15), f"server {server} outlived kill -9 of its CLI"
    finally:
        for pid in servers_of(home / "prefect"):  # only ever the server this test started
            os.kill(pid, signal.SIGKILL)


def test_a_tethered_child_dies_with_its_parent_and_creates_owner_only_files(tmp_path: Path) -> None:
    made = tmp_path / "made-by-child"
    parent = subprocess.Popen(
        [
            sys.executable, "-c",
            "import subprocess, sys; from simpul import tethered; "
            f"c = tethered.spawn(['sh', '-c', 'touch {made}; exec sleep 60'], umask=0o077); print(c.pid, flush=True); c.wait()",
        ],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True,
    )
    child = int(parent.stdout.readline())
    assert wait_for(made.exists, 10)
    assert made.stat().st_mode & 0o777 == 0o600
    parent.send_signal(signal.SIGKILL)
    parent.wait()

    def gone() -> bool:
        try:
            state = Path(f"/proc/{child}/stat").read_text().split(")")[-1].split()[0]
        except OSError:
            return True
        return state == "Z"

    try:
        assert wait_for(gone, 10), "the child outlived kill -9 of its parent"
    finally:
        if not gone():
            os.kill(child, signal.SIGKILL)
