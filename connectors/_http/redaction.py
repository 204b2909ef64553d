"""Keep secrets out of URLs, headers and messages before anything is logged or raised.

WARNING - everything the HTTP kit logs or puts in an exception passes through here. Add a
parameter name to ``SENSITIVE_KEYS`` rather than formatting a URL yourself.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "REDACTED"

SENSITIVE_KEYS = frozenset(
    {
        "sign",
        "signature",
        "access_token",
        "refresh_token",
        "partner_key",
        "app_secret",
        "consumer_key",
        "consumer_secret",
        "code",
        "token",
        "password",
        "authorization",
        "x-tts-access-token",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api_key",
        "apikey",
    }
)


def is_sensitive(name: str) -> bool:
    return name.lower() in SENSITIVE_KEYS


def redact_url(url: str) -> str:
    """The URL with every sensitive query value replaced."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = [(k, REDACTED if is_sensitive(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(pairs, safe="")))


def redact_mapping(values: Mapping[str, object]) -> dict[str, object]:
    """A copy of headers or parameters with sensitive values replaced."""
    return {k: (REDACTED if is_sensitive(k) else v) for k, v in values.items()}


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of the given secret values (length >= 4) in ``text``."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return _BEARER.sub(r"\1" + REDACTED, text)


# Secret values this process has handed to a connector: every log filter replaces them
# wherever they appear, whatever formatted them (second line of defence).
_KNOWN: set[str] = set()
_KNOWN_LOCK = threading.Lock()


def remember(secrets: Iterable[str]) -> None:
    with _KNOWN_LOCK:
        _KNOWN.update(s for s in secrets if s and len(s) >= 4)


def known_secrets() -> frozenset[str]:
    with _KNOWN_LOCK:
        return frozenset(_KNOWN)


_BEARER = re.compile(r"((?:Bearer|Basic)\s+)[A-Za-z0-9+/=._-]{8,}")


_QUERY = re.compile(r"(?i)\b(" + "|".join(re.escape(k) for k in sorted(SENSITIVE_KEYS)) + r")=([^&\s\"']+)")
_AUTH = re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9+/=._-]{8,}")


def redact_line(text: str) -> str:
    """Sensitive query/header values, bearer tokens and every secret this process knows."""
    return redact_text(_AUTH.sub(r"\1 REDACTED", _QUERY.sub(r"\1=REDACTED", text)), known_secrets())


class RedactingFilter(logging.Filter):
    """Cleans a record's message and traceback text in place (``redact_line``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_line(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_line(record.exc_text)
        return True


# urllib3 logs every request line, query string included (``sign=``, ``access_token=``),
# at DEBUG. A filter on its own logger cleans the record before any handler sees it, so
# no handler anyone attaches, now or later, can print a signature or token from there.
LIBRARY_LOGGERS = ("urllib3.connectionpool",)


def guard_library_loggers() -> None:
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
