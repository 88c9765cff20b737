"""The event engine: the one entry point the transport layer calls.

It knows listeners and pages, applies ``cancels`` and periodic ticks, and hands each submission to
a backend that enforces Gradio's queue semantics (trigger mode, concurrency, batches, status). No
Flask and no HTTP here: views pass plain values in and subscribe to plain dicts coming out.
"""

from __future__ import annotations

import time
import typing as t
from dataclasses import dataclass

from ..events import Listenable, Listener, TriggerMode, is_seconds
from ..request import Request
from .backend import Backend, EndHook, EngineConfig, PostprocessHook, PreprocessHook
from .channel import REPLAY_SIZE, Replay, Subscriber
from .jobs import Caller, Job, message
from .messages import Message
from .periodic import Periodic
from .runner import RunContext
from .threads import THREAD_PREFIX, ThreadsBackend
from .timers import Scheduler


@dataclass(frozen=True)
class Submission:
    """What :meth:`EventEngine.submit` decided; the outcome follows on the page's channel."""

    job_id: str
    accepted: bool
    #: Why it was rejected (also sent as the ``rejected`` message's ``reason``).
    reason: str | None = None


class EventEngine:
    """Runs registered handlers with Gradio's listener semantics, off the request thread.

    .. code-block:: python

        engine = EventEngine(default_concurrency_limit=1, max_queue_size=1000)
        engine.register(gallery)
        unsubscribe = engine.subscribe(page, send_to_socket)
        engine.submit(listener, page, inputs=[...], event_data={"index": 2, "value": item})
        ...
        engine.shutdown()

    :param backend: where queues and channels live; the in-process :class:`ThreadsBackend` by
        default.
    :param default_concurrency_limit: what ``concurrency_limit="default"`` means
        (``GALLERY_DEFAULT_CONCURRENCY_LIMIT``); ``None`` for no limit.
    :param max_queue_size: submissions waiting at once before new ones are rejected with "queue
        full" (``GALLERY_MAX_QUEUE_SIZE``); ``None`` for no bound. When it is reached, a client
        (``submit``'s ``client``) holding fewer still gets in, in place of the newest submission
        of the client holding the most (see :mod:`flask_gallery.queue.quotas`).
    :param max_queued_per_page: submissions one page may have waiting; more are rejected with
        "queue full" for that page only (``GALLERY_MAX_QUEUED_PER_PAGE``); ``None`` for no bound.
    :param max_queued_per_session: the same for all pages of one session together
        (``GALLERY_MAX_QUEUED_PER_SESSION``).
    :param handler_timeout: seconds a run of a listener with ``timeout="default"`` may take
        (``GALLERY_HANDLER_TIMEOUT``); ``None`` for no limit, as Gradio.
    :param max_threads: worker threads at most, across all listeners (``GALLERY_MAX_THREADS``).
    :param debug: include tracebacks of unexpected handler errors in ``failed`` messages.
    :param run_context: given the job, a context manager each run happens in;
        :func:`flask_gallery.request.run_context` makes it the app and request context.
    :param preprocess: the app's conversion of a job's gathered inputs into the handler's
        arguments, run in the worker thread (each app passes its own: listeners are shared).
    :param postprocess: the app's conversion of each result into what the page's channel
        carries, run in the worker thread.
    :param on_end: called with each job and its terminal type once its terminal message is
        posted (the app chains ``.then``/``.success`` listeners from it).
    :param progress_interval: seconds between two progress messages of one job, and between two
        rounds of queue positions sent to one concurrency group's waiting submissions.
    :param replay_size: messages kept per page for reconnects and polls (results, notifications,
        errors); each running job's latest status is kept besides, and no finished job's.
    :param replay_ttl: seconds a message stays replayable.
    :param clock: monotonic time source (tests pass a fake one).
    """

    def __init__(
        self,
        *,
        backend: Backend | None = None,
        default_concurrency_limit: int | None = 1,
        max_queue_size: int | None = 1000,
        max_queued_per_page: int | None = None,
        max_queued_per_session: int | None = None,
        handler_timeout: float | None = None,
        max_threads: int = 40,
        debug: bool = False,
        run_context: RunContext | None = None,
        preprocess: PreprocessHook | None = None,
        postprocess: PostprocessHook | None = None,
        on_end: EndHook | None = None,
        progress_interval: float = 0.1,
        replay_size: int = REPLAY_SIZE,
        replay_ttl: float = 60.0,
        clock: t.Callable[[], float] = time.monotonic,
    ) -> None:
        _check_count("default_concurrency_limit", default_concurrency_limit, 1, allow_none=True)
        _check_count("max_queue_size", max_queue_size, 0, allow_none=True)
        _check_count("max_queued_per_page", max_queued_per_page, 1, allow_none=True)
        _check_count("max_queued_per_session", max_queued_per_session, 1, allow_none=True)
        _check_count("max_threads", max_threads, 1, allow_none=False)
        if handler_timeout is not None and not is_seconds(handler_timeout):
            raise ValueError(
                f"'handler_timeout' must be a number of seconds > 0 or None, got"
                f" {handler_timeout!r}."
            )
        self.config = EngineConfig(
            default_concurrency_limit=default_concurrency_limit,
            max_queue_size=max_queue_size,
            max_queued_per_page=max_queued_per_page,
            max_queued_per_session=max_queued_per_session,
            handler_timeout=handler_timeout,
            max_threads=max_threads,
            debug=debug,
            run_context=run_context,
            preprocess=preprocess,
            postprocess=postprocess,
            on_end=on_end,
            progress_interval=progress_interval,
            replay_size=replay_size,
            replay_ttl=replay_ttl,
            clock=clock,
        )
        self.backend: Backend = backend if backend is not None else ThreadsBackend()
        self.backend.start(self.config)
        self._listeners: dict[str, Listener] = {}
        self._ticks = Scheduler(THREAD_PREFIX + "ticks")
        self._periodic = Periodic(self._tick, self.backend.is_active, self._ticks)
        self._closed = False

    # -- listeners --------------------------------------------------------------------------

    def register(self, *items: Listener | Listenable) -> None:
        """Make listeners known (a component registers all of its own): their concurrency groups
        take effect and periodic ones start ticking for connected pages. ``submit`` registers an
        unknown listener itself, but a shared group's lowest limit holds only once all are known.
        """
        for item in items:
            for listener in item.listeners if isinstance(item, Listenable) else [item]:
                self._register(listener)

    def _register(self, listener: Listener) -> None:
        known = self._listeners.get(listener.id)
        if known is listener:
            return
        if known is not None:
            raise ValueError(
                f"Another listener already has id {listener.id!r} ({known.name!r}): gallery names"
                " must be unique per app."
            )
        self._listeners[listener.id] = listener
        for target in listener.cancels:
            self._register(target)
        self.backend.register(listener)
        self._periodic.add(listener)

    def listener(self, listener_id: str) -> Listener:
        """The registered listener with this id (how a message's ``listener`` field is resolved)."""
        try:
            return self._listeners[listener_id]
        except KeyError:
            raise LookupError(
                f"No listener {listener_id!r} is registered. Registered: "
                + (", ".join(repr(k) for k in sorted(self._listeners)) or "none")
                + "."
            ) from None

    # -- events -----------------------------------------------------------------------------

    def submit(
        self,
        listener: Listener | str,
        page: str,
        inputs: t.Sequence[t.Any] = (),
        event_data: t.Any = None,
        request: Request | None = None,
        *,
        trigger_mode: TriggerMode | None = None,
        periodic: bool = False,
        session: str | None = None,
        client: str | None = None,
        caller: Caller = "page",
    ) -> Submission:
        """Submit one event of ``page`` to ``listener``; never blocks on the handler.

        ``cancels`` are applied first, even when this submission is then rejected (as Gradio does).
        Every submission ends with exactly one ``done``, ``failed``, ``cancelled`` or ``rejected``
        message on the page's channel.

        :param trigger_mode: overrides the listener's for this submission.
        :param periodic: marks a tick of an ``every`` listener (the engine's own): its ``inputs``
            are empty, for the app's ``preprocess`` hook to read from the page's current state.
        :param session: the page's session, for ``max_queued_per_session``.
        :param client: who sent it (the remote address), for the fair share of a full queue.
        :param caller: ``"api"`` for a JSON API call, whose results go back in the wire form.
        """
        if isinstance(listener, str):
            listener = self.listener(listener)
        else:
            self._register(listener)
        job = Job(
            listener,
            page,
            list(inputs),
            event_data,
            request,
            trigger_mode,
            periodic,
            session=session,
            client=client,
            caller=caller,
        )
        if listener.cancels:
            self.backend.cancel(page, [target.id for target in listener.cancels], "cancelled")
        if self._closed:
            job.terminal = "rejected"
            why = "The server is shutting down."
            self.backend.publish(page, message("rejected", job, code="shutdown", reason=why))
            return Submission(job.id, False, why)
        if listener.fn is None:  # only cancels (or js in the browser): nothing to run
            job.terminal = "done"
            self.backend.publish(page, message("done", job, value=None))
            return Submission(job.id, True)
        reason = self.backend.submit(job)
        return Submission(job.id, reason is None, reason)

    def cancel(
        self,
        page: str,
        listeners: t.Iterable[Listener | str] | None = None,
        reason: str = "cancelled",
    ) -> int:
        """Cancel the page's submissions of ``listeners`` (all with ``None``): queued ones at
        once, running generators at their next yield; a running plain function finishes but its
        result is dropped. Returns how many were cancelled."""
        ids = None if listeners is None else [_id(item) for item in listeners]
        return self.backend.cancel(page, ids, reason)

    # -- pages ------------------------------------------------------------------------------

    def connect_page(self, page: str, request: Request | None = None) -> None:
        """A page opened its channel: periodic listeners start ticking for it (with ``request``
        as the request of their runs). Calls are counted: ticks stop when every
        :meth:`connect_page` has had its :meth:`disconnect_page`."""
        self._periodic.connect(page, request)

    def disconnect_page(self, page: str) -> None:
        """A page's channel closed: its periodic ticks stop. Its submissions keep running, since
        the page may reconnect and replay what it missed."""
        self._periodic.disconnect(page)

    def close_page(self, page: str) -> int:
        """A page is gone for good: stop ticks and cancel all its submissions."""
        self._periodic.disconnect(page, all_connections=True)
        return self.backend.cancel(page, None, "page closed")

    def subscribe(
        self, page: str, callback: Subscriber, after: int | None = None
    ) -> t.Callable[[], None]:
        """Call ``callback`` with each message for ``page`` (from an engine thread; it must not
        block); with ``after``, first with the buffered messages after that ``seq``. On Redis,
        ``{"type": "link", "up": bool}`` (no ``seq``, no ``job``) says the queue was lost and
        found again."""
        return self.backend.subscribe(page, callback, after)

    def release_page(self, page: str) -> None:
        """The page's client left on purpose (its socket closed normally): free its buffered
        messages, which only a reconnect would have asked for. Its submissions keep running."""
        self.backend.release(page)

    def replay(self, page: str, after: int = 0) -> Replay:
        """Buffered messages for ``page`` after ``seq`` ``after`` (polling fallback, reconnect)."""
        return self.backend.replay(page, after)

    def publish(self, page: str, msg: Message) -> None:
        """Send a message of the caller's own on the page's channel, in sequence with the rest."""
        self.backend.publish(page, msg)

    # -- inspection -------------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        """Every queued, deferred and running submission, read-only (see :meth:`Backend.jobs`)."""
        return self.backend.jobs()

    @property
    def stuck_threads(self) -> int:
        """Worker threads whose run timed out while its function kept running (a sync handler
        blocked in I/O or C code): out of the pool, counted against ``max_threads``, until the
        function returns. Each is logged when its timeout lapses."""
        return self.backend.stuck_threads

    # -- lifetime ---------------------------------------------------------------------------

    def shutdown(self, *, drain: bool = False, timeout: float | None = 10.0) -> None:
        """Stop ticks, then finish (``drain=True``) or cancel what is queued, and join every
        thread the engine started. Running plain functions cannot be interrupted: shutdown waits
        for them up to ``timeout`` seconds in all, then logs the threads still running (stuck
        ones with their handler's name)."""
        self._closed = True
        self._periodic.close()
        self._ticks.close(timeout)
        self.backend.shutdown(drain=drain, timeout=timeout)

    def __enter__(self) -> EventEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def _tick(self, listener: Listener, page: str, request: Request | None) -> None:
        if not self._closed:
            client = request.remote_addr if request is not None else None
            self.submit(
                listener,
                page,
                (),
                None,
                request,
                trigger_mode="once",
                periodic=True,
                client=client,
            )


def _id(item: Listener | str) -> str:
    return item if isinstance(item, str) else item.id


def _check_count(name: str, value: int | None, minimum: int, *, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        extra = " or None" if allow_none else ""
        raise ValueError(f"{name!r} must be an int >= {minimum}{extra}, got {value!r}.")
