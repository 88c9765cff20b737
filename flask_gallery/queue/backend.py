"""What the engine needs from a backend: the seam where a Redis backend will plug in.

The engine keeps listeners, validation and periodic ticks; a backend owns everything that must be
shared between processes for the rules to hold everywhere: the queues and their order, the
per-(page, listener) trigger-mode state, concurrency counters, run-time averages and the page
channels. Each method is one atomic decision, so a Redis backend can implement it as one script.
"""

from __future__ import annotations

import logging
import time
import typing as t
from dataclasses import dataclass

from ..events import Listener
from .channel import REPLAY_SIZE, Replay, Subscriber
from .jobs import Job
from .messages import Message
from .runner import RunContext

_log = logging.getLogger("flask_gallery.queue")

#: Run in the worker thread before the handler: the job's gathered inputs -> the handler's
#: arguments (e.g. a gallery's items in the gallery's ``type``).
PreprocessHook = t.Callable[[list[t.Any], Job], list[t.Any]]
#: Run after a job's terminal message is posted (in the thread that ended it): the app chains
#: the listeners that follow it (``.then``, ``.success``).
EndHook = t.Callable[[Job, str], None]
#: Run in the worker thread after each result (each yield of a generator): the handler's return
#: value -> what the page's channel carries (e.g. the page's HTML updates).
PostprocessHook = t.Callable[[t.Any, Job], t.Any]


@dataclass(frozen=True)
class EngineConfig:
    """The engine's settings, as the extension reads them from ``GALLERY_*`` config keys."""

    #: What ``concurrency_limit="default"`` means (``GALLERY_DEFAULT_CONCURRENCY_LIMIT``).
    default_concurrency_limit: int | None = 1
    #: Queued submissions beyond this are rejected at once (``GALLERY_MAX_QUEUE_SIZE``).
    max_queue_size: int | None = 1000
    #: Waiting submissions per page (``GALLERY_MAX_QUEUED_PER_PAGE``).
    max_queued_per_page: int | None = None
    #: Waiting submissions per session, all its pages together
    #: (``GALLERY_MAX_QUEUED_PER_SESSION``).
    max_queued_per_session: int | None = None
    #: Seconds a run may take when its listener says ``timeout="default"``
    #: (``GALLERY_HANDLER_TIMEOUT``).
    handler_timeout: float | None = None
    #: Worker threads at most, as Gradio's ``max_threads`` (``GALLERY_MAX_THREADS``).
    max_threads: int = 40
    #: Send tracebacks of unexpected handler errors to the page (the app's debug mode).
    debug: bool = False
    run_context: RunContext | None = None
    #: The app's conversions around every run (None: inputs and results pass as they are).
    preprocess: PreprocessHook | None = None
    postprocess: PostprocessHook | None = None
    on_end: EndHook | None = None
    #: Seconds between two progress messages of one job, and between two rounds of queue
    #: positions for one concurrency group.
    progress_interval: float = 0.1
    replay_size: int = REPLAY_SIZE
    replay_ttl: float = 60.0
    clock: t.Callable[[], float] = time.monotonic


class Backend(t.Protocol):
    def start(self, config: EngineConfig) -> None:
        """Prepare to accept submissions (threads start lazily)."""

    def register(self, listener: Listener) -> None:
        """Know ``listener``'s concurrency group; idempotent."""

    def submit(self, job: Job) -> str | None:
        """Apply trigger mode and queue limits (fair shares, :mod:`.quotas`) and queue ``job``;
        return the rejection reason (the ``rejected`` message is already sent) or ``None`` when
        accepted."""

    def cancel(self, page: str, listener_ids: t.Collection[str] | None, reason: str) -> int:
        """Cancel the page's queued, deferred and running jobs of these listeners (all with
        ``None``); return how many."""

    def is_active(self, page: str, listener_id: str) -> bool:
        """Whether the listener has a queued, deferred or running job for the page."""

    def publish(self, page: str, message: Message) -> None: ...

    def subscribe(
        self, page: str, callback: Subscriber, after: int | None = None
    ) -> t.Callable[[], None]: ...

    def replay(self, page: str, after: int = 0) -> Replay: ...

    def release(self, page: str) -> None:
        """Free what is buffered for a page whose client left on purpose (no replay wanted)."""

    def jobs(self) -> list[Job]:
        """Every queued, deferred and running job (running ones include cancelled or timed-out
        runs whose function has not returned yet), as a snapshot to read, not to change: the
        media sweeper keeps what their inputs reference."""

    @property
    def stuck_threads(self) -> int:
        """Threads whose run timed out and whose function has not returned yet."""

    def shutdown(self, *, drain: bool, timeout: float | None) -> None:
        """Stop: finish (``drain``) or cancel what is queued, then join every thread."""


def ended(config: EngineConfig, jobs: t.Iterable[Job], terminals: t.Iterable[str]) -> None:
    """Tell the app that ``jobs`` ended (after their terminal messages): a failing hook is
    logged and ends nothing else."""
    if config.on_end is None:
        return
    for job, terminal in zip(jobs, terminals, strict=True):
        try:
            config.on_end(job, terminal)
        except Exception:
            _log.exception(
                "After %s (%s) ended, its chained listeners failed.", job.listener.name, job.id
            )
