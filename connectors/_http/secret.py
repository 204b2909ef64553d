"""Secret values stay wrapped (pydantic ``SecretStr``) until a request is signed.

The hub hands a connector its credentials with every secret field wrapped; ``repr`` and
``str`` of the set then show ``**********``, so a stray log line, traceback or Prefect
parameter cannot carry one. A connector unwraps a field with ``reveal`` where it builds
its auth, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import SecretStr

__all__ = ["SecretStr", "plain", "reveal", "wrap"]


def reveal(value: Any) -> str:
    """The text of a secret field (wrapped or, from tests and sandboxes, plain)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return "" if value is None else str(value)


def wrap(values: Mapping[str, Any], secret_fields: Iterable[str]) -> dict[str, Any]:
    secret = set(secret_fields)
    return {k: SecretStr(str(v)) if k in secret and v is not None and not isinstance(v, SecretStr) else v for k, v in values.items()}


def plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """Every field unwrapped, for sealing in the vault."""
    return {k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in values.items()}
