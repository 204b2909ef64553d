"""Cassettes and fixtures hold no secret and no buyer data (S-5), and still replay offline."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import vcr

from connectors._http import RetryConfig
from connectors._http.redaction import remember
from connectors._sandbox import SandboxClock, SandboxServer
from connectors.contract import Window
from connectors.shopee.client import ShopeeConnector
from connectors.shopee.sandbox import ShopeeSandbox
from connectors.woocommerce.client import WooCommerceConnector
from connectors.woocommerce.sandbox import WooCommerceSandbox
from tests.cassettes import leaks, recorder

ROOT = Path(__file__).resolve().parent
FIXTURES = sorted(p for ext in ("json", "yaml", "yml") for p in ROOT.rglob(f"*.{ext}"))
# The sandboxes' data stands still at FROZEN (orders cannot move past the window's end
# while the suite runs); the window covers their whole 45-day history.
FROZEN = 1_750_000_000
WINDOW = Window(datetime.fromtimestamp(FROZEN - 60 * 86400, timezone.utc), datetime.fromtimestamp(FROZEN + 1, timezone.utc))


def frozen() -> SandboxClock:
    return SandboxClock(frozen_at=FROZEN)


@pytest.mark.parametrize("path", FIXTURES, ids=[str(p.relative_to(ROOT)) for p in FIXTURES])
def test_committed_fixtures_and_cassettes_leak_nothing(path: Path) -> None:
    assert leaks(path.read_text()) == []


def _walk_woocommerce(server: SandboxServer) -> int:
    connector = WooCommerceConnector(server.url, server.app.demo_credentials(), retry=RetryConfig(attempts=2, base_delay=0.01))
    return sum(len(p.records) for p in connector.order_pages(WINDOW))


def test_a_recorded_session_holds_no_secret_or_buyer_data_and_replays_offline(tmp_path: Path) -> None:
    woo, shopee = WooCommerceSandbox(orders=30, seed=2, clock=frozen()), ShopeeSandbox(orders=30, seed=2, clock=frozen())
    with SandboxServer(woo) as woo_server, SandboxServer(shopee) as shopee_server:
        secrets = [*woo.demo_credentials().values(), *(str(v) for k, v in shopee.demo_credentials().items() if k.endswith(("key", "token")))]
        remember(secrets)
        with recorder(tmp_path, hosts=[woo_server.url, shopee_server.url]).use_cassette("session.yaml"):
            recorded = _walk_woocommerce(woo_server)
            connector = ShopeeConnector(shopee_server.url, shopee.demo_credentials())
            assert connector.refresh(force=True)  # a token reply: both new tokens in the body
            recent = Window(WINDOW.until - ShopeeConnector.max_window, WINDOW.until)
            shopee_orders = sum(len(p.records) for p in connector.order_pages(recent))
        buyers = [o["billing"][k] for o in woo.dump_orders() for k in ("phone", "email", "address_1")]
        issued = [*shopee.demo_credentials().values()]
    cassette = (tmp_path / "session.yaml").read_text()
    assert recorded == 30 and shopee_orders > 0 and "get_order_detail" in cassette
    assert leaks(cassette) == []
    for value in [*secrets, *buyers, *(str(v) for v in issued if isinstance(v, str))]:
        assert value not in cassette
    assert "REDACTED" in cassette

    # The sandboxes are gone: the cassette alone serves the same walk.
    with recorder(tmp_path, hosts=[woo_server.url], record_mode="none").use_cassette("session.yaml"):
        assert _walk_woocommerce(woo_server) == 30


def test_negative_control_an_unfiltered_cassette_does_leak(tmp_path: Path) -> None:
    woo = WooCommerceSandbox(orders=5, seed=2, clock=frozen())
    with SandboxServer(woo) as server:
        with vcr.VCR(cassette_library_dir=str(tmp_path)).use_cassette("raw.yaml"):
            _walk_woocommerce(server)
    found = leaks((tmp_path / "raw.yaml").read_text())
    assert any(f.startswith("Basic") for f in found), found
