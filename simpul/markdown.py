"""Channel text in markdown (Prefect artifacts): one table cell that can neither break the
table, nor add markup, nor read differently from what it is."""

from __future__ import annotations

import re
from typing import Any

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#!~])")
_SPACE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]+")  # controls, breaks, bidi overrides


def one_line(text: Any) -> str:
    """Controls, line breaks and bidirectional overrides collapsed to one space."""
    return _SPACE.sub(" ", "" if text is None else str(text)).strip()


def cell(text: Any) -> str:
    """``text`` as one table cell: ``one_line``, markdown and HTML characters escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(text))
