"""Per-page channels: sequence numbers, replay after a reconnect, bounds and TTL."""

from __future__ import annotations

import logging
import typing as t

import pytest

from flask_gallery.queue import PageChannels

from .test_queue_support import Comp, Recorder, running_engine


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _publish(channels: PageChannels, page: str, n: int) -> None:
    for i in range(n):
        channels.publish(page, {"type": "output", "job": "j", "value": i})


def test_replay_after_a_cursor_and_subscribe_with_catch_up() -> None:
    channels = PageChannels()
    _publish(channels, "p", 3)
    _publish(channels, "other", 1)
    replay = channels.replay("p", after=1)
    assert [m["seq"] for m in replay.messages] == [2, 3]
    assert replay.complete and replay.last_seq == 3
    got: list[dict[str, t.Any]] = []
    channels.subscribe("p", got.append, after=2)
    _publish(channels, "p", 1)
    assert [(m["seq"], m["value"]) for m in got] == [(3, 2), (4, 0)]


def test_replay_is_bounded_and_expires() -> None:
    clock = Clock()
    channels = PageChannels(replay_size=2, replay_ttl=10.0, clock=clock)
    _publish(channels, "p", 3)
    bounded = channels.replay("p", after=0)
    assert [m["seq"] for m in bounded.messages] == [2, 3]
    assert not bounded.complete  # seq 1 is gone: the page must reload instead
    clock.now = 11.0
    expired = channels.replay("p", after=1)
    assert expired.messages == [] and not expired.complete
    assert channels.replay("p", after=3).complete  # nothing missed
    assert not channels.replay("p", after=99).complete  # cursor from before a restart


def test_a_failing_subscriber_is_logged_and_others_still_get_messages(
    caplog: pytest.LogCaptureFixture,
) -> None:
    channels = PageChannels()
    got: list[int] = []

    def broken(message: dict[str, t.Any]) -> None:
        raise OSError("socket closed")

    channels.subscribe("p", broken)
    unsubscribe = channels.subscribe("p", lambda m: got.append(m["seq"]))
    with caplog.at_level(logging.ERROR, logger="flask_gallery.queue"):
        _publish(channels, "p", 2)
    assert got == [1, 2]
    assert len(caplog.records) == 2
    unsubscribe()
    _publish(channels, "p", 1)
    assert got == [1, 2]


def test_idle_pages_are_forgotten() -> None:
    clock = Clock()
    channels = PageChannels(replay_ttl=10.0, clock=clock)
    _publish(channels, "old", 1)
    clock.now = 30.0
    _publish(channels, "new", 1)  # sweeps pages idle for longer than the TTL
    assert channels.replay("old").last_seq == 0
    assert channels.replay("new").last_seq == 1


def test_engine_messages_are_replayable_in_order() -> None:
    with running_engine() as engine:
        rec = Recorder(engine, "p")
        job = engine.submit(Comp().select(lambda: "x"), "p").job_id
        rec.terminal(job)
        replay = engine.replay("p")
        assert [m["type"] for m in replay.messages] == ["estimation", "started", "done"]
        assert [m["seq"] for m in replay.messages] == [1, 2, 3]
        assert replay.messages == rec.messages
