"""Child processes that end with the process that started them, even under ``kill -9``.

Prefect's temporary API server is a subprocess. When the process that started it exits
normally, it is stopped; when that process is killed (``kill -9``, the OOM killer, a CI
timeout), nothing stops it, and it keeps running with its port and its database open.

On Linux, ``prctl(PR_SET_PDEATHSIG)`` makes the kernel signal a process when its parent
dies. It has to be set in the child, so the child starts as this module: it sets the
signal, exits if the parent is already gone (it may have died before the signal was
set), and ``exec``s the real command, which keeps the setting. (Not ``preexec_fn``: that
is unsafe in a process with threads, and Prefect's client starts several.) Elsewhere the
command runs untethered: only a normal exit of the parent stops it.

The kernel sends the signal when the *thread* that forked the child ends, so spawn from
a thread that lives as long as the child should (the main thread, in the CLI).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

PR_SET_PDEATHSIG = 1


def command(args: Sequence[str], *, umask: int | None = None) -> list[str]:
    """``args`` wrapped so the process dies with this one (and creates files with ``umask``)."""
    extra = ["--umask", f"{umask:o}"] if umask is not None else []
    return [sys.executable, "-m", "simpul.tethered", str(os.getpid()), *extra, "--", *args]


def spawn(args: Sequence[str], *, umask: int | None = None, **popen: Any) -> subprocess.Popen:
    return subprocess.Popen(command(args, umask=umask), **popen)


def tether(parent: int) -> None:
    """Ask for SIGKILL when ``parent`` dies; exit now if it already has."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)


def main(argv: Sequence[str]) -> None:
    parent, rest = int(argv[0]), list(argv[1:])
    if rest[:1] == ["--umask"]:
        os.umask(int(rest[1], 8))
        rest = rest[2:]
    args = rest[1:] if rest[:1] == ["--"] else rest
    tether(parent)
    os.execvp(args[0], args)


if __name__ == "__main__":
    main(sys.argv[1:])
