"""Handler timeouts: the page is told, the slot is freed, stuck threads leave the pool."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import typing as t

import pytest

from flask_gallery.events import make_listener
from flask_gallery.queue import EventEngine

from .test_queue_support import (
    WAIT,
    Comp,
    Recorder,
    both_backends,  # noqa: F401
    engine_threads,
    eventually,
    running_engine,
)

#: Short enough to keep the tests quick, long enough for a loaded machine to start a run.
TIMEOUT = 0.2


def _failed_by_timeout(rec: Recorder, job: str, seconds: float = TIMEOUT) -> None:
    end = rec.terminal(job)
    assert end["type"] == "failed", end
    assert f"took longer than its timeout of {seconds:g} s and was stopped" in end["error"]


def test_a_blocked_function_fails_frees_its_slot_and_its_thread_leaves_the_pool() -> None:
    release = threading.Event()
    late = threading.Event()
    threads: list[threading.Thread] = []

    def handler(key: str) -> str:
        if key == "stuck":
            threads.append(threading.current_thread())
            release.wait(WAIT)  # as a handler blocked in I/O or C code
            late.set()
        return key

    with running_engine() as engine:
        listener = Comp().select(handler, inputs="k", trigger_mode="multiple", timeout=TIMEOUT)
        rec = Recorder(engine, "p", "q")
        stuck = engine.submit(listener, "p", ["stuck"]).job_id
        after = engine.submit(listener, "q", ["next"]).job_id  # waits for the one slot
        _failed_by_timeout(rec, stuck)
        assert rec.terminal(after)["value"] == "next"  # the slot was freed: it ran meanwhile
        assert not late.is_set()
        assert engine.stuck_threads == 1
        release.set()
        assert late.wait(WAIT)
        assert eventually(lambda: engine.stuck_threads == 0)
        assert rec.types(stuck) == ["estimation", "started", "failed"]  # the late result: dropped
        threads[0].join(WAIT)  # it exits: never given another job
        assert not threads[0].is_alive()


def test_a_generator_is_closed_at_its_next_yield() -> None:
    proceed = threading.Event()
    closed = threading.Event()
    after_timeout: list[str] = []

    def stream() -> t.Iterator[str]:
        try:
            yield "first"
            proceed.wait(WAIT)
            yield "late"
            after_timeout.append("resumed past the yield")
        finally:
            closed.set()

    with running_engine() as engine:
        listener = Comp().select(stream, timeout=TIMEOUT)
        rec = Recorder(engine, "p")
        job = engine.submit(listener, "p").job_id
        _failed_by_timeout(rec, job)
        proceed.set()
        assert closed.wait(WAIT)
        assert after_timeout == []
        assert [m["value"] for m in rec.of(job, "output")] == ["first"]
        assert eventually(lambda: engine.stuck_threads == 0)


def _awaiting(cancelled: threading.Event) -> t.Callable[[], t.Awaitable[None]]:
    async def wait_long() -> None:
        try:
            await asyncio.sleep(WAIT * 2)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    return wait_long


def _coroutine(cancelled: threading.Event) -> t.Callable[[], t.Any]:
    wait_long = _awaiting(cancelled)

    async def handler() -> str:
        await wait_long()
        return "never"

    return handler


def _async_generator(cancelled: threading.Event) -> t.Callable[[], t.Any]:
    wait_long = _awaiting(cancelled)

    async def handler() -> t.AsyncIterator[str]:
        yield "first"
        await wait_long()
        yield "never"

    return handler


@pytest.mark.parametrize(
    ("make", "outputs"), [(_coroutine, []), (_async_generator, ["first"])], ids=["coro", "agen"]
)
def test_an_async_handler_is_cancelled_in_its_await(
    make: t.Callable[[threading.Event], t.Callable[[], t.Any]], outputs: list[str]
) -> None:
    cancelled = threading.Event()
    with running_engine() as engine:
        listener = Comp().select(make(cancelled), timeout=TIMEOUT)
        rec = Recorder(engine, "p")
        job = engine.submit(listener, "p").job_id
        _failed_by_timeout(rec, job)
        assert cancelled.wait(WAIT)
        assert [m["value"] for m in rec.of(job, "output")] == outputs
        # Cancelled at once: its thread is stuck only until the cancellation lands.
        assert eventually(lambda: engine.stuck_threads == 0)
        assert rec.types(job)[-1] == "failed"


def test_a_batch_times_out_as_one_run() -> None:
    release = threading.Event()
    entered = threading.Event()
    calls: list[list[str]] = []

    def batch(keys: list[str]) -> list[list[str]]:
        calls.append(list(keys))
        entered.set()
        release.wait(WAIT)
        return [keys]

    with running_engine() as engine:
        listener = Comp().select(
            batch,
            inputs="k",
            batch=True,
            max_batch_size=3,
            trigger_mode="multiple",
            timeout=TIMEOUT,
        )
        rec = Recorder(engine, "p")
        first = engine.submit(listener, "p", ["hold"]).job_id
        assert entered.wait(WAIT)
        jobs = [engine.submit(listener, "p", [k]).job_id for k in "abc"]  # gathered meanwhile
        for job in [first, *jobs]:
            _failed_by_timeout(rec, job)
        assert calls == [["hold"], ["a", "b", "c"]]
        assert engine.stuck_threads == 2  # one per run, not per submission
        release.set()
        assert eventually(lambda: engine.stuck_threads == 0)


def test_default_means_the_engine_setting_and_none_means_no_timeout() -> None:
    release = threading.Event()

    def wait(key: str) -> str:
        release.wait(WAIT)
        return key

    with running_engine(handler_timeout=TIMEOUT) as engine:
        comp = Comp()
        default = comp.select(wait, inputs="k")
        unlimited = comp.change(wait, inputs="k", timeout=None)
        rec = Recorder(engine, "p")
        timed = engine.submit(default, "p", ["d"]).job_id
        free = engine.submit(unlimited, "p", ["n"]).job_id
        _failed_by_timeout(rec, timed)
        assert rec.of(free, "failed", "done") == []  # still running past the timeout
        release.set()
        assert rec.terminal(free)["value"] == "n"


def test_one_hung_listener_never_takes_every_thread() -> None:
    release = threading.Event()

    with running_engine(max_threads=4) as engine:
        comp = Comp()
        hung = comp.select(
            lambda: release.wait(WAIT),
            trigger_mode="multiple",
            concurrency_limit=None,
            timeout=TIMEOUT,
        )
        quick = comp.change(lambda: "quick", trigger_mode="multiple")
        rec = Recorder(engine, "p")
        for job in [engine.submit(hung, "p").job_id for _ in range(2)]:
            _failed_by_timeout(rec, job)
        assert engine.stuck_threads == 2
        # Its stuck threads are half of max_threads: the hung listener starts no third run...
        third = engine.submit(hung, "p").job_id
        assert not rec.wait_for(lambda _: bool(rec.of(third, "started")), TIMEOUT * 2)
        # ...while the other listeners still run on the rest of the pool.
        assert rec.terminal(engine.submit(quick, "p").job_id)["value"] == "quick"
        release.set()  # its threads return: it runs again
        assert rec.terminal(third)["type"] == "done"
        assert eventually(lambda: engine.stuck_threads == 0)


def test_no_more_threads_than_max_threads_however_many_runs_time_out() -> None:
    release = threading.Event()

    def hang() -> None:
        release.wait(WAIT)

    with running_engine(max_threads=2) as engine:
        first = Comp("a").select(hang, trigger_mode="multiple", timeout=TIMEOUT)
        second = Comp("b").select(hang, trigger_mode="multiple", timeout=TIMEOUT)
        quick = Comp("c").select(lambda: "quick")
        rec = Recorder(engine, "p")
        timed = [engine.submit(first, "p").job_id, engine.submit(second, "p").job_id]
        for job in timed:
            _failed_by_timeout(rec, job)
        assert engine.stuck_threads == 2
        waiting = engine.submit(quick, "p").job_id
        assert not rec.wait_for(lambda _: bool(rec.of(waiting, "started")), TIMEOUT * 2)
        assert len([th for th in engine_threads() if "worker" in th.name]) == 2
        release.set()  # a stuck thread returns and exits: its place in the pool comes back
        assert rec.terminal(waiting)["value"] == "quick"
        assert eventually(lambda: engine.stuck_threads == 0)


def test_shutdown_reports_a_stuck_thread_and_returns(caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()

    def hang() -> None:
        release.wait(WAIT)

    engine = EventEngine()
    try:
        rec = Recorder(engine, "p")
        job = engine.submit(Comp().select(hang, timeout=TIMEOUT), "p").job_id
        _failed_by_timeout(rec, job)
        with caplog.at_level(logging.WARNING, logger="flask_gallery.queue"):
            started = time.monotonic()
            engine.shutdown(timeout=0.2)
            assert time.monotonic() - started < WAIT
        assert "(stuck in test_shutdown_reports_a_stuck_thread_and_returns.<locals>.hang)" in (
            caplog.text
        )
        assert engine.stuck_threads == 1
    finally:
        release.set()
        for thread in engine_threads():
            thread.join(WAIT)
    assert engine.stuck_threads == 0


def test_timeouts_are_logged_with_the_listener_and_seconds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = threading.Event()
    with caplog.at_level(logging.WARNING, logger="flask_gallery.queue"), running_engine() as engine:
        listener = Comp("logged").select(lambda: release.wait(WAIT), timeout=TIMEOUT)
        rec = Recorder(engine, "p")
        _failed_by_timeout(rec, engine.submit(listener, "p").job_id)
        release.set()
        assert eventually(lambda: engine.stuck_threads == 0)
    assert f"(logged.select.0) took longer than its timeout of {TIMEOUT:g} s" in caplog.text


def test_quick_runs_with_a_timeout_leave_no_timers_behind() -> None:
    with running_engine() as engine:
        listener = Comp().select(lambda k: k, inputs="k", trigger_mode="multiple", timeout=60)
        rec = Recorder(engine, "p")
        for n in range(400):
            assert rec.terminal(engine.submit(listener, "p", [n]).job_id)["value"] == n
        # Each run's timer is cancelled when it ends; cancelled timers do not pile up for 60 s.
        assert engine.backend._scheduler.pending() < 200  # type: ignore[attr-defined]


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), True, "5", "never"])
def test_timeout_is_checked_at_registration(bad: t.Any) -> None:
    with pytest.raises(ValueError, match=r"'timeout' must be a number of seconds > 0, None"):
        make_listener(Comp(), "g.select.0", "select", lambda: None, timeout=bad)


@pytest.mark.parametrize("good", [None, "default", 1, 0.5])
def test_valid_timeouts(good: t.Any) -> None:
    listener = make_listener(Comp(), "g.select.0", "select", lambda: None, timeout=good)
    assert listener.timeout == good


@pytest.mark.parametrize("bad", [0, -2.5, "10"])
def test_the_engine_setting_is_checked(bad: t.Any) -> None:
    with pytest.raises(ValueError, match="'handler_timeout' must be a number of seconds > 0"):
        EventEngine(handler_timeout=bad)
