"""A Lazada canary without Prefect (the Prefect-wide canary, tests/test_canary.py, is not
parametrised by channel): the app secret and every token carry a mark; a sync rides a 429,
a 503, a token expiring mid-run, a reset and a truncated body, then a refresh; the mark must
appear in no log line at DEBUG, no error text and no database table (only as ciphertext)."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from connectors._http.secret import plain
from connectors._sandbox import SandboxServer
from connectors.lazada.sandbox import LazadaSandbox
from simpul.engine import SyncRequest
from tests.oracle import database_text

MARK = "kn4ry" + uuid.uuid4().hex[:10]


class CanaryLazada(LazadaSandbox):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._app_secret = f"{MARK}appsecret"

    def _issue(self, now: float) -> tuple[str, str]:
        access, refresh = super()._issue(now)
        marked = (f"{MARK}acc{access[-12:]}", f"{MARK}ref{refresh[-12:]}")
        self._access[marked[0]] = self._access.pop(access)
        self._refresh[marked[1]] = self._refresh.pop(refresh)
        self._current = marked
        return marked


def test_lazada_secrets_appear_nowhere_but_as_ciphertext(hub, caplog, capfd) -> None:  # noqa: ANN001
    caplog.set_level(logging.DEBUG)
    app = CanaryLazada(orders=40, seed=4)
    app.clock.freeze(app.clock.now())
    with SandboxServer(app, seed=4) as server:
        server.faults.update({"retry_after": "0", "fail_next": [None, 429, 503, "expire_tokens", None, "reset", "truncate"]})
        hub.accounts.add("canary-lz", "lazada", "Canary", server.url, app.demo_credentials(), history_days=60, verify=True)
        run = hub.engine.run(SyncRequest("canary-lz"))
        served = server.stats.snapshot()
    assert run.status == "completed" and (run.counts.new, run.returns.new) == (40, len(app.dump_returns()))  # the orders, then the reverse orders
    assert served["by_status"].get(429) and served["by_status"].get(503) and served["by_path"].get("/auth/token/refresh") == 1
    assert MARK in json.dumps(plain(hub.accounts.credentials("canary-lz")))  # negative control: it went through the hub
    out, err = capfd.readouterr()
    for where, text in (("logs", caplog.text), ("stdout", out), ("stderr", err), ("the run", repr(run)), ("the database", database_text(hub.db))):
        assert MARK not in text, f"a canary secret leaked into {where}"
