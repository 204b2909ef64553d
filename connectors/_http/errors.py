"""Error classification as data: one table says what each failure means.

Modelled on Airbyte's ``DEFAULT_ERROR_MAPPING``: a status code (or exception type) maps to
an ``Action``. Connectors merge their own envelope codes into a copy of the table (Shopee
answers ``{"error": "error_rate_limit"}`` with HTTP 200, for example), so the retry loop
never needs to know which channel it is talking to.

- RETRY: transient (429, 5xx, timeouts, resets). Retried with jittered backoff,
  honouring Retry-After.
- REFRESH: the access token expired; refresh once, then retry the call.
- CREDENTIAL: the credential is refused (401/403). No retry storm, no cursor advance.
- FAIL: the request itself is wrong (400/404...). Fails the stream.

Three failures are Simpul's own verdict on a reply rather than a row of the table, and
are never retried: ``BudgetExceeded`` (a reply, or a window's walk, went past a limit
Simpul sets), ``ImplausibleReply`` (the reply contradicts itself or the channel's
documented limits) and a refused redirect (``ApiError`` with code ``redirect``).
``MalformedReply`` is a body that is not readable JSON: retried like any transient fault,
then split by the shared batch helper (``batches.py``) when it answers a lookup by id.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

import requests


class Action(str, enum.Enum):
    RETRY = "retry"
    REFRESH = "refresh"
    CREDENTIAL = "credential"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Resolution:
    action: Action
    message: str


ErrorKey = int | str | type[BaseException]

DEFAULT_POLICY: Mapping[ErrorKey, Resolution] = {
    429: Resolution(Action.RETRY, "rate limited"),
    500: Resolution(Action.RETRY, "server error"),
    502: Resolution(Action.RETRY, "bad gateway"),
    503: Resolution(Action.RETRY, "service unavailable"),
    504: Resolution(Action.RETRY, "gateway timeout"),
    401: Resolution(Action.CREDENTIAL, "credentials refused"),
    403: Resolution(Action.CREDENTIAL, "access forbidden"),
    400: Resolution(Action.FAIL, "bad request"),
    404: Resolution(Action.FAIL, "not found"),
    requests.Timeout: Resolution(Action.RETRY, "timed out"),
    requests.ConnectionError: Resolution(Action.RETRY, "connection failed"),
    requests.exceptions.ChunkedEncodingError: Resolution(Action.RETRY, "response cut off"),
    ValueError: Resolution(Action.RETRY, "malformed response body"),  # truncated JSON
}


def resolve(policy: Mapping[ErrorKey, Resolution], key: ErrorKey | BaseException) -> Resolution:
    """Look up a status code, envelope code or exception (by its class hierarchy)."""
    if isinstance(key, BaseException):
        for cls in type(key).__mro__:
            if cls in policy:
                return policy[cls]
        return Resolution(Action.FAIL, type(key).__name__)
    if key in policy:
        return policy[key]
    if isinstance(key, int) and 500 <= key < 600:
        return Resolution(Action.RETRY, f"server error {key}")
    return Resolution(Action.FAIL, f"unexpected response {key}")


class ConnectorError(Exception):
    """Base of every error a connector raises. Messages never carry secrets or buyer data."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class TransientError(ConnectorError):
    """Worth retrying; ``retry_after`` (seconds) when the server said so."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class TokenExpired(ConnectorError):
    """The access token is no longer valid; a refresh may fix it."""


class CredentialError(ConnectorError):
    """The channel refused the credential. Not retried; the cursor does not move."""


class StreamRefused(ConnectorError):
    """The channel refuses one side stream (returns, settlements) to this app or shop while
    the credential itself works (a permission the seller did not grant): the engine skips
    that stream for the run, audited, and the account stays active."""


class ApiError(ConnectorError):
    """The channel rejected the request itself (bad parameter, unknown object...)."""


class PaginationLoop(ConnectorError):
    """The API handed back a page token it had already given: stop instead of looping."""


class MalformedReply(TransientError):
    """The reply's body is not JSON Simpul can read (truncated, or one poisonous record)."""


class BudgetExceeded(ConnectorError):
    """A reply or a window's walk went past a limit Simpul sets: a reply's total time or
    size, or a window's pages, requests or time. Not retried: the account's run fails with
    this reason, the runner moves on to the next account, and the next run resumes from
    the last committed page with a fresh budget."""


class ImplausibleReply(ConnectorError):
    """The channel's reply contradicts itself or the channel's documented limits (a page
    count that does not match its total, more records than a page holds, orders nobody
    asked for). Not retried: the same request would get the same answer."""


def error_for(resolution: Resolution, message: str, **kw) -> ConnectorError:
    """The exception class that carries out a resolution."""
    cls = {
        Action.RETRY: TransientError,
        Action.REFRESH: TokenExpired,
        Action.CREDENTIAL: CredentialError,
        Action.FAIL: ApiError,
    }[resolution.action]
    return cls(message, **kw)
