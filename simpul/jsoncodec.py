"""JSON the way Simpul needs it: numbers stay exact and hashes are stable.

Channels send money as JSON numbers (Shopee) or strings (WooCommerce). Parsing with
``parse_float=Decimal`` means a price never passes through a binary float. When a payload
is written back out (raw store, quarantine, hashing) a Decimal becomes its exact decimal
*string*: the C encoder stays fast and no digit is lost; mappings accept either form.
``content_hash`` is the version guard's tie-breaker, so it ignores key order and spacing.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


def _default(o: Any) -> Any:
    if isinstance(o, Decimal):
        return str(o)
    if isinstance(o, (datetime, date)):
        return o.isoformat()
    if isinstance(o, Enum):
        return o.value
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def dumps(obj: Any, *, canonical: bool = False, indent: int | None = None) -> str:
    """Serialise; ``canonical=True`` sorts keys and drops whitespace (for hashing)."""
    if canonical:
        return json.dumps(obj, default=_default, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(obj, default=_default, indent=indent, ensure_ascii=False)


def content_hash(obj: Any) -> str:
    """SHA-256 of the canonical JSON form: equal content gives an equal hash."""
    return hashlib.sha256(dumps(obj, canonical=True).encode()).hexdigest()
