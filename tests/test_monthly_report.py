"""The monthly report (simpul.monthly_report): a golden of hand-checked numbers, on SQLite
and PostgreSQL.

Orders are written the way a sync writes them (``store.apply_page`` with hand-made
bundles) and parcels the way a tracking run does (``parcels.apply_tracking``). Times are
WIB (UTC+7); the report's month is November 2026 in WIB. Money in rupiah (IDR).

======  =======  ==========  =======  ============  ==========================================
order   account  channel     total    created WIB   what happened
======  =======  ==========  =======  ============  ==========================================
A0      toko-a   shopee      999,000  Oct 31 23:30  October (16:30 UTC on Oct 31): COD, delivered
                                                    by jne in 10 days, buyer return refunded
A1      toko-a   shopee      100,000  Nov 1 00:30   November (Oct 31 17:30 UTC): completed; jne
                                                    delivered in 2 days; refund only 25,000.50
A2      toko-a   shopee      150,000  Nov 10        completed; jne 4 days; buyer return, damaged,
                                                    refunded 50,000
A3      toko-a   shopee      200,000  Nov 12        cancelled
A4      toko-a   shopee      120,000  Nov 15        COD; j&t parcel back at the sender (refused;
                                                    its last scan says delivered: back to us)
A5      toko-a   shopee       80,000  Nov 20        COD, completed; j&t delivered in 1.5 days
A6      toko-a   shopee       90,000  Nov 22        shipped (airway bill, not tracked)
C1      toko-c   shopee       60,000  Nov 25        COD, not shipped yet
B1      toko-b   woocommerce 250,000  Nov 5         delivered; buyer return (wrong item, 250,000)
                                                    the seller rejected: counts nowhere
B2      toko-b   woocommerce  70,000  Nov 6         cancelled after the airway bill was booked
                                                    (tracking knows it: not shipped)
B3      toko-b   woocommerce 130,000  Nov 30 23:30  November (16:30 UTC): COD, sicepat in transit
B4      toko-b   woocommerce 500,000  Dec 1 00:30   December (Nov 30 17:30 UTC): COD, returned to
                                                    sender, refunded 500,000
======  =======  ==========  =======  ============  ==========================================

November, by hand:

- orders 10 (shopee 7: toko-a 6, toko-c 1; woocommerce 3); cancelled 2 (A3, B2): 20.0%.
- GMV: every order but A3 and B2: 100+150+120+80+90+60+250+130 = 980,000 over 8 orders,
  AOV 122,500 (toko-a 540,000 / 5 = 108,000; toko-c 60,000; shopee 600,000 / 6 = 100,000;
  woocommerce 380,000 / 2 = 190,000).
- delivered: A1, A2, A5, B1 (4); buyer returns of them: A2 -> return rate 1 of 4.
- shipped: A1, A2, A4, A5, A6, B1, B3 (7); returned to sender: A4 -> RTS rate 1 of 7.
- refunds: 25,000.50 + 50,000 = 75,000.50 (B1's rejected 250,000 counts nowhere).
- top reasons (buyer returns and returns to sender): damaged 1, failed_delivery 1 (A1's
  refund-only is no return of goods).
- COD: A4, A5, B3, C1: 4 of 10; shipped COD 3 (not C1), refused 1 (A4): 1 of 3.
- delivery time: jne 2 and 4 days (median 3.0, p90 h=0.9: 2 + 0.9 * 2 = 3.8); j&t 1.5
  (A4 came back: no delivery time); sicepat none delivered. With A0's 10 days the jne
  figures would be 4.0 and 8.8. Every delivered parcel also has a booking scan six hours
  before its pickup, which does not count.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
import sqlalchemy as sa

from simpul import monthly_report, parcels, store
from simpul.canonical import (
    FulfillmentStatus,
    Order,
    OrderBundle,
    OrderLine,
    OrderStatus,
    ParcelTracking,
    PaymentStatus,
    Return,
    ReturnReason,
    ReturnStatus,
    ReturnType,
    Shipment,
    TrackingEvent,
    TrackingStatus,
)
from simpul.model import Account
from simpul.monthly_report import Rate
from simpul.tracking_report import Times

UTC = timezone.utc
WIB = timezone(timedelta(hours=7))
NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
S, F, O = TrackingStatus, FulfillmentStatus, OrderStatus
IDR = "IDR"


def wib(text: str) -> datetime:
    """A WIB wall-clock time as the aware UTC time a mapping stores."""
    return datetime.fromisoformat(text).replace(tzinfo=WIB).astimezone(UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ret(external_id: str, kind: ReturnType, status: ReturnStatus, reason: ReturnReason, refund: str | None, currency: str | None = None) -> Return:
    return Return(external_id, kind, status, status.value, reason.value, Decimal(refund) if refund else None, None, (), None, reason_code=reason, currency=currency)


def bundle(
    number: str, created: datetime, total: str, status: OrderStatus, fulfilment: FulfillmentStatus, *,
    cod: bool = False, awb: str | None = None, carrier: str = "JNE", returns: tuple[Return, ...] = (), currency: str = IDR,
) -> OrderBundle:  # fmt: skip
    amount = Decimal(total)
    order = Order(
        external_id=number, status=status, payment_status=PaymentStatus.COD_PENDING if cod else PaymentStatus.PAID, fulfillment_status=fulfilment,
        raw_status=status.value, created_at=created, updated_at=created + timedelta(days=3), paid_at=None, ship_by=None, currency=currency,
        subtotal=amount, discount_total=Decimal(0), shipping_fee=Decimal(0), shipping_fee_actual=None, tax_total=Decimal(0), total=amount,
        payment_method="cod" if cod else "transfer", is_cod=cod, cod_amount=amount if cod else None, buyer_ref=None, buyer_name_masked=None,
        buyer_phone_masked=None, buyer_is_masked=False, ship_city=None, ship_region=None, ship_postcode=None, ship_country=None, note=None, source_zone=None,
    )  # fmt: skip
    shipments = (Shipment("p1", carrier, "REG", awb, S.PENDING, None, "shipped", None, None),) if awb else ()
    line = OrderLine("1", None, None, "SKU", "item", 1, amount, Decimal(0), amount)
    return OrderBundle(order=order, lines=(line,), shipments=shipments, returns=returns, mapping_version="test-1", payload_hash=f"h-{number}")


def delivered(courier: str, awb: str, pickup: datetime, days: float) -> ParcelTracking:
    return tracking(courier, awb, [(pickup - timedelta(hours=6), S.INFO_RECEIVED, "BOOK"), (pickup, S.IN_TRANSIT, "PU"), (pickup + timedelta(days=days), S.DELIVERED, "DL")])


def tracking(courier: str, awb: str, scans: list[tuple[datetime, TrackingStatus, str]], *, sub: str | None = None) -> ParcelTracking:
    events = tuple(TrackingEvent("p", at, status, code, f"scan {code}", None) for at, status, code in scans)
    last = events[-1]
    return ParcelTracking(
        courier=courier, tracking_number=awb, status=last.status, sub_status=sub, raw_status=last.raw_code, last_event_at=last.occurred_at,
        delivered_at=last.occurred_at if last.status == S.DELIVERED else None, returning=sub in (parcels.RETURNING, parcels.RETURNED),
        service="REG", cod_amount=None, events=events, payload_hash=f"h-{awb}",
    )  # fmt: skip


ORDERS: dict[tuple[str, str], list[OrderBundle]] = {
    ("toko-a", "shopee"): [
        bundle("A0", wib("2026-10-31T23:30"), "999000", O.COMPLETED, F.SHIPPED, cod=True, awb="JNE-A0",
               returns=(ret("A0-r", ReturnType.BUYER_RETURN, ReturnStatus.REFUNDED, ReturnReason.DAMAGED, "999000"),)),
        bundle("A1", wib("2026-11-01T00:30"), "100000", O.COMPLETED, F.SHIPPED, awb="JNE-A1",
               returns=(ret("A1-r", ReturnType.REFUND, ReturnStatus.REFUNDED, ReturnReason.NOT_AS_DESCRIBED, "25000.50"),)),
        bundle("A2", wib("2026-11-10T09:00"), "150000", O.COMPLETED, F.SHIPPED, awb="JNE-A2",
               returns=(ret("A2-r", ReturnType.BUYER_RETURN, ReturnStatus.REFUNDED, ReturnReason.DAMAGED, "50000"),)),
        bundle("A3", wib("2026-11-12T12:00"), "200000", O.CANCELLED, F.CANCELLED),
        bundle("A4", wib("2026-11-15T12:00"), "120000", O.OPEN, F.SHIPPED, cod=True, awb="JNT-A4", carrier="J&T"),
        bundle("A5", wib("2026-11-20T12:00"), "80000", O.COMPLETED, F.SHIPPED, cod=True, awb="JNT-A5", carrier="J&T"),
        bundle("A6", wib("2026-11-22T12:00"), "90000", O.OPEN, F.SHIPPED, awb="JNE-A6"),
    ],
    ("toko-c", "shopee"): [bundle("C1", wib("2026-11-25T12:00"), "60000", O.OPEN, F.UNFULFILLED, cod=True)],
    ("toko-b", "woocommerce"): [
        bundle("B1", wib("2026-11-05T12:00"), "250000", O.COMPLETED, F.DELIVERED,
               returns=(ret("B1-r", ReturnType.BUYER_RETURN, ReturnStatus.REJECTED, ReturnReason.WRONG_ITEM, "250000"),)),
        bundle("B2", wib("2026-11-06T12:00"), "70000", O.CANCELLED, F.CANCELLED, awb="SCP-B2", carrier="SiCepat"),
        bundle("B3", wib("2026-11-30T23:30"), "130000", O.OPEN, F.SHIPPED, cod=True, awb="SCP-B3", carrier="SiCepat"),
        bundle("B4", wib("2026-12-01T00:30"), "500000", O.CANCELLED, F.RETURNED, cod=True, awb="SCP-B4", carrier="SiCepat",
               returns=(ret("B4-r", ReturnType.RETURN_TO_SENDER, ReturnStatus.IN_TRANSIT, ReturnReason.FAILED_DELIVERY, "500000"),)),
    ],
}  # fmt: skip

PARCELS = [
    delivered("jne", "JNE-A0", utc("2026-11-01T00:00"), 10),
    delivered("jne", "JNE-A1", utc("2026-11-02T10:00"), 2),
    delivered("jne", "JNE-A2", utc("2026-11-11T08:00"), 4),
    tracking("j&t", "JNT-A4", [(utc("2026-11-16T10:00"), S.IN_TRANSIT, "PU"), (utc("2026-11-20T10:00"), S.DELIVERED, "RT-DL")], sub=parcels.RETURNED),
    delivered("j&t", "JNT-A5", utc("2026-11-21T00:00"), 1.5),
    tracking("sicepat", "SCP-B2", [(utc("2026-11-06T08:00"), S.INFO_RECEIVED, "BOOK")]),
    tracking("sicepat", "SCP-B3", [(utc("2026-12-01T10:00"), S.IN_TRANSIT, "PU")]),
]


def seed(db, orders: dict[tuple[str, str], list[OrderBundle]] = ORDERS, now: datetime = NOW) -> None:  # noqa: ANN001
    """The accounts, orders and parcels of the module docstring."""
    with db.begin() as conn:
        for account, channel in orders:
            conn.execute(sa.insert(Account.__table__).values(id=account, channel=channel, name=account, base_url="http://shop.invalid", status="active", history_days=30, created_at=now))
        for (account, channel), bundles in orders.items():
            store.apply_page(conn, store.WriteContext(account, channel, None, "test", now, "test-1"), bundles)
    with db.begin() as conn:
        parcels.apply_tracking(conn, store.WriteContext("trk", "biteship", None, "test", now, "test-1"), PARCELS)


@pytest.fixture
def seeded(hub):  # noqa: ANN001, ANN201
    seed(hub.db)
    return hub.db


def build(db, month: str = "2026-11", account: str | None = None) -> monthly_report.MonthlyReport:  # noqa: ANN001
    with db.connect() as conn:
        return monthly_report.build(conn, month=month, account=account, now=NOW)


# -- the numbers ------------------------------------------------------------------------------
def test_the_month_adds_up_by_hand(seeded) -> None:  # noqa: ANN001
    report = build(seeded)
    t = report.total
    assert (t.account, t.channel, t.orders, t.cancelled, t.delivered, t.shipped) == ("*", "*", 10, 2, 4, 7)
    assert t.gmv == {IDR: Decimal("980000")} and t.gmv_orders == {IDR: 8} and t.aov == {IDR: Decimal("122500")}
    assert t.refunds == {IDR: Decimal("75000.50")}
    assert all(isinstance(v, Decimal) for v in (*t.gmv.values(), *t.aov.values(), *t.refunds.values()))
    assert (t.cancel_rate, t.return_rate, t.rts_rate, t.cod_share, t.cod_refusal_rate) == (Rate(2, 10), Rate(1, 4), Rate(1, 7), Rate(4, 10), Rate(1, 3))
    assert (t.cancel_rate.value, t.return_rate.value, t.cod_share.value) == (0.2, 0.25, 0.4)
    assert t.top_reasons() == [("damaged", 1), ("failed_delivery", 1)]
    assert report.delivery == {"j&t": Times(1, 1.5, 1.5), "jne": Times(2, 3.0, pytest.approx(3.8))}

    rows = {f.account: f for f in report.by_account}
    assert list(rows) == ["toko-a", "toko-b", "toko-c"]
    a, b, c = rows["toko-a"], rows["toko-b"], rows["toko-c"]
    assert (a.channel, a.orders, a.gmv, a.aov, a.refunds) == ("shopee", 6, {IDR: 540000}, {IDR: 108000}, {IDR: Decimal("75000.5")})
    assert (a.cancel_rate, a.return_rate, a.rts_rate, a.cod_share, a.cod_refusal_rate) == (Rate(1, 6), Rate(1, 3), Rate(1, 5), Rate(2, 6), Rate(1, 2))
    assert (b.channel, b.orders, b.gmv, b.aov, b.refunds, b.reasons) == ("woocommerce", 3, {IDR: 380000}, {IDR: 190000}, {}, {})
    assert (b.cancel_rate, b.return_rate, b.rts_rate, b.cod_share, b.cod_refusal_rate) == (Rate(1, 3), Rate(0, 1), Rate(0, 2), Rate(1, 3), Rate(0, 1))
    assert (c.gmv, c.aov, c.return_rate.value, c.rts_rate.value, c.cod_share, c.cod_refusal_rate) == ({IDR: 60000}, {IDR: 60000}, None, None, Rate(1, 1), Rate(0, 0))

    channels = {f.channel: f for f in report.by_channel}
    assert list(channels) == ["shopee", "woocommerce"] and channels["shopee"].account == "*"
    shopee = channels["shopee"]
    assert (shopee.orders, shopee.gmv, shopee.aov, shopee.cancel_rate, shopee.return_rate, shopee.rts_rate) == (7, {IDR: 600000}, {IDR: 100000}, Rate(1, 7), Rate(1, 3), Rate(1, 5))
    assert (shopee.cod_share, shopee.cod_refusal_rate) == (Rate(3, 7), Rate(1, 2))


def test_months_are_wib_calendar_months_by_creation_time(seeded) -> None:  # noqa: ANN001
    october = build(seeded, "2026-10")  # A0, created Oct 31 23:30 WIB
    assert [(f.account, f.orders) for f in october.by_account] == [("toko-a", 1)]
    assert (october.total.gmv, october.total.refunds, october.total.return_rate) == ({IDR: 999000}, {IDR: 999000}, Rate(1, 1))
    assert october.delivery == {"jne": Times(1, 10.0, 10.0)}

    december = build(seeded, "2026-12")  # B4, created Dec 1 00:30 WIB (Nov 30 17:30 UTC)
    t = december.total
    assert [(f.account, f.orders) for f in december.by_account] == [("toko-b", 1)]
    assert (t.gmv, t.cancel_rate, t.rts_rate, t.cod_refusal_rate, t.refunds, t.top_reasons()) == ({}, Rate(1, 1), Rate(1, 1), Rate(1, 1), {IDR: 500000}, [("failed_delivery", 1)])

    with pytest.raises(ValueError, match="month '2026-13'"):
        build(seeded, "2026-13")


def test_one_account(seeded) -> None:  # noqa: ANN001
    report = build(seeded, account="toko-b")
    assert [f.account for f in report.by_account] == ["toko-b"] and [f.channel for f in report.by_channel] == ["woocommerce"]
    assert (report.total.orders, report.total.gmv, report.total.cod_refusal_rate) == (3, {IDR: 380000}, Rate(0, 1))
    assert report.delivery == {}  # B3 is still on its way


def test_amounts_in_two_currencies_are_kept_apart(hub) -> None:  # noqa: ANN001
    usd = bundle("D1", wib("2026-11-18T08:00"), "12.50", O.OPEN, F.UNFULFILLED, currency="USD",
                 returns=(ret("D1-r", ReturnType.REFUND, ReturnStatus.REFUNDED, ReturnReason.OTHER, "2.25"),))  # fmt: skip
    seed(hub.db, {**ORDERS, ("toko-d", "shopify"): [usd]})
    t = build(hub.db).total
    assert (t.gmv, t.aov, t.refunds) == ({IDR: 980000, "USD": Decimal("12.5")}, {IDR: 122500, "USD": Decimal("12.5")}, {IDR: Decimal("75000.5"), "USD": Decimal("2.25")})
    assert monthly_report.money(t.gmv) == "IDR 980,000; USD 12.50"
    assert monthly_report.money(t.refunds) == "IDR 75,000.50; USD 2.25"
    assert (t.orders, t.cancel_rate) == (11, Rate(2, 11))


def test_parcels_tracked_before_their_order_was_synced_count_by_airway_bill(hub) -> None:  # noqa: ANN001
    """A parcel looked up (``simpul track``) before its order arrived is linked to no order,
    and no return to sender is written for it: the report finds its order by airway bill,
    as the COD report does."""
    now = NOW
    with hub.db.begin() as conn:
        conn.execute(sa.insert(Account.__table__).values(id="toko-e", channel="shopee", name="E", base_url="http://shop.invalid", status="active", history_days=30, created_at=now))
        back = tracking("jne", "JNE-E2", [(utc("2026-11-03T10:00"), S.IN_TRANSIT, "PU"), (utc("2026-11-06T10:00"), S.EXCEPTION, "RT")], sub=parcels.RETURNED)
        parcels.apply_tracking(conn, store.WriteContext("trk", "biteship", None, "test", now, "test-1"), [delivered("jne", "JNE-E1", utc("2026-11-03T10:00"), 3), back])
        orders = [
            bundle("E1", wib("2026-11-02T10:00"), "10000", O.OPEN, F.SHIPPED, awb="JNE-E1"),
            bundle("E2", wib("2026-11-02T11:00"), "20000", O.OPEN, F.SHIPPED, cod=True, awb="JNE-E2"),
        ]
        store.apply_page(conn, store.WriteContext("toko-e", "shopee", None, "test", now, "test-1"), orders)
        assert conn.execute(sa.select(sa.func.count()).select_from(monthly_report.RETURNS)).scalar() == 0
    report = build(hub.db)
    t = report.total
    assert (t.delivered, t.shipped, t.rts_rate, t.cod_refusal_rate) == (1, 2, Rate(1, 2), Rate(1, 1))
    assert report.delivery == {"jne": Times(1, 3.0, 3.0)}


# -- rendering ---------------------------------------------------------------------------------
class Page(HTMLParser):
    """What a reader of the page sees: tables by id (cell texts), SVG bars by chart."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.bars: dict[str, list[dict[str, Any]]] = {}
        self.paragraphs: dict[str, str] = {}
        self.tags: list[str] = []
        self._table = self._svg = self._p = None
        self._cell: list[str] | None = None
        self._bar: dict[str, Any] | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "table":
            self._table = a["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif tag == "svg":
            self._svg = a["id"]
            self.bars[self._svg] = []
        elif tag == "g" and self._svg and a.get("class") == "bar":
            self._bar = {"label": a.get("data-label") or a.get("data-courier"), "rects": {}, "title": ""}
            self.bars[self._svg].append(self._bar)
        elif tag == "rect" and self._bar is not None:
            self._bar["rects"][a["class"]] = float(a["width"])
        elif tag == "title" and self._bar is not None:
            self._in_title = True
        elif tag == "p" and a.get("id"):
            self._p = a["id"]
            self.paragraphs[self._p] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag == "g":
            self._bar = None
        elif tag == "svg":
            self._svg = None
        elif tag == "title":
            self._in_title = False
        elif tag == "p":
            self._p = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_title and self._bar is not None:
            self._bar["title"] += data
        if self._p:
            self.paragraphs[self._p] += data


def read(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


HEAD = ["orders", "GMV", "AOV", "cancel rate", "return rate", "RTS rate", "refunds", "COD share", "COD refusal rate"]
SHOPEE = ["7", "IDR 600,000", "IDR 100,000", "14.3% (1 of 7)", "33.3% (1 of 3)", "20.0% (1 of 5)", "IDR 75,000.50", "42.9% (3 of 7)", "50.0% (1 of 2)"]
WOO = ["3", "IDR 380,000", "IDR 190,000", "33.3% (1 of 3)", "0.0% (0 of 1)", "0.0% (0 of 2)", "-", "33.3% (1 of 3)", "0.0% (0 of 1)"]
TOTAL = ["10", "IDR 980,000", "IDR 122,500", "20.0% (2 of 10)", "25.0% (1 of 4)", "14.3% (1 of 7)", "IDR 75,000.50", "40.0% (4 of 10)", "33.3% (1 of 3)"]
TOKO_A = ["6", "IDR 540,000", "IDR 108,000", "16.7% (1 of 6)", "33.3% (1 of 3)", "20.0% (1 of 5)", "IDR 75,000.50", "33.3% (2 of 6)", "50.0% (1 of 2)"]
TOKO_C = ["1", "IDR 60,000", "IDR 60,000", "0.0% (0 of 1)", "-", "-", "-", "100.0% (1 of 1)", "-"]
SUMMARY = (
    "2026-11 in WIB (2026-10-31 17:00 to 2026-11-30 17:00 UTC), as of 2026-12-05 12:00 UTC: orders 10, GMV IDR 980,000, AOV IDR 122,500, "
    "cancel rate 20.0% (2 of 10), return rate 25.0% (1 of 4), RTS rate 14.3% (1 of 7), refunds IDR 75,000.50, COD share 40.0% (4 of 10), "
    "COD refusal rate 33.3% (1 of 3)."
)


def test_the_page_shows_the_hand_checked_numbers_and_charts(seeded) -> None:  # noqa: ANN001
    text = monthly_report.html(build(seeded))
    page = read(text)

    assert page.paragraphs["summary"] == SUMMARY
    assert page.tables["by-channel"] == [["channel", *HEAD], ["shopee", *SHOPEE], ["woocommerce", *WOO], ["all channels", *TOTAL]]
    assert page.tables["by-account"] == [["account", "channel", *HEAD], ["toko-a", "shopee", *TOKO_A], ["toko-b", "woocommerce", *WOO], ["toko-c", "shopee", *TOKO_C]]
    assert page.tables["reasons-table"] == [["reason", "returns"], ["damaged", "1"], ["failed_delivery", "1"]]
    assert page.tables["delivery-times"] == [["courier", "delivered", "median", "p90"], ["j&t", "1", "1.5", "1.5"], ["jne", "2", "3.0", "3.8"]]

    # Bars drawn to scale on a 420 px axis: GMV up to 1,000,000 (600,000 rounded up); rates
    # up to 50% (33.3% rounded up) or 20%; reasons up to 1; delivery days up to 5 (p90 3.8).
    def drawn(chart: str) -> list[tuple[str, dict[str, float]]]:
        return [(b["label"], b["rects"]) for b in page.bars[chart]]

    assert drawn("gmv-idr") == [("shopee", {"value": 252.0}), ("woocommerce", {"value": 159.6})]
    assert [b["title"] for b in page.bars["gmv-idr"]] == ["shopee: IDR 600,000 (6 orders)", "woocommerce: IDR 380,000 (2 orders)"]
    assert [round(r["value"], 1) for _, r in drawn("cancel-rate")] == [120.0, 280.0]
    assert [round(r["value"], 1) for _, r in drawn("return-rate")] == [280.0, 0.0]
    assert [round(r["value"], 1) for _, r in drawn("rts-rate")] == [420.0, 0.0]
    assert [b["title"] for b in page.bars["cod-refusal-rate"]] == ["shopee: 50.0% (1 of 2)", "woocommerce: 0.0% (0 of 1)"]
    assert drawn("reasons") == [("damaged", {"value": 420.0}), ("failed_delivery", {"value": 420.0})]
    assert drawn("delivery-days") == [("j&t", {"p90": 126.0, "median": 126.0}), ("jne", {"p90": 319.2, "median": 252.0})]

    assert "j&amp;t" in text and "j&t" not in text  # stored text is escaped
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(page.tags)  # nothing runs, nothing is fetched
    assert "src=" not in text and "href=" not in text


def test_the_markdown_carries_the_same_numbers_and_links_nothing(seeded) -> None:  # noqa: ANN001
    text = monthly_report.markdown(build(seeded))
    lines = text.splitlines()
    assert lines[0] == "### Monthly report 2026-11"
    assert SUMMARY in lines
    assert "| " + " | ".join(["shopee", *SHOPEE]) + " |" in lines
    assert "| " + " | ".join(["all channels", *TOTAL]) + " |" in lines
    assert "| " + " | ".join(["toko-a", "shopee", *TOKO_A]) + " |" in lines
    assert "| " + " | ".join(["toko-c", "shopee", *TOKO_C]) + " |" in lines
    assert {"| damaged | 1 |", "| failed_delivery | 1 |", "| j&amp;t | 1 | 1.5 | 1.5 |", "| jne | 2 | 3.0 | 3.8 |"} <= set(lines)
    assert "http" not in text and "](" not in text and "<" not in text


def test_an_empty_month_renders_without_charts(hub) -> None:  # noqa: ANN001
    report = build(hub.db)
    page = read(monthly_report.html(report))
    assert page.bars == {}
    assert page.tables["by-channel"] == [["channel", *HEAD], ["all channels", "0", "-", "-", "-", "-", "-", "-", "-", "-"]]
    assert page.tables["by-account"] == [["account", "channel", *HEAD]]
    text = monthly_report.markdown(report)
    assert "No buyer returns or returns to sender." in text and "no delivery times" in text
