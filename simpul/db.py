"""Where the data lives: one SQLAlchemy engine per database URL, migrated by Alembic.

``SIMPUL_DATABASE_URL`` picks the database; the default is a SQLite file under the
project's data directory (``SIMPUL_HOME``, else ``./data``), both created owner-only (it
holds buyer data and sealed credentials). SQLite runs in WAL mode with a busy timeout,
and every transaction starts with ``BEGIN IMMEDIATE`` so two writers queue up instead of
failing on a lock upgrade half-way through a page.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def data_dir() -> Path:
    return Path(os.environ.get("SIMPUL_HOME") or Path.cwd() / "data")


def default_url() -> str:
    url = os.environ.get("SIMPUL_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{data_dir() / 'simpul.db'}"


def redact_db_url(url: str) -> str:
    """The URL without its password, for messages."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001 - DBAPI types
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _create_private(path: Path) -> None:
    """Create the SQLite file and its directory owner-only if missing (SQLite gives its
    -wal and -shm files the file's mode)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


class Database:
    """An engine plus the few helpers the hub needs."""

    def __init__(self, url: str | None = None, *, echo: bool = False, pool_size: int | None = None) -> None:
        """``pool_size``: connections kept open (SQLAlchemy's default is 5, plus 10 overflow
        beyond it); a run syncing many accounts at once needs about two each."""
        self.url = url or default_url()
        parsed = sa.engine.make_url(self.url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            _create_private(Path(parsed.database))
        kwargs: dict = {"echo": echo, "future": True}
        if parsed.get_backend_name() == "postgresql":
            kwargs["pool_pre_ping"] = True
        if pool_size is not None:
            kwargs["pool_size"] = pool_size
        self.engine = sa.create_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _sqlite_setup(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest revision (idempotent)."""
        from alembic import command

        command.upgrade(alembic_config(self.url), "head")

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str):  # noqa: ANN201 - alembic.config.Config
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg
