"""Error text that leaves the process: a class, a short reason, capped; never a dump.

A run's error is written to places that outlive it (the ``sync_run`` row, the audit log,
which cannot be purged, Prefect's database, artifacts, logs). A database exception's text
carries the statement and its parameters (buyer notes, postcodes, sealed envelopes), and a
channel's reply can be any size. So what leaves is built here: the exception's class, its
first line without SQL or parameters, redacted, at most ``MAX_LENGTH`` characters.
"""

from __future__ import annotations

import re

import sqlalchemy.exc as sa_exc

from connectors._http.redaction import redact_line

MAX_LENGTH = 300

# A driver's first line may quote the offending value: `invalid input syntax for type
# numeric: "1E+999999"`, `... for encoding "UTF8": 0x00`. Quoted text after a colon is
# dropped; the names in quotes before one (a column, a type) stay.
_QUOTED_VALUE = re.compile(r""":\s*"(?:[^"\\]|\\.)*"|:\s*'(?:[^'\\]|\\.)*'""")


class SafeError(RuntimeError):
    """An exception whose message was built by ``describe``: safe to store and show as is.

    Raised (``from None``) where a database exception would otherwise leave the engine
    with its statement and parameters attached, e.g. into Prefect's task-run state and
    logs, which record an exception's text and traceback.
    """


class StoreError(SafeError):
    """The database refused a write or a read; the message names the driver's reason only."""


def describe(exc: BaseException, *, limit: int = MAX_LENGTH) -> str:
    """``ClassName: first line of the reason`` for operators, safe to store and show."""
    if isinstance(exc, SafeError):
        text = _first_line(str(exc))
    elif isinstance(exc, sa_exc.StatementError):
        # SQLAlchemy appends "[SQL: ...]" and "[parameters: ...]": keep only the driver's reason.
        original = exc.orig if exc.orig is not None else exc
        name, reason = type(original).__name__, _first_line(str(original))
        reason = _QUOTED_VALUE.sub(': "…"', reason.split("[SQL:", 1)[0].strip())
        text = f"database error ({name}): {reason}" if reason else f"database error ({name})"
    else:
        reason = _first_line(str(exc))
        text = f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__
    return cap(redact_line(text), limit)


def describe_reason(exc: BaseException, *, limit: int = MAX_LENGTH) -> str:
    """The first line of an expected refusal (an account not active, a lock held), capped."""
    return cap(redact_line(_first_line(str(exc))), limit)


def cap(text: str, limit: int = MAX_LENGTH) -> str:
    """At most ``limit`` characters, with a mark where it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0].strip() if text.strip() else ""
