"""JSON the way Simpul needs it: numbers stay exact and hashes are stable.

Channels send money as JSON numbers (Shopee) or strings (WooCommerce). Parsing with
``parse_float=Decimal`` means a price never passes through a binary float. When a payload
is written back out (raw store, quarantine, hashing) a Decimal becomes its exact decimal
*string*: the C encoder stays fast and no digit is lost; mappings accept either form.
``content_hash`` is the version guard's tie-breaker, so it ignores key order and spacing.

The canonical form is written by orjson (a dependency of Prefect) when it can: ~10x the
standard encoder's speed, and byte for byte the same text for everything ``loads``
returns (sorted keys, no spaces, UTF-8, the same escapes) except NaN and infinities,
which orjson writes as null. Anything orjson refuses (integers beyond 64 bits, non-text
keys) goes through the standard encoder. Two serialisations per synced order (its hash
and its stored copy) were ~40 us of the ~330 us an order costs (bench/README.md).

Hostile input (a channel's reply is input): an integer longer than Python's int
conversion allows (4,300 digits) would make the whole reply unreadable, and with it every
other record of the batch; such an integer is read as a Decimal instead (exact, and the
mapping or the boundary check refuses it by field name). JSON nested deeper than the
parser's recursion limit is a ValueError like any malformed body. Text with a lone UTF-16
surrogate (``"\\ud800"`` is valid JSON) cannot be encoded as UTF-8; its canonical form
escapes non-ASCII characters instead, so hashing and storing such a payload never fail.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - Prefect installs it
    orjson = None


def loads(text: str | bytes) -> Any:
    try:
        return json.loads(text, parse_float=Decimal)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except ValueError as exc:
        if "integer string conversion" not in str(exc):  # int's digit limit (CVE-2020-10735)
            raise
    # Only a reply that holds an over-long integer pays for the slower per-integer hook.
    return json.loads(text, parse_float=Decimal, parse_int=_int_or_decimal)


INT_DIGITS_LIMIT = 4000  # below Python's default of 4,300 digits for int <-> str


def _int_or_decimal(text: str) -> int | Decimal:
    return int(text) if len(text) <= INT_DIGITS_LIMIT else Decimal(text)


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


def _fast_canonical(obj: Any) -> bytes | None:
    if orjson is None:
        return None
    try:
        return orjson.dumps(obj, default=_default, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return None


def _std_canonical(obj: Any) -> str:
    text = json.dumps(obj, default=_default, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate: not UTF-8, not storable; escape instead
        return json.dumps(obj, default=_default, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text


def canonical_bytes(obj: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the form that is hashed and stored."""
    fast = _fast_canonical(obj)
    return fast if fast is not None else _std_canonical(obj).encode()


def dumps(obj: Any, *, canonical: bool = False, indent: int | None = None) -> str:
    """Serialise; ``canonical=True`` sorts keys and drops whitespace (for hashing)."""
    if canonical:
        fast = _fast_canonical(obj)
        return fast.decode() if fast is not None else _std_canonical(obj)
    return json.dumps(obj, default=_default, indent=indent, ensure_ascii=False)


def content_hash(obj: Any) -> str:
    """SHA-256 of the canonical JSON form: equal content gives an equal hash."""
    return hashlib.sha256(canonical_bytes(obj)).hexdigest()
