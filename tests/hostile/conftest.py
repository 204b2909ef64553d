"""Fixtures of the hostile-channel suite (see ``tests/hostile/README.md``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors._http import ReplyLimits
from connectors._sandbox import SandboxServer
from simpul.db import Database
from simpul.runtime import Hub
from simpul.vault import KeyRing
from tests.hostile import support


@pytest.fixture
def hostile_hub(db: Database, keyring: KeyRing) -> Hub:
    """A hub on SQLite and on PostgreSQL whose connectors retry quickly and read replies
    within small limits (``support.REPLY``)."""
    return support.make_hub(db, keyring)


@pytest.fixture
def sqlite_hub(sqlite_db: Database, keyring: KeyRing) -> Hub:
    return support.make_hub(sqlite_db, keyring)


@pytest.fixture(params=["shopee", "woocommerce", "lazada", "tiktok", "blibli"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    server = support.start_sandbox(request.param, orders=support.ORDERS)
    yield server
    server.stop()


@pytest.fixture
def reply_limits() -> ReplyLimits:
    return support.REPLY
