"""Real ``kill -9`` of ``simpul track-sync`` processes at chosen points, each rerun resuming
the tracking run the killed one planned, then a rerun to completion (reliability.md F-1,
F-3, for the tracking stream).

The channel's sandbox runs in this process on a port, seeded with ``PARCELS`` parcels, data
clock frozen, rate-limit clock injected. The hub knows the parcels (registered, due now);
each ``simpul track-sync --json`` process (SIMPUL_HOME in tmp) looks at them batch by batch.
The kill points come from counts, never from durations:

- **after a commit**: the process SIGKILLs itself right after the first transaction that
  wrote a batch's parcels or checkpoint, once it has read its n-th batch (a hook run in
  the process before the CLI, ``die_after_batches``). Nothing is in flight, so the rerun
  must repeat nothing. A checkpoint committed apart from its rows shows here: committed
  after them, the rerun asks the batch again; committed before, the batch is lost.
- **in flight**: the sandbox holds the request for a chosen airway bill (mid-batch, or the
  first of a batch just after a commit) until the test has SIGKILLed the process.

The sandbox counts the requests per airway bill. At the end: every kill really happened
at its point (the committed checkpoint says how far), the stored parcels equal the oracle
(the sandbox's replies mapped), no checkpoint is left, the audit chain verifies, and each
airway bill was asked exactly once, except those of a batch in flight at a kill, asked
exactly twice.
"""

from __future__ import annotations

import itertools
import json
import signal
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from connectors._sandbox import Reply, Request, SandboxServer
from connectors.contract import ParcelKey
from connectors.spec import TRACKING
from mappings import couriers
from simpul.plan import Plan
from simpul import audit, parcels, store
from simpul.channels import get_channel
from simpul.engine import TRACK
from simpul.runtime import open_hub
from simpul.vault import KeyRing
from tests.faults.harness import add_account, cli_env, spawn_cli, start_sandbox
from tests.oracle import assert_parcels_converged

PARCELS = 100  # five batches of 20
GUARD = 120  # seconds: only a broken build waits this long for a process or a held request


def die_after_batches(n: int) -> None:
    """In a ``track-sync`` process: SIGKILL it right after the first transaction, once the
    n-th batch was read, that wrote tracking rows or a checkpoint."""
    import os
    from contextlib import contextmanager

    from simpul import db as dbmod, parcels as parcels_mod, store as store_mod
    from simpul.channels import TRACKING as KIND, get_channel as channel_of, reading

    state = {"read": 0, "wrote": False}

    def counting(method: Callable[..., Any]) -> Callable[..., Any]:
        def parcels_read(self: Any, keys: Any) -> Any:
            state["read"] += 1
            return method(self, keys)

        return parcels_read

    for name in reading(KIND):
        cls = channel_of(name).connector_class()
        cls.parcels = counting(cls.parcels)

    def noting(function: Callable[..., Any]) -> Callable[..., Any]:
        def wrote(*args: Any, **kwargs: Any) -> Any:
            state["wrote"] = True
            return function(*args, **kwargs)

        return wrote

    parcels_mod.apply_tracking = noting(parcels_mod.apply_tracking)
    store_mod.save_checkpoint = noting(store_mod.save_checkpoint)
    store_mod.clear_checkpoint = noting(store_mod.clear_checkpoint)
    begin = dbmod.Database.begin

    @contextmanager
    def begin_then_maybe_die(self: Any) -> Any:
        state["wrote"] = False
        with begin(self) as conn:
            yield conn
        if state["wrote"] and state["read"] >= n:  # committed: die before anything else happens
            os.kill(os.getpid(), signal.SIGKILL)

    dbmod.Database.begin = begin_then_maybe_die


class Gate:
    """Counts the sandbox's API requests per airway bill; holds the request for ``hold_on``
    (once) until ``release``."""

    def __init__(self, server: SandboxServer, airway_bill_of: Callable[[Request], str]) -> None:
        self.asked: Counter[str] = Counter()
        self.hold_on: str | None = None
        self.held = threading.Event()
        self.released = threading.Event()
        self._lock = threading.Lock()
        dispatch = server.dispatch

        def counting(request: Request) -> Reply | str:
            if not request.path.startswith("/_sandbox/"):
                awb = airway_bill_of(request)
                with self._lock:
                    self.asked[awb] += 1
                    hold = awb == self.hold_on
                    if hold:
                        self.hold_on = None
                if hold:
                    self.held.set()
                    assert self.released.wait(GUARD), "the test never released a held request"
            return dispatch(request)

        server.dispatch = counting  # the one-shop server dispatches through this attribute

    def arm(self, awb: str) -> None:
        self.held, self.released = threading.Event(), threading.Event()
        self.hold_on = awb


def biteship_awb(request: Request) -> str:
    return unquote(request.path.split("/")[3])  # /v1/trackings/<waybill>/couriers/<code>


def kiriminaja_awb(request: Request) -> str:
    return str(request.json()["order_id"])


AIRWAY_BILL_OF = {"biteship": biteship_awb, "kiriminaja": kiriminaja_awb}

CASES = [
    ("biteship", "sqlite"),
    ("kiriminaja", "sqlite"),
    # PostgreSQL: the killed holder's advisory lock must go with its connection.
    pytest.param("biteship", "postgres", marks=pytest.mark.postgres),
]


@pytest.mark.slow
@pytest.mark.parametrize("channel,database", CASES)
def test_kill_minus_nine_during_track_sync_then_rerun_converges(channel: str, database: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    spec = get_channel(channel)
    batch = spec.stream(TRACKING).batch
    server = start_sandbox(channel, orders=PARCELS, seed=13)
    ticks = itertools.count(0, 3600)
    server.app.rate_clock = lambda: float(next(ticks))  # every request in a fresh rate window
    gate = Gate(server, AIRWAY_BILL_OF[channel])
    url = request.getfixturevalue("pg_db").url if database == "postgres" else f"sqlite:///{tmp_path / 'simpul.db'}"
    env = cli_env(tmp_path, url)
    hub = open_hub(url, keyring=KeyRing.create(tmp_path / "keyring.json"), rate_limits={"*": None})
    try:
        account = add_account(hub, server, f"kill-{channel}")
        due = datetime.now(timezone.utc) - timedelta(minutes=1)
        with hub.db.begin() as conn:
            for parcel in server.app.known_parcels():
                own = getattr(parcel, "courier", None) or parcel.service
                parcels.register(conn, ParcelKey(couriers.simpul_courier(channel, own), getattr(parcel, "waybill", None) or parcel.awb), now=due)

        def checkpoint() -> Plan | None:
            with hub.db.connect() as conn:
                found = store.load_checkpoint(conn, account, TRACK)
            return found[1] if found else None

        def self_killed_after(n: int) -> None:
            proc = spawn_cli(env, "track-sync", "--json", prelude=f"from tests.faults.test_track_kill import die_after_batches\ndie_after_batches({n})")
            _, err = proc.communicate(timeout=GUARD)
            assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]

        def killed_in_flight(awb: str) -> None:
            gate.arm(awb)
            proc = spawn_cli(env, "track-sync", "--json")
            try:
                assert gate.held.wait(GUARD), "the held request never came"
                proc.send_signal(signal.SIGKILL)
                proc.communicate(timeout=GUARD)
            finally:
                gate.released.set()
            assert proc.returncode == -signal.SIGKILL

        # 1. The first process plans the run and dies right after committing its first batch.
        self_killed_after(1)
        state = checkpoint()
        assert state is not None and state.next_key == batch
        keys = [ParcelKey.parse(k).tracking_number for k in state.keys]
        assert len(keys) == PARCELS and sum(gate.asked.values()) == batch

        # 2. A rerun commits the second batch and is killed mid-way through the third.
        in_flight = keys[2 * batch : 2 * batch + 7]
        killed_in_flight(in_flight[-1])
        assert checkpoint().next_key == 2 * batch

        # 3. A rerun asks the third batch again, commits it and dies right after.
        self_killed_after(1)
        assert checkpoint().next_key == 3 * batch

        # 4. A rerun is killed asking the first parcel of the fourth batch.
        killed_in_flight(keys[3 * batch])
        assert checkpoint().next_key == 3 * batch
        in_flight.append(keys[3 * batch])

        # 5. The last rerun completes.
        final = spawn_cli(env, "track-sync", "--json")
        out, err = final.communicate(timeout=GUARD)
        assert final.returncode == 0, err.decode()[-2000:]
        [run] = json.loads(out)["runs"]
        assert (run["status"], run["new"]) == ("completed", PARCELS - 3 * batch)
        assert checkpoint() is None

        assert_parcels_converged(hub.db, spec.mapping(TRACKING), server.app.dump_orders())
        with hub.db.connect() as conn:
            verdict = audit.verify(conn)
            assert verdict.ok, str(verdict)
        # Each airway bill asked once; those of a batch in flight at a kill, twice.
        assert set(gate.asked) == set(keys)
        assert {awb for awb, n in gate.asked.items() if n != 1} == set(in_flight)
        assert all(gate.asked[awb] == 2 for awb in in_flight)
    finally:
        hub.close()
        server.stop()
