"""One sync per account at a time, whatever started it (schedule, ops, CLI, tests).

Prefect's deployment concurrency limit stops a second *scheduled* run; this lock also
covers the CLI, a second Prefect server and tests. PostgreSQL uses a session advisory
lock, which the server drops by itself when the holder's connection dies (``kill -9``
included). SQLite uses a lease row: a holder on this host whose process is gone, or
whose lease ran out, is taken over.
"""

from __future__ import annotations

import os
import socket
import uuid
import zlib
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from simpul.db import Database
from simpul.model import SyncLock

LOCKS = SyncLock.__table__


class SyncAlreadyRunning(RuntimeError):
    pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class AccountLock:
    def __init__(self, db: Database, account_id: str, *, lease: timedelta = timedelta(minutes=15)) -> None:
        self.db = db
        self.account_id = account_id
        self.lease = lease
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._pg_conn: Connection | None = None
        self._key: int | None = None  # PostgreSQL: the advisory lock's key, see _advisory_key

    def __enter__(self) -> "AccountLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        if self.db.dialect == "postgresql":
            conn = self.db.engine.connect()
            self._key = _advisory_key(conn, self.account_id)
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar()
            conn.commit()
            if not got:
                conn.close()
                raise SyncAlreadyRunning(f"a sync of account {self.account_id!r} is already running")
            self._pg_conn = conn
            return
        now = datetime.now(timezone.utc)
        with self.db.begin() as conn:
            row = conn.execute(sa.select(LOCKS).where(LOCKS.c.account_id == self.account_id)).mappings().first()
            if row is not None and not self._may_take_over(row, now):
                raise SyncAlreadyRunning(f"a sync of account {self.account_id!r} is already running (holder {row['holder']})")
            values = {"holder": self.holder, "expires_at": now + self.lease}
            if row is None:
                conn.execute(sa.insert(LOCKS).values(account_id=self.account_id, **values))
            else:
                conn.execute(sa.update(LOCKS).where(LOCKS.c.account_id == self.account_id, LOCKS.c.holder == row["holder"]).values(**values))

    @staticmethod
    def _may_take_over(row, now: datetime) -> bool:  # noqa: ANN001 - a result row
        if row["expires_at"] <= now:
            return True
        host, _, rest = row["holder"].partition(":")
        pid = rest.partition(":")[0]
        return host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid))

    def renew(self) -> None:
        if self._pg_conn is not None:
            return
        with self.db.begin() as conn:
            conn.execute(
                sa.update(LOCKS)
                .where(LOCKS.c.account_id == self.account_id, LOCKS.c.holder == self.holder)
                .values(expires_at=datetime.now(timezone.utc) + self.lease)
            )

    def release(self) -> None:
        if self._pg_conn is not None:
            # The connection goes back to the pool, so unlock explicitly.
            self._pg_conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            self._pg_conn.commit()
            self._pg_conn.close()
            self._pg_conn = None
            return
        with self.db.begin() as conn:
            conn.execute(sa.delete(LOCKS).where(LOCKS.c.account_id == self.account_id, LOCKS.c.holder == self.holder))


def _advisory_key(conn: Connection, account_id: str) -> int:
    """The lock key of one account of one hub. Advisory locks are per database, not per
    schema, so the key names the schema too: two hubs in one database (or two test runs,
    each in its own schema) never lock each other's accounts."""
    schema = conn.execute(sa.text("SELECT current_schema()")).scalar() or ""
    return zlib.crc32(f"simpul-sync:{schema}:{account_id}".encode())
