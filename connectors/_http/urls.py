"""Base URL policy: credentials travel only over HTTPS, except to a loopback sandbox."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from connectors._http.errors import ConnectorError


def require_https(base_url: str, channel: str, why: str) -> str:
    """The URL if it is https (or plain http to a loopback host); else a clear error."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if (parts.scheme == "https" and host) or (parts.scheme == "http" and _is_loopback(host)):
        return base_url
    raise ConnectorError(
        f"{channel}: the base URL must use https ({why}); got scheme {parts.scheme or '(none)'!r} "
        f"for host {host or '(none)'!r} (plain http is allowed only for a loopback sandbox)"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
