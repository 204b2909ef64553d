"""Two syncs of one account never overlap; a dead holder does not block forever."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from simpul.locks import LOCKS, AccountLock, SyncAlreadyRunning


def test_second_holder_is_refused_until_release(db) -> None:  # noqa: ANN001
    first = AccountLock(db, "shop-1")
    first.acquire()
    with pytest.raises(SyncAlreadyRunning):
        AccountLock(db, "shop-1").acquire()
    with AccountLock(db, "shop-2"):  # other accounts are independent
        pass
    first.release()
    with AccountLock(db, "shop-1"):
        with pytest.raises(SyncAlreadyRunning):  # the new holder holds it in turn
            AccountLock(db, "shop-1").acquire()


def holders(db) -> list[str]:  # noqa: ANN001
    with db.connect() as conn:
        return [r[0] for r in conn.execute(sa.select(LOCKS.c.holder).where(LOCKS.c.account_id == "shop-1"))]


def test_sqlite_lease_of_a_dead_process_is_taken_over(sqlite_db) -> None:  # noqa: ANN001
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    here = socket.gethostname()
    with sqlite_db.begin() as conn:
        conn.execute(sa.insert(LOCKS).values(account_id="shop-1", holder=f"{here}:{pid}:x", expires_at=datetime.now(timezone.utc) + timedelta(hours=1)))
    lock = AccountLock(sqlite_db, "shop-1")
    lock.acquire()
    assert holders(sqlite_db) == [lock.holder]  # the dead holder's row is now ours
    lock.release()
    assert holders(sqlite_db) == []


def test_sqlite_lease_of_a_live_process_on_this_host_is_not_taken_over(sqlite_db) -> None:  # noqa: ANN001
    """The negative control of the test above: only a *dead* holder's lease is taken over."""
    live = f"{socket.gethostname()}:{os.getpid()}:other-engine"
    with sqlite_db.begin() as conn:
        conn.execute(sa.insert(LOCKS).values(account_id="shop-1", holder=live, expires_at=datetime.now(timezone.utc) + timedelta(hours=1)))
    with pytest.raises(SyncAlreadyRunning, match="other-engine"):
        AccountLock(sqlite_db, "shop-1").acquire()
    assert holders(sqlite_db) == [live]


def test_sqlite_live_foreign_lease_blocks_until_it_expires(sqlite_db) -> None:  # noqa: ANN001
    with sqlite_db.begin() as conn:
        conn.execute(sa.insert(LOCKS).values(account_id="shop-1", holder="other-host:1:x", expires_at=datetime.now(timezone.utc) + timedelta(hours=1)))
    with pytest.raises(SyncAlreadyRunning):
        AccountLock(sqlite_db, "shop-1").acquire()
    with sqlite_db.begin() as conn:
        conn.execute(sa.update(LOCKS).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    with AccountLock(sqlite_db, "shop-1") as lock:
        assert holders(sqlite_db) == [lock.holder]


@pytest.mark.postgres
def test_advisory_locks_of_two_hubs_in_one_database_are_apart(pg_db) -> None:  # noqa: ANN001
    """Each hub (schema) locks its own accounts: the same account id in another schema of
    the same database is not refused (advisory locks are per database, not per schema)."""
    from simpul.db import Database
    from tests.conftest import POSTGRES_URL, _postgres_schema_url

    admin = sa.create_engine(POSTGRES_URL)
    schema = f"t_other_{os.getpid()}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    other = Database(_postgres_schema_url(schema))
    try:
        with AccountLock(pg_db, "shop-1"):
            with AccountLock(other, "shop-1"):  # another hub's account of the same name
                with pytest.raises(SyncAlreadyRunning):
                    AccountLock(pg_db, "shop-1").acquire()  # negative control: this hub's is held
    finally:
        other.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
