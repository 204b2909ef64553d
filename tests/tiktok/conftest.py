"""A TikTok sandbox on a frozen data clock, served in this process, and its connector."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors._http import RetryConfig
from connectors._sandbox import SandboxClock, SandboxServer
from connectors.tiktok.client import TikTokConnector
from connectors.tiktok.sandbox import TikTokSandbox
from tests.tiktok.support import FROZEN, ORDERS


@pytest.fixture
def app() -> TikTokSandbox:
    return TikTokSandbox(orders=ORDERS, seed=3, clock=SandboxClock(frozen_at=FROZEN))


@pytest.fixture
def server(app: TikTokSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(app, seed=3) as srv:
        yield srv


@pytest.fixture
def connector(server: SandboxServer) -> TikTokConnector:
    return TikTokConnector(server.url, server.app.demo_credentials(), retry=RetryConfig(attempts=4, base_delay=0.01))
