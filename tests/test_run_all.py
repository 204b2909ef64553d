"""``Runner.run_all`` told to stop: it starts nothing new, and the accounts it is running
end at their next step (``stopped``), so the process can exit without syncing every
account of its batch first; the next run resumes each from its checkpoint.

The interruption is a real signal whose handler raises, as Prefect's SIGTERM handler
does in a flow-run process (or KeyboardInterrupt at a terminal). It is sent to an
account's thread, the worst case of a process-directed signal: Python runs the handler
in the main thread only when that thread wakes up.
"""

from __future__ import annotations

import json
import signal
import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from simpul.engine import SyncRequest
from simpul.model import SyncRun
from simpul.runner import STOPPED, Runner
from simpul.runtime import Hub

NOW = datetime.now(timezone.utc)  # the engine's clock in these tests (injected), so the orders below are always in its window


class Stop(BaseException):
    """What a termination handler raises (Prefect: TerminationSignal)."""


def runs(hub: Hub, account: str) -> list[dict]:
    table = SyncRun.__table__
    with hub.db.connect() as conn:
        rows = conn.execute(sa.select(table.c.status, table.c.error, table.c.counts).where(table.c.account_id == account).order_by(table.c.started_at)).all()
    return [{"status": r.status, "error": r.error, **json.loads(r.counts or "{}")} for r in rows]


def test_an_interrupted_run_all_starts_nothing_new_and_stops_its_accounts_at_their_next_step(hub: Hub, fake_channel) -> None:  # noqa: ANN001
    hub.engine.clock = lambda: NOW
    for i in range(30):  # 10 pages of 3
        fake_channel.put(f"o{i:02d}", int((NOW - timedelta(hours=i + 1)).timestamp()))
    accounts = [f"shop-{i}" for i in range(5)]
    for account in accounts:
        hub.accounts.add(account, "fake", account, "http://fake.invalid", {"token": "good"})
    interrupted, resumed_test = threading.Event(), threading.Event()

    def on_step(request: SyncRequest, step) -> None:  # noqa: ANN001 - in an account's thread
        if not interrupted.is_set():
            interrupted.set()
            signal.pthread_kill(threading.get_ident(), signal.SIGTERM)  # the handler runs in the main thread, waiting in run_all
        resumed_test.wait(30)  # hold every account here until run_all has given up on them

    def handler(signum, frame) -> None:  # noqa: ANN001
        raise Stop()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        with pytest.raises(Stop):
            Runner(hub.engine).run_all([SyncRequest(a) for a in accounts], concurrency=2, pages_per_step=1, on_step=on_step)
    finally:
        signal.signal(signal.SIGTERM, previous)
        resumed_test.set()
    for thread in [t for t in threading.enumerate() if t.name.startswith("simpul-account")]:
        thread.join(timeout=30)

    started = [a for a in accounts if runs(hub, a)]
    assert len(started) == 2 and started == accounts[: len(started)]  # the other three never began
    for account in started:
        [row] = runs(hub, account)
        assert (row["status"], row["error"]) == ("stopped", STOPPED)
        assert row.get("pages", 0) <= 1  # at most the one step it was in

    rerun = Runner(hub.engine).run_all([SyncRequest(a) for a in accounts], concurrency=2)

    assert [s.status for s in rerun] == ["completed"] * 5
    full = sum(r.get("pages", 0) for r in runs(hub, accounts[-1]))  # never interrupted
    for account in started:
        assert sum(r.get("pages", 0) for r in runs(hub, account)) == full  # resumed, nothing read twice
