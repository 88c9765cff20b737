"""Helpers for the engine tests (a running engine that must leave no thread behind, a recorder of
a page's messages, gates that hold handlers), and the tests that show the helpers can fail."""

from __future__ import annotations

import contextlib
import threading
import time
import typing as t

import pytest

from flask_gallery.events import GalleryEvents
from flask_gallery.queue import THREAD_PREFIX, EventEngine

#: Safety net for waits that should end at once; never reached by a passing test.
WAIT = 5.0
TERMINAL = ("done", "failed", "cancelled", "rejected")


class Comp(GalleryEvents):
    """The smallest component: all the mixin needs is ``name``."""

    def __init__(self, name: str = "g") -> None:
        self.name = name


def eventually(predicate: t.Callable[[], bool], limit: float = WAIT) -> bool:
    """Whether ``predicate`` holds within ``limit`` seconds (for state no message announces)."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def engine_threads() -> list[threading.Thread]:
    return [th for th in threading.enumerate() if th.name.startswith(THREAD_PREFIX)]


#: The backend the next ``running_engine`` gets: set by :func:`both_backends` per test.
BACKEND: dict[str, str | None] = {"redis_url": None}


@pytest.fixture(autouse=True, params=["threads", "redis"])
def both_backends(request: pytest.FixtureRequest) -> t.Iterator[str]:
    """Imported by an engine test module, runs each of its tests on both backends, so they cannot
    drift apart: the in-process one and Redis (a real redis-server)."""
    BACKEND["redis_url"] = (
        request.getfixturevalue("redis_url") if request.param == "redis" else None
    )
    yield request.param
    BACKEND["redis_url"] = None


@contextlib.contextmanager
def running_engine(**kwargs: t.Any) -> t.Iterator[EventEngine]:
    """An engine that is shut down afterwards, failing the test if any of its threads survive."""
    before = set(engine_threads())  # another test's leftovers are not this engine's fault
    url = BACKEND["redis_url"]
    client = None
    if url is not None and "backend" not in kwargs:
        from flask_gallery.queue.redis_backend import RedisBackend
        from flask_gallery.queue.redis_client import connect

        client = connect(url)
        kwargs["backend"] = RedisBackend(client, "test:")
    engine = EventEngine(**kwargs)
    try:
        yield engine
    finally:
        engine.shutdown(timeout=WAIT)
        if client is not None:
            client.connection_pool.disconnect()
        leftover = set(engine_threads()) - before
        assert not leftover, f"engine threads outlived shutdown: {leftover}"


class Recorder:
    """Collects the messages of the pages it subscribes to, and waits on them."""

    def __init__(self, engine: EventEngine, *pages: str) -> None:
        self.messages: list[dict[str, t.Any]] = []
        self._cond = threading.Condition()
        for page in pages:
            engine.subscribe(page, self)

    def __call__(self, message: dict[str, t.Any]) -> None:
        with self._cond:
            self.messages.append(message)
            self._cond.notify_all()

    def wait_for(
        self, predicate: t.Callable[[list[dict[str, t.Any]]], bool], timeout: float = WAIT
    ) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.messages), timeout)

    def of(self, job_id: str, *types: str) -> list[dict[str, t.Any]]:
        with self._cond:
            return [
                m
                for m in self.messages
                if m.get("job") == job_id and (not types or m["type"] in types)
            ]

    def wait_type(self, job_id: str, *types: str, timeout: float = WAIT) -> dict[str, t.Any]:
        assert self.wait_for(
            lambda ms: any(m.get("job") == job_id and m["type"] in types for m in ms), timeout
        ), f"no {types} message for job {job_id}; got {self.types(job_id)}"
        return self.of(job_id, *types)[0]

    def terminal(self, job_id: str, timeout: float = WAIT) -> dict[str, t.Any]:
        """The job's one terminal message (waiting for it), checking there is only one."""
        found = self.wait_type(job_id, *TERMINAL, timeout=timeout)
        assert len(self.of(job_id, *TERMINAL)) == 1
        return found

    def types(self, job_id: str) -> list[str]:
        return [m["type"] for m in self.of(job_id)]


class Gates:
    """Per-key events a handler waits on, so a test decides when each run ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gates: dict[t.Any, threading.Event] = {}
        self.entered: dict[t.Any, threading.Event] = {}

    def _get(self, table: dict[t.Any, threading.Event], key: t.Any) -> threading.Event:
        with self._lock:
            return table.setdefault(key, threading.Event())

    def hold(self, key: t.Any) -> None:
        """Called by a handler: say it started, then wait to be released."""
        self._get(self.entered, key).set()
        assert self._get(self._gates, key).wait(WAIT), f"gate {key!r} was never opened"

    def wait_entered(self, key: t.Any) -> None:
        assert self._get(self.entered, key).wait(WAIT), f"handler {key!r} never started"

    def open(self, key: t.Any) -> None:
        self._get(self._gates, key).set()

    def ordered(self, seen: list[str]) -> t.Callable[[str], str]:
        """A handler that waits at its gate, then appends its key to ``seen`` and returns it."""

        def handler(key: str) -> str:
            self.hold(key)
            seen.append(key)
            return key

        return handler


class Concurrency:
    """Counts handlers running at once, keeping the highest count seen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0

    @contextlib.contextmanager
    def running(self) -> t.Iterator[None]:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            yield
        finally:
            with self._lock:
                self.now -= 1


def test_running_engine_fails_when_a_thread_survives() -> None:
    stuck = threading.Event()
    with (
        pytest.raises(AssertionError, match="outlived shutdown"),
        running_engine(max_threads=1) as engine,
    ):
        g = Comp()
        listener = g.select(lambda: stuck.wait(WAIT))
        rec = Recorder(engine, "p")
        job = engine.submit(listener, "p").job_id
        rec.wait_type(job, "started")
        # Shutdown cannot stop a running plain function; a tiny join timeout leaves it alive.
        engine.shutdown(timeout=0.01)
    stuck.set()
    for thread in engine_threads():
        thread.join(WAIT)
    assert not engine_threads()


def test_recorder_terminal_requires_exactly_one() -> None:
    with running_engine() as engine:
        rec = Recorder(engine, "p")
        rec({"type": "done", "job": "j"})
        rec({"type": "failed", "job": "j"})
        with pytest.raises(AssertionError):
            rec.terminal("j")
