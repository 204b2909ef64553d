"""What a mapping module offers, per stream kind (``connectors.spec.Stream.mapping``).

A mapping is a module of pure functions: no database, no network, no clock. The generated
contract suite checks every declared stream's module against its protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from simpul.canonical import OrderBundle, ParcelTracking, ReturnRecord, SettlementRecord


@runtime_checkable
class OrderMapping(Protocol):
    """An ``orders`` stream's mapping: one raw order payload -> ``OrderBundle``."""

    MAPPING_VERSION: str

    def map_order(self, raw: Mapping[str, Any]) -> "OrderBundle":
        """Raises ``MappingError`` (the quarantine reason; never buyer data) when it cannot."""

    def scrub(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The payload with buyer PII masked, as it may be stored."""

    def external_id(self, raw: Mapping[str, Any]) -> str | None:
        """The order number, best effort, so even an unmappable payload is findable."""


@runtime_checkable
class TrackingMapping(Protocol):
    """A ``tracking`` stream's mapping: one tracking reply -> ``ParcelTracking``."""

    MAPPING_VERSION: str

    def map_tracking(self, raw: Mapping[str, Any]) -> "ParcelTracking": ...

    def scrub(self, raw: Mapping[str, Any]) -> dict[str, Any]: ...

    def external_id(self, raw: Mapping[str, Any]) -> str | None:
        """The airway bill, best effort."""


@runtime_checkable
class ReturnMapping(Protocol):
    """A ``returns`` stream's mapping: one return record -> ``ReturnRecord``.

    The record's ``ret.updated_at`` is required (the version guard); its reason maps to
    ``ReturnReason`` by a table in the module (``REASONS``), the raw reason kept in
    ``ret.reason`` and the raw status in ``ret.raw_status``.
    """

    MAPPING_VERSION: str

    def map_return(self, raw: Mapping[str, Any]) -> "ReturnRecord": ...

    def scrub(self, raw: Mapping[str, Any]) -> dict[str, Any]: ...

    def external_id(self, raw: Mapping[str, Any]) -> str | None:
        """The return's id, best effort."""


@runtime_checkable
class SettlementMapping(Protocol):
    """A ``settlements`` stream's mapping: one order's settlement -> ``SettlementRecord``.

    ``settlement.updated_at`` is required (the version guard), and so are the order number,
    the payout and its time; the fees are kept where the channel names them.
    """

    MAPPING_VERSION: str

    def map_settlement(self, raw: Mapping[str, Any]) -> "SettlementRecord": ...

    def scrub(self, raw: Mapping[str, Any]) -> dict[str, Any]: ...

    def external_id(self, raw: Mapping[str, Any]) -> str | None:
        """The order number, best effort."""


PROTOCOLS: dict[str, type] = {"orders": OrderMapping, "tracking": TrackingMapping, "returns": ReturnMapping, "settlements": SettlementMapping}
"""The protocol each stream kind's mapping meets."""
