"""Issue 9 §1, last point: an operator repairs an order stored with an impossible version.

Before the boundary check existed, an update time in year 9999 was stored; the channel's
real update (cancelled) then lost every version comparison, and a ``--since`` resync could
not repair it either. ``SyncRequest(..., override_version=True)`` (``simpul sync ACCOUNT
--orders X --override-version``, or the resync form's ``override_version``) writes the
channel's current payload of the named orders anyway, audited as ``order.repaired`` with
the versions before and after. Only for named orders, never for a window.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from flows.params import ResyncParams
from simpul import audit
from simpul.cli import main
from simpul.engine import RESYNC, SyncRequest, utcnow
from simpul.jsoncodec import loads
from simpul.limits import Boundary
from tests.hostile.support import add_account, admin, assert_good_orders_landed, order_ids

YEAR_9999 = {
    "shopee": ("update_time", {"raw": "253402300799"}),
    "woocommerce": ("date_modified_gmt", {"value": "9999-12-31T23:59:59"}),
    "lazada": ("updated_at", {"value": "9999-12-31T23:59:59+07:00"}),
    "tiktok": ("update_time", {"raw": "253402300799"}),
    "blibli": ("updatedDate", {"raw": "253402300799000"}),
}


def test_an_impossible_stored_version_is_repaired_for_named_orders(hostile_hub, sandbox, monkeypatch) -> None:  # noqa: ANN001
    engine, channel = hostile_hub.engine, sandbox.app.channel
    account = add_account(hostile_hub, sandbox)
    victim = order_ids(sandbox)[4]
    field, value = YEAR_9999[channel]
    admin(sandbox, "poison", {"id": victim, "field": field, **value})
    with monkeypatch.context() as before_the_fix:
        before_the_fix.setattr(Boundary, "check", lambda self, bundle: bundle)
        assert engine.run(SyncRequest(account)).counts.new == len(order_ids(sandbox))

    admin(sandbox, "poison", {"id": victim, "clear": True, "touch": False})
    real_update = {"touch": [victim], "status": "cancelled"} if channel == "woocommerce" else {"touch": [victim]}
    admin(sandbox, "mutate", real_update)
    assert engine.run(SyncRequest(account)).counts.stale == 1  # year 9999 wins the version guard...
    since = utcnow() - timedelta(days=60)
    assert engine.run(SyncRequest(account, job=RESYNC, since=since)).counts.stale == 1  # ...and a window resync cannot help

    with pytest.raises(ValueError, match="named orders only"):
        SyncRequest(account, job=RESYNC, since=since, order_ids=(victim,), override_version=True)
    repair = engine.run(SyncRequest(account, job=RESYNC, order_ids=(victim,), override_version=True))
    assert (repair.status, repair.counts.changed) == ("completed", 1)
    assert_good_orders_landed(hostile_hub, account, sandbox, set())  # every order, the victim included, is the source's
    with hostile_hub.db.connect() as conn:
        entries = [{**e, "summary": loads(e["summary"])} for e in audit.entries(conn)]
    [repaired] = [e for e in entries if e["action"] == "order.repaired"]
    summary = repaired["summary"]
    assert repaired["entity_key"] == victim and summary["override_version"] is True
    assert summary["before"]["updated_at"].startswith("9999-12-31") and not summary["after"]["updated_at"].startswith("9999")
    assert [e["summary"].get("override_version") for e in entries if e["action"] == "resync.requested"][-1] is True
    assert engine.run(SyncRequest(account)).counts.written == 0  # and the next sync agrees with the store


def test_the_override_is_refused_without_named_orders(tmp_path, monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.setenv("SIMPUL_HOME", str(tmp_path))
    monkeypatch.setenv("SIMPUL_DATABASE_URL", f"sqlite:///{tmp_path / 'simpul.db'}")
    monkeypatch.setenv("SIMPUL_KEYRING", str(tmp_path / "keyring.json"))
    assert main(["sync", "toko-a", "--since", "2026-01-01", "--override-version"]) == 2
    assert "--override-version repairs named orders only" in capsys.readouterr().err
    with pytest.raises(ValueError, match="named orders only"):
        ResyncParams(account="toko-a", since="2026-01-01T00:00:00+07:00", override_version=True)
    assert ResyncParams(account="toko-a", order_numbers=["2601AB"], override_version=True).override_version
