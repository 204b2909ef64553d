"""The shared HTTP client: timeouts, retries, rate limit, error policy and redaction.

Every connector talks to its channel through one ``HttpClient``. The client:

- signs each attempt through the connector's ``Auth``;
- takes a token from the account's bucket before each attempt;
- classifies the outcome with the policy table (``errors.py``), including errors the
  channel wraps in an HTTP 200 body (``envelope`` hook);
- retries transient failures with full-jitter exponential backoff (tenacity), waiting at
  least what ``Retry-After`` asks, within a time budget;
- raises ``CredentialError``/``TokenExpired``/``ApiError`` at once, never retrying them;
- reads each reply within a total deadline and a size cap, and never follows a redirect
  (``reply.py``): past either limit it raises ``BudgetExceeded``, and a 3xx is a clear
  failure naming where the channel tried to send us;
- parses JSON exactly (``simpul.jsoncodec``): an integer too long for Python's int
  conversion becomes a Decimal for the mapping to refuse, instead of making the whole
  reply unreadable; a body that is still not JSON raises ``MalformedReply`` (retried);
- logs method, path, status and time only: never the query string, headers or body.

Example::

    client = HttpClient("https://shop.example", BasicAuth(key, secret))
    body, response = client.request("GET", "/wp-json/wc/v3/orders", params={"page": 1})
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_before_delay

from connectors._http.auth import Auth, NoAuth, Outgoing
from connectors._http.errors import (
    DEFAULT_POLICY,
    Action,
    ApiError,
    BudgetExceeded,
    ConnectorError,
    ErrorKey,
    MalformedReply,
    Resolution,
    TransientError,
    error_for,
    resolve,
)
from connectors._http.ratelimit import TokenBucket, Unlimited
from connectors._http.redaction import guard_library_loggers, redact_text
from connectors._http.reply import Deadline, ReplyLimits, ReplyTooLarge, read_body, watch
from simpul.jsoncodec import dumps, loads

log = logging.getLogger("simpul.http")
guard_library_loggers()

Envelope = Callable[[int, Any], tuple[ErrorKey, str] | None]
"""Inspect (status, parsed body); return (policy key, message) when the body is an error."""

USER_AGENT = "Simpul/0.1 (+https://github.com/simpul-hub/simpul)"


@dataclass(frozen=True, slots=True)
class RetryConfig:
    attempts: int = 6
    budget_seconds: float = 60.0  # stop before this much time would pass
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 300.0


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class HttpClient:
    def __init__(
        self,
        base_url: str,
        auth: Auth | None = None,
        *,
        policy: Mapping[ErrorKey, Resolution] = DEFAULT_POLICY,
        envelope: Envelope | None = None,
        bucket: TokenBucket | Unlimited | None = None,
        retry: RetryConfig = RetryConfig(),
        timeout: tuple[float, float] = (5.0, 30.0),
        reply: ReplyLimits | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth or NoAuth()
        self.policy = policy
        self.envelope = envelope
        self.bucket = bucket or Unlimited()
        self.retry = retry
        self.reply = reply or ReplyLimits()
        # A read timeout longer than the whole reply may take would never fire first.
        self.timeout = (timeout[0], min(timeout[1], self.reply.deadline_seconds))
        self.session = watch(session or requests.Session())
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self._sleep = sleep
        self.requests_sent = 0

    # -- public -------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        attempts: int | None = None,
    ) -> tuple[Any, requests.Response]:
        """Send with retries; return (parsed JSON body, response) or raise a ConnectorError.

        ``attempts`` lowers the retry count for one call (the batch splitter asks halves of
        a batch whose reply was unreadable with fewer attempts: the fault is known to repeat).
        """
        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            wait=self._wait,
            stop=stop_after_attempt(min(attempts or self.retry.attempts, self.retry.attempts)) | stop_before_delay(self.retry.budget_seconds),
            sleep=self._sleep,
            reraise=True,
            before_sleep=self._log_retry,
        )
        return retrying(self._attempt, method, path, params or {}, json_body, dict(headers or {}))

    def counter(self) -> Callable[[], int]:
        """Start counting: the returned function tells how many requests (every attempt of
        every retry) this client sent since. A page reports its cost this way::

            count = http.counter()
            ...                                  # the list call, its lookups
            Page(records, position, requests=count())
        """
        start = self.requests_sent
        return lambda: self.requests_sent - start

    # -- one attempt --------------------------------------------------------------------
    def _attempt(
        self, method: str, path: str, params: Mapping[str, Any], json_body: Any, headers: dict[str, str]
    ) -> tuple[Any, requests.Response]:
        body = None
        if json_body is not None:
            body = dumps(json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        outgoing = Outgoing(method=method, path=path, params=dict(params), headers=headers, body=body)
        self.auth.apply(outgoing)
        self.bucket.acquire()
        started = time.monotonic()
        self.requests_sent += 1
        with Deadline(self.reply.deadline_seconds) as deadline:
            response = None
            try:
                response = self.session.request(
                    method,
                    self.base_url + path,
                    params=outgoing.params,
                    data=outgoing.body,
                    headers=outgoing.headers,
                    timeout=self.timeout,
                    stream=True,
                    allow_redirects=False,
                )
                content = read_body(response, self.reply, deadline)  # inside the try: resets surface here
            except requests.RequestException as exc:
                if deadline.expired():
                    raise self._over_deadline(method, path) from None
                raise self._error(resolve(self.policy, exc), method, path, None, detail=type(exc).__name__) from None
            except ReplyTooLarge as exc:
                declared = f" (it announced {exc.declared:,} bytes)" if exc.declared else ""
                raise BudgetExceeded(
                    f"{method} {path}: the reply is larger than {self.reply.max_bytes:,} bytes{declared}; Simpul stops reading there",
                    status=response.status_code if response is not None else None,
                ) from None
            finally:
                if response is not None and not response._content_consumed:  # noqa: SLF001 - abandoned mid-body
                    response.close()
        elapsed = time.monotonic() - started
        log.debug("%s %s -> %s in %.3fs", method, path, response.status_code, elapsed)
        if 300 <= response.status_code < 400:
            raise self._redirect(method, path, response)

        parsed: Any = None
        parse_failed = False
        if content:
            try:
                parsed = loads(content)
            except ValueError:
                parse_failed = True

        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        # An error is the HTTP status, unless the channel's envelope names it more exactly
        # (some APIs answer errors with HTTP 200 and an error code in the body).
        found = self.envelope(response.status_code, parsed) if self.envelope is not None and parsed is not None else None
        if response.status_code >= 400 or found is not None:
            key: ErrorKey
            key, detail = found if found is not None else (response.status_code, None)
            resolution = resolve(self.policy, key)
            if resolution.action is Action.RETRY and retry_after is not None:
                self.bucket.pause(min(retry_after, self.retry.max_retry_after))
            raise self._error(resolution, method, path, response.status_code, detail=detail, code=key, retry_after=retry_after)
        if parse_failed:
            resolution = resolve(self.policy, ValueError())
            if resolution.action is Action.RETRY:
                message = redact_text(f"{method} {path}: HTTP {response.status_code}, {resolution.message} (invalid JSON)", self.auth.secrets())
                raise MalformedReply(message, status=response.status_code)
            raise self._error(resolution, method, path, response.status_code, detail="invalid JSON")
        return parsed, response

    def _over_deadline(self, method: str, path: str) -> BudgetExceeded:
        return BudgetExceeded(f"{method} {path}: the reply took longer than {self.reply.deadline_seconds:g} s; Simpul stops waiting there")

    def _redirect(self, method: str, path: str, response: requests.Response) -> ApiError:
        """A 3xx: never followed (see reply.py). One line naming where it pointed (host only)."""
        target = urlsplit(urljoin(self.base_url + path, response.headers.get("Location", "")))
        base = urlsplit(self.base_url)
        status = response.status_code
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            where = f"another host ({target.scheme}://{target.hostname or '?'}{f':{target.port}' if target.port else ''})"
        else:
            where = f"another path on the same host ({target.path or '/'})"
        message = f"{method} {path}: HTTP {status}, the channel redirected to {where}; Simpul does not follow redirects off the account's base URL (check the base URL)"
        return ApiError(redact_text(message, self.auth.secrets()), status=status, code="redirect")

    def _error(
        self,
        resolution: Resolution,
        method: str,
        path: str,
        status: int | None,
        *,
        detail: str | None = None,
        code: ErrorKey | None = None,
        retry_after: float | None = None,
    ) -> ConnectorError:
        status_text = f"HTTP {status}" if status is not None else "no response"
        message = f"{method} {path}: {status_text}, {resolution.message}"
        if detail:
            message += f" ({detail})"
        message = redact_text(message, self.auth.secrets())
        kw: dict[str, Any] = {"status": status, "code": None if code is None or isinstance(code, type) else str(code)}
        if resolution.action is Action.RETRY:
            kw["retry_after"] = retry_after
        return error_for(resolution, message, **kw)

    # -- retry plumbing -----------------------------------------------------------------
    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        backoff = random.uniform(0, min(self.retry.max_delay, self.retry.base_delay * 2 ** (state.attempt_number - 1)))
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            return max(min(exc.retry_after, self.retry.max_retry_after), backoff)
        return backoff

    @staticmethod
    def _log_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning("retrying in %.2fs after: %s", state.upcoming_sleep, exc)
