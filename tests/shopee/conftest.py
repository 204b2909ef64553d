"""A Shopee sandbox on a frozen data clock, served in this process, and its connector."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors._http import RetryConfig
from connectors._sandbox import SandboxClock, SandboxServer
from connectors.shopee.client import ShopeeConnector
from connectors.shopee.sandbox import ShopeeSandbox
from tests.shopee.support import FROZEN, ORDERS


@pytest.fixture
def app() -> ShopeeSandbox:
    return ShopeeSandbox(orders=ORDERS, seed=3, clock=SandboxClock(frozen_at=FROZEN))


@pytest.fixture
def server(app: ShopeeSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(app, seed=3) as srv:
        yield srv


@pytest.fixture
def connector(server: SandboxServer) -> ShopeeConnector:
    return ShopeeConnector(server.url, server.app.demo_credentials(), retry=RetryConfig(attempts=4, base_delay=0.01))
