"""Open the hub from the environment: database, key ring, accounts, engine.

The CLI, the Prefect flows and the tests all start here, so they agree on where data
and keys live (``SIMPUL_DATABASE_URL``, ``SIMPUL_HOME``, ``SIMPUL_KEYRING``,
``SIMPUL_MASTER_KEY``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
) -> Hub:
    db = Database(url)
    if migrate:
        db.migrate()
    vault = Vault(keyring or KeyRing.load())
    accounts = Accounts(db, vault, actor=actor)
    return Hub(db, vault, accounts, Engine(db, accounts, actor=actor, connector_options=connector_options))
