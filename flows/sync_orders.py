"""Prefect flows over the sync engine: the hub's schedule, its shards, one account, and an
ops resync.

Wiring only: the runner locks, plans and steps; the engine pages, maps and writes. This
module adds what Prefect is for:

- ``sync-all`` (the schedule) lists the hub's accounts and cuts them into shards of
  ``shard_size``. One shard runs right here. More are started as ``sync-shard`` runs of
  the ``sync-shard/shard`` deployment on the work pool (``run_deployment``, not waited
  for one by one), so every worker takes a share and another worker machine adds
  throughput; sync-all waits for them and publishes the whole hub's summary.
- ``sync-shard`` syncs its accounts ``concurrency`` at a time on threads
  (``Runner.run_all``), with **no Prefect task per account**: a task costs ~7 ms in the
  client and the API server records only ~25-30 task runs/s, so 1,000 accounts x 2
  tasks would be ~70 s of server time per schedule. One progress artifact and one
  summary per shard run instead. Each account keeps its lock, its own request budget
  and its own run row, so one slow, failing or paused shop never holds up the others.
- ``sync-orders`` and ``resync`` (one account) keep a task per batch of pages, so a big
  account's first import shows its progress.

Every sync run holds slots of the ``simpul-database`` global concurrency limit for the
database connections it may open (``flows._limits``), so shard runs on any number of
workers stay within what the database allows.

Flow states ops can read: Completed; Failed when an account failed (alerts on Failed
fire), with the accounts in the message and the summary artifacts; Cancelled named
"Skipped" when another sync holds the single account. Such a state's data is an
exception carrying every account's row (``flows._states``): Prefect turns it into the
exception it raises, and anything else there made it log ``TypeError: Unexpected result
for failed state`` (see ``flows._engine_log`` for the rest of that story).

Tasks and parameters get ids and counts only. The hub (database, vault, engine) lives in
a context variable for the flow run, so no credential, key or payload becomes a Prefect
parameter, task input or result. Nothing is cached or persisted by Prefect: the engine's
writes are the result. Batches are not retried by Prefect either: the HTTP kit already
retries each request, and the next run resumes from the last committed page.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.runtime import flow_run
from prefect.states import Failed, State

from flows import _artifacts, _states
from flows._hub import HUB, run_hub
from flows._limits import CONNECTIONS_PER_ACCOUNT, database_slots, ensure_database_limit
from flows.params import (
    DEFAULT_CONCURRENCY,
    DEFAULT_PAGES_PER_TASK,
    DEFAULT_SHARD_SIZE,
    AccountId,
    Concurrency,
    PagesPerTask,
    ResyncParams,
    ShardAccounts,
    ShardLabel,
    ShardSize,
)
from connectors._http.errors import ConnectorError
from simpul import failures
from simpul.channels import ORDERS, reading
from simpul.engine import INCREMENTAL, RESYNC, AccountUnavailable, RunSummary, StepResult, SyncRequest
from simpul.runner import Runner, Steps
from simpul.runtime import Hub

SHARD_DEPLOYMENT = "sync-shard/shard"
SHARD_SUMMARY_KEY = "sync-shard-summary"
SHARD_POLL_SECONDS = 1.0
SHARD_WAIT_SECONDS = 3600.0  # a shard not final by then is reported as not finished
EXPECTED = (ConnectorError, failures.SafeError, AccountUnavailable)  # reported without a traceback


# -- one account, a task per batch --------------------------------------------------------
@task(name="plan", task_run_name="plan-{request.account_id}", cache_policy=NO_CACHE, persist_result=False)
def plan(request: SyncRequest, run_id: str) -> dict[str, int] | State:
    """Save the run's plan as its checkpoint (or take over a killed run's) before any request."""
    try:
        planned = HUB.get().engine.plan(request, run_id)
    except EXPECTED as exc:
        return _task_failed(exc)
    shape = {"windows": len(planned.windows), "order_numbers": len(planned.ids), "parcels": len(planned.keys)}
    get_run_logger().info(
        "%s: %s run planned: %d window(s), %d order number(s), %d parcel(s)", request.account_id, request.job, shape["windows"], shape["order_numbers"], shape["parcels"]
    )
    return shape


@task(name="advance", task_run_name="advance-{account}", cache_policy=NO_CACHE, persist_result=False)
def advance(account: str, job: str, run_id: str, max_pages: int) -> StepResult | State:
    """One batch: up to ``max_pages`` pages, each committed with its checkpoint."""
    try:
        return HUB.get().engine.step(account, job, run_id, max_pages)
    except EXPECTED as exc:
        return _task_failed(exc)


def _task_failed(exc: Exception) -> State:
    """An expected failure (the channel refused or broke a budget, the database refused a
    row) ends the task Failed with the reason and no traceback in the run's log; the
    runner, calling the task, gets the exception back and reports the account failed.
    Anything else (a bug) still raises with its traceback."""
    return Failed(message=failures.describe(exc), data=exc)


def sync_account(hub: Hub, request: SyncRequest, pages_per_task: int) -> RunSummary:
    """One account through the runner, each plan and batch a task. Never raises for one
    account's trouble: the summary says skipped or failed, and why."""
    logger = get_run_logger()
    bars: dict[str, _artifacts.Progress] = {}

    def planned(request: SyncRequest, run_id: str) -> dict[str, int]:
        shape = _value(plan(request, run_id, return_state=True))
        bars[request.account_id] = _artifacts.Progress(_artifacts.key(request.job, "progress", request.account_id), f"{request.job} of {request.account_id}")
        return shape

    def advanced(account: str, job: str, run_id: str, max_pages: int) -> StepResult:
        return _value(advance(account, job, run_id, max_pages, return_state=True))

    def on_step(request: SyncRequest, step: StepResult) -> None:
        bars[request.account_id].update(step.progress)
        logger.info("%s: %d page(s), %d row(s) written in this batch (%.0f%%)", request.account_id, step.pages, step.counts.written, 100 * step.progress)

    summary = Runner(hub.engine, steps=Steps(plan=planned, advance=advanced)).run(request, pages_per_step=pages_per_task, on_step=on_step)
    _log_outcome(summary)
    return summary


def _value(state: State) -> Any:
    """A task's result; the exception of a Failed task is raised here, for the runner."""
    value = state.result(raise_on_failure=False)
    if isinstance(value, BaseException):
        raise value
    return value


def _one_account(flow_name: str, request: SyncRequest, pages_per_task: int) -> dict[str, Any] | State:
    with database_slots(1), run_hub(flow_name) as hub:
        summary = sync_account(hub, request, pages_per_task)
    job, account = request.job, request.account_id
    row = summary.as_row()
    _artifacts.publish(_artifacts.key(job, "summary", account), _artifacts.key(job, "report", account), f"{flow_name} {account}", [row])
    if summary.status == "skipped":
        return _states.skipped(f"{account}: {summary.error}", [row])
    if summary.status != "completed":
        return _states.failed(f"{account}: {summary.error}", [row])
    return row


# -- many accounts, no task per account ---------------------------------------------------
def _sync_many(flow_name: str, accounts: Sequence[str], concurrency: int, progress_key: str) -> list[dict[str, Any]]:
    """Sync ``accounts`` in this process, ``concurrency`` at once (fitted to the database
    limit); one row per account, in the order given."""
    logger = get_run_logger()
    with database_slots(min(concurrency, len(accounts))) as at_once:
        with run_hub(flow_name, pool_size=at_once * CONNECTIONS_PER_ACCOUNT + 2) as hub:
            progress = _artifacts.Progress(progress_key, f"{flow_name}: accounts done", total=len(accounts))

            def done(summary: RunSummary) -> None:
                _log_outcome(summary)
                progress.advance()

            logger.info("%s: %d account(s), %d at a time", flow_name, len(accounts), at_once)
            summaries = Runner(hub.engine).run_all(
                [SyncRequest(a) for a in accounts], concurrency=at_once, on_done=done
            )
    return [s.as_row() for s in summaries]


@flow(name="sync-shard", flow_run_name="sync-shard-{label}", persist_result=False)
def sync_shard(accounts: ShardAccounts, concurrency: Concurrency = DEFAULT_CONCURRENCY, label: ShardLabel = "1-of-1") -> list[dict[str, Any]] | State:
    """Incremental sync of a share of the hub's accounts; sync-all starts these.

    Args:
        accounts: The accounts of this shard.
        concurrency: Accounts synced at once (capped by the simpul-database limit).
        label: Which shard of the sync-all run this is, e.g. 2-of-4.
    """
    rows = _sync_many("sync-shard", accounts, concurrency, "sync-shard-progress")
    _artifacts.publish(SHARD_SUMMARY_KEY, "sync-shard-report", f"sync-shard {label}", rows)
    return outcome(rows)


@flow(name="sync-all", persist_result=False)
def sync_all(
    accounts: list[AccountId] | None = None,
    shard_size: ShardSize = DEFAULT_SHARD_SIZE,
    concurrency: Concurrency = DEFAULT_CONCURRENCY,
) -> list[dict[str, Any]] | State:
    """Incremental sync of every account of the hub (or the ones named), in shards.

    Up to ``shard_size`` accounts are synced in this run; more are split into sync-shard
    runs on the work pool, which every worker shares, and this run waits for them and
    publishes the hub's summary (failing and slowest accounts first). Accounts that are
    not active are listed as skipped with their reason, so a refused credential stays
    visible on every run. One account's failure does not stop the others; the run ends
    Failed if any account failed, so alerts on Failed runs fire.

    Args:
        accounts: Account ids to sync; empty means every account of the hub.
        shard_size: Accounts per shard run; more than this are split across the work pool.
        concurrency: Accounts synced at once in each shard run.
    """
    logger = get_run_logger()
    with run_hub("sync-all") as hub:
        ids = list(accounts or [a.id for a in hub.accounts.list() if a.channel in reading(ORDERS)])  # tracking accounts: track-shipments
    shards = [ids[i : i + shard_size] for i in range(0, len(ids), shard_size)] or [[]]
    notes: list[str] = []
    if len(shards) == 1:
        rows = _sync_many("sync-all", ids, concurrency, _artifacts.key(INCREMENTAL, "all-progress")) if ids else []
    elif not _deployed(SHARD_DEPLOYMENT):
        logger.warning("%d accounts but no %s deployment: syncing all of them in this run", len(ids), SHARD_DEPLOYMENT)
        rows = _sync_many("sync-all", ids, concurrency, _artifacts.key(INCREMENTAL, "all-progress"))
    else:
        rows, notes = _fan_out(shards, concurrency)
    _artifacts.publish(_artifacts.key(INCREMENTAL, "all-summary"), _artifacts.key(INCREMENTAL, "all-report"), "sync-all", rows, notes=notes)
    return outcome(rows)


def _fan_out(shards: list[list[str]], concurrency: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Start a sync-shard run per shard on the work pool, wait for all, gather their rows."""
    logger = get_run_logger()
    parent = flow_run.get_id() or "local"
    runs = [
        run_deployment(
            SHARD_DEPLOYMENT,
            parameters={"accounts": shard, "concurrency": concurrency, "label": f"{i + 1}-of-{len(shards)}"},
            timeout=0,
            as_subflow=True,
            idempotency_key=f"{parent}-shard-{i + 1}-of-{len(shards)}",  # a retried sync-all reuses its shards
        )
        for i, shard in enumerate(shards)
    ]
    logger.info("started %d sync-shard runs of up to %d accounts: %s", len(runs), max(map(len, shards)), ", ".join(r.name for r in runs))
    final = _wait(runs)
    rows: list[dict[str, Any]] = []
    notes = ["Shard runs: " + ", ".join(f"{r.name} ({final[r.id]})" for r in runs) + "."]
    with get_client(sync_client=True) as client:
        for run, shard in zip(runs, shards):
            got = {r["account"]: r for r in _shard_rows(client, run.id)}
            for account in shard:
                rows.append(got.get(account) or {"account": account, "status": "failed", "new": 0, "changed": 0, "quarantined": 0, "seconds": 0.0,
                                                  "error": f"shard run {run.name} ended {final[run.id]} without reporting this account; the next run resumes it"})
    return rows, notes


def _wait(runs: Sequence[Any]) -> dict[Any, str]:
    """Each run's final state name, polling the API; runs not final by the deadline are
    reported by their current state."""
    deadline = time.monotonic() + SHARD_WAIT_SECONDS
    states: dict[Any, str] = {}
    with get_client(sync_client=True) as client:
        pending = {r.id for r in runs}
        while pending and time.monotonic() < deadline:
            time.sleep(SHARD_POLL_SECONDS)
            for run in client.read_flow_runs(flow_run_filter=_ids(pending)):
                if run.state is not None and run.state.is_final():
                    states[run.id] = run.state.name
                    pending.discard(run.id)
        for run in client.read_flow_runs(flow_run_filter=_ids(pending)) if pending else ():
            states[run.id] = f"{run.state.name if run.state else 'unknown'} (still running after {SHARD_WAIT_SECONDS:.0f} s)"
    return states


def _ids(ids: set[Any]) -> Any:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    return FlowRunFilter(id=FlowRunFilterId(any_=list(ids)))


def _shard_rows(client: Any, run_id: Any) -> list[dict[str, Any]]:
    artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]), key=ArtifactFilterKey(any_=[SHARD_SUMMARY_KEY])))
    if not artifacts:
        return []
    data = artifacts[0].data
    return json.loads(data) if isinstance(data, str) else list(data or [])


def _deployed(name: str) -> bool:
    with get_client(sync_client=True) as client:
        try:
            client.read_deployment_by_name(name)
        except ObjectNotFound:
            return False
    return True


def outcome(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]] | State:
    failed = [r["account"] for r in rows if r["status"] not in ("completed", "skipped")]
    if not failed:
        return list(rows)
    shown = ", ".join(failed[:20]) + (f" and {len(failed) - 20} more" if len(failed) > 20 else "")
    return _states.failed(f"{len(failed)} of {len(rows)} account(s) failed: {shown}", rows)


def _log_outcome(summary: RunSummary) -> None:
    logger = get_run_logger()
    if summary.status == "skipped":
        logger.warning("%s skipped: %s", summary.account_id, summary.error)
    elif summary.status != "completed":
        logger.error("%s %s: %s", summary.account_id, summary.status, summary.error)


# -- one account ----------------------------------------------------------------------------
@flow(name="sync-orders", flow_run_name="sync-orders-{account}", persist_result=False)
def sync_orders(account: AccountId, pages_per_task: PagesPerTask = DEFAULT_PAGES_PER_TASK) -> dict[str, Any] | State:
    """Incremental sync of one account, for accounts that need their own deployment and cadence.

    Args:
        account: Account id as shown by `simpul accounts list`.
        pages_per_task: Pages per Prefect task (one task per batch of pages).
    """
    return _one_account("sync-orders", SyncRequest(account), pages_per_task)


@flow(name="resync", flow_run_name="resync-{params.account}", persist_result=False)
def resync(params: ResyncParams) -> dict[str, Any] | State:
    """Ops: re-read a window and/or order numbers of one account. Never moves the sync cursor.

    Args:
        params: The account and what to re-read.
    """
    request = SyncRequest(
        params.account, job=RESYNC, since=params.since, until=params.until, order_ids=tuple(params.order_numbers), override_version=params.override_version
    )
    return _one_account("resync", request, params.pages_per_task)


# -- in-process entry (the CLI) -------------------------------------------------------------
def run_sync_flow(requests: Sequence[SyncRequest] | None = None) -> list[dict[str, Any]]:
    """Run syncs as Prefect flows in this process and return one summary row per account.

    Incremental requests share one ``sync-all`` run (``None``: every account); each resync
    is its own ``resync`` run. Without ``PREFECT_API_URL`` Prefect starts an ephemeral
    API for the process (~7 s the first time); the ``simpul-database`` limit is created
    there (with its default size) if it is missing.
    """
    ensure_database_limit()
    if requests is None:
        return rows_of(sync_all(return_state=True))
    incremental = [r.account_id for r in requests if r.job == INCREMENTAL]
    rows = rows_of(sync_all(accounts=incremental, return_state=True)) if incremental else []
    for r in requests:
        if r.job == RESYNC:
            params = ResyncParams(account=r.account_id, since=r.since, until=r.until, order_numbers=list(r.order_ids), override_version=r.override_version)
            rows.extend(rows_of(resync(params, return_state=True)))
    return rows


def rows_of(state: State) -> list[dict[str, Any]]:
    data = state.result(raise_on_failure=False)
    if isinstance(data, _states.Incomplete):
        return data.rows
    if isinstance(data, BaseException):
        raise data
    return data if isinstance(data, list) else [data]
