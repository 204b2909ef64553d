"""Helpers for the WooCommerce tests: raw HTTP to the sandbox and GMT text."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import requests

from connectors._sandbox import SandboxServer
from connectors.woocommerce.sandbox import ORDERS_ROUTE

FROZEN = 1_750_000_000  # the sandbox's data clock: the same seed gives the same shop
ORDERS = 250


def list_orders(server: SandboxServer, auth: tuple[str, str] | None = None, **params: Any) -> requests.Response:
    if auth is None:
        creds = server.app.demo_credentials()
        auth = (creds["consumer_key"], creds["consumer_secret"])
    return requests.get(server.url + ORDERS_ROUTE, params=params, auth=auth, timeout=10)


def admin(server: SandboxServer, action: str, body: dict[str, Any]) -> Any:
    response = requests.post(f"{server.url}/_sandbox/{action}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def gmt(epoch: int) -> str:
    """Naive GMT text, as dates_are_gmt=true wants it."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp())


def modified(order: dict[str, Any]) -> int:
    return epoch(order["date_modified_gmt"])
