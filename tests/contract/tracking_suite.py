"""The tracking contract suite, generated per tracking channel (the orders suite's twin,
``tests/contract/suite.py``): every courier or aggregator connector proves the same
guarantees against its own sandbox, through the real engine (job ``track``).

Usage, in ``tests/contract/test_<channel>.py``::

    from tests.contract.tracking_suite import make_tracking_contract_tests
    globals().update(make_tracking_contract_tests("biteship", corrupt=...))

``corrupt`` breaks one tracking reply, in the channel's own wire format, so that its
mapping refuses it (the tracking sandboxes have no corrupt knob; the suite wraps the
sandbox's ``handle`` with it, which is the "hostile wrapper").

Each test starts the channel's sandbox in this process, seeded with ``PARCELS`` parcels,
with its data clock frozen (histories move only when a test moves the clock) and its
rate-limit clock injected (every request falls into a fresh window, so the sandbox's own
throttle never answers 429 unless a test asks for it). What the store must hold is
computed by mapping the sandbox's own replies (``tests.oracle.tracking_source_state``),
never read back from the code under test; a second check derives the status each parcel's
*story* implies from the sandbox's timeline, without the mapping.
"""

from __future__ import annotations

import importlib
import itertools
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
import sqlalchemy as sa

from connectors._http.errors import CredentialError, TransientError
from connectors._sandbox import Reply, Request, SandboxServer
from connectors.contract import ParcelKey, TrackingSource
from connectors.spec import TRACKING
from mappings import couriers
from mappings.protocols import PROTOCOLS, TrackingMapping
from simpul import audit, store
from simpul.canonical import TrackingStatus
from simpul.channels import get_channel
from simpul.engine import TRACK, SyncRequest
from simpul.model import Parcel, ParcelEvent
from tests.faults.harness import QUICK_RETRY, add_account, make_hub
from tests.oracle import assert_parcels_converged, tracking_source_state, tracking_stored_state

PARCELS = 30  # one full batch of 20 and a partial one
DAY = 86400
BOOKKEEPING = {"sync.started", "sync.completed", "credential.used"}  # what any run writes to the audit log
LOOK_COLUMNS = {"checked_at", "quiet", "next_check_at", "not_found", "tracker_account_id"}  # a look's own bookkeeping

Corrupt = Callable[[dict[str, Any]], None]


def make_tracking_contract_tests(channel: str, *, corrupt: Corrupt) -> dict[str, Callable[..., Any]]:
    spec = get_channel(channel)
    stream = spec.stream(TRACKING)
    mapping = stream.mapping_module()
    sandbox_module = importlib.import_module(spec.sandbox_class().__module__)

    # -- fixtures ------------------------------------------------------------------------------
    @pytest.fixture
    def sandbox() -> Iterator[SandboxServer]:
        app = spec.sandbox_class()(orders=PARCELS, seed=5)
        app.clock.freeze(app.clock.now())
        ticks = itertools.count(0, 3600)  # injected rate clock: each request opens a new window
        app.rate_clock = lambda: float(next(ticks))
        with SandboxServer(app, seed=5) as server:
            yield server

    @pytest.fixture
    def account(hub, sandbox) -> str:  # noqa: ANN001
        hub.engine.connector_options["retry"] = QUICK_RETRY  # the retry policy is under test, not the clock
        hub.accounts.add(f"t-{channel}", channel, "Tracking contract", sandbox.url, sandbox.app.demo_credentials())
        return f"t-{channel}"

    # -- helpers -------------------------------------------------------------------------------
    def key_of(parcel: Any) -> ParcelKey:
        """A sandbox parcel as the hub asks for it: Simpul's courier code and the airway bill."""
        own = getattr(parcel, "courier", None) or parcel.service
        simpul = couriers.simpul_courier(channel, own)
        assert simpul is not None, f"{channel} sandbox courier {own!r} has no Simpul code"
        return ParcelKey(simpul, getattr(parcel, "waybill", None) or parcel.awb)

    def all_keys(server: SandboxServer) -> tuple[str, ...]:
        return tuple(sorted(key_of(p).text for p in server.app.known_parcels()))

    def track(hub, account: str, keys: tuple[str, ...]):  # noqa: ANN001, ANN202
        return hub.engine.run(SyncRequest(account, job=TRACK, parcels=keys))

    def source(server: SandboxServer) -> Any:
        return spec.connector_class()(server.url, server.app.demo_credentials(), retry=QUICK_RETRY)

    def api_requests(server: SandboxServer) -> int:
        return server.stats.snapshot()["requests"]

    def table_counts(db) -> tuple[int, int]:  # noqa: ANN001
        with db.connect() as conn:
            return (
                conn.execute(sa.select(sa.func.count()).select_from(Parcel.__table__)).scalar_one(),
                conn.execute(sa.select(sa.func.count()).select_from(ParcelEvent.__table__)).scalar_one(),
            )

    def parcel_rows(db) -> dict[str, dict[str, Any]]:  # noqa: ANN001
        with db.connect() as conn:
            rows = conn.execute(sa.select(Parcel.__table__)).mappings().all()
        return {f"{r['courier']}:{r['tracking_number']}": dict(r) for r in rows}

    def audit_actions(db) -> list[str]:  # noqa: ANN001
        with db.connect() as conn:
            return [e["action"] for e in audit.entries(conn)]

    def story_implies(parcel: Any, now: float) -> Callable[[Mapping[str, Any]], bool] | None:
        """What a finished story says about the stored row, from the sandbox's timeline alone."""
        if sandbox_module.timeline(parcel)[-1][0] > now:
            return None  # still moving: the mapped oracle decides
        status = lambda row: getattr(row["status"], "value", row["status"])  # noqa: E731
        return {
            "delivered": lambda row: status(row) == TrackingStatus.DELIVERED.value and row["done"],
            "failed_attempt": lambda row: status(row) == TrackingStatus.DELIVERED.value and row["done"],
            "cod_refused": lambda row: row["return_to_sender"] and row["sub_status"] == "Exception_011" and row["done"],
            "lost": lambda row: status(row) != TrackingStatus.DELIVERED.value and not row["return_to_sender"] and not row["done"],
        }[parcel.story]

    def hostile(server: SandboxServer, victims: set[str]) -> None:
        """Wrap the sandbox so that each victim's reply is broken by ``corrupt``."""
        handle = server.app.handle

        def breaking(request: Request) -> Reply:
            reply = handle(request)
            if isinstance(reply.body, dict) and mapping.external_id(reply.body) in victims:
                corrupt(reply.body)
            return reply

        server.app.handle = breaking

    # -- the connector and its spec --------------------------------------------------------------
    def test_connector_meets_tracking_source_and_the_spec(sandbox) -> None:  # noqa: ANN001
        cls = spec.connector_class()
        assert cls.channel == channel
        assert spec.has(TRACKING) and stream.mode == "keyed"
        assert isinstance(mapping, TrackingMapping) and PROTOCOLS[stream.kind] is TrackingMapping
        for declared in spec.streams:
            assert isinstance(declared.mapping_module(), PROTOCOLS[declared.kind]), declared
        credentials = sandbox.app.demo_credentials()
        assert set(spec.credentials.required) <= set(credentials) <= set(spec.credential_fields)
        assert set(spec.secret_fields) <= set(credentials)
        connector = source(sandbox)
        assert isinstance(connector, TrackingSource)
        assert cls.couriers and all(couriers.aggregator_courier(channel, code) for code in cls.couriers)
        connector.check()

    def test_the_declared_batch_is_one_parcels_page(sandbox) -> None:  # noqa: ANN001
        keys = [ParcelKey.parse(k) for k in all_keys(sandbox)]
        batch = stream.batch
        assert len(keys) > batch
        before = api_requests(sandbox)
        pages = list(source(sandbox).parcels(keys[:batch]))
        assert len(pages) == 1 and not pages[0].missing and not pages[0].unreadable
        assert sorted(mapping.external_id(r) for r in pages[0].records) == sorted(k.tracking_number for k in keys[:batch])
        assert pages[0].requests == api_requests(sandbox) - before  # the page counts what it cost
        assert [len(p.records) for p in source(sandbox).parcels(keys)] == [batch, len(keys) - batch]

    # -- through the engine -------------------------------------------------------------------
    def test_full_read_stores_what_each_story_implies_and_a_reread_writes_nothing(hub, sandbox, account) -> None:  # noqa: ANN001
        keys = all_keys(sandbox)
        unknown = ParcelKey(ParcelKey.parse(keys[0]).courier, "SIMPULNOPE01").text  # an airway bill the channel does not know
        run = track(hub, account, (*keys, unknown))
        assert (run.status, run.counts.new, run.missing) == ("completed", len(keys), [unknown])
        assert run.pages == -(-(len(keys) + 1) // stream.batch)  # one committed page per batch
        assert_parcels_converged(hub.db, mapping, sandbox.app.dump_orders())
        rows, now = parcel_rows(hub.db), sandbox.app.clock.now()
        assert (rows[unknown]["not_found"], rows[unknown]["payload_hash"], rows[unknown]["status"]) == (1, None, TrackingStatus.PENDING)
        checked = 0
        for parcel in sandbox.app.known_parcels():
            implied = story_implies(parcel, now)
            if implied is not None:
                row = rows[key_of(parcel).text]
                assert implied(row), (parcel.story, {k: row[k] for k in ("status", "sub_status", "return_to_sender", "done")})
                checked += 1
        assert checked >= len(keys) // 2, "too few finished stories to check"
        assert {p.story for p in sandbox.app.known_parcels()} >= {"delivered", "lost"}

        # Read again: nothing is written but the looks' bookkeeping; the unknown one is counted again.
        counts, actions = table_counts(hub.db), audit_actions(hub.db)
        again = track(hub, account, (*keys, unknown))
        assert (again.status, again.missing) == ("completed", [unknown])
        assert (again.counts.new, again.counts.changed, again.counts.stale, again.counts.quarantined) == (0, 0, 0, 0)
        assert again.counts.unchanged == len(keys)
        assert table_counts(hub.db) == counts  # no new parcel, no new scan
        after = parcel_rows(hub.db)
        assert after[unknown]["not_found"] == 2
        assert {k: {c: v for c, v in r.items() if c not in LOOK_COLUMNS} for k, r in after.items()} == {
            k: {c: v for c, v in r.items() if c not in LOOK_COLUMNS} for k, r in rows.items()
        }
        new_actions = audit_actions(hub.db)[len(actions) :]
        assert set(new_actions) <= BOOKKEEPING, Counter(new_actions)
        with hub.db.connect() as conn:
            assert audit.verify(conn).ok

    def test_advancing_the_data_clock_moves_statuses_forward_never_back(hub, sandbox, account) -> None:  # noqa: ANN001
        keys = all_keys(sandbox)
        clock = sandbox.app.clock
        clock.advance(-4 * DAY)  # start four days back: some parcels unknown yet, some mid-story
        first = track(hub, account, keys)
        assert first.status == "completed" and first.missing and first.counts.new
        assert_parcels_converged(hub.db, mapping, sandbox.app.dump_orders())
        history = [tracking_stored_state(hub.db)]
        moved = 0
        for _ in range(2):
            clock.advance(2 * DAY)
            run = track(hub, account, keys)
            assert run.status == "completed"
            assert_parcels_converged(hub.db, mapping, sandbox.app.dump_orders())
            now = tracking_stored_state(hub.db)
            for key, (_, _, _, last, _, scans) in history[-1].items():
                assert key in now, f"{key} was forgotten"
                assert now[key][3] >= last and now[key][5] >= scans, f"{key} went back"
            moved += run.counts.changed + run.counts.new
            history.append(now)
        assert moved, "advancing the clock moved nothing: the test proves nothing"
        latest = history[-1]
        # Back in time: the sandbox forgets scans, the store does not.
        clock.advance(-3 * DAY)
        back = track(hub, account, keys)
        assert back.status == "completed" and back.counts.changed == 0 and back.counts.new == 0
        assert back.counts.stale > 0, "the older replies never reached the store: the guard was not exercised"
        assert tracking_stored_state(hub.db) == latest

    def test_faults_follow_the_policy_table(hub, sandbox, account) -> None:  # noqa: ANN001
        keys = all_keys(sandbox)
        batch = stream.batch
        # 5xx beyond the retry budget, in the second batch: the run fails, the first batch stays.
        sandbox.faults.update({"fail_next": [None] * (batch + 2) + [503] * QUICK_RETRY.attempts, "retry_after": "0"})
        with pytest.raises(TransientError):
            track(hub, account, keys)
        assert api_requests(sandbox) == batch + 2 + QUICK_RETRY.attempts  # retried up to the budget, then stopped
        with hub.db.connect() as conn:
            plan = store.load_checkpoint(conn, account, TRACK)[1]
        assert plan.next_key == batch  # the first batch committed with its checkpoint, the second not
        assert len(tracking_stored_state(hub.db)) == batch
        assert hub.accounts.get(account).status == "active"  # a server fault is not the seller's credentials

        # 429, 5xx, a reset and a truncated body within the budget: retried, and the rerun
        # resumes the checkpoint and completes, asking only what was not committed.
        faults = [429, 503, "reset", "truncate", 500, 502]  # four on one request, two on the next
        sandbox.faults.update({"fail_next": faults[:4] + [None] + faults[4:]})
        before = api_requests(sandbox)
        rerun = hub.engine.run(SyncRequest(account, job=TRACK))
        assert (rerun.status, rerun.counts.new, rerun.counts.quarantined) == ("completed", len(keys) - batch, 0)
        assert sandbox.faults.fail_next == []  # every fault was served
        assert api_requests(sandbox) - before == len(keys) - batch + len(faults)  # each fault cost one retry, no more
        assert_parcels_converged(hub.db, mapping, sandbox.app.dump_orders())

        # Refused credentials: CredentialError at once, the account marked, no retry storm.
        bad = dict(sandbox.app.demo_credentials())
        secret = spec.secret_fields[0]
        bad[secret] = bad[secret][: len(bad[secret]) // 2] + "canary0042wrong"  # well formed, not the sandbox's
        hub.accounts.add(f"bad-{channel}", channel, "Bad", sandbox.url, bad)
        before = api_requests(sandbox)
        with pytest.raises(CredentialError) as info:
            track(hub, f"bad-{channel}", keys)
        assert "canary0042wrong" not in str(info.value)
        assert api_requests(sandbox) - before == 1  # refused once, never retried
        assert hub.accounts.get(f"bad-{channel}").status == "credential_error"
        later = track(hub, f"bad-{channel}", keys)
        assert later.status == "skipped" and api_requests(sandbox) - before == 1  # a marked account asks nothing
        assert hub.accounts.get(account).status == "active"  # the other account is not touched

    def test_a_bad_payload_is_quarantined_and_the_rest_of_the_batch_lands(hub, sandbox, account) -> None:  # noqa: ANN001
        keys = all_keys(sandbox)
        victim = ParcelKey.parse(keys[1])
        good_reply = next(r for r in sandbox.app.dump_orders() if mapping.external_id(r) == victim.tracking_number)
        broken = {**good_reply}
        corrupt(broken)
        with pytest.raises(Exception):  # noqa: B017, PT011 - the corruption must really break the mapping
            mapping.map_tracking(broken)
        hostile(sandbox, {victim.tracking_number})
        run = track(hub, account, keys)
        assert (run.status, run.counts.new, run.counts.quarantined) == ("completed", len(keys) - 1, 1)
        good = [r for r in sandbox.app.dump_orders() if mapping.external_id(r) != victim.tracking_number]
        assert tracking_stored_state(hub.db) == tracking_source_state(mapping, good)
        with hub.db.connect() as conn:
            [row] = store.open_quarantine(conn, account)
        assert row["external_id"] == victim.tracking_number and row["reason"]
        assert parcel_rows(hub.db)[victim.text]["payload_hash"] is None  # not stored as if it were read

    def test_an_unparseable_reply_is_quarantined_not_dropped(sqlite_db, keyring, sandbox) -> None:  # noqa: ANN001
        hub = make_hub(sqlite_db, keyring)  # engine code only: one database is enough
        account = add_account(hub, sandbox, f"t-{channel}")
        keys = all_keys(sandbox)
        sandbox.faults.update({"fail_next": ["truncate"] * QUICK_RETRY.attempts})  # the first parcel's reply, every attempt
        run = track(hub, account, keys)
        assert run.status == "completed" and run.counts.new == len(keys) - 1
        assert run.counts.quarantined == 1

    return {name: value for name, value in locals().items() if name.startswith("test_") or name in ("sandbox", "account")}
