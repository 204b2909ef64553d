"""Concurrency on a real PostgreSQL server (reliability.md F-9, INV-14, A-3).

- Two syncs of one account at once: the account lock refuses one, and no two runs of the
  account are ever in flight at once (checked from ``sync_run`` times), both through
  threads released by a barrier and through two ``simpul sync`` processes. The sandbox
  holds the first sync's first request until the second has been refused (``Gate``), so
  "both completed, one after the other" cannot pass for a refusal.
- Workers syncing different accounts at the same time (two WooCommerce shops whose order
  ids coincide, and a Shopee shop): each account ends equal to its own shop, with its own
  cursor, and nothing of one account lands in another. Each shop holds its first request
  until all three workers have sent theirs, so they are in flight together by
  construction, not by timing.
- Concurrent audit writers still form one linear chain that ``verify()`` accepts.
- Workers starting together on a fresh database agree on the hub secrets (the first sync
  of each creates the buyer-matching pepper if it is missing).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors._sandbox import SandboxServer
from simpul import audit, keys
from simpul.channels import get_channel
from simpul.db import Database
from simpul.engine import RunSummary, SyncRequest
from simpul.locks import AccountLock, SyncAlreadyRunning
from simpul.model import SyncCursor
from simpul.runtime import Hub
from simpul.vault import KeyRing, Vault
from tests.faults.harness import NIGHTLY, RunRecord, add_account, assert_synced, cli_env, make_hub, run_records, spawn_sync, start_sandbox
from tests.oracle import stored_state

pytestmark = pytest.mark.postgres

GUARD = 60  # seconds a held request waits at most: only reached when the code under test is broken


class Gate:
    """Holds the first API request a sandbox receives until ``release`` is set: the sync
    that sent it is then in flight, holding its account's lock, as long as the test wants.
    Sandbox admin calls pass. ``timed_out`` says the guard, not the test, let it go."""

    def __init__(self, server: SandboxServer) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        self.timed_out = False
        self._claimed = threading.Lock()
        self._used = False
        forward = server.dispatch

        def dispatch(request: Any) -> Any:
            if not request.path.startswith("/_sandbox/") and self._first():
                self.entered.set()
                self.timed_out = not self.release.wait(GUARD)
            return forward(request)

        server.dispatch = dispatch  # type: ignore[method-assign]

    def _first(self) -> bool:
        with self._claimed:
            first, self._used = not self._used, True
            return first


def hold_until_all_arrive(servers: list[SandboxServer]) -> threading.Barrier:
    """Each server holds its first API request until every server has received one."""
    barrier = threading.Barrier(len(servers), timeout=GUARD)
    for server in servers:
        forward, claimed = server.dispatch, threading.Event()

        def dispatch(request: Any, forward: Any = forward, claimed: threading.Event = claimed) -> Any:
            if not request.path.startswith("/_sandbox/") and not claimed.is_set():
                claimed.set()
                try:
                    barrier.wait()
                except threading.BrokenBarrierError:
                    pass  # reported by the test through barrier.broken
            return forward(request)

        server.dispatch = dispatch  # type: ignore[method-assign]
    return barrier


def in_threads(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run the jobs on their own threads, released together by a barrier; their results
    (or the exception each raised) in order."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def work(i: int) -> None:
        barrier.wait()
        try:
            results[i] = jobs[i]()
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def locked_sync(hub: Hub, account: str) -> RunSummary | str:
    """What the CLI and the flows do per account: take the lock, run, or report a skip."""
    try:
        with AccountLock(hub.db, account):
            return hub.engine.run(SyncRequest(account))
    except SyncAlreadyRunning as exc:
        return f"skipped: {exc}"


def worker_hub(db: Database, keyring: KeyRing) -> Hub:
    """A worker of its own: its own connection pool to the same database."""
    return make_hub(Database(db.url), keyring, actor=f"worker-{threading.get_ident()}")


def assert_never_two_at_once(runs: list[RunRecord]) -> None:
    spans = sorted((r.started_at, r.finished_at) for r in runs)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end is not None and end <= start, f"two runs of one account overlapped: {spans}"


@pytest.fixture
def shop() -> Iterator[SandboxServer]:
    server = start_sandbox("shopee", orders=300, seed=8)
    yield server
    server.stop()


def test_two_runs_of_one_account_started_together_one_is_refused(pg_db, keyring, shop) -> None:  # noqa: ANN001
    setup = make_hub(pg_db, keyring)
    account = add_account(setup, shop, "same-shop")
    hubs = [worker_hub(pg_db, keyring) for _ in range(2)]
    gate = Gate(shop)  # whoever takes the lock waits at its first request...

    def attempt(hub: Hub) -> RunSummary | str:
        outcome = locked_sync(hub, account)
        if isinstance(outcome, str):
            gate.release.set()  # ...until the other one has been refused
        return outcome

    outcomes = in_threads([lambda h=h: attempt(h) for h in hubs])

    done = [o for o in outcomes if isinstance(o, RunSummary)]
    skipped = [o for o in outcomes if isinstance(o, str)]
    assert len(done) == 1 and done[0].status == "completed", outcomes
    assert len(skipped) == 1 and "already running" in skipped[0]
    assert gate.entered.is_set() and not gate.timed_out
    assert [r.status for r in run_records(pg_db, account)] == ["completed"]
    assert_synced(pg_db, account, shop)
    for hub in hubs:
        hub.close()


def test_two_sync_processes_of_one_account_never_interleave(pg_db, keyring, shop, tmp_path: Path) -> None:  # noqa: ANN001
    """The real entry point: two `simpul sync` processes, a PostgreSQL advisory lock."""
    env = cli_env(tmp_path, pg_db.url)
    keyring_file = KeyRing.create(tmp_path / "keyring.json")  # the processes' key ring
    setup = make_hub(pg_db, keyring_file)
    account = add_account(setup, shop, "same-shop")

    gate = Gate(shop)

    first = spawn_sync(env, account)
    assert gate.entered.wait(GUARD), "the first sync never reached the channel"  # it holds the lock now
    second = spawn_sync(env, account)
    second_out, second_err = second.communicate(timeout=180)
    gate.release.set()
    first_out, first_err = first.communicate(timeout=180)

    rows = []
    for proc, out, err in ((first, first_out, first_err), (second, second_out, second_err)):
        assert proc.returncode == 0, err.decode()[-2000:]
        [row] = json.loads(out)
        rows.append(row)
    assert [r["status"] for r in rows] == ["completed", "skipped"], rows
    assert "already running" in rows[1]["error"]
    assert not gate.timed_out
    runs = run_records(pg_db, account)
    assert [r.status for r in runs] == ["completed"]
    assert_never_two_at_once(runs)
    assert_synced(pg_db, account, shop)
    with pg_db.connect() as conn:
        cursors = SyncCursor.__table__
        assert sorted(conn.execute(sa.select(cursors.c.stream).where(cursors.c.account_id == account)).scalars()) == ["orders", "returns", "settlements"]  # one per stream


def test_workers_syncing_different_accounts_keep_them_apart(pg_db, keyring) -> None:  # noqa: ANN001
    servers = {
        "woo-a": start_sandbox("woocommerce", orders=300, seed=1),
        "woo-b": start_sandbox("woocommerce", orders=300, seed=2),  # the same order ids, other orders
        "shopee-c": start_sandbox("shopee", orders=300, seed=3),
    }
    try:
        setup = make_hub(pg_db, keyring)
        for account, server in servers.items():
            server.faults.update({"page_size": 20})  # many commits, interleaved between the workers
            add_account(setup, server, account)
        hubs = {account: worker_hub(pg_db, keyring) for account in servers}
        together = hold_until_all_arrive(list(servers.values()))

        outcomes = in_threads([lambda a=a: locked_sync(hubs[a], a) for a in servers])

        assert not together.broken, "a worker never reached its shop while the others waited"
        assert all(isinstance(o, RunSummary) and o.status == "completed" for o in outcomes), outcomes
        runs = {account: run_records(pg_db, account) for account in servers}
        assert all(len(r) == 1 for r in runs.values()), runs
        spans = [(r[0].started_at, r[0].finished_at) for r in runs.values()]
        assert max(s for s, _ in spans) < min(e for _, e in spans), "the workers did not run at the same time"
        for account, server in servers.items():
            assert_synced(pg_db, account, server)
        assert set(stored_state(pg_db, "woo-a")) & set(stored_state(pg_db, "woo-b")), "no shared ids: mixing would go unseen"
        with pg_db.connect() as conn:
            table = SyncCursor.__table__
            cursors = conn.execute(sa.select(table.c.account_id, table.c.stream)).all()
            streams = {a: [s.kind for s in get_channel(server.app.channel).streams] for a, server in servers.items()}
            assert sorted(cursors) == sorted((a, s) for a in servers for s in streams[a])  # one per account and stream, none shared
        for hub in hubs.values():
            hub.close()
    finally:
        for server in servers.values():
            server.stop()


def test_concurrent_audit_writers_form_one_linear_chain(pg_db) -> None:  # noqa: ANN001
    writers, entries = (20, 100) if NIGHTLY else (8, 25)
    databases = [Database(pg_db.url) for _ in range(writers)]

    def write(db: Database, who: int) -> None:
        for n in range(entries):
            with db.begin() as conn:
                audit.append(conn, [audit.Event(action="test.write", actor=f"writer-{who}", summary={"n": n})])

    outcomes = in_threads([lambda db=db, i=i: write(db, i) for i, db in enumerate(databases)])
    assert outcomes == [None] * writers
    with pg_db.connect() as conn:
        verdict = audit.verify(conn)
        written = audit.entries(conn, action_prefix="test.")
    assert verdict.ok, str(verdict)
    # One chain without gaps or doubled sequence numbers, every entry of every writer in it
    # once, and each writer's entries in the order it committed them.
    assert [e["seq"] for e in written] == list(range(1, writers * entries + 1))
    by_writer: dict[str, list[int]] = {}
    for e in written:
        by_writer.setdefault(e["actor"], []).append(json.loads(e["summary"])["n"])
    assert by_writer == {f"writer-{w}": list(range(entries)) for w in range(writers)}
    for db in databases:
        db.dispose()


def test_workers_starting_together_agree_on_the_hub_secrets(pg_db, keyring) -> None:  # noqa: ANN001
    """Regression: the pepper was created check-then-insert, so on PostgreSQL all but one
    of the workers starting together failed their first sync with a unique violation."""
    databases = [Database(pg_db.url) for _ in range(6)]
    vault = Vault(keyring)

    secrets = in_threads([lambda db=db: keys.hub_secret(db, vault, keys.PII_PEPPER, create=True) for db in databases])

    assert all(isinstance(s, bytes) for s in secrets), secrets
    assert len(set(secrets)) == 1
    for db in databases:
        db.dispose()
