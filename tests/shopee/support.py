"""Helpers for the Shopee tests: signed raw calls to the sandbox, the admin endpoint."""

from __future__ import annotations

import time
from typing import Any

import requests

from connectors._sandbox import SandboxServer
from connectors.shopee import api

FROZEN = 1_750_000_000  # the sandbox's data clock: the same seed gives the same shop
ORDERS = 250


def signed(server: SandboxServer, path: str, *, creds: dict[str, Any] | None = None, timestamp: int | None = None, public: bool = False, **params: Any) -> dict[str, Any]:
    """The query a correct client sends: common parameters and the signature."""
    creds = creds or server.app.demo_credentials()
    ts = int(time.time()) if timestamp is None else timestamp
    query = {"partner_id": creds["partner_id"], "timestamp": ts, **params}
    if public:
        base = api.base_string(creds["partner_id"], path, ts)
    else:
        query |= {"access_token": creds["access_token"], "shop_id": creds["shop_id"]}
        base = api.base_string(creds["partner_id"], path, ts, creds["access_token"], creds["shop_id"])
    query["sign"] = api.sign(creds["partner_key"], base)
    return query


def call(server: SandboxServer, method: str, path: str, *, body: Any = None, **kw: Any) -> requests.Response:
    return requests.request(method, server.url + path, params=signed(server, path, **kw), json=body, timeout=10)


def admin(server: SandboxServer, action: str, body: dict[str, Any]) -> Any:
    response = requests.post(f"{server.url}/_sandbox/{action}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()
