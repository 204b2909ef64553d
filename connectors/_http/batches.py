"""Lookups by id in batches, with a poisonous record isolated instead of losing the batch.

A channel answers a batch lookup (Shopee: 50 order numbers per detail call; WooCommerce:
100 ids per ``include=``) with one body. If one record in it cannot be read (a raw control
character inside a string, bytes that are not UTF-8, nesting deeper than any parser
allows), the whole body is unreadable, and with it the other 49 orders, on every run.

``isolate_unreadable`` asks such a batch again as two halves, then halves of the half that
still fails, down to single ids: the other records land and each poisonous id is named.
The first call retries as usual (a truncated body is usually the network); the halves are
asked with ``SPLIT_ATTEMPTS`` (the fault is known to repeat), so one poisonous record in 50
costs about 20 extra requests, not 6 per call. The caller turns the ids it could not read
into quarantine entries (``Page.unreadable``): the order exists, so it is not "missing".

Example::

    def fetch(batch, attempts):
        body, _ = http.request("GET", DETAIL, params={"ids": ",".join(batch)}, attempts=attempts)
        return body["orders"]

    replies, unreadable = isolate_unreadable(order_numbers, fetch)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from connectors._http.errors import MalformedReply

R = TypeVar("R")

SPLIT_ATTEMPTS = 2  # one retry for a half: a truncated body can still happen by chance
UNREADABLE = "the channel's reply for this order cannot be parsed (not valid JSON); the next sync asks again"


def isolate_unreadable(ids: Sequence[str], fetch: Callable[[list[str], int | None], R]) -> tuple[list[R], list[tuple[str, str]]]:
    """``fetch(batch, attempts)`` for ``ids``; returns (the replies that could be read, in
    order, and ``(id, reason)`` for each id whose own reply could not)."""
    replies: list[R] = []
    unreadable: list[tuple[str, str]] = []

    def ask(batch: list[str], attempts: int | None) -> None:
        try:
            replies.append(fetch(batch, attempts))
        except MalformedReply:
            if len(batch) == 1:
                unreadable.append((batch[0], UNREADABLE))
                return
            middle = (len(batch) + 1) // 2
            ask(batch[:middle], SPLIT_ATTEMPTS)
            ask(batch[middle:], SPLIT_ATTEMPTS)

    if ids:
        ask(list(ids), None)
    return replies, unreadable
