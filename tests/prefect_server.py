"""One real Prefect server for the whole test session: ``prefect server start`` (API, UI
and services) on its own PostgreSQL database, as production runs it.

Every Prefect test shares it (``prefect_api`` in tests/prefect_harness.py points the
client at it): the in-process flow tests, and the deployed ones that need what a test
harness does not give: the UI (tests/test_prefect_browser.py), the deployments of
prefect.yaml, the ``simpul-database`` limit made by ``simpul prefect setup``, and real
workers (``simpul prefect worker``) running flow runs in their own processes. PostgreSQL
matters: Prefect keeps a deployment's parameter schema as jsonb there, which reorders its
keys (the resync form's field order came from that).

The scheduler service is off, so the schedules of prefect.yaml never fire here: tests
start the runs they want. Cost: ~14 s to start (migrations), once per session.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
POSTGRES_URL = os.environ.get("SIMPUL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Worker:
    name: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def submitted(self) -> set[str]:
        """Ids of the flow runs this worker submitted (from its log)."""
        out = set()
        for line in self.log().splitlines():
            if "submitting flow run '" in line:
                out.add(line.rsplit("submitting flow run '", 1)[1].split("'", 1)[0])
        return out


@dataclass
class RealPrefect:
    url: str
    home: Path
    hub_url: str
    master_key: str
    workers: list[Worker] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    def migrate_hub(self) -> None:
        """Migrate the workers' hub before any flow run opens it (concurrent runs would race
        to). On the main thread: Alembic's context is module-global, not thread-safe."""
        from simpul.db import Database

        hub_db = Database(self.hub_url)
        hub_db.migrate()
        hub_db.dispose()

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a worker (and so of its flow runs) or a ``simpul`` command."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SIMPUL_"))}
        env.update(
            PREFECT_API_URL=self.api_url,
            PREFECT_HOME=str(self.home),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            DO_NOT_TRACK="1",
            PREFECT_WORKER_QUERY_SECONDS="1",
            SIMPUL_PROJECT_DIR=str(ROOT),
            SIMPUL_DATABASE_URL=self.hub_url,
            SIMPUL_MASTER_KEY=self.master_key,
            SIMPUL_RATE_LIMITS="*=off",
            SIMPUL_TEST_POSTGRES_URL=POSTGRES_URL,
        )
        env.update(extra)
        return env

    def start_workers(self, **workers: dict[str, Any]) -> dict[str, Worker]:
        """Several workers (name -> ``start_worker`` options), started side by side."""
        started = {name: self.start_worker(name, wait=False, **options) for name, options in workers.items()}
        for worker in started.values():
            self._wait_started(worker)
        return started

    def start_worker(self, name: str, *, work_queue: str, limit: int | None = None, grace: float = 20.0, wait: bool = True) -> Worker:
        """``simpul prefect worker`` on one queue of the ``simpul`` pool, logging to a file."""
        log_path = self.home / f"worker-{name}.log"
        command = [str(BIN / "simpul"), "prefect", "worker", "--pool", "simpul", "--grace", str(grace)]
        if limit is not None:
            command += ["--limit", str(limit)]
        command += ["--", "--name", name, "--work-queue", work_queue]
        with open(log_path, "wb") as out:
            process = subprocess.Popen(command, env=self.env(), stdout=out, stderr=subprocess.STDOUT, cwd=self.home)
        worker = Worker(name, process, log_path)
        self.workers.append(worker)
        if wait:
            self._wait_started(worker)
        return worker

    @staticmethod
    def _wait_started(worker: Worker) -> None:
        deadline = time.monotonic() + 60
        while "started!" not in worker.log():
            if worker.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {worker.name} did not start:\n{worker.log()[-3000:]}")
            time.sleep(0.2)

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.terminate()
        for worker in self.workers:
            try:
                worker.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.process.kill()
        self.workers.clear()

    # -- flow runs ------------------------------------------------------------------------
    def run_deployment(self, name: str, parameters: dict[str, Any] | None = None) -> Any:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name(name)
            return client.create_flow_run_from_deployment(deployment.id, parameters=parameters or {})

    def wait_final(self, run_id: Any, timeout: float = 120.0) -> Any:
        from prefect.client.orchestration import get_client

        deadline = time.monotonic() + timeout
        with get_client(sync_client=True) as client:
            while True:
                run = client.read_flow_run(run_id)
                if run.state is not None and run.state.is_final():
                    return run
                if time.monotonic() > deadline:
                    raise TimeoutError(f"flow run {run.name} still {run.state.name if run.state else '?'} after {timeout:.0f} s")
                time.sleep(0.5)


def _database(name: str) -> str:
    return sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


@contextmanager
def real_prefect_server() -> Iterator[RealPrefect]:
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"prefect_{uuid.uuid4().hex[:10]}"
    hub_schema = f"hub_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            conn.exec_driver_sql(f'CREATE SCHEMA "{hub_schema}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        import pytest

        pytest.fail(f"the real Prefect server needs PostgreSQL at {POSTGRES_URL!r} ({type(exc).__name__}); deselect with -m 'not prefect'", pytrace=False)
    home = Path(tempfile.mkdtemp(prefix="simpul-prefect-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    prefect_db = sa.engine.make_url(_database(name)).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    hub_url = sa.engine.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={hub_schema}"}).render_as_string(hide_password=False)
    server_env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    server_env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_DATABASE_CONNECTION_URL=prefect_db,
        PREFECT_SERVER_API_HOST="127.0.0.1",
        PREFECT_SERVER_API_PORT=str(port),  # also the UI's idea of where the API is
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false",
        PREFECT_SERVER_LOGGING_LEVEL="WARNING",
    )
    log = open(home / "server.log", "wb")
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start"], env=server_env, stdout=log, stderr=subprocess.STDOUT, cwd=home)
    real = RealPrefect(url, home, hub_url, base64.b64encode(os.urandom(32)).decode())
    try:
        _wait_healthy(server, url, home)
        _run([str(BIN / "simpul"), "prefect", "setup"], real.env())
        _run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all"], real.env(), cwd=ROOT)
        yield real
    finally:
        real.stop_workers()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{hub_schema}" CASCADE')
        admin.dispose()


def _wait_healthy(server: subprocess.Popen, url: str, home: Path) -> None:
    import httpx

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"prefect server did not start:\n{(home / 'server.log').read_text(errors='replace')[-3000:]}")


def _run(command: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
