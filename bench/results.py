"""A benchmark figure (a ratio against a target), the printed table and results.json."""

from __future__ import annotations

import json
import platform
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class Figure:
    """``value`` compared with ``target``: at most (``better="lower"``) or at least ("higher")."""

    name: str
    value: float
    target: float | None
    better: str  # "lower" | "higher" | "info" (no target: a measurement the README quotes)
    what: str
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def met(self) -> bool | None:
        if self.target is None or self.better == "info":
            return None
        return self.value <= self.target if self.better == "lower" else self.value >= self.target

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["value"] = round(self.value, 4)
        out["met"] = self.met
        return out


def table(figures: list[Figure]) -> str:
    rows = [("FIGURE", "VALUE", "TARGET", "MET", "WHAT")]
    for f in figures:
        target = "" if f.target is None else ("<= " if f.better == "lower" else ">= ") + _num(f.target)
        met = {True: "yes", False: "NO", None: "-"}[f.met]
        rows.append((f.name, _num(f.value), target, met, f.what))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4] for r in rows)


def _num(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_gib, 1), "python": platform.python_version(), "os": platform.platform()}


def write(path: Path, figures: list[Figure]) -> None:
    """results.json: a list of {name, value, target, met, better, what, detail}."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([f.as_json() for f in figures], indent=2, default=str) + "\n")
