"""The ``seller-reports`` flow: the money and the returns a seller reads, as artifacts.

Wiring only: it opens the hub, reads what the syncs and tracking runs stored (no channel
is asked) and publishes three markdown artifacts:

- ``cod-report``: COD shipped, delivered and collected, refused and what refusals cost,
  remitted vs pending vs disputed, per channel and courier, and the payouts to look at
  (``simpul.cod.report``; the CLI's ``simpul cod report``);
- ``returns-waiting``: returns waiting on the seller, an answer first by the platform's
  deadline, then goods back without a disposition (``simpul.returns.waiting``);
- ``monthly-report``: orders, GMV, cancel, return and RTS rates, refunds, COD share and
  refusal rate, delivery times (``simpul.monthly_report``; ``simpul report --out`` draws it).

Returns themselves need no flow of their own: every incremental sync reads a channel's
returns stream after its orders. Parameters are a month and an account id, nothing else;
the artifacts hold order numbers, airway bills, amounts and reasons, never buyer data.
"""

from __future__ import annotations

from typing import Annotated, Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from pydantic import Field

from flows._hub import run_hub
from flows.params import AccountId
from simpul import cod, monthly_report, returns

COD_KEY, RETURNS_KEY, MONTHLY_KEY = "cod-report", "returns-waiting", "monthly-report"
Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM, a calendar month in WIB; empty: the current month.")]


@flow(name="seller-reports", persist_result=False)
def seller_reports(month: Month | None = None, account: AccountId | None = None) -> dict[str, Any]:
    """Publish the COD report, the returns waiting on the seller and the monthly report.

    Args:
        month: The month (YYYY-MM, WIB) of the COD and monthly reports; empty: the current month.
        account: Only this account; empty: every account of the hub.
    """
    logger = get_run_logger()
    with run_hub("seller-reports") as hub:
        now = hub.engine.clock()
        month = month or cod.current_month(now)
        with hub.db.connect() as conn:
            money = cod.report(conn, month=month, account=account)
            waiting = returns.waiting(conn, account)
            monthly = monthly_report.build(conn, month=month, account=account, now=now)
    create_markdown_artifact(cod.markdown(money), key=COD_KEY, description=f"seller-reports: COD {month}")
    create_markdown_artifact(returns.markdown(waiting), key=RETURNS_KEY, description="seller-reports: returns waiting on the seller")
    create_markdown_artifact(monthly_report.markdown(monthly), key=MONTHLY_KEY, description=f"seller-reports: {month}")
    t = money["total"]
    logger.info("COD %s: %d delivered, %d refused, pending %s, disputed %s; %d return(s) waiting", month, t["delivered"], t["refused"], t["pending"], t["disputed"], len(waiting))
    return {"month": month, "cod": {k: str(v) if not isinstance(v, int) else v for k, v in t.items()}, "returns_waiting": len(waiting)}
