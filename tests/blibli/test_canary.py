"""The canary for Blibli (tests/test_canary.py's S-1 check, without Prefect): the client
key, seller key, signature key and one buyer's name and street are unique marks; a sync
runs through 401, 429, 5xx, a reset and a truncated body and an unmappable order; then
logs at DEBUG, error texts and every database table must not hold any mark in plain text.
A negative control proves the marks reached the hub (sealed)."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest

from connectors._http import CredentialError
from connectors._http.secret import plain
from connectors._sandbox import SandboxServer
from connectors.blibli.sandbox import BlibliSandbox
from simpul.engine import SyncRequest
from tests.oracle import database_text

MARK = "kn4ry" + uuid.uuid4().hex[:10]
NAME, STREET = f"Budi{MARK}", f"Jl. {MARK} No. 1"


class CanaryBlibli(BlibliSandbox):
    def __init__(self, **kwargs: Any) -> None:
        self.victim = ""
        super().__init__(**kwargs)
        self._client_key, self._seller_key, self._signature_key = f"ck{MARK}", f"SK{MARK}", f"sig{MARK}"
        self.victim = self.dump_orders()[2]["orderNo"]

    def _items(self, order):  # noqa: ANN001, ANN202
        items = super()._items(order)
        if order.number == self.victim:
            for _, entry, value in items:
                value.update(custName=NAME, shippingStreetAddress=STREET)
                entry["order"]["customerFullName"] = NAME
        return items


def test_blibli_canaries_appear_nowhere_but_as_ciphertext(hub, caplog) -> None:  # noqa: ANN001
    caplog.set_level(logging.DEBUG)
    app = CanaryBlibli(orders=30, seed=4)
    app.clock.freeze(app.clock.now())
    with SandboxServer(app, seed=4) as server:
        server.faults.update({"retry_after": "0"})
        hub.accounts.add("canary-blibli", "blibli", "Canary", server.url, app.demo_credentials(), history_days=60, verify=True)
        hub.accounts.add("canary-refused", "blibli", "Refused", server.url, {**app.demo_credentials(), "client_key": f"ck{MARK}wrong"}, history_days=60)
        server.faults.update({"fail_next": [None, 429, 503, "reset", "truncate"]})
        bad = next(o["orderNo"] for o in app.dump_orders() if o["orderNo"] != app.victim)
        import requests

        requests.post(f"{server.url}/_sandbox/corrupt", json={"id": bad}, timeout=5).raise_for_status()
        run = hub.engine.run(SyncRequest("canary-blibli"))
        with pytest.raises(CredentialError) as refused:
            hub.engine.run(SyncRequest("canary-refused"))
        served = server.stats.snapshot()["by_status"]
    assert run.status == "completed" and (run.counts.new, run.returns.new) == (29, len(app.dump_returns())) and run.counts.quarantined == 1  # orders, then RMAs
    assert served.get(429) and served.get(503) and served.get(401)
    assert MARK in json.dumps(plain(hub.accounts.credentials("canary-blibli")))  # negative control: sealed, not absent
    contact = hub.engine.buyers.reveal("canary-blibli", app.victim, _envelope(hub, app.victim))
    assert (contact.name, contact.street) == (NAME, STREET)
    for where, text in (("logs at DEBUG", caplog.text), ("the error", str(refused.value)), ("the database", database_text(hub.db))):
        assert MARK not in text, f"a canary leaked into {where}"


def _envelope(hub, order_no: str) -> str:  # noqa: ANN001
    import sqlalchemy as sa

    from simpul.model import Order

    with hub.db.connect() as conn:
        return conn.execute(sa.select(Order.__table__.c.buyer_contact).where(Order.__table__.c.external_id == order_no)).scalar_one()
