"""Seller accounts on channels, and their encrypted credentials.

An account is a seller's shop on one channel (``toko-budi-shopee``). Its credentials are
stored only as a vault envelope; ``credentials()`` decrypts them for a connector and
``save_credentials()`` re-encrypts rotated tokens in their own, immediate transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from simpul import audit
from simpul.channels import get_channel
from simpul.db import Database
from simpul.model import Account, Credential, SyncCursor, SyncRun
from simpul.vault import Vault

ACCOUNTS = Account.__table__
CREDENTIALS = Credential.__table__
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


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


def _info(row: Mapping[str, Any]) -> AccountInfo:
    return AccountInfo(
        id=row["id"],
        channel=row["channel"],
        name=row["name"],
        base_url=row["base_url"],
        status=row["status"],
        status_reason=row["status_reason"],
        history_days=row["history_days"],
        last_sync_at=row["last_sync_at"],
    )


def validate_credentials(channel: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Check the channel's credential names are all there (values are never echoed)."""
    spec = get_channel(channel)
    missing = [f for f in spec.credential_fields if values.get(f) in (None, "")]
    if missing:
        raise AccountError(f"{channel} credentials need: {', '.join(missing)}")
    unknown = sorted(set(values) - set(spec.credential_fields) - {"access_expires_at"})
    if unknown:
        raise AccountError(f"unknown {channel} credential fields: {', '.join(unknown)}")
    return dict(values)


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
    ) -> AccountInfo:
        if not _ID.match(account_id):
            raise AccountError("account id: lowercase letters, digits and dashes, at most 63 characters")
        values = validate_credentials(channel, credentials)
        now = datetime.now(timezone.utc)
        envelope = self.vault.encrypt(account_id, values)
        with self.db.begin() as conn:
            exists = conn.execute(sa.select(ACCOUNTS.c.id).where(ACCOUNTS.c.id == account_id)).first()
            if exists and not replace:
                raise AccountError(f"account {account_id!r} exists already")
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
                sa.insert(CREDENTIALS).values(account_id=account_id, key_id=self.vault.key_id_of(envelope), envelope=envelope, updated_at=now)
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
                        summary={"channel": channel, "credential_key_id": self.vault.key_id_of(envelope)},
                    )
                ],
                now=now,
            )
        return self.get(account_id)

    def get(self, account_id: str) -> AccountInfo:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(ACCOUNTS).where(ACCOUNTS.c.id == account_id)).mappings().first()
        if row is None:
            raise AccountError(f"no account {account_id!r}; see `simpul accounts list`")
        return _info(row)

    def list(self) -> list[AccountInfo]:
        with self.db.connect() as conn:
            return [_info(r) for r in conn.execute(sa.select(ACCOUNTS).order_by(ACCOUNTS.c.id)).mappings()]

    def credentials(self, account_id: str) -> dict[str, Any]:
        with self.db.connect() as conn:
            envelope = conn.execute(sa.select(CREDENTIALS.c.envelope).where(CREDENTIALS.c.account_id == account_id)).scalar_one_or_none()
        if envelope is None:
            raise AccountError(f"account {account_id!r} has no stored credentials")
        return self.vault.decrypt(account_id, envelope)

    def save_credentials(self, account_id: str, values: Mapping[str, Any], *, run_id: str | None = None) -> None:
        """Persist rotated tokens at once, in their own transaction (single-use refresh tokens)."""
        now = datetime.now(timezone.utc)
        envelope = self.vault.encrypt(account_id, values)
        with self.db.begin() as conn:
            conn.execute(
                sa.update(CREDENTIALS)
                .where(CREDENTIALS.c.account_id == account_id)
                .values(envelope=envelope, key_id=self.vault.key_id_of(envelope), updated_at=now)
            )
            audit.append(
                conn,
                [audit.Event(action="credential.rotated", actor=self.actor, run_id=run_id, account_id=account_id, entity_type="account", entity_key=account_id, summary={"fields": sorted(values)})],
                now=now,
            )

    def set_status(self, account_id: str, status: str, reason: str | None, *, run_id: str | None = None) -> None:
        now = datetime.now(timezone.utc)
        with self.db.begin() as conn:
            conn.execute(sa.update(ACCOUNTS).where(ACCOUNTS.c.id == account_id).values(status=status, status_reason=reason))
            audit.append(
                conn,
                [audit.Event(action=f"account.{status}", actor=self.actor, run_id=run_id, account_id=account_id, entity_type="account", entity_key=account_id, summary={"reason": reason})],
                now=now,
            )


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
