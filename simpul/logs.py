"""Logging set-up: every handler in the process carries the redaction filter.

A ``logging.Filter`` runs only where it is attached, so ``protect_handlers`` puts one on
*every* handler: Simpul's own, the root's, and Prefect's console and API handlers (the
run logs ops read in the UI). It is called when the CLI starts and when a flow run opens
the hub, after Prefect has configured its logging. The filter cleans the message and any
traceback text. The HTTP kit already logs only method, path and status; this is the second
line of defence for anything else that formats a URL, a header or a secret into a line.
"""

from __future__ import annotations

import logging
import os

from connectors._http.redaction import RedactingFilter, redact_line

__all__ = ["RedactingFilter", "configure_logging", "protect_handlers", "redact"]

redact = redact_line


def protect_handlers() -> int:
    """Attach the filter to every handler of every logger that has one; returns how many are new."""
    loggers = [logging.getLogger()] + [v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger)]
    added = 0
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
                added += 1
    return added


def configure_logging(level: str | None = None) -> None:
    """Log to stderr at SIMPUL_LOG_LEVEL (default WARNING); every handler redacts."""
    root = logging.getLogger("simpul")
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.propagate = False
    root.setLevel(level or os.environ.get("SIMPUL_LOG_LEVEL", "WARNING"))
    protect_handlers()
