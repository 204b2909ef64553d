"""Fresh, migrated databases for one measurement, and a hub with one account on them.

SQLite is a file in a temporary directory (WAL, as Simpul configures it); PostgreSQL is
a new schema in the server named by ``--postgres-url`` (dropped afterwards), so a run
never touches anyone's data.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from connectors.contract import RateLimit
from simpul.accounts import Accounts
from simpul.db import Database
from simpul.engine import Engine
from simpul.runtime import Hub
from simpul.vault import KeyRing, Vault

DEFAULT_POSTGRES_URL = os.environ.get("SIMPUL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
UNLIMITED: Mapping[str, RateLimit | None] = {"*": None}


@contextmanager
def fresh_database(kind: str, postgres_url: str = DEFAULT_POSTGRES_URL) -> Iterator[Database]:
    """A migrated, empty database of ``kind`` ("sqlite" or "postgresql")."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="simpul-bench-") as tmp:
            db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
            db.migrate()
            try:
                yield db
            finally:
                db.dispose()
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.engine.make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    db = Database(url.render_as_string(hide_password=False))
    try:
        db.migrate()
        yield db
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def open_bench_hub(db: Database, *, rate_limits: Mapping[str, RateLimit | None] = UNLIMITED) -> Hub:
    vault = Vault(KeyRing(active="bench", keys={"bench": os.urandom(32)}))
    accounts = Accounts(db, vault, actor="bench")
    return Hub(db, vault, accounts, Engine(db, accounts, actor="bench", rate_limits=rate_limits))


def add_account(hub: Hub, account: str, channel: str, url: str, credentials: Mapping[str, Any]) -> str:
    hub.accounts.add(account, channel, account, url, credentials, history_days=60)
    return account


def count_rows(db: Database, table: str) -> int:
    with db.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
