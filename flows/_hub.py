"""The hub of one flow run, shared with its tasks through a context variable.

Tasks get ids and counts only; the hub (database, vault, engine) stays in this process,
so no credential, key or payload becomes a Prefect parameter, task input or result.
Opening it also puts the redaction filter on every log handler Prefect has set up by
then (its console and API handlers included).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from prefect.runtime import flow_run

from simpul.logs import protect_handlers
from simpul.runtime import Hub, open_hub

HUB: ContextVar[Hub] = ContextVar("simpul_hub")


@contextmanager
def run_hub(flow_name: str, *, pool_size: int | None = None) -> Iterator[Hub]:
    """The hub for one flow run; its actor names the run in the audit log."""
    protect_handlers()
    run_id = flow_run.get_id()
    hub = open_hub(actor=f"prefect:{flow_name}:{run_id}" if run_id else f"prefect:{flow_name}", pool_size=pool_size)
    token = HUB.set(hub)
    try:
        yield hub
    finally:
        HUB.reset(token)
        hub.close()
