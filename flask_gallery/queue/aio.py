"""The event loop on which a worker thread runs ``async def`` handlers.

One loop per worker thread, created on first use and closed when the worker exits: a new loop per
call would cost more than a trivial handler, and a shared loop in another thread would lose the
worker's context variables (the request context, the notifier).

asyncio is imported by the first ``async def`` run, not with the package: an app without async
handlers never pays for it.

An :class:`Interrupt` lets another thread stop what a worker awaits (a handler's timeout): the
awaitable runs as a task, which the timeout cancels from the timer thread.
"""

from __future__ import annotations

import threading
import typing as t

if t.TYPE_CHECKING:
    import asyncio

_local = threading.local()
T = t.TypeVar("T")


def thread_loop() -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None:
        import asyncio

        loop = _local.loop = asyncio.new_event_loop()
    return loop


def close_thread_loop() -> None:
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None:
        return
    _local.loop = None
    try:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()


class Interrupt:
    """One run's handle for stopping it from another thread: :meth:`request` cancels what
    :meth:`run` awaits now, and anything it awaits later at once. A plain function cannot be
    stopped; it only learns from :attr:`requested` that nobody waits for it any more."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancel: t.Callable[[], object] | None = None
        #: Set by :meth:`request`.
        self.requested = False

    def request(self) -> None:
        with self._lock:  # held while cancelling: the loop cannot close meanwhile
            self.requested = True
            if self._cancel is not None:
                self._cancel()

    def run(self, awaitable: t.Awaitable[T]) -> T:
        """Await ``awaitable`` on this thread's loop, cancellable by :meth:`request`."""
        import asyncio

        loop = thread_loop()
        task = asyncio.ensure_future(awaitable, loop=loop)
        with self._lock:
            if self.requested:
                task.cancel()
            self._cancel = lambda: loop.call_soon_threadsafe(task.cancel)
        try:
            return loop.run_until_complete(task)
        finally:
            with self._lock:
                self._cancel = None
