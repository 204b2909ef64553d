"""Key management over the database: hub secrets, key rotation, retirement.

Everything the vault seals lives in one of ``SEALED`` (credentials, hub secrets, buyer
contacts). Rotation adds a key to the ring, makes it active, then rewraps every envelope
under an older key in small committed batches: a run killed half-way leaves each row
either old or new (both readable, the old key is still in the ring), and rerunning
``rotate`` resumes where it stopped. Retiring a key is refused while any row needs it.

Hub secrets (``hub_secret``) are random keys the hub itself needs and every worker must
share: the pepper of buyer match tokens and the audit-anchor signing key. They are
stored sealed in ``vault_secret``, so they follow the key ring (env or file) and survive
rotation without changing. They are created once, by set-up (``simpul keys init``,
``accounts add``, the demo), never on first use: a worker started with a wrong key would
have sealed a fresh one under it.

``check_ring`` refuses a ring that opens none of the database's sealed values before
anything is written (``open_hub`` runs it for every command and flow run).

A worker that opened its hub before a rotation still wraps new values with the old key;
``keys status`` shows them and ``retire`` refuses the old key until a rerun of ``rotate``
has rewrapped them too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from simpul import audit
from simpul.db import Database
from simpul.model import Credential, Order, VaultSecret
from simpul.vault import KeyRing, Vault, VaultError, default_keyring_path

BATCH = 500
PII_PEPPER = "pii-pepper"
AUDIT_ANCHOR_KEY = "audit-anchor-key"


@dataclass(frozen=True, slots=True)
class Sealed:
    """A column of vault envelopes: where it is, and the context its envelopes are bound to."""

    name: str
    table: sa.Table
    key_column: str
    envelope_column: str
    context: Callable[[Mapping[str, Any]], str]
    pk: tuple[str, ...]


SEALED: tuple[Sealed, ...] = (
    Sealed("credentials", Credential.__table__, "key_id", "envelope", lambda r: Vault.credential_context(r["account_id"]), ("account_id",)),
    Sealed("hub secrets", VaultSecret.__table__, "key_id", "envelope", lambda r: hub_secret_context(r["name"]), ("name",)),
    Sealed(
        "buyer contacts",
        Order.__table__,
        "buyer_key_id",
        "buyer_contact",
        lambda r: buyer_context(r["account_id"], r["external_id"]),
        ("account_id", "external_id"),
    ),
)


def hub_secret_context(name: str) -> str:
    return f"simpul:hub:{name}"


def buyer_context(account_id: str, external_id: str) -> str:
    return f"simpul:buyer:{account_id}:{external_id}"


HUB_SECRETS = (PII_PEPPER, AUDIT_ANCHOR_KEY)


def hub_secret(db: Database, vault: Vault, name: str, *, create: bool = False) -> bytes:
    """The named 32-byte hub secret.

    Created only by set-up (``ensure_hub_secrets``; ``create=True``): a command that
    made a missing one on the side, under whatever key it was given, left a secret the
    real ring could never open (and a rotation that failed half-way on it).
    """
    table = VaultSecret.__table__
    with db.connect() as conn:
        envelope = conn.execute(sa.select(table.c.envelope).where(table.c.name == name)).scalar_one_or_none()
    if envelope is None:
        if not create:
            raise VaultError(f"hub secret {name!r} is missing from this database: run `simpul keys init` (with the key ring this database was set up with)")
        check_ring(db, vault)  # never seal a new secret under a ring that opens nothing here
        fresh = vault.seal(hub_secret_context(name), os.urandom(32))
        # Insert-or-keep, then read back: a check-then-insert races on PostgreSQL, where
        # every worker starting together saw no row and all but one hit the primary key.
        insert = (postgresql.insert if db.dialect == "postgresql" else sqlite.insert)(table)
        with db.begin() as conn:
            conn.execute(
                insert.values(name=name, key_id=vault.key_id_of(fresh), envelope=fresh, created_at=datetime.now(timezone.utc)).on_conflict_do_nothing(
                    index_elements=[table.c.name]
                )
            )
            envelope = conn.execute(sa.select(table.c.envelope).where(table.c.name == name)).scalar_one()
    return vault.open(hub_secret_context(name), envelope)


def ensure_hub_secrets(db: Database, vault: Vault) -> list[str]:
    """Set-up: create the hub secrets that are missing; returns the names created."""
    table = VaultSecret.__table__
    with db.connect() as conn:
        present = set(conn.execute(sa.select(table.c.name)).scalars())
    missing = [name for name in HUB_SECRETS if name not in present]
    for name in missing:
        hub_secret(db, vault, name, create=True)
    return missing


def check_ring(db: Database, vault: Vault) -> None:
    """Refuse a key ring that opens none of this database's sealed values.

    A wrong ``SIMPUL_MASTER_KEY``, or a ring file that is not this database's, would
    otherwise seal new values nobody can open together with the old ones. One value per
    kind and key id is tried (a few microseconds each); an empty database accepts any ring.
    """
    first_error: VaultError | None = None
    for sealed in SEALED:
        t = sealed.table
        columns = [t.c[c] for c in (*sealed.pk, sealed.envelope_column)]
        for kid in sorted(vault.ring.keys, key=lambda k: k != vault.ring.active):
            with db.connect() as conn:
                row = conn.execute(
                    sa.select(*columns).where(t.c[sealed.envelope_column].is_not(None), t.c[sealed.key_column] == kid).limit(1)
                ).mappings().first()
            if row is None:
                continue
            try:
                vault.open(sealed.context(row), row[sealed.envelope_column])
                return
            except VaultError as exc:
                first_error = first_error or exc
    total = sealed_count(db)
    if total == 0:
        return
    if first_error is None:  # nothing sealed under the ring's key ids (or it appeared meanwhile): try any one
        first_error = _open_any(db, vault)
        if first_error is None:
            return
    raise VaultError(
        f"the key ring ({vault.ring.source}) opens none of the {total} sealed values in this database"
        f" ({first_error}): wrong SIMPUL_MASTER_KEY, or not this database's key ring? Nothing was written."
    )


def _open_any(db: Database, vault: Vault) -> VaultError | None:
    """The error of the first sealed value that does not open; None if one opens."""
    for sealed in SEALED:
        t = sealed.table
        with db.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c[sealed.envelope_column].is_not(None)).limit(1)).mappings().first()
        if row is not None:
            try:
                vault.open(sealed.context(row), row[sealed.envelope_column])
            except VaultError as exc:
                return exc
            return None
    return None


def sealed_count(db: Database) -> int:
    use = key_use(db)
    return sum(use.total(k) for k in use.by_key)


def init_ring(db: Database, path: Path | None = None) -> tuple[KeyRing, bool]:
    """Set-up: the key ring (created at ``path`` if missing), returns ``(ring, created)``.

    A new ring is refused for a database that already holds sealed values: they were
    sealed under another ring, which must be restored instead.
    """
    try:
        return KeyRing.load(path), False
    except VaultError:
        if os.environ.get("SIMPUL_MASTER_KEY") and path is None:
            raise
        target = path or default_keyring_path()
        if target.exists():
            raise
    held = sealed_count(db)
    if held:
        raise VaultError(
            f"no key ring at {target}, but this database holds {held} values sealed under another ring:"
            " restore that ring (or set SIMPUL_KEYRING / SIMPUL_MASTER_KEY to it); a new ring could open none of them"
        )
    return KeyRing.create(target), True


@dataclass(slots=True)
class KeyUse:
    """How many sealed rows each key id wraps, per kind of secret."""

    by_key: dict[str, dict[str, int]] = field(default_factory=dict)

    def total(self, kid: str) -> int:
        return sum(self.by_key.get(kid, {}).values())

    def keys(self) -> set[str]:
        return {k for k, v in self.by_key.items() if sum(v.values())}


def key_use(db: Database) -> KeyUse:
    use = KeyUse()
    with db.connect() as conn:
        for sealed in SEALED:
            kid_col = sealed.table.c[sealed.key_column]
            query = sa.select(kid_col, sa.func.count()).where(sealed.table.c[sealed.envelope_column].is_not(None)).group_by(kid_col)
            for kid, count in conn.execute(query):
                use.by_key.setdefault(kid, {})[sealed.name] = count
    return use


def _stale_rows(conn: sa.Connection, sealed: Sealed, active: str) -> list[Mapping[str, Any]]:
    t = sealed.table
    cols = [t.c[c] for c in (*sealed.pk, sealed.envelope_column)]
    query = (
        sa.select(*cols)
        .where(t.c[sealed.envelope_column].is_not(None), t.c[sealed.key_column] != active)
        .order_by(*(t.c[c] for c in sealed.pk))
        .limit(BATCH)
    )
    return list(conn.execute(query).mappings())


def rewrap_all(db: Database, vault: Vault, *, on_batch: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Rewrap every envelope not under the active key, one committed batch at a time."""
    done: dict[str, int] = {}
    for sealed in SEALED:
        done[sealed.name] = 0
        for rows in _batches(db, sealed, vault.ring.active):
            with db.begin() as conn:
                for row in rows:
                    envelope = vault.rewrap(sealed.context(row), row[sealed.envelope_column])
                    where = sa.and_(*(sealed.table.c[c] == row[c] for c in sealed.pk))
                    conn.execute(
                        sa.update(sealed.table).where(where).values({sealed.envelope_column: envelope, sealed.key_column: vault.ring.active})
                    )
            done[sealed.name] += len(rows)
            if on_batch:
                on_batch(sealed.name, len(rows))
    return done


def _batches(db: Database, sealed: Sealed, active: str) -> Iterator[list[Mapping[str, Any]]]:
    while True:
        with db.connect() as conn:
            rows = _stale_rows(conn, sealed, active)
        if not rows:
            return
        yield rows


@dataclass(frozen=True, slots=True)
class RotationReport:
    active: str
    added: str | None  # the key this run created (None: resumed or env ring)
    rewrapped: Mapping[str, int]
    retired: tuple[str, ...]
    remaining_keys: tuple[str, ...]


def rotate(
    db: Database,
    ring: KeyRing,
    *,
    retire: bool = False,
    actor: str = "cli:keys",
    on_batch: Callable[[str, int], None] | None = None,
) -> RotationReport:
    """Add a key (file ring; or resume an unfinished rotation), rewrap all, maybe retire old keys.

    With ``SIMPUL_MASTER_KEY`` the ring cannot be written: the operator puts the new key
    first in the variable, and ``rotate`` rewraps everything to it.
    """
    vault = Vault(ring)
    check_ring(db, vault)
    needed = sorted(key_use(db).keys() - set(ring.keys))
    if needed:  # refused before the ring changes: a rewrap would stop at the first such row
        raise VaultError(f"cannot rotate: values in this database need key(s) {', '.join(needed)}, which the key ring ({ring.source}) does not hold")
    added = None
    if ring.path is not None and not ring.rotating:
        ring = ring.with_new_key()
        ring.save()  # the new key is durable before any row depends on it
        added = ring.active
    vault = Vault(ring)
    _audit(db, actor, "keys.rotation_started", {"active": ring.active, "added": added, "source": "file" if ring.path else "env"})
    rewrapped = rewrap_all(db, vault, on_batch=on_batch)
    retired: tuple[str, ...] = ()
    if ring.path is not None:
        if retire:
            still_used = key_use(db).keys()
            retired = tuple(sorted(k for k in ring.keys if k != ring.active and k not in still_used))
            ring = ring.without(set(retired))
        ring = replace(ring, rotating=False)
        ring.save()
    _audit(db, actor, "keys.rotated", {"active": ring.active, "rewrapped": dict(rewrapped), "retired": list(retired)})
    return RotationReport(ring.active, added, rewrapped, retired, tuple(sorted(ring.keys)))


def retire(db: Database, ring: KeyRing, kids: set[str], *, actor: str = "cli:keys") -> KeyRing:
    """Remove keys from a file ring; refused (naming the rows) while any envelope needs them."""
    use = key_use(db)
    busy = {k: use.by_key[k] for k in kids if use.total(k)}
    if busy:
        detail = "; ".join(f"{k}: " + ", ".join(f"{n} {what}" for what, n in sorted(v.items()) if n) for k, v in sorted(busy.items()))
        raise VaultError(f"cannot retire keys still in use ({detail}); run `simpul keys rotate` first")
    unknown = kids - set(ring.keys)
    if unknown:
        raise VaultError(f"no such keys in the ring: {', '.join(sorted(unknown))}")
    ring = ring.without(kids)
    ring.save()
    _audit(db, actor, "keys.retired", {"retired": sorted(kids), "active": ring.active})
    return ring


def _audit(db: Database, actor: str, action: str, summary: Mapping[str, Any]) -> None:
    with db.begin() as conn:
        audit.append(conn, [audit.Event(action=action, actor=actor, entity_type="keyring", entity_key="keyring", summary=summary)])
