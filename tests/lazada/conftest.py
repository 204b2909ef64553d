"""A Lazada sandbox on a frozen data clock, served in this process, and its connector."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors._http import RetryConfig
from connectors._sandbox import SandboxClock, SandboxServer
from connectors.lazada.client import LazadaConnector
from connectors.lazada.sandbox import LazadaSandbox
from tests.lazada.support import FROZEN, ORDERS


@pytest.fixture
def app() -> LazadaSandbox:
    return LazadaSandbox(orders=ORDERS, seed=3, clock=SandboxClock(frozen_at=FROZEN))


@pytest.fixture
def server(app: LazadaSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(app, seed=3) as srv:
        yield srv


@pytest.fixture
def connector(server: SandboxServer) -> LazadaConnector:
    return LazadaConnector(server.url, server.app.demo_credentials(), retry=RetryConfig(attempts=4, base_delay=0.01))
