"""An in-memory channel for engine tests: a connector, a mapping, no HTTP.

It pages through records sorted by (updated_at, id) with a keyset position, the same
resumption rule real connectors meet, and lets a test inject failures between pages.
With ``returns=True`` its spec also declares a returns stream (``tests.fake_returns``),
paged the same way over ``FakeSource.returns``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, ClassVar

from connectors._http.errors import CredentialError, TransientError
from connectors._http.secret import reveal
from connectors.contract import Page, Position, Window
from connectors.spec import ORDERS, RETURNS, ConnectorSpec, Credentials, Stream
from simpul.canonical import (
    FulfillmentStatus,
    MappingError,
    Order,
    OrderBundle,
    OrderLine,
    OrderStatus,
    PaymentStatus,
    Return,
    ReturnStatus,
    ReturnType,
    Shipment,
    TrackingStatus,
)
from simpul.jsoncodec import content_hash

MAPPING_VERSION = "fake-1"
UTC = timezone.utc


def fake_spec(connector: str, *, returns: bool = False) -> ConnectorSpec:
    """The registry entry of the fake channel, served by ``connector``; this module is its
    orders mapping, ``tests.fake_returns`` its returns mapping."""
    streams = (Stream(ORDERS, mapping="tests.fakes", batch=50, reread_awaiting_tracking=True),)
    return ConnectorSpec(
        name="fake",
        title="Fake",
        connector=connector,
        sandbox="tests.fakes:FakeConnector",
        credentials=Credentials(fields=("token",), secrets=("token",)),
        streams=streams + ((Stream(RETURNS, mapping="tests.fake_returns", batch=50),) if returns else ()),
    )


class FakeSource:
    """Shared state of one fake channel: the records, and scripted failures."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.returns: dict[str, dict[str, Any]] = {}
        self.fail_returns = 0  # the next N return pages fail (TransientError)
        self.fail_after_pages: int | None = None
        self.fail_with: type[Exception] = TransientError
        self.page_size = 3
        self.pages_served = 0

    def put(self, order_id: str, updated: int, status: str = "paid", total: str = "10000", awb: str | None = None, cod: bool = False) -> None:
        """``awb``: the order is shipped by JNE REG with this airway bill; ``cod``: cash on delivery."""
        self.records[order_id] = {"id": order_id, "updated": updated, "status": status, "total": total}
        if cod:
            self.records[order_id]["cod"] = True
        if awb is not None:
            self.records[order_id]["awb"] = awb

    def put_return(self, return_id: str, order_id: str, updated: int, status: str = "requested", reason: str = "rusak", refund: str = "10000") -> None:
        self.returns[return_id] = {"id": return_id, "order": order_id, "updated": updated, "status": status, "reason": reason, "refund": refund}


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
        return self._walk(self.source.records, window, position)

    def return_pages(self, window: Window, position: Position | None = None) -> Iterator[Page]:
        def serve() -> None:
            if self.source.fail_returns:
                self.source.fail_returns -= 1
                raise TransientError("fake: returns listing failed")
            self._serve()

        return self._walk(self.source.returns, window, position, serve)

    def _walk(self, records: dict[str, dict[str, Any]], window: Window, position: Position | None, serve: Any = None) -> Iterator[Page]:
        lo, hi = window.since.timestamp(), window.until.timestamp()
        after = tuple(position["after"]) if position else None
        while True:
            rows = sorted(
                (r for r in records.values() if lo <= r["updated"] < hi and (after is None or (r["updated"], r["id"]) > after)),
                key=lambda r: (r["updated"], r["id"]),
            )[: self.source.page_size]
            (serve or self._serve)()
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


_STATUS = {"unpaid": OrderStatus.PENDING, "paid": OrderStatus.OPEN, "done": OrderStatus.COMPLETED, "cancelled": OrderStatus.CANCELLED}


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
        is_cod=bool(raw.get("cod")),
        cod_amount=total if raw.get("cod") else None,
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
    returns = ()
    if raw.get("returned"):  # the order's own summary of a buyer return
        kind = ReturnType.UNKNOWN if raw["returned"] == "unknown" else ReturnType.BUYER_RETURN
        returns = (Return(f"{raw['id']}-return", kind, ReturnStatus.REQUESTED, "returned", None, None, None, (), updated),)
    return OrderBundle(
        order=order, lines=(line,), shipments=shipments, returns=returns, mapping_version=MAPPING_VERSION, payload_hash=content_hash(raw), raw=dict(raw)
    )
