"""Fixtures of the fault harness (helpers that are not fixtures live in ``harness.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors._http.client import HttpClient
from connectors._sandbox import SandboxServer
from simpul.db import Database
from simpul.runtime import Hub
from simpul.vault import KeyRing
from tests.faults import harness


@pytest.fixture
def faults_hub(sqlite_db: Database, keyring: KeyRing) -> Hub:
    """A hub on a fresh SQLite database whose connectors retry quickly."""
    return harness.make_hub(sqlite_db, keyring)


@pytest.fixture(params=harness.CHANNELS)
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """Each channel's sandbox with 260 orders (several list pages), frozen data clock."""
    server = harness.start_sandbox(request.param, orders=260, seed=5)
    yield server
    server.stop()


@pytest.fixture
def short_read_timeout(monkeypatch: pytest.MonkeyPatch) -> float:
    """Clients built in this test give up on a silent server after ``READ_TIMEOUT``.

    Connectors take the HTTP kit's default timeouts (5 s connect, 30 s read); waiting out
    30 s per stalled reply would dominate the suite, so the default is lowered here.
    """
    defaults = HttpClient.__init__.__kwdefaults__
    monkeypatch.setitem(defaults, "timeout", (5.0, harness.READ_TIMEOUT))
    return harness.READ_TIMEOUT
