"""How a run goes: handler kinds, injected arguments, hooks, errors and notifications."""

from __future__ import annotations

import logging
import threading
import typing as t

import pytest

from flask_gallery.events import EventData, SelectData
from flask_gallery.notify import Error, Info, Warning
from flask_gallery.progress import Progress
from flask_gallery.queue import THREAD_PREFIX, EventEngine, Job
from flask_gallery.request import Request

from .test_queue_support import (
    Comp,
    Recorder,
    both_backends,  # noqa: F401
    running_engine,
)


@pytest.fixture
def engine() -> t.Iterator[EventEngine]:
    with running_engine() as engine:
        yield engine


def test_generator_streams_every_yield_in_order_and_the_last_is_final(engine: EventEngine) -> None:
    def count(n: int) -> t.Iterator[int]:
        yield from range(n)

    listener = Comp().select(count, inputs="n")
    rec = Recorder(engine, "p")
    job = engine.submit(listener, "p", [4]).job_id
    done = rec.terminal(job)
    assert [m["value"] for m in rec.of(job, "output")] == [0, 1, 2, 3]
    assert [m["index"] for m in rec.of(job, "output")] == [0, 1, 2, 3]
    assert (done["type"], done["value"], done["outputs"]) == ("done", 3, 4)
    assert rec.types(job) == ["estimation", "started", *["output"] * 4, "done"]


def test_async_function_and_async_generator(engine: EventEngine) -> None:
    async def double(x: int) -> int:
        return 2 * x

    async def chunks(x: int) -> t.AsyncIterator[int]:
        for i in range(x):
            yield i

    g = Comp()
    rec = Recorder(engine, "p")
    first = engine.submit(g.select(double, inputs="x"), "p", [21]).job_id
    second = engine.submit(g.change(chunks, inputs="x"), "p", [3]).job_id
    assert rec.terminal(first)["value"] == 42
    assert rec.terminal(second)["value"] == 2
    assert [m["value"] for m in rec.of(second, "output")] == [0, 1, 2]


def test_special_arguments_are_injected_and_inputs_fill_the_rest(engine: EventEngine) -> None:
    seen: dict[str, t.Any] = {}
    snapshot = Request(path="/page", session={"user_id": 7}, page="p")

    def handler(
        a: str,
        evt: SelectData,
        b: str,
        req: Request,
        progress: Progress = Progress(),
    ) -> str:
        seen.update(a=a, b=b, evt=evt, req=req, progress=progress)
        return a + b

    def keyword_only(x: int, *, data: EventData) -> str:
        return f"{x}{data.file}"

    g = Comp()
    rec = Recorder(engine, "p")
    job = engine.submit(
        g.select(handler, inputs=["a", "b"]), "p", ["A", "B"], {"index": 2, "value": "v"}, snapshot
    ).job_id
    other = engine.submit(g.delete(keyword_only, inputs="x"), "p", [1], {"file": "f", "index": 0})
    assert rec.terminal(job)["value"] == "AB"
    assert rec.terminal(other.job_id)["value"] == "1f"
    assert isinstance(seen["evt"], SelectData)
    assert (seen["evt"].index, seen["evt"].value, seen["evt"].target) == (2, "v", g)
    assert seen["req"] is snapshot
    assert isinstance(seen["progress"], Progress)
    assert seen["progress"] is not handler.__defaults__[0]  # type: ignore[index]


def test_hooks_run_in_the_worker_thread() -> None:
    where: list[str] = []

    def pre(values: list[t.Any], job: Job) -> list[t.Any]:
        where.append(threading.current_thread().name)
        return [v * 10 for v in values]

    def post(value: t.Any, job: Job) -> t.Any:
        where.append(threading.current_thread().name)
        return {"html": str(value), "page": job.page}

    listener = Comp().select(lambda x: x + 1, inputs="x", outputs="#out")
    with running_engine(preprocess=pre, postprocess=post) as engine:
        rec = Recorder(engine, "p")
        job = engine.submit(listener, "p", [4]).job_id
        assert rec.terminal(job)["value"] == {"html": "41", "page": "p"}
    assert len(where) == 2
    assert all(name.startswith(THREAD_PREFIX) for name in where)


def test_error_message_reaches_the_user_and_the_engine_goes_on(engine: EventEngine) -> None:
    def refuse() -> None:
        raise Error("Pick a smaller image.", title="Too big")

    g = Comp()
    listener = g.select(refuse)
    rec = Recorder(engine, "p")
    failed = rec.terminal(engine.submit(listener, "p").job_id)
    assert (failed["type"], failed["error"], failed["title"]) == (
        "failed",
        "Pick a smaller image.",
        "Too big",
    )
    assert failed["traceback"] is None
    ok = engine.submit(g.change(lambda: "fine"), "p").job_id
    assert rec.terminal(ok)["value"] == "fine"


def test_unexpected_error_is_generic_logged_and_traceback_only_in_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> None:
        raise KeyError("secret internals")

    for debug in (False, True):
        with running_engine(debug=debug) as engine:
            listener = Comp().select(broken)
            rec = Recorder(engine, "p")
            with caplog.at_level(logging.ERROR, logger="flask_gallery.queue"):
                failed = rec.terminal(engine.submit(listener, "p").job_id)
            assert failed["type"] == "failed"
            assert failed["error"] == f"An error occurred in {listener.name}."
            assert "secret internals" not in failed["error"]
            if debug:
                assert "KeyError: 'secret internals'" in failed["traceback"]
            else:
                assert failed["traceback"] is None
    assert sum("secret internals" in r.getMessage() + str(r.exc_info) for r in caplog.records) == 2


def test_warning_and_info_notify_and_go_on(engine: EventEngine) -> None:
    def chatty() -> str:
        Warning("Low on memory")
        Info("Halfway", duration=None)
        return "done"

    rec = Recorder(engine, "p")
    job = engine.submit(Comp().select(chatty), "p").job_id
    assert rec.terminal(job)["value"] == "done"
    notes = [(m["level"], m["message"], m["duration"]) for m in rec.of(job, "notify")]
    assert notes == [("warning", "Low on memory", 10), ("info", "Halfway", None)]


def test_warning_outside_a_handler_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="flask_gallery"):
        Warning("careful")
        Info("fyi")
    assert [r.getMessage() for r in caplog.records] == ["careful", "fyi"]


def test_listener_without_fn_only_cancels(engine: EventEngine) -> None:
    rec = Recorder(engine, "p")
    sub = engine.submit(Comp().select(None), "p")
    assert sub.accepted
    assert rec.terminal(sub.job_id)["value"] is None


def test_sys_exit_in_a_handler_fails_it_and_the_worker_goes_on() -> None:
    def leave() -> None:
        raise SystemExit(3)

    with running_engine(max_threads=1) as engine:
        g = Comp()
        rec = Recorder(engine, "p")
        failed = rec.terminal(engine.submit(g.select(leave), "p").job_id)
        assert failed["type"] == "failed"
        assert rec.terminal(engine.submit(g.change(lambda: 1), "p").job_id)["value"] == 1


def test_the_end_hook_follows_each_terminal_message() -> None:
    """The app's on_end hook (what chains ``.then``) hears of every job that ran, with its
    terminal type, once the page can see that terminal message; a hook that fails is logged
    and the engine goes on."""
    ends: list[tuple[str, str, bool]] = []
    seen: Recorder | None = None

    def on_end(job: Job, terminal: str) -> None:
        assert seen is not None
        ends.append((job.listener.id, terminal, bool(seen.of(job.id, terminal))))
        if terminal == "failed":
            raise RuntimeError("the hook itself fails")

    def boom() -> None:
        raise ValueError("no")

    def fine() -> str:
        return "ok"

    comp = Comp()
    failing, working = comp.select(boom), comp.change(fine)
    with running_engine(on_end=on_end) as engine:
        seen = Recorder(engine, "p")
        engine.submit(failing, "p")
        assert seen.wait_for(lambda ms: len(ends) == 1)
        engine.submit(working, "p")
        assert seen.wait_for(lambda ms: len(ends) == 2)
    assert ends == [("g.select.0", "failed", True), ("g.change.1", "done", True)]
