"""The append-only, hash-chained audit log and its verifier.

Each entry's ``hash`` is SHA-256 over its predecessor's hash and every one of its own
columns, exactly as stored. Changing, deleting or reordering any entry therefore breaks
the chain at that entry, and ``verify`` names the first broken ``seq``. The single-row
``audit_head`` table holds the newest ``(seq, hash)``: appenders lock it, so concurrent
writers still form one linear chain, and a cut-off tail no longer matches the head.

The table refuses UPDATE and DELETE (triggers, migration 0002). Someone who can drop the
triggers could still rebuild the whole chain and its head; an *anchor* (``anchor``) is a
checkpoint ``(seq, hash)`` signed with a hub key and kept outside the database, and
``verify_anchor`` shows that the chain still passes through it: a truncated tail or a
rebuilt chain no longer does, and a forged anchor fails its signature.

Summaries are small JSON objects of statuses, versions and counts. WARNING - never put
buyer names, phones, addresses or any secret in a summary.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from simpul.jsoncodec import dumps
from simpul.model import AuditEntry, AuditHead

GENESIS = "0" * 64
_log = AuditEntry.__table__
_head = AuditHead.__table__


@dataclass(frozen=True, slots=True)
class Event:
    """What to record; ``append`` adds sequence, time and the chain."""

    action: str
    actor: str
    summary: Mapping[str, Any]
    run_id: str | None = None
    account_id: str | None = None
    entity_type: str | None = None
    entity_key: str | None = None


def _digest(prev_hash: str, row: Mapping[str, Any]) -> str:
    fields = (
        str(row["seq"]),
        row["ts"],
        row["actor"],
        row["run_id"] or "",
        row["action"],
        row["account_id"] or "",
        row["entity_type"] or "",
        row["entity_key"] or "",
        row["summary"],
    )
    h = hashlib.sha256(prev_hash.encode())
    for value in fields:
        h.update(b"\x1f")
        h.update(value.encode())
    return h.hexdigest()


def _now_text(now: datetime | None) -> str:
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="microseconds")


def append(conn: Connection, events: Sequence[Event], *, now: datetime | None = None) -> int:
    """Chain ``events`` onto the log inside the caller's transaction; returns the new head seq."""
    if not events:
        return -1
    lock = sa.select(_head.c.seq, _head.c.hash).where(_head.c.id == 1)
    if conn.dialect.name == "postgresql":
        lock = lock.with_for_update()
    seq, prev = conn.execute(lock).one()
    ts = _now_text(now)
    rows = []
    for event in events:
        seq += 1
        row = {
            "seq": seq,
            "ts": ts,
            "actor": event.actor,
            "run_id": event.run_id,
            "action": event.action,
            "account_id": event.account_id,
            "entity_type": event.entity_type,
            "entity_key": event.entity_key,
            "summary": dumps(event.summary, canonical=True),
        }
        row["prev_hash"] = prev
        row["hash"] = prev = _digest(prev, row)
        rows.append(row)
    conn.execute(sa.insert(_log), rows)
    conn.execute(sa.update(_head).where(_head.c.id == 1).values(seq=seq, hash=prev))
    return seq


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    entries: int
    first_broken_seq: int | None = None
    problem: str | None = None
    anchor_seq: int | None = None  # set when the chain was checked against an anchor

    def __str__(self) -> str:
        if self.ok:
            through = f", passes through the anchor at seq {self.anchor_seq}" if self.anchor_seq is not None else ""
            return f"audit log OK: {self.entries} entries, chain intact{through}"
        if self.first_broken_seq is None:
            return f"audit log check FAILED: {self.problem}"
        return f"audit log BROKEN at seq {self.first_broken_seq}: {self.problem}"


def verify(conn: Connection, *, batch: int = 5000) -> Verdict:
    """Walk the chain from genesis; report the first entry that does not fit."""
    prev, expected_seq, count = GENESIS, 1, 0
    last_seq = 0
    offset_seq = 0
    while True:
        rows = conn.execute(
            sa.select(_log).where(_log.c.seq > offset_seq).order_by(_log.c.seq).limit(batch)
        ).mappings().all()
        if not rows:
            break
        for row in rows:
            if row["seq"] != expected_seq:
                return Verdict(False, count, expected_seq, f"entry {expected_seq} is missing (next is {row['seq']})")
            if row["prev_hash"] != prev:
                return Verdict(False, count, row["seq"], "does not link to the entry before it")
            if _digest(prev, row) != row["hash"]:
                return Verdict(False, count, row["seq"], "content does not match its hash (edited)")
            prev, last_seq = row["hash"], row["seq"]
            expected_seq += 1
            count += 1
        offset_seq = last_seq
    head_seq, head_hash = conn.execute(sa.select(_head.c.seq, _head.c.hash).where(_head.c.id == 1)).one()
    if head_seq != last_seq or head_hash != prev:
        return Verdict(False, count, last_seq + 1, f"the log ends at seq {last_seq} but its head says {head_seq} (entries removed from the end)")
    return Verdict(True, count)


def entries(conn: Connection, *, run_id: str | None = None, action_prefix: str | None = None) -> Iterable[Mapping[str, Any]]:
    query = sa.select(_log).order_by(_log.c.seq)
    if run_id is not None:
        query = query.where(_log.c.run_id == run_id)
    if action_prefix is not None:
        query = query.where(_log.c.action.startswith(action_prefix))
    return conn.execute(query).mappings().all()


# -- anchors ------------------------------------------------------------------------------
ANCHOR_FORMAT = "simpul-audit-anchor/1"


def _anchor_mac(key: bytes, seq: int, head_hash: str, ts: str) -> str:
    message = f"{ANCHOR_FORMAT}|{seq}|{head_hash}|{ts}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def anchor(conn: Connection, key: bytes, *, now: datetime | None = None) -> dict[str, Any]:
    """A signed checkpoint of the current head, to be stored outside the database."""
    seq, head_hash = conn.execute(sa.select(_head.c.seq, _head.c.hash).where(_head.c.id == 1)).one()
    ts = _now_text(now)
    return {"format": ANCHOR_FORMAT, "seq": seq, "hash": head_hash, "ts": ts, "mac": _anchor_mac(key, seq, head_hash, ts)}


def verify_anchor(conn: Connection, key: bytes, checkpoint: Mapping[str, Any]) -> Verdict:
    """The chain verifies *and* still passes through the signed checkpoint."""
    try:
        seq, head_hash, ts, mac = int(checkpoint["seq"]), str(checkpoint["hash"]), str(checkpoint["ts"]), str(checkpoint["mac"])
        if checkpoint.get("format") != ANCHOR_FORMAT:
            raise ValueError(checkpoint.get("format"))
    except (KeyError, TypeError, ValueError):
        return Verdict(False, 0, None, f"the anchor is not a {ANCHOR_FORMAT} file")
    if not hmac.compare_digest(mac, _anchor_mac(key, seq, head_hash, ts)):
        return Verdict(False, 0, None, "the anchor's signature does not match (forged, edited, or signed by another hub)")
    verdict = verify(conn)
    if not verdict.ok:
        return verdict
    if seq == 0:
        return Verdict(True, verdict.entries, anchor_seq=0)
    row = conn.execute(sa.select(_log.c.hash).where(_log.c.seq == seq)).scalar_one_or_none()
    if row is None:
        return Verdict(False, verdict.entries, verdict.entries + 1, f"the log ends at seq {verdict.entries} but the anchor of {ts} covers seq {seq} (entries removed from the end)")
    if row != head_hash:
        return Verdict(False, verdict.entries, seq, f"entry {seq} differs from the anchor of {ts} (the chain was rebuilt)")
    return Verdict(True, verdict.entries, anchor_seq=seq)
