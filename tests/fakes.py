"""An in-memory channel for engine tests: a connector, a mapping, no HTTP.

It pages through records sorted by (updated_at, id) with a keyset position, the same
resumption rule real connectors meet, and lets a test inject failures between pages.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, ClassVar

from connectors._http.errors import CredentialError, TransientError
from connectors._http.secret import reveal
from connectors.contract import Page, Position, Window
from connectors.spec import ORDERS, ConnectorSpec, Credentials, Stream
from simpul.canonical import (
    FulfillmentStatus,
    MappingError,
    Order,
    OrderBundle,
    OrderLine,
    OrderStatus,
    PaymentStatus,
    Shipment,
    TrackingStatus,
)
from simpul.jsoncodec import content_hash

MAPPING_VERSION = "fake-1"
UTC = timezone.utc


def fake_spec(connector: str) -> ConnectorSpec:
    """The registry entry of the fake channel, served by ``connector``; this module is its mapping."""
    return ConnectorSpec(
        name="fake",
        title="Fake",
        connector=connector,
        sandbox="tests.fakes:FakeConnector",
        credentials=Credentials(fields=("token",), secrets=("token",)),
        streams=(Stream(ORDERS, mapping="tests.fakes", batch=50, reread_awaiting_tracking=True),),
    )


class FakeSource:
    """Shared state of one fake channel: the records, and scripted failures."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.fail_after_pages: int | None = None
        self.fail_with: type[Exception] = TransientError
        self.page_size = 3
        self.pages_served = 0

    def put(self, order_id: str, updated: int, status: str = "paid", total: str = "10000", awb: str | None = None) -> None:
        """``awb``: the order is shipped by JNE REG with this airway bill."""
        self.records[order_id] = {"id": order_id, "updated": updated, "status": status, "total": total}
        if awb is not None:
            self.records[order_id]["awb"] = awb


SOURCE = FakeSource()


class FakeConnector:
    channel: ClassVar[str] = "fake"
    max_window: ClassVar[timedelta | None] = timedelta(days=2)
    lookback: ClassVar[timedelta] = timedelta(minutes=5)

    def __init__(self, base_url: str, credentials: Mapping[str, Any], *, on_credentials=None, bucket=None, retry=None) -> None:  # noqa: ANN001
        if reveal(credentials.get("token")) != "good":
            raise CredentialError("fake: credentials refused")
        self.source = SOURCE

    def check(self) -> None:
        return None

    def _serve(self) -> None:
        if self.source.fail_after_pages is not None and self.source.pages_served >= self.source.fail_after_pages:
            self.source.fail_after_pages = None
            raise self.source.fail_with("fake: injected failure")
        self.source.pages_served += 1

    def order_pages(self, window: Window, position: Position | None = None) -> Iterator[Page]:
        lo, hi = window.since.timestamp(), window.until.timestamp()
        after = tuple(position["after"]) if position else None
        while True:
            rows = sorted(
                (r for r in self.source.records.values() if lo <= r["updated"] < hi and (after is None or (r["updated"], r["id"]) > after)),
                key=lambda r: (r["updated"], r["id"]),
            )[: self.source.page_size]
            self._serve()
            more = len(rows) == self.source.page_size
            if rows:
                after = (rows[-1]["updated"], rows[-1]["id"])
            yield Page(records=[dict(r) for r in rows], position={"after": list(after)} if more and after else None, requests=1)
            if not more:
                return

    def orders_by_id(self, external_ids: Sequence[str]) -> Iterator[Page]:
        self._serve()
        found = [dict(self.source.records[i]) for i in external_ids if i in self.source.records]
        yield Page(records=found, position=None, missing=[i for i in external_ids if i not in self.source.records], requests=1)


_STATUS = {"unpaid": OrderStatus.PENDING, "paid": OrderStatus.OPEN, "done": OrderStatus.COMPLETED}


def external_id(raw: Mapping[str, Any]) -> str | None:
    return raw.get("id")


def scrub(raw: Mapping[str, Any]) -> dict[str, Any]:
    return dict(raw)


def map_order(raw: Mapping[str, Any]) -> OrderBundle:
    if "id" not in raw:
        raise MappingError("id: missing")
    try:
        total = Decimal(raw["total"])
    except Exception:
        raise MappingError("total: not an amount") from None
    updated = datetime.fromtimestamp(raw["updated"], UTC)
    order = Order(
        external_id=raw["id"],
        status=_STATUS.get(raw["status"], OrderStatus.UNKNOWN),
        payment_status=PaymentStatus.PAID,
        fulfillment_status=FulfillmentStatus.SHIPPED if raw.get("awb") else FulfillmentStatus.UNFULFILLED,
        raw_status=raw["status"],
        created_at=updated,
        updated_at=updated,
        paid_at=None,
        ship_by=None,
        currency="IDR",
        subtotal=total,
        discount_total=Decimal(0),
        shipping_fee=Decimal(0),
        shipping_fee_actual=None,
        tax_total=Decimal(0),
        total=total,
        payment_method=None,
        is_cod=False,
        cod_amount=None,
        buyer_ref=None,
        buyer_name_masked=None,
        buyer_phone_masked=None,
        buyer_is_masked=False,
        ship_city=None,
        ship_region=None,
        ship_postcode=None,
        ship_country=None,
        note=None,
        source_zone=None,
    )
    line = OrderLine("1", None, None, "SKU", "item", 1, total, Decimal(0), total)
    shipments = ()
    if raw.get("awb"):
        shipments = (Shipment("p1", "JNE", "REG", raw["awb"], TrackingStatus.IN_TRANSIT, None, "shipped", None, None),)
    return OrderBundle(order=order, lines=(line,), shipments=shipments, mapping_version=MAPPING_VERSION, payload_hash=content_hash(raw), raw=dict(raw))
