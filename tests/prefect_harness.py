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
from collections.abc import Iterator

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import pytest  # noqa: E402
from prefect.settings import PREFECT_API_URL, PREFECT_HOME, PREFECT_SERVER_ANALYTICS_ENABLED, temporary_settings  # noqa: E402

from tests.prefect_server import RealPrefect, real_prefect_server  # noqa: E402


@pytest.fixture(scope="session")
def real_prefect() -> Iterator[RealPrefect]:
    with real_prefect_server() as server:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url, PREFECT_HOME: server.home, PREFECT_SERVER_ANALYTICS_ENABLED: False}):
            yield server


@pytest.fixture(scope="session")
def prefect_api(real_prefect: RealPrefect) -> Iterator[None]:
    yield
