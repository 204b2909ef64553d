"""One Prefect API for the whole test session: a real ``prefect server start``.

The server (tests/prefect_server.py) runs on its own PostgreSQL database with its UI and
services, as in production, and is started once per session (~14 s), never per test
(shared/reference/prefect_stack.md §5). In-process flow tests reach it through
``prefect_api``; deployed-run tests also get the ``RealPrefect`` handle (``real_prefect``)
to start workers. Telemetry is off and ``PREFECT_HOME`` is a temp dir, so tests neither
phone home nor touch ~/.prefect. Import these fixtures in exactly one place per session
scope (the root conftest): every module that imports them gets its own fixture
definition and would start its own server.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import pytest  # noqa: E402
from prefect.settings import PREFECT_API_URL, PREFECT_HOME, PREFECT_SERVER_ANALYTICS_ENABLED, temporary_settings  # noqa: E402

from tests.prefect_server import RealPrefect, real_prefect_server  # noqa: E402


class BackgroundServer:
    """Starts the server in a thread as soon as the session knows it will need one
    (``pytest_collection_finish`` in conftest.py), so its ~25 s of start, migrations,
    ``simpul prefect setup`` and ``prefect deploy`` overlap the tests that come first.
    The thread only starts and waits for processes: nothing in it may touch Alembic,
    whose context is module-global (tests migrate on the main thread meanwhile)."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._done = threading.Event()
        self._server: RealPrefect | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="prefect-server", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            with real_prefect_server() as server:
                self._server = server
                self._ready.set()
                self._done.wait()
        except BaseException as exc:  # noqa: BLE001 - handed to the test that needs the server
            self._error = exc
            self._ready.set()

    def get(self) -> RealPrefect:
        self.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        assert self._server is not None
        return self._server

    def stop(self) -> None:
        if self._thread is not None:
            self._done.set()
            self._thread.join(timeout=120)


SERVER = BackgroundServer()


@pytest.fixture(scope="session")
def real_prefect() -> Iterator[RealPrefect]:
    server = SERVER.get()
    server.migrate_hub()
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url, PREFECT_HOME: server.home, PREFECT_SERVER_ANALYTICS_ENABLED: False}):
            yield server
    finally:
        SERVER.stop()


@pytest.fixture(scope="session")
def prefect_api(real_prefect: RealPrefect) -> Iterator[None]:
    yield
