"""Real ``kill -9`` of sync processes at random points, again and again while each rerun
resumes, then a clean rerun (reliability.md F-1, F-3, F-13).

Each channel's sandbox runs in this process with its data clock frozen (the source holds
still) and some latency. The test plans one incremental run, then starts ``simpul sync
--direct`` processes that take it over one after another and SIGKILLs each after a random
number of API requests: before its first commit, mid-page, between pages, so most kills
hit a rerun that had already resumed someone else's progress. Then one clean rerun.

It asserts that:

- kills really happened, and hit reruns that had made progress (no vacuous pass);
- the store equals the source exactly, with no duplicate keys, an intact audit chain, no
  checkpoint left and a cursor set; it also equals an uninterrupted run of the same plan;
- every page of the plan was committed exactly once across all the runs, and the clean
  rerun sent no more requests than the pages nobody had committed needed: it repeats only
  what was in flight (no lookback applies inside one plan).

``SIMPUL_KILL_ITERATIONS`` (or the nightly profile) raises the number of kills.
"""

from __future__ import annotations

import json
import random
import signal
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from simpul import store
from simpul.db import Database
from simpul.engine import INCREMENTAL, SyncRequest
from simpul.runtime import open_hub
from simpul.vault import KeyRing
from tests.faults.harness import (
    KILL_ITERATIONS,
    add_account,
    assert_synced,
    cli_env,
    make_hub,
    run_records,
    spawn_sync,
    start_sandbox,
)
from tests.oracle import returns_stored_state, stored_state

ORDERS = max(3000, 600 * KILL_ITERATIONS)  # enough pages that no killed run gets to finish
# Blibli pages cost ~60 requests (a detail call per order item), so fewer orders are as
# many seconds of pages; 3,000 of them cost ~90 s of a CI run for nothing more.
# Its pages also make ~60 requests each, so a few milliseconds of latency keep a request
# in flight as often as 60 ms do for a channel with one or two requests a page.
ORDERS_OF = {"blibli": max(600, 120 * KILL_ITERATIONS)}
LATENCY_OF = {"blibli": 5}
LATENCY_MS = 60  # lets a kill land while a request is in flight


CASES = [
    ("shopee", "sqlite"),
    ("woocommerce", "sqlite"),
    ("lazada", "sqlite"),
    ("tiktok", "sqlite"),
    ("blibli", "sqlite"),
    # PostgreSQL: the killed holder's advisory lock must go with its connection.
    pytest.param("woocommerce", "postgres", marks=pytest.mark.postgres),
]


@pytest.mark.slow
@pytest.mark.parametrize("channel,database", CASES)
def test_kill_minus_nine_during_runs_and_reruns_then_rerun_converges(channel: str, database: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    server = start_sandbox(channel, orders=ORDERS_OF.get(channel, ORDERS), seed=11)
    url = request.getfixturevalue("pg_db").url if database == "postgres" else f"sqlite:///{tmp_path / 'simpul.db'}"
    env = cli_env(tmp_path, url)
    keyring = KeyRing.create(tmp_path / "keyring.json")
    hub = open_hub(env["SIMPUL_DATABASE_URL"], keyring=keyring, rate_limits={"*": None})
    try:
        account = add_account(hub, server, f"kill-{channel}")
        plan = hub.engine.plan(SyncRequest(account), "planned-by-the-harness")  # every process resumes it

        latency = LATENCY_OF.get(channel, LATENCY_MS)
        server.faults.update({"latency_ms": latency})
        rng = random.Random(2026)
        killed = killed_after_progress = 0
        for _ in range(KILL_ITERATIONS):
            before = committed_pages(hub.db, account)
            proc = spawn_sync(env, account)
            # A random kill point: once 0-2 more pages are committed, then up to a few
            # requests later (before the first request, right after a commit, between a
            # page's list and detail calls, mid-request).
            target = before + rng.randint(0, 2)
            deadline = time.monotonic() + 60
            while proc.poll() is None and committed_pages(hub.db, account) < target and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0, 2.5 * latency / 1000))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            if proc.returncode == -signal.SIGKILL:
                killed += 1
                killed_after_progress += before > 0
        assert killed >= max(1, KILL_ITERATIONS - 1), f"only {killed} of {KILL_ITERATIONS} runs were actually killed"
        assert killed_after_progress >= 1, "no kill hit a rerun that had resumed committed progress"
        committed = run_records(hub.db, account)
        assert sum(r.pages for r in committed) > 0, "the killed runs committed nothing: the kills came too early to test resumption"

        server.faults.update({"latency_ms": 0})
        final = spawn_sync(env, account)
        out, err = final.communicate(timeout=300)
        assert final.returncode == 0, err.decode()[-2000:]
        [row] = json.loads(out)
        assert row["status"] == "completed"
        assert_synced(hub.db, account, server)

        # The same plan, uninterrupted, in a database of its own.
        baseline_db = Database(f"sqlite:///{tmp_path / 'baseline.db'}")
        baseline_db.migrate()
        baseline = make_hub(baseline_db, keyring)
        add_account(baseline, server, account)
        with baseline_db.begin() as conn:
            store.save_checkpoint(conn, account, INCREMENTAL, "planned-by-the-harness", plan, now=datetime.now(timezone.utc))
        uninterrupted = baseline.engine.run(SyncRequest(account))
        assert stored_state(hub.db, account) == stored_state(baseline_db, account)
        assert returns_stored_state(hub.db, account) == returns_stored_state(baseline_db, account)

        assert sum(r.pages for r in committed) + row["pages"] == uninterrupted.pages, "a committed page was read again"
        assert row["requests"] <= uninterrupted.requests - sum(r.requests for r in committed)
        baseline_db.dispose()
    finally:
        hub.close()
        server.stop()


def committed_pages(db: Database, account: str) -> int:
    return sum(r.pages for r in run_records(db, account))
