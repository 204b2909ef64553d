"""What the fault tests share: the harness's two modes, sandboxes on a frozen data clock,
hubs with quick retries, the sandbox's admin calls, ``simpul sync`` subprocesses, and the
end-state check every fault scenario finishes with.

Modes (``tests/faults/README.md``): the default ``ci`` mode keeps the harness within a
minute on two cores; ``SIMPUL_FAULTS_PROFILE=nightly`` runs more kills, more Hypothesis
examples and more concurrent writers. ``SIMPUL_KILL_ITERATIONS`` overrides the kill count.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

from connectors._http import RetryConfig
from connectors._sandbox import SandboxServer
from simpul import audit, store
from simpul.accounts import Accounts
from simpul.channels import RETURNS, SETTLEMENTS, get_channel
from simpul.db import Database
from simpul.engine import INCREMENTAL, Engine
from simpul.jsoncodec import loads
from simpul.model import SyncRun
from simpul.runtime import Hub
from simpul.vault import KeyRing, Vault
from tests.oracle import assert_converged, assert_returns_converged, assert_settlements_converged

PROFILE = os.environ.get("SIMPUL_FAULTS_PROFILE", "ci")
if PROFILE not in ("ci", "nightly"):
    raise ValueError(f"SIMPUL_FAULTS_PROFILE must be 'ci' or 'nightly', not {PROFILE!r}")
NIGHTLY = PROFILE == "nightly"
KILL_ITERATIONS = int(os.environ.get("SIMPUL_KILL_ITERATIONS", "25" if NIGHTLY else "5"))

# Hypothesis profiles: derandomized in both (a failure reproduces on every machine), many
# more and longer action sequences at night.
_HYPOTHESIS = {"derandomize": True, "database": None, "deadline": None, "suppress_health_check": [HealthCheck.too_slow], "print_blob": True}
settings.register_profile("faults-ci", max_examples=10, stateful_step_count=12, **_HYPOTHESIS)
settings.register_profile("faults-nightly", max_examples=200, stateful_step_count=30, **_HYPOTHESIS)
HYPOTHESIS_SETTINGS = settings.get_profile(f"faults-{PROFILE}")

CHANNELS = ("shopee", "woocommerce", "lazada", "tiktok", "blibli")
ROOT = Path(__file__).resolve().parents[2]

# The retry *policy* is under test here, not the clock: waits of milliseconds, the same
# number of attempts as in production.
QUICK_RETRY = RetryConfig(attempts=6, budget_seconds=30, base_delay=0.01, max_delay=0.05, max_retry_after=5)
READ_TIMEOUT = 1.5  # seconds; the stand-in for the client's 30 s read timeout, long enough that a loaded 2-core CI box never times out a normal page


def start_sandbox(channel: str, *, orders: int, seed: int) -> SandboxServer:
    """The channel's sandbox on a frozen data clock (the source holds still unless told)."""
    app = get_channel(channel).sandbox_class()(orders=orders, seed=seed)
    app.clock.freeze(app.clock.now())
    return SandboxServer(app, seed=seed).start()


def make_hub(db: Database, keyring: KeyRing, *, actor: str = "faults") -> Hub:
    """A hub on ``db`` whose connectors retry quickly and ignore rate limits."""
    vault = Vault(keyring)
    accounts = Accounts(db, vault, actor=actor)
    engine = Engine(db, accounts, actor=actor, connector_options={"retry": QUICK_RETRY}, rate_limits={"*": None})
    return Hub(db, vault, accounts, engine)


def add_account(hub: Hub, server: SandboxServer, account_id: str, *, history_days: int = 60) -> str:
    channel = server.app.channel
    hub.accounts.add(account_id, channel, account_id, server.url, server.app.demo_credentials(), history_days=history_days)
    return account_id


def admin(server: SandboxServer, action: str, body: dict[str, Any]) -> Any:
    """``POST /_sandbox/<action>``: faults, clock, mutate, corrupt."""
    response = requests.post(f"{server.url}/_sandbox/{action}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def listing_order(server: SandboxServer) -> list[str]:
    """Every order id, in the order a listing by update time walks them."""
    mapping = get_channel(server.app.channel).mapping()
    bundles = [mapping.map_order(raw) for raw in server.app.dump_orders()]
    return [b.order.external_id for b in sorted(bundles, key=lambda b: (b.order.updated_at, b.order.external_id))]


def assert_synced(db: Database, account_id: str, server: SandboxServer) -> None:
    """The end of every scenario: the store equals the source exactly (no missing, extra,
    stale or duplicated orders), the audit chain verifies, and no run is left half done."""
    spec = get_channel(server.app.channel)
    assert_converged(db, account_id, spec.mapping(), server.app.dump_orders())
    if spec.has(RETURNS):  # the returns stream too: every return, once, current
        assert_returns_converged(db, account_id, spec.mapping(RETURNS), server.app.dump_returns())
    if spec.has(SETTLEMENTS):  # and the payouts: every released one, once, as the marketplace has it now
        assert_settlements_converged(db, account_id, server.app.dump_settlements())
    with db.connect() as conn:
        verdict = audit.verify(conn)
        assert verdict.ok, str(verdict)
        assert store.load_checkpoint(conn, account_id, INCREMENTAL) is None
        assert store.load_cursor(conn, account_id) is not None
        assert not spec.has(RETURNS) or store.load_cursor(conn, account_id, stream=RETURNS) is not None


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One ``sync_run`` row: its counts are committed with each page, so they tell what a
    killed run got done before it died."""

    run_id: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    pages: int
    requests: int


def run_records(db: Database, account_id: str) -> list[RunRecord]:
    runs = SyncRun.__table__
    with db.connect() as conn:
        rows = conn.execute(sa.select(runs).where(runs.c.account_id == account_id).order_by(runs.c.started_at)).mappings().all()
    out = []
    for row in rows:
        counts = loads(row["counts"] or "{}")
        out.append(RunRecord(row["run_id"], row["status"], row["started_at"], row["finished_at"], counts.get("pages", 0), counts.get("requests", 0)))
    return out


# -- `simpul sync` as a real process ---------------------------------------------------------
def cli_env(home: Path, database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SIMPUL_HOME": str(home),
        "SIMPUL_DATABASE_URL": database_url,
        "SIMPUL_KEYRING": str(home / "keyring.json"),
        "SIMPUL_RATE_LIMITS": "*=off",
    }


def spawn_sync(env: dict[str, str], account_id: str) -> subprocess.Popen:
    """``simpul sync ACCOUNT --direct --json``: the engine under the account lock, no Prefect."""
    return subprocess.Popen(
        [sys.executable, "-m", "simpul.cli", "sync", account_id, "--direct", "--json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def spawn_cli(env: dict[str, str], *args: str, prelude: str = "") -> subprocess.Popen:
    """``python -m simpul.cli ARGS`` as a real process; ``prelude`` is Python run first in
    that process (a test's hook, e.g. one that kills the process at a chosen point)."""
    code = f"{prelude}\nimport sys\nfrom simpul.cli import main\nsys.exit(main({list(args)!r}))"
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
