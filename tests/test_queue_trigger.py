"""trigger_mode per (page, listener), enforced on the server, and cancels."""

from __future__ import annotations

import threading
import typing as t

import pytest

from flask_gallery.events import SelectData
from flask_gallery.queue import EventEngine

from .test_queue_support import WAIT, Comp, Gates, Recorder, both_backends, running_engine  # noqa: F401


@pytest.fixture
def engine() -> t.Iterator[EventEngine]:
    with running_engine() as engine:
        yield engine


def test_once_rejects_while_running_and_while_queued(engine: EventEngine) -> None:
    gates = Gates()
    g = Comp()
    listener = g.select(gates.hold, inputs="key")  # once, limit 1
    rec = Recorder(engine, "p1", "p2", "p3")
    first = engine.submit(listener, "p1", ["a"])
    gates.wait_entered("a")
    again = engine.submit(listener, "p1", ["x"])
    assert not again.accepted
    assert "trigger_mode is 'once'" in (again.reason or "")
    assert rec.terminal(again.job_id)["code"] == "once"
    queued = engine.submit(listener, "p2", ["b"])  # another page: queued behind p1's run
    assert queued.accepted
    assert not engine.submit(listener, "p2", ["y"]).accepted  # queued counts as pending
    assert engine.submit(listener, "p3", ["c"]).accepted
    for key in "abc":
        gates.open(key)
    assert rec.terminal(first.job_id)["type"] == "done"
    assert rec.terminal(queued.job_id)["type"] == "done"
    after = engine.submit(listener, "p1", ["d"])
    gates.open("d")
    assert rec.terminal(after.job_id)["type"] == "done"


def test_multiple_queues_every_submission_in_order(engine: EventEngine) -> None:
    gates = Gates()
    seen: list[str] = []

    handler = gates.ordered(seen)

    listener = Comp().select(handler, inputs="key", trigger_mode="multiple")
    rec = Recorder(engine, "p")
    jobs = [engine.submit(listener, "p", [k]).job_id for k in "abcd"]
    for key in "abcd":
        gates.open(key)
    assert [rec.terminal(job)["value"] for job in jobs] == list("abcd")
    assert seen == list("abcd")


def test_always_last_keeps_only_the_newest_pending_with_its_own_data(engine: EventEngine) -> None:
    gates = Gates()
    seen: list[tuple[str, t.Any]] = []

    def handler(key: str, evt: SelectData) -> str:
        gates.hold(key)
        seen.append((key, evt.index))
        return key

    listener = Comp().select(handler, inputs="key", trigger_mode="always_last")
    rec = Recorder(engine, "p")
    first = engine.submit(listener, "p", ["a"], {"index": 0}).job_id
    gates.wait_entered("a")
    later = [engine.submit(listener, "p", [k], {"index": i}).job_id for i, k in enumerate("bcd", 1)]
    for key in "abcd":
        gates.open(key)
    assert rec.terminal(first)["type"] == "done"
    assert [rec.terminal(job)["type"] for job in later] == ["cancelled", "cancelled", "done"]
    assert "superseded" in rec.terminal(later[0])["reason"]
    assert seen == [("a", 0), ("d", 3)]  # the newest submission's inputs and event data


def test_always_last_replaces_a_queued_submission_in_its_place(engine: EventEngine) -> None:
    gates = Gates()
    seen: list[str] = []

    handler = gates.ordered(seen)

    listener = Comp().change(handler, inputs="key")  # change defaults to always_last
    assert listener.trigger_mode == "always_last"
    rec = Recorder(engine, "p1", "p2", "p3")
    engine.submit(listener, "p1", ["a"])
    gates.wait_entered("a")  # holds the listener's only slot
    queued = engine.submit(listener, "p2", ["b"]).job_id
    other = engine.submit(listener, "p3", ["x"]).job_id
    newest = engine.submit(listener, "p2", ["c"]).job_id
    for key in "abcx":
        gates.open(key)
    assert rec.terminal(queued)["type"] == "cancelled"
    assert rec.terminal(newest)["type"] == "done"
    assert rec.terminal(other)["type"] == "done"
    assert seen == ["a", "c", "x"]  # "c" kept "b"'s place ahead of "x"


def test_cancels_stop_queued_and_drop_running_results_for_that_page_only(
    engine: EventEngine,
) -> None:
    gates = Gates()
    g = Comp()
    work = g.select(gates.hold, inputs="key", trigger_mode="multiple")
    stop = g.upload(None, cancels=[work])
    rec = Recorder(engine, "p1", "p2")
    running = engine.submit(work, "p1", ["a"]).job_id
    gates.wait_entered("a")
    queued = engine.submit(work, "p1", ["b"]).job_id
    elsewhere = engine.submit(work, "p2", ["c"]).job_id
    stopper = engine.submit(stop, "p1")
    assert stopper.accepted
    assert rec.terminal(queued)["type"] == "cancelled"
    assert rec.terminal(running)["type"] == "cancelled"
    for key in "abc":
        gates.open(key)
    assert rec.terminal(elsewhere)["type"] == "done"
    assert rec.terminal(stopper.job_id)["type"] == "done"
    assert "b" not in gates.entered or not gates.entered["b"].is_set()
    # The cancelled run finished in its thread, yet sent nothing after "cancelled".
    assert rec.types(running)[-1] == "cancelled"


def test_cancels_run_even_when_the_trigger_is_rejected_by_once(engine: EventEngine) -> None:
    gates = Gates()
    g = Comp()
    work = g.change(gates.hold, inputs="key", trigger_mode="multiple", concurrency_id="w")
    trigger = g.select(gates.hold, inputs="key", cancels=[work])  # once
    rec = Recorder(engine, "p")
    first = engine.submit(trigger, "p", ["t"]).job_id
    gates.wait_entered("t")
    engine.submit(work, "p", ["w1"])
    gates.wait_entered("w1")
    queued = engine.submit(work, "p", ["w2"]).job_id
    rejected = engine.submit(trigger, "p", ["t2"])
    assert not rejected.accepted
    assert rec.terminal(queued)["type"] == "cancelled"
    for key in ("t", "w1", "w2"):
        gates.open(key)
    assert rec.terminal(first)["type"] == "done"


def test_generator_cancelled_stops_at_next_yield(engine: EventEngine) -> None:
    gates = Gates()
    closed = threading.Event()

    def stream() -> t.Iterator[int]:
        try:
            yield 1
            gates.hold("second")
            yield 2
            yield 3
        finally:
            closed.set()

    g = Comp()
    listener = g.select(stream)
    rec = Recorder(engine, "p")
    job = engine.submit(listener, "p").job_id
    gates.wait_entered("second")
    assert engine.cancel("p", [listener]) == 1
    gates.open("second")
    assert rec.terminal(job)["type"] == "cancelled"
    assert closed.wait(WAIT)
    assert [m["value"] for m in rec.of(job, "output")] == [1]
