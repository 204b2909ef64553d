"""A sandbox shares nothing with its client but constants a person checked against the
documentation: the sandboxes of TikTok Shop and Lazada import only these names from their
channel's ``api`` module, and each holds the documented value (Shopee's own test:
tests/shopee/test_sandbox.py). A misread constant then fails here, not in both at once."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

DOCUMENTED = {
    "tiktok": {  # shared/reference/marketplaces.md §2.2-§2.4
        "TIMESTAMP_PAST": 300,  # the request timestamp may lie 300 s back ...
        "TIMESTAMP_FUTURE": 30,  # ... and 30 s ahead
        "ACCESS_TOKEN_SECONDS": 7 * 24 * 3600,  # access tokens live 7 days
        "PAGE_SIZE": 100,  # Search Orders: page_size at most 100
        "DETAIL_BATCH": 50,  # Get Order Detail: at most 50 ids
        "ORDER_SEARCH": "/order/202309/orders/search",
        "ORDER_DETAIL": "/order/202309/orders",
        "AUTHORIZED_SHOPS": "/authorization/202309/shops",
        "TOKEN_REFRESH": "/api/v2/token/refresh",
        # Return and refund API v202309 (the official spec pages, mirrored in
        # lazykern/ecommerce-api-docs .../return-and-refund/search-{returns,cancellations}.spec.json)
        "CANCELLATION_SEARCH": "/return_refund/202309/cancellations/search",
        "RETURN_SEARCH": "/return_refund/202309/returns/search",
        "RETURN_PAGE_SIZE": 50,  # page_size upper limit of both searches
    },
    "lazada": {  # shared/reference/marketplaces.md §4.1-§4.3
        "TIMESTAMP_TOLERANCE_MS": 7200 * 1000,  # timestamps in milliseconds, within 7,200 s
        "ACCESS_TOKEN_SECONDS": 30 * 24 * 3600,  # 30-day access tokens
        "REFRESH_TOKEN_SECONDS": 180 * 24 * 3600,  # 180-day refresh tokens
        "PAGE_SIZE": 100,  # /orders/get: limit at most 100
        "OFFSET_CAP": 4500,  # the smaller of the two published offset caps
        "ITEMS_BATCH": 50,  # /orders/items/get order_ids (assumed from SDKs: the connector says so)
        "ORDERS": "/orders/get",
        "ORDER": "/order/get",
        "ORDER_ITEMS": "/orders/items/get",
        "REFRESH": "/auth/token/refresh",
        "SELLER": "/seller/get",
    },
}


@pytest.mark.parametrize("channel", sorted(DOCUMENTED))
def test_the_sandbox_shares_only_documented_constants_with_its_client(channel: str) -> None:
    tree = ast.parse((ROOT / "connectors" / channel / "sandbox.py").read_text())
    shared: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(f"connectors.{channel}"):
            assert node.module == f"connectors.{channel}.api", node.module  # never the client, its signer or its fields
            shared |= {alias.name for alias in node.names}
        if isinstance(node, ast.Import):
            assert not any(alias.name.startswith(f"connectors.{channel}") for alias in node.names)
    assert shared == set(DOCUMENTED[channel])
    api = importlib.import_module(f"connectors.{channel}.api")
    for name, documented in DOCUMENTED[channel].items():
        value = getattr(api, name)
        assert not callable(value) and value == documented, name
