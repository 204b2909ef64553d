"""The connector contract suite, generated per channel (Singer's ``get_tap_test_class``
idea): every connector proves the same guarantees against its own sandbox.

Usage, in ``tests/contract/test_<channel>.py``::

    from tests.contract.suite import make_contract_tests
    globals().update(make_contract_tests("shopee"))

Each test starts the channel's sandbox in this process with a frozen data clock, so the
source holds still unless the test changes it through the sandbox's admin endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from connectors._http.errors import CredentialError
from connectors._sandbox import SandboxServer
from connectors._http.secret import reveal
from connectors.contract import OrderSource, RefreshableSource, Window
from connectors import spec as specs
from mappings.protocols import PROTOCOLS
from simpul import audit, quarantine, store
from simpul.channels import get_channel
from simpul.engine import RESYNC, SyncRequest
from tests.oracle import assert_converged, source_state, stored_state

ORDERS = 260  # more than two list pages of 100


def make_contract_tests(channel: str) -> dict[str, Callable[..., Any]]:
    spec = get_channel(channel)
    mapping = spec.mapping()

    @pytest.fixture
    def sandbox() -> Iterator[SandboxServer]:
        app = spec.sandbox_class()(orders=ORDERS, seed=5)
        app.clock.freeze(app.clock.now())
        with SandboxServer(app, seed=5) as server:
            yield server

    @pytest.fixture
    def account(hub, sandbox) -> str:  # noqa: ANN001
        hub.accounts.add(f"c-{channel}", channel, "Contract", sandbox.url, sandbox.app.demo_credentials(), history_days=60)
        return f"c-{channel}"

    def admin(server: SandboxServer, action: str, body: dict[str, Any]) -> Any:
        response = requests.post(f"{server.url}/_sandbox/{action}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def created_orders(hub) -> int:  # noqa: ANN001
        with hub.db.connect() as conn:
            assert audit.verify(conn).ok
            return len(audit.entries(conn, action_prefix="order.created"))

    def ids_of(server: SandboxServer) -> list[str]:
        return [mapping.external_id(raw) for raw in server.app.dump_orders()]

    def test_connector_meets_the_protocol(sandbox) -> None:  # noqa: ANN001
        cls = spec.connector_class()
        assert cls.channel == channel
        assert cls.lookback > timedelta(0)
        source = cls(sandbox.url, sandbox.app.demo_credentials())
        assert isinstance(source, OrderSource)
        source.check()

    def test_the_spec_describes_what_the_connector_does(sandbox) -> None:  # noqa: ANN001
        for stream in spec.streams:  # every declared stream's mapping meets its kind's protocol
            assert isinstance(stream.mapping_module(), PROTOCOLS[stream.kind]), stream
        credentials = sandbox.app.demo_credentials()
        assert set(spec.credentials.required) <= set(credentials) <= set(spec.credential_fields)
        batch = spec.stream(specs.ORDERS).batch  # the declared batch is one read of the channel
        wanted = ids_of(sandbox)[:batch]
        assert len(wanted) == batch
        pages = list(spec.connector_class()(sandbox.url, credentials).orders_by_id(wanted))
        assert len(pages) == 1 and not pages[0].missing
        assert sorted(mapping.external_id(r) for r in pages[0].records) == sorted(wanted)

    def test_a_refreshed_token_is_stored_before_it_is_used_and_the_next_sync_uses_it(hub, sandbox, account) -> None:  # noqa: ANN001
        """For a channel whose tokens expire (``RefreshableSource``): the engine's connector
        hands the new set to the account's store, and a sync afterwards works with it."""
        before = {k: reveal(v) for k, v in hub.accounts.credentials(account).items()}
        source = hub.engine.connector(hub.accounts.get(account))
        assert isinstance(source, RefreshableSource)
        assert source.refresh(force=True) is True
        after = {k: reveal(v) for k, v in hub.accounts.credentials(account).items()}
        assert after["access_token"] != before["access_token"]  # stored, not only held in memory
        assert set(after) >= set(spec.credentials.required)
        run = hub.engine.run(SyncRequest(account))
        assert run.status == "completed" and created_orders(hub) == ORDERS

    if not issubclass(spec.connector_class(), RefreshableSource):  # static keys: nothing to refresh
        del test_a_refreshed_token_is_stored_before_it_is_used_and_the_next_sync_uses_it

    def test_full_sync_equals_the_source_and_a_rerun_writes_nothing(hub, sandbox, account) -> None:  # noqa: ANN001
        first = hub.engine.run(SyncRequest(account))
        assert first.status == "completed"
        assert_converged(hub.db, account, mapping, sandbox.app.dump_orders())
        second = hub.engine.run(SyncRequest(account))
        assert second.counts.written == 0 and second.counts.quarantined == 0
        assert created_orders(hub) == ORDERS  # every order once (a run's counts include a returns stream's too)

    def test_ties_across_page_and_run_boundaries_land_once(hub, sandbox, account) -> None:  # noqa: ANN001
        hub.engine.run(SyncRequest(account))
        with hub.db.connect() as conn:
            cursor = store.load_cursor(conn, account)
        tie = int(cursor.timestamp()) - 1  # inside the next run's lookback, a second before the bookmark
        ids = ids_of(sandbox)[:150]  # more than one list page shares one update time
        admin(sandbox, "mutate", {"touch": ids, "at": tie})
        run = hub.engine.run(SyncRequest(account))
        assert run.counts.changed == len(ids)
        assert_converged(hub.db, account, mapping, sandbox.app.dump_orders())

    def test_an_unmappable_payload_is_quarantined_and_the_rest_of_the_page_lands(hub, sandbox, account) -> None:  # noqa: ANN001
        hub.engine.run(SyncRequest(account))
        victim, *others = ids_of(sandbox)[:6]
        admin(sandbox, "mutate", {"touch": others})
        admin(sandbox, "corrupt", {"id": victim})  # the sandbox breaks one field the mapping needs
        run = hub.engine.run(SyncRequest(account))
        assert (run.status, run.counts.changed, run.counts.quarantined) == ("completed", len(others), 1)
        good = [raw for raw in sandbox.app.dump_orders() if mapping.external_id(raw) != victim]
        stored = stored_state(hub.db, account)
        assert stored.pop(victim)  # the victim keeps its last good version
        assert stored == source_state(mapping, good)  # every other order is current
        with hub.db.connect() as conn:
            [row] = store.open_quarantine(conn, account)
        assert row["external_id"] == victim and row["reason"]
        result = quarantine.replay(hub.db, account_id=account, actor="test")
        assert (result.replayed, result.still_failing) == (0, 1)  # still broken: kept, one more attempt
        with hub.db.connect() as conn:
            [again] = store.open_quarantine(conn, account)
        assert again["attempts"] == 2

    def test_transient_faults_are_retried(hub, sandbox, account) -> None:  # noqa: ANN001
        sandbox.faults.update({"fail_next": [429, 503, "reset", "truncate"], "retry_after": "0"})
        run = hub.engine.run(SyncRequest(account))
        assert run.status == "completed"
        assert sandbox.stats.snapshot()["by_status"].get(429) == 1
        assert_converged(hub.db, account, mapping, sandbox.app.dump_orders())

    def test_refused_credentials_stop_without_retry_or_cursor(hub, sandbox) -> None:  # noqa: ANN001
        bad = dict(sandbox.app.demo_credentials())
        secret_field = spec.secret_fields[0]
        bad[secret_field] = "canary-wrong-secret-0042"
        hub.accounts.add(f"bad-{channel}", channel, "Bad", sandbox.url, bad)
        with pytest.raises(CredentialError) as info:
            hub.engine.run(SyncRequest(f"bad-{channel}"))
        assert "canary-wrong-secret-0042" not in str(info.value)
        assert sandbox.stats.requests <= 2  # no retry storm
        assert hub.accounts.get(f"bad-{channel}").status == "credential_error"
        with hub.db.connect() as conn:
            assert store.load_cursor(conn, f"bad-{channel}") is None

    def test_resync_by_order_number(hub, sandbox, account) -> None:  # noqa: ANN001
        wanted = ids_of(sandbox)[:3]
        run = hub.engine.run(SyncRequest(account, job=RESYNC, order_ids=(*wanted, "999999999")))
        assert run.counts.new == 3 and run.missing == ["999999999"]

    def test_windows_cover_exactly_once(sandbox) -> None:  # noqa: ANN001
        source = spec.connector_class()(sandbox.url, sandbox.app.demo_credentials())
        until = datetime.fromtimestamp(sandbox.app.clock.now(), timezone.utc) + timedelta(seconds=1)
        whole = Window(until - timedelta(days=60), until)
        seen: list[str] = []
        for window in whole.split(spec.connector_class().max_window):
            for page in source.order_pages(window):
                seen.extend(mapping.external_id(r) for r in page.records)
        assert len(seen) == len(set(seen)) == ORDERS

    return {name: value for name, value in locals().items() if name.startswith("test_") or name in ("sandbox", "account")}
