"""Request authentication as small objects with one method.

An ``Auth`` gets the outgoing request just before *each attempt* (so a signature's
timestamp is fresh on a retry) and adds what the channel needs: a query signature,
a header. ``secrets()`` names the values the HTTP kit must scrub from any message.

Example::

    class StaticToken:
        def __init__(self, token): self._token = token
        def apply(self, req: Outgoing) -> None: req.headers["X-Token"] = self._token
        def secrets(self): return [self._token]
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(slots=True)
class Outgoing:
    """The parts of a request an Auth may read or change."""

    method: str
    path: str  # without host, e.g. /api/v2/order/get_order_list
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


class Auth(Protocol):
    def apply(self, request: Outgoing) -> None: ...

    def secrets(self) -> Iterable[str]: ...


class NoAuth:
    def apply(self, request: Outgoing) -> None:
        return None

    def secrets(self) -> Iterable[str]:
        return ()


class BasicAuth:
    """HTTP Basic auth (WooCommerce over HTTPS: consumer key + consumer secret)."""

    def __init__(self, username: str, password: str) -> None:
        self._username = username
        self._password = password

    def apply(self, request: Outgoing) -> None:
        raw = f"{self._username}:{self._password}".encode()
        request.headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()

    def secrets(self) -> Iterable[str]:
        token = base64.b64encode(f"{self._username}:{self._password}".encode()).decode()
        return (self._username, self._password, token)
