"""The monthly report a seller reads (issue 12 §3): orders, GMV, average order value,
cancel, return and return-to-sender (RTS) rates with their top reasons, refunds, COD share
and COD refusal rate, per account, per channel and in total, and delivery time per courier.

``build`` reads the store (it asks no channel) into a ``MonthlyReport``; ``markdown``
renders it for a Prefect artifact (text and tables only, nothing linked), ``html`` as a
self-contained page with inline SVG bar charts (no script, nothing fetched from the
network, every stored text escaped), ``to_dict`` as JSON for ``simpul report --json``.

Definitions (the numbers a seller will quote, so they are written down):

- **The month** is a calendar month in Asia/Jakarta (WIB), and an order belongs to the month
  it was *created* in (``cod.month_bounds``, as the COD report counts). Every figure is
  about the month's orders, whenever their deliveries, returns and refunds happened: a
  November order refunded in December counts in November's report.
- **Orders**: the orders created in the month, whatever their status.
- **Cancel rate** = cancelled orders (order status ``cancelled``) / orders.
- **GMV** (gross merchandise value) = the sum of ``total`` (what the buyer pays: goods after
  discounts, plus shipping and tax) of every order that is not cancelled: unpaid (pending),
  open, completed, partly cancelled (``partial``) and unknown statuses all count, and
  refunds are not subtracted (they are reported on their own). Per currency.
- **AOV** (average order value) = GMV / the orders counted in it, per currency.
- **Shipped**: the courier has it: delivered, returned to sender, or, not cancelled, with
  an airway bill that is moving (fulfilment shipped, partial or returned, or tracking
  knows the parcel). This is the rule ``cod.cod_orders`` uses for COD orders, applied to
  every order.
- **Delivered**: the courier delivered it (the parcel's tracking, the shipment's tag, the
  order's fulfilment ``delivered`` or its status ``completed``), or it has a buyer return
  (a buyer returns what reached them, whatever the status says now); an order returned to
  sender never counts as delivered.
- **Which returns count**: every return of the month's orders except those the seller
  rejected or the buyer withdrew (status ``rejected`` or ``cancelled``): they brought
  nothing back and refunded nothing.
- **Return rate** = orders with a buyer return (type ``buyer_return``) / delivered orders.
  Refunds without goods coming back (type ``refund``) are not returns; their money is in
  the refunds.
- **RTS rate** = orders returned to sender (a ``return_to_sender`` return, the marketplace's
  or one tracking saw, or a parcel tracking shows going back) / shipped orders.
- **Top reasons**: the ``reason_code`` (``canonical.ReturnReason``) of the buyer returns and
  returns to sender behind those two rates, most frequent first (ties by name), counted in
  returns: an order with two returns counts twice. ``unknown``: no reason the channel's
  table maps.
- **Refunds** = the sum of ``refund_amount`` of every return of the month's orders (buyer
  returns, refunds, cancellations, returns to sender), in the return's currency, else its
  order's; a return without an amount adds nothing. Per currency, never converted.
- **COD share** = COD orders / orders. **COD refusal rate** = refused / shipped COD orders
  (in transit, delivered or refused), each COD order's state as ``cod.cod_orders``
  decides it (the COD report's numbers).
- **Delivery time per courier**: the median and 90th percentile, in days, of the delivered
  parcels of the month's orders, by ``simpul.tracking_report``'s definitions: from the
  first scan showing the courier has the parcel (booking scans do not count) to
  delivered, quantiles interpolated between the nearest ranks. A parcel belongs to the
  order it is linked to, else to the month's order whose shipment carries its airway bill.

Rows: one per account (with its channel), one per channel (``*`` as the account) and the
total (``*``, ``*``). Money is ``Decimal`` end to end; floats only size the bars of a chart.
Rates are fractions (``Rate``: a count of a whole, ``value`` None when the whole is zero),
rounded only when rendered (a percent with one decimal); AOV is rendered to the cent
(half up). No buyer data: nothing here reads a buyer column.
"""

from __future__ import annotations

import html as _html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from simpul import cod, parcels, tracking_report
from simpul.canonical import FulfillmentStatus, OrderStatus, ReturnStatus, ReturnType, TrackingStatus
from simpul.model import Order, Parcel, Return, Shipment
from simpul.tracking_report import BAR_HEIGHT, LABEL_WIDTH, PLOT_WIDTH, ROW_HEIGHT, TOP, Times

ORDERS, SHIPMENTS, PARCELS, RETURNS = Order.__table__, Shipment.__table__, Parcel.__table__, Return.__table__
ALL = "*"
ZERO = Decimal(0)
CENT = Decimal("0.01")
TOP_REASONS = 3
NOT_COUNTED = (ReturnStatus.REJECTED, ReturnStatus.CANCELLED)  # returns that count nowhere
GOODS_BACK = frozenset({ReturnType.BUYER_RETURN.value, ReturnType.RETURN_TO_SENDER.value})  # their reasons are the top reasons
MOVING = frozenset(m.value for m in cod.MOVING)  # fulfilment of an order with the courier
COD_SHIPPED = ("in_transit", "delivered", "refused")
Key = tuple[str, str]  # (account, order number)


@dataclass(frozen=True, slots=True)
class Rate:
    """``count`` of ``of``; ``value`` is the fraction, None when ``of`` is zero."""

    count: int
    of: int

    @property
    def value(self) -> float | None:
        return self.count / self.of if self.of else None


@dataclass(slots=True)
class Figures:
    """The numbers of one row: an account (``channel`` is its channel), a channel
    (``account`` is ``*``) or the total (both ``*``)."""

    account: str
    channel: str
    orders: int = 0
    cancelled: int = 0
    shipped: int = 0
    delivered: int = 0
    buyer_returns: int = 0  # orders with a buyer return
    returned_to_sender: int = 0  # orders
    gmv: dict[str, Decimal] = field(default_factory=dict)  # currency -> sum of totals
    gmv_orders: dict[str, int] = field(default_factory=dict)  # currency -> orders in the GMV
    refunds: dict[str, Decimal] = field(default_factory=dict)  # currency -> sum of refund amounts
    reasons: dict[str, int] = field(default_factory=dict)  # reason code -> returns
    cod_orders: int = 0
    cod_shipped: int = 0
    cod_refused: int = 0

    @property
    def aov(self) -> dict[str, Decimal]:
        return {c: self.gmv[c] / self.gmv_orders[c] for c in sorted(self.gmv)}

    @property
    def cancel_rate(self) -> Rate:
        return Rate(self.cancelled, self.orders)

    @property
    def return_rate(self) -> Rate:
        return Rate(self.buyer_returns, self.delivered)

    @property
    def rts_rate(self) -> Rate:
        return Rate(self.returned_to_sender, self.shipped)

    @property
    def cod_share(self) -> Rate:
        return Rate(self.cod_orders, self.orders)

    @property
    def cod_refusal_rate(self) -> Rate:
        return Rate(self.cod_refused, self.cod_shipped)

    def top_reasons(self, n: int | None = TOP_REASONS) -> list[tuple[str, int]]:
        """The most frequent reasons, ties by name; every one when ``n`` is None."""
        return sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


@dataclass(slots=True)
class MonthlyReport:
    month: str  # YYYY-MM, in WIB
    account: str | None  # the one account asked for, else None (every account)
    now: datetime
    by_account: list[Figures]
    by_channel: list[Figures]
    total: Figures
    delivery: dict[str, Times]  # courier -> delivery times in days

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return cod.month_bounds(self.month)


# -- reading the store -----------------------------------------------------------------------
@dataclass(slots=True)
class _Shipped:
    """What an order's shipments and their parcels say."""

    airway_bill: bool = False
    delivered: bool = False  # a shipment's tag or a parcel says delivered
    tracked: bool = False  # tracking knows a parcel of it
    returning: bool = False  # a parcel is going back to the sender, or back there


def build(conn: Connection, *, month: str, account: str | None = None, now: datetime) -> MonthlyReport:
    """The report of ``month`` (``YYYY-MM``, WIB; ``ValueError`` when it is not one) over
    every account or one, as of ``now`` (see the module docstring for every definition)."""
    start, end = cod.month_bounds(month)
    where = [ORDERS.c.created_at >= start, ORDERS.c.created_at < end]
    if account:
        where.append(ORDERS.c.account_id == account)
    orders = conn.execute(
        sa.select(ORDERS.c.account_id, ORDERS.c.external_id, ORDERS.c.channel, ORDERS.c.status, ORDERS.c.fulfillment_status, ORDERS.c.currency, ORDERS.c.total)
        .where(*where)
        .order_by(ORDERS.c.account_id, ORDERS.c.external_id)
    ).mappings().all()  # fmt: skip
    shipped, airway_bills = _shipments(conn, where)
    returns = _returns(conn, where)
    kinds: dict[Key, set[str]] = {}
    for r in returns:
        kinds.setdefault(r["key"], set()).add(_value(r["type"]))

    by_account: dict[str, Figures] = {}
    by_channel: dict[str, Figures] = {}
    total = Figures(ALL, ALL)
    rows_of: dict[Key, tuple[Figures, ...]] = {}
    for o in orders:
        key = (o["account_id"], o["external_id"])
        rows = (by_account.setdefault(o["account_id"], Figures(o["account_id"], o["channel"])), by_channel.setdefault(o["channel"], Figures(ALL, o["channel"])), total)
        rows_of[key] = rows
        s = shipped.get(key, _Shipped())
        status, fulfilment = _value(o["status"]), _value(o["fulfillment_status"])
        cancelled = status == OrderStatus.CANCELLED
        rts = ReturnType.RETURN_TO_SENDER.value in kinds.get(key, ()) or s.returning
        buyer_return = ReturnType.BUYER_RETURN.value in kinds.get(key, ())
        delivered = not rts and (buyer_return or s.delivered or fulfilment == FulfillmentStatus.DELIVERED or status == OrderStatus.COMPLETED)
        moving = not cancelled and s.airway_bill and (fulfilment in MOVING or s.tracked)
        for f in rows:
            f.orders += 1
            f.cancelled += cancelled
            f.shipped += rts or delivered or moving
            f.delivered += delivered
            f.buyer_returns += buyer_return
            f.returned_to_sender += rts
            if not cancelled:
                f.gmv[o["currency"]] = f.gmv.get(o["currency"], ZERO) + o["total"]
                f.gmv_orders[o["currency"]] = f.gmv_orders.get(o["currency"], 0) + 1
    for r in returns:
        for f in rows_of.get(r["key"], ()):
            if r["refund_amount"] is not None:
                f.refunds[r["currency"]] = f.refunds.get(r["currency"], ZERO) + r["refund_amount"]
            if _value(r["type"]) in GOODS_BACK:
                f.reasons[_value(r["reason_code"])] = f.reasons.get(_value(r["reason_code"]), 0) + 1
    for item in cod.cod_orders(conn, month=month, account=account):
        for f in rows_of.get((item.account, item.order), ()):  # an order created since the read above is in neither
            f.cod_orders += 1
            f.cod_shipped += item.state in COD_SHIPPED
            f.cod_refused += item.state == "refused"
    return MonthlyReport(
        month=month, account=account, now=now, by_account=[by_account[a] for a in sorted(by_account)],
        by_channel=[by_channel[c] for c in sorted(by_channel)], total=total, delivery=_delivery_times(conn, set(rows_of), airway_bills, now=now),
    )  # fmt: skip


def _shipments(conn: Connection, where: Sequence[Any]) -> tuple[dict[Key, _Shipped], dict[str, Key]]:
    """Per order of the month: its shipments and tracked parcels (``_Shipped``); and each
    airway bill of those shipments -> its order."""
    query = (
        sa.select(SHIPMENTS.c.account_id, SHIPMENTS.c.order_external_id, SHIPMENTS.c.tracking_number, SHIPMENTS.c.tracking_status, PARCELS.c.status, PARCELS.c.return_to_sender)
        .join(ORDERS, sa.and_(ORDERS.c.account_id == SHIPMENTS.c.account_id, ORDERS.c.external_id == SHIPMENTS.c.order_external_id))
        .outerjoin(PARCELS, sa.and_(PARCELS.c.tracking_number == SHIPMENTS.c.tracking_number, PARCELS.c.payload_hash.is_not(None)))
        .where(*where)
    )  # fmt: skip
    out: dict[Key, _Shipped] = {}
    airway_bills: dict[str, Key] = {}
    for account, order, number, tag, parcel_status, returning in conn.execute(query):
        s = out.setdefault((account, order), _Shipped())
        if number:
            s.airway_bill = True
            airway_bills.setdefault(number, (account, order))
        s.delivered |= TrackingStatus.DELIVERED.value in (_value(tag), _value(parcel_status))
        s.tracked |= parcel_status is not None
        s.returning |= bool(returning)
    return out, airway_bills


def _returns(conn: Connection, where: Sequence[Any]) -> list[dict[str, Any]]:
    """The returns of the month's orders that count (not rejected, not withdrawn)."""
    query = (
        sa.select(
            RETURNS.c.account_id, RETURNS.c.order_external_id, RETURNS.c.type, RETURNS.c.reason_code, RETURNS.c.refund_amount,
            sa.func.coalesce(RETURNS.c.currency, ORDERS.c.currency).label("currency"),
        )
        .join(ORDERS, sa.and_(ORDERS.c.account_id == RETURNS.c.account_id, ORDERS.c.external_id == RETURNS.c.order_external_id))
        .where(*where, RETURNS.c.status.not_in(list(NOT_COUNTED)))
    )  # fmt: skip
    return [{**r, "key": (r["account_id"], r["order_external_id"])} for r in conn.execute(query).mappings()]


def _delivery_times(conn: Connection, orders: set[Key], airway_bills: Mapping[str, Key], *, now: datetime) -> dict[str, Times]:
    """Delivery times per courier of the delivered parcels of ``orders``, counted as
    ``tracking_report.build`` counts them (delivered, not back at the sender; first
    hand-over scan to ``delivered_at``)."""
    handover = tracking_report.first_handover(conn)
    days: dict[str, list[float]] = {}
    for row in parcels.listing(conn):
        key = (row["account_id"], row["order_external_id"]) if row["account_id"] else airway_bills.get(row["tracking_number"])
        if key not in orders or _value(row["status"]) != TrackingStatus.DELIVERED.value or parcels.attention(row, now=now) is not None:
            continue
        start, end = handover.get((row["courier"], row["tracking_number"])), row["delivered_at"]
        if start is None or end is None:
            continue
        end = end.astimezone(timezone.utc) if end.tzinfo else end.replace(tzinfo=timezone.utc)
        days.setdefault(row["courier"], []).append(max(0.0, (end - start).total_seconds() / tracking_report.DAY_SECONDS))
    return {courier: tracking_report.times_of(v) for courier, v in sorted(days.items())}


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


# -- numbers as text ---------------------------------------------------------------------------
def amount(value: Decimal) -> str:
    """``value`` to the cent (half up) with thousands separators, ``.00`` dropped: 75,000.5 -> ``75,000.50``."""
    text = f"{value.quantize(CENT, rounding=ROUND_HALF_UP):,}"
    return text[:-3] if text.endswith(".00") else text


def money(amounts: Mapping[str, Decimal]) -> str:
    """``IDR 980,000`` (currencies apart, ``; ``-separated); ``-`` for none."""
    return "; ".join(f"{currency} {amount(value)}" for currency, value in sorted(amounts.items())) or "-"


def percent(rate: Rate, *, counts: bool = True) -> str:
    """``20.0% (2 of 10)``; ``-`` when there is nothing to divide by."""
    if rate.value is None:
        return "-"
    return f"{100 * rate.value:.1f}%" + (f" ({rate.count} of {rate.of})" if counts else "")


def _days(value: float) -> str:
    return f"{value:.1f}"


COLUMNS: tuple[tuple[str, Callable[[Figures], str]], ...] = (
    ("orders", lambda f: str(f.orders)),
    ("GMV", lambda f: money(f.gmv)),
    ("AOV", lambda f: money(f.aov)),
    ("cancel rate", lambda f: percent(f.cancel_rate)),
    ("return rate", lambda f: percent(f.return_rate)),
    ("RTS rate", lambda f: percent(f.rts_rate)),
    ("refunds", lambda f: money(f.refunds)),
    ("COD share", lambda f: percent(f.cod_share)),
    ("COD refusal rate", lambda f: percent(f.cod_refusal_rate)),
)
FOOTNOTE = (
    "Orders created in the month (WIB). GMV: totals of orders not cancelled. Cancel rate: cancelled / orders. "
    "Return rate: orders with a buyer return / delivered orders. RTS rate: orders returned to sender / shipped orders. "
    "Refunds: of the month's orders, whenever paid. COD refusal rate: refused / shipped COD orders. "
    "Rejected or withdrawn returns count nowhere."
)


def title(report: MonthlyReport) -> str:
    return f"Monthly report {report.month}" + (f", account {report.account}" if report.account else "")


def summary(report: MonthlyReport) -> str:
    """One sentence: the month, its bounds, and the total row."""
    start, end = report.bounds
    numbers = ", ".join(f"{name} {show(report.total)}" for name, show in COLUMNS)
    return (
        f"{report.month} in WIB ({start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC), "
        f"as of {report.now.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC: {numbers}."
    )


def _channel_rows(report: MonthlyReport) -> list[tuple[str, Figures]]:
    return [(f.channel, f) for f in report.by_channel] + [("all channels", report.total)]


# -- markdown (the Prefect artifact) -------------------------------------------------------------
def markdown(report: MonthlyReport) -> str:
    """The report as markdown: text and tables only, nothing linked; stored text escaped."""
    m = _md
    head = " | ".join(name for name, _ in COLUMNS)
    rule = " | ".join("---:" for _ in COLUMNS)
    lines = [f"### {m(title(report))}", "", m(summary(report)), "", "Per channel:", "", f"| channel | {head} |", f"| --- | {rule} |"]
    lines += [f"| {m(name)} | " + " | ".join(m(show(f)) for _, show in COLUMNS) + " |" for name, f in _channel_rows(report)]
    lines += ["", "Per account:", "", f"| account | channel | {head} |", f"| --- | --- | {rule} |"]
    lines += [f"| {m(f.account)} | {m(f.channel)} | " + " | ".join(m(show(f)) for _, show in COLUMNS) + " |" for f in report.by_account]
    lines.append("")
    reasons = report.total.top_reasons()
    if reasons:
        lines += ["Top reasons of buyer returns and returns to sender:", "", "| reason | returns |", "| --- | ---: |"]
        lines += [f"| {m(reason)} | {n} |" for reason, n in reasons]
    else:
        lines.append("No buyer returns or returns to sender.")
    lines.append("")
    if report.delivery:
        lines += ["Delivery time in days, first courier scan to delivered:", "", "| courier | delivered | median | p90 |", "| --- | ---: | ---: | ---: |"]
        lines += [f"| {m(c)} | {t.count} | {_days(t.median)} | {_days(t.p90)} |" for c, t in report.delivery.items()]
    else:
        lines.append("No delivered parcel of these orders with a first scan yet: no delivery times.")
    lines += ["", m(FOOTNOTE)]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Stored text for a markdown table: HTML escaped, pipes and backslashes kept literal."""
    return _html.escape(text.replace("\\", "\\\\"), quote=False).replace("|", "\\|")


# -- HTML with inline SVG (the file ``simpul report --out`` writes) -----------------------------
GMV_COLOUR = tracking_report.MEDIAN_COLOUR
RATE_COLOURS = {"cancel-rate": "#7f8c8d", "return-rate": "#d68910", "rts-rate": tracking_report.RTS_COLOUR, "cod-refusal-rate": "#8e44ad"}
REASON_COLOUR = "#5d6d7e"


def html(report: MonthlyReport) -> str:
    """A self-contained page: the summary, charts (GMV, rates per channel, top reasons,
    delivery time per courier) and the tables behind them."""
    e = _html.escape
    t = title(report)
    delivery = tracking_report.Report(now=report.now, tally={}, by_courier=report.delivery)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Simpul: {e(t)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
        "th,td{border:1px solid #ccc;padding:4px 10px}td.n{text-align:right;white-space:nowrap}caption{text-align:left;font-weight:bold;padding:4px 0}"
        "svg text{font-size:12px;font-family:system-ui,sans-serif}</style>",
        "</head><body>",
        f"<h1>Simpul: {e(t)}</h1>",
        f'<p id="summary">{e(summary(report))}</p>',
        _table("by-channel", "Per channel", ["channel"], [([name], f) for name, f in _channel_rows(report)]),
        _table("by-account", "Per account", ["account", "channel"], [([f.account, f.channel], f) for f in report.by_account]),
        "<h2>GMV per channel</h2>",
        *_gmv_charts(report),
        "<h2>Rates per channel</h2>",
        _rate_chart(report, "cancel-rate", "Cancel rate", lambda f: f.cancel_rate),
        _rate_chart(report, "return-rate", "Return rate (of delivered orders)", lambda f: f.return_rate),
        _rate_chart(report, "rts-rate", "Return-to-sender rate (of shipped orders)", lambda f: f.rts_rate),
        _rate_chart(report, "cod-refusal-rate", "COD refusal rate (of shipped COD orders)", lambda f: f.cod_refusal_rate),
        "<h2>Top reasons of buyer returns and returns to sender</h2>",
        _bar_chart("reasons", "Returns per reason", [(r, float(n), f"{n} return(s)") for r, n in report.total.top_reasons()], colour=REASON_COLOUR, tick_text=lambda v: f"{v:g}"),
        _reason_table(report),
        "<h2>Delivery time per courier (days)</h2>",
        "<p>Dark: median; light: 90th percentile. From the first scan showing the courier has the parcel to delivered.</p>",
        tracking_report.delivery_chart(delivery),
        _delivery_table(report),
        f'<p id="definitions">{e(FOOTNOTE)}</p>',
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _table(table_id: str, caption: str, keys: list[str], rows: Sequence[tuple[list[str], Figures]]) -> str:
    e = _html.escape
    head = "".join(f"<th>{e(k)}</th>" for k in keys) + "".join(f"<th>{e(name)}</th>" for name, _ in COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{e(k)}</td>" for k in names) + "".join(f'<td class="n">{e(show(f))}</td>' for _, show in COLUMNS) + "</tr>"
        for names, f in rows
    )
    return f'<table id="{table_id}"><caption>{e(caption)}</caption><tr>{head}</tr>{body}</table>'


def _gmv_charts(report: MonthlyReport) -> list[str]:
    currencies = sorted(report.total.gmv)
    if not currencies:
        return ['<p class="empty">No orders counted in the GMV.</p>']
    charts = []
    for currency in currencies:
        items = [(f.channel, float(f.gmv[currency]), f"{currency} {amount(f.gmv[currency])} ({f.gmv_orders[currency]} orders)") for f in report.by_channel if currency in f.gmv]
        charts.append(_bar_chart(f"gmv-{currency.lower()}", f"GMV per channel, {currency}", items, colour=GMV_COLOUR, tick_text=lambda v: f"{v:,.0f}"))
    return charts


def _rate_chart(report: MonthlyReport, chart_id: str, label: str, rate: Callable[[Figures], Rate]) -> str:
    items = [(f.channel, 100 * rate(f).value, percent(rate(f))) for f in report.by_channel if rate(f).value is not None]
    return f"<h3>{_html.escape(label)}</h3>" + _bar_chart(chart_id, label, items, colour=RATE_COLOURS[chart_id], tick_text=lambda v: f"{v:g}%", floor=10.0)


def _bar_chart(chart_id: str, label: str, items: Sequence[tuple[str, float, str]], *, colour: str, tick_text: Callable[[float], str], floor: float = 1.0) -> str:
    """Horizontal bars, one per ``(name, value, note)``, on ``tracking_report``'s axis."""
    if not items:
        return f'<p class="empty" id="{chart_id}-empty">Nothing to chart.</p>'
    e = _html.escape
    top = tracking_report.nice(max(value for _, value, _ in items), floor=floor)
    bars = []
    for i, (name, value, note) in enumerate(items):
        y = TOP + i * ROW_HEIGHT
        bars.append(
            f'<g class="bar" data-label="{e(name)}"><title>{e(name)}: {e(note)}</title>'
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 13}" text-anchor="end">{e(name)}</text>'
            f'<rect class="value" x="{LABEL_WIDTH}" y="{y}" width="{tracking_report.scale(value, top):.1f}" height="{BAR_HEIGHT}" fill="{colour}"/>'
            f'<text x="{LABEL_WIDTH + PLOT_WIDTH + 8}" y="{y + 13}">{e(note)}</text></g>'
        )
    return tracking_report.svg_chart(chart_id, label, items, bars, top, tick_text)


def _reason_table(report: MonthlyReport) -> str:
    e = _html.escape
    rows = "".join(f'<tr><td>{e(r)}</td><td class="n">{n}</td></tr>' for r, n in report.total.top_reasons(None))
    return f'<table id="reasons-table"><caption>Returns per reason</caption><tr><th>reason</th><th>returns</th></tr>{rows}</table>'


def _delivery_table(report: MonthlyReport) -> str:
    e = _html.escape
    rows = "".join(
        f'<tr><td>{e(c)}</td><td class="n">{t.count}</td><td class="n">{_days(t.median)}</td><td class="n">{_days(t.p90)}</td></tr>' for c, t in report.delivery.items()
    )
    return (
        '<table id="delivery-times"><caption>Delivery time per courier (days)</caption>'
        f"<tr><th>courier</th><th>delivered</th><th>median</th><th>p90</th></tr>{rows}</table>"
    )


# -- JSON --------------------------------------------------------------------------------------
def to_dict(report: MonthlyReport) -> dict[str, Any]:
    """The report as JSON values: amounts as decimal text (AOV to the cent), rates as
    ``{"count", "of", "rate"}`` with the unrounded fraction (None when ``of`` is 0)."""
    start, end = report.bounds
    return {
        "month": report.month,
        "account": report.account,
        "from": start.isoformat(),
        "until": end.isoformat(),
        "as_of": report.now.astimezone(timezone.utc).isoformat(),
        "accounts": [_figures(f) for f in report.by_account],
        "channels": [_figures(f) for f in report.by_channel],
        "total": _figures(report.total),
        "delivery_days": {c: {"delivered": t.count, "median": round(t.median, 2), "p90": round(t.p90, 2)} for c, t in report.delivery.items()},
    }


def _figures(f: Figures) -> dict[str, Any]:
    def rate(r: Rate) -> dict[str, Any]:
        return {"count": r.count, "of": r.of, "rate": r.value}

    def cents(value: Decimal) -> str:
        q = value.quantize(CENT, rounding=ROUND_HALF_UP)
        return str(q.quantize(Decimal(1)) if q == q.to_integral_value() else q)

    return {
        "account": f.account, "channel": f.channel, "orders": f.orders, "cancelled": f.cancelled, "shipped": f.shipped, "delivered": f.delivered,
        "gmv": {c: str(v) for c, v in sorted(f.gmv.items())}, "gmv_orders": dict(sorted(f.gmv_orders.items())),
        "aov": {c: cents(v) for c, v in f.aov.items()},
        "cancel_rate": rate(f.cancel_rate), "return_rate": rate(f.return_rate), "rts_rate": rate(f.rts_rate),
        "top_reasons": [{"reason": r, "returns": n} for r, n in f.top_reasons(None)],
        "refunds": {c: str(v) for c, v in sorted(f.refunds.items())},
        "cod_orders": f.cod_orders, "cod_share": rate(f.cod_share), "cod_refusal_rate": rate(f.cod_refusal_rate),
    }  # fmt: skip
