"""Small pure helpers every mapping uses: money, time, masking."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from simpul.canonical import MappingError

ZERO = Decimal(0)


def money(value: Any, *, field: str) -> Decimal:
    """A Decimal from JSON text/ints/Decimals. A binary float is refused, not rounded."""
    if isinstance(value, bool) or value is None:
        raise MappingError(f"{field}: expected an amount, got {type(value).__name__}")
    if isinstance(value, float):
        raise MappingError(f"{field}: amount arrived as a binary float; parse JSON with Decimal")
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
    except (InvalidOperation, TypeError, ValueError):
        raise MappingError(f"{field}: not an amount") from None
    if not amount.is_finite():
        raise MappingError(f"{field}: not a finite amount")
    return amount


def money_or_none(value: Any, *, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    return money(value, field=field)


def amount_or_zero(raw: Any, field: str) -> Decimal:
    """An optional amount field: absent or empty is zero, but "0.00" keeps its decimals."""
    amount = money_or_none(raw.get(field), field=field)
    return ZERO if amount is None else amount


def list_field(raw: Any, field: str) -> list[Any]:
    """A list-valued field; absent or null is an empty list, anything else is refused."""
    value = raw.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError(f"{field}: expected a list")
    return value


def ref(value: Any) -> str | None:
    """A channel id as text; 0, empty and booleans mean 'none'."""
    if value in (None, 0, "0", "") or isinstance(value, bool):
        return None
    return str(value)


def utc_from_epoch(value: Any, *, field: str) -> datetime | None:
    """Unix seconds to aware UTC; 0 and null mean 'not set' (Shopee's convention)."""
    if value in (None, 0, "0", ""):
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError):
        raise MappingError(f"{field}: not a Unix timestamp") from None


def utc_from_iso(value: Any, *, field: str, assume_zone: str = "UTC") -> datetime | None:
    """ISO-8601 text to aware UTC. Text without an offset is read in ``assume_zone``."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise MappingError(f"{field}: expected ISO-8601 text")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(f"{field}: not an ISO-8601 time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(assume_zone))
    return parsed.astimezone(timezone.utc)


def mask_name(name: Any) -> str | None:
    """First and last character kept, as Shopee masks: ``Budi Santoso`` -> ``B**********o``."""
    if not name or not isinstance(name, str):
        return None
    name = name.strip()
    if "*" in name:
        return name  # already masked by the channel
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: Any) -> str | None:
    """Only the last two digits kept: ``08123456789`` -> ``*********89``."""
    if not phone or not isinstance(phone, str):
        return None
    phone = phone.strip()
    if "*" in phone:
        return phone
    digits = [c for c in phone if c.isdigit()]
    if len(digits) < 4:
        return "*" * len(phone)
    return "*" * (len(digits) - 2) + "".join(digits[-2:])


def is_masked(value: Any) -> bool:
    return isinstance(value, str) and "*" in value


def text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
