"""The hub's database budget as a Prefect global concurrency limit (``simpul-database``).

Every sync flow run holds, for as long as it runs, one slot per database connection it
may open: ``CONNECTIONS_PER_ACCOUNT`` for each account it syncs at once (on PostgreSQL an
account holds its advisory-lock session and a connection for its page transactions), so
shard runs on any number of workers never open more connections together than the limit
allows. A shard run takes its slots in one acquisition (``occupy``), not one per account:
that is two API calls per shard run instead of two per account.

The limit must exist before a run uses it: ``simpul prefect setup`` creates it (once per
Prefect server, idempotent), and runs acquire it with ``strict=True``, so a missing limit
fails the run with that advice instead of silently limiting nothing (Prefect's default).
Asking for more slots than the limit has is refused by the server (HTTP 422) and would
never succeed, so a run first reads the limit and shrinks its concurrency to fit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectNotFound

DATABASE_LIMIT = "simpul-database"
DEFAULT_DATABASE_SLOTS = 80  # PostgreSQL's default max_connections is 100: leave room for the rest
CONNECTIONS_PER_ACCOUNT = 2
ACQUIRE_TIMEOUT_SECONDS = 600.0  # two schedule intervals; a dead holder's lease expires after 300 s

log = logging.getLogger("simpul.flows")


class LimitMissing(RuntimeError):
    pass


def ensure_database_limit(slots: int = DEFAULT_DATABASE_SLOTS) -> tuple[int, bool]:
    """Create the limit with ``slots`` unless it exists; never changes an existing one.

    Returns (its limit, whether it was created now)."""
    with get_client(sync_client=True) as client:
        try:
            return client.read_global_concurrency_limit_by_name(DATABASE_LIMIT).limit, False
        except ObjectNotFound:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=DATABASE_LIMIT, limit=slots))
            return slots, True


def database_limit() -> int:
    with get_client(sync_client=True) as client:
        try:
            limit = client.read_global_concurrency_limit_by_name(DATABASE_LIMIT)
        except ObjectNotFound:
            raise LimitMissing(f"the global concurrency limit {DATABASE_LIMIT!r} does not exist on this Prefect server: run `simpul prefect setup`") from None
    return limit.limit


def fit(concurrency_wanted: int, limit: int) -> int:
    """The most accounts at once that fit the limit (at least one, if the limit allows one)."""
    if limit < CONNECTIONS_PER_ACCOUNT:
        raise LimitMissing(f"{DATABASE_LIMIT!r} has {limit} slot(s); one account needs {CONNECTIONS_PER_ACCOUNT}: raise it with `simpul prefect setup --database-slots N`")
    return max(1, min(concurrency_wanted, limit // CONNECTIONS_PER_ACCOUNT))


@contextmanager
def database_slots(accounts_at_once: int) -> Iterator[int]:
    """Hold the slots for ``accounts_at_once`` accounts (shrunk to fit the limit); yields
    how many accounts may run at once."""
    fitted = fit(accounts_at_once, database_limit())
    if fitted < accounts_at_once:
        log.warning("%s allows %d account(s) at once, not %d", DATABASE_LIMIT, fitted, accounts_at_once)
    with concurrency(DATABASE_LIMIT, occupy=fitted * CONNECTIONS_PER_ACCOUNT, strict=True, timeout_seconds=ACQUIRE_TIMEOUT_SECONDS):
        yield fitted
