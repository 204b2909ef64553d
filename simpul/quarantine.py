"""Replay quarantined payloads through the current mapping.

A payload lands in quarantine when its mapping refused it; once the mapping is fixed (or
the refusal was a transient oddity), ``replay`` maps the stored (scrubbed) payload again.
A payload that maps now (and fits the canonical model and both databases: the same
boundary check as a sync, ``simpul.limits``) is written through the same version-guarded
store path as a sync, under its original content hash, and its quarantine row is
resolved. One that still fails keeps its row with the new reason and one more attempt.
An order whose reply could not even be parsed has no payload to map: replay leaves it
(the next sync asks the channel again, and resolves it once the order maps).

Each payload is replayed through the mapping of the stream that refused it (orders,
returns, settlements: ``simpul.engine.WINDOW_STREAMS``); a tracking reply is not replayed (the next look asks
the courier again).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from connectors.contract import limits_of
from simpul import audit, store
from simpul.canonical import MappingError
from simpul.channels import UnknownChannel, get_channel
from simpul.db import Database
from simpul.engine import WINDOW_STREAMS
from simpul.failures import cap
from simpul.jsoncodec import loads
from simpul.limits import Boundary


@dataclass(slots=True)
class ReplayResult:
    replayed: int = 0
    still_failing: int = 0
    written: int = 0


def replay(db: Database, *, account_id: str | None = None, actor: str = "cli") -> ReplayResult:
    result = ReplayResult()
    run_id = "replay-" + uuid.uuid4().hex[:12]
    with db.connect() as conn:
        rows = store.open_quarantine(conn, account_id)
    for row in rows:
        kind = row["stream"]
        try:
            mapping = get_channel(row["channel"]).stream(kind).mapping_module()
        except (UnknownChannel, LookupError):  # a retired channel (Bukalapak: re-import the file), a stream no longer read
            result.still_failing += 1
            continue
        if kind not in WINDOW_STREAMS:
            result.still_failing += 1
            continue
        now = datetime.now(timezone.utc)
        ctx = store.WriteContext(
            account_id=row["account_id"], channel=row["channel"], run_id=run_id, actor=actor, now=now, mapping_version=mapping.MAPPING_VERSION,
            stream=kind,
        )
        boundary = Boundary(since=limits_of(get_channel(row["channel"]).connector_class()).since, now=now)
        payload = loads(row["payload"])
        try:
            if isinstance(payload, dict) and payload.get("unreadable") is True:
                # The channel's reply could not be parsed: nothing was kept to map again.
                raise MappingError(row["reason"])
            record = replace(WINDOW_STREAMS[kind].map_one(mapping, payload, boundary), payload_hash=row["payload_hash"])
        except MappingError as exc:
            reason: str | None = cap(str(exc))
        except Exception as exc:  # noqa: BLE001 - same rule as a sync: never crash on a payload
            reason = f"mapping failed unexpectedly ({type(exc).__name__})"
        else:
            reason = None
        with db.begin() as conn:
            if reason is None:
                counts = WINDOW_STREAMS[kind].write(conn, ctx, [record])
                result.written += counts.written
                result.replayed += 1
            else:
                result.still_failing += 1
            store.mark_quarantine(conn, row["id"], now=now, reason=reason)
            ctx.audit_events.append(
                audit.Event(
                    action="quarantine.replayed" if reason is None else "quarantine.still_failing",
                    actor=actor,
                    run_id=run_id,
                    account_id=row["account_id"],
                    entity_type="order",
                    entity_key=row["external_id"],
                    summary={"quarantine_id": row["id"], "reason": reason},
                )
            )
            store.flush_audit(conn, ctx)
    return result
