"""The shared HTTP kit: policy table, retries with Retry-After, token bucket, redaction."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors._http import (
    ApiError,
    BasicAuth,
    CredentialError,
    HttpClient,
    LoopGuard,
    PaginationLoop,
    RetryConfig,
    TokenBucket,
    TransientError,
    parse_retry_after,
)
from connectors._http.redaction import redact_text, redact_url
from connectors._sandbox import Reply, SandboxClock, SandboxServer


class EchoApp:
    channel = "echo"

    def __init__(self) -> None:
        self.clock = SandboxClock()

    def handle(self, request):  # noqa: ANN001, ANN201
        if request.path == "/envelope":
            return Reply(200, {"error": "error_rate_limit", "message": "Too many requests."})
        return Reply(200, {"ok": True, "price": Decimal("1.10")})

    def error_reply(self, kind, status):  # noqa: ANN001, ANN201
        return Reply(status, {"error": kind})

    def dump_orders(self):  # noqa: ANN201
        return []

    def admin(self, action, request):  # noqa: ANN001, ANN201
        return None


@pytest.fixture
def server():  # noqa: ANN201
    with SandboxServer(EchoApp()) as srv:
        yield srv


def client(server, sleeps: list[float], **kw) -> HttpClient:  # noqa: ANN001
    return HttpClient(server.url, BasicAuth("ck_user", "cs_supersecret"), retry=RetryConfig(attempts=4, base_delay=0.01), sleep=sleeps.append, **kw)


def test_transient_failures_are_retried_and_money_stays_decimal(server) -> None:  # noqa: ANN001
    sleeps: list[float] = []
    server.faults.update({"fail_next": [503, "reset", "truncate"]})
    body, _ = client(server, sleeps).request("GET", "/x")
    assert str(body["price"]) == "1.10"  # Decimal, not the float 1.1
    assert len(sleeps) == 3 and server.stats.requests == 4


def test_retry_after_is_honoured(server) -> None:  # noqa: ANN001
    sleeps: list[float] = []
    server.faults.update({"fail_next": [429], "retry_after": "2"})
    client(server, sleeps).request("GET", "/x")
    assert sleeps and sleeps[0] >= 2.0


def test_credential_errors_are_not_retried(server) -> None:  # noqa: ANN001
    sleeps: list[float] = []
    server.faults.update({"fail_next": [401]})
    with pytest.raises(CredentialError) as info:
        client(server, sleeps).request("GET", "/x", params={"access_token": "tok_secret_1234"})
    assert sleeps == [] and server.stats.requests == 1
    assert "cs_supersecret" not in str(info.value) and "tok_secret_1234" not in str(info.value)


def test_bad_request_fails_at_once(server) -> None:  # noqa: ANN001
    server.faults.update({"fail_next": [400]})
    with pytest.raises(ApiError):
        client(server, []).request("GET", "/x")
    assert server.stats.requests == 1


def test_retries_stop_within_the_budget(server) -> None:  # noqa: ANN001
    sleeps: list[float] = []
    server.faults.update({"fail_next": [503] * 10})
    with pytest.raises(TransientError):
        client(server, sleeps).request("GET", "/x")
    assert server.stats.requests == 4  # attempts=4, then give up


def test_envelope_errors_in_http_200_use_the_policy_table(server) -> None:  # noqa: ANN001
    from connectors._http.errors import DEFAULT_POLICY, Action, Resolution

    policy = {**DEFAULT_POLICY, "error_rate_limit": Resolution(Action.RETRY, "rate limited")}

    def envelope(status, body):  # noqa: ANN001, ANN202
        return (body["error"], body.get("message")) if isinstance(body, dict) and body.get("error") else None

    sleeps: list[float] = []
    with pytest.raises(TransientError):
        client(server, sleeps, policy=policy, envelope=envelope).request("GET", "/envelope")
    assert len(sleeps) == 3


def test_parse_retry_after_accepts_seconds_and_http_dates() -> None:
    from datetime import datetime, timezone

    now = datetime(2026, 1, 1, 0, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:05 GMT", now=now) == 5.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_token_bucket_spaces_requests() -> None:
    clock = [0.0]
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        clock[0] += s

    bucket = TokenBucket(rate=10, capacity=2, clock=lambda: clock[0], sleep=sleep)
    for _ in range(12):
        bucket.acquire()
    assert clock[0] == pytest.approx(1.0, abs=0.01)  # 2 free, then 10 at 10/s
    bucket.pause(3)
    before = clock[0]
    bucket.acquire()
    assert clock[0] - before >= 3.0


def test_loop_guard_stops_a_repeated_token() -> None:
    guard = LoopGuard("list")
    guard.advance("a")
    guard.advance("b")
    with pytest.raises(PaginationLoop):
        guard.advance("a")


def test_redaction_of_urls_and_text() -> None:
    url = redact_url("https://x/api?partner_id=1&sign=sig-9f8e&access_token=tok-7d6c&page=2")
    assert "sig-9f8e" not in url and "tok-7d6c" not in url and "page=2" in url and "partner_id=1" in url
    assert redact_text("Authorization: Bearer abcdefghijkl and key k3y-value", ["k3y-value"]) == "Authorization: Bearer REDACTED and key REDACTED"
