"""What a run shows ops: a progress bar per account, a summary table and a short report.

Artifact keys must match ``^[a-z0-9-]*$`` or Prefect refuses them, so every id is
slugified. Keys are ``<kind>-<what>-<account>`` with fixed words before the account id,
so no two kinds of artifact can share a key whatever the account is called. Only ids,
counts and redacted error texts go in: never a payload, buyer data or a credential.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from uuid import UUID

from prefect.artifacts import create_markdown_artifact, create_progress_artifact, create_table_artifact, update_progress_artifact

from simpul.engine import RESYNC, RunSummary

KEY_PATTERN = re.compile(r"^[a-z0-9-]*$")
MISSING_SHOWN = 20


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def key(job: str, what: str, account: str | None = None) -> str:
    kind = "resync" if job == RESYNC else "sync"
    return "-".join(slug(p) for p in (kind, what, account) if p)


class Progress:
    """One progress artifact per account and run, updated once per batch of pages."""

    def __init__(self, job: str, account: str) -> None:
        self.id: UUID = create_progress_artifact(0.0, key=key(job, "progress", account), description=f"{job} of {account}")

    def update(self, fraction: float) -> None:
        update_progress_artifact(self.id, round(100.0 * fraction, 1))


def publish(summary_key: str, report_key: str, title: str, summaries: Sequence[RunSummary]) -> None:
    create_table_artifact([s.as_row() for s in summaries], key=summary_key, description=title)
    create_markdown_artifact(report(title, summaries), key=report_key, description=title)


def report(title: str, summaries: Sequence[RunSummary]) -> str:
    lines = [f"### {title}", ""]
    for s in summaries:
        c = s.counts
        counts = f"{c.new} new, {c.changed} changed, {c.unchanged} unchanged, {c.stale} stale, {c.quarantined} quarantined ({s.pages} pages, {s.requests} requests)"
        if s.status == "completed":
            text = f"completed in {s.seconds:.1f} s: {counts}"
        else:
            text = f"{s.status}: {s.error}" + (f"; before that: {counts}" if s.pages else "")
        lines.append(f"- **{s.account_id}** ({s.channel or '?'}) {text}")
        if s.missing:
            more = f" and {len(s.missing) - MISSING_SHOWN} more" if len(s.missing) > MISSING_SHOWN else ""
            lines.append(f"  - not found at the channel: {', '.join(s.missing[:MISSING_SHOWN])}{more}")
    lines.append("")
    if any(s.status == "failed" for s in summaries):
        lines.append("A failed account resumes from its last committed page on the next run.")
    if any(s.counts.quarantined for s in summaries):
        lines.append("Quarantined payloads: `simpul quarantine list`; after fixing the mapping, `simpul quarantine replay`.")
    return "\n".join(lines).rstrip() + "\n"
