"""Per-page channels: sequence numbers, replay after a reconnect, bounds and TTL; the same
contract for the in-process channels and for the Redis ones, so they cannot drift apart."""

from __future__ import annotations

import logging
import typing as t

import pytest

from flask_gallery.queue import PageChannels

from .test_queue_support import Comp, Recorder, running_engine

Make = t.Callable[..., t.Any]


@pytest.fixture(params=["memory", "redis"])
def make(request: pytest.FixtureRequest) -> t.Iterator[Make]:
    """Builds channels of either kind with PageChannels' keyword arguments."""
    made: list[t.Any] = []

    def build(**kwargs: t.Any) -> t.Any:
        if request.param == "memory":
            return PageChannels(**kwargs)
        from flask_gallery.queue.redis_channels import RedisChannels
        from flask_gallery.queue.redis_client import connect

        kwargs.setdefault("clock", Clock())
        channels = RedisChannels(connect(request.getfixturevalue("redis_url")), "t:", **kwargs)
        made.append(channels)
        return channels

    yield build
    for channels in made:
        channels.close()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _publish(channels: t.Any, page: str, n: int) -> None:
    for i in range(n):
        channels.publish(page, {"type": "output", "job": "j", "value": i})


def test_replay_after_a_cursor_and_subscribe_with_catch_up(make: Make) -> None:
    channels = make()
    _publish(channels, "p", 3)
    _publish(channels, "other", 1)
    replay = channels.replay("p", after=1)
    assert [m["seq"] for m in replay.messages] == [2, 3]
    assert replay.complete and replay.last_seq == 3
    got: list[dict[str, t.Any]] = []
    channels.subscribe("p", got.append, after=2)
    _publish(channels, "p", 1)
    assert [(m["seq"], m["value"]) for m in got] == [(3, 2), (4, 0)]


def test_replay_is_bounded_and_expires(make: Make) -> None:
    clock = Clock()
    channels = make(replay_size=2, replay_ttl=10.0, clock=clock)
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
    make: Make,
    caplog: pytest.LogCaptureFixture,
) -> None:
    channels = make()
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
    """A finished job replays as its result alone: its statuses (what a poll or a reconnect would
    drop anyway, see delivery.coalesce) take no place in the buffer."""
    with running_engine() as engine:
        rec = Recorder(engine, "p")
        job = engine.submit(Comp().select(lambda: "x"), "p").job_id
        rec.terminal(job)
        assert [m["type"] for m in rec.messages] == ["estimation", "started", "done"]
        replay = engine.replay("p")
        assert [m["type"] for m in replay.messages] == ["done"]
        assert replay.messages == [rec.messages[-1]] and replay.messages[0]["seq"] == 3
        assert replay.complete and replay.last_seq == 3


def _status(job: str, kind: str = "progress", **fields: t.Any) -> dict[str, t.Any]:
    return {"type": kind, "job": job, **fields}


def test_a_running_job_replays_its_latest_status_in_sequence(make: Make) -> None:
    channels = make()
    channels.publish("p", _status("a", "estimation", rank=1))
    channels.publish("p", {"type": "done", "job": "z", "value": 0})
    channels.publish("p", _status("a", "started"))
    channels.publish("p", {"type": "output", "job": "a", "value": 1})
    channels.publish("p", _status("a", progress=0.5))
    channels.publish("p", {"type": "notify", "job": "a", "message": "hi"})
    replay = channels.replay("p")
    assert [(m["seq"], m["type"]) for m in replay.messages] == [
        (2, "done"),
        (4, "output"),
        (5, "progress"),
        (6, "notify"),
    ]
    assert replay.complete  # superseded statuses are not missing messages
    assert [m["seq"] for m in channels.replay("p", after=5).messages] == [6]
    channels.publish("p", {"type": "cancelled", "job": "a"})
    assert [m["type"] for m in channels.replay("p", after=3).messages] == [
        "output",
        "notify",
        "cancelled",
    ]


def test_statuses_take_no_place_in_the_bound(make: Make) -> None:
    """Each job's result is kept however many statuses it sent: a page that reconnects after
    ``replay_size`` quick jobs still gets all their results."""
    channels = make(replay_size=4)
    for n in range(4):
        for kind in ("estimation", "started", "progress", "progress"):
            channels.publish("p", _status(f"j{n}", kind))
        channels.publish("p", {"type": "done", "job": f"j{n}", "value": n})
    replay = channels.replay("p")
    assert [m["value"] for m in replay.messages] == [0, 1, 2, 3]
    assert replay.complete and replay.last_seq == 20
    channels.publish("p", {"type": "done", "job": "j4", "value": 4})
    replay = channels.replay("p")
    assert [m["value"] for m in replay.messages] == [1, 2, 3, 4]
    assert not replay.complete  # j0's result was dropped by the bound
    assert channels.replay("p", after=5).complete  # a cursor past it missed nothing


def test_replay_after_any_cursor_draws_what_the_live_stream_draws(make: Make) -> None:
    """What a page gets from a poll or a reconnect (the replay after its cursor, coalesced) is
    what the live stream after that cursor coalesces to."""
    from flask_gallery.web.delivery import coalesce

    channels = make()
    live: list[dict[str, t.Any]] = []
    channels.subscribe("p", live.append)
    script = [
        _status("a", "estimation"),
        _status("b", "estimation"),
        _status("a", "started"),
        _status("a", progress=0.1),
        {"type": "output", "job": "a", "value": 1},
        _status("b", "started"),
        _status("a", progress=0.9),
        {"type": "done", "job": "a", "value": 2},
        _status("c", "estimation"),
        _status("b", progress=0.3),
        {"type": "failed", "job": "b", "error": "x"},
        _status("c", "started"),
    ]
    for message in script:
        channels.publish("p", message)
    for after in range(len(script) + 1):
        replay = channels.replay("p", after=after)
        assert replay.complete
        assert coalesce(replay.messages) == coalesce([m for m in live if m["seq"] > after])
