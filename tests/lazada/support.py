"""Helpers for the Lazada tests: signed raw calls to the sandbox, the admin endpoint."""

from __future__ import annotations

import time
from typing import Any

import requests

from connectors._sandbox import SandboxServer
from connectors.lazada import api

FROZEN = 1_750_000_000  # the sandbox's data clock: the same seed gives the same shop
ORDERS = 250


def signed(server: SandboxServer, path: str, *, creds: dict[str, Any] | None = None, timestamp: int | str | None = None, public: bool = False, **params: Any) -> dict[str, Any]:
    """The query a correct client sends: common parameters and the signature (the client's signer)."""
    creds = creds or server.app.demo_credentials()
    query = {"app_key": creds["app_key"], "timestamp": int(time.time() * 1000) if timestamp is None else timestamp, "sign_method": "sha256", **params}
    if not public:
        query["access_token"] = creds["access_token"]
    query = {k: str(v) for k, v in query.items()}
    query["sign"] = api.sign(creds["app_secret"], api.base_string(path, query))
    return query


def call(server: SandboxServer, method: str, path: str, **kw: Any) -> requests.Response:
    return requests.request(method, server.url + path, params=signed(server, path, **kw), timeout=10)


def admin(server: SandboxServer, action: str, body: dict[str, Any]) -> Any:
    response = requests.post(f"{server.url}/_sandbox/{action}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()
