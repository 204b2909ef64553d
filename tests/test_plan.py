"""The plan record: versioned JSON, and a checkpoint of the dict plans before it resumes."""

from __future__ import annotations

import pytest

from simpul.plan import DONE, IDS, KEYS, VERSION, WINDOWS, Plan


def test_a_plan_round_trips_through_its_json() -> None:
    plan = Plan(
        phase=WINDOWS, windows=(("2026-11-01T00:00:00+00:00", "2026-11-16T00:00:00+00:00"),), window=0,
        position={"cursor": "abc", "seen": ["1", "2"]}, until="2026-11-16T00:00:00+00:00", ids=("o1",), follow_up=True,
        request={"since": None, "until": None, "ids": []}, budget={"pages": 3},
    )  # fmt: skip
    data = plan.to_json()
    assert data["version"] == VERSION
    assert Plan.from_json(data) == plan


def test_a_version_1_checkpoint_resumes_where_it_was() -> None:
    """The dict plan this record replaced: ``w`` is the window, ``i`` the next order number."""
    old = {
        "phase": "ids", "windows": [["2026-11-01T00:00:00+00:00", "2026-11-02T00:00:00+00:00"]], "w": 1, "position": None,
        "until": "2026-11-02T00:00:00+00:00", "ids": ["a", "b", "c"], "i": 2, "follow_up": True, "missing": ["x"],
        "request": {"ids": ["a", "b", "c"], "since": None, "until": None}, "override": True,
    }  # fmt: skip
    plan = Plan.from_json(old)
    assert (plan.phase, plan.window, plan.next_id, plan.ids, plan.missing, plan.override) == (IDS, 1, 2, ("a", "b", "c"), ("x",), True)
    assert plan.windows == (("2026-11-01T00:00:00+00:00", "2026-11-02T00:00:00+00:00"),)


def test_a_checkpoint_of_an_unknown_version_is_refused() -> None:
    with pytest.raises(ValueError, match="plan version 9"):
        Plan.from_json({"version": 9, "phase": DONE})


def test_progress_counts_windows_and_batches() -> None:
    plan = Plan(phase=KEYS, keys=tuple(f"jne:{i}" for i in range(40)), next_key=20)
    assert plan.progress(20) == 0.5
    assert Plan(phase=DONE).progress(20) == 0.0
