"""The redaction filter sits on every handler (S-6), proved with an unfiltered control handler."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator

import pytest

from connectors._http.redaction import RedactingFilter, guard_library_loggers, remember
from simpul.logs import configure_logging, protect_handlers

SECRET = f"canary-{uuid.uuid4().hex}"


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


LOGGERS = ("simpul.canary", "somelibrary.canary")  # one reaches Simpul's handler, one the root's


@pytest.fixture
def handlers() -> Iterator[tuple[Capture, Capture, io.StringIO]]:
    """Control handlers on the emitting loggers (they run first and are never protected), a
    'real' handler on the root and Simpul's own stderr handler."""
    root, controls, real = logging.getLogger(), {name: Capture() for name in LOGGERS}, Capture()
    root.addHandler(real)
    simpul_logger = logging.getLogger("simpul")
    earlier = simpul_logger.handlers[:]  # another test's CLI run may have configured it already
    simpul_logger.handlers.clear()
    configure_logging("DEBUG")
    stream = io.StringIO()
    [simpul_handler] = simpul_logger.handlers
    simpul_handler.stream = stream
    protect_handlers()  # what the CLI and every flow run do
    for name, control in controls.items():  # added afterwards on purpose: the negative control
        logging.getLogger(name).addHandler(control)
        logging.getLogger(name).setLevel(logging.DEBUG)
    remember([SECRET])
    try:
        yield controls, real, stream
    finally:
        for name, control in controls.items():
            logging.getLogger(name).removeHandler(control)
        root.removeHandler(real)
        simpul_logger.handlers[:] = earlier
        simpul_logger.setLevel(logging.WARNING)


def test_every_protected_handler_hides_what_the_control_shows(handlers) -> None:  # noqa: ANN001
    controls, real, stream = handlers
    for name in LOGGERS:
        log = logging.getLogger(name)
        log.warning("calling https://shop.example/x?access_token=%s&sign=abcdef123456 with Bearer %s", SECRET, SECRET)
        try:
            raise RuntimeError(f"refused {SECRET}")
        except RuntimeError:
            log.exception("failed")
        assert any(SECRET in line for line in controls[name].lines), "the control must see the secret, or this test proves nothing"
    for name, text in (("root handler", "\n".join(real.lines)), ("simpul stderr handler", stream.getvalue())):
        assert SECRET not in text, name
        assert "access_token=REDACTED" in text and "Bearer REDACTED" in text and "RuntimeError: refused REDACTED" in text


def test_library_request_lines_are_cleaned_at_their_logger() -> None:
    guard_library_loggers()
    logger = logging.getLogger("urllib3.connectionpool")
    assert any(isinstance(f, RedactingFilter) for f in logger.filters)
    record = logger.makeRecord(logger.name, logging.DEBUG, __file__, 1, '"GET /api?sign=%s&access_token=%s HTTP/1.1" 200', ("deadbeef99", SECRET), None)
    for f in logger.filters:
        f.filter(record)
    assert record.getMessage() == '"GET /api?sign=REDACTED&access_token=REDACTED HTTP/1.1" 200'
