"""The tracking report (simpul.tracking_report): a golden of hand-checked facts.

Eighteen parcels are written the way a tracking run writes them (``parcels.apply_tracking``)
with a fixed clock. Their delivery times were chosen so every median and 90th percentile
below can be checked with pencil and paper (type 7: h = (n - 1) * q, interpolate between
x[floor(h)] and the next):

====================  =====================  ========  =======================
courier / service     days, sorted           median    p90
====================  =====================  ========  =======================
jne / REG             1, 2, 3, 4             2.5       h=2.7: 3 + 0.7 * 1 = 3.7
jne / YES             0.5                    0.5       0.5
jnt / EZ              1.5, 3.5               2.5       h=0.9: 1.5 + 0.9 * 2 = 3.3
sicepat / -           2, 2, 5                2.0       h=1.8: 2 + 0.8 * 3 = 4.4
jne (all services)    0.5, 1, 2, 3, 4        2.0       h=3.6: 3 + 0.6 * 1 = 3.6
====================  =====================  ========  =======================

Every delivered parcel also has a booking scan (``info_received``) six hours before its
pickup: counting from it would add 0.25 days to each number above.

RTS rate = back at the sender / (delivered + back at the sender): jne 0 of 5 (0.0%), jnt
1 of 3 (33.3%), sicepat 1 of 4 (25.0%; its parcel on the way back is not finished yet).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from connectors.contract import ParcelKey
from simpul import parcels, store, tracking_report
from simpul.canonical import ParcelTracking, TrackingEvent, TrackingStatus
from simpul.cli import main

UTC = timezone.utc
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
S = TrackingStatus

# (courier, service, airway bill, days from pickup to delivered)
DELIVERED = [
    ("jne", "REG", "JNE-R1", 1.0), ("jne", "REG", "JNE-R2", 2.0), ("jne", "REG", "JNE-R3", 3.0), ("jne", "REG", "JNE-R4", 4.0),
    ("jne", "YES", "JNE-Y1", 0.5),
    ("jnt", "EZ", "JNT-1", 1.5), ("jnt", "EZ", "JNT-2", 3.5),
    ("sicepat", None, "SCP-1", 2.0), ("sicepat", None, "SCP-2", 2.0), ("sicepat", None, "SCP-3", 5.0),
]  # fmt: skip


def tracking(courier: str, awb: str, scans: list[tuple[datetime, TrackingStatus, str]], *, service: str | None = None, sub: str | None = None) -> ParcelTracking:
    events = tuple(TrackingEvent("p", at, status, code, f"scan {code}", None) for at, status, code in scans)
    last = events[-1]
    return ParcelTracking(
        courier=courier, tracking_number=awb, status=last.status, sub_status=sub, raw_status=last.raw_code, last_event_at=last.occurred_at,
        delivered_at=last.occurred_at if last.status == S.DELIVERED else None, returning=sub in (parcels.RETURNING, parcels.RETURNED),
        service=service, cod_amount=None, events=events, payload_hash=f"h-{awb}",
    )  # fmt: skip


def seed(db, now: datetime = NOW) -> None:  # noqa: ANN001
    """The eighteen parcels of the module docstring, as of ``now``."""
    day = timedelta(days=1)
    written = []
    for i, (courier, service, awb, days) in enumerate(DELIVERED):
        pickup = now - (10 + i) * day
        written.append(tracking(courier, awb, [(pickup - timedelta(hours=6), S.INFO_RECEIVED, "BOOK"), (pickup, S.IN_TRANSIT, "PU"), (pickup + days * day, S.DELIVERED, "DL")], service=service))
    written += [
        tracking("jne", "JNE-MOVING", [(now - 2 * day, S.IN_TRANSIT, "PU"), (now - 1 * day, S.IN_TRANSIT, "HUB")]),
        tracking("jnt", "JNT-STUCK", [(now - 5 * day, S.IN_TRANSIT, "PU")]),
        tracking("jnt", "JNT-TROUBLE", [(now - 3 * day, S.IN_TRANSIT, "PU"), (now - 2 * day, S.ATTEMPT_FAIL, "FA")]),
        tracking("jnt", "JNT-BACK", [(now - 9 * day, S.IN_TRANSIT, "PU"), (now - 4 * day, S.EXCEPTION, "RT")], sub=parcels.RETURNED),
        tracking("sicepat", "SCP-BACK", [(now - 8 * day, S.IN_TRANSIT, "PU"), (now - 6 * day, S.EXCEPTION, "RT")], sub=parcels.RETURNED),
        tracking("sicepat", "SCP-RETURNING", [(now - 4 * day, S.IN_TRANSIT, "PU"), (now - 1 * day, S.EXCEPTION, "RTT")], sub=parcels.RETURNING),
    ]
    ctx = store.WriteContext(account_id="trk", channel="biteship", run_id=None, actor="test", now=now, mapping_version="test-1")
    with db.begin() as conn:
        parcels.register(conn, ParcelKey("jne", "JNE-NEW"), now=now)  # registered, never looked at
        parcels.register(conn, ParcelKey("jnt", "JNT-TYPO"), now=now)
        parcels.apply_tracking(conn, ctx, written, missing=[ParcelKey("jnt", "JNT-TYPO")])  # the courier does not know it


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
            self._bar = {"courier": a["data-courier"], "rects": {}, "title": ""}
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


@pytest.fixture
def seeded(db) -> Iterator[Any]:  # noqa: ANN001
    seed(db)
    yield db


def test_quantiles_interpolate_between_the_nearest_ranks() -> None:
    assert tracking_report.quantile([4, 1, 3, 2], 0.5) == 2.5
    assert tracking_report.quantile([1, 2, 3, 4], 0.9) == pytest.approx(3.7)
    assert tracking_report.quantile([7], 0.9) == 7
    with pytest.raises(ValueError):
        tracking_report.quantile([], 0.5)


def test_the_report_page_shows_the_hand_checked_numbers(seeded) -> None:  # noqa: ANN001
    with seeded.connect() as conn:
        report = tracking_report.build(conn, now=NOW)
    page = read(tracking_report.html(report))

    assert page.paragraphs["summary"] == (
        "As of 2026-11-30 12:00 UTC, 18 parcel(s): 10 delivered, 1 moving, 1 stuck, 1 trouble, 3 returning, 1 unknown, 1 not looked at."
    )
    assert page.tables["delivery-times"] == [
        ["courier", "service", "delivered", "median", "p90"],
        ["jne", "REG", "4", "2.5", "3.7"],
        ["jne", "YES", "1", "0.5", "0.5"],
        ["jnt", "EZ", "2", "2.5", "3.3"],
        ["sicepat", "-", "3", "2.0", "4.4"],
    ]
    assert page.tables["outcomes"] == [
        ["courier", "parcels", "delivered", "back at sender", "RTS rate", "returning", "stuck", "trouble"],
        ["jne", "7", "5", "0", "0.0%", "0", "0", "0"],
        ["jnt", "6", "2", "1", "33.3%", "0", "1", "1"],
        ["sicepat", "5", "3", "1", "25.0%", "1", "0", "0"],
    ]
    # One bar per courier, drawn to scale: the delivery axis ends at 5 days (p90 4.4 rounded
    # up), 420 px wide; the RTS axis at 50% (33.3% rounded up).
    delivery, rts = page.bars["delivery-days"], page.bars["rts-rate"]
    assert [b["courier"] for b in delivery] == [b["courier"] for b in rts] == ["jne", "jnt", "sicepat"]
    assert [b["title"] for b in delivery] == [
        "jne: median 2.0 d, p90 3.6 d (n=5)",
        "jnt: median 2.5 d, p90 3.3 d (n=2)",
        "sicepat: median 2.0 d, p90 4.4 d (n=3)",
    ]
    assert [b["rects"] for b in delivery] == [
        {"p90": 302.4, "median": 168.0},
        {"p90": 277.2, "median": 210.0},
        {"p90": 369.6, "median": 168.0},
    ]
    assert [b["title"] for b in rts] == ["jne: 0.0% (0 of 5)", "jnt: 33.3% (1 of 3)", "sicepat: 25.0% (1 of 4)"]
    assert [b["rects"]["rts"] for b in rts] == [0.0, 280.0, 210.0]
    assert not {"script", "link", "img", "iframe"} & set(page.tags)  # self-contained: nothing runs, nothing is fetched


def test_the_markdown_summary_has_the_same_numbers_and_links_nothing(seeded) -> None:  # noqa: ANN001
    with seeded.connect() as conn:
        text = tracking_report.markdown(tracking_report.build(conn, now=NOW))
    assert "| jne | REG | 4 | 2.5 | 3.7 |" in text
    assert "| sicepat | - | 3 | 2.0 | 4.4 |" in text
    assert "| jnt | 6 | 2 | 1 | 33.3% | 0 | 1 | 1 |" in text
    assert "18 parcel(s): 10 delivered, 1 moving, 1 stuck, 1 trouble, 3 returning, 1 unknown, 1 not looked at." in text
    assert "http" not in text and "](" not in text


def test_one_courier_only(seeded) -> None:  # noqa: ANN001
    with seeded.connect() as conn:
        report = tracking_report.build(conn, now=NOW, courier="jnt")
    assert list(report.by_courier) == ["jnt"] and report.parcels == 6
    assert report.by_courier["jnt"] == tracking_report.Times(2, 2.5, pytest.approx(3.3))


def test_parcels_that_need_a_person_come_newest_trouble_first(seeded) -> None:  # noqa: ANN001
    with seeded.connect() as conn:
        rows = tracking_report.attention_rows(parcels.listing(conn), now=NOW)
    assert [(r["attention"], r["tracking_number"], r["days_since_scan"]) for r in rows] == [
        ("returning", "SCP-RETURNING", 1.0),  # back to the sender: newest last scan first
        ("returned", "JNT-BACK", 4.0),
        ("returned", "SCP-BACK", 6.0),
        ("trouble", "JNT-TROUBLE", 2.0),
        ("stuck", "JNT-STUCK", 5.0),
        ("unknown", "JNT-TYPO", None),
    ]


def test_an_empty_hub_renders_a_page_without_charts(sqlite_db) -> None:  # noqa: ANN001
    with sqlite_db.connect() as conn:
        report = tracking_report.build(conn, now=NOW)
    page = read(tracking_report.html(report))
    assert page.bars == {} and page.tables["delivery-times"] == [["courier", "service", "delivered", "median", "p90"]]
    assert "No delivered parcel" in tracking_report.markdown(report)


def test_shipments_report_writes_the_page_and_says_where(cli_home: Path, capsys) -> None:  # noqa: ANN001
    from simpul.runtime import open_hub

    assert main(["keys", "init"]) == 0
    hub = open_hub(actor="test")
    try:
        seed(hub.db, now=hub.engine.clock())  # the command reads the wall clock; delivery times do not depend on it
    finally:
        hub.close()
    capsys.readouterr()
    target = cli_home / "out" / "report.html"
    target.parent.mkdir()

    assert main(["shipments", "--report", str(target)]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out == [f"report written to {target.resolve()}: 18 parcel(s), 10 with a delivery time, 3 courier(s)"]
    page = read(target.read_text(encoding="utf-8"))
    assert page.tables["delivery-times"][1] == ["jne", "REG", "4", "2.5", "3.7"]
    assert len(page.bars["delivery-days"]) == 3
