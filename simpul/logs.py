"""Logging set-up: every handler Simpul installs carries the redaction filter.

The HTTP kit already logs only method, path and status; this filter is the second line
of defence for anything else that formats a URL or a header into a log line.
"""

from __future__ import annotations

import logging
import os
import re

from connectors._http.redaction import SENSITIVE_KEYS

_QUERY = re.compile(r"(?i)\b(" + "|".join(re.escape(k) for k in sorted(SENSITIVE_KEYS)) + r")=([^&\s\"']+)")
_AUTH = re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9+/=._-]{8,}")


def redact(text: str) -> str:
    return _AUTH.sub(r"\1 REDACTED", _QUERY.sub(r"\1=REDACTED", text))


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(level: str | None = None) -> None:
    """Log to stderr at SIMPUL_LOG_LEVEL (default WARNING) through the redaction filter."""
    root = logging.getLogger("simpul")
    if any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level or os.environ.get("SIMPUL_LOG_LEVEL", "WARNING"))
    root.propagate = False
