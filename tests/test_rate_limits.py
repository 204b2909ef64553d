"""Request budgets: connectors declare one per account, the engine builds the buckets.

No timing here (CI is noisy): the token bucket's spacing is pinned with a fake clock in
test_http_kit.py, and bench/ measures a sync against a sandbox that enforces the budget.
"""

from __future__ import annotations

import pytest

from connectors._http.ratelimit import TokenBucket, Unlimited
from connectors.contract import RateLimit
from simpul.accounts import Accounts
from simpul.channels import CHANNELS
from simpul.engine import Engine
from simpul.runtime import rate_limits_from_env
from simpul.vault import Vault


@pytest.fixture
def accounts(sqlite_db, keyring) -> Accounts:  # noqa: ANN001
    accounts = Accounts(sqlite_db, Vault(keyring), actor="test")
    woo = {"consumer_key": "ck_x", "consumer_secret": "cs_x"}
    shopee = {"partner_id": 1, "partner_key": "k", "shop_id": 2, "access_token": "a", "refresh_token": "r"}
    accounts.add("woo-a", "woocommerce", "A", "http://127.0.0.1:9", woo)
    accounts.add("woo-b", "woocommerce", "B", "http://127.0.0.1:9", woo)
    accounts.add("shp-a", "shopee", "C", "http://127.0.0.1:9", shopee)
    return accounts


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_every_connector_declares_its_budget(channel: str) -> None:
    limit = CHANNELS[channel].connector_class().rate_limit
    assert limit is None or isinstance(limit, RateLimit)


def test_each_account_gets_its_own_bucket_sized_by_its_connector(accounts: Accounts) -> None:
    engine = Engine(accounts.db, accounts)
    woo_a, woo_b, shp = (accounts.get(a) for a in ("woo-a", "woo-b", "shp-a"))
    declared = CHANNELS["woocommerce"].connector_class().rate_limit

    bucket = engine.bucket(woo_a)
    assert isinstance(bucket, TokenBucket)
    assert (bucket.rate, bucket.capacity) == (declared.per_second, declared.burst)
    assert engine.bucket(woo_a) is bucket, "one budget per account for the engine's lifetime"
    assert engine.bucket(woo_b) is not bucket, "accounts never share a budget"
    assert engine.bucket(shp).rate == CHANNELS["shopee"].connector_class().rate_limit.per_second
    assert engine.connector(woo_a)._http.bucket is bucket, "every connector of the account draws from it"


def test_overrides_by_channel_and_for_every_channel(accounts: Accounts) -> None:
    engine = Engine(accounts.db, accounts, rate_limits={"woocommerce": RateLimit(50, 5), "*": None})
    bucket = engine.bucket(accounts.get("woo-a"))
    assert (bucket.rate, bucket.capacity) == (50, 5)
    assert isinstance(engine.bucket(accounts.get("shp-a")), Unlimited)


def test_a_bucket_passed_in_connector_options_wins(accounts: Accounts) -> None:
    shared = TokenBucket(1000)
    engine = Engine(accounts.db, accounts, connector_options={"bucket": shared})
    assert engine.connector(accounts.get("woo-a"))._http.bucket is shared


def test_rate_limits_from_the_environment() -> None:
    assert rate_limits_from_env("") == {}
    assert rate_limits_from_env("shopee=20:5, woocommerce=off,*=3") == {
        "shopee": RateLimit(20, 5),
        "woocommerce": None,
        "*": RateLimit(3, 1),
    }
    for bad in ("shopee", "shopee=fast", "=3", "shopee=0", "shopee=5:0"):
        with pytest.raises(ValueError):
            rate_limits_from_env(bad)
