"""Token lifecycle: refresh access tokens before they expire, and mark accounts that cannot.

Connectors whose tokens expire implement ``connectors.contract.RefreshableSource``; the
rest are skipped. A refresh runs under the account's sync lock, so it never races a sync
of the same account for the single-use refresh token (a running sync refreshes its own
tokens when they near expiry). The connector hands the new token set to
``Accounts.save_credentials`` *before* using it, in its own transaction, and switches to
it only once that commit returned. The one window left is between the channel's reply and
that commit (a local transaction): a process killed exactly there leaves a spent refresh
token, which the next refresh reports as ``refresh_failed``, never a silent loss.

A refused refresh marks the account ``refresh_failed`` with the channel's reason: syncs
skip it with that reason until someone re-authorises it (``simpul accounts add
--replace``), and the audit log records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from connectors._http.errors import ConnectorError, CredentialError
from connectors.contract import CredentialExpiry, RefreshableSource
from simpul import failures
from simpul.engine import Engine
from simpul.locks import AccountLock, SyncAlreadyRunning
from simpul.logs import redact

DEFAULT_HORIZON = timedelta(minutes=45)  # refresh what expires before the next scheduled run, with margin
REFRESH_FAILED = "refresh_failed"


@dataclass(frozen=True, slots=True)
class RefreshOutcome:
    account_id: str
    channel: str
    result: str  # refreshed | still_valid | no_tokens | skipped | failed
    expiry: CredentialExpiry | None = None
    reason: str | None = None

    def as_row(self, now: datetime | None = None) -> dict[str, object]:
        now = now or datetime.now(timezone.utc)
        e = self.expiry or CredentialExpiry()
        return {
            "account": self.account_id,
            "channel": self.channel,
            "result": self.result,
            "access_expires_in": countdown(e.access, now),
            "refresh_expires_in": countdown(e.refresh, now),
            "authorization_expires_in": countdown(e.authorization, now),
            "reason": self.reason or "",
        }


def countdown(when: datetime | None, now: datetime) -> str:
    """``3h12m``, ``29d4h``, ``expired 5m ago`` or ``-`` (unknown)."""
    if when is None:
        return "-"
    seconds = int((when - now).total_seconds())
    text = _span(abs(seconds))
    return f"expired {text} ago" if seconds < 0 else text


def _span(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m"


def refresh_account(engine: Engine, account_id: str, *, within: timedelta = DEFAULT_HORIZON, force: bool = False) -> RefreshOutcome:
    account = engine.accounts.get(account_id)
    if account.status != "active":
        return RefreshOutcome(account.id, account.channel, "skipped", reason=f"account is {account.status}: {account.status_reason or '-'}")
    try:
        with AccountLock(engine.db, account.id):
            source = engine.connector(account, purpose="refresh")
            if not isinstance(source, RefreshableSource):
                return RefreshOutcome(account.id, account.channel, "no_tokens")
            refreshed = source.refresh(within=within, force=force)
            return RefreshOutcome(account.id, account.channel, "refreshed" if refreshed else "still_valid", source.credential_expiry())
    except SyncAlreadyRunning:
        return RefreshOutcome(account.id, account.channel, "skipped", reason="a sync holds the account; it refreshes its own tokens")
    except CredentialError as exc:
        reason = failures.cap(redact(f"token refresh refused: {failures.describe_reason(exc)}"))
        engine.accounts.set_status(account.id, REFRESH_FAILED, reason)
        return RefreshOutcome(account.id, account.channel, "failed", reason=reason)
    except ConnectorError as exc:  # the channel is down: try again next run, the account stays active
        return RefreshOutcome(account.id, account.channel, "failed", reason=failures.describe(exc))


def refresh_all(engine: Engine, *, within: timedelta = DEFAULT_HORIZON, force: bool = False, accounts: list[str] | None = None) -> list[RefreshOutcome]:
    ids = accounts or [a.id for a in engine.accounts.list()]
    return [refresh_account(engine, account_id, within=within, force=force) for account_id in ids]
