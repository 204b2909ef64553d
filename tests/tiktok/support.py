"""Helpers for the TikTok tests: signed raw calls to the sandbox, the admin endpoint."""

from __future__ import annotations

import json
import time
from typing import Any

import requests

from connectors._sandbox import SandboxServer
from connectors.tiktok import api

FROZEN = 1_750_000_000  # the sandbox's data clock: the same seed gives the same shop
ORDERS = 250


def call(
    server: SandboxServer,
    method: str,
    path: str,
    *,
    body: Any = None,
    creds: dict[str, Any] | None = None,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> requests.Response:
    """A request as a correct client sends it, signed with ``api.sign``."""
    creds = creds or server.app.demo_credentials()
    query = {"app_key": creds["app_key"], "timestamp": int(time.time()) if timestamp is None else timestamp, **params}
    if path != api.AUTHORIZED_SHOPS:
        query.setdefault("shop_cipher", creds["shop_cipher"])
    raw = json.dumps(body).encode() if body is not None else b""
    query["sign"] = api.sign(creds["app_secret"], path, {k: str(v) for k, v in query.items()}, raw)
    sent = {"x-tts-access-token": creds["access_token"], **({"Content-Type": "application/json"} if body is not None else {}), **(headers or {})}
    return requests.request(method, server.url + path, params=query, data=raw or None, headers=sent, timeout=10)


def search(server: SandboxServer, *, page_size: int = 100, page_token: str = "", **filters: Any) -> dict[str, Any]:
    params = {"page_size": page_size, "sort_field": "update_time", "sort_order": "ASC", **({"page_token": page_token} if page_token else {})}
    return call(server, "POST", api.ORDER_SEARCH, body=filters, **params).json()


def admin(server: SandboxServer, action: str, body: dict[str, Any]) -> Any:
    response = requests.post(f"{server.url}/_sandbox/{action}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()
