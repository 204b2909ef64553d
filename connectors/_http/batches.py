"""Lookups by id in batches, with a poisonous record isolated instead of losing the batch.

A channel looks orders up by id a batch at a time (``batched``: the distinct ids, in
order, in lists of at most the channel's limit). ``look_up`` asks every batch and sorts
the ids into the records found, the ids the channel does not know (``missing``) and the
ids whose reply could not be read (below); ``lookup_pages`` turns that into the
``orders_by_id`` pages of the connector contract, one per batch, with their request count.

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

    found = look_up(order_numbers, fetch, key=lambda r: r["order_sn"], size=50)
    found.records, found.missing, found.unreadable
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from connectors._http.errors import MalformedReply
from connectors.contract import Page

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


def batched(ids: Iterable[str], size: int) -> Iterator[list[str]]:
    """The distinct ``ids``, in their first order, in lists of at most ``size``."""
    if size < 1:
        raise ValueError("a batch holds at least one id")
    distinct = list(dict.fromkeys(ids))
    for start in range(0, len(distinct), size):
        yield distinct[start : start + size]


@dataclass(frozen=True, slots=True)
class Found:
    """What a lookup by id found: the records, the ids the channel does not know, and the
    ids it answered for unreadably, with the reason."""

    records: list[Mapping[str, Any]]
    missing: list[str]
    unreadable: list[tuple[str, str]]


def look_up(
    ids: Sequence[str], fetch: Callable[[list[str], int | None], list[Mapping[str, Any]]], *, key: Callable[[Mapping[str, Any]], Any], size: int
) -> Found:
    """``ids`` through ``fetch(batch, attempts)`` in batches of ``size`` (an unreadable batch
    split by ``isolate_unreadable``); ``key(record)`` names the id a record answers for."""
    records: list[Mapping[str, Any]] = []
    unreadable: list[tuple[str, str]] = []
    for batch in batched(ids, size):
        replies, lost = isolate_unreadable(batch, fetch)
        records.extend(r for reply in replies for r in reply)
        unreadable.extend(lost)
    known = {key(r) for r in records} | {i for i, _ in unreadable}
    return Found(records, [i for i in ids if i not in known], unreadable)


def lookup_pages(
    ids: Sequence[str], size: int, find: Callable[[list[str]], Found], *, counter: Callable[[], Callable[[], int]], missing: Sequence[str] = ()
) -> Iterator[Page]:
    """One ``orders_by_id`` page per batch of ``size`` ids: what ``find(batch)`` found, and
    the requests it cost (``counter()`` starts a count: ``HttpClient.counter``). ``missing``
    names ids refused before asking (malformed); the first page reports them."""
    for n, batch in enumerate(batched(ids, size)):
        count = counter()
        found = find(batch)
        yield Page(
            records=found.records,
            position=None,
            missing=[*(missing if n == 0 else ()), *found.missing],
            requests=count(),
            unreadable=found.unreadable,
        )


def keyed_pages(
    keys: Sequence[Any], size: int, fetch: Callable[[Any], Mapping[str, Any] | None], *, counter: Callable[[], Callable[[], int]], unreadable: str
) -> Iterator[Page]:
    """Pages of a read by key where the channel answers one key per request (a tracking API
    without batch reads): the distinct ``keys`` (with a ``text``), ``size`` to a page.
    ``fetch(key)`` returns the reply, or None when the channel does not know the key
    (``Page.missing``); a reply that stays unparseable after its retries
    (``MalformedReply``) is reported as ``Page.unreadable`` with the reason ``unreadable``,
    and the rest of the page goes on."""
    wanted = list(dict.fromkeys(keys))
    for start in range(0, len(wanted), size):
        count = counter()
        records: list[Mapping[str, Any]] = []
        missing: list[str] = []
        lost: list[tuple[str, str]] = []
        for key in wanted[start : start + size]:
            try:
                found = fetch(key)
            except MalformedReply:
                lost.append((key.text, unreadable))
                continue
            if found is None:
                missing.append(key.text)
            else:
                records.append(found)
        yield Page(records=records, position=None, missing=missing, requests=count(), unreadable=lost)
