"""The channel registry: the spec of every connector package (``connectors.spec``).

The engine looks a channel up here and never branches on its name. Adding a channel is
one connector package with a ``spec.py`` holding its ``SPEC``, one mapping module, and its
package name below. Specs hold import strings, so ``simpul --help`` imports no connector.

Uniform constructors (the contract suite checks them):

- connector: ``Connector(base_url, credentials, *, on_credentials=None, bucket=None,
  retry=None, reply=None)`` meeting ``connectors.contract.OrderSource`` for an ``orders``
  stream and ``TrackingSource`` for a ``tracking`` stream (``reply``: the HTTP kit's
  ``ReplyLimits``);
- sandbox: ``Sandbox(*, orders=200, seed=0, clock=None)`` meeting
  ``connectors._sandbox.SandboxApp``, with ``demo_credentials()`` returning a credential
  set it accepts;
- mapping module per stream: ``mappings.protocols`` (``OrderMapping``, ``TrackingMapping``,
  ``ReturnMapping``, ``SettlementMapping``).
"""

from __future__ import annotations

import importlib

from connectors.spec import ORDERS, RETURNS, SETTLEMENTS, TRACKING, ConnectorSpec

PACKAGES = (
    "connectors.shopee", "connectors.woocommerce", "connectors.tiktok", "connectors.lazada", "connectors.blibli",  # orders
    "connectors.biteship", "connectors.kiriminaja",  # tracking
)
"""Every connector package; each has ``spec.py`` with ``SPEC``."""

Channel = ConnectorSpec  # what a registry entry is


def _specs() -> dict[str, ConnectorSpec]:
    specs = [importlib.import_module(f"{package}.spec").SPEC for package in PACKAGES]
    return {spec.name: spec for spec in specs}


CHANNELS: dict[str, ConnectorSpec] = _specs()


class UnknownChannel(LookupError):
    pass


def get_channel(name: str) -> ConnectorSpec:
    try:
        return CHANNELS[name]
    except KeyError:
        known = ", ".join(sorted(CHANNELS))
        raise UnknownChannel(f"unknown channel {name!r}; known channels: {known}") from None


def reading(kind: str) -> list[str]:
    """The channels with a stream of ``kind`` (``orders``, ``tracking``, ``returns``, ``settlements``)."""
    return sorted(name for name, spec in CHANNELS.items() if spec.has(kind))


__all__ = ["CHANNELS", "ORDERS", "RETURNS", "SETTLEMENTS", "TRACKING", "Channel", "UnknownChannel", "get_channel", "reading"]
