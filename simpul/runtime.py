"""Open the hub from the environment: database, key ring, accounts, engine.

The CLI, the Prefect flows and the tests all start here, so they agree on where data
and keys live (``SIMPUL_DATABASE_URL``, ``SIMPUL_HOME``, ``SIMPUL_KEYRING``,
``SIMPUL_MASTER_KEY``) and on request budgets (``SIMPUL_RATE_LIMITS``, see
``rate_limits_from_env``). The key ring is loaded, never created, and checked against the
database before anything is written (``simpul.keys.check_ring``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.contract import RateLimit
from simpul.accounts import Accounts
from simpul.db import Database
from simpul.engine import Engine
from simpul.vault import KeyRing, Vault


@dataclass
class Hub:
    db: Database
    vault: Vault
    accounts: Accounts
    engine: Engine

    def close(self) -> None:
        self.db.dispose()


def open_hub(
    url: str | None = None,
    *,
    actor: str = "cli",
    migrate: bool = True,
    keyring: KeyRing | None = None,
    connector_options: Mapping[str, Any] | None = None,
    rate_limits: Mapping[str, RateLimit | None] | None = None,
    pool_size: int | None = None,
) -> Hub:
    """The hub, refused (``VaultError``) before anything is written when there is no key
    ring (it is never created here: that is set-up's job) or when the ring opens none of
    the database's sealed values. ``pool_size``: database connections kept open (a run
    syncing many accounts at once needs about two each)."""
    from simpul.keys import check_ring

    vault = Vault(keyring or KeyRing.load())
    db = Database(url, pool_size=pool_size)
    try:
        if migrate:
            db.migrate()
        check_ring(db, vault)
    except BaseException:
        db.dispose()
        raise
    accounts = Accounts(db, vault, actor=actor)
    limits = rate_limits_from_env() if rate_limits is None else rate_limits
    return Hub(db, vault, accounts, Engine(db, accounts, actor=actor, connector_options=connector_options, rate_limits=limits))


def rate_limits_from_env(text: str | None = None) -> dict[str, RateLimit | None]:
    """Overrides of the connectors' declared budgets from ``SIMPUL_RATE_LIMITS``.

    Comma-separated ``CHANNEL=RATE[:BURST]`` or ``CHANNEL=off``; ``*`` names every channel.
    Example: ``shopee=20:5,woocommerce=off`` (an app granted a higher Shopee quota; a
    self-hosted shop that allows anything). The test suite sets ``*=off``.
    """
    text = os.environ.get("SIMPUL_RATE_LIMITS", "") if text is None else text
    limits: dict[str, RateLimit | None] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        channel, sep, value = item.partition("=")
        if not sep or not channel.strip():
            raise ValueError(f"SIMPUL_RATE_LIMITS: {item!r} is not CHANNEL=RATE[:BURST] or CHANNEL=off")
        limits[channel.strip()] = RateLimit.parse(value)
    return limits
