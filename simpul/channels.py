"""The channel registry: which connector, sandbox and mapping serve each channel.

The engine looks a channel up here and never branches on its name. Adding a channel is
one connector folder, one mapping module and one entry below. Entries are import strings
so that ``simpul --help`` does not import every connector.

Uniform constructors (the contract suite checks them):

- connector: ``Connector(base_url, credentials, *, on_credentials=None, bucket=None,
  retry=None, reply=None)`` meeting ``connectors.contract.OrderSource`` (``reply``: the
  HTTP kit's ``ReplyLimits``);
- sandbox: ``Sandbox(*, orders=200, seed=0, clock=None)`` meeting
  ``connectors._sandbox.SandboxApp``, with ``demo_credentials()`` returning a credential
  set it accepts;
- mapping module: ``MAPPING_VERSION``, ``map_order(raw)``, ``scrub(raw)``, ``external_id(raw)``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    title: str
    connector_path: str
    sandbox_path: str
    mapping_path: str
    credential_fields: tuple[str, ...]
    secret_fields: tuple[str, ...]

    def connector_class(self) -> Any:
        return _load(self.connector_path)

    def sandbox_class(self) -> Any:
        return _load(self.sandbox_path)

    def mapping(self) -> ModuleType:
        return importlib.import_module(self.mapping_path)


def _load(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


CHANNELS: dict[str, Channel] = {
    "shopee": Channel(
        name="shopee",
        title="Shopee (Open Platform v2)",
        connector_path="connectors.shopee.client:ShopeeConnector",
        sandbox_path="connectors.shopee.sandbox:ShopeeSandbox",
        mapping_path="mappings.shopee",
        credential_fields=("partner_id", "partner_key", "shop_id", "access_token", "refresh_token"),
        secret_fields=("partner_key", "access_token", "refresh_token"),
    ),
    "woocommerce": Channel(
        name="woocommerce",
        title="WooCommerce (REST wc/v3)",
        connector_path="connectors.woocommerce.client:WooCommerceConnector",
        sandbox_path="connectors.woocommerce.sandbox:WooCommerceSandbox",
        mapping_path="mappings.woocommerce",
        credential_fields=("consumer_key", "consumer_secret"),
        secret_fields=("consumer_key", "consumer_secret"),
    ),
}


class UnknownChannel(LookupError):
    pass


def get_channel(name: str) -> Channel:
    try:
        return CHANNELS[name]
    except KeyError:
        known = ", ".join(sorted(CHANNELS))
        raise UnknownChannel(f"unknown channel {name!r}; known channels: {known}") from None
