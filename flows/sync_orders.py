"""Prefect flows over the sync engine: the schedule, one account, and an ops resync.

Wiring only: the engine plans, pages, maps and writes. This module adds what Prefect is
for. One coarse task per batch of pages (a task costs ~7 ms in the client and the server
records only ~25-30 task runs/s, so never a task per order or page, and no subflow per
account: each costs ~1 s). A progress artifact per account, a summary table and a short
report per run, and flow states ops can read: Completed, Failed, or Cancelled named
"Skipped" when another sync holds the account.

Tasks get ids and counts only. The hub (database, vault, engine) lives in a context
variable for the flow run, so no credential, key or payload becomes a Prefect parameter,
task input or result. Nothing is cached or persisted by Prefect: the engine's writes are
the result, and a cached batch would silently skip them. Batches are not retried by
Prefect either: the HTTP kit already retries each request, and the next run resumes from
the last committed page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Cancelled, Failed, State

from flows import _artifacts
from flows._hub import HUB, run_hub
from flows.params import DEFAULT_PAGES_PER_TASK, AccountId, PagesPerTask, ResyncParams
from simpul.engine import INCREMENTAL, RESYNC, RunSummary, StepResult, SyncRequest
from simpul.runner import Runner, Steps
from simpul.runtime import Hub


@task(name="plan", task_run_name="plan-{request.account_id}", cache_policy=NO_CACHE, persist_result=False)
def plan(request: SyncRequest, run_id: str) -> dict[str, int]:
    """Save the run's plan as its checkpoint (or take over a killed run's) before any request."""
    state = HUB.get().engine.plan(request, run_id)
    shape = {"windows": len(state["windows"]), "order_numbers": len(state["ids"])}
    get_run_logger().info("%s: %s run planned: %d window(s), %d order number(s)", request.account_id, request.job, shape["windows"], shape["order_numbers"])
    return shape


@task(name="advance", task_run_name="advance-{account}", cache_policy=NO_CACHE, persist_result=False)
def advance(account: str, job: str, run_id: str, max_pages: int) -> StepResult:
    """One batch: up to ``max_pages`` pages, each committed with its checkpoint."""
    return HUB.get().engine.step(account, job, run_id, max_pages)


def _sync_account(hub: Hub, request: SyncRequest, pages_per_task: int) -> RunSummary:
    """One account through the runner, each plan and batch a task. Never raises for one
    account's trouble: the summary says skipped or failed, and why."""
    logger = get_run_logger()
    bars: dict[str, _artifacts.Progress] = {}

    def planned(request: SyncRequest, run_id: str) -> dict[str, int]:
        shape = plan(request, run_id)
        bars[request.account_id] = _artifacts.Progress(request.job, request.account_id)
        return shape

    def on_step(request: SyncRequest, step: StepResult) -> None:
        bars[request.account_id].update(step.progress)
        logger.info("%s: %d page(s), %d row(s) written in this batch (%.0f%%)", request.account_id, step.pages, step.counts.written, 100 * step.progress)

    summary = Runner(hub.engine, steps=Steps(plan=planned, advance=advance)).run(request, pages_per_step=pages_per_task, on_step=on_step)
    if summary.status == "skipped":
        logger.warning("%s skipped: %s", summary.account_id, summary.error)
    elif summary.status == "failed":
        logger.error("%s failed: %s", summary.account_id, summary.error)
    return summary


def _one_account(flow_name: str, request: SyncRequest, pages_per_task: int) -> dict[str, Any] | State:
    with run_hub(flow_name) as hub:
        summary = _sync_account(hub, request, pages_per_task)
    job = request.job
    account = request.account_id
    _artifacts.publish(_artifacts.key(job, "summary", account), _artifacts.key(job, "report", account), f"{flow_name} {account}", [summary])
    row = summary.as_row()
    if summary.status == "failed":
        return Failed(message=f"{account}: {summary.error}", data=row)
    if summary.status == "skipped":
        return Cancelled(name="Skipped", message=f"{account}: {summary.error}", data=row)
    return row


@flow(name="sync-orders", flow_run_name="sync-orders-{account}", persist_result=False)
def sync_orders(account: AccountId, pages_per_task: PagesPerTask = DEFAULT_PAGES_PER_TASK) -> dict[str, Any] | State:
    """Incremental sync of one account, for accounts that need their own deployment and cadence.

    Args:
        account: Account id as shown by `simpul accounts list`.
        pages_per_task: Pages per Prefect task (one task per batch of pages).
    """
    return _one_account("sync-orders", SyncRequest(account), pages_per_task)


@flow(name="sync-all", persist_result=False)
def sync_all(accounts: list[AccountId] | None = None, pages_per_task: PagesPerTask = DEFAULT_PAGES_PER_TASK) -> list[dict[str, Any]] | State:
    """Incremental sync of every account (or the ones named), one after another in this run.

    Accounts that are not active are listed as skipped with their reason, so a refused
    credential stays visible on every run. One account's failure does not stop the
    others; the run ends Failed if any account failed, so alerts on Failed runs fire.

    Args:
        accounts: Account ids to sync; empty means every account of the hub.
        pages_per_task: Pages per Prefect task (one task per batch of pages).
    """
    with run_hub("sync-all") as hub:
        ids = accounts or [a.id for a in hub.accounts.list()]
        summaries = [_sync_account(hub, SyncRequest(a), pages_per_task) for a in ids]
    _artifacts.publish(_artifacts.key(INCREMENTAL, "all-summary"), _artifacts.key(INCREMENTAL, "all-report"), "sync-all", summaries)
    rows = [s.as_row() for s in summaries]
    failed = [s.account_id for s in summaries if s.status == "failed"]
    if failed:
        return Failed(message=f"{len(failed)} of {len(rows)} account(s) failed: {', '.join(failed)}", data=rows)
    return rows


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


def run_sync_flow(requests: Sequence[SyncRequest] | None = None) -> list[dict[str, Any]]:
    """Run syncs as Prefect flows in this process and return one summary row per account.

    Incremental requests share one ``sync-all`` run (``None``: every account); each resync
    is its own ``resync`` run. Without ``PREFECT_API_URL`` Prefect starts an ephemeral
    API for the process (~7 s the first time).
    """
    if requests is None:
        return _rows(sync_all(return_state=True))
    incremental = [r.account_id for r in requests if r.job == INCREMENTAL]
    rows = _rows(sync_all(accounts=incremental, return_state=True)) if incremental else []
    for r in requests:
        if r.job == RESYNC:
            params = ResyncParams(account=r.account_id, since=r.since, until=r.until, order_numbers=list(r.order_ids), override_version=r.override_version)
            rows.extend(_rows(resync(params, return_state=True)))
    return rows


def _rows(state: State) -> list[dict[str, Any]]:
    data = state.result(raise_on_failure=False)
    if isinstance(data, BaseException):
        raise data
    return data if isinstance(data, list) else [data]
