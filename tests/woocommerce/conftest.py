"""A WooCommerce sandbox on a frozen data clock, served in this process, and its connector."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors._http import RetryConfig
from connectors._sandbox import SandboxClock, SandboxServer
from connectors.woocommerce.client import WooCommerceConnector
from connectors.woocommerce.sandbox import WooCommerceSandbox
from tests.woocommerce.support import FROZEN, ORDERS


@pytest.fixture
def app() -> WooCommerceSandbox:
    return WooCommerceSandbox(orders=ORDERS, seed=3, clock=SandboxClock(frozen_at=FROZEN))


@pytest.fixture
def server(app: WooCommerceSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(app, seed=3) as srv:
        srv.faults.update({"retry_after": None})
        yield srv


@pytest.fixture
def connector(server: SandboxServer) -> WooCommerceConnector:
    return WooCommerceConnector(server.url, server.app.demo_credentials(), retry=RetryConfig(attempts=4, base_delay=0.01))
