"""The ``track-shipments`` flow: one tracking pass over the hub, and what needs a person.

Wiring only, as in ``flows.sync_orders``: for each tracking account (a channel with a
tracking stream, ``simpul.channels.reading("tracking")``), or the accounts given, a
``SyncRequest(account, job=TRACK)`` goes through ``simpul.runner.Runner`` with its plan
and each batch of pages a Prefect task, exactly as ``sync-orders`` and ``resync`` run
one account (``flows.sync_orders.sync_account``: the same plan and advance tasks, the
same expected-failure handling; the progress bar is ``track-progress-<account>``). The engine
chooses the parcels (enlists newly shipped ones, routes each courier to its account,
takes the ones due, most overdue first) and commits each batch with its checkpoint; a
killed run's rerun repeats at most the batch in flight.

Accounts run one after the other. A hub has a handful of aggregator accounts, each run
is bounded (``simpul.engine.TRACK_LIMIT`` parcels, the rest stay due for the next run)
and paced by its channel's rate limit; one at a time holds one account's share of the
``simpul-database`` limit.

After the runs, whatever they did, the flow publishes:

- ``track-all-summary`` / ``track-all-report``: one row per account, as ``sync-all``
  does (failing accounts first);
- ``shipments-attention``: the parcels that need a person (back to the sender, delivery
  trouble, stuck, unknown to the courier), newest trouble first, with the tally line;
- ``shipments-report``: delivery times per courier and service, RTS rate per courier
  (``simpul.tracking_report``; ``simpul shipments --report FILE`` draws it as charts).

The run ends Failed when an account failed (an expected failure, such as a refused key,
without a traceback: ``flows.sync_orders`` handles them), Completed otherwise; accounts
that are not active are listed as skipped with their reason, so a refused key stays
visible on every run. No parcel content, buyer data or credential is a parameter, task
input or result: tasks get account ids and counts.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.states import State

from flows import _artifacts
from flows._hub import run_hub
from flows._limits import database_slots, ensure_database_limit
from flows.params import DEFAULT_PAGES_PER_TASK, AccountId, PagesPerTask
from flows.sync_orders import outcome, rows_of, sync_account
from simpul import parcels, tracking_report
from simpul.channels import TRACKING, reading
from simpul.engine import TRACK, SyncRequest


@flow(name="track-shipments", persist_result=False)
def track_shipments(accounts: list[AccountId] | None = None, pages_per_task: PagesPerTask = DEFAULT_PAGES_PER_TASK) -> list[dict[str, Any]] | State:
    """One tracking pass: every tracking account looks at the parcels due; then the parcels
    that need a person and the couriers' delivery times are published as artifacts.

    Args:
        accounts: Tracking account ids (biteship, kiriminaja); empty means every tracking account of the hub.
        pages_per_task: Batches of parcels per Prefect task (one task per batch, never per parcel).
    """
    logger = get_run_logger()
    with database_slots(1), run_hub("track-shipments") as hub:
        ids = list(accounts or [a.id for a in hub.accounts.list() if a.channel in reading(TRACKING)])
        if not ids:
            logger.warning("no tracking account: add one with `simpul accounts add biteship NAME ...` (or kiriminaja)")
        rows = [sync_account(hub, SyncRequest(account, job=TRACK), pages_per_task).as_row() for account in ids]
        with hub.db.connect() as conn:
            listed = parcels.listing(conn)
            report = tracking_report.build(conn, now=hub.engine.clock())
    _artifacts.publish(_artifacts.key(TRACK, "all-summary"), _artifacts.key(TRACK, "all-report"), "track-shipments", rows)
    _artifacts.publish_shipments(listed, report)
    logger.info("parcels: %s", tracking_report.tally_line(report.tally))
    return outcome(rows)


def run_track_flow(accounts: list[str] | None = None) -> list[dict[str, Any]]:
    """Run ``track-shipments`` in this process (the CLI's ``track-sync --prefect``); one
    row per account. The ``simpul-database`` limit is created if it is missing."""
    ensure_database_limit()
    return rows_of(track_shipments(accounts=accounts or None, return_state=True))
