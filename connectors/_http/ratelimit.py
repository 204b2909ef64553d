"""A per-account token bucket: stay under a channel's request budget instead of hitting 429s.

Example::

    bucket = TokenBucket(rate=10, capacity=10)   # 10 requests/s, bursts of 10
    bucket.acquire()                             # blocks until a token is free
    bucket.pause(2.0)                            # a 429 said Retry-After: 2

``acquire`` is called inside the retried function, so every attempt costs a token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(
        self,
        rate: float,
        capacity: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.capacity = float(capacity if capacity is not None else max(1.0, rate))
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def acquire(self, tokens: float = 1.0) -> float:
        """Take ``tokens``, sleeping as needed; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._refill(now)
                delay = max(0.0, self._paused_until - now)
                if delay == 0.0:
                    if self._tokens >= tokens - 1e-9:  # float slack: never spin on 1e-17
                        self._tokens = max(0.0, self._tokens - tokens)
                        return waited
                    delay = (tokens - self._tokens) / self.rate
            self._sleep(delay)
            waited += delay

    def pause(self, seconds: float) -> None:
        """Hold every caller for ``seconds`` (the server asked us to back off) and drain."""
        with self._lock:
            now = self._clock()
            self._paused_until = max(self._paused_until, now + seconds)
            self._tokens = 0.0
            self._updated = now + seconds


class Unlimited:
    """A bucket that never waits (sandbox benchmarks, tests)."""

    def acquire(self, tokens: float = 1.0) -> float:
        return 0.0

    def pause(self, seconds: float) -> None:
        return None
