"""Walking a listing ordered by update time without skipping or doubling a record.

Channels list orders by update time, oldest first, and page through the result with a
token (Shopee's offset-like ``cursor``, WooCommerce's page number). Such tokens are unsafe
while orders change under the walk: one order leaves its place, every later order moves
up one slot, and the next token skips one of them for good. So after each page the walk
**restarts** at the first page from the newest second the page reached; nothing behind
that second can then shift what lies ahead. The records of that second come back once
more, so the walk keeps the ids it already yielded at that second (``seen``) and **drops
them** when they come back with the same time (an order that changed meanwhile has a new
time and is yielded again). When a whole page lies in one second, restarting cannot move
forward, so the walk follows the channel's token from that second instead. Residual
risk: while more than a page of orders shares one second, one of them changing mid-walk
can still shift another past the walk.

``TimeCursorWalk`` carries that rule, the resume position it stores (``Page.position``)
and the loop. A connector gives it the facts: how a record names itself (``key``) and
when it changed (``stamp``, epoch seconds), what its tokens look like (``first``, and
``second_page`` when the channel's tokens can be computed), how the position is spelled
(``PositionFormat``: the old checkpoints of a channel must keep resuming), and one
``fetch(mark, until)`` that asks the channel for the page at ``mark``.

Example::

    WALK = TimeCursorWalk(
        "shop", "orders",
        key=lambda r: str(r["id"]),
        stamp=lambda r: r.get("updated"),
        format=PositionFormat(second="updated_from", token="page"),
        first=1,
        second_page=2,
    )

    def fetch(mark: Mark, until: int) -> Listing:
        body = http.request("GET", "/orders", params={"from": mark.second, "to": until, "page": mark.token})[0]
        return Listing(body["orders"], following=mark.token + 1 if body["more"] else None)

    yield from WALK.pages(window, position, fetch, counter=http.counter)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectors._http.errors import ConnectorError
from connectors._http.pagination import LoopGuard
from connectors.contract import Page, Position, Window

Record = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Mark:
    """Where a walk stands: it lists records changed at ``second`` (epoch seconds) or later,
    at the channel's page ``token`` from there, and has already yielded the ids in ``seen``
    with that very time."""

    second: float
    token: Any
    seen: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Listing:
    """What ``fetch`` got for one page: its records, the token of the next page of the same
    listing (None: this was the last page), and what the engine wants to hear about it."""

    records: Sequence[Record]
    following: Any = None
    unreadable: Sequence[tuple[str, str]] = ()
    reported_pages: int | None = None


@dataclass(frozen=True, slots=True)
class PositionFormat:
    """How a ``Mark`` is stored as JSON: ``{second: ..., token: ..., "seen": [ids]}``.

    ``write_second``/``read_second`` translate the mark's second to the stored value (for
    a channel whose listing starts *after* the stored time, that is the second before).
    The token is stored as is and read back as the type of the walk's ``first`` token.
    """

    second: str
    token: str
    write_second: Callable[[float], Any] = int
    read_second: Callable[[Any], float] = int


@dataclass(frozen=True, slots=True)
class TimeCursorWalk:
    """The restart-at-the-newest-second walk over one channel's listing (module docstring).

    - ``channel``, ``listing``: names for error messages.
    - ``key(record)``: the record's id as text; ``stamp(record)``: its update time in
      epoch seconds, or None when the record gives none the walk can use.
    - ``format``: the stored position (``PositionFormat``).
    - ``first``: the token of a listing's first page from a second; ``second_page``: the
      token of its second page when tokens are computable (page numbers), else None
      (an opaque cursor: a page wholly in a newer second is then asked again from
      ``first``, one request that yields nothing new).
    - ``follow_unplaced``: how a page's times place it. True (WooCommerce): every record
      counts, and a page holding one the walk cannot place (no time, or a time at or
      after the window's end, such as a year-9999 update time) is followed by its token
      instead of restarting. A time *before* the mark counts too: a stale page (a stuck
      cache repeating an earlier page) then restarts at a mark already visited, and the
      loop guard stops the walk. False (Shopee): only records timed inside
      ``[mark, window end)`` place the page; the others are left out. Either way the walk
      never restarts from a time at or after the window's end: that would skip the rest
      of the window.
    - ``carry_seen``: within one second, keep the ids of every page of it (Shopee), or
      of the last page only (WooCommerce: the stored position stays one page of ids
      however many orders share the second).
    """

    channel: str
    listing: str
    key: Callable[[Record], str]
    stamp: Callable[[Record], float | None]
    format: PositionFormat
    first: Any
    second_page: Any = None
    follow_unplaced: bool = False
    carry_seen: bool = True

    # -- positions ----------------------------------------------------------------------------
    def start(self, window: Window) -> Mark:
        return Mark(math.ceil(window.since.timestamp()), self.first)

    def load(self, position: Position) -> Mark:
        try:
            second = self.format.read_second(position[self.format.second])
            token = type(self.first)(position[self.format.token])
            return Mark(second, token, frozenset(str(i) for i in position.get("seen", ())))
        except (KeyError, TypeError, ValueError):
            raise ConnectorError(f"{self.channel}: unreadable resume position") from None

    def dump(self, mark: Mark) -> Position:
        return {self.format.second: self.format.write_second(mark.second), self.format.token: mark.token, "seen": sorted(mark.seen)}

    # -- the rule -----------------------------------------------------------------------------
    def unseen(self, mark: Mark, records: Sequence[Record]) -> list[Record]:
        """The page without the records this walk already yielded in the same version."""
        return [r for r in records if not (self.key(r) in mark.seen and self.stamp(r) == mark.second)]

    def after(self, mark: Mark, records: Sequence[Record], following: Any, until: float) -> Mark:
        """The mark after a page with more to come (``following``: the channel's token for the
        next page of the same listing; ``until``: the window's exclusive end, whole seconds)."""
        stamps = [(t, r) for r in records if (t := self.stamp(r)) is not None and t < until]
        if self.follow_unplaced:
            if len(stamps) < len(records):
                return Mark(mark.second, following, mark.seen)
            placed = stamps
        else:
            placed = [(t, r) for t, r in stamps if t >= mark.second]
        if not placed:
            return Mark(mark.second, following, mark.seen)
        newest, oldest = max(t for t, _ in placed), min(t for t, _ in placed)
        at_newest = frozenset(self.key(r) for t, r in placed if t == newest)
        if oldest == newest == mark.second:  # the whole page lies in the mark's second: follow the token
            return Mark(mark.second, following, mark.seen | at_newest if self.carry_seen else at_newest)
        if oldest == newest and self.second_page is not None:
            return Mark(newest, self.second_page, at_newest)  # a newer second; its first page is the one just read
        return Mark(newest, self.first, at_newest)

    # -- the loop -----------------------------------------------------------------------------
    def pages(
        self,
        window: Window,
        position: Position | None,
        fetch: Callable[[Mark, int], Listing],
        *,
        counter: Callable[[], Callable[[], int]],
    ) -> Iterator[Page]:
        """The window's pages from ``position`` (None: from its start), each with the position
        to resume after it; ``counter()`` starts a count of HTTP requests (``HttpClient.counter``).

        Raises ``PaginationLoop`` when the walk would ask for a page it already asked for.
        """
        mark = self.load(position) if position else self.start(window)
        until = math.ceil(window.until.timestamp())
        guard = LoopGuard(f"{self.channel} {self.listing}")
        while True:
            guard.advance((mark.second, mark.token))
            count = counter()
            listing = fetch(mark, until)
            following = None if listing.following is None else self.after(mark, listing.records, listing.following, until)
            yield Page(
                records=self.unseen(mark, listing.records),
                position=None if following is None else self.dump(following),
                requests=count(),
                unreadable=listing.unreadable,
                reported_pages=listing.reported_pages,
            )
            if following is None:
                return
            mark = following
