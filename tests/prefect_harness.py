"""One Prefect API for the whole test session.

``prefect_test_harness`` starts a server on a fresh SQLite database (~12 s, with
migrations), so it is entered once per session, never per test
(shared/reference/prefect_stack.md §5). Telemetry is off and ``PREFECT_HOME`` is a temp
dir, so tests neither phone home nor touch ~/.prefect. Import the fixture in exactly one
place per session scope (the root conftest, or a single test module): every module that
imports it gets its own fixture definition and would start its own server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import pytest  # noqa: E402
from prefect.settings import PREFECT_HOME, PREFECT_SERVER_ANALYTICS_ENABLED, temporary_settings  # noqa: E402
from prefect.testing.utilities import prefect_test_harness  # noqa: E402


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("prefect-home")
    with temporary_settings(updates={PREFECT_HOME: home, PREFECT_SERVER_ANALYTICS_ENABLED: False}):
        with prefect_test_harness(server_startup_timeout=60):
            from flows._limits import ensure_database_limit

            ensure_database_limit()  # sync runs take their database slots from it (strict)
            yield
