"""What every command shares: exit codes, usage errors, tables on stdout, times, progress."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the person at the terminal: shown as one line, exit code 2."""


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, out=None) -> None:  # noqa: ANN001
    out = out or sys.stdout  # looked up now: tests and pipes may have replaced it
    if not rows:
        print("(nothing)", file=out)
        return
    columns = list(columns or rows[0].keys())
    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)), file=out)
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)), file=out)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    return str(value)


def parse_time(text: str) -> datetime:
    """ISO-8601 date or datetime; a value without offset is taken as UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"not an ISO-8601 time: {text!r} (e.g. 2026-11-01 or 2026-11-01T08:00:00+07:00)") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def progress_printer():  # noqa: ANN201
    """A one-line progress bar per account on stderr when it is a terminal; silent otherwise."""
    if not sys.stderr.isatty():
        return None

    def show(request, step) -> None:  # noqa: ANN001 - SyncRequest, StepResult
        filled = int(step.progress * 30)
        sys.stderr.write(f"\r{request.account_id} [{'#' * filled}{'.' * (30 - filled)}] {step.progress:4.0%}")
        if step.done:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show
