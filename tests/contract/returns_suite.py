"""The returns contract suite, generated per channel with a ``returns`` stream (the orders
suite's twin, ``tests/contract/suite.py``): every connector proves the same guarantees
for its returns, refunds and cancellations against its own sandbox, through the real
engine (the returns windows of an incremental run).

Usage, in ``tests/contract/test_<channel>.py``::

    from tests.contract.returns_suite import make_returns_contract_tests
    globals().update(make_returns_contract_tests("shopee"))

What the sandbox offers for it (``connectors._sandbox.SandboxApp``): seeded returns of
the seeded orders (at least a quarter as many), ``dump_returns()`` (every return now, as
the connector's ``return_pages`` yields it) and the ``returns`` admin action (``touch``,
``advance``, ``corrupt``). What the store must hold is computed by mapping the sandbox's
own records (``tests.oracle.returns_source_state``), never read back from the code under test.

The suite runs on SQLite: what it proves is the channel's (its connector, sandbox and
mapping); the store's returns path runs on both databases in ``tests/test_returns_stream.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from connectors._sandbox import SandboxServer
from connectors.contract import ReturnSource
from mappings.protocols import ReturnMapping
from simpul import audit, quarantine, store
from simpul.accounts import Accounts
from simpul.canonical import ReturnReason
from simpul.channels import RETURNS, get_channel
from simpul.engine import Engine, SyncRequest
from simpul.runtime import Hub
from simpul.vault import Vault
from tests.conftest import sqlite_database
from tests.faults.harness import QUICK_RETRY
from tests.oracle import assert_converged, assert_returns_converged, returns_source_state, returns_stored_state

ORDERS = 260


def make_returns_contract_tests(channel: str) -> dict[str, Callable[..., Any]]:
    spec = get_channel(channel)
    orders_mapping, mapping = spec.mapping(), spec.mapping(RETURNS)

    @pytest.fixture
    def returns_sandbox() -> Iterator[SandboxServer]:
        app = spec.sandbox_class()(orders=ORDERS, seed=7)
        app.clock.freeze(app.clock.now())
        with SandboxServer(app, seed=7) as server:
            yield server

    @pytest.fixture
    def returns_hub(tmp_path, keyring) -> Iterator[Hub]:  # noqa: ANN001
        db = sqlite_database(tmp_path)
        accounts = Accounts(db, Vault(keyring), actor="test")
        yield Hub(db, accounts.vault, accounts, Engine(db, accounts, actor="test", rate_limits={"*": None}))
        db.dispose()

    @pytest.fixture
    def returns_account(returns_hub, returns_sandbox) -> str:  # noqa: ANN001
        hub = returns_hub
        hub.accounts.add(f"r-{channel}", channel, "Returns", returns_sandbox.url, returns_sandbox.app.demo_credentials(), history_days=60)
        return f"r-{channel}"

    def admin(server: SandboxServer, body: dict[str, Any]) -> Any:
        response = requests.post(f"{server.url}/_sandbox/returns", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def return_ids(server: SandboxServer) -> list[str]:
        return sorted(mapping.external_id(raw) for raw in server.app.dump_returns())

    def audited(hub, action: str) -> list[dict[str, Any]]:  # noqa: ANN001
        with hub.db.connect() as conn:
            assert audit.verify(conn).ok
            return [{**e, "summary": json.loads(e["summary"])} for e in audit.entries(conn, action_prefix=action)]

    def converged(hub, sandbox, account) -> None:  # noqa: ANN001
        assert_converged(hub.db, account, orders_mapping, sandbox.app.dump_orders())
        assert_returns_converged(hub.db, account, mapping, sandbox.app.dump_returns())

    def test_the_returns_stream_meets_the_contract(returns_sandbox) -> None:  # noqa: ANN001
        assert isinstance(spec.connector_class()(returns_sandbox.url, returns_sandbox.app.demo_credentials()), ReturnSource)
        assert isinstance(mapping, ReturnMapping)
        assert mapping.REASONS and all(isinstance(v, ReturnReason) for v in mapping.REASONS.values())
        records = returns_sandbox.app.dump_returns()
        assert len(records) >= ORDERS // 4
        orders = {orders_mapping.external_id(raw) for raw in returns_sandbox.app.dump_orders()}
        mapped = [mapping.map_return(raw) for raw in records]
        assert {r.order_external_id for r in mapped} <= orders  # every return is of a seeded order
        assert len({(r.ret.type, r.ret.status) for r in mapped}) > 1  # not one kind of return only
        assert all(r.ret.updated_at is not None and r.ret.raw_status for r in mapped)

    def test_a_sync_lands_every_return_once_and_a_rerun_writes_nothing(returns_hub, returns_sandbox, returns_account) -> None:  # noqa: ANN001
        hub = returns_hub
        first = hub.engine.run(SyncRequest(returns_account))
        assert first.status == "completed"
        converged(returns_hub, returns_sandbox, returns_account)
        assert len(audited(hub, "return.created")) == len(returns_sandbox.app.dump_returns())
        second = hub.engine.run(SyncRequest(returns_account))
        assert second.counts.written == second.returns.written == 0 and second.returns.quarantined == 0
        assert len(audited(hub, "return.")) == len(returns_sandbox.app.dump_returns())

    def test_returns_move_through_their_statuses_and_each_change_is_audited(returns_hub, returns_sandbox, returns_account) -> None:  # noqa: ANN001
        hub = returns_hub
        hub.engine.run(SyncRequest(returns_account))
        before = returns_source_state(mapping, returns_sandbox.app.dump_returns())
        moved = return_ids(returns_sandbox)[:5]
        admin(returns_sandbox, {"advance": moved})
        run = hub.engine.run(SyncRequest(returns_account))
        assert run.status == "completed"
        converged(returns_hub, returns_sandbox, returns_account)
        updates = audited(hub, "return.updated")
        assert sorted(e["entity_key"].rpartition("/")[2] for e in updates) == sorted(moved)
        after = returns_source_state(mapping, returns_sandbox.app.dump_returns())
        changed = {k[1] for k in after if after[k][1] != before[k][1]}
        assert changed <= set(moved)
        for e in updates:  # the audit tells each status change as it happened
            assert e["summary"]["before"]["status"] == before[_key(before, e)][1]
            assert e["summary"]["after"]["status"] == after[_key(after, e)][1]

    def test_return_ties_across_page_and_run_boundaries_land_once(returns_hub, returns_sandbox, returns_account) -> None:  # noqa: ANN001
        hub = returns_hub
        hub.engine.run(SyncRequest(returns_account))
        with hub.db.connect() as conn:
            cursor = store.load_cursor(conn, returns_account, stream=RETURNS)
        tie = int(cursor.timestamp()) - 1  # inside the next run's lookback, a second before the bookmark
        ids = return_ids(returns_sandbox)
        admin(returns_sandbox, {"touch": ids, "at": tie})  # every return shares one update time: more than a page
        hub.engine.run(SyncRequest(returns_account))
        converged(returns_hub, returns_sandbox, returns_account)
        assert len(audited(hub, "return.updated")) == len(ids)

    def test_a_bad_return_is_quarantined_and_the_rest_lands(returns_hub, returns_sandbox, returns_account) -> None:  # noqa: ANN001
        hub = returns_hub
        hub.engine.run(SyncRequest(returns_account))
        victim, *others = return_ids(returns_sandbox)[:6]
        kept = returns_stored_state(hub.db, returns_account)
        admin(returns_sandbox, {"touch": others})
        admin(returns_sandbox, {"corrupt": victim})
        run = hub.engine.run(SyncRequest(returns_account))
        assert run.status == "completed" and (run.returns.quarantined, run.counts.quarantined) == (1, 0)
        good = [raw for raw in returns_sandbox.app.dump_returns() if mapping.external_id(raw) != victim]
        stored = returns_stored_state(hub.db, returns_account)
        [victim_key] = [k for k in stored if k[1] == victim]
        assert stored.pop(victim_key) == kept[victim_key]  # the victim keeps its last good version
        assert stored == returns_source_state(mapping, good)
        with hub.db.connect() as conn:
            [row] = store.open_quarantine(conn, returns_account)
        assert (row["stream"], row["external_id"]) == (RETURNS, victim) and row["reason"]
        result = quarantine.replay(hub.db, account_id=returns_account, actor="test")
        assert (result.replayed, result.still_failing) == (0, 1)  # still broken: kept, one more attempt

    def test_transient_faults_in_either_walk_are_retried(returns_hub, returns_sandbox, returns_account) -> None:  # noqa: ANN001
        hub = returns_hub
        hub.engine.connector_options["retry"] = QUICK_RETRY  # the retries' count matters here, not their pace
        admin(returns_sandbox, {"advance": return_ids(returns_sandbox)[:10]})
        returns_sandbox.faults.update({"error_rate": 0.1, "rate_limit_rate": 0.1, "retry_after": "0"})
        run = hub.engine.run(SyncRequest(returns_account))
        assert run.status == "completed"
        by_status = returns_sandbox.stats.snapshot()["by_status"]
        assert by_status.get(429) and sum(n for s, n in by_status.items() if int(s) >= 500)
        converged(returns_hub, returns_sandbox, returns_account)

    def test_an_order_sync_keeps_the_returns_the_stream_wrote(returns_hub, returns_sandbox, returns_account) -> None:  # noqa: ANN001
        hub = returns_hub
        hub.engine.run(SyncRequest(returns_account))
        kept = returns_stored_state(hub.db, returns_account)
        orders = sorted({order for order, _ in kept})
        requests.post(f"{returns_sandbox.url}/_sandbox/mutate", json={"touch": orders}, timeout=10).raise_for_status()
        run = hub.engine.run(SyncRequest(returns_account))
        assert run.counts.changed >= len(orders)  # the orders were replaced, children and all
        assert returns_stored_state(hub.db, returns_account) == kept

    return {name: value for name, value in locals().items() if name.startswith("test_") or name in ("returns_sandbox", "returns_account", "returns_hub")}


def _key(state: dict[tuple[str, str], Any], event: dict[str, Any]) -> tuple[str, str]:
    order, _, return_id = event["entity_key"].rpartition("/")
    return (order, return_id)
