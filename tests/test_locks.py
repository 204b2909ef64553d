"""Two syncs of one account never overlap; a dead holder does not block forever."""

from __future__ import annotations

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
        pass


def test_sqlite_lease_of_a_dead_process_is_taken_over(sqlite_db) -> None:  # noqa: ANN001
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    import socket

    with sqlite_db.begin() as conn:
        conn.execute(
            sa.insert(LOCKS).values(account_id="shop-1", holder=f"{socket.gethostname()}:{pid}:x", expires_at=datetime.now(timezone.utc) + timedelta(hours=1))
        )
    with AccountLock(sqlite_db, "shop-1"):
        pass


def test_sqlite_live_foreign_lease_blocks_until_it_expires(sqlite_db) -> None:  # noqa: ANN001
    with sqlite_db.begin() as conn:
        conn.execute(sa.insert(LOCKS).values(account_id="shop-1", holder="other-host:1:x", expires_at=datetime.now(timezone.utc) + timedelta(hours=1)))
    with pytest.raises(SyncAlreadyRunning):
        AccountLock(sqlite_db, "shop-1").acquire()
    with sqlite_db.begin() as conn:
        conn.execute(sa.update(LOCKS).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    with AccountLock(sqlite_db, "shop-1"):
        pass
