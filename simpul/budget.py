"""The budget of one window's walk: pages, requests and time, derived from the channel.

A channel that hands out ever-new page tokens, claims a million pages, or keeps inventing
orders would otherwise keep a sync running for as long as it likes, and in ``sync-all``
the accounts after it would never run. So each window of a run gets a budget:

- **pages**: ``ceil(expected * PAGE_FACTOR) + SLACK_PAGES``, where ``expected`` is the
  page count the channel reported for the walk (``Page.reported_pages``, e.g.
  WooCommerce's ``X-WP-TotalPages``; the connector has checked it against the channel's
  documented limits) or, when it reports none, the connector's declared ceiling in pages
  (``ChannelLimits.orders_per_window / page_size``). The factor covers the keyset restarts
  that re-read a page's last second; the slack covers orders arriving during the walk and
  empty pages;
- **requests**: pages x ``ChannelLimits.requests_per_page`` x ``REQUEST_FACTOR`` (retries
  and batch splits);
- **time**: the requests at the channel's own rate limit, x ``TIME_FACTOR``, and never less
  than ``MIN_SECONDS`` (time is the engine's injected clock, counted while this run works
  on the window);
- **idle pages**: at most ``IDLE_PAGES`` pages in a row that bring nothing new (no
  records, or exactly the records of the page before): ever-new page tokens over no new
  data trip this long before the page budget.

Going past any of them raises ``BudgetExceeded`` after the page that crossed it is
committed, so the run fails with a one-line reason and its checkpoint stays; the next run
(a new run id) starts a fresh budget from there. Budgets are counted per run and window in
the checkpoint state, so they survive the steps of a run but never carry over to the next.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors._http.errors import BudgetExceeded
from connectors.contract import ChannelLimits


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    """How generous window budgets are. Tests inject tiny ones; production uses the defaults."""

    page_factor: float = 2.0
    slack_pages: int = 10
    request_factor: float = 3.0
    time_factor: float = 3.0
    min_seconds: float = 600.0
    idle_pages: int = 10
    unlimited_rate: float = 20.0  # requests/s assumed for the time budget when a channel has no rate limit


@dataclass(frozen=True, slots=True)
class Limits:
    pages: int
    requests: int
    seconds: float
    expected: int
    reported: bool


def limits_for(policy: BudgetPolicy, channel: ChannelLimits, reported: int | None, rate: float | None) -> Limits:
    """``reported``: the page count the channel reported for the walk, if any."""
    expected = math.ceil(channel.orders_per_window / channel.page_size) if reported is None else reported
    pages = math.ceil(expected * policy.page_factor) + policy.slack_pages
    requests = math.ceil(pages * channel.requests_per_page * policy.request_factor)
    seconds = max(policy.min_seconds, requests / (rate or policy.unlimited_rate) * policy.time_factor)
    return Limits(pages, requests, seconds, expected, reported is not None)


def charge(
    state: dict[str, Any] | None,
    *,
    run_id: str,
    window: int,
    record_keys: Sequence[str],
    requests: int,
    seconds: float,
    reported_pages: int | None,
    resume: Any = None,
) -> dict[str, Any]:
    """The window's budget counters after one more page (fresh for a new run or window).

    ``record_keys`` are the content hashes of the page's records (mapped or quarantined):
    a page without any, or with exactly the previous page's, brought nothing new.
    ``resume`` is the position committed before this page: the first of a run of idle
    pages keeps it, so a run stopped by them can go back there (``rewind_to``) instead of
    resuming from a page token the misbehaving channel made up.
    """
    if not state or state.get("run") != run_id or state.get("w") != window:
        state = {"run": run_id, "w": window, "pages": 0, "requests": 0, "seconds": 0.0, "idle": 0, "last": None, "reported": None, "resume": None}
    digest = hashlib.sha256("\n".join(sorted(record_keys)).encode()).hexdigest()[:16] if record_keys else None
    idle = not record_keys or digest == state["last"]
    return {
        **state,
        "pages": state["pages"] + 1,
        "requests": state["requests"] + requests,
        "seconds": round(float(state["seconds"]) + max(0.0, seconds), 3),  # JSON reads it back as a Decimal
        "idle": state["idle"] + 1 if idle else 0,
        "resume": (state["resume"] if state["idle"] else resume) if idle else None,
        "last": digest,
        "reported": state["reported"] if state["reported"] is not None else reported_pages,
    }


def rewind_to(state: Mapping[str, Any], position: Any) -> Any:
    """Where a run stopped by its budget should resume: before a run of idle pages (their
    page tokens came from a channel that kept paging without data), else where it stands."""
    return state.get("resume") if state.get("idle") else position


def check(state: Mapping[str, Any], policy: BudgetPolicy, channel: ChannelLimits, rate: float | None, *, what: str, since: datetime, until: datetime) -> None:
    """Raise ``BudgetExceeded`` (one line, naming the window) if any budget is used up."""
    limits = limits_for(policy, channel, state.get("reported"), rate)
    where = f"{what} window {since:%Y-%m-%d %H:%M}..{until:%Y-%m-%d %H:%M} UTC"
    basis = f"the channel reported {limits.expected:,} pages" if limits.reported else f"no page count reported; ceiling {channel.orders_per_window:,} orders"
    if state["idle"] >= policy.idle_pages:
        raise BudgetExceeded(
            f"{where}: {state['idle']} pages in a row brought nothing new (the channel keeps paging without new data); stopped after {state['pages']} pages"
        )
    if state["pages"] > limits.pages:
        raise BudgetExceeded(f"{where}: page budget used up ({state['pages']} pages, at most {limits.pages}: {basis})")
    if state["requests"] > limits.requests:
        raise BudgetExceeded(f"{where}: request budget used up ({state['requests']} requests, at most {limits.requests} for {limits.pages} pages)")
    if state["seconds"] > limits.seconds:
        raise BudgetExceeded(f"{where}: time budget used up ({state['seconds']:.0f} s, at most {limits.seconds:.0f} s for {limits.requests} requests)")
