"""Seller accounts on channels, and their encrypted credentials.

An account is a seller's shop on one channel (``toko-budi-shopee``). Its credentials are
stored only as a vault envelope; ``credentials()`` decrypts them for a connector, with
every secret field wrapped in ``SecretStr``, and ``save_credentials()`` re-encrypts
rotated tokens in their own, immediate transaction (a single-use refresh token must be
durable before it is used). Token expiry dates are kept beside the envelope in plain
columns, so listings show them without decrypting anything.

``add`` verifies new credentials with one cheap authenticated call before it stores them.
Adding is set-up: it checks the key ring against the database and creates the hub
secrets if they are missing (``simpul.keys``). An account keeps its channel for life:
its orders, cursor and checkpoints belong to that channel, so ``--replace`` with another
channel is refused (use a new id).

``disable``/``enable`` stop and resume its syncs; ``remove`` drops the credentials for
good and hides the account, but keeps its orders and the audit trail (both are records
of what happened). Each is audited.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from connectors._http.errors import ConnectorError, CredentialError
from connectors._http.redaction import redact_line, remember
from connectors._http.secret import plain, reveal, wrap
from connectors.contract import EXPIRY_FIELDS
from simpul import audit
from simpul.channels import get_channel
from simpul.db import Database
from simpul.failures import cap
from simpul.model import Account, Credential, SyncCursor, SyncRun
from simpul.vault import Vault

ACCOUNTS = Account.__table__
CREDENTIALS = Credential.__table__
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
ACTIVE, DISABLED, REMOVED = "active", "disabled", "removed"
MAX_HISTORY_DAYS = 10_000  # ~27 years: before any channel existed, and far from datetime's limits
_LATEST_EXPIRY = datetime(9000, 1, 1, tzinfo=timezone.utc).timestamp()


class AccountError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class AccountInfo:
    id: str
    channel: str
    name: str
    base_url: str
    status: str
    status_reason: str | None
    history_days: int
    last_sync_at: datetime | None
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    authorization_expires_at: datetime | None = None


def _info(row: Mapping[str, Any]) -> AccountInfo:
    return AccountInfo(**{name: row[name] for name in AccountInfo.__dataclass_fields__})


def _with_expiry() -> sa.Select:
    return sa.select(ACCOUNTS, *(CREDENTIALS.c[f] for f in EXPIRY_FIELDS)).outerjoin(CREDENTIALS, CREDENTIALS.c.account_id == ACCOUNTS.c.id)


def _expiry_columns(values: Mapping[str, Any]) -> dict[str, datetime | None]:
    """The plain expiry columns from a credential set's epoch-second fields."""
    out = {}
    for name in EXPIRY_FIELDS:
        value = values.get(name)
        valid = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < _LATEST_EXPIRY
        out[name] = datetime.fromtimestamp(value, timezone.utc) if valid else None
    return out


def validate_credentials(channel: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Check the channel's credential names are all there (values are never echoed)."""
    spec = get_channel(channel)
    missing = [f for f in spec.credential_fields if values.get(f) in (None, "")]
    if missing:
        raise AccountError(f"{channel} credentials need: {', '.join(missing)}")
    unknown = sorted(set(values) - set(spec.credential_fields) - set(EXPIRY_FIELDS))
    if unknown:
        raise AccountError(f"unknown {channel} credential fields: {', '.join(unknown)}")
    for name in EXPIRY_FIELDS:
        value = values.get(name)
        if value is not None and not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < _LATEST_EXPIRY):
            raise AccountError(f"{name} must be a time in seconds since 1970 (e.g. 1767225600), or left out")
    return dict(values)


def validate_history_days(days: Any) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_HISTORY_DAYS:
        raise AccountError(f"history days must be a whole number from 1 to {MAX_HISTORY_DAYS:,} (how far back the first sync reaches)")
    return days


class Accounts:
    def __init__(self, db: Database, vault: Vault, *, actor: str = "cli") -> None:
        self.db = db
        self.vault = vault
        self.actor = actor

    def add(
        self,
        account_id: str,
        channel: str,
        name: str,
        base_url: str,
        credentials: Mapping[str, Any],
        *,
        history_days: int = 30,
        replace: bool = False,
        verify: bool = False,
    ) -> AccountInfo:
        """Store an account; with ``verify``, only after the channel accepted its credentials."""
        from simpul import keys

        if not _ID.match(account_id):
            raise AccountError("account id: lowercase letters, digits and dashes, at most 63 characters")
        get_channel(channel)
        validate_history_days(history_days)
        values = plain(validate_credentials(channel, credentials))
        with self.db.connect() as conn:
            self._may_add(conn, account_id, channel, replace)
        if verify:
            values = self.verify(channel, base_url, values)
        keys.check_ring(self.db, self.vault)
        keys.ensure_hub_secrets(self.db, self.vault)
        now = datetime.now(timezone.utc)
        envelope = self.vault.encrypt(account_id, values)
        with self.db.begin() as conn:
            exists = self._may_add(conn, account_id, channel, replace)
            if exists:
                conn.execute(
                    sa.update(ACCOUNTS)
                    .where(ACCOUNTS.c.id == account_id)
                    .values(channel=channel, name=name, base_url=base_url, status="active", status_reason=None, history_days=history_days)
                )
                conn.execute(sa.delete(CREDENTIALS).where(CREDENTIALS.c.account_id == account_id))
            else:
                conn.execute(
                    sa.insert(ACCOUNTS).values(
                        id=account_id, channel=channel, name=name, base_url=base_url, status="active", history_days=history_days, created_at=now
                    )
                )
            conn.execute(
                sa.insert(CREDENTIALS).values(
                    account_id=account_id, key_id=self.vault.key_id_of(envelope), envelope=envelope, updated_at=now, **_expiry_columns(values)
                )
            )
            audit.append(
                conn,
                [
                    audit.Event(
                        action="account.replaced" if exists else "account.added",
                        actor=self.actor,
                        account_id=account_id,
                        entity_type="account",
                        entity_key=account_id,
                        summary={"channel": channel, "credential_key_id": self.vault.key_id_of(envelope), "verified": verify},
                    )
                ],
                now=now,
            )
        return self.get(account_id)

    @staticmethod
    def _may_add(conn: sa.Connection, account_id: str, channel: str, replace: bool) -> bool:
        """Whether the account exists; refuses a duplicate without ``replace`` and any change of channel."""
        row = conn.execute(sa.select(ACCOUNTS.c.channel).where(ACCOUNTS.c.id == account_id)).first()
        if row is None:
            return False
        if not replace:
            raise AccountError(f"account {account_id!r} exists already (--replace updates its credentials)")
        if row.channel != channel:
            raise AccountError(
                f"account {account_id!r} is a {row.channel} account and keeps that channel (its orders and sync cursor are {row.channel}'s):"
                f" add the {channel} shop under a new account id"
            )
        return True

    def verify(self, channel: str, base_url: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """One authenticated call with these credentials; returns them as the call left them.

        (A check may refresh a token or learn the authorisation's expiry: keep that.)
        """
        spec = get_channel(channel)
        latest = dict(values)

        def keep(fresh: Mapping[str, Any]) -> None:
            latest.update(plain(fresh))

        try:
            connector = spec.connector_class()(base_url, wrap(values, spec.secret_fields), on_credentials=keep)
            connector.check()
        except CredentialError as exc:
            raise AccountError(f"{channel} refused these credentials: {exc}; nothing was stored") from None
        except (ConnectorError, OSError) as exc:
            raise AccountError(f"could not verify the credentials at {base_url}: {exc}; nothing was stored (--no-verify stores them unchecked)") from None
        return latest

    def get(self, account_id: str) -> AccountInfo:
        with self.db.connect() as conn:
            row = conn.execute(_with_expiry().where(ACCOUNTS.c.id == account_id)).mappings().first()
        if row is None:
            raise AccountError(f"no account {account_id!r}; see `simpul accounts list`")
        return _info(row)

    def list(self, *, include_removed: bool = False) -> list[AccountInfo]:
        query = _with_expiry().order_by(ACCOUNTS.c.id)
        if not include_removed:
            query = query.where(ACCOUNTS.c.status != REMOVED)
        with self.db.connect() as conn:
            return [_info(r) for r in conn.execute(query).mappings()]

    def disable(self, account_id: str, reason: str | None = None) -> AccountInfo:
        """No syncs (scheduled, CLI, flows) until ``enable``; takes effect at the next run."""
        account = self.get(account_id)
        if account.status == REMOVED:
            raise AccountError(f"account {account_id!r} was removed; add it again with `simpul accounts add --replace`")
        if account.status != DISABLED:
            self.set_status(account_id, DISABLED, reason or "disabled by `simpul accounts disable`")
        return self.get(account_id)

    def enable(self, account_id: str) -> AccountInfo:
        """Undo ``disable``. An account stopped by its channel needs new credentials instead."""
        account = self.get(account_id)
        if account.status in (REMOVED, "credential_error", "refresh_failed"):
            raise AccountError(
                f"account {account_id!r} is {account.status} ({account.status_reason or 'no reason recorded'}):"
                " store new credentials with `simpul accounts add --replace`"
            )
        if account.status != ACTIVE:
            self.set_status(account_id, ACTIVE, None)
        return self.get(account_id)

    def remove(self, account_id: str) -> AccountInfo:
        """Drop the credentials and hide the account; its orders and audit entries stay.

        Refused while a sync of the account runs (its lock). ``accounts add --replace``
        with the same channel brings it back, resuming from its cursor.
        """
        from simpul.locks import AccountLock, SyncAlreadyRunning

        self.get(account_id)
        now = datetime.now(timezone.utc)
        try:
            with AccountLock(self.db, account_id), self.db.begin() as conn:
                dropped = conn.execute(sa.delete(CREDENTIALS).where(CREDENTIALS.c.account_id == account_id)).rowcount
                conn.execute(sa.update(ACCOUNTS).where(ACCOUNTS.c.id == account_id).values(status=REMOVED, status_reason="removed by `simpul accounts remove`"))
                audit.append(
                    conn,
                    [audit.Event(action="account.removed", actor=self.actor, account_id=account_id, entity_type="account", entity_key=account_id, summary={"credentials_dropped": bool(dropped), "orders_kept": True})],
                    now=now,
                )
        except SyncAlreadyRunning as exc:
            raise AccountError(f"{exc}; remove it when that sync has finished") from None
        return self.get(account_id)

    def credentials(self, account_id: str, *, purpose: str | None = None, run_id: str | None = None) -> dict[str, Any]:
        """The decrypted set, secret fields as ``SecretStr``; a ``purpose`` is audited as a use."""
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(CREDENTIALS.c.envelope, CREDENTIALS.c.key_id, ACCOUNTS.c.channel)
                .join(ACCOUNTS, ACCOUNTS.c.id == CREDENTIALS.c.account_id)
                .where(CREDENTIALS.c.account_id == account_id)
            ).first()
        if row is None:
            raise AccountError(f"account {account_id!r} has no stored credentials")
        spec = get_channel(row.channel)
        values = wrap(self.vault.decrypt(account_id, row.envelope), spec.secret_fields)
        remember(reveal(values[f]) for f in spec.secret_fields if values.get(f) is not None)
        if purpose is not None:
            self._audit("credential.used", account_id, {"purpose": purpose, "key_id": row.key_id}, run_id=run_id)
        return values

    def save_credentials(self, account_id: str, values: Mapping[str, Any], *, run_id: str | None = None) -> None:
        """Persist rotated tokens at once, in their own transaction (single-use refresh tokens)."""
        now = datetime.now(timezone.utc)
        values = plain(values)
        remember(str(values[f]) for f in get_channel(self.get(account_id).channel).secret_fields if values.get(f))
        envelope = self.vault.encrypt(account_id, values)
        expiry = _expiry_columns(values)
        with self.db.begin() as conn:
            conn.execute(
                sa.update(CREDENTIALS)
                .where(CREDENTIALS.c.account_id == account_id)
                .values(envelope=envelope, key_id=self.vault.key_id_of(envelope), updated_at=now, **expiry)
            )
            audit.append(
                conn,
                [
                    audit.Event(
                        action="credential.rotated",
                        actor=self.actor,
                        run_id=run_id,
                        account_id=account_id,
                        entity_type="account",
                        entity_key=account_id,
                        summary={"fields": sorted(values), "key_id": self.vault.key_id_of(envelope), **{k: v.isoformat() if v else None for k, v in expiry.items()}},
                    )
                ],
                now=now,
            )

    def set_status(self, account_id: str, status: str, reason: str | None, *, run_id: str | None = None) -> None:
        """``reason`` is stored and audited (for good): its first line only, redacted and capped."""
        now = datetime.now(timezone.utc)
        reason = cap(redact_line(reason.strip().splitlines()[0])) if reason and reason.strip() else None
        with self.db.begin() as conn:
            conn.execute(sa.update(ACCOUNTS).where(ACCOUNTS.c.id == account_id).values(status=status, status_reason=reason))
            audit.append(
                conn,
                [audit.Event(action=f"account.{status}", actor=self.actor, run_id=run_id, account_id=account_id, entity_type="account", entity_key=account_id, summary={"reason": reason})],
                now=now,
            )

    def _audit(self, action: str, account_id: str, summary: Mapping[str, Any], *, run_id: str | None = None) -> None:
        with self.db.begin() as conn:
            audit.append(conn, [audit.Event(action=action, actor=self.actor, run_id=run_id, account_id=account_id, entity_type="account", entity_key=account_id, summary=summary)])


def last_runs(db: Database) -> dict[str, Mapping[str, Any]]:
    """The newest sync run per account, for listings."""
    runs = SyncRun.__table__
    with db.connect() as conn:
        rows = conn.execute(sa.select(runs).order_by(runs.c.started_at)).mappings().all()
    return {r["account_id"]: r for r in rows}


def cursors(db: Database) -> dict[str, datetime]:
    table = SyncCursor.__table__
    with db.connect() as conn:
        return {r.account_id: r.until for r in conn.execute(sa.select(table.c.account_id, table.c.until))}
