"""Progress throttling: at most one progress message per interval per job, newest wins.

A handler may report progress thousands of times a second (a tqdm loop); the page needs a few
updates a second, and the last one it sees must be the latest.
"""

from __future__ import annotations

import threading
import time
import typing as t

from ..progress import ProgressUnit
from .jobs import Job
from .timers import Scheduler, TimerHandle

Units = list[ProgressUnit] | None


class _State:
    __slots__ = ("last", "pending", "timer")

    def __init__(self) -> None:
        self.last = float("-inf")
        self.pending: tuple[Units] | None = None
        self.timer: TimerHandle | None = None


class ProgressThrottle:
    def __init__(
        self,
        send: t.Callable[[Job, Units], None],
        scheduler: Scheduler,
        *,
        interval: float = 0.1,
        clock: t.Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._scheduler = scheduler
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._states: dict[str, _State] = {}

    def report(self, job: Job, units: Units) -> None:
        now = self._clock()
        with self._lock:
            state = self._states.get(job.id)
            if state is None:
                state = self._states[job.id] = _State()
            if state.timer is None and now - state.last >= self._interval:
                state.last = now
                send_now = True
            else:
                send_now = False
                state.pending = (units,)
                if state.timer is None:
                    delay = max(self._interval - (now - state.last), 0.0)
                    state.timer = self._scheduler.call_later(delay, lambda: self._flush(job))
        if send_now:
            self._send(job, units)

    def forget(self, job: Job) -> None:
        """Drop the job's pending progress: it has ended, so the page no longer needs it."""
        with self._lock:
            state = self._states.pop(job.id, None)
        if state is not None and state.timer is not None:
            state.timer.cancel()

    def _flush(self, job: Job) -> None:
        with self._lock:
            state = self._states.get(job.id)
            if state is None or state.pending is None:
                if state is not None:
                    state.timer = None
                return
            (units,) = state.pending
            state.pending = None
            state.timer = None
            state.last = self._clock()
        self._send(job, units)
