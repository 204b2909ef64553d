"""What the hostile-channel tests share: small sandboxes, hubs with tiny reply limits,
the sandbox's admin calls, and the checks every case ends with."""

from __future__ import annotations

import logging
from typing import Any

import requests
import sqlalchemy as sa

from connectors._http import ReplyLimits
from connectors._sandbox import SandboxServer
from simpul import audit, store
from simpul.accounts import Accounts
from simpul.budget import BudgetPolicy
from simpul.channels import get_channel
from simpul.db import Database
from simpul.engine import Engine
from simpul.model import Order
from simpul.runtime import Hub
from simpul.vault import KeyRing, Vault
from tests.faults.harness import QUICK_RETRY, start_sandbox as _start
from tests.oracle import source_state, stored_state

ORDERS = 30  # one list page: each case stays a few requests
# Small enough that the drip and huge-body cases end in well under a second; large enough
# that a loaded 2-core CI machine never trips them on an honest reply.
REPLY = ReplyLimits(deadline_seconds=1.5, max_bytes=2 * 1024 * 1024)


def start_sandbox(channel: str, *, orders: int = ORDERS, seed: int = 11) -> SandboxServer:
    return _start(channel, orders=orders, seed=seed)


def make_hub(db: Database, keyring: KeyRing, *, policy: BudgetPolicy | None = None, clock: Any = None, reply: ReplyLimits = REPLY) -> Hub:
    vault = Vault(keyring)
    accounts = Accounts(db, vault, actor="hostile")
    options: dict[str, Any] = {"connector_options": {"retry": QUICK_RETRY, "reply": reply}, "rate_limits": {"*": None}, "budget_policy": policy}
    if clock is not None:
        options["clock"] = clock
    return Hub(db, vault, accounts, Engine(db, accounts, actor="hostile", **options))


def add_account(hub: Hub, server: SandboxServer, account_id: str | None = None) -> str:
    account_id = account_id or f"h-{server.app.channel}"
    hub.accounts.add(account_id, server.app.channel, account_id, server.url, server.app.demo_credentials(), history_days=60)
    return account_id


def admin(server: SandboxServer, action: str, body: dict[str, Any]) -> Any:
    response = requests.post(f"{server.url}/_sandbox/{action}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def order_ids(server: SandboxServer) -> list[str]:
    mapping = get_channel(server.app.channel).mapping()
    return [mapping.external_id(raw) for raw in server.app.dump_orders()]


def assert_good_orders_landed(hub: Hub, account: str, server: SandboxServer, victims: set[str | None]) -> None:
    """Every order but the victims is stored exactly as the source has it now; no victim is."""
    mapping = get_channel(server.app.channel).mapping()
    good = [raw for raw in server.app.dump_orders() if mapping.external_id(raw) not in victims]
    stored = stored_state(hub.db, account)
    assert stored == source_state(mapping, good)
    with hub.db.connect() as conn:
        assert audit.verify(conn).ok


def quarantine_reasons(hub: Hub, account: str) -> dict[str | None, str]:
    with hub.db.connect() as conn:
        return {row["external_id"]: row["reason"] for row in store.open_quarantine(conn, account)}


def read_back_every_order(db: Database) -> int:
    """What ``simpul orders`` reads: every column of every order, money included."""
    with db.connect() as conn:
        return len(conn.execute(sa.select(Order.__table__)).all())


def no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text, text[-2000:]


def log_text(caplog: Any) -> str:
    return "\n".join(logging.Formatter().format(r) for r in caplog.records)


def listing_order(server: SandboxServer) -> list[str]:
    from tests.faults.harness import listing_order as walk

    return walk(server)
