"""Real ``kill -9`` of sync processes at random points, then a rerun: the database must
converge to the sandbox's data exactly, with no duplicate keys and an intact audit chain.

Each channel's sandbox runs in this process with its data clock frozen (so the source
holds still) and some latency; each kill waits for a random number of API requests; each sync is a separate
``simpul sync --direct`` process that we SIGKILL. The test counts the kills that really
happened, so it cannot pass vacuously. ``SIMPUL_KILL_ITERATIONS`` raises the count for a
longer, nightly-style run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connectors._sandbox import SandboxServer
from simpul import audit, store
from simpul.channels import get_channel
from simpul.runtime import open_hub
from simpul.vault import KeyRing
from tests.oracle import assert_converged

ROOT = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("SIMPUL_KILL_ITERATIONS", "5"))


def _sync(env: dict[str, str], account: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "simpul.cli", "sync", account, "--direct", "--json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
@pytest.mark.parametrize("channel", ["shopee", "woocommerce"])
def test_kill_minus_nine_then_rerun_converges(channel: str, tmp_path: Path) -> None:
    spec = get_channel(channel)
    app = spec.sandbox_class()(orders=2000, seed=11)
    app.clock.freeze(app.clock.now())
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SIMPUL_HOME": str(tmp_path),
        "SIMPUL_DATABASE_URL": f"sqlite:///{tmp_path / 'simpul.db'}",
        "SIMPUL_KEYRING": str(tmp_path / "keyring.json"),
    }
    with SandboxServer(app, seed=11) as server:
        server.faults.update({"latency_ms": 60})
        hub = open_hub(env["SIMPUL_DATABASE_URL"], keyring=KeyRing.load(tmp_path / "keyring.json"))
        account = f"kill-{channel}"
        hub.accounts.add(account, channel, account, server.url, app.demo_credentials(), history_days=60)

        rng = random.Random(2026)
        killed = 0
        for _ in range(KILLS):
            proc = _sync(env, account)
            # Kill after a random number of API requests, so kills land mid-run at
            # different points (between pages, mid-page, before the first commit).
            target = server.stats.requests + rng.randint(1, 4)
            deadline = time.monotonic() + 60
            while proc.poll() is None and server.stats.requests < target and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0, 0.06))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            killed += proc.returncode == -signal.SIGKILL
        assert killed >= max(1, KILLS - 1), f"only {killed} of {KILLS} runs were actually killed"

        server.faults.update({"latency_ms": 0})
        final = _sync(env, account)
        out, err = final.communicate(timeout=300)
        assert final.returncode == 0, err.decode()[-2000:]

        assert_converged(hub.db, account, spec.mapping(), app.dump_orders())
        with hub.db.connect() as conn:
            assert audit.verify(conn).ok
            assert store.load_checkpoint(conn, account, "incremental") is None
            assert store.load_cursor(conn, account) is not None
        hub.close()
