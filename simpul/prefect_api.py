"""The Prefect API a one-shot process runs its flows on: the configured server, or a temporary one.

Prefect's own ephemeral mode starts an API server on first use and waits
``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`` (20 s) for it. On a busy 2-core
machine the start took 10-34 s, so a `simpul sync` died in a traceback (then a uvicorn
``AssertionError``), and a ``kill -9`` of the CLI left the server running. So the CLI,
the demo and the benchmarks come here instead, and only when they do want Prefect
(`simpul sync --prefect`, ``PREFECT_API_URL`` set, the demo); a plain `simpul sync` runs
the engine directly (``simpul.runner``).

- ``PREFECT_API_URL`` set (environment or Prefect profile): one health check first; a
  server that does not answer is one line naming the fix (``PrefectUnavailable``).
- not set: a temporary server is started up front, with one line on stderr while it
  starts, a long wait (``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS``, default 180 s
  here), its output in a log file named on failure, owner-only files, and tethered to this
  process (``simpul.tethered``), so it ends with it, ``kill -9`` included. It is registered
  as Prefect's default ephemeral server, so nothing inside Prefect starts a second one.
"""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from simpul import failures

DEFAULT_STARTUP_SECONDS = 180.0
STARTUP_ENV = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
FIX = "set PREFECT_API_URL to a running Prefect server (`prefect server start`), or run without Prefect (--direct)"


class PrefectUnavailable(RuntimeError):
    """Prefect's API could not be started or reached; the text names the fix."""


def configured_url() -> str | None:
    """``PREFECT_API_URL`` as Prefect resolves it (environment, profile, settings context)."""
    from prefect.settings import get_current_settings

    return get_current_settings().api.url or None


def startup_seconds() -> float:
    text = os.environ.get(STARTUP_ENV)
    try:
        return float(text) if text else DEFAULT_STARTUP_SECONDS
    except ValueError:
        raise PrefectUnavailable(f"{STARTUP_ENV} must be a number of seconds, not {text!r}") from None


@contextmanager
def prefect_api(*, say: Callable[[str], None] | None = None) -> Iterator[str]:
    """Run the block against a Prefect API that answers; yields its URL.

    ``say`` writes the progress text (default: stderr, no newline until the end).
    """
    say = say or _stderr
    url = configured_url()
    if url:
        _check(url)
        with _translated(url):
            yield url
        return
    server = start_temporary_server(startup_seconds(), say)
    try:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            try:
                with _translated(server.api_url):
                    yield server.api_url
            finally:
                _drain()
    finally:
        server.stop()
        server.forget_log()


def _check(url: str) -> None:
    import httpx

    try:
        response = httpx.get(url.rstrip("/") + "/health", timeout=10)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise PrefectUnavailable(f"cannot reach the Prefect API at {_safe(url)} ({failures.describe(exc)}): {FIX}") from None


@contextmanager
def _translated(url: str) -> Iterator[None]:
    """A connection error escaping a flow is Prefect's API going away: one line, not a traceback."""
    import httpx

    try:
        yield
    except httpx.HTTPError as exc:
        raise PrefectUnavailable(f"lost the Prefect API at {_safe(url)} ({failures.describe(exc)}): {FIX}") from None


def _drain() -> None:
    """Send the run logs and events still queued before the server goes (as Prefect's test harness does)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for drain in (lambda: APILogWorker.drain_all(timeout=10), lambda: EventsWorker.drain_all(timeout=10)):
        try:
            drain()
        except Exception:  # noqa: BLE001, S110 - best effort: the runs themselves are recorded
            pass


def _safe(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _stderr(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def start_temporary_server(timeout: float, say: Callable[[str], None]) -> Any:
    """A ``TemporaryServer`` that answers, registered as Prefect's default; stop() it."""
    from prefect.server.api.server import SubprocessASGIServer

    server = _server_class()(port=_free_port())
    SubprocessASGIServer._instances[None] = server  # Prefect's own `SubprocessASGIServer()` calls find this one
    say(f"Starting a temporary Prefect API (up to {timeout:g} s; a running server in PREFECT_API_URL skips this)...")
    started = time.monotonic()
    try:
        server.start(timeout=timeout)
    except BaseException:
        say("\n")
        raise
    say(f" ready after {time.monotonic() - started:.0f} s\n")
    return server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@functools.cache
def _server_class() -> type:
    """Defined on first use: Prefect's server module takes a second to import."""
    from prefect.server.api.server import SubprocessASGIServer

    class TemporaryServer(SubprocessASGIServer):
        """Prefect's ``SubprocessASGIServer`` with Simpul's start: a deadline by the clock,
        tethered to this process, owner-only files, output to a log file, no stray lines."""

        log_path: Path | None = None

        def start(self, timeout: float | None = None) -> None:  # noqa: D102 - see the class
            if self.running:
                return
            import httpx

            deadline = time.monotonic() + (timeout or DEFAULT_STARTUP_SECONDS)
            self.running = True
            self.server_process = self._run_uvicorn_command()
            try:
                with httpx.Client() as client:
                    while True:
                        code = self.server_process.poll()
                        if code == 3:  # uvicorn: the port was taken meanwhile; Prefect retries the same way
                            self.port = _free_port()
                            self.server_process = self._run_uvicorn_command()
                            continue
                        if code is not None:
                            raise PrefectUnavailable(f"the temporary Prefect API exited with code {code} while starting (log: {self.log_path}): {FIX}")
                        try:
                            if client.get(f"{self.api_url}/health", timeout=5).status_code == 200:
                                return
                        except httpx.HTTPError:
                            pass
                        if time.monotonic() > deadline:
                            raise PrefectUnavailable(
                                f"the temporary Prefect API did not start within {timeout:g} s (log: {self.log_path}; a longer wait: {STARTUP_ENV}): {FIX}"
                            )
                        time.sleep(0.2)
            except BaseException:
                self.stop()
                raise

        def _run_uvicorn_command(self) -> Any:
            import prefect
            from prefect.settings import get_current_settings

            from simpul import tethered

            settings = get_current_settings()
            home = Path(settings.home)
            home.mkdir(mode=0o700, parents=True, exist_ok=True)
            if self.log_path is None:
                fd, name = tempfile.mkstemp(prefix="simpul-temporary-api-", suffix=".log", dir=home)
                os.close(fd)
                self.log_path = Path(name)
            log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it; closed below
            try:
                return tethered.spawn(
                    [
                        sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent), "--factory",
                        "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(self.port),
                        "--log-level", "error", "--lifespan", "on",
                    ],
                    umask=0o077,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    env={
                        **os.environ,
                        "PREFECT_UI_ENABLED": "0",
                        "PREFECT__SERVER_EPHEMERAL": "1",
                        "PREFECT__SERVER_FINAL": "1",
                        **settings.to_environment_variables(exclude_unset=True),
                    },
                )
            finally:
                log.close()

        def stop(self) -> None:  # noqa: D102 - quietly, and forgets the default registration
            process, self.server_process = self.server_process, None
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except Exception:  # noqa: BLE001 - TimeoutExpired
                    process.kill()
                    process.wait()
            for key in [k for k, v in SubprocessASGIServer._instances.items() if v is self]:
                del SubprocessASGIServer._instances[key]
            self.running = False

        def forget_log(self) -> None:
            """The log is kept only when the start failed (its error names it)."""
            if self.log_path is not None:
                self.log_path.unlink(missing_ok=True)

    return TemporaryServer
