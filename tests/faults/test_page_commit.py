"""A page, its audit entries and the checkpoint after it commit in one transaction
(reliability.md INV-5, F-1): a crash inside that transaction loses nothing and repeats
nothing.

The kill test (``test_kill.py``) SIGKILLs processes at random points, so whether a kill
lands between a page's rows and its checkpoint is luck. Here the crash is put there on
purpose, on each channel: the process "dies" (an exception, so the transaction rolls
back) right after the second page's rows were written, or right after the checkpoint was
written, before either commits. A checkpoint committed apart from its rows then shows at
once: committed first, the crashed page's orders are skipped for good; committed after,
the rerun reads a page that was already committed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from connectors._sandbox import SandboxServer
from simpul import store
from simpul.db import Database
from simpul.engine import SyncRequest
from simpul.runtime import Hub
from simpul.vault import KeyRing
from tests.faults.harness import add_account, assert_synced, make_hub, run_records
from tests.oracle import stored_state

CRASH_ON_PAGE = 2  # the second page that carries orders: one page is committed before it


class Crash(Exception):
    """The process dies here (the open transaction rolls back, as with ``kill -9``)."""


def hub_on(path: Path, keyring: KeyRing, now: datetime) -> Hub:
    db = Database(f"sqlite:///{path}")
    db.migrate()
    hub = make_hub(db, keyring)
    hub.engine.clock = lambda: now  # both hubs plan the very same windows
    return hub


def crash_inside_the_page(monkeypatch: pytest.MonkeyPatch, where: str) -> Callable[[], int]:
    """Arm a crash in the transaction of the CRASH_ON_PAGE-th page with orders: after its
    rows (``rows``) or after its checkpoint (``checkpoint``) were written. Returns how many
    times it fired."""
    apply_page, save_checkpoint = store.apply_page, store.save_checkpoint
    state = {"pages": 0, "armed": False, "fired": 0}

    def fire() -> None:
        state["armed"], state["fired"] = False, state["fired"] + 1
        raise Crash(f"crashed after the {where} of page {CRASH_ON_PAGE}")

    def apply_then_maybe_crash(conn: Any, ctx: Any, bundles: Any, *args: Any, **kwargs: Any) -> store.PageCounts:
        counts = apply_page(conn, ctx, bundles, *args, **kwargs)
        if bundles:
            state["pages"] += 1
            if state["pages"] == CRASH_ON_PAGE:
                state["armed"] = True
                if where == "rows":
                    fire()
        return counts

    def save_then_maybe_crash(*args: Any, **kwargs: Any) -> None:
        save_checkpoint(*args, **kwargs)
        if state["armed"] and where == "checkpoint":
            fire()

    monkeypatch.setattr(store, "apply_page", apply_then_maybe_crash)
    monkeypatch.setattr(store, "save_checkpoint", save_then_maybe_crash)
    return lambda: state["fired"]


@pytest.mark.parametrize("where", ["rows", "checkpoint"])
def test_a_crash_inside_a_pages_transaction_loses_nothing_and_repeats_nothing(
    sandbox: SandboxServer, keyring: KeyRing, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    now = datetime.fromtimestamp(sandbox.app.clock.now() + 1, timezone.utc)
    account = f"commit-{sandbox.app.channel}"
    baseline = hub_on(tmp_path / "baseline.db", keyring, now)
    add_account(baseline, sandbox, account)
    uninterrupted = baseline.engine.run(SyncRequest(account))

    hub = hub_on(tmp_path / "crashed.db", keyring, now)
    add_account(hub, sandbox, account)
    fired = crash_inside_the_page(monkeypatch, where)
    with pytest.raises(Crash):
        hub.engine.run(SyncRequest(account))
    monkeypatch.undo()
    assert fired() == 1
    [crashed] = run_records(hub.db, account)
    assert crashed.status == "failed"
    stored_before = len(stored_state(hub.db, account))
    assert stored_before > 0, "no page committed before the crash: resumption would go untested"

    rerun = hub.engine.run(SyncRequest(account))

    assert rerun.status == "completed"
    # Every page once: the crashed page's rows were not kept, and its checkpoint did not move.
    assert crashed.pages + rerun.pages == uninterrupted.pages, "a page was skipped or read again"
    assert stored_before + rerun.counts.new == uninterrupted.counts.new
    assert_synced(hub.db, account, sandbox)
    assert stored_state(hub.db, account) == stored_state(baseline.db, account)
    for h in (hub, baseline):
        h.close()
