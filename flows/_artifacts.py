"""What a run shows ops: progress, a summary table and a report.

The table has the key columns only (``KEY_COLUMNS``: account, status, new, changed,
quarantined, seconds, error), so it fits a 1,400 px screen without scrolling; everything
else (channel, unchanged, stale, pages, requests, order numbers the channel did not
know) is in the markdown report. Rows come failing accounts first, then the slowest,
then accounts that were skipped, so what needs attention is at the top even for a
thousand accounts.

Artifact keys must match ``^[a-z0-9-]*$`` or Prefect refuses them, so every id is
slugified. Keys are ``<kind>-<what>-<account>`` with fixed words before the account id,
so no two kinds of artifact can share a key whatever the account is called. Only ids,
counts and redacted error texts go in: never a payload, buyer data or a credential.

Tracking runs (``track-shipments``) publish the same run summary under ``track-`` keys,
and two artifacts about the parcels themselves: ``shipments-attention`` (the parcels
that need a person, ``attention``) and ``shipments-report`` (delivery times and
returns, ``simpul.tracking_report.markdown``). A parcel's last message is the only
channel text in them, as the mapping stored it (receiver names the reply gave are
masked there); nothing about the buyer is added.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from prefect.artifacts import create_markdown_artifact, create_progress_artifact, create_table_artifact, update_progress_artifact

from simpul import markdown, store, tracking_report
from simpul.engine import RESYNC, TRACK

KEY_PATTERN = re.compile(r"^[a-z0-9-]*$")
KEY_COLUMNS = ("account", "status", "new", "changed", "quarantined", "seconds", "error")
MISSING_SHOWN = 20
LISTED = 10  # slowest accounts named in a report; every failing account is named
EVERY_ACCOUNT_UP_TO = 50  # a report lists each account when there are at most this many
STATUS_ORDER = {"failed": 0, "completed": 1, "skipped": 2}

Row = Mapping[str, Any]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def key(job: str, what: str, account: str | None = None) -> str:
    kind = {RESYNC: "resync", TRACK: "track"}.get(job, "sync")
    return "-".join(slug(p) for p in (kind, what, account) if p)


class Progress:
    """A progress artifact, updated at most ``steps`` times however much work there is."""

    def __init__(self, artifact_key: str, description: str, *, total: int = 1, steps: int = 20) -> None:
        self.id: UUID = create_progress_artifact(0.0, key=artifact_key, description=description)
        self.total = max(1, total)
        self.every = max(1, self.total // steps)
        self.done = 0
        self._lock = threading.Lock()

    def update(self, fraction: float) -> None:
        update_progress_artifact(self.id, round(100.0 * fraction, 1))

    def advance(self) -> None:
        """One unit of ``total`` done (called from any thread)."""
        with self._lock:
            self.done += 1
            due = self.done % self.every == 0 or self.done == self.total
            fraction = self.done / self.total
        if due:
            self.update(fraction)


def ordered(rows: Sequence[Row]) -> list[Row]:
    """Failing accounts first, then the slowest first, skipped accounts last."""
    return sorted(rows, key=lambda r: (STATUS_ORDER.get(r["status"], 0), -float(r.get("seconds") or 0.0), r["account"]))


def key_row(row: Row) -> dict[str, Any]:
    return {c: row.get(c, "") if c != "error" else (row.get("error") or "") for c in KEY_COLUMNS}


def publish(summary_key: str, report_key: str, title: str, rows: Sequence[Row], *, notes: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The summary table (key columns, ordered) and the report; returns the table's rows."""
    table = [key_row(r) for r in ordered(rows)]
    create_table_artifact(table, key=summary_key, description=title)
    create_markdown_artifact(report(title, rows, notes=notes), key=report_key, description=title)
    return table


def report(title: str, rows: Sequence[Row], *, notes: Sequence[str] = ()) -> str:
    rows = ordered(rows)
    by_status = {s: [r for r in rows if r["status"] == s] for s in ("failed", "completed", "skipped")}
    total = {c: sum(int(r.get(c) or 0) for r in rows) for c in ("new", "changed", "quarantined")}
    lines = [f"### {title}", ""]
    lines.append(
        f"{len(rows)} account(s): {len(by_status['completed'])} completed, {len(by_status['failed'])} failed, {len(by_status['skipped'])} skipped; "
        f"{total['new']} new, {total['changed']} changed, {total['quarantined']} quarantined."
    )
    lines.append("")
    if len(rows) <= EVERY_ACCOUNT_UP_TO:
        lines += [_line(r) for r in rows]
    else:
        if by_status["failed"]:
            lines.append("**Failed**")
            lines += [_line(r) for r in by_status["failed"]]
            lines.append("")
        slowest = by_status["completed"][:LISTED]
        if slowest:
            lines.append(f"**Slowest {len(slowest)}**")
            lines += [_line(r) for r in slowest]
            lines.append("")
        reasons: dict[str, list[str]] = {}
        for r in by_status["skipped"]:
            reasons.setdefault(str(r.get("error") or "no reason"), []).append(r["account"])
        if reasons:
            lines.append("**Skipped**")
            for reason, accounts in sorted(reasons.items(), key=lambda kv: -len(kv[1])):
                more = f" and {len(accounts) - MISSING_SHOWN} more" if len(accounts) > MISSING_SHOWN else ""
                lines.append(f"- {reason}: {', '.join(accounts[:MISSING_SHOWN])}{more}")
    lines.append("")
    lines += list(notes)
    if by_status["failed"]:
        lines.append("A failed account resumes from its last committed page on the next run.")
    if total["quarantined"]:
        lines.append("Quarantined payloads: `simpul quarantine list`; after fixing the mapping, `simpul quarantine replay`.")
    return "\n".join(lines).rstrip() + "\n"


def _line(r: Row) -> str:
    counts = f"{r.get('new', 0)} new, {r.get('changed', 0)} changed"
    if "unchanged" in r:
        counts += f", {r['unchanged']} unchanged, {r.get('stale', 0)} stale"
    counts += f", {r.get('quarantined', 0)} quarantined"
    for side in store.SIDE_STREAMS:
        if r.get(side) or r.get(f"{side}_quarantined"):
            counts += f"; {side}: {r.get(side, 0)} written, {r.get(f'{side}_quarantined', 0)} quarantined"
    if "pages" in r:
        counts += f" ({r['pages']} pages, {r.get('requests', 0)} requests)"
    channel = f" ({r['channel'] or '?'})" if "channel" in r else ""
    if r["status"] == "completed":
        text = f"completed in {float(r.get('seconds') or 0):.1f} s: {counts}"
    else:
        text = f"{r['status']}: {r.get('error') or ''}" + (f"; before that: {counts}" if r.get("pages") else "")
    line = f"- **{r['account']}**{channel} {text}"
    missing = list(r.get("missing") or ())
    if missing:
        more = f" and {len(missing) - MISSING_SHOWN} more" if len(missing) > MISSING_SHOWN else ""
        line += f"\n  - not found at the channel: {', '.join(missing[:MISSING_SHOWN])}{more}"
    return line


# -- parcels that need a person (track-shipments) --------------------------------------------
ATTENTION_KEY = "shipments-attention"
SHIPMENTS_REPORT_KEY = "shipments-report"
ATTENTION_SHOWN = 200  # rows in the artifact; the rest: `simpul shipments --attention`
MESSAGE_CHARS = 140


def attention(rows: Sequence[Row], tally: Mapping[str, int], *, now: Any) -> str:
    """The ``shipments-attention`` markdown: the tally line, then the parcels that need a
    person (``tracking_report.attention_rows``: back to the sender, trouble, stuck,
    unknown; newest first within each) with order number, courier, airway bill, days
    since the last scan and the last message."""
    listed = tracking_report.attention_rows(rows, now=now)
    lines = [
        "### Parcels that need a person",
        "",
        f"{sum(tally.values())} parcel(s): {tracking_report.tally_line(tally)}.",
        "",
    ]
    if not listed:
        lines.append("Nothing needs a person.")
        return "\n".join(lines) + "\n"
    lines += ["| needs | order | courier | airway bill | days since last scan | last message |", "| --- | --- | --- | --- | ---: | --- |"]
    for r in listed[:ATTENTION_SHOWN]:
        days = "never scanned" if r["days_since_scan"] is None else f"{r['days_since_scan']:.1f}"
        cells = (r["attention"], markdown.cell(r["order"]) or "-", markdown.cell(r["courier"]), markdown.cell(r["tracking_number"]), days, markdown.cell(_short(r["last_message"])))
        lines.append("| " + " | ".join(cells) + " |")
    if len(listed) > ATTENTION_SHOWN:
        lines += ["", f"And {len(listed) - ATTENTION_SHOWN} more: `simpul shipments --attention`."]
    return "\n".join(lines) + "\n"


def publish_shipments(rows: Sequence[Row], report: tracking_report.Report) -> None:
    """The two parcel artifacts of a tracking run."""
    create_markdown_artifact(attention(rows, report.tally, now=report.now), key=ATTENTION_KEY, description="track-shipments: parcels that need a person")
    create_markdown_artifact(tracking_report.markdown(report), key=SHIPMENTS_REPORT_KEY, description="track-shipments: delivery times and returns per courier")


def _short(text: str) -> str:
    text = markdown.one_line(text)
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1].rstrip() + "\u2026"


