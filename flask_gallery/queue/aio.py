"""The event loop on which a worker thread runs ``async def`` handlers.

One loop per worker thread, created on first use and closed when the worker exits: a new loop per
call would cost more than a trivial handler, and a shared loop in another thread would lose the
worker's context variables (the request context, the notifier).
"""

from __future__ import annotations

import asyncio
import threading

_local = threading.local()


def thread_loop() -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None:
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
