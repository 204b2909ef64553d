"""Maintenance flows: keep tokens fresh, and end the processing of old buyer data.

- ``refresh-tokens`` (schedule: every 15 minutes) refreshes access tokens that expire
  within the horizon, marks accounts whose refresh the channel refuses, and publishes
  each account's expiry countdown (access token, refresh token, the seller's grant).
- ``purge-pii`` (schedule: daily) removes buyer contact data from finished orders older
  than the retention period (UU PDP: end processing when the purpose is achieved) and
  audits what it removed.

Both take only numbers and account ids as parameters, never a secret.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.states import State
from pydantic import Field

from flows import _states
from flows._hub import run_hub
from flows.params import AccountId
from simpul import pii, tokens

HorizonMinutes = Annotated[int, Field(ge=0, le=7 * 24 * 60, description="Refresh tokens that expire within this many minutes.")]
RetentionDays = Annotated[int, Field(ge=0, le=3650, description="Keep buyer data of finished orders for this many days after their last change.")]


@flow(name="refresh-tokens", persist_result=False)
def refresh_tokens(
    accounts: list[AccountId] | None = None,
    horizon_minutes: HorizonMinutes = int(tokens.DEFAULT_HORIZON.total_seconds() // 60),
    force: bool = False,
) -> list[dict[str, Any]] | State:
    """Refresh access tokens before they expire; mark accounts whose refresh is refused.

    Args:
        accounts: Account ids; empty means every account of the hub.
        horizon_minutes: Refresh tokens that expire within this many minutes.
        force: Refresh even tokens that are still valid for longer.
    """
    logger = get_run_logger()
    with run_hub("refresh-tokens") as hub:
        outcomes = tokens.refresh_all(hub.engine, within=timedelta(minutes=horizon_minutes), force=force, accounts=accounts or None)
    now = datetime.now(timezone.utc)
    rows = [o.as_row(now) for o in outcomes]
    for o in outcomes:
        (logger.error if o.result == "failed" else logger.info)("%s: %s %s", o.account_id, o.result, o.reason or "")
    create_table_artifact(rows, key="tokens-expiry", description="Token expiry per account after this run")
    failed = [o.account_id for o in outcomes if o.result == "failed"]
    if failed:
        return _states.failed(f"token refresh failed for {', '.join(failed)}; see the tokens-expiry artifact", rows)
    return rows


@flow(name="purge-pii", persist_result=False)
def purge_pii(retention_days: RetentionDays = pii.DEFAULT_RETENTION_DAYS) -> dict[str, Any]:
    """Remove buyer data (sealed contact, match tokens, masked name and phone, postcode, notes,
    stored raw payloads) from finished orders last changed more than ``retention_days`` ago.

    Args:
        retention_days: Keep buyer data of finished orders for this many days after their last change.
    """
    with run_hub("purge-pii") as hub:
        result = pii.purge(hub.db, now=datetime.now(timezone.utc), retention_days=retention_days, actor=hub.accounts.actor)
    row = {"orders": result.orders, "raw_payloads": result.raw_payloads, "cutoff": result.cutoff.isoformat()}
    create_markdown_artifact(
        f"### purge-pii\n\nBuyer data removed from **{result.orders}** finished orders last changed before {result.cutoff:%Y-%m-%d %H:%M} UTC "
        f"({result.raw_payloads} stored raw payloads deleted). Each batch is in the audit log as `pii.purged`.\n",
        key="purge-pii-report",
        description="purge-pii",
    )
    return row
