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
