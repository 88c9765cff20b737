"""Page channels across processes, on a real redis-server: a message appended by any process
reaches the subscribers of every process, in one order, and a page that reconnects to another
process gets what it missed."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import typing as t

import pytest

from flask_gallery.queue.redis_channels import RedisChannels
from flask_gallery.queue.redis_client import RedisUnavailable, connect

#: Seconds any wait of these tests may take at most.
LIMIT = 20.0

APPENDER = """
import sys
from flask_gallery.queue.redis_channels import RedisChannels
from flask_gallery.queue.redis_client import connect
channels = RedisChannels(connect(sys.argv[1]), "x:")
for n in range(int(sys.argv[3])):
    channels.append(sys.argv[2], {"type": "output", "job": "child", "value": n})
channels.close()
"""


@pytest.fixture
def channels(redis_url: str) -> t.Iterator[t.Callable[[], RedisChannels]]:
    made: list[RedisChannels] = []

    def build() -> RedisChannels:
        made.append(RedisChannels(connect(redis_url), "x:"))
        return made[-1]

    yield build
    for one in made:
        one.close()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[dict[str, t.Any]] = []
        self.changed = threading.Condition()

    def __call__(self, message: dict[str, t.Any]) -> None:
        with self.changed:
            self.messages.append(message)
            self.changed.notify_all()

    def wait_for(self, done: t.Callable[[list[dict[str, t.Any]]], bool]) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: done(self.messages), LIMIT), self.messages[-3:]


@pytest.mark.parametrize("listener_appends", [False, True])
def test_messages_of_two_processes_reach_subscribers_in_one_order(
    redis_url: str, channels: t.Callable[[], RedisChannels], listener_appends: bool
) -> None:
    """Messages from another process arrive by pub/sub; the listener's own are handed over at
    once, so they can overtake the other process's: either way, every message arrives once,
    by seq."""
    listener = channels()
    here = listener if listener_appends else channels()
    inbox = Inbox()
    listener.subscribe("p", inbox)
    child = subprocess.Popen([sys.executable, "-c", APPENDER, redis_url, "p", "2000"])
    inbox.wait_for(lambda got: bool(got))  # the child is appending: interleave with it
    for n in range(300):
        here.publish("p", {"type": "output", "job": "parent", "value": n})
    assert child.wait(LIMIT) == 0
    inbox.wait_for(lambda got: len(got) >= 2300)
    assert [m["seq"] for m in inbox.messages] == list(range(1, 2301))
    for job, count in (("parent", 300), ("child", 2000)):  # each one's order is kept too
        assert [m["value"] for m in inbox.messages if m["job"] == job] == list(range(count))


def test_a_page_reconnecting_to_another_process_gets_what_it_missed(
    channels: t.Callable[[], RedisChannels],
) -> None:
    first, second = channels(), channels()
    seen = Inbox()
    unsubscribe = first.subscribe("p", seen)
    first.publish("p", {"type": "output", "job": "a", "value": 1})
    seen.wait_for(lambda got: len(got) == 1)
    unsubscribe()  # the socket dropped; the job goes on elsewhere
    second.publish("p", {"type": "output", "job": "a", "value": 2})
    second.publish("p", {"type": "done", "job": "a", "value": 3})
    again = Inbox()
    second.subscribe("p", again, after=seen.messages[-1]["seq"])
    again.wait_for(lambda got: len(got) == 2)
    assert [m["value"] for m in again.messages] == [2, 3]
    assert first.replay("p", after=1).complete and first.replay("p").last_seq == 3


def test_statuses_superseded_in_another_process_never_hold_back_a_result(
    channels: t.Callable[[], RedisChannels],
) -> None:
    """Statuses replaced before they were read leave gaps in the sequence: the subscriber reads
    the replay instead of waiting for them for ever, and the result still arrives in order."""
    listener, worker = channels(), channels()
    inbox = Inbox()
    listener.subscribe("p", inbox)
    for n in range(50):
        worker.append("p", {"type": "progress", "job": "j", "progress": n})
    worker.append("p", {"type": "done", "job": "j", "value": "ok"})
    inbox.wait_for(lambda got: bool(got) and got[-1]["type"] == "done")
    seqs = [m["seq"] for m in inbox.messages]
    assert seqs == sorted(seqs) and seqs[-1] == 51


def test_release_keeps_a_channel_another_process_listens_to(
    channels: t.Callable[[], RedisChannels],
) -> None:
    listening, leaving = channels(), channels()
    listening.subscribe("p", Inbox())
    leaving.publish("p", {"type": "output", "job": "a", "value": 1})
    leaving.release("p")
    assert [m["value"] for m in leaving.replay("p").messages] == [1]
    quiet = channels()
    quiet.publish("q", {"type": "output", "job": "a", "value": 1})
    quiet.release("q")
    replay = quiet.replay("q")
    assert replay.messages == [] and not replay.complete and replay.last_seq == 1
    quiet.publish("q", {"type": "output", "job": "a", "value": 2})
    assert quiet.replay("q", after=1).messages[0]["seq"] == 2  # the sequence goes on


def test_an_unreachable_redis_is_named_at_start() -> None:
    from .redis_server import free_port

    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    started = time.monotonic()
    with pytest.raises(RedisUnavailable) as error:
        connect(url, timeout=1.0)
    assert time.monotonic() - started < LIMIT
    text = str(error.value)
    assert f"redis://:***@127.0.0.1:{url.rsplit(':', 1)[1]}" in text and "hunter2" not in text
    assert "remove GALLERY_QUEUE_URL to run in one process" in text


def test_a_url_that_is_not_redis_says_what_it_must_be() -> None:
    with pytest.raises(ValueError, match="must start with redis://host:port/db, rediss://"):
        connect("http://127.0.0.1:6379/0")


@pytest.mark.parametrize("persistent", [True, False])
def test_subscribers_are_told_of_an_outage_and_miss_nothing_appended_after_it(
    tmp_path: t.Any, persistent: bool
) -> None:
    """Redis stopped and started again: each subscriber is told the link is down, then up,
    and gets what it and another process appended once Redis was back, each once. Without
    persistence Redis forgets the page's sequence, which starts again at 1: the subscriber
    starts again with it rather than taking new messages for ones it has seen."""
    from .redis_server import RedisServer

    server = RedisServer(tmp_path / "redis", persistent=persistent)
    mine = RedisChannels(connect(server.url), "x:")
    inbox = Inbox()
    try:
        mine.subscribe("p", inbox)
        for n in range(3):
            mine.publish("p", {"type": "output", "job": "j", "value": n})
        inbox.wait_for(lambda got: len(got) == 3)
        server.stop()
        inbox.wait_for(lambda got: got[-1] == {"type": "link", "up": False})
        server.start()
        # Before this process's reader has found Redis again (it looks every 0.5 s): without
        # persistence these take seqs 1-4, which the subscriber had already been given.
        for n in range(4):
            mine.publish("p", {"type": "output", "job": "j", "value": f"back {n}"})
        other = RedisChannels(connect(server.url), "x:")
        try:
            other.append("p", {"type": "output", "job": "j", "value": "after"})
        finally:
            other.close()
        inbox.wait_for(lambda got: any(m.get("value") == "after" for m in got))
        inbox.wait_for(lambda got: {"type": "link", "up": True} in got)
        seqs = [m["seq"] for m in inbox.messages if m["type"] == "output"]
        assert seqs == [1, 2, 3, *range(4 if persistent else 1, 9 if persistent else 6)]
        values = [m.get("value") for m in inbox.messages if m["type"] == "output"]
        assert values == [0, 1, 2, "back 0", "back 1", "back 2", "back 3", "after"]
    finally:
        mine.close()
        server.stop()
