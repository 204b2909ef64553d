"""The sync engine: windows -> pages -> map -> upsert + checkpoint -> audit.

A run has a *plan* (saved as the checkpoint before the first request) and a position
inside it (saved with every page). ``step`` advances a run by up to N pages from the
committed checkpoint and returns counts, so Prefect can wrap each step in one coarse task
and a killed process resumes exactly after its last committed page.

Plans:

- **incremental** (the schedule): from the cursor minus the connector's lookback (or the
  account's history on the first run) up to the run's start time, fixed when planned, cut
  into windows no longer than the API allows. Then a follow-up phase re-reads orders that
  wait for a tracking number (channels may assign one without moving the order's update
  time). The cursor moves to the plan's end in the same transaction as the last page, so
  it never runs ahead of committed data.
- **resync** (ops): an explicit time window and/or a list of order numbers. It never moves
  the incremental cursor.
- **track** (a keyed stream: parcels): the keys the hub chooses (``simpul.parcels``: every
  shipped parcel of the couriers the account covers that is due a look), or the ones an
  operator names, read in the stream's batches; each batch commits with its checkpoint.

The plan is a typed record (``simpul.plan``); which methods read a stream, and in what
batches, the connector's spec says (``connectors.spec``).

Within a window, the next page is fetched and mapped in a thread while the current one
commits (``read_ahead``): same requests, same order, same checkpoints, only overlapped.

Hostile input: every mapped order is checked against what the canonical model and both
databases hold (``simpul.limits``; a value that does not fit quarantines the order by field
name), an order whose reply could not be parsed is quarantined by number, each window's
walk has a budget of pages, requests and time (``simpul.budget``; a run that goes past it
fails with a one-line ``BudgetExceeded`` and resumes from its checkpoint next time), and a
database error leaves the engine as a ``StoreError`` with the driver's reason only
(``simpul.failures``). A resync may repair named orders whose stored version is
impossible (``SyncRequest.override_version``).

The engine never branches on a channel: it only calls the connector contract
(``connectors.contract``) and the mapping module of the account's channel.
"""

from __future__ import annotations

import contextlib
import functools
import contextvars
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from connectors._http.errors import BudgetExceeded, CredentialError, StreamRefused
from connectors._http.ratelimit import TokenBucket, Unlimited
from connectors.contract import OrderSource, Page, ParcelKey, RateLimit, Window, limits_of
from simpul import audit, budget, failures, keys, parcels, store
from simpul.accounts import AccountInfo, Accounts
from simpul.budget import BudgetPolicy
from simpul.canonical import MappingError, OrderBundle
from simpul.limits import Boundary, storable_id
from simpul.channels import ORDERS, RETURNS, SETTLEMENTS, TRACKING, get_channel, reading
from simpul.db import Database
from simpul.jsoncodec import content_hash
from simpul.pii import BuyerVault
from simpul.plan import DONE, IDS, KEYS, WINDOWS, Plan
from simpul.tablestats import PlannerStatistics

log = logging.getLogger("simpul.engine")

INCREMENTAL = "incremental"
RESYNC = "resync"
TRACK = "track"  # a keyed read of the tracking stream: the parcels due a look
TRACK_LIMIT = 2_000  # parcels one tracking run looks at (the rest stay due for the next)
FOLLOW_UP_LIMIT = 500  # orders waiting for a tracking number, re-read per run


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat()


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class SyncRequest:
    account_id: str
    job: str = INCREMENTAL
    since: datetime | None = None
    until: datetime | None = None
    order_ids: tuple[str, ...] = ()
    # Repair: write the channel's current payload of the named orders even where the stored
    # version is newer (an impossible update time stored before the boundary check existed
    # would otherwise win forever). Only for named orders, never a window; audited.
    override_version: bool = False
    # TRACK only: the parcels to look at now (``ParcelKey.text``); empty: the ones due.
    parcels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.job not in (INCREMENTAL, RESYNC, TRACK):
            raise ValueError(f"job must be {INCREMENTAL!r}, {RESYNC!r} or {TRACK!r}")
        if self.parcels and self.job != TRACK:
            raise ValueError("only a tracking run names parcels")
        for text in self.parcels:
            ParcelKey.parse(text)
        if self.override_version and (self.job != RESYNC or not self.order_ids or self.since or self.until):
            raise ValueError("override_version repairs named orders only: a resync with order numbers and no time window")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware")
        if self.since and self.until and self.until <= self.since:
            raise ValueError("until must be after since")
        if self.job == RESYNC and not (self.since or self.order_ids):
            raise ValueError("a resync needs a time window (since) or order numbers")


class _StreamCounts:
    """Each side stream's counts in a field of its name (``store.SIDE_STREAMS``)."""

    __slots__ = ()

    def of(self, stream: str) -> store.PageCounts:
        """The counts of ``stream``: a side stream's own, else ``counts``."""
        return getattr(self, stream) if stream in store.SIDE_STREAMS else self.counts  # type: ignore[attr-defined]


@dataclass(slots=True)
class StepResult(_StreamCounts):
    done: bool
    pages: int
    counts: store.PageCounts
    requests: int
    progress: float  # 0.0 .. 1.0 of the whole plan, estimated
    missing: list[str] = field(default_factory=list)
    returns: store.PageCounts = field(default_factory=store.PageCounts)  # the returns stream's; ``counts`` are the orders' (or parcels')
    settlements: store.PageCounts = field(default_factory=store.PageCounts)  # the settlements stream's


@dataclass(slots=True)
class RunSummary(_StreamCounts):
    run_id: str
    account_id: str
    channel: str
    job: str
    status: str  # completed | failed | skipped
    counts: store.PageCounts
    pages: int = 0
    requests: int = 0
    missing: list[str] = field(default_factory=list)
    error: str | None = None
    returns: store.PageCounts = field(default_factory=store.PageCounts)  # the returns stream's records
    settlements: store.PageCounts = field(default_factory=store.PageCounts)  # the settlements stream's records
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    exception: BaseException | None = field(default=None, repr=False, compare=False)  # of a failed run, for callers that raise it

    @property
    def seconds(self) -> float:
        end = self.finished_at or utcnow()
        return (end - self.started_at).total_seconds()

    def as_row(self) -> dict[str, Any]:
        return {
            "account": self.account_id,
            "channel": self.channel,
            "job": self.job,
            "status": self.status,
            **self.counts.as_dict(),
            **{k: v for side in store.SIDE_STREAMS for k, v in ((side, self.of(side).written), (f"{side}_quarantined", self.of(side).quarantined))},
            "pages": self.pages,
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "error": self.error or "",
            "missing": list(self.missing),
        }


class AccountUnavailable(RuntimeError):
    """The account cannot sync (credentials refused earlier, disabled)."""


class Engine:
    def __init__(
        self,
        db: Database,
        accounts: Accounts,
        *,
        actor: str = "engine",
        clock: Callable[[], datetime] = utcnow,
        connector_options: Mapping[str, Any] | None = None,
        rate_limits: Mapping[str, RateLimit | None] | None = None,
        budget_policy: BudgetPolicy | None = None,
    ) -> None:
        """``rate_limits`` overrides the budgets connectors declare, by channel name or
        ``"*"`` for every channel (a None value: unlimited); tests and benchmarks use it.
        ``budget_policy`` sets how generous each window's budget is (``simpul.budget``)."""
        self.db = db
        self.accounts = accounts
        self.actor = actor
        self.clock = clock
        self.connector_options = dict(connector_options or {})
        self.rate_limits = dict(rate_limits or {})
        self.budget_policy = budget_policy or BudgetPolicy()
        self._buckets: dict[str, TokenBucket | Unlimited] = {}
        self._buckets_lock = threading.Lock()
        self._buyers: BuyerVault | None = None
        self.statistics = PlannerStatistics(db)

    @property
    def buyers(self) -> BuyerVault:
        """Seals buyer contacts; the pepper is read (or created) once per engine."""
        with self._buckets_lock:  # accounts of one engine may run on several threads
            if self._buyers is None:
                vault = self.accounts.vault
                self._buyers = BuyerVault(vault, keys.hub_secret(self.db, vault, keys.PII_PEPPER))
            return self._buyers

    # -- building blocks ------------------------------------------------------------------
    def connector(self, account: AccountInfo, run_id: str | None = None, *, purpose: str = "sync") -> OrderSource:
        """The account's connector, with rotated tokens persisted the moment they arrive.

        Decrypting the credentials is audited (``credential.used``, with ``purpose``).
        """
        cls = get_channel(account.channel).connector_class()
        options = {"bucket": self.bucket(account), **self.connector_options}
        return cls(
            account.base_url,
            self.accounts.credentials(account.id, purpose=purpose, run_id=run_id),
            on_credentials=lambda values: self.accounts.save_credentials(account.id, values, run_id=run_id),
            **options,
        )

    def rate_limit(self, channel: str) -> RateLimit | None:
        """The budget per account of ``channel``: an override, else what its connector declares."""
        for key in (channel, "*"):
            if key in self.rate_limits:
                return self.rate_limits[key]
        return getattr(get_channel(channel).connector_class(), "rate_limit", None)

    def bucket(self, account: AccountInfo) -> TokenBucket | Unlimited:
        """The account's token bucket, one per account for the engine's lifetime: every step
        and run of the account draws from it, and no other account does."""
        with self._buckets_lock:
            found = self._buckets.get(account.id)
            if found is None:
                limit = self.rate_limit(account.channel)
                found = Unlimited() if limit is None else TokenBucket(limit.per_second, limit.burst)
                self._buckets[account.id] = found
            return found

    def boundary(self, account: AccountInfo) -> Boundary:
        """What a mapped record of ``account`` must fit (``simpul.limits``), as of now."""
        return Boundary(since=limits_of(get_channel(account.channel).connector_class()).since, now=self.clock())

    # -- planning -----------------------------------------------------------------------
    def plan(self, request: SyncRequest, run_id: str) -> Plan:
        """Create the run's checkpoint, or take over the one a killed run left behind."""
        with _database_errors_described():
            return self._plan(request, run_id)

    def _plan(self, request: SyncRequest, run_id: str) -> Plan:
        account = self.accounts.get(request.account_id)
        if account.status != "active":
            raise AccountUnavailable(
                f"account {account.id!r} is {account.status}: {account.status_reason or 'no reason recorded'}"
                " (fix the credentials with `simpul accounts add --replace`)"
            )
        spec = get_channel(account.channel)
        kind = TRACKING if request.job == TRACK else ORDERS
        if not spec.has(kind):
            what = "tracks no parcels" if kind == TRACKING else "has no orders to sync (it tracks parcels)"
            raise AccountUnavailable(f"account {account.id!r} is a {spec.name} account: it {what}")
        source_cls = spec.connector_class()
        now = self.clock()
        fingerprint = {
            "since": _iso(request.since) if request.since else None,
            "until": _iso(request.until) if request.until else None,
            "ids": list(request.order_ids),
        }
        if request.override_version:
            fingerprint["override_version"] = True
        with self.db.begin() as conn:
            existing = store.load_checkpoint(conn, account.id, request.job)
            if existing is not None and request.job == INCREMENTAL and existing[1].kind in store.SIDE_STREAMS:
                # An earlier run stopped in a side stream (it failed there, or was killed): the
                # orders go first again, so a side stream that keeps failing never holds them
                # back; the side streams start over from their own cursors (idempotent).
                existing = None
            if existing is not None and (request.job != RESYNC or existing[1].request == fingerprint):
                plan, resumed_from = existing[1], existing[0]
            elif request.job == TRACK:
                plan, resumed_from = self._new_track_plan(conn, account, request, now), None
            else:
                plan = self._new_plan(conn, account, source_cls, request, now, follow_up=spec.stream(ORDERS).reread_awaiting_tracking)
                if request.job == INCREMENTAL or request.since is not None:  # the side streams, as the spec lists them
                    plan = plan.with_(then=tuple(s.kind for s in spec.streams if s.kind in store.SIDE_STREAMS))
                plan, resumed_from = plan.with_(request=fingerprint, override=request.override_version), None
            store.save_checkpoint(conn, account.id, request.job, run_id, plan, now=now)
            store.start_run(conn, run_id, account.id, request.job, now=now)

            def run_event(action: str, summary: dict[str, Any]) -> audit.Event:
                return audit.Event(action=action, actor=self.actor, run_id=run_id, account_id=account.id, entity_type="run", entity_key=run_id, summary=summary)

            events = []
            if request.job == RESYNC and resumed_from is None:  # who asked ops to re-read what
                events.append(run_event("resync.requested", {**fingerprint, "ids": len(fingerprint["ids"])}))
            shape = {"job": request.job, "resumed_from": resumed_from, "windows": len(plan.windows), "order_ids": len(plan.ids)}
            if request.job == TRACK:
                shape = {"job": request.job, "resumed_from": resumed_from, "parcels": len(plan.keys)}
            events.append(run_event("sync.started", shape))
            audit.append(conn, events, now=now)
        return plan

    def _new_plan(self, conn: sa.Connection, account: AccountInfo, source_cls: Any, request: SyncRequest, now: datetime, *, follow_up: bool) -> Plan:
        windows: list[Window] = []
        until = request.until or now
        if request.job == INCREMENTAL or request.since is not None:
            since = request.since
            if since is None:
                cursor = store.load_cursor(conn, account.id)
                since = cursor - source_cls.lookback if cursor else now - timedelta(days=account.history_days)
            windows = Window(since, until).split(source_cls.max_window) if since < until else []
        return Plan(
            phase=WINDOWS if windows else IDS,
            windows=tuple((_iso(w.since), _iso(w.until)) for w in windows),
            until=_iso(until),
            ids=tuple(dict.fromkeys(request.order_ids)),
            follow_up=request.job == INCREMENTAL and follow_up,
        )

    def _new_track_plan(self, conn: sa.Connection, account: AccountInfo, request: SyncRequest, now: datetime) -> Plan:
        """The parcels this tracking account looks at now: the ones named, else the ones due
        among the couriers it covers (``parcels.covered``), after making a parcel of every
        new shipment with an airway bill."""
        if request.parcels:
            keys = [ParcelKey.parse(text) for text in dict.fromkeys(request.parcels)]
            for key in keys:
                parcels.register(conn, key, now=now, tracker_account_id=account.id)
        else:
            from mappings import couriers

            parcels.enlist(conn, couriers.courier_of_shipment, now=now)
            covered = parcels.covered(conn, account.id, account.channel, self._tracking_channels())
            keys = parcels.due(conn, covered, now=now, limit=TRACK_LIMIT)
        return Plan(phase=KEYS if keys else DONE, keys=tuple(k.text for k in keys))

    def _tracking_channels(self) -> dict[str, frozenset[str]]:
        """Each tracking channel's couriers, as its connector declares them."""
        return {name: frozenset(get_channel(name).connector_class().couriers) for name in reading(TRACKING)}

    # -- stepping -----------------------------------------------------------------------
    def step(self, account_id: str, job: str, run_id: str, max_pages: int = 50) -> StepResult:
        """Advance the run by up to ``max_pages`` committed pages."""
        with _database_errors_described():
            return self._step(account_id, job, run_id, max_pages)

    def _step(self, account_id: str, job: str, run_id: str, max_pages: int) -> StepResult:
        account = self.accounts.get(account_id)
        stream = get_channel(account.channel).stream(TRACKING if job == TRACK else ORDERS)
        mapping = stream.mapping_module()
        with self.db.connect() as conn:
            found = store.load_checkpoint(conn, account_id, job)
        if found is None:
            return StepResult(True, 0, store.PageCounts(), 0, 1.0)
        plan = found[1]
        source = self.connector(account, run_id)
        result = StepResult(False, 0, store.PageCounts(), 0, 0.0)
        try:
            while result.pages < max_pages and not plan.done:
                if plan.phase == WINDOWS:
                    try:
                        plan = self._window_pages(account, source, job, run_id, plan, max_pages, result)
                    except StreamRefused as exc:
                        plan = self._skip_refused_stream(account, job, run_id, exc)
                elif plan.phase == IDS:
                    plan = self._id_pages(account, mapping, source, job, run_id, plan, result, stream.batch)
                elif plan.phase == KEYS:
                    plan = self._key_pages(account, mapping, source, job, run_id, plan, result, stream.batch)
        except CredentialError as exc:
            self.accounts.set_status(account_id, "credential_error", failures.describe_reason(exc), run_id=run_id)
            raise
        result.done = plan.done
        result.progress = 1.0 if result.done else plan.progress(stream.batch)
        return result

    def _window_pages(self, account, source, job, run_id, plan: Plan, max_pages, result) -> Plan:  # noqa: ANN001
        """Pages of the current window of stream ``plan.kind`` (orders, returns,
        settlements), each committed with the position after it."""
        since, until = (_dt(t) for t in plan.windows[plan.window])
        boundary = self.boundary(account)
        kind = plan.kind
        mapping = get_channel(account.channel).stream(kind).mapping_module()
        walk, prepare = getattr(source, WINDOW_STREAMS[kind].walk), WINDOW_STREAMS[kind].prepare(kind)
        pages = read_ahead(
            walk(Window(since, until), plan.position),
            limit=max_pages - result.pages,
            prepare=lambda page: prepare(mapping, page, boundary),  # pure: fine in the fetch thread
        )
        channel_limits, rate = limits_of(source, kind), self.rate_limit(account.channel)
        last = self.clock()
        with closing(pages):
            for page, mapped in pages:
                before = plan.position
                plan = plan.with_(position=page.position)
                now = self.clock()
                spent, last = (now - last).total_seconds(), now
                if page.position is None:
                    plan = self._next_window(account, plan, job)
                else:  # the budget of this window's walk (simpul.budget), committed with the page
                    keys = [r.payload_hash for part in mapped for r in part] + list(page.scanned)
                    charged = budget.charge(
                        plan.budget,
                        run_id=run_id,
                        window=plan.window,
                        record_keys=keys,
                        requests=page.requests,
                        seconds=spent,
                        reported_pages=page.reported_pages,
                        resume=before,
                    )
                    plan = plan.with_(budget=charged)
                plan = self._commit(account, mapping, job, run_id, page, plan, result, mapped, stream=kind)
                if page.position is not None:
                    try:
                        budget.check(plan.budget, self.budget_policy, channel_limits, rate.per_second if rate else None, what=account.channel, since=since, until=until)
                    except BudgetExceeded:
                        self._rewind(account.id, job, run_id, plan.with_(position=budget.rewind_to(plan.budget, plan.position)))
                        raise
                if page.position is None or result.pages >= max_pages:
                    return plan
        # The connector ended the window without a final page: close it ourselves.
        plan = self._next_window(account, plan.with_(position=None), job)
        return self._commit(account, mapping, job, run_id, Page(records=(), position=None), plan, result, ([], []), stream=kind)

    def _skip_refused_stream(self, account: AccountInfo, job: str, run_id: str, exc: StreamRefused) -> Plan:
        """The channel refused a side stream to this app (a permission not granted): audit it
        and go on with the next stream, the refused one's cursor where it was; the account
        stays active. A refusal of the orders themselves is the run's failure."""
        with self.db.connect() as conn:
            plan = store.load_checkpoint(conn, account.id, job)[1]  # as the last page committed it
        if plan.kind not in store.SIDE_STREAMS:
            raise exc
        kind, reason = plan.kind, failures.describe_reason(exc)
        plan = self._next_stream(account, plan, job, read=False)
        now = self.clock()
        with self.db.begin() as conn:
            if not plan.done:
                store.save_checkpoint(conn, account.id, job, run_id, plan, now=now)
            else:
                store.clear_checkpoint(conn, account.id, job)
            event = audit.Event(action="stream.refused", actor=self.actor, run_id=run_id, account_id=account.id, entity_type="run", entity_key=run_id, summary={"stream": kind, "reason": reason})
            audit.append(conn, [event], now=now)
        log.warning("%s: the %s stream was refused and skipped this run: %s", account.id, kind, reason)
        return plan

    def _rewind(self, account_id: str, job: str, run_id: str, plan: Plan) -> None:
        """Save ``plan`` as the checkpoint (a run stopped by its budget goes back to before
        the idle pages, whose page tokens the next run must not trust)."""
        with self.db.begin() as conn:
            store.save_checkpoint(conn, account_id, job, run_id, plan, now=self.clock())

    def _next_window(self, account: AccountInfo, plan: Plan, job: str) -> Plan:
        plan = plan.with_(window=plan.window + 1, position=None, budget=None)
        if plan.window < len(plan.windows):
            return plan
        if plan.kind != ORDERS:
            return self._next_stream(account, plan, job)
        if plan.follow_up:
            asked = set(plan.ids)
            plan = plan.with_(ids=plan.ids + tuple(i for i in self._awaiting_tracking(account.id) if i not in asked))
        return plan.with_(phase=IDS) if plan.next_id < len(plan.ids) else self._next_stream(account, plan, job)

    def _next_stream(self, account: AccountInfo, plan: Plan, job: str, *, read: bool = True) -> Plan:
        """After a stream's windows (and the orders' ids): the next window stream of the plan
        (``Plan.then``), over the same span, from its own cursor; or done. The stream just
        read has its cursor moved with the commit that ends it (``Plan.cursors``), and an
        incremental run never resumes in a side stream (``_plan``), so a side stream that
        keeps failing never holds the orders back. A stream skipped without being read
        (``read=False``) keeps its cursor."""
        plan = plan.with_(cursors=plan.cursors + (plan.kind,)) if job == INCREMENTAL and read else plan
        if not plan.then:
            return plan.with_(phase=DONE)
        kind, until = plan.then[0], _dt(plan.until)
        source_cls = get_channel(account.channel).connector_class()
        if job != INCREMENTAL:  # a resync: the window the operator named
            since = _dt(plan.request["since"])
        else:
            with self.db.connect() as conn:
                cursor = store.load_cursor(conn, account.id, stream=kind)
            since = cursor - source_cls.lookback if cursor else until - timedelta(days=account.history_days)
        windows = Window(since, until).split(source_cls.max_window) if since < until else []
        plan = plan.with_(kind=kind, then=plan.then[1:], windows=tuple((_iso(w.since), _iso(w.until)) for w in windows), window=0, position=None, budget=None)
        return plan.with_(phase=WINDOWS) if windows else self._next_stream(account, plan, job)

    def _id_pages(self, account, mapping, source, job, run_id, plan: Plan, result, size: int) -> Plan:  # noqa: ANN001
        batch = list(plan.ids[plan.next_id : plan.next_id + size])
        pages = list(source.orders_by_id(batch))
        records = [r for p in pages for r in p.records]
        missing = [m for p in pages for m in p.missing]
        i = plan.next_id + len(batch)
        plan = plan.with_(next_id=i, missing=plan.missing + tuple(missing))
        plan = plan if i < len(plan.ids) else self._next_stream(account, plan, job)
        merged = Page(
            records=records, position=None, missing=missing, requests=sum(p.requests for p in pages), unreadable=[u for p in pages for u in p.unreadable]
        )
        plan = self._commit(account, mapping, job, run_id, merged, plan, result, map_page(mapping, merged, self.boundary(account)), override=plan.override)
        result.missing.extend(missing)
        return plan

    def _key_pages(self, account, mapping, source, job, run_id, plan: Plan, result, size: int) -> Plan:  # noqa: ANN001
        """One batch of keys read and committed with the checkpoint after it."""
        asked = [ParcelKey.parse(text) for text in plan.keys[plan.next_key : plan.next_key + size]]
        pages = list(source.parcels(asked))
        couriers = {k.tracking_number: k.courier for k in asked}
        trackings, rejected = [], []
        boundary = self.boundary(account)
        for raw in (r for p in pages for r in p.records):
            try:
                t = boundary.check_tracking(mapping.map_tracking(raw))
                if t.tracking_number not in couriers:
                    raise MappingError("tracking_number: the reply is for a parcel that was not asked for")
                trackings.append(replace(t, courier=couriers[t.tracking_number], payload_hash=t.payload_hash or content_hash(raw)))
            except MappingError as exc:
                rejected.append(_reject(mapping, raw, str(exc)))
            except Exception as exc:  # noqa: BLE001 - a mapping bug must not lose the batch
                rejected.append(_reject(mapping, raw, f"mapping failed unexpectedly ({type(exc).__name__})"))
        rejected += [r for p in pages for r in unreadable(p)]
        missing = [m for p in pages for m in p.missing]
        i = plan.next_key + len(asked)
        plan = plan.with_(next_key=i, missing=plan.missing + tuple(missing), phase=KEYS if i < len(plan.keys) else DONE)
        requests = sum(p.requests for p in pages)

        def write(conn: sa.Connection, ctx: store.WriteContext) -> store.PageCounts:
            return parcels.apply_tracking(conn, ctx, trackings, missing=[ParcelKey.parse(m) for m in missing], rejected=rejected)

        plan = self._commit(account, mapping, job, run_id, Page(records=(), position=None, requests=requests), plan, result, write=write, stream=TRACKING)
        result.missing.extend(missing)
        return plan

    def _awaiting_tracking(self, account_id: str) -> list[str]:
        with self.db.connect() as conn:
            return store.awaiting_tracking(conn, account_id, limit=FOLLOW_UP_LIMIT)

    # -- one page, one transaction ------------------------------------------------------
    def _commit(self, account, mapping, job, run_id, page: Page, plan: Plan, result: StepResult, mapped=None, *, override: bool = False, write=None, stream: str = ORDERS) -> Plan:  # noqa: ANN001
        """One page (or batch) of ``stream`` in one transaction: its rows (``write``, default:
        the stream's writer, ``WINDOW_STREAMS``), the checkpoint after it, the cursors of the
        streams whose walk it ends (``Plan.cursors``), the run's counts, audit. Returns the
        plan as saved."""
        side = WINDOW_STREAMS[stream].write if stream in store.SIDE_STREAMS else None
        if write is None and side is not None:

            def write(conn: sa.Connection, ctx: store.WriteContext) -> store.PageCounts:
                return side(conn, ctx, *mapped)

        elif write is None:
            bundles, rejected = mapped if mapped is not None else map_page(mapping, page, self.boundary(account))

            def write(conn: sa.Connection, ctx: store.WriteContext) -> store.PageCounts:
                counts = store.apply_page(conn, ctx, bundles, rejected, override=override)
                if counts.new or counts.changed:  # replaced shipment rows get the couriers' word back
                    parcels.refresh_shipments(conn, account.id, [b.order.external_id for b in bundles])
                return counts

        now = self.clock()
        ctx = store.WriteContext(
            account_id=account.id,
            channel=account.channel,
            run_id=run_id,
            actor=self.actor,
            now=now,
            mapping_version=mapping.MAPPING_VERSION,
            buyer_columns=self.buyers.columns,
            stream=stream,
        )
        with self.db.begin() as conn:
            counts = write(conn, ctx)
            for kind in plan.cursors:
                store.save_cursor(conn, account.id, _dt(plan.until), now=now, stream=kind)
            plan = plan.with_(cursors=())
            if plan.done:
                store.clear_checkpoint(conn, account.id, job)
            else:
                store.save_checkpoint(conn, account.id, job, run_id, plan, now=now)
            store.add_run_counts(conn, run_id, counts, page.requests, stream=stream)
            store.flush_audit(conn, ctx)
        result.pages += 1
        result.requests += page.requests
        result.of(stream).add(counts)
        if stream not in store.SIDE_STREAMS:
            self.statistics.inserted(counts.new)
        return plan

    # -- whole runs -----------------------------------------------------------------------
    def finish(self, run_id: str, account_id: str, status: str, error: str | None = None) -> dict[str, Any]:
        """Record the run's end; returns its committed counts (pages and requests included)."""
        now = self.clock()
        with self.db.begin() as conn:
            counts = store.finish_run(conn, run_id, account_id, status, error, now=now)
            audit.append(
                conn,
                [audit.Event(action=f"sync.{status}", actor=self.actor, run_id=run_id, account_id=account_id, entity_type="run", entity_key=run_id, summary={"counts": counts, "error": error})],
                now=now,
            )
        return counts

    def run(
        self,
        request: SyncRequest,
        *,
        run_id: str | None = None,
        pages_per_step: int = 50,
        on_step: Callable[[StepResult], None] | None = None,
    ) -> RunSummary:
        """Plan and drive a run to the end in this process, without taking the account's
        lock (the caller holds it, or nobody else runs): ``simpul.runner.Runner`` with
        ``lock=False``. A failure is recorded, then raised."""
        from simpul.runner import Runner

        summary = Runner(self, lock=False).run(
            request, run_id=run_id, pages_per_step=pages_per_step, on_step=(lambda _r, step: on_step(step)) if on_step else None
        )
        if summary.exception is not None:
            raise summary.exception
        return summary


_END = object()


def read_ahead(pages: Iterator[Page], *, limit: int, prepare: Callable[[Page], Any] | None = None) -> Iterator[tuple[Page, Any]]:
    """``(page, prepare(page))`` for each of ``pages``, with the next page fetched and
    prepared in a thread while the caller commits this one, so HTTP waits and the pure
    mapping overlap database work (bench/README.md, figure 1).

    The connector's generator is still advanced one call at a time, in order, and only
    one page ahead; an exception it raises surfaces here when the caller asks for that
    page, as without read-ahead. Nothing is fetched after a page without a position (the
    window's last) or beyond ``limit`` pages, so a step sends exactly the requests it
    would send without read-ahead. Closing waits for a fetch in flight: a token it
    rotated is saved before the run moves on (``on_credentials`` may then run in the
    fetch thread; on SQLite its write queues behind the page's BEGIN IMMEDIATE).
    """

    def produce() -> Any:
        page = next(pages, _END)
        return page if page is _END or prepare is None else (page, prepare(page))

    def fetch() -> Future:
        return pool.submit(contextvars.copy_context().run, produce)  # Prefect's run context, for logs

    pool = ThreadPoolExecutor(1, thread_name_prefix="simpul-fetch")
    ahead: Future | None = fetch()
    try:
        for n in range(limit):
            item = ahead.result()
            ahead = None
            if item is _END:
                return
            page, prepared = item if prepare is not None else (item, None)
            if n + 1 < limit and page.position is not None:
                ahead = fetch()
            yield page, prepared
            if ahead is None:
                return
    finally:
        pool.shutdown(wait=True)
        close = getattr(pages, "close", None)
        if close is not None:
            close()


def map_records(mapping: Any, records: Sequence[Mapping[str, Any]], boundary: Boundary | None = None) -> tuple[list[OrderBundle], list[store.Rejected]]:
    """Map a page; a payload that fails goes to quarantine and the rest still lands.

    With a ``boundary`` (the engine always passes one), every mapped value must also fit
    the canonical model and both databases (``simpul.limits``), or the record is
    quarantined with a reason naming the field.
    """
    return _map_each(mapping, records, lambda raw: boundary.check(mapping.map_order(raw)) if boundary is not None else mapping.map_order(raw))


def map_side_page(stream: str, mapping: Any, page: Page, boundary: Boundary) -> tuple[list[Any], list[store.Rejected]]:
    """``map_page`` for a side stream (returns, settlements): each record mapped and checked
    by its kind's ``map_one``; a record without its own content hash gets the raw's."""
    map_one = WINDOW_STREAMS[stream].map_one

    def one(raw: Mapping[str, Any]) -> Any:
        record = map_one(mapping, raw, boundary)
        return record if record.payload_hash else replace(record, payload_hash=content_hash(raw))

    records, rejected = _map_each(mapping, page.records, one)
    return records, rejected + unreadable(page)


@dataclass(frozen=True, slots=True)
class WindowStream:
    """How the engine reads and writes one window stream kind: the connector's walk
    (``walk``, a method name), one raw record mapped and checked against the boundary
    (``map_one``, pure; quarantine replay uses it too) and the store's writer of mapped
    records (``write``)."""

    walk: str
    map_one: Callable[[Any, Mapping[str, Any], Boundary], Any]
    write: Callable[..., store.PageCounts]

    def prepare(self, stream: str) -> Callable[[Any, Page, Boundary], tuple[list[Any], list[store.Rejected]]]:
        """The pure mapping of one page of this stream (done in the fetch thread)."""
        return map_page if stream == ORDERS else functools.partial(map_side_page, stream)


def _map_each(mapping: Any, records: Sequence[Mapping[str, Any]], map_one: Callable[[Mapping[str, Any]], Any]) -> tuple[list[Any], list[store.Rejected]]:
    mapped: list[Any] = []
    rejected: list[store.Rejected] = []
    for raw in records:
        try:
            mapped.append(map_one(raw))
        except MappingError as exc:
            rejected.append(_reject(mapping, raw, str(exc)))
        except Exception as exc:  # a mapping bug must not lose the page either
            rejected.append(_reject(mapping, raw, f"mapping failed unexpectedly ({type(exc).__name__})"))
    return mapped, rejected


def map_page(mapping: Any, page: Page, boundary: Boundary) -> tuple[list[OrderBundle], list[store.Rejected]]:
    """``map_records`` of a page, plus a quarantine entry for each order the channel answered
    for but whose reply could not be read (``Page.unreadable``)."""
    bundles, rejected = map_records(mapping, page.records, boundary)
    return bundles, rejected + unreadable(page)


def unreadable(page: Page) -> list[store.Rejected]:
    """A quarantine entry per record the channel answered for but whose reply could not be
    read, keyed by its id (order number, parcel key), so each run's attempt bumps one row."""
    return [
        store.Rejected(
            external_id=storable_id(external_id),
            reason=failures.cap(reason),
            payload={"unreadable": True, "external_id": storable_id(external_id)},
            payload_hash=content_hash({"unreadable": external_id}),
        )
        for external_id, reason in page.unreadable
    ]


def _reject(mapping: Any, raw: Mapping[str, Any], reason: str) -> store.Rejected:
    try:
        scrubbed = mapping.scrub(raw)
    except Exception:  # noqa: BLE001 - an unscrubbable payload is not kept at all
        scrubbed = {"unscrubbable": True}
    try:
        external_id = storable_id(mapping.external_id(raw))  # a 10 kB order number is kept out of keys and audit
    except Exception:  # noqa: BLE001
        external_id = None
    return store.Rejected(external_id=external_id, reason=failures.cap(reason), payload=scrubbed, payload_hash=content_hash(raw))


@contextlib.contextmanager
def _database_errors_described() -> Iterator[None]:
    """A database exception leaves the engine as ``StoreError`` with its described text only:
    its statement and parameters (buyer notes, postcodes, sealed envelopes) stay behind, also
    out of Prefect's task-run states and logs, which record an exception's text."""
    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        raise failures.StoreError(failures.describe(exc)) from None


WINDOW_STREAMS: dict[str, WindowStream] = {
    ORDERS: WindowStream("order_pages", lambda mapping, raw, boundary: boundary.check(mapping.map_order(raw)), store.apply_page),
    RETURNS: WindowStream("return_pages", lambda mapping, raw, boundary: boundary.check_return(mapping.map_return(raw)), store.apply_returns),
    SETTLEMENTS: WindowStream("settlement_pages", lambda mapping, raw, boundary: boundary.check_settlement(mapping.map_settlement(raw)), store.apply_settlements),
}
"""The window stream kinds; every kind but ``orders`` is a side stream (``store.SIDE_STREAMS``)."""
if set(WINDOW_STREAMS) != {ORDERS, *store.SIDE_STREAMS}:  # a kind added to connectors.spec.MODES needs its entry here
    raise RuntimeError("simpul.engine.WINDOW_STREAMS does not cover every window stream kind")
