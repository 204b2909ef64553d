"""Issue 9 §2: error text is data, not a dump.

A PostgreSQL ``DataError`` carries its statement and every parameter of the page (buyer
notes, masked names, postcodes, sealed envelopes). What leaves the engine is a
``StoreError`` built from the driver's first line (``simpul.failures``), without its
parameters and without the original chained to it, so the run row, the ``sync.failed``
audit entry, the summary, a traceback and Prefect (``tests/test_canary.py``) never see
them. The boundary check is switched off here so the database itself refuses the value.
"""

from __future__ import annotations

import traceback

import pytest
import sqlalchemy as sa

from simpul import failures, store
from simpul.engine import SyncRequest
from simpul.limits import Boundary
from simpul.model import AuditEntry, SyncRun
from simpul.runner import Runner
from tests.hostile import support
from tests.hostile.support import add_account, admin, order_ids

MARK = "nt7canary"


@pytest.mark.postgres
def test_a_database_error_leaves_the_engine_without_its_parameters(pg_db, keyring, monkeypatch) -> None:  # noqa: ANN001
    hub = support.make_hub(pg_db, keyring)
    server = support.start_sandbox("woocommerce")
    try:
        account = add_account(hub, server)
        victim = order_ids(server)[3]
        admin(server, "poison", {"id": victim, "field": "customer_note", "value": f"{MARK} tolong antar sore"})
        admin(server, "poison", {"id": victim, "field": "shipping.country", "value": "INDONESIA"})
        monkeypatch.setattr(Boundary, "check", lambda self, bundle: bundle)  # let PostgreSQL refuse it
        seen: list[str] = []
        apply_page = store.apply_page

        def recording(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            try:
                return apply_page(*args, **kwargs)
            except sa.exc.DBAPIError as exc:
                seen.append(str(exc))
                raise

        monkeypatch.setattr(store, "apply_page", recording)
        summary = Runner(hub.engine).run(SyncRequest(account))

        assert seen and MARK in seen[0], "negative control: the driver's error did carry the buyer's note"
        assert summary.status == "failed"
        assert summary.error == "database error (StringDataRightTruncation): value too long for type character varying(2)"
        shown = "".join(traceback.format_exception(summary.exception))
        assert MARK not in shown and "[parameters:" not in shown and "[SQL:" not in shown
        with pg_db.connect() as conn:
            rows = conn.execute(sa.select(SyncRun.__table__.c.error)).scalars().all()
            audit_text = " ".join(conn.execute(sa.select(AuditEntry.__table__.c.summary)).scalars().all())
        assert rows == [summary.error]
        assert "StringDataRightTruncation" in audit_text and MARK not in audit_text
    finally:
        server.stop()


def test_describe_keeps_the_reason_and_drops_values_and_parameters() -> None:
    orig = Exception('invalid input syntax for type numeric: "1E+999 Budi 0812"\nDETAIL: more')
    exc = sa.exc.DataError("INSERT INTO orders (note) VALUES (%(note)s)", {"note": "Budi 0812"}, orig)
    assert failures.describe(exc) == 'database error (Exception): invalid input syntax for type numeric: "…"'
    long = failures.describe(ValueError("x" * 10_000))
    assert len(long) == failures.MAX_LENGTH and long.endswith("…")
    assert failures.describe(failures.StoreError("database error (X): y")) == "database error (X): y"
