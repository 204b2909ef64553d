"""The returns walk through the real engine, where a WooCommerce-specific shape matters: a
shop with few refunds lists many orders that hold none."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors._sandbox import SandboxServer
from connectors.woocommerce.sandbox import WooCommerceSandbox
from mappings import woocommerce_returns as mapping
from simpul.accounts import Accounts
from simpul.engine import Engine, SyncRequest
from simpul.runtime import Hub
from simpul.vault import Vault
from tests.oracle import assert_returns_converged


@pytest.fixture
def few_refunds() -> Iterator[SandboxServer]:
    """1,500 orders (15 list pages); only the three most recently changed keep their refunds."""
    app = WooCommerceSandbox(orders=1500, seed=11)
    app.clock.freeze(app.clock.now())  # the engine reads the history up to its own now
    refunded = sorted((o for o in app._orders.values() if o.refunds), key=lambda o: (o.modified, o.id))
    for order in refunded[:-3]:
        order.refunds = ()
    with SandboxServer(app, seed=11) as server:
        yield server


def test_a_shop_with_few_refunds_is_not_mistaken_for_a_channel_paging_without_data(sqlite_db, keyring, few_refunds) -> None:  # noqa: ANN001
    """The engine stops a walk after 10 pages in a row that bring nothing new (an ever-new
    cursor over no data). Here more than ten pages of orders in a row hold no refund, which
    is normal for a shop: each page names the orders it walked past (``Page.scanned``), which
    the guard counts as progress, so the walk completes. (Without them, this run stopped
    with BudgetExceeded.)"""
    accounts = Accounts(sqlite_db, Vault(keyring), actor="test")
    hub = Hub(sqlite_db, accounts.vault, accounts, Engine(sqlite_db, accounts, actor="test", rate_limits={"*": None}))
    hub.accounts.add("few", "woocommerce", "Few refunds", few_refunds.url, few_refunds.app.demo_credentials(), history_days=60)
    run = hub.engine.run(SyncRequest("few"))
    assert run.status == "completed", run.error
    records = few_refunds.app.dump_returns()
    assert 3 <= len(records) and len({r["order"]["id"] for r in records}) == 3
    assert_returns_converged(sqlite_db, "few", mapping, records)
