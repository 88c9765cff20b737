"""Queue position and ETA, with Gradio's formula (``Queue.broadcast_estimations``).

Kept apart from any backend so a Redis backend computes the same numbers from the same inputs.
"""

from __future__ import annotations

import typing as t
from collections import deque

from .jobs import Job


class RunTimes:
    """A moving average of each listener's recent run times: recent load predicts the next wait
    better than the whole history, and the memory stays bounded."""

    def __init__(self, window: int = 20) -> None:
        self._window = window
        self._times: dict[str, deque[float]] = {}
        self._sums: dict[str, float] = {}

    def add(self, listener_id: str, seconds: float) -> None:
        times = self._times.get(listener_id)
        if times is None:
            times = self._times[listener_id] = deque()
            self._sums[listener_id] = 0.0
        times.append(seconds)
        self._sums[listener_id] += seconds
        if len(times) > self._window:
            self._sums[listener_id] -= times.popleft()

    def average(self, listener_id: str) -> float | None:
        times = self._times.get(listener_id)
        if not times:
            return None
        return self._sums[listener_id] / len(times)


def estimations(
    queued: t.Iterable[Job],
    running: t.Iterable[tuple[str, float]],
    running_count: int,
    limit: int | None,
    times: RunTimes,
    now: float,
) -> list[tuple[Job, int, float | None]]:
    """``(job, rank, eta_seconds)`` for each queued job of one concurrency group, in order.

    :param running: ``(listener_id, start_time)`` of the group's running jobs.
    """
    until_free: float | None = 0.0
    if limit is not None and running_count >= limit:
        ends: list[float] = []
        for listener_id, started in running:
            avg = times.average(listener_id)
            if avg is None:
                until_free = None
                break
            ends.append(started + avg)
        else:
            until_free = max(min(ends) - now, 0.0) if ends else 0.0
    out: list[tuple[Job, int, float | None]] = []
    waited = 0.0
    for rank, job in enumerate(queued):
        avg = times.average(job.listener.id)
        eta = None if avg is None or until_free is None else avg + waited + until_free
        out.append((job, rank, eta))
        if avg is not None and limit is not None:
            waited += avg / limit
    return out
