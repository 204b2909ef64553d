"""The ``simpul-database`` global concurrency limit on the session's real Prefect server.

A sync run takes two slots per account in flight, in one acquisition, with
``strict=True``: without the limit it refuses to run (instead of silently limiting
nothing), and with a limit smaller than it asks for it shrinks to fit (the server
refuses an ``occupy`` above the limit outright).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator

import pytest
from prefect.client.orchestration import get_client

import tests.fakes as fakes
from flows._limits import CONNECTIONS_PER_ACCOUNT, DATABASE_LIMIT, DEFAULT_DATABASE_SLOTS, LimitMissing, database_slots, ensure_database_limit, fit
from flows.sync_orders import sync_all
from simpul.channels import CHANNELS
from simpul.runtime import open_hub
from tests.conftest import FAKE

pytestmark = pytest.mark.prefect


def active_slots() -> int:
    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name(DATABASE_LIMIT).active_slots


@pytest.fixture
def limit(prefect_api: None) -> Iterator[None]:
    """The session server's limit, put back as ``simpul prefect setup`` made it afterwards."""
    yield
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(DATABASE_LIMIT, DEFAULT_DATABASE_SLOTS)


def test_a_run_holds_two_slots_per_account_in_flight_and_gives_them_back(limit: None) -> None:
    with database_slots(3) as at_once:
        assert at_once == 3 and active_slots() == 3 * CONNECTIONS_PER_ACCOUNT
    assert active_slots() == 0


def test_a_limit_smaller_than_asked_shrinks_the_concurrency_instead_of_waiting_forever(limit: None) -> None:
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(DATABASE_LIMIT, 5)  # room for two accounts
    with database_slots(8) as at_once:
        assert at_once == 2 and active_slots() == 4
    assert fit(8, 80) == 8 and fit(8, 9) == 4
    with pytest.raises(LimitMissing, match="one account needs 2"):
        fit(1, 1)


def test_without_the_limit_a_sync_refuses_to_run_and_setup_creates_it(limit: None, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SIMPUL_DATABASE_URL", f"sqlite:///{tmp_path / 'simpul.db'}")
    monkeypatch.setenv("SIMPUL_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())
    monkeypatch.setitem(CHANNELS, "fake", FAKE)
    monkeypatch.setattr(fakes, "SOURCE", fakes.FakeSource())
    hub = open_hub(actor="test")
    hub.accounts.add("shop-a", "fake", "shop-a", "http://fake.invalid", {"token": "good"})
    hub.close()
    with get_client(sync_client=True) as client:
        client.delete_global_concurrency_limit_by_name(DATABASE_LIMIT)

    state = sync_all(return_state=True)

    assert state.is_failed() and "simpul prefect setup" in state.message
    assert fakes.SOURCE.pages_served == 0  # nothing ran unlimited
    assert ensure_database_limit() == (DEFAULT_DATABASE_SLOTS, True)  # what setup does
    assert ensure_database_limit() == (DEFAULT_DATABASE_SLOTS, False)  # and again: nothing changes
    assert sync_all(return_state=True).is_completed()
