"""What every seeded sandbox shop shares: orders whose life cycles play out on the data
clock, an index sorted by (update time, id) for listings, and the admin actions.

A channel's sandbox subclasses ``SeededShop`` and supplies:

- ``_index_key(order)``: the order's index key ``(update time, id)``, or None to keep it out of
  listings (WooCommerce's trash);
- ``_apply(order, at, step)``: carry out one scheduled step of its life cycle;
- ``_mutate(body)`` and ``_corrupt(body)``: the ``mutate``/``corrupt`` admin actions;
- ``_returns_admin(body)``: the ``returns`` admin action, for a shop that serves returns;
- ``_escrow_admin(body)``: the ``escrow`` admin action, for a shop that serves its payouts.

The ``poison`` admin action (``hostile.py``) is shared: a poisoned order's API renderings
pass through ``_with_poisons`` (``dump_orders`` shows the order unpoisoned, as the truth).

Steps are a heap of ``(epoch, order id, plan, step)``; an admin override bumps the order's
``plan`` so the steps it scheduled before go stale and are skipped.
"""

from __future__ import annotations

import bisect
import heapq
import threading
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from connectors._sandbox import hostile
from connectors._sandbox.server import Reply, Request, SandboxClock


class SeededShop:
    def __init__(self, clock: SandboxClock | None) -> None:
        self.clock = clock or SandboxClock()
        self._lock = threading.RLock()
        self._orders: dict[Hashable, Any] = {}
        self._index: list[tuple[int, Hashable]] = []
        self._due: list[tuple[int, Hashable, int, str]] = []
        self._now = int(self.clock.now())
        self._poisons: dict[str, list[tuple[str, Any]]] = {}  # order id (as text) -> (field path, value)

    # -- supplied by the channel (template methods: a channel's shop overrides each; the ---
    # -- base is never used alone) -----------------------------------------------------------
    def _index_key(self, order: Any) -> tuple[int, Hashable] | None:
        raise NotImplementedError

    def _apply(self, order: Any, at: int, step: str) -> None:
        raise NotImplementedError

    def _mutate(self, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _corrupt(self, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _returns_admin(self, body: dict[str, Any]) -> dict[str, Any]:
        """The ``returns`` admin action (``touch`` / ``advance`` / ``corrupt``) of a shop that
        serves returns (``SandboxApp.admin``)."""
        raise ValueError(f"the {type(self).__name__} serves no returns")

    def _escrow_admin(self, body: dict[str, Any]) -> dict[str, Any]:
        """The ``escrow`` admin action (``release`` / ``adjust`` / ``corrupt``) of a shop that
        serves its payouts (Shopee's escrow)."""
        raise ValueError(f"the {type(self).__name__} serves no escrow")

    # -- shared ---------------------------------------------------------------------------
    def admin(self, action: str, request: Request) -> Reply | None:
        handlers = {"mutate": self._mutate, "corrupt": self._corrupt, "poison": self._poison, "returns": self._returns_admin, "escrow": self._escrow_admin}
        if action not in handlers:
            return None
        body = request.json() or {}
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object")
        with self._lock:
            self._advance()
            return Reply(200, handlers[action](body))

    def _poison(self, body: dict[str, Any]) -> dict[str, Any]:
        """``{"id", "field", "value"|"raw", "touch": true}`` or ``{"id", "clear": true}``."""
        key = str(body["id"])
        if body.get("clear"):
            self._poisons.pop(key, None)
        else:
            self._poisons.setdefault(key, []).append((str(body["field"]), hostile.poison_value(body)))
        touched = self._mutate({"touch": [body["id"]]}) if body.get("touch", True) else None
        return {"id": key, "poisons": len(self._poisons.get(key, ())), "touched": bool(touched)}

    def _with_poisons(self, key: Any, rendered: dict[str, Any]) -> dict[str, Any]:
        """An order's API rendering with its poisons applied (the rendering is a fresh dict)."""
        for path, value in self._poisons.get(str(key), ()):
            hostile.set_path(rendered, path, value)
        return rendered

    def _advance(self) -> None:
        """Apply every scheduled step that the data clock has reached."""
        self._now = max(self._now, int(self.clock.now()))
        while self._due and self._due[0][0] <= self._now:
            at, order_id, plan, step = heapq.heappop(self._due)
            order = self._orders[order_id]
            if plan == order.plan:
                self._reindex(order, lambda o: self._apply(o, at, step))

    def _schedule(self, order_id: Hashable, order: Any, steps: Iterable[tuple[int, str]], created: int) -> None:
        """Play the steps already due (at creation or now, whichever is later); queue the rest."""
        for at, step in steps:
            if at <= max(self._now, created):
                self._apply(order, at, step)
            else:
                heapq.heappush(self._due, (at, order_id, order.plan, step))

    def _reindex(self, order: Any, change: Callable[[Any], None]) -> None:
        """Change an order and keep its index key in step."""
        key = self._index_key(order)
        if key is not None:
            del self._index[bisect.bisect_left(self._index, key)]
        change(order)
        self._add_to_index(order)

    def _add_to_index(self, order: Any) -> None:
        key = self._index_key(order)
        if key is not None:
            bisect.insort(self._index, key)

    def _build_index(self) -> None:
        self._index = sorted(k for o in self._orders.values() if (k := self._index_key(o)) is not None)


def returns_admin(body: dict[str, Any], returns: dict[Any, Any], find: Callable[[Any], Any], now: int) -> dict[str, Any]:
    """``_returns_admin`` for a shop whose returns play out lazily (each has ``catch_up(now)``,
    ``advance(now)``, ``updated``, ``corrupt``, ``id`` and ``status``): Lazada's, Blibli's."""
    for r in returns.values():
        r.catch_up(now)
    if "corrupt" in body:
        found = find(body["corrupt"])
        found.corrupt, found.updated = True, now
        return {"corrupted": found.id, "now": now}
    at = now if body.get("at") is None else int(body["at"])
    touched = [find(i) for i in body.get("touch") or []]
    for r in touched:
        r.updated = at
    advanced = [find(i) for i in body.get("advance") or []]
    for r in advanced:
        r.advance(now)
    return {"touched": len(touched), "advanced": {str(r.id): r.status for r in advanced}, "now": now}
