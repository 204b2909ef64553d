"""The pagination loop guard: an API that repeats a page token must not spin forever."""

from __future__ import annotations

from collections.abc import Hashable

from connectors._http.errors import PaginationLoop


class LoopGuard:
    """Remember every token of one walk; raise on the first repeat.

    Example::

        guard = LoopGuard("get_order_list")
        while more:
            guard.advance(cursor)       # raises PaginationLoop if cursor was seen
            ...
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self._seen: set[Hashable] = set()

    def advance(self, token: Hashable) -> None:
        if token in self._seen:
            raise PaginationLoop(f"{self.what}: the API repeated a page token; stopping instead of looping")
        self._seen.add(token)
