"""No false "crash" in the log of a deployed run that ended Failed (Prefect 3.9).

What happens: a worker starts each flow run as ``python -m prefect.engine``, which calls
``run_flow(flow, flow_run=..., error_logger=run_logger)`` with the default
``return_type="result"``. After the engine has reported the run's final state (our
Failed with its message, or Cancelled "Skipped"), ``run_flow`` asks for the run's
*result*, and the result of a Failed state is its exception, raised. ``run_flow`` then
logs that as ``Engine execution exited with unexpected exception`` with a traceback,
into the worker's output and the run's logs, and ``prefect.engine`` exits 0 because
the engine had concluded the run (``engine_outcome_is_handled``). A flow that raises
gets the same second traceback. When the Failed state's data is no exception (a dict
of rows, as Simpul returned before), resolving it fails first with ``TypeError:
Unexpected result for failed state``: the message ops saw.

Two fixes, both here in Simpul: a failed run's data is now an exception carrying the
rows (``flows._states.Incomplete``), so resolving it works anywhere; and this
filter drops that one record, but only once the engine has concluded the run, which is
the test ``prefect.engine`` itself uses to exit 0. An exception before the run concluded
(a crash) is still logged with its traceback. The filter sits on the
``prefect.flow_runs`` logger and is installed when ``flows`` is imported, which the
engine does when it loads the flow, before it runs it.

Not chosen: a custom engine command in the work pool's job template
(``python -m <ours>`` calling ``run_flow(..., return_type="state")``): it would copy the
private start-up of ``prefect.engine`` and depend on which ``python`` the worker's
``PATH`` finds. tests/test_prefect_server.py runs a real worker and fails if the line or
a traceback comes back.
"""

from __future__ import annotations

import logging

MESSAGE = "Engine execution exited with unexpected exception"
LOGGER = "prefect.flow_runs"
TASK_LOGGER = "prefect.task_runs"


def _concluded() -> bool:
    try:
        from prefect._internal.control_listener import engine_outcome_is_handled
    except ImportError:  # a Prefect without it: keep every record
        return False
    return engine_outcome_is_handled()


class ConcludedRunReraise(logging.Filter):
    """Drops Prefect's re-raise of a run that already ended in its final state."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg == MESSAGE and record.exc_info and _concluded())


class NoTracebackWithoutException(logging.Filter):
    """Prefect logs a task that returned a Failed state with ``exc_info=True`` outside any
    exception, which prints a stray ``NoneType: None`` line under the reason."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[0] is None:
            record.exc_info = None
        return True


def install() -> None:
    for name, cls in ((LOGGER, ConcludedRunReraise), (TASK_LOGGER, NoTracebackWithoutException)):
        logger = logging.getLogger(name)
        if not any(isinstance(f, cls) for f in logger.filters):
            logger.addFilter(cls())
