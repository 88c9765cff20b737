"""``ReaderWake``: simple-websocket's reader thread acts on the clicks it receives, and nothing
else does; whatever goes wrong there wakes the relay instead of ending the reader. ``weight``:
what a message queued for a client that fell behind counts against ``OUTBOX_BYTES``."""

from __future__ import annotations

import threading

import pytest

from flask_gallery.web.socket_pipe import ReaderWake, weight


def test_only_the_reader_thread_serves_others_wake_the_relay() -> None:
    relay = threading.Event()
    served: list[str] = []
    wake = ReaderWake(relay, threading.current_thread())
    wake.serve = lambda: served.append(threading.current_thread().name)
    other = threading.Thread(target=wake.set, name="a worker")
    other.start()
    other.join()
    assert served == [] and relay.is_set()  # a worker's set wakes the relay
    relay.clear()
    wake.set()
    assert served == [threading.current_thread().name] and not relay.is_set()


def test_a_reader_before_the_page_is_served_wakes_the_relay() -> None:
    relay = threading.Event()
    wake = ReaderWake(relay, threading.current_thread())  # no serve yet: the relay reads
    wake.set()
    assert relay.is_set()


def test_a_failure_while_serving_wakes_the_relay_and_spares_the_reader(
    caplog: pytest.LogCaptureFixture,
) -> None:
    relay = threading.Event()
    wake = ReaderWake(relay, threading.current_thread())

    def broken() -> None:
        raise RuntimeError("a bug")

    wake.serve = broken
    wake.set()  # raised into simple-websocket's reader, it would end the socket's reading
    assert relay.is_set()
    assert "Acting on a click of a page failed." in caplog.text


def test_a_queued_message_weighs_its_text_one_level_deep() -> None:
    html = "<hx-partial>" + "x" * 10_000 + "</hx-partial>"
    result = weight({"type": "done", "job": "j1", "value": {"html": html}})
    assert result == 256 + len("done") + len("j1") + len(html)  # a result's HTML is counted
    toast = weight({"type": "notify", "message": "m" * 500, "level": "info"})
    assert toast == 256 + len("notify") + 500 + len("info")
    deeper = weight({"type": "done", "value": {"html": {"nested": "y" * 10_000}}})
    assert deeper == 256 + len("done")  # no message carries text deeper than that
