"""A Hypothesis state machine against each channel's sandbox (reliability.md F-14).

Rules change the source (new orders, updates, many sharing one second, WooCommerce status
changes within the same second) and sync it through the real connector and engine, with
a random page size and crashes: a run abandoned after k committed pages (what a kill
leaves behind: the next run takes its checkpoint over) or a run whose request fails past
the retry budget mid-page. The model is a plain dict of order id -> update time.

Invariants after every rule: no duplicate keys; nothing stored that the source never had
(no id outside the model, no version newer than the model's); no stored version ever
moves backwards; a checkpoint exists exactly while a crashed run is pending. After a run
that started fresh and finished (the source holds still while it runs), and after a clean
sync (finish the pending run, then one fresh run), the store equals the model, and every
order's content equals the source's. (Only the first catches an order a walk skipped:
the next run's lookback would heal it.)

CI runs a few derandomized examples per channel; SIMPUL_FAULTS_PROFILE=nightly runs many
more and longer sequences (``harness.HYPOTHESIS_SETTINGS``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid

import sqlalchemy as sa
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from connectors._http.errors import TransientError
from simpul import store
from simpul.channels import get_channel
from simpul.db import Database
from simpul.engine import INCREMENTAL, SyncRequest
from simpul.model import Order
from simpul.vault import KeyRing
from tests.faults.harness import (
    HYPOTHESIS_SETTINGS,
    QUICK_RETRY,
    add_account,
    admin,
    assert_synced,
    make_hub,
    start_sandbox,
)
from tests.oracle import stored_state

ACCOUNT = "machine"
WOO_STATUSES = ("processing", "completed", "cancelled", "on-hold")


class SyncMachine(RuleBasedStateMachine):
    channel = ""  # set per channel below

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.mkdtemp(prefix="simpul-machine-")
        self.server = start_sandbox(self.channel, orders=3, seed=21)
        self.db = Database(f"sqlite:///{self.tmp}/machine.db")
        self.db.migrate()
        self.hub = make_hub(self.db, KeyRing(active="m", keys={"m": os.urandom(32)}), actor="machine")
        add_account(self.hub, self.server, ACCOUNT)
        self.mapping = get_channel(self.channel).mapping()
        self.frozen = int(self.server.app.clock.now())
        self.recent = self.frozen - 120  # changes happen from here on: in the past, inside every lookback
        self.clock = self.recent  # data time of the next change
        self.model: dict[str, int] = self._source_times()
        self.pending_page_size: int | None = None  # a crashed run's page size (an API keeps its own)
        self.high_water: dict[str, int] = {}

    def teardown(self) -> None:
        self.server.stop()
        self.db.dispose()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- the source ------------------------------------------------------------------------
    @initialize()
    def first_sync(self) -> None:
        self._clean_sync()

    @rule(n=st.integers(1, 3), later=st.integers(0, 2))
    def insert(self, n: int, later: int) -> None:
        """New orders at the data second, or a second or two after it (ties and mixed pages)."""
        at = min(self.frozen, self.clock + later)
        inserted = admin(self.server, "mutate", {"insert": n, "at": at})["inserted"]
        times = self._source_times()
        self.model.update({str(i): times[str(i)] for i in inserted})  # a life-cycle step may already have moved it

    @rule(data=st.data(), same_second=st.booleans())
    def update(self, data: st.DataObject, same_second: bool) -> None:
        """Touch some orders at the current data second (often the same one as others'), or
        within their own second when that is recent. (An old order changing without a new
        update time is invisible to any incremental sync: no source does that, except
        Shopee's tracking numbers, which the engine's follow-up re-reads.)"""
        ids = data.draw(st.lists(st.sampled_from(sorted(self.model)), min_size=1, max_size=4, unique=True))
        body: dict = {"touch": ids}
        if self.channel == "woocommerce":  # a content change, possibly within the order's own second
            body["status"] = data.draw(st.sampled_from(WOO_STATUSES))
        for order_id in ids:
            own = self.model[order_id]
            at = own if same_second and own >= self.recent else max(own, self.clock)
            admin(self.server, "mutate", {**body, "touch": [order_id], "at": at})
            self.model[order_id] = at

    @precondition(lambda self: self.clock < self.frozen)
    @rule(seconds=st.integers(1, 3))
    def tick(self, seconds: int) -> None:
        self.clock = min(self.frozen, self.clock + seconds)

    # -- syncing -----------------------------------------------------------------------------
    @rule(page_size=st.integers(1, 7), crash_after=st.none() | st.integers(0, 5))
    def sync(self, page_size: int, crash_after: int | None) -> None:
        """A run with ``page_size`` records per list page, abandoned after ``crash_after``
        committed pages (None: to the end)."""
        fresh = self.pending_page_size is None
        self._use_page_size(page_size)
        run_id = uuid.uuid4().hex
        self.hub.engine.plan(SyncRequest(ACCOUNT), run_id)
        pages = 0
        while crash_after is None or pages < crash_after:
            step = self.hub.engine.step(ACCOUNT, INCREMENTAL, run_id, max_pages=1)
            pages += step.pages
            if step.done:
                self.hub.engine.finish(run_id, ACCOUNT, "completed")
                self.pending_page_size = None
                if fresh:  # the source held still during the run: nothing may be missing
                    self._assert_store_equals_model()
                return
        self.pending_page_size = self.server.faults.page_size

    @rule(page_size=st.integers(1, 7), head_start=st.integers(0, 6))
    def sync_failing_mid_page(self, page_size: int, head_start: int) -> None:
        """A run whose request after ``head_start`` requests fails past the retry budget."""
        fresh = self.pending_page_size is None
        self._use_page_size(page_size)
        self.server.faults.update({"fail_next": [None] * head_start + [503] * QUICK_RETRY.attempts})
        try:
            self.hub.engine.run(SyncRequest(ACCOUNT))
            self.pending_page_size = None
            if fresh:
                self._assert_store_equals_model()
        except TransientError:
            self.pending_page_size = self.server.faults.page_size
        finally:
            self.server.faults.update({"fail_next": []})

    @rule()
    def clean_sync_equals_model(self) -> None:
        self._clean_sync()

    # -- invariants ----------------------------------------------------------------------------
    @invariant()
    def stored_orders_are_versions_the_source_had_and_never_regress(self) -> None:
        stored = self._stored_times()  # stored_state() below also fails on duplicate keys
        assert set(stored) <= set(self.model), f"orders the source never had: {set(stored) - set(self.model)}"
        for order_id, at in stored.items():
            assert at <= self.model[order_id], f"{order_id} stored at {at}, the source is at {self.model[order_id]}"
            assert at >= self.high_water.get(order_id, at), f"{order_id} went back from {self.high_water[order_id]} to {at}"
            self.high_water[order_id] = at
        stored_state(self.db, ACCOUNT)

    @invariant()
    def a_checkpoint_exists_exactly_while_a_crashed_run_is_pending(self) -> None:
        with self.db.connect() as conn:
            checkpoint = store.load_checkpoint(conn, ACCOUNT, INCREMENTAL)
        assert (checkpoint is not None) == (self.pending_page_size is not None)

    # -- helpers -------------------------------------------------------------------------------
    def _clean_sync(self) -> None:
        self._use_page_size(None)
        if self.pending_page_size is not None:  # the run a crash left behind, to its end
            assert self.hub.engine.run(SyncRequest(ACCOUNT)).status == "completed"
            self.pending_page_size = None
        assert self.hub.engine.run(SyncRequest(ACCOUNT)).status == "completed"
        self._assert_store_equals_model()

    def _assert_store_equals_model(self) -> None:
        assert self._stored_times() == self.model
        assert_synced(self.db, ACCOUNT, self.server)

    def _use_page_size(self, page_size: int | None) -> None:
        """The API's page size; a resumed walk keeps the one it started with."""
        size = self.pending_page_size if self.pending_page_size is not None else page_size
        self.server.faults.update({"page_size": size})

    def _source_times(self) -> dict[str, int]:
        out = {}
        for raw in self.server.app.dump_orders():
            bundle = self.mapping.map_order(raw)
            out[bundle.order.external_id] = int(bundle.order.updated_at.timestamp())
        return out

    def _stored_times(self) -> dict[str, int]:
        orders = Order.__table__
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(orders.c.external_id, orders.c.updated_at).where(orders.c.account_id == ACCOUNT)).all()
        return {ext: int(at.timestamp()) for ext, at in rows}


class ShopeeMachine(SyncMachine):
    channel = "shopee"


class WooCommerceMachine(SyncMachine):
    channel = "woocommerce"


class LazadaMachine(SyncMachine):
    channel = "lazada"


class TikTokMachine(SyncMachine):
    channel = "tiktok"


class BlibliMachine(SyncMachine):
    channel = "blibli"


TestShopeeSyncMachine = ShopeeMachine.TestCase
TestShopeeSyncMachine.settings = HYPOTHESIS_SETTINGS
TestWooCommerceSyncMachine = WooCommerceMachine.TestCase
TestWooCommerceSyncMachine.settings = HYPOTHESIS_SETTINGS
TestLazadaSyncMachine = LazadaMachine.TestCase
TestLazadaSyncMachine.settings = HYPOTHESIS_SETTINGS
TestTikTokSyncMachine = TikTokMachine.TestCase
TestTikTokSyncMachine.settings = HYPOTHESIS_SETTINGS
TestBlibliSyncMachine = BlibliMachine.TestCase
TestBlibliSyncMachine.settings = HYPOTHESIS_SETTINGS
