"""A run's plan: what it reads and how far it got, saved as its checkpoint.

The engine writes the plan before the run's first request and again with every committed
page, so a killed run resumes exactly after its last committed page. The plan is a typed
record, stored as versioned JSON (``to_json``/``from_json``): a checkpoint written by an
older Simpul (version 1, a dict with ``w`` and ``i``) still resumes.

Phases, in order: ``windows`` (pages of source update-time windows of stream ``kind``, with
the connector's ``position`` inside the current one), ``ids`` (orders read by number, in
the stream's batches), ``keys`` (a keyed stream such as tracking, in batches), ``done``.
After the orders, the windows of each stream in ``then`` (returns, settlements) follow over the same
span, each with its own cursor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

VERSION = 2
WINDOWS, IDS, KEYS, DONE = "windows", "ids", "keys", "done"


@dataclass(frozen=True, slots=True)
class Plan:
    phase: str
    windows: tuple[tuple[str, str], ...] = ()  # [since, until) as ISO-8601 UTC
    window: int = 0  # the window being read
    position: dict[str, Any] | None = None  # the connector's position inside it
    until: str | None = None  # the plan's end: the incremental cursor once done
    ids: tuple[str, ...] = ()  # order numbers to read by number (resync, late-resi follow-up)
    next_id: int = 0
    keys: tuple[str, ...] = ()  # keys of a keyed stream (ParcelKey.text)
    next_key: int = 0
    follow_up: bool = False  # re-read orders awaiting an airway bill after the windows
    missing: tuple[str, ...] = ()  # ids or keys the channel did not know
    request: dict[str, Any] | None = None  # a resync's fingerprint: the same ask resumes
    override: bool = False  # a repair of named orders (SyncRequest.override_version)
    budget: dict[str, Any] | None = field(default=None)  # the current window walk's budget (simpul.budget)
    kind: str = "orders"  # the stream whose windows are being read
    then: tuple[str, ...] = ()  # window streams to read after this one, over the same span (returns, settlements)
    cursors: tuple[str, ...] = ()  # streams whose walk ended: their cursors move in the next commit

    @property
    def done(self) -> bool:
        return self.phase == DONE

    def with_(self, **changes: Any) -> "Plan":
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["windows"] = [list(w) for w in self.windows]
        for name in ("ids", "keys", "missing", "then", "cursors"):
            out[name] = list(out[name])
        return {"version": VERSION, **out}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Plan":
        data = dict(data)
        version = int(data.pop("version", 1))
        if version == 1:  # w/i of the dict plans before the typed record
            data["window"] = data.pop("w", 0)
            data["next_id"] = data.pop("i", 0)
        elif version != VERSION:
            raise ValueError(f"a checkpoint of plan version {version} (this Simpul reads 1 and {VERSION})")
        known = {f for f in cls.__dataclass_fields__}
        data = {k: v for k, v in data.items() if k in known}
        return cls(
            **{
                **data,
                "windows": tuple((str(a), str(b)) for a, b in data.get("windows", ())),
                "ids": tuple(data.get("ids", ())),
                "keys": tuple(data.get("keys", ())),
                "missing": tuple(data.get("missing", ())),
                "then": tuple(data.get("then", ())),
                "cursors": tuple(data.get("cursors", ())),
                "window": int(data.get("window", 0)),
                "next_id": int(data.get("next_id", 0)),
                "next_key": int(data.get("next_key", 0)),
            }
        )

    def progress(self, batch: int) -> float:
        """How much of the plan is done, 0.0 .. 0.99 (1.0 only once done), estimated:
        a window and a batch of ids or keys count one each."""
        total = len(self.windows) + len(self.ids) / batch + len(self.keys) / batch
        if total == 0:
            return 0.0
        done = min(self.window, len(self.windows)) + self.next_id / batch + self.next_key / batch
        return max(0.0, min(0.99, done / total))
