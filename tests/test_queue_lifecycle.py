"""Queue limits, shutdown, and periodic (``every``) listeners."""

from __future__ import annotations

import threading
import typing as t

import pytest

from flask_gallery.queue import EventEngine, Job

from .test_queue_support import (  # noqa: F401
    BACKEND,
    WAIT,
    Comp,
    Concurrency,
    Gates,
    Recorder,
    both_backends,
    running_engine,
)


def test_full_queue_rejects_at_once() -> None:
    with running_engine(max_queue_size=2) as engine:
        gates = Gates()
        listener = Comp().select(gates.hold, inputs="k", trigger_mode="multiple")
        rec = Recorder(engine, "p")
        running = engine.submit(listener, "p", ["a"]).job_id
        gates.wait_entered("a")  # running: no longer counts as queued
        queued = [engine.submit(listener, "p", [k]).job_id for k in "bc"]
        full = engine.submit(listener, "p", ["d"])
        assert not full.accepted
        assert (full.reason or "").startswith("queue full")
        assert rec.terminal(full.job_id)["code"] == "queue_full"
        for key in "abc":
            gates.open(key)
        assert [rec.terminal(job)["type"] for job in [running, *queued]] == ["done"] * 3


def test_shutdown_cancels_queued_and_stops_generators() -> None:
    gates = Gates()
    closed = threading.Event()

    def stream() -> t.Iterator[str]:
        try:
            yield "first"
            gates.hold("stream")
            yield "never delivered"
        finally:
            closed.set()

    with running_engine() as engine:
        g = Comp()
        listener = g.select(stream, trigger_mode="multiple")
        rec = Recorder(engine, "p")
        running = engine.submit(listener, "p").job_id
        gates.wait_entered("stream")
        queued = engine.submit(listener, "p").job_id

        def resume_when_cancelled(message: dict[str, t.Any]) -> None:
            if message["type"] == "cancelled" and message["job"] == running:
                gates.open("stream")  # the generator goes on only to find itself cancelled

        engine.subscribe("p", resume_when_cancelled)
        engine.shutdown()
        assert closed.is_set()
        assert rec.terminal(running)["reason"] == "shutdown"
        assert [m["value"] for m in rec.of(running, "output")] == ["first"]
        late = engine.submit(listener, "p")
        assert not late.accepted
        assert rec.terminal(late.job_id)["type"] == "rejected"
    if BACKEND["redis_url"] is None:
        assert rec.terminal(queued)["type"] == "cancelled"
        return
    # On Redis what waits stays queued for the other processes: the next one runs it.
    assert rec.types(queued) == ["estimation"]
    with running_engine() as other:
        rec = Recorder(other, "p")
        other.register(listener)
        assert rec.wait_for(lambda ms: any(m["job"] == queued and m["type"] == "done" for m in ms))


def test_shutdown_with_drain_finishes_the_queue() -> None:
    gates = Gates()
    with running_engine() as engine:
        listener = Comp().select(gates.hold, inputs="k", trigger_mode="multiple")
        rec = Recorder(engine, "p")
        jobs = [engine.submit(listener, "p", [k]).job_id for k in "abc"]
        gates.wait_entered("a")
        for key in "abc":
            gates.open(key)
        engine.shutdown(drain=True)
        assert [rec.terminal(job)["type"] for job in jobs] == ["done"] * 3


def test_every_runs_per_connected_page_without_overlap_and_stops() -> None:
    gates = Gates()
    counter = Concurrency()
    runs: dict[str, int] = {"p": 0, "q": 0}
    lock = threading.Lock()
    third = threading.Event()

    def tick(request: t.Any = None) -> int:
        with counter.running():
            with lock:
                runs["p"] += 1
                n = runs["p"]
            if n == 1:
                gates.hold("first")  # ticks keep coming while this run holds
            if n == 3:
                third.set()
        return n

    with running_engine() as engine:
        g = Comp()
        listener = g.listen(None, tick, every=0.01, concurrency_limit=None)
        engine.register(g)
        rec = Recorder(engine, "p")
        engine.connect_page("p")
        gates.wait_entered("first")
        # Several periods pass while the first run holds: no second run may start.
        assert not rec.wait_for(lambda ms: sum(m["type"] == "started" for m in ms) > 1, 0.1)
        gates.open("first")
        assert third.wait(WAIT)
        engine.disconnect_page("p")
        assert engine._periodic.pages() == []
        assert rec.wait_for(lambda ms: not engine.backend.is_active("p", listener.id))
        settled = runs["p"]
        assert not rec.wait_for(lambda ms: runs["p"] != settled, 0.1)
        assert counter.peak == 1
        assert all(m["type"] != "rejected" for m in rec.messages)


@pytest.mark.parametrize("bad", [{"max_threads": 0}, {"max_queue_size": -1}])
def test_engine_settings_are_checked(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        EventEngine(**bad)  # type: ignore[arg-type]


def test_ticks_survive_a_reconnect_and_are_marked_periodic() -> None:
    ticked = threading.Event()
    flags: list[bool] = []

    def pre(values: list[t.Any], job: Job) -> list[t.Any]:
        flags.append(job.periodic)
        return values

    with running_engine(preprocess=pre) as engine:
        g = Comp()
        g.listen(None, ticked.set, every=0.01)
        engine.register(g)
        engine.connect_page("p")
        engine.connect_page("p")  # the new socket opens before the old one closes
        engine.disconnect_page("p")
        assert engine._periodic.pages() == ["p"]
        assert ticked.wait(WAIT)
        engine.disconnect_page("p")
        assert engine._periodic.pages() == []
    assert flags and all(flags)
