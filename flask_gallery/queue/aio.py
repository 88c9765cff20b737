"""The event loop on which a worker thread runs ``async def`` handlers.

One loop per worker thread, created on first use and closed when the worker exits: a new loop per
call would cost more than a trivial handler, and a shared loop in another thread would lose the
worker's context variables (the request context, the notifier).

asyncio is imported by the first ``async def`` run, not with the package: it costs ~10 ms and
~1.7 MiB, which an app without async handlers never needs.
"""

from __future__ import annotations

import threading
import typing as t

if t.TYPE_CHECKING:
    import asyncio

_local = threading.local()


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
