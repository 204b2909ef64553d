"""The one driver of a sync run: lock, plan, step (renewing the lock), finish.

The CLI, the Prefect flows, the demo, the benchmarks and ``Engine.run`` all drive runs
through ``Runner``, so a run is locked, planned, stepped, renewed and finished the same
way whatever started it. Prefect wraps planning and stepping in tasks by handing the
runner its own ``Steps``; everyone else calls the engine directly.

``run`` never raises for one account's trouble: the summary says ``completed``,
``skipped`` (the account is not active, or another sync holds it) or ``failed`` with an
error text safe to store (``simpul.failures``), and keeps the exception for callers that
want it. ``run_all`` runs many accounts on a bounded thread pool: accounts are I/O bound
and each has its own rate-limit bucket, so they overlap well; one account is never run
twice at once (its lock), and a slow or failing account does not hold up the others.

When the thread waiting in ``run_all`` is interrupted (Prefect turns a SIGTERM into an
exception there), accounts not yet started are dropped and the running ones stop before
their next step (``stopped``, their run row says so); what they committed stays, and the
next run resumes each from its checkpoint. So a process told to stop exits within one
step of each running account instead of after every account of the batch. (Under
Prefect, once the run is marked Crashed the process ends by the signal itself, mid-step:
a page is one transaction, so that is safe too.) ``run_all`` waits in short slices, so a
signal the kernel hands to one of the account threads is still acted on at once.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from simpul import failures
from simpul.engine import AccountUnavailable, Engine, RunSummary, StepResult, SyncRequest, utcnow
from simpul.locks import AccountLock, SyncAlreadyRunning
from simpul.store import SIDE_STREAMS, PageCounts

log = logging.getLogger("simpul.runner")

DEFAULT_PAGES_PER_STEP = 50
WAKE_SECONDS = 0.5  # how long run_all waits before it looks for a signal (see run_all)
STOPPED = "stopped before it finished: the process was told to stop; the next run resumes from the last committed page"


class _Stop(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Steps:
    """How a run plans and advances: the engine's methods, or Prefect tasks around them."""

    plan: Callable[[SyncRequest, str], Any]
    advance: Callable[[str, str, str, int], StepResult]

    @classmethod
    def of(cls, engine: Engine) -> "Steps":
        return cls(plan=engine.plan, advance=engine.step)


class Runner:
    def __init__(self, engine: Engine, *, steps: Steps | None = None, lock: bool = True) -> None:
        """``lock=False`` when the caller already holds the account's lock."""
        self.engine = engine
        self.steps = steps or Steps.of(engine)
        self.lock = lock

    def run(
        self,
        request: SyncRequest,
        *,
        pages_per_step: int = DEFAULT_PAGES_PER_STEP,
        on_step: Callable[[SyncRequest, StepResult], None] | None = None,
        run_id: str | None = None,
        stop: threading.Event | None = None,
    ) -> RunSummary:
        """Drive one account's run to its end (see the module docstring); a set ``stop``
        ends it before its next step."""
        summary = RunSummary(run_id or uuid.uuid4().hex, request.account_id, "", request.job, "running", PageCounts())
        planned = False
        try:
            account = self.engine.accounts.get(request.account_id)
            summary.channel = account.channel
            if account.status != "active":
                raise AccountUnavailable(f"account {account.id!r} is {account.status}: {account.status_reason or 'no reason recorded'}")
            with self._locked(request.account_id) as lock:
                self.steps.plan(request, summary.run_id)
                planned = True
                while True:
                    if stop is not None and stop.is_set():
                        raise _Stop(STOPPED)
                    step = self.steps.advance(request.account_id, request.job, summary.run_id, pages_per_step)
                    summary.pages += step.pages
                    summary.requests += step.requests
                    summary.counts.add(step.counts)
                    for side in SIDE_STREAMS:
                        summary.of(side).add(step.of(side))
                    summary.missing.extend(step.missing)
                    if lock is not None:
                        lock.renew()
                    if on_step is not None:
                        on_step(request, step)
                    if step.done:
                        break
                self.engine.finish(summary.run_id, request.account_id, "completed")
                summary.status = "completed"
        except (AccountUnavailable, SyncAlreadyRunning) as exc:
            summary.status, summary.error = "skipped", failures.describe_reason(exc)
        except _Stop:
            summary.status, summary.error = "stopped", STOPPED
            if planned:
                self._finish_failed(summary, "stopped")
        except Exception as exc:  # noqa: BLE001 - reported per account; the caller decides
            summary.status, summary.error, summary.exception = "failed", failures.describe(exc), exc
            if planned:
                self._finish_failed(summary)
        summary.finished_at = utcnow()
        return summary

    def run_all(
        self,
        requests: Sequence[SyncRequest],
        *,
        concurrency: int = 1,
        pages_per_step: int = DEFAULT_PAGES_PER_STEP,
        on_step: Callable[[SyncRequest, StepResult], None] | None = None,
        on_done: Callable[[RunSummary], None] | None = None,
    ) -> list[RunSummary]:
        """Run every request, at most ``concurrency`` at once; summaries in request order."""
        stop = threading.Event()

        def one(request: SyncRequest) -> RunSummary:
            summary = self.run(request, pages_per_step=pages_per_step, on_step=on_step, stop=stop)
            if on_done is not None:
                on_done(summary)
            return summary

        if concurrency <= 1 or len(requests) <= 1:
            return [one(r) for r in requests]
        pool = ThreadPoolExecutor(min(concurrency, len(requests)), thread_name_prefix="simpul-account")
        try:
            # Each account runs in a copy of the caller's context (Prefect's run context, for logs).
            futures = [pool.submit(contextvars.copy_context().run, one, r) for r in requests]
            pending = set(futures)
            while pending:
                # Wait in slices: a signal the kernel hands to another thread runs its Python
                # handler only when this thread wakes up, so it must wake up now and then.
                _, pending = wait(pending, timeout=WAKE_SECONDS)
            summaries = [f.result() for f in futures]
        except BaseException:
            # Interrupted (a termination signal, KeyboardInterrupt): start nothing new, and
            # let the running accounts stop at their next step; do not wait for them here
            # (the interpreter joins them on exit).
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return summaries

    # -- helpers --------------------------------------------------------------------------
    def _locked(self, account_id: str) -> Any:
        return AccountLock(self.engine.db, account_id) if self.lock else _NoLock()

    def _finish_failed(self, summary: RunSummary, status: str = "failed") -> None:
        try:
            committed = self.engine.finish(summary.run_id, summary.account_id, status, summary.error)
        except Exception as exc:  # noqa: BLE001 - the database may be what failed; the run row stays 'running'
            log.error("%s: could not record the failed run: %s", summary.account_id, failures.describe(exc))
            return
        # The step that failed returned nothing, but the pages it committed before are in
        # the run's row: report what this run did land.
        summary.pages, summary.requests = committed.get("pages", summary.pages), committed.get("requests", summary.requests)
        summary.counts = PageCounts(**{k: committed.get(k, 0) for k in PageCounts().as_dict()})
        for side in SIDE_STREAMS:
            setattr(summary, side, PageCounts(**{k: committed.get(f"{side}_{k}", 0) for k in PageCounts().as_dict()}))


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
