"""Flow parameters: typed, bounded and free of secrets.

The Prefect UI renders these as a form, and with ``enforce_parameter_schema`` the server
validates every new run against the deployment's JSON Schema and refuses a malformed one
(HTTP 409) before a worker picks it up: the form shows the reason at submit. So the
schema itself carries the resync rules, not only the flow's own validation:

- a window (``since``) or at least one order number, ``until`` only with ``since``, and
  ``override_version`` only with order numbers and no window (``if``/``then``, which the
  form leaves to the server: an ``anyOf`` it would render as a choice between branches);
- times with a UTC offset (``format: date-time`` *and* a pattern, so a validator without
  format checks refuses ``10:00`` without an offset too);
- each field's ``position``: Prefect stores the schema as PostgreSQL ``jsonb``, which
  orders object keys by length, so without positions the form showed Since, Until,
  Account; the UI sorts fields by ``position``.

``until`` after ``since`` compares two values, which JSON Schema cannot; the flow's own
validation refuses it when the run starts (the run ends Failed with the reason before
anything touches the hub).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

# The rule simpul.accounts enforces on account ids (tests/test_prefect_yaml.py keeps them equal).
ACCOUNT_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
DEFAULT_PAGES_PER_TASK = 50
MAX_PAGES_PER_TASK = 1000
MAX_ORDER_NUMBERS = 500
# RFC 3339 date and time of day with a mandatory offset (``Z`` or ``+07:00``): what the form's
# date-time picker sends, and what a person typing a time must write.
AWARE_TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"

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

# sync-all and its shards. A shard run is one process: accounts are I/O bound, so it syncs
# `concurrency` of them at once on threads, up to about one core (~30 accounts/s measured,
# bench/README.md); more throughput comes from more shard runs on more workers.
DEFAULT_SHARD_SIZE = 250
MAX_SHARD_SIZE = 5000
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 64
ShardSize = Annotated[
    int,
    Field(ge=1, le=MAX_SHARD_SIZE, description="Accounts per shard run. More accounts than this are split into sync-shard runs on the work pool, so every worker takes a share."),
]
Concurrency = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_CONCURRENCY,
        description="Accounts synced at once in one shard run (each has its own request budget). Capped by the simpul-database concurrency limit.",
    ),
]
ShardAccounts = Annotated[list[AccountId], Field(min_length=1, max_length=MAX_SHARD_SIZE, description="The accounts of this shard.")]
ShardLabel = Annotated[str, Field(pattern=r"^[0-9]+-of-[0-9]+$", description="Which shard of the sync-all run this is, e.g. 2-of-4.")]


class ResyncParams(BaseModel):
    """What ops re-read for one account: a time window, order numbers, or both.

    Times must carry a UTC offset: a naive ``10:00`` typed by someone in Jakarta would be
    off by seven hours if read as UTC, so it is rejected instead of guessed. Accepted
    times are normalised to UTC.
    """

    model_config = ConfigDict(extra="forbid", title="Resync", json_schema_extra=lambda schema, _cls: _form_rules(schema))

    account: AccountId
    since: AwareDatetime | None = Field(
        default=None,
        description="Start of the window (inclusive): a date and time of day with its offset, e.g. 2026-01-31T08:00:00+07:00. Orders updated from here on are re-read. Give a window, order numbers, or both.",
    )
    until: AwareDatetime | None = Field(
        default=None,
        description="End of the window (exclusive), a date and time of day with its offset. Empty means now. Needs since.",
    )
    order_numbers: list[OrderNumber] = Field(
        default_factory=list,
        max_length=MAX_ORDER_NUMBERS,
        description=f"Order numbers to re-read exactly (at most {MAX_ORDER_NUMBERS}); needed when there is no window. Numbers the channel does not know are listed in the run's report.",
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


def _form_rules(schema: dict[str, Any]) -> None:
    """Put the cross-field rules, the offset rule and the field order into the JSON Schema."""
    properties = schema["properties"]
    for position, field in enumerate(properties.values()):
        field["position"] = position
    for name in ("since", "until"):
        for option in properties[name]["anyOf"]:
            if option.get("format") == "date-time":
                option["pattern"] = AWARE_TIME_PATTERN
    # The rules use if/then: the form renders an object-level anyOf as a choice between
    # its branches and would hide the fields; if/then it leaves to the server's validation.
    # A window or order numbers: without since, at least one order number.
    schema["if"] = {"properties": {"since": {"type": "null"}}}
    schema["then"] = {"required": ["order_numbers"], "properties": {"order_numbers": {"minItems": 1}}}
    # until only with since ("until": null is fine: the form may send it for an empty field).
    # override_version repairs named orders only: order numbers, and no window.
    schema["dependentSchemas"] = {
        "until": {"if": {"properties": {"until": {"type": "string"}}}, "then": {"required": ["since"], "properties": {"since": {"type": "string"}}}},
        "override_version": {
            "if": {"properties": {"override_version": {"const": True}}},
            "then": {"required": ["order_numbers"], "properties": {"order_numbers": {"minItems": 1}, "since": {"type": "null"}}},
        },
    }
