"""How the couriers are doing, from the parcels Simpul stored: delivery times, returns, trouble.

Everything here reads what tracking runs stored (``simpul.parcels.listing`` and the
``parcel_event`` scans) and asks no channel. Two audiences:

- ``attention_rows``: the parcels that need a person, in the order a person should look
  at them (the ``shipments-attention`` artifact and ``simpul shipments --attention``);
- ``build`` -> ``Report``: delivery time per courier and service (median and 90th
  percentile, in days, with counts), the return-to-sender (RTS) rate per courier, and
  stuck and trouble counts; rendered as a self-contained HTML page with two inline SVG
  bar charts (``html``: no script, no stylesheet or font from the network, nothing to
  install) and as markdown for a Prefect artifact (``markdown``: text only, no link).

Definitions (the numbers a seller will quote, so they are written down):

- **Shipped** is the parcel's first scan that shows the courier has it: the earliest
  stored scan whose tag is neither ``pending`` nor ``info_received``. Aggregators report
  booking steps first (Biteship: confirmed, allocated, picking up, all
  ``info_received``), sometimes hours before the pickup; counting from them would charge
  the seller's packing time to the courier. **Delivered** is the parcel's
  ``delivered_at``. Delivery time = delivered - shipped, in days; only delivered parcels
  with both times count.
- **Median and 90th percentile** interpolate linearly between the two nearest ranks
  (Hyndman & Fan type 7, what spreadsheets' PERCENTILE and numpy's default give): for
  sorted times x[0..n-1], the q-quantile is x[h] interpolated at h = (n - 1) * q. One
  parcel gives its own time for both.
- **RTS rate** = parcels back at the sender / parcels finished, where finished means
  delivered or back at the sender. Parcels still on their way back are counted as
  ``returning``, not in the rate yet; cancelled, disposed and expired parcels are in
  neither (they say nothing about delivering).
- **Stuck / trouble** are ``simpul.parcels.attention``'s verdicts as of ``now``.

No buyer data: the listing carries none, and the scans' messages are never shown here
(only ``attention_rows`` passes a parcel's last message on, as the mapping stored it:
names the courier's reply gave are masked there; nothing here adds one).
"""

from __future__ import annotations

import html as _html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from simpul import parcels
from simpul.canonical import TrackingStatus
from simpul.model import Parcel, ParcelEvent

DAY_SECONDS = 86400.0
NOT_SHIPPED_YET = (TrackingStatus.PENDING, TrackingStatus.INFO_RECEIVED)
NO_SERVICE = "-"  # couriers whose tracking names no service (Biteship's public tracking)

# -- what needs a person ---------------------------------------------------------------------
# Back to the sender first (it costs the most, and the buyer is already gone), then delivery
# trouble (a call to the buyer may still save it), then stuck, then airway bills the courier
# does not know (often a typo, or a booking not handed over yet).
ATTENTION_GROUP = {"returned": 0, "returning": 0, "trouble": 1, "stuck": 2, "unknown": 3}


def attention_rows(rows: Iterable[Mapping[str, Any]], *, now: datetime) -> list[dict[str, Any]]:
    """The parcels of ``rows`` (``parcels.listing``) that need a person, newest trouble
    first: by group (returned or returning, trouble, stuck, unknown), then the newest
    last scan first (a parcel never scanned: when it was registered), then airway bill.

    Each row: ``attention``, ``account``, ``order``, ``courier``, ``tracking_number``,
    ``days_since_scan`` (None: never scanned) and ``last_message`` (as stored)."""
    out = []
    for row in rows:
        why = parcels.attention(row, now=now)
        if why is None:
            continue
        last = _utc(row["last_event_at"])
        out.append(
            {
                "attention": why,
                "account": row["account_id"] or "",
                "order": row["order_external_id"] or "",
                "courier": row["courier"],
                "tracking_number": row["tracking_number"],
                "days_since_scan": None if last is None else round((now - last).total_seconds() / DAY_SECONDS, 1),
                "last_message": row["last_message"] or "",
                "_since": last or _utc(row["created_at"]) or datetime.min.replace(tzinfo=timezone.utc),
            }
        )
    out.sort(key=lambda r: r["tracking_number"])
    out.sort(key=lambda r: r["_since"], reverse=True)
    out.sort(key=lambda r: ATTENTION_GROUP[r["attention"]])
    for r in out:
        del r["_since"]
    return out


# -- the report ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Times:
    """Delivery times of one courier (and service), in days."""

    count: int
    median: float
    p90: float


@dataclass(slots=True)
class CourierOutcome:
    parcels: int = 0
    delivered: int = 0
    returned: int = 0  # back at the sender
    returning: int = 0  # on its way back
    stuck: int = 0
    trouble: int = 0

    @property
    def finished(self) -> int:
        return self.delivered + self.returned

    @property
    def rts_rate(self) -> float | None:
        return self.returned / self.finished if self.finished else None


@dataclass(slots=True)
class Report:
    now: datetime
    tally: dict[str, int]
    by_service: dict[tuple[str, str], Times] = field(default_factory=dict)  # (courier, service) -> times
    by_courier: dict[str, Times] = field(default_factory=dict)
    outcomes: dict[str, CourierOutcome] = field(default_factory=dict)

    @property
    def parcels(self) -> int:
        return sum(self.tally.values())


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q``-quantile of ``values``, interpolated between the nearest ranks (type 7)."""
    if not values:
        raise ValueError("no values")
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


def times_of(days: Sequence[float]) -> Times:
    return Times(len(days), quantile(days, 0.5), quantile(days, 0.9))


def build(conn: Connection, *, now: datetime, courier: str | None = None) -> Report:
    """The report as of ``now`` over every stored parcel (or one courier's)."""
    rows = parcels.listing(conn, courier=courier)
    shipped = first_handover(conn, courier=courier)
    report = Report(now=now, tally=parcels.tally(rows, now=now))
    service_days: dict[tuple[str, str], list[float]] = {}
    courier_days: dict[str, list[float]] = {}
    for row in rows:
        name = row["courier"]
        outcome = report.outcomes.setdefault(name, CourierOutcome())
        outcome.parcels += 1
        why = parcels.attention(row, now=now)
        if why == "returned":
            outcome.returned += 1
        elif why == "returning":
            outcome.returning += 1
        elif why in ("stuck", "trouble"):
            setattr(outcome, why, getattr(outcome, why) + 1)
        if TrackingStatus(getattr(row["status"], "value", row["status"])) != TrackingStatus.DELIVERED or why is not None:
            continue
        outcome.delivered += 1
        start, end = shipped.get((name, row["tracking_number"])), _utc(row["delivered_at"])
        if start is None or end is None:
            continue
        days = max(0.0, (end - start).total_seconds() / DAY_SECONDS)
        service_days.setdefault((name, row["service"] or NO_SERVICE), []).append(days)
        courier_days.setdefault(name, []).append(days)
    report.by_service = {k: times_of(v) for k, v in sorted(service_days.items())}
    report.by_courier = {k: times_of(v) for k, v in sorted(courier_days.items())}
    report.outcomes = dict(sorted(report.outcomes.items()))
    return report


def first_handover(conn: Connection, *, courier: str | None = None) -> dict[tuple[str, str], datetime]:
    """(courier, airway bill) -> the first scan showing the courier has the parcel."""
    p, e = Parcel.__table__, ParcelEvent.__table__
    query = (
        sa.select(p.c.courier, p.c.tracking_number, sa.func.min(e.c.occurred_at))
        .join(e, e.c.parcel_id == p.c.id)
        .where(e.c.status.not_in(list(NOT_SHIPPED_YET)))
        .group_by(p.c.courier, p.c.tracking_number)
    )
    if courier:
        query = query.where(p.c.courier == courier)
    out = {}
    for name, number, at in conn.execute(query):
        when = _utc(at if isinstance(at, datetime) else datetime.fromisoformat(str(at)))
        if when is not None:
            out[(name, number)] = when
    return out


def tally_line(tally: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in tally.items())


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _days(value: float) -> str:
    return f"{value:.1f}"


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f}%"


# -- markdown (the Prefect artifact) -------------------------------------------------------
def markdown(report: Report) -> str:
    """The report as markdown: text and tables only, nothing linked."""
    lines = [
        "### Delivery times and returns",
        "",
        f"As of {report.now.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC, {report.parcels} parcel(s): {tally_line(report.tally)}.",
        "",
    ]
    if report.by_service:
        lines += ["Delivery time in days, first courier scan to delivered:", "", "| courier | service | delivered | median | p90 |", "| --- | --- | ---: | ---: | ---: |"]
        lines += [f"| {c} | {s} | {t.count} | {_days(t.median)} | {_days(t.p90)} |" for (c, s), t in report.by_service.items()]
        lines.append("")
    else:
        lines += ["No delivered parcel with a first scan yet: no delivery times.", ""]
    if report.outcomes:
        lines += ["| courier | parcels | delivered | back at sender | RTS rate | returning | stuck | trouble |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        lines += [
            f"| {c} | {o.parcels} | {o.delivered} | {o.returned} | {_percent(o.rts_rate)} | {o.returning} | {o.stuck} | {o.trouble} |"
            for c, o in report.outcomes.items()
        ]
        lines.append("")
    lines.append("RTS rate: back at the sender / (delivered + back at the sender). Charts: `simpul shipments --report FILE` writes this report as an HTML page.")
    return "\n".join(lines) + "\n"


# -- HTML with inline SVG (the file the CLI writes) ----------------------------------------
BAR_HEIGHT = 18
ROW_HEIGHT = 30
LABEL_WIDTH = 110
PLOT_WIDTH = 420
NOTE_WIDTH = 230
TOP = 24
MEDIAN_COLOUR = "#1f5fa8"
P90_COLOUR = "#9cc3ea"
RTS_COLOUR = "#c0392b"


def html(report: Report, *, title: str = "Simpul: delivery times and returns") -> str:
    """A self-contained page: summary, two bar charts, the tables behind them."""
    e = _html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
        "th,td{border:1px solid #ccc;padding:4px 10px}td.n{text-align:right}caption{text-align:left;font-weight:bold;padding:4px 0}"
        "svg text{font-size:12px;font-family:system-ui,sans-serif}</style>",
        "</head><body>",
        f"<h1>{e(title)}</h1>",
        f'<p id="summary">As of {report.now.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC, {report.parcels} parcel(s): {e(tally_line(report.tally))}.</p>',
        "<h2>Delivery time per courier (days)</h2>",
        "<p>Dark: median; light: 90th percentile. From the first scan showing the courier has the parcel to delivered.</p>",
        delivery_chart(report),
        "<h2>Return to sender per courier</h2>",
        "<p>Parcels back at the sender, of those finished (delivered or back at the sender).</p>",
        rts_chart(report),
        _service_table(report),
        _outcome_table(report),
        "<p>Median and 90th percentile interpolate between the nearest ranks. Stuck and trouble as of the time above.</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def delivery_chart(report: Report) -> str:
    """Horizontal bars, one per courier: the median drawn over its 90th percentile."""
    rows = list(report.by_courier.items())
    if not rows:
        return '<p class="empty">No delivered parcels yet.</p>'
    top = nice(max(t.p90 for _, t in rows))
    bars = []
    for i, (courier, t) in enumerate(rows):
        y = TOP + i * ROW_HEIGHT
        label = f"median {_days(t.median)} d, p90 {_days(t.p90)} d (n={t.count})"
        bars.append(
            f'<g class="bar" data-courier="{_html.escape(courier)}"><title>{_html.escape(courier)}: {label}</title>'
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 13}" text-anchor="end">{_html.escape(courier)}</text>'
            f'<rect class="p90" x="{LABEL_WIDTH}" y="{y}" width="{scale(t.p90, top):.1f}" height="{BAR_HEIGHT}" fill="{P90_COLOUR}"/>'
            f'<rect class="median" x="{LABEL_WIDTH}" y="{y}" width="{scale(t.median, top):.1f}" height="{BAR_HEIGHT}" fill="{MEDIAN_COLOUR}"/>'
            f'<text x="{LABEL_WIDTH + PLOT_WIDTH + 8}" y="{y + 13}">{label}</text></g>'
        )
    return svg_chart("delivery-days", "Delivery days per courier: median and 90th percentile", rows, bars, top, lambda v: f"{v:g} d")


def rts_chart(report: Report) -> str:
    """Horizontal bars, one per courier with finished parcels: its RTS rate."""
    rows = [(c, o) for c, o in report.outcomes.items() if o.finished]
    if not rows:
        return '<p class="empty">No finished parcels yet.</p>'
    top = nice(max(o.rts_rate or 0.0 for _, o in rows) * 100, floor=10.0)
    bars = []
    for i, (courier, o) in enumerate(rows):
        y = TOP + i * ROW_HEIGHT
        label = f"{_percent(o.rts_rate)} ({o.returned} of {o.finished})"
        bars.append(
            f'<g class="bar" data-courier="{_html.escape(courier)}"><title>{_html.escape(courier)}: {label}</title>'
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 13}" text-anchor="end">{_html.escape(courier)}</text>'
            f'<rect class="rts" x="{LABEL_WIDTH}" y="{y}" width="{scale(100 * (o.rts_rate or 0.0), top):.1f}" height="{BAR_HEIGHT}" fill="{RTS_COLOUR}"/>'
            f'<text x="{LABEL_WIDTH + PLOT_WIDTH + 8}" y="{y + 13}">{label}</text></g>'
        )
    return svg_chart("rts-rate", "Return-to-sender rate per courier", rows, bars, top, lambda v: f"{v:g}%")


def svg_chart(chart_id: str, label: str, rows: Sequence[Any], bars: Sequence[str], top: float, tick_text: Any) -> str:
    """An inline SVG of ``bars`` (one ``<g>`` per row, drawn at ``TOP + i * ROW_HEIGHT``)
    under a five-tick axis from 0 to ``top``, each tick labelled ``tick_text(value)``.
    Shared with ``simpul.monthly_report``."""
    height = TOP + len(rows) * ROW_HEIGHT + 6
    width = LABEL_WIDTH + PLOT_WIDTH + NOTE_WIDTH
    ticks = []
    for k in range(5):
        value = top * k / 4
        x = LABEL_WIDTH + PLOT_WIDTH * k / 4
        ticks.append(
            f'<line x1="{x:.1f}" y1="{TOP - 4}" x2="{x:.1f}" y2="{height - 4}" stroke="#ddd"/>'
            f'<text x="{x:.1f}" y="{TOP - 8}" text-anchor="middle" fill="#666">{tick_text(round(value, 2))}</text>'
        )
    return (
        f'<svg id="{chart_id}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{_html.escape(label)}">'
        + "".join(ticks)
        + "".join(bars)
        + "</svg>"
    )


def scale(value: float, top: float) -> float:
    """The length of a bar of ``value`` on an axis ending at ``top``, in pixels."""
    return PLOT_WIDTH * value / top if top > 0 else 0.0


def nice(value: float, *, floor: float = 1.0) -> float:
    """The axis end: ``value`` rounded up to 1, 2 or 5 times a power of ten (at least ``floor``)."""
    value = max(value, floor)
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power + 1e-9:
            return float(step * power)
    return float(10 * power)


def _service_table(report: Report) -> str:
    e = _html.escape
    rows = "".join(
        f'<tr data-courier="{e(c)}" data-service="{e(s)}"><td>{e(c)}</td><td>{e(s)}</td><td class="n">{t.count}</td><td class="n">{_days(t.median)}</td><td class="n">{_days(t.p90)}</td></tr>'
        for (c, s), t in report.by_service.items()
    )
    return (
        '<table id="delivery-times"><caption>Delivery time per courier and service (days)</caption>'
        "<tr><th>courier</th><th>service</th><th>delivered</th><th>median</th><th>p90</th></tr>" + rows + "</table>"
    )


def _outcome_table(report: Report) -> str:
    e = _html.escape
    rows = "".join(
        f'<tr data-courier="{e(c)}"><td>{e(c)}</td><td class="n">{o.parcels}</td><td class="n">{o.delivered}</td><td class="n">{o.returned}</td>'
        f'<td class="n">{_percent(o.rts_rate)}</td><td class="n">{o.returning}</td><td class="n">{o.stuck}</td><td class="n">{o.trouble}</td></tr>'
        for c, o in report.outcomes.items()
    )
    return (
        '<table id="outcomes"><caption>Outcomes per courier</caption>'
        "<tr><th>courier</th><th>parcels</th><th>delivered</th><th>back at sender</th><th>RTS rate</th><th>returning</th><th>stuck</th><th>trouble</th></tr>"
        + rows
        + "</table>"
    )
