"""prefect.yaml, checked without a server (shared/reference/prefect_stack.md §1, §5).

It parses the way ``prefect deploy`` reads it, every entrypoint loads and names the
intended flow, deployment parameters fit that flow's schema as the server checks it, and
schedules and concurrency limits are the ones the design relies on.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from prefect.cli.deploy._models import PrefectYamlModel, RawScheduleConfig
from prefect.flows import Flow, load_flow_from_entrypoint
from prefect.utilities.callables import parameter_schema
from prefect.utilities.schema_tools.validation import validate
from prefect.utilities.templating import apply_values

from flows import _artifacts
from flows.params import ACCOUNT_PATTERN
from flows.sync_orders import SHARD_DEPLOYMENT, resync
from flows.track_shipments import track_shipments
from simpul.accounts import _ID as ACCOUNT_ID_RULE
from simpul.engine import INCREMENTAL, RESYNC, TRACK

ROOT = Path(__file__).resolve().parents[1]
RAW = yaml.safe_load((ROOT / "prefect.yaml").read_text())
CONFIG = PrefectYamlModel.model_validate(RAW)
DEPLOYMENTS = {d.name: d for d in CONFIG.deployments}
FLOW_OF = {"every-5-minutes": "sync-all", "shard": "sync-shard", "demo-shopee": "sync-orders", "manual": "resync", "refresh-tokens": "refresh-tokens", "purge-pii": "purge-pii",
           "every-30-minutes": "track-shipments", "daily": "seller-reports"}
ONE_AT_A_TIME = {"limit": 1, "collision_strategy": "CANCEL_NEW"}


def load(entrypoint: str) -> Flow:
    path, _, name = entrypoint.partition(":")
    return load_flow_from_entrypoint(f"{ROOT / path}:{name}")


def schema(flow: Flow) -> dict[str, Any]:
    return parameter_schema(flow).model_dump_for_openapi()


def test_deployments_are_the_ones_ops_expect() -> None:
    assert set(DEPLOYMENTS) == set(FLOW_OF)
    for d in CONFIG.deployments:
        assert d.work_pool is not None and d.work_pool.name == "simpul"
        assert d.enforce_parameter_schema is True


def test_pull_step_resolves_to_the_checkout_from_the_workers_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    [step] = CONFIG.pull
    [(name, inputs)] = step.items()
    assert name == "prefect.deployments.steps.set_working_directory"
    assert "$PROJECT_DIR" not in inputs["directory"]
    monkeypatch.setenv("SIMPUL_PROJECT_DIR", str(ROOT))
    directory = Path(apply_values(inputs, os.environ)["directory"])  # what the step does at run time
    assert directory.is_absolute()
    for d in CONFIG.deployments:
        assert (directory / d.entrypoint.partition(":")[0]).is_file()


@pytest.mark.parametrize("name", sorted(FLOW_OF))
def test_entrypoint_names_the_flow_and_its_parameters_fit(name: str) -> None:
    deployment = DEPLOYMENTS[name]
    flow = load(deployment.entrypoint)
    assert flow.name == FLOW_OF[name]
    # A scheduled run gets exactly these parameters, so they must be complete.
    complete = bool(deployment.schedules)
    validate(deployment.parameters, schema(flow), raise_on_error=True, ignore_required=not complete)
    if complete:
        flow.validate_parameters(deployment.parameters)


def test_schedules_and_concurrency() -> None:
    sync_all, per_account, manual = DEPLOYMENTS["every-5-minutes"], DEPLOYMENTS["demo-shopee"], DEPLOYMENTS["manual"]
    [every_5] = [RawScheduleConfig.model_validate(s) for s in RAW["deployments"][0]["schedules"]]
    assert every_5.interval == timedelta(minutes=5)
    assert sync_all.paused is not True
    for d in (sync_all, per_account):
        assert d.concurrency_limit.model_dump(exclude_none=True) == ONE_AT_A_TIME
    assert per_account.schedules and per_account.parameters == {"account": "demo-shopee"}
    assert not manual.schedules
    [every_15] = [RawScheduleConfig.model_validate(s) for s in next(d for d in RAW["deployments"] if d["name"] == "refresh-tokens")["schedules"]]
    assert every_15.interval == timedelta(minutes=15) < timedelta(hours=4), "Shopee access tokens live 4 h"
    [daily] = next(d for d in RAW["deployments"] if d["name"] == "purge-pii")["schedules"]
    assert daily["cron"] == "30 2 * * *"


def test_the_resync_form_is_typed_and_the_server_rejects_what_the_flow_would() -> None:
    definition = schema(resync)["definitions"]["ResyncParams"]
    assert all(field.get("description") for field in definition["properties"].values())
    assert definition["additionalProperties"] is False
    for bad in (
        {"account": "Toko Budi"},
        {"account": "shop-a", "since": "2026-01-01T00:00:00"},  # naive: rejected, never guessed
        {"account": "shop-a", "order_numbers": [str(i) for i in range(501)]},
        {"account": "shop-a", "token": "x"},  # nothing outside the form, so no credential either
    ):
        assert validate({"params": bad}, schema(resync)), bad
    assert not validate({"params": {"account": "shop-a", "since": "2026-01-01T00:00:00+07:00"}}, schema(resync))


GOOD_RESYNCS = [
    {"account": "shop-a", "since": "2026-01-31T08:00:00+07:00"},
    {"account": "shop-a", "since": "2026-01-31T08:00:00Z", "until": "2026-02-01T08:00:00+07:00"},
    {"account": "shop-a", "order_numbers": ["2601310ABC"]},
    {"account": "shop-a", "order_numbers": ["2601310ABC"], "since": None, "until": None},  # what the form sends for empty times
    {"account": "shop-a", "order_numbers": ["2601310ABC"], "since": "2026-01-31T08:00:00+07:00"},
    {"account": "shop-a", "order_numbers": ["2601310ABC"], "override_version": True, "since": None},
]
BAD_RESYNCS = [
    {"account": "shop-a"},  # neither window nor order numbers
    {"account": "shop-a", "since": None, "order_numbers": []},
    {"account": "shop-a", "order_numbers": ["2601310ABC"], "until": "2026-02-01T08:00:00Z"},  # until without since
    {"account": "shop-a", "since": "2026-01-31T08:00:00"},  # no offset
    {"account": "shop-a", "since": "2026-01-31"},  # no time of day
    {"account": "shop-a", "since": "2026-01-31T08:00:00Z", "override_version": True},  # a repair names its orders
]


@pytest.mark.parametrize("params", GOOD_RESYNCS)
def test_the_resync_schema_accepts_a_window_or_order_numbers(params: dict) -> None:
    assert not validate({"params": params}, schema(resync))
    resync.validate_parameters({"params": params})  # and the flow agrees


@pytest.mark.parametrize("params", BAD_RESYNCS)
def test_the_resync_schema_refuses_what_cannot_run_even_without_format_checks(params: dict) -> None:
    """The server refuses these at submit (enforce_parameter_schema); the rules are in the
    schema itself, so a validator that skips ``format`` (the UI's, say) refuses them too."""
    assert validate({"params": params}, schema(resync)), params
    definition = schema(resync)["definitions"]["ResyncParams"]
    assert not jsonschema.Draft202012Validator(definition).is_valid(params), params  # no format checker
    with pytest.raises(Exception):
        resync.validate_parameters({"params": params})


def test_the_resync_form_puts_account_first() -> None:
    """Prefect keeps the schema as PostgreSQL jsonb, which reorders keys (Since, Until,
    Account...); the UI orders fields by ``position``."""
    properties = schema(resync)["definitions"]["ResyncParams"]["properties"]
    assert sorted(properties, key=lambda p: properties[p]["position"]) == ["account", "since", "until", "order_numbers", "override_version", "pages_per_task"]


def test_the_shard_deployment_is_the_one_sync_all_starts() -> None:
    assert SHARD_DEPLOYMENT == f"{FLOW_OF['shard']}/shard"
    assert not DEPLOYMENTS["shard"].schedules and DEPLOYMENTS["shard"].concurrency_limit is None


def test_flow_account_ids_follow_the_accounts_rule() -> None:
    assert ACCOUNT_PATTERN == ACCOUNT_ID_RULE.pattern


@pytest.mark.parametrize("account", ["demo-shopee", "toko-budi-01", "Toko_Budi Shopee!"])
def test_artifact_keys_are_slugs_prefect_accepts(account: str) -> None:
    keys = [_artifacts.key(job, what, account) for job in (INCREMENTAL, RESYNC) for what in ("progress", "summary", "report")]
    keys += [_artifacts.key(INCREMENTAL, "all-summary"), _artifacts.key(INCREMENTAL, "all-report")]
    keys += [_artifacts.key(TRACK, what, account) for what in ("progress",)] + [_artifacts.key(TRACK, "all-summary"), _artifacts.key(TRACK, "all-report")]
    keys += [_artifacts.ATTENTION_KEY, _artifacts.SHIPMENTS_REPORT_KEY]
    assert all(_artifacts.KEY_PATTERN.match(k) for k in keys), keys
    assert len(set(keys)) == len(keys)


def test_the_tracking_pass_runs_every_30_minutes_never_two_at_once() -> None:
    track = DEPLOYMENTS["every-30-minutes"]
    [every_30] = [RawScheduleConfig.model_validate(s) for s in next(d for d in RAW["deployments"] if d["name"] == "every-30-minutes")["schedules"]]
    assert every_30.interval == timedelta(minutes=30)
    assert track.paused is not True and track.enforce_parameter_schema is True
    assert track.concurrency_limit.model_dump(exclude_none=True) == ONE_AT_A_TIME
    assert track.work_pool.name == DEPLOYMENTS["every-5-minutes"].work_pool.name == "simpul"
    assert track.parameters == {"pages_per_task": 50}  # no accounts: every tracking account


def test_the_tracking_form_takes_account_ids_and_bounded_batches_only() -> None:
    """What the server checks a run of track-shipments/every-30-minutes against."""
    form = schema(track_shipments)
    assert set(form["properties"]) == {"accounts", "pages_per_task"} and not form.get("required")
    assert all(field.get("description") for field in form["properties"].values())
    for good in ({}, {"accounts": None}, {"accounts": ["biteship-utama", "kiriminaja-1"]}, {"pages_per_task": 1000}):
        assert not validate(good, form), good
        track_shipments.validate_parameters(good)
    for bad in ({"accounts": ["Biteship Utama"]}, {"accounts": "biteship-utama"}, {"pages_per_task": 0}, {"pages_per_task": 1001}):
        assert validate(bad, form), bad
        with pytest.raises(Exception):
            track_shipments.validate_parameters(bad)


def test_the_seller_reports_run_every_morning_in_jakarta_and_take_a_month_and_an_account_only() -> None:
    from flows.seller_reports import seller_reports

    daily = DEPLOYMENTS["daily"]
    [raw] = next(d for d in RAW["deployments"] if d["name"] == "daily")["schedules"]
    assert (raw["cron"], raw["timezone"]) == ("0 6 * * *", "Asia/Jakarta")
    assert daily.enforce_parameter_schema is True and daily.concurrency_limit.model_dump(exclude_none=True) == ONE_AT_A_TIME
    form = schema(seller_reports)
    assert set(form["properties"]) == {"month", "account"} and not form.get("required")
    for good in ({}, {"month": "2026-11"}, {"month": "2026-12", "account": "toko-budi"}):
        assert not validate(good, form), good
    for bad in ({"month": "2026-13"}, {"month": "November"}, {"account": "Toko Budi"}):
        assert validate(bad, form), bad
