"""How a run that did not fully succeed ends: Failed, or Cancelled named "Skipped".

The state's data is an ``Incomplete`` exception carrying the run's rows. Prefect resolves
a Failed or Cancelled state's data into the exception it raises (``state.result()``); a
dict or list there cannot be resolved and fails with ``TypeError: Unexpected result for
failed state`` (what a deployed run logged before, see ``flows._engine_log``). In-process
callers read the rows back with ``state.result(raise_on_failure=False).rows``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prefect.states import Cancelled, Failed, State


class Incomplete(Exception):
    """The run did not complete everything; ``rows`` has what it did, one row per item."""

    def __init__(self, message: str, rows: Sequence[dict[str, Any]]) -> None:
        super().__init__(message)
        self.rows = list(rows)


def failed(message: str, rows: Sequence[dict[str, Any]]) -> State:
    return Failed(message=message, data=Incomplete(message, rows))


def skipped(message: str, rows: Sequence[dict[str, Any]]) -> State:
    return Cancelled(name="Skipped", message=message, data=Incomplete(message, rows))
