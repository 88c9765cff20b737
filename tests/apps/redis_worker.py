"""An engine process on Redis for the multi-process tests: ``python -m tests.apps.redis_worker
URL PREFIX LEASE`` registers the listeners of :func:`listeners` and runs their jobs until it is
killed (or reads a line on stdin). The test process submits; these processes run.

The handlers record in Redis what the tests check: how many run at once (``running``, and the
highest ``peak``), and which process ran each job (``ran:<key>``).
"""

from __future__ import annotations

import os
import sys
import time
import typing as t

import redis

from flask_gallery.events import GalleryEvents, Listener
from flask_gallery.queue import EventEngine
from flask_gallery.queue.redis_backend import RedisBackend
from flask_gallery.queue.redis_client import connect


class Comp(GalleryEvents):
    def __init__(self, name: str) -> None:
        self.name = name


def listeners(client: redis.Redis, prefix: str) -> dict[str, Listener]:
    """The same listeners, with the same ids, in every process (and in the test)."""

    def slow(key: str) -> str:
        now = int(client.incr(prefix + "running"))
        client.eval(  # the highest number running at once
            "if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then "
            "redis.call('SET', KEYS[1], ARGV[1]) end",
            1,
            prefix + "peak",
            now,
        )
        time.sleep(0.05)
        client.decr(prefix + "running")
        client.set(prefix + f"ran:{key}", os.getpid())
        return key

    def hang(key: str) -> str:
        client.set(prefix + f"ran:{key}", os.getpid())
        time.sleep(3600)
        return key

    def nap(key: str) -> str:
        client.set(prefix + f"ran:{key}", os.getpid())
        time.sleep(1.5)
        return "woke " + key

    return {
        "nap": Comp("napping").select(nap, inputs="k", trigger_mode="multiple"),
        "slow": Comp("limited").select(
            slow, inputs="k", concurrency_limit=2, trigger_mode="multiple"
        ),
        "hang": Comp("hanging").select(hang, inputs="k", trigger_mode="multiple"),
    }


def engine(url: str, prefix: str, lease: float) -> tuple[EventEngine, dict[str, Listener]]:
    client = connect(url)
    running = EventEngine(backend=RedisBackend(client, prefix, lease=lease))
    found = listeners(client, prefix)
    running.register(*found.values())
    return running, found


def main(argv: t.Sequence[str]) -> None:
    url, prefix, lease = argv[0], argv[1], float(argv[2])
    running, _ = engine(url, prefix, lease)
    print("ready", flush=True)
    sys.stdin.readline()  # until the test closes our stdin (or kills us)
    running.shutdown(timeout=5.0)


if __name__ == "__main__":
    main(sys.argv[1:])
