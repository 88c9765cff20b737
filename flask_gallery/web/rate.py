"""A token bucket: how many of something one client may do per second, with a burst.

Flask-free, and fed a clock, so it is tested without waiting. The page's socket uses one per
connection for the clicks it carries (:mod:`.socket`): a socket acts on the frames it has received
one after another, so a client sending a thousand clicks at once would otherwise hold the
server's CPU (and, under gevent, every other page's greenlet) for the time of a thousand clicks.
"""

from __future__ import annotations

import time
import typing as t


class TokenBucket:
    """Allows ``rate`` events a second on average and ``burst`` at once.

    :param rate: tokens added per second.
    :param burst: tokens held at most (the bucket starts full).
    :param clock: monotonic seconds.
    """

    __slots__ = ("_clock", "_last", "_tokens", "burst", "rate")

    def __init__(
        self, rate: float, burst: float, clock: t.Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"A token bucket needs rate > 0 and burst >= 1; got {rate}, {burst}.")
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens = float(burst)
        self._last = clock()

    def take(self) -> bool:
        """Spend one token if there is one; False when the client is over its rate."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
