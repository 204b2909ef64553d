"""What every command shares: exit codes, usage errors, tables on stdout, times, progress.

Everything printed from stored data goes through ``printable``: channel text (statuses,
names, reasons) arrives as the channel sent it, and an ESC, CR or LF in it could redraw
the terminal or fake an extra row of a table.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# C0 and C1 controls, DEL, the line and paragraph separators, and the bidirectional
# overrides and isolates (text that reads differently from what it is, "Trojan Source").
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# `--since` and friends: Unix time starts here (channels count seconds from it), and a
# date before it is a typo that would overflow a window's arithmetic.
EARLIEST = datetime(1970, 1, 2, tzinfo=timezone.utc)


class UsageError(Exception):
    """Bad input from the person at the terminal: shown as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (``simpul: ...``), like every other refusal."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"simpul: {message} (see `{self.prog} --help`)\n")


def printable(text: str) -> str:
    """``text`` with control characters shown as escapes (``\\x1b``, ``\\n``), never obeyed."""
    return _UNPRINTABLE.sub(lambda m: _NAMED.get(m.group(), f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"), text)


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
    """One value as table text: ``-`` for nothing, UTC times, enums by value, controls escaped."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    return printable(str(getattr(value, "value", value)))


def parse_time(text: str, *, option: str = "time") -> datetime:
    """ISO-8601 date or datetime; a value without offset is taken as UTC.

    Refused with one line: anything before 1970-01-02 or more than a day ahead (a typo,
    and a window from year 1 overflows the engine's date arithmetic).
    """
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{option}: not an ISO-8601 time: {printable(text)!r} (e.g. 2026-11-01 or 2026-11-01T08:00:00+07:00)") from None
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if value < EARLIEST or value > datetime.now(timezone.utc) + timedelta(days=1):
        raise UsageError(f"{option}: {text} is out of range (from 1970-01-02 up to now)")
    return value


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


def bounded_int(low: int, high: int | None = None):  # noqa: ANN201 - an argparse type
    """An argparse type: a whole number from ``low`` (to ``high``), refused in one line otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {printable(text)!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} is out of range ({low} to {high:,})" if high is not None else f"{value} is below {low}")
        return value

    parse.__name__ = "number"
    return parse
