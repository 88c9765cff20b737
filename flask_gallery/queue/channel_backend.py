"""What every backend does the same way around its page channels: the channel operations of
the :class:`.backend.Backend` protocol go to the backend's channels object, and a handler's
progress reports are throttled into ``progress`` messages the backend sends with its own
``emit``. Shared by the threads and the Redis backend, so the two cannot drift apart here."""

from __future__ import annotations

import typing as t

from ..progress import ProgressUnit
from .backend import EngineConfig
from .channel import Replay, Subscriber
from .jobs import Job, message
from .messages import Message
from .throttle import ProgressThrottle
from .timers import Scheduler


class Channels(t.Protocol):
    def publish(self, page: str, message: Message) -> None: ...

    def subscribe(
        self, page: str, callback: Subscriber, after: int | None = None
    ) -> t.Callable[[], None]: ...

    def replay(self, page: str, after: int = 0) -> Replay: ...

    def release(self, page: str) -> None: ...


C = t.TypeVar("C", bound=Channels)


class ChannelBackend(t.Generic[C]):
    _channels: C
    _throttle: ProgressThrottle
    _config: EngineConfig
    _started = False

    def _begin(self, config: EngineConfig, scheduler: Scheduler) -> None:
        """Start once: the config, and progress throttled on ``scheduler``."""
        if self._started:
            raise RuntimeError("This backend is already started; create one backend per engine.")
        self._started = True
        self._config = config
        self._throttle = ProgressThrottle(
            self._send_progress, scheduler, interval=config.progress_interval, clock=config.clock
        )

    def emit(self, job: Job, msg: Message) -> None:
        raise NotImplementedError

    def progress(self, job: Job, units: list[ProgressUnit] | None) -> None:
        if job.terminal is None:  # a cancelled run may go on reporting: nobody listens
            self._throttle.report(job, units)

    def _send_progress(self, job: Job, units: list[ProgressUnit] | None) -> None:
        data = None if units is None else [unit.to_dict() for unit in units]
        self.emit(job, message("progress", job, progress=data))

    def publish(self, page: str, message: Message) -> None:
        self._channels.publish(page, message)

    def subscribe(
        self, page: str, callback: Subscriber, after: int | None = None
    ) -> t.Callable[[], None]:
        return self._channels.subscribe(page, callback, after)

    def replay(self, page: str, after: int = 0) -> Replay:
        return self._channels.replay(page, after)

    def release(self, page: str) -> None:
        self._channels.release(page)
