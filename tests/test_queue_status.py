"""Queue position and ETA (Gradio's formula), and throttled progress."""

from __future__ import annotations

import io
import typing as t

import tqdm

from flask_gallery.progress import Progress

from .test_queue_support import (
    Comp,
    Gates,
    Recorder,
    both_backends,  # noqa: F401
    running_engine,
)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_position_and_eta_follow_gradios_formula() -> None:
    clock = Clock()
    gates = Gates()

    def handler(key: str) -> str:
        gates.hold(key)
        if key == "warm":
            clock.now += 2.0  # one run of 2 s gives the listener its average
        return key

    with running_engine(clock=clock) as engine:
        listener = Comp().select(handler, inputs="k", trigger_mode="multiple")
        rec = Recorder(engine, *"wabc")
        warm = engine.submit(listener, "w", ["warm"]).job_id
        assert rec.wait_type(warm, "started")["eta"] is None  # no history yet
        gates.open("warm")
        rec.terminal(warm)
        a = engine.submit(listener, "a", ["a"]).job_id  # starts at 102, expected to end at 104
        assert rec.wait_type(a, "started")["eta"] == 2.0
        b = engine.submit(listener, "b", ["b"]).job_id
        c = engine.submit(listener, "c", ["c"]).job_id
        # Busy until 104 (2 s), then each queued run adds the average over the limit (1).
        assert [(m["rank"], m["queue_size"], m["eta"]) for m in rec.of(b, "estimation")] == [
            (0, 1, 4.0)
        ]
        assert [(m["rank"], m["queue_size"], m["eta"]) for m in rec.of(c, "estimation")] == [
            (1, 2, 6.0)
        ]
        clock.now = 104.0
        gates.open("a")
        rec.wait_type(b, "started")
        # b started: c moved up; published again.
        assert [(m["rank"], m["eta"]) for m in rec.of(c, "estimation")] == [(1, 6.0), (0, 4.0)]
        gates.open("b")
        gates.open("c")
        assert rec.terminal(c)["type"] == "done"


def test_progress_is_throttled_and_the_newest_wins() -> None:
    clock = Clock()  # frozen: every report after the first falls in the same interval
    gates = Gates()

    def handler(progress: Progress = Progress()) -> str:
        progress(0.1, desc="start")
        progress((2, 10))
        progress(0.3, desc="newest")
        gates.hold("end")
        return "ok"

    # A long interval: even a handler descheduled between its calls stays within one interval.
    with running_engine(clock=clock, progress_interval=0.5) as engine:
        rec = Recorder(engine, "p")
        job = engine.submit(Comp().select(handler), "p").job_id
        assert rec.wait_for(
            lambda ms: any(
                m["type"] == "progress" and m["progress"][0]["desc"] == "newest" for m in ms
            )
        )
        gates.open("end")
        rec.terminal(job)
        sent = [m["progress"][0] for m in rec.of(job, "progress")]
        assert [(u["progress"], u["desc"]) for u in sent] == [(0.1, "start"), (0.3, "newest")]


def test_progress_tqdm_and_track_tqdm_report_steps() -> None:
    clock = Clock()

    def steps(progress: Progress = Progress()) -> str:
        for _ in progress.tqdm(range(3), desc="resizing"):
            clock.now += 1  # past the throttle interval: every step is sent
        return "ok"

    def tracked(progress: Progress = Progress(track_tqdm=True)) -> str:
        for _ in tqdm.tqdm(range(5), desc="encoding", file=io.StringIO()):
            clock.now += 1
        return "ok"

    with running_engine(clock=clock) as engine:
        g = Comp()
        rec = Recorder(engine, "p")
        first = engine.submit(g.select(steps), "p").job_id
        rec.terminal(first)
        units = [m["progress"][0] for m in rec.of(first, "progress")]
        assert [(u["index"], u["length"], u["desc"]) for u in units] == [
            (i, 3, "resizing") for i in range(4)
        ]
        second = engine.submit(g.change(tracked), "p").job_id
        rec.terminal(second)
        units = [m["progress"][0] for m in rec.of(second, "progress")]
        assert (units[0]["index"], units[0]["length"], units[0]["desc"]) == (0, 5, "encoding")
        assert (units[-1]["index"], units[-1]["length"]) == (5, 5)


def test_progress_outside_the_engine_does_nothing() -> None:
    progress = Progress()
    assert progress(0.5) == 0.5
    assert list(progress.tqdm([1, 2])) == [1, 2]
    assert progress(None) is None


def test_hidden_progress_and_bad_values() -> None:
    seen: list[t.Any] = []
    bound = Progress().bind(seen.append)
    bound(None)
    assert seen == [None]
    try:
        bound("half")  # type: ignore[arg-type]
    except TypeError as exc:
        assert "'progress' must be a float" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("a str progress was accepted")


def test_rounds_of_positions_are_throttled_per_group_and_the_last_is_current() -> None:
    clock = Clock()  # frozen: a second round within the interval must wait for the timer
    gates = Gates()
    with running_engine(clock=clock) as engine:
        listener = Comp().select(gates.hold, inputs="k", trigger_mode="multiple")
        rec = Recorder(engine, *"wabc")
        engine.submit(listener, "w", ["w"])
        gates.wait_entered("w")
        c = [engine.submit(listener, page, [page]).job_id for page in "abc"][-1]
        engine.cancel("a", [listener])  # first round: sent at once
        assert [m["rank"] for m in rec.of(c, "estimation")] == [2, 1]
        engine.cancel("b", [listener])  # second round: deferred, then sent with the queue as is
        assert rec.wait_for(lambda _: len(rec.of(c, "estimation")) == 3)
        assert [(m["rank"], m["queue_size"]) for m in rec.of(c, "estimation")][-1] == (0, 1)
        gates.open("w")
        gates.open("c")
        assert rec.terminal(c)["type"] == "done"
