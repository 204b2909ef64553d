"""A connector describes itself: one ``SPEC`` per connector package.

The spec names what the engine, the registry, the command line and the generated contract
suite need to know about a channel, so none of them guesses or hard-codes it:

- the **streams** the connector reads, each with its mode (``window``: by source update
  time, page by page with a resumable position; ``keyed``: by keys the hub chooses, in
  batches) and its batch size for reads by id or key;
- the **credential model**: which fields an account's credential set has, which of them
  are secrets (never shown, redacted from logs) and which are optional;
- the **mapping** module of each stream (a typed protocol, ``mappings.protocols``) and the
  **sandbox** class, as import strings so that listing channels imports no connector.

Example::

    SPEC = ConnectorSpec(
        name="shopee",
        title="Shopee (Open Platform v2)",
        connector="connectors.shopee.client:ShopeeConnector",
        sandbox="connectors.shopee.sandbox:ShopeeSandbox",
        credentials=Credentials(fields=("partner_id", "partner_key", ...), secrets=("partner_key", ...)),
        streams=(Stream(ORDERS, mapping="mappings.shopee", batch=50, reread_awaiting_tracking=True),),
    )

A spec imports nothing but this module: it is read by ``simpul.channels`` to build the
registry, and a connector never imports the database, Prefect or the vault.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

ORDERS = "orders"
TRACKING = "tracking"
RETURNS = "returns"
SETTLEMENTS = "settlements"

Mode = Literal["window", "keyed"]
MODES: dict[str, Mode] = {ORDERS: "window", TRACKING: "keyed", RETURNS: "window", SETTLEMENTS: "window"}
"""Each stream kind's read mode: the engine drives a kind by its mode, never by a channel."""


@dataclass(frozen=True, slots=True)
class Stream:
    """One stream a connector reads.

    - ``kind``: what it yields (``orders``: order payloads via ``OrderSource``;
      ``tracking``: parcel tracking replies via ``TrackingSource``; ``returns``: return,
      refund and cancellation records via ``ReturnSource``; ``settlements``: what a
      marketplace paid the seller per order, by payout time, via ``SettlementSource``).
      The window kinds other than ``orders`` are read after the orders in every scheduled
      sync, in the order the spec declares them.
    - ``mapping``: the module that maps one raw record of it (``mappings.protocols``).
    - ``batch``: the most ids (orders) or keys (parcels) one read by id or key asks for,
      as the channel documents (Shopee's detail call takes 50 order numbers,
      WooCommerce's ``include`` 100 ids).
    - ``reread_awaiting_tracking``: the channel may assign an airway bill without moving the
      order's update time, so each incremental run re-reads orders that are shipped or
      ready to ship and still have no tracking number (the late-resi follow-up).
    """

    kind: str
    mapping: str
    batch: int
    reread_awaiting_tracking: bool = False

    def __post_init__(self) -> None:
        if self.kind not in MODES:
            raise ValueError(f"unknown stream kind {self.kind!r}; known: {', '.join(MODES)}")
        if self.batch < 1:
            raise ValueError("a stream's batch must be at least 1")
        if self.reread_awaiting_tracking and self.kind != ORDERS:
            raise ValueError("only an orders stream re-reads orders awaiting tracking")

    @property
    def mode(self) -> Mode:
        return MODES[self.kind]

    def mapping_module(self) -> ModuleType:
        return importlib.import_module(self.mapping)


@dataclass(frozen=True, slots=True)
class Credentials:
    """An account's credential set: its fields, the secret ones, the optional ones."""

    fields: tuple[str, ...]
    secrets: tuple[str, ...]
    optional: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = set(self.secrets) - set(self.fields) or set(self.optional) - set(self.fields)
        if unknown:
            raise ValueError(f"credential fields {sorted(unknown)} are not in the credential model")

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f for f in self.fields if f not in self.optional)


@dataclass(frozen=True, slots=True)
class ConnectorSpec:
    name: str
    title: str
    connector: str  # "module:Class" meeting connectors.contract (OrderSource and/or TrackingSource)
    sandbox: str  # "module:Class" meeting connectors._sandbox.SandboxApp
    credentials: Credentials
    streams: tuple[Stream, ...]

    def __post_init__(self) -> None:
        kinds = [s.kind for s in self.streams]
        if not kinds or len(kinds) != len(set(kinds)):
            raise ValueError(f"{self.name}: a connector declares each stream kind once, and at least one")

    # -- what the registry's callers use ------------------------------------------------------
    @property
    def credential_fields(self) -> tuple[str, ...]:
        return self.credentials.fields

    @property
    def secret_fields(self) -> tuple[str, ...]:
        return self.credentials.secrets

    def has(self, kind: str) -> bool:
        return any(s.kind == kind for s in self.streams)

    def stream(self, kind: str) -> Stream:
        for stream in self.streams:
            if stream.kind == kind:
                return stream
        raise LookupError(f"{self.name} has no {kind} stream")

    def connector_class(self) -> Any:
        return _load(self.connector)

    def sandbox_class(self) -> Any:
        return _load(self.sandbox)

    def mapping(self, kind: str | None = None) -> ModuleType:
        """The mapping module of stream ``kind`` (default: the first declared stream)."""
        return (self.stream(kind) if kind else self.streams[0]).mapping_module()


def _load(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)
