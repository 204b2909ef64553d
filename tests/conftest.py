"""Shared fixtures: databases (SQLite and a real PostgreSQL), a hub, the fake channel.

PostgreSQL: ``SIMPUL_TEST_POSTGRES_URL`` (default the local server on 127.0.0.1:5432,
database ``test``). Each test gets a fresh schema. A missing server FAILS the PostgreSQL
tests with a clear message; deselect them with ``-m "not postgres"`` on a machine
without one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# Sandboxes answer at once; the channels' real budgets (10 req/s) would only slow the suite
# down. Also reaches flows and `simpul` subprocesses. tests/test_rate_limits.py covers them.
os.environ.setdefault("SIMPUL_RATE_LIMITS", "*=off")

from simpul.accounts import Accounts  # noqa: E402
from simpul.channels import CHANNELS
from tests.fakes import fake_spec  # noqa: E402
from simpul.db import Database  # noqa: E402
from simpul.engine import Engine  # noqa: E402
from simpul.runtime import Hub  # noqa: E402
from simpul.vault import KeyRing, Vault  # noqa: E402
from tests.prefect_harness import SERVER, prefect_api, real_prefect  # noqa: E402, F401 - the one session-wide Prefect server

POSTGRES_URL = os.environ.get("SIMPUL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FAKE = fake_spec("tests.fakes:FakeConnector")


def sqlite_database(tmp_path) -> Database:  # noqa: ANN001
    db = Database(f"sqlite:///{tmp_path / 'simpul.db'}")
    db.migrate()
    return db


@pytest.fixture
def sqlite_db(tmp_path) -> Iterator[Database]:  # noqa: ANN001
    db = sqlite_database(tmp_path)
    yield db
    db.dispose()


def _postgres_schema_url(schema: str) -> str:
    url = sa.engine.make_url(POSTGRES_URL)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


@pytest.fixture
def pg_db() -> Iterator[Database]:
    admin = sa.create_engine(POSTGRES_URL)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL is required for this test and is not reachable at {POSTGRES_URL!r} "
            f"({type(exc).__name__}). Start it, set SIMPUL_TEST_POSTGRES_URL, or deselect with -m 'not postgres'.",
            pytrace=False,
        )
    db = Database(_postgres_schema_url(schema))
    db.migrate()
    yield db
    db.dispose()
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, tmp_path) -> Iterator[Database]:  # noqa: ANN001
    """Both real databases: every core test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        database = sqlite_database(tmp_path)
        yield database
        database.dispose()
    else:
        yield request.getfixturevalue("pg_db")


@pytest.fixture
def keyring() -> KeyRing:
    return KeyRing(active="test", keys={"test": os.urandom(32)})


@pytest.fixture
def hub(db, keyring) -> Hub:  # noqa: ANN001
    vault = Vault(keyring)
    accounts = Accounts(db, vault, actor="test")
    return Hub(db, vault, accounts, Engine(db, accounts, actor="test", rate_limits={"*": None}))


@pytest.fixture
def fake_channel(monkeypatch) -> Iterator:  # noqa: ANN001
    """Register the in-memory fake channel and give a fresh source."""
    import tests.fakes as fakes

    monkeypatch.setitem(CHANNELS, "fake", FAKE)
    monkeypatch.setattr(fakes, "SOURCE", fakes.FakeSource())
    yield fakes.SOURCE


@pytest.fixture
def cli_home(tmp_path, monkeypatch) -> Path:  # noqa: ANN001
    """An empty home for the command line and its processes: a SQLite database and a key
    ring path under tmp_path, no master key, no debug tracebacks. Nothing is created yet."""
    monkeypatch.setenv("SIMPUL_HOME", str(tmp_path))
    monkeypatch.setenv("SIMPUL_DATABASE_URL", f"sqlite:///{tmp_path / 'simpul.db'}")
    monkeypatch.setenv("SIMPUL_KEYRING", str(tmp_path / "keyring.json"))
    monkeypatch.delenv("SIMPUL_MASTER_KEY", raising=False)
    monkeypatch.delenv("SIMPUL_DEBUG", raising=False)
    return tmp_path


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the session's Prefect server now if any selected test needs it (it comes up
    while the tests before the first Prefect test run)."""
    if any(item.get_closest_marker("prefect") for item in session.items):
        SERVER.start()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    SERVER.stop()  # stops the server (and drops its database) even if no test used it
