"""An account's credential set while a connector holds it, and the one rule for rotating it.

Some channels rotate tokens: Shopee's refresh token is single-use, so the pair a refresh
returns is the only way back into the shop. ``RotatingCredentials`` keeps the current set
and changes it in one way only: the new set goes to the connector's ``CredentialSink``
first, which stores it durably, and only when the sink has returned does the connector
use it. If the sink raises, the connector keeps the set it had and the error reaches the
caller: nothing runs on tokens the store does not hold.

It also answers the expiry questions of ``connectors.contract.RefreshableSource`` from the
optional fields ``EXPIRY_FIELDS`` (epoch seconds), which a connector keeps current.

Example::

    creds = RotatingCredentials(credentials, on_credentials)

    def exchange(current):                       # trade the refresh token for a new pair
        body = http.request("POST", REFRESH, json_body={"refresh_token": creds.secret("refresh_token")})[0]
        return {**current, "access_token": body["access_token"], "refresh_token": body["refresh_token"]}

    creds.rotate(exchange, stale=token_the_refused_call_used)   # sink, then use
    auth_header = creds.secret("access_token")
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from connectors._http.secret import reveal
from connectors.contract import EXPIRY_FIELDS, CredentialExpiry, CredentialSink

Credentials = Mapping[str, Any]


class RotatingCredentials:
    """The current credential set (values as given: secrets may be ``SecretStr``)."""

    def __init__(self, credentials: Credentials, sink: CredentialSink | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self._current: dict[str, Any] = dict(credentials)
        self._sink = sink
        self._clock = clock
        self._lock = threading.Lock()

    @property
    def current(self) -> Credentials:
        return self._current

    def get(self, name: str, default: Any = None) -> Any:
        return self._current.get(name, default)

    def secret(self, name: str) -> str:
        """The text of a (possibly wrapped) field; ``""`` when absent."""
        return reveal(self._current.get(name))

    def save(self, fresh: Credentials) -> None:
        """Hand ``fresh`` (the full set) to the sink, then make it current. If the sink
        raises, the current set stays as it was."""
        fresh = dict(fresh)
        if self._sink is not None:
            self._sink(fresh)
        self._current = fresh

    def rotate(self, exchange: Callable[[Credentials], Credentials], *, stale: str | None = None, field: str = "access_token") -> bool:
        """Replace the set with ``exchange(current)``, persisted first (``save``).

        One rotation at a time: with ``stale`` (the ``field`` value a refused call used), a
        caller that finds the set already rotated by another thread returns False without
        calling ``exchange``; the rotated set is then the one to use.
        """
        with self._lock:
            if stale is not None and self.secret(field) != stale:
                return False
            self.save(exchange(self._current))
            return True

    # -- expiry (connectors.contract.RefreshableSource) --------------------------------------
    def expiry(self) -> CredentialExpiry:
        return CredentialExpiry(*(_utc(self._current.get(f)) for f in EXPIRY_FIELDS))

    def expires_within(self, within: timedelta, *, unknown: bool) -> bool:
        """True when the access token expires within ``within``; ``unknown`` when the set
        does not say when it expires."""
        expires_at = self._current.get("access_expires_at")
        if not isinstance(expires_at, (int, float)):
            return unknown
        return self._clock() + within.total_seconds() >= expires_at


def _utc(epoch: Any) -> datetime | None:
    return datetime.fromtimestamp(epoch, timezone.utc) if isinstance(epoch, (int, float)) and epoch > 0 else None
