"""Image work off gevent's event loop.

Under gunicorn's gevent worker every page of the process shares one OS thread: a 256 MB
decode (a second or more) there stops every other request of the worker for that long (a
plain page waited 4.3 s while four clients' bombs decoded). Pillow and numpy release the GIL
while they work, so running that work in one of gevent's real threads keeps the loop serving.
Only pure image work is sent there: it must not touch gevent's (monkey-patched) locks and
events, which are not safe across OS threads. Without gevent, work runs where it is called.
"""

from __future__ import annotations

import sys
import typing as t

R = t.TypeVar("R")


def offload(fn: t.Callable[..., R], *args: t.Any) -> R:
    """``fn(*args)``, in gevent's thread pool when threads are gevent's greenlets."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("threading"):
        return fn(*args)
    hub = sys.modules["gevent"].get_hub()  # loaded with gevent.monkey
    return t.cast(R, hub.threadpool.apply(fn, args))
