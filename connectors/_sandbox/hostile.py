"""Hostile twins: what a sandbox sends when a test wants the channel to misbehave.

Poisoned records: ``POST /_sandbox/poison`` with ``{"id": <order>, "field": "a.b[0].c",
"value": <JSON value>}`` (a 10 kB string, a NUL character, a 9-character country, a time
in year 9999) or ``"raw": "<JSON text>"`` for what a JSON value cannot say: a 5,000-digit
integer (``"9999..."``), ``1E+308``, a string with a raw control character that makes
the whole reply unparseable. The order is touched (its update time moves to now) so the
next incremental sync reads it; ``"touch": false`` leaves it where it is. Poisons stay
until ``{"id": ..., "clear": true}``.

The reply-level knobs (drip, huge bodies, redirects, extra headers, ever-new cursors) live
in ``server.Faults``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from simpul.jsoncodec import dumps


class RawJson:
    """JSON text (or bytes) put into a reply verbatim, where a Python value cannot express it."""

    __slots__ = ("text",)

    def __init__(self, text: str | bytes) -> None:
        self.text = text.encode() if isinstance(text, str) else bytes(text)


def encode(body: Any) -> bytes:
    """A reply body as JSON bytes, with every ``RawJson`` spliced in verbatim."""
    raws: dict[str, bytes] = {}

    def mark(value: Any) -> Any:
        if isinstance(value, RawJson):
            token = f"@@raw-{uuid.uuid4().hex}@@"
            raws[token] = value.text
            return token
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    marked = mark(body)
    data = dumps(marked).encode("utf-8", "surrogatepass")
    for token, text in raws.items():
        data = data.replace(f'"{token}"'.encode(), text)
    return data


def contains_raw(value: Any) -> bool:
    if isinstance(value, RawJson):
        return True
    if isinstance(value, dict):
        return any(contains_raw(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_raw(v) for v in value)
    return False


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def set_path(record: dict[str, Any], path: str, value: Any) -> None:
    """``record`` with ``path`` (``a.b[0].c``) set to ``value``; missing objects are created."""
    steps = [(name, int(index) if index else None) for name, index in _STEP.findall(path)]
    if not steps:
        raise ValueError(f"bad field path {path!r}")
    target: Any = record
    for (name, index), following in zip(steps, steps[1:] + [(None, None)]):
        key: Any = name if index is None else index
        last = following == (None, None)
        if last:
            target[key] = value
            return
        if isinstance(target, dict) and key not in target:
            target[key] = [] if following[1] is not None else {}
        target = target[key]


def poison_value(body: dict[str, Any]) -> Any:
    """The value a ``poison`` admin request asks for."""
    if "raw" in body:
        return RawJson(str(body["raw"]))
    if "value" in body:
        return body["value"]
    raise ValueError("poison needs 'value' (JSON) or 'raw' (JSON text)")
