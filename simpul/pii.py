"""Buyer data protection: sealed contacts, keyed match tokens, masking, retention.

What Simpul keeps about a buyer (UU PDP No. 27/2022 minimisation; FTC: hashes are not
anonymous, shared/reference/reliability.md §3):

- masked name and phone (``B**********o``, ``*********89``) for people reading lists;
- the contact as the channel sent it (name, phone, e-mail, street) only as a vault
  envelope bound to its order (``buyer_contact``);
- HMAC-SHA256 tokens of the *normalised* phone (E.164) and e-mail, keyed with the hub's
  pepper, so orders of one buyer can be matched across channels without storing the
  number; a plain hash of a phone number would be brute-forced in minutes.

``purge`` removes all of it (and the stored raw payloads) from finished orders older
than the retention period, and audits what it removed.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from simpul import audit
from simpul.canonical import BuyerContact, OrderStatus
from simpul.db import Database
from simpul.jsoncodec import dumps, loads
from simpul.keys import buyer_context
from simpul.model import Order, RawPayload
from simpul.vault import Vault

DEFAULT_COUNTRY_CODE = "62"  # Indonesia
DEFAULT_RETENTION_DAYS = 365
FINISHED = (OrderStatus.COMPLETED, OrderStatus.CANCELLED)
PII_COLUMNS = ("buyer_contact", "buyer_key_id", "buyer_phone_token", "buyer_email_token", "buyer_name_masked", "buyer_phone_masked", "ship_postcode", "note")
SEALED_COLUMNS = ("buyer_contact", "buyer_key_id", "buyer_phone_token", "buyer_email_token")  # BuyerVault.columns


def normalise_phone(text: str | None, country_code: str = DEFAULT_COUNTRY_CODE) -> str | None:
    """E.164 (``+6281234567890``) from the ways Indonesians write a number; None if masked or junk."""
    if not text or "*" in text:
        return None
    raw = text.strip()
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("+"):
        number = digits
    elif digits.startswith("00"):
        number = digits[2:]
    elif digits.startswith("0"):
        number = country_code + digits[1:]
    elif digits.startswith(country_code):
        number = digits
    else:
        number = country_code + digits
    return f"+{number}" if 8 <= len(number) <= 15 else None


def normalise_email(text: str | None) -> str | None:
    if not text or "*" in text or "@" not in text:
        return None
    return text.strip().lower()


def match_token(pepper: bytes, kind: str, normalised: str) -> str:
    return hmac.digest(pepper, f"{kind}\x1f{normalised}".encode(), "sha256").hex()  # one-shot C path


@dataclass(frozen=True)
class BuyerVault:
    """Turns a mapped ``BuyerContact`` into the order's PII columns (and back, for ops)."""

    vault: Vault
    pepper: bytes

    def columns(self, account_id: str, external_id: str, contact: BuyerContact | None) -> dict[str, Any]:
        if contact is None or contact.is_empty():
            return dict.fromkeys(SEALED_COLUMNS)
        plain = {k: v for k, v in (("name", contact.name), ("phone", contact.phone), ("email", contact.email), ("street", contact.street)) if v}
        envelope = self.vault.seal(buyer_context(account_id, external_id), dumps(plain).encode())
        phone, email = normalise_phone(contact.phone), normalise_email(contact.email)
        return {
            "buyer_contact": envelope,
            "buyer_key_id": self.vault.key_id_of(envelope),
            "buyer_phone_token": match_token(self.pepper, "phone", phone) if phone else None,
            "buyer_email_token": match_token(self.pepper, "email", email) if email else None,
        }

    def phone_token(self, phone: str) -> str | None:
        normal = normalise_phone(phone)
        return match_token(self.pepper, "phone", normal) if normal else None

    def reveal(self, account_id: str, external_id: str, envelope: str) -> BuyerContact:
        values = loads(self.vault.open(buyer_context(account_id, external_id), envelope).decode())
        return BuyerContact(**{k: values.get(k) for k in ("name", "phone", "email", "street")})


@dataclass(frozen=True, slots=True)
class PurgeResult:
    orders: int
    raw_payloads: int
    cutoff: datetime


def purge(db: Database, *, now: datetime, retention_days: int, actor: str, batch: int = 500) -> PurgeResult:
    """Remove buyer PII from finished orders last changed before ``now - retention_days``.

    Idempotent: purged orders are marked (``pii_purged_at``) and skipped next time. An
    order that changes again at the channel is re-synced with its (current) buyer data.
    """
    if retention_days < 0:
        raise ValueError("retention_days must not be negative")
    cutoff = now - timedelta(days=retention_days)
    purged = payloads = 0
    while True:
        with db.begin() as conn:
            done = _purge_batch(conn, cutoff, now=now, actor=actor, batch=batch)
        if done is None:
            return PurgeResult(purged, payloads, cutoff)
        purged, payloads = purged + done[0], payloads + done[1]


def _purge_batch(conn: sa.Connection, cutoff: datetime, *, now: datetime, actor: str, batch: int) -> tuple[int, int] | None:
    """One committed batch: (orders, raw payloads) purged, or None when nothing is left."""
    orders, raw = Order.__table__, RawPayload.__table__
    rows = conn.execute(
        sa.select(orders.c.account_id, orders.c.external_id)
        .where(orders.c.pii_purged_at.is_(None), orders.c.updated_at < cutoff, orders.c.status.in_(FINISHED))
        .order_by(orders.c.account_id, orders.c.external_id)
        .limit(batch)
    ).all()
    if not rows:
        return None
    payloads = 0
    by_account: dict[str, list[str]] = {}
    for account_id, external_id in rows:
        by_account.setdefault(account_id, []).append(external_id)
    events = []
    for account_id, ids in by_account.items():
        conn.execute(
            sa.update(orders)
            .where(orders.c.account_id == account_id, orders.c.external_id.in_(ids))
            .values({**dict.fromkeys(PII_COLUMNS), "pii_purged_at": now})
        )
        deleted = conn.execute(sa.delete(raw).where(raw.c.account_id == account_id, raw.c.external_id.in_(ids))).rowcount
        payloads += deleted
        events.append(
            audit.Event(
                action="pii.purged",
                actor=actor,
                account_id=account_id,
                entity_type="orders",
                entity_key=f"{len(ids)} orders",
                summary={"orders": ids, "fields": list(PII_COLUMNS), "raw_payloads": deleted, "cutoff": cutoff.isoformat()},
            )
        )
    audit.append(conn, events, now=now)
    return len(rows), payloads
