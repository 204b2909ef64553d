"""Token lifecycle through the hub: refresh ahead of expiry, countdowns, refused refreshes.

Runs against the Shopee sandbox (4 h access tokens, single-use rotating refresh tokens).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from connectors.shopee.client import ShopeeConnector
from simpul import audit, tokens
from simpul.engine import SyncRequest
from simpul.locks import AccountLock
from simpul.runtime import Hub


def _add(hub: Hub, server, account: str = "s1") -> None:  # noqa: ANN001
    hub.accounts.add(account, "shopee", "Shopee", server.url, server.app.demo_credentials(), history_days=60, verify=True)


def test_adding_verifies_and_records_the_grant_expiry(hub: Hub, server) -> None:  # noqa: ANN001
    _add(hub, server)
    info = hub.accounts.get("s1")
    assert info.authorization_expires_at == datetime.fromtimestamp(server.app.authorized_at + 365 * 86400, timezone.utc)
    assert info.access_expires_at is None  # the seller's paste carries no expiry: the first refresh learns it


def test_refresh_ahead_of_expiry_then_nothing_until_due(hub: Hub, server) -> None:  # noqa: ANN001
    _add(hub, server)
    before = int(time.time())
    [first] = tokens.refresh_all(hub.engine)
    after = int(time.time())
    assert first.result == "refreshed"  # expiry unknown: refreshed to learn it
    info = hub.accounts.get("s1")
    # Issued during the refresh: 4 h access token (expire_in 14400), 30-day refresh token [S2].
    # Bracketed by the clock read before and after, so however slow the call, no window.
    issued = info.access_expires_at - timedelta(seconds=14400)
    assert before <= issued.timestamp() <= after
    assert info.refresh_expires_at == issued + timedelta(days=30)
    [second] = tokens.refresh_all(hub.engine)
    assert second.result == "still_valid"
    assert (second.expiry.access, second.expiry.refresh) == (info.access_expires_at, info.refresh_expires_at)
    # The countdowns, read at an instant the test chooses (as_row takes the clock):
    row = second.as_row(now=issued + timedelta(minutes=48))
    assert (row["access_expires_in"], row["refresh_expires_in"]) == ("3h12m", "29d23h")
    granted = datetime.fromtimestamp(server.app.authorized_at, timezone.utc)
    assert second.as_row(now=granted + timedelta(days=1, hours=2))["authorization_expires_in"] == "363d22h"  # 365-day grant
    [due] = tokens.refresh_all(hub.engine, within=timedelta(hours=5))
    assert due.result == "refreshed"
    assert server.stats.snapshot()["by_path"]["/api/v2/auth/access_token/get"] == 2
    with hub.db.connect() as conn:
        rotations = audit.entries(conn, action_prefix="credential.rotated")
        uses = [e for e in audit.entries(conn, action_prefix="credential.used") if '"purpose":"refresh"' in e["summary"]]
    assert len(rotations) >= 2 and len(uses) == 3


def test_a_refused_refresh_marks_the_account_and_syncs_skip_it(hub: Hub, server) -> None:  # noqa: ANN001
    _add(hub, server)
    # Someone else spends the single-use refresh token (a copy of the credentials elsewhere).
    ShopeeConnector(server.url, server.app.demo_credentials()).refresh(force=True)
    [outcome] = tokens.refresh_all(hub.engine, force=True)
    assert outcome.result == "failed" and "Invalid refresh_token" in (outcome.reason or "")
    info = hub.accounts.get("s1")
    assert info.status == tokens.REFRESH_FAILED and "token refresh refused" in (info.status_reason or "")
    run = hub.engine.run(SyncRequest("s1"))
    assert run.status == "skipped" and "refresh_failed" in (run.error or "")
    assert tokens.refresh_all(hub.engine)[0].result == "skipped"
    with hub.db.connect() as conn:
        assert [e["action"] for e in audit.entries(conn, action_prefix="account.refresh_failed")] == ["account.refresh_failed"]


def test_a_refresh_waits_for_no_sync_and_never_races_it(hub: Hub, server) -> None:  # noqa: ANN001
    _add(hub, server)
    with AccountLock(hub.db, "s1"):
        [outcome] = tokens.refresh_all(hub.engine, force=True)
    assert outcome.result == "skipped" and "refreshes its own tokens" in (outcome.reason or "")
    assert "/api/v2/auth/access_token/get" not in server.stats.snapshot()["by_path"]


def test_countdown_reads_like_a_person_would_say_it() -> None:
    now = datetime(2026, 11, 25, tzinfo=timezone.utc)
    assert tokens.countdown(now + timedelta(hours=3, minutes=12), now) == "3h12m"
    assert tokens.countdown(now + timedelta(days=29, hours=4), now) == "29d4h"
    assert tokens.countdown(now - timedelta(minutes=5), now) == "expired 5m ago"
    assert tokens.countdown(None, now) == "-"
