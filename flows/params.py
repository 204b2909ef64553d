"""Flow parameters: typed, bounded and free of secrets.

The Prefect UI renders these as a form, and with ``enforce_parameter_schema`` the server
rejects a malformed run before a worker picks it up. Rules that span fields (a resync
needs a window or order numbers; ``until`` after ``since``) are outside JSON Schema, so
they run when the flow validates its parameters: such a run ends Failed at once, with the
reason, before anything touches the hub.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

# The rule simpul.accounts enforces on account ids (tests/test_prefect_yaml.py keeps them equal).
ACCOUNT_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
DEFAULT_PAGES_PER_TASK = 50
MAX_PAGES_PER_TASK = 1000
MAX_ORDER_NUMBERS = 500

AccountId = Annotated[
    str,
    Field(pattern=ACCOUNT_PATTERN, description="Account id as shown by `simpul accounts list`, e.g. toko-budi-shopee."),
]
PagesPerTask = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_PAGES_PER_TASK,
        description="Pages per Prefect task. One task per batch, never per order: Prefect records only ~25-30 task runs/s.",
    ),
]
OrderNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class ResyncParams(BaseModel):
    """What ops re-read for one account: a time window, order numbers, or both.

    Times must carry a UTC offset: a naive ``10:00`` typed by someone in Jakarta would be
    off by seven hours if read as UTC, so it is rejected instead of guessed. Accepted
    times are normalised to UTC.
    """

    model_config = ConfigDict(extra="forbid", title="Resync")

    account: AccountId
    since: AwareDatetime | None = Field(
        default=None,
        description="Start of the window (inclusive), with an offset, e.g. 2026-01-31T00:00:00+07:00. Orders updated from here on are re-read.",
    )
    until: AwareDatetime | None = Field(
        default=None,
        description="End of the window (exclusive), with an offset. Empty means now. Needs since.",
    )
    order_numbers: list[OrderNumber] = Field(
        default_factory=list,
        max_length=MAX_ORDER_NUMBERS,
        description=f"Order numbers to re-read exactly (at most {MAX_ORDER_NUMBERS}). Numbers the channel does not know are listed in the run's report.",
    )
    override_version: bool = Field(
        default=False,
        description="Repair: store the channel's current payload of the named orders even where the stored version is newer (an impossible update time). Only with order numbers and no window; audited as order.repaired.",
    )
    pages_per_task: PagesPerTask = DEFAULT_PAGES_PER_TASK

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return value.astimezone(timezone.utc) if value is not None else None

    @field_validator("order_numbers")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _window_or_orders(self) -> "ResyncParams":
        if self.since is None and not self.order_numbers:
            raise ValueError("a resync needs a time window (since) or order numbers")
        if self.until is not None and self.since is None:
            raise ValueError("until needs since")
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("until must be after since")
        if self.override_version and (not self.order_numbers or self.since is not None):
            raise ValueError("override_version repairs named orders only: give order numbers and no window")
        return self
