"""Engine messages rendered for the page: overlays per show_progress, alerts, clean-up."""

from __future__ import annotations

import typing as t

import pytest

from flask_gallery import Gallery
from flask_gallery.queue import EventEngine
from flask_gallery.web.delivery import Renderer


@pytest.fixture
def engine() -> t.Iterator[EventEngine]:
    engine = EventEngine()
    yield engine
    engine.shutdown()


def render(engine: EventEngine, listener_id: str, *messages: dict[str, t.Any]) -> list[str]:
    renderer = Renderer(engine, lambda gallery: f"fg-{gallery.name}")
    return [renderer.render({"listener": listener_id, "job": "j1", **m}) for m in messages]


@pytest.mark.parametrize(
    ("mode", "overlay"),
    [("full", "fg-status-full"), ("minimal", "fg-status-minimal"), ("hidden", None)],
)
def test_show_progress_modes(engine: EventEngine, mode: str, overlay: str | None) -> None:
    gallery = Gallery("g")
    out = Gallery("out")
    listener = gallery.select(lambda: None, outputs=[out, "#text"], show_progress=mode)
    engine.register(listener)
    queued, started, progress, done = render(
        engine,
        listener.id,
        {"type": "estimation", "rank": 1, "queue_size": 3, "eta": 2.5},
        {"type": "started", "eta": None},
        {
            "type": "progress",
            "progress": [{"index": 1, "length": 4, "unit": "steps", "progress": None, "desc": "x"}],
        },
        {"type": "done", "value": {"html": "<b>ok</b>"}},
    )
    if overlay is None:
        assert queued == started == progress == "" and done == "<b>ok</b>"
        return
    # drawn once per output, on the output, then updated in place, then removed
    assert queued.count(overlay) == 2 and "queue: 2/3 | 2.5s" in queued
    assert 'hx-target="#fg-out" hx-swap="beforeend"' in queued
    assert 'hx-target="#text" hx-swap="beforeend"' in queued
    # each update replaces the overlay: remove the old one, append the new one
    assert started.count('hx-swap="delete"') == 2 and started.count('hx-swap="beforeend"') == 2
    assert "processing" in started
    assert "1/4 steps | x" in progress
    assert ('style="width: 25.0%"' in progress) is (mode == "full")
    assert done.startswith("<b>ok</b>") and done.count('hx-swap="delete"') == 2


def test_errors_and_rejections(engine: EventEngine) -> None:
    gallery = Gallery("g")
    listener = gallery.select(lambda: None, outputs="#x")
    engine.register(listener)
    failed, once, full, notify = render(
        engine,
        listener.id,
        {"type": "failed", "error": "<bad>", "traceback": None},
        {"type": "rejected", "code": "once", "reason": "still running"},
        {"type": "rejected", "code": "queue_full", "reason": "queue full: try again"},
        {"type": "notify", "level": "info", "message": "hello"},
    )
    assert 'hx-target="#fg-g-alerts"' in failed and "&lt;bad&gt;" in failed
    assert 'role="alert"' in failed
    assert once == ""  # Gradio drops a 'once' click silently
    assert "queue full: try again" in full and "fg-alert-warning" in full
    assert "fg-alert-info" in notify and "hello" in notify


def test_scroll_to_output_marks_the_first_output(engine: EventEngine) -> None:
    gallery = Gallery("g")
    listener = gallery.select(lambda: None, outputs="#x", scroll_to_output=True)
    quiet = gallery.select(lambda: None, outputs="#x")
    engine.register(listener, quiet)
    (done,) = render(engine, listener.id, {"type": "done", "value": {"html": ""}})
    assert 'hx-target="#x" hx-swap="beforeend"><span class="fg-scroll-marker" hidden>' in done
    (plain,) = render(engine, quiet.id, {"type": "done", "value": {"html": ""}})
    assert "fg-scroll-marker" not in plain


def test_a_polls_messages_are_coalesced_per_job() -> None:
    from flask_gallery.web.delivery import coalesce

    messages = [
        {"type": "estimation", "job": "a"},
        {"type": "started", "job": "a"},
        {"type": "estimation", "job": "b"},
        {"type": "progress", "job": "a"},
        {"type": "notify", "job": "a"},
        {"type": "done", "job": "a"},
        {"type": "started", "job": "b"},
        {"type": "progress", "job": "b"},
    ]
    kept = [(m["type"], m["job"]) for m in coalesce(messages)]
    # an ended job keeps no status; a running one only its last; nothing else is dropped
    assert kept == [("notify", "a"), ("done", "a"), ("progress", "b")]


def test_a_quick_job_shows_no_status_and_a_slow_one_shows_its_latest() -> None:
    from flask_gallery.web.delivery import StatusHold

    now = [0.0]
    hold = StatusHold(lambda: now[0], grace=0.05)
    quick = [{"type": "estimation", "job": "q"}, {"type": "started", "job": "q"}]
    assert hold.feed(quick) == []
    assert hold.wait(2.0) == pytest.approx(0.05)
    assert hold.feed([{"type": "done", "job": "q"}]) == [{"type": "done", "job": "q"}]
    assert hold.wait(2.0) == 2.0  # nothing held any more

    assert (
        hold.feed([{"type": "started", "job": "s"}, {"type": "progress", "job": "s", "n": 1}]) == []
    )
    now[0] = 0.06
    assert hold.due() == [{"type": "progress", "job": "s", "n": 1}]  # the latest, once due
    # once shown, its updates go out at once, and its end too
    assert hold.feed([{"type": "progress", "job": "s", "n": 2}]) == [
        {"type": "progress", "job": "s", "n": 2}
    ]
    assert hold.feed([{"type": "done", "job": "s"}]) == [{"type": "done", "job": "s"}]
