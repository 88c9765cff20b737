"""Engine messages rendered for the page: overlays per show_progress, toasts, clean-up."""

from __future__ import annotations

import typing as t

import pytest
from bs4 import BeautifulSoup, Tag

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
    # an end whose statuses this connection held back clears nothing: there is no overlay
    (quiet,) = render(
        engine, listener.id, {"type": "done", "value": {"html": "x"}, "unshown": True}
    )
    assert quiet == "x"


def toasts(html: str) -> list[Tag]:
    """The toasts an update adds to the page's toast region (only there)."""
    soup = BeautifulSoup(html, "html.parser")
    assert all(p["hx-target"] == "#fg-toasts" for p in soup.select("hx-partial:has(.fg-toast)"))
    return soup.select("hx-partial[hx-target='#fg-toasts'][hx-swap=beforeend] > .fg-toast")


def test_errors_notifications_and_rejections_are_page_toasts(engine: EventEngine) -> None:
    gallery = Gallery("g")
    listener = gallery.select(lambda: None, outputs="#x")
    engine.register(listener)
    failed, once, full, notify, warn = render(
        engine,
        listener.id,
        {"type": "failed", "error": "<bad>", "title": "Error", "duration": 10, "traceback": None},
        {"type": "rejected", "code": "once", "reason": "still running"},
        {"type": "rejected", "code": "queue_full", "reason": "queue full: try again"},
        {"type": "notify", "level": "info", "message": "hello", "title": "Info", "duration": 10},
        {"type": "notify", "level": "warning", "message": "hm", "title": "Note", "duration": 2.5},
    )
    (error,) = toasts(failed)
    # An error is an alert that stays until closed, whatever its duration (the rule).
    assert error["role"] == "alert" and not error.has_attr("data-duration")
    assert error.select_one(".fg-toast-text").get_text() == "<bad>"  # escaped, shown as text
    assert error.select_one("button.fg-toast-close")["aria-label"] == "Close"
    assert once == ""  # Gradio drops a 'once' click silently
    (rejected,) = toasts(full)
    assert rejected["role"] == "status" and "fg-toast-warning" in rejected["class"]
    assert rejected.select_one(".fg-toast-text").get_text() == "queue full: try again"
    (info,) = toasts(notify)
    assert (info["role"], info["data-duration"]) == ("status", "10")
    assert info.select_one(".fg-toast-title").get_text() == "Info"
    (warning,) = toasts(warn)
    assert (warning["role"], warning["data-duration"]) == ("status", "2.5")
    assert warning.select_one(".fg-toast-title").get_text() == "Note"  # the caller's title


@pytest.mark.parametrize("duration", [None, 0, -1])
def test_a_notification_without_a_positive_duration_stays(
    engine: EventEngine, duration: float | None
) -> None:
    listener = Gallery("g").select(lambda: None, outputs="#x")
    engine.register(listener)
    message = {"type": "notify", "level": "info", "message": "m", "duration": duration}
    (html,) = render(engine, listener.id, message)
    (info,) = toasts(html)
    assert not info.has_attr("data-duration") and info.select_one(".fg-toast-timer") is None


def test_invisible_errors_and_notifications_show_no_toast(engine: EventEngine) -> None:
    listener = Gallery("g").select(lambda: None, outputs="#x")
    engine.register(listener)
    failed, notify = render(
        engine,
        listener.id,
        {"type": "failed", "error": "quiet", "visible": False},
        {"type": "notify", "level": "info", "message": "quiet", "visible": False},
    )
    assert "fg-toast" not in failed and notify == ""


def test_the_queue_outage_is_one_toast_removed_when_the_queue_is_back(
    engine: EventEngine,
) -> None:
    renderer = Renderer(engine, lambda gallery: f"fg-{gallery.name}")
    down = renderer.render({"type": "link", "up": False})
    (notice,) = toasts(down)
    assert notice["id"] == "fg-toast-link" and not notice.has_attr("data-duration")
    # Said again (a reconnect replays it): the old one goes first, so it never shows twice.
    assert down.index('hx-swap="delete"') < down.index('id="fg-toast-link"')
    up = renderer.render({"type": "link", "up": True})
    assert up == '<hx-partial hx-target="#fg-toast-link" hx-swap="delete"></hx-partial>'


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
    # marked: no overlay of it was drawn, so its end clears none
    assert hold.feed([{"type": "done", "job": "q"}]) == [
        {"type": "done", "job": "q", "unshown": True}
    ]
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
    assert hold.feed([{"type": "done", "job": "s"}]) == [{"type": "done", "job": "s"}]  # clears
