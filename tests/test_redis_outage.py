"""Redis gone for a moment under a running app, on a real redis-server stopped and started again
on its port: a click meanwhile is refused with a message in the page (503, Retry-After), not a
500 and not lost silently; with Redis's append-only file every accepted submission and the page
survive the restart, and the same page goes on by itself."""

from __future__ import annotations

import contextlib
import time
import typing as t
from pathlib import Path

import pytest
from flask import Flask

from flask_gallery.web.delivery import RECONNECTING
from flask_gallery.web.redis_mode import RETRY_AFTER, UNAVAILABLE

from .apps.redis_site import create_app, open_page, poll_until, select
from .clients import Page, receive_until
from .redis_server import RedisServer
from .servers import ServerProcess

APP = "tests.apps.redis_site:create_app"
#: Seconds any wait of these tests may take at most.
LIMIT = 20.0


@pytest.fixture
def outage(tmp_path: Path) -> t.Iterator[tuple[RedisServer, Flask]]:
    server = RedisServer(tmp_path / "redis", persistent=True)
    app = create_app(server.url, str(tmp_path / "media"))
    yield server, app
    app.extensions["flask_gallery"].shutdown()
    server.stop()


def test_a_click_while_redis_is_down_is_refused_in_the_page_and_service_resumes(
    outage: tuple[RedisServer, Flask],
) -> None:
    server, app = outage
    client = app.test_client()
    token = open_page(client)
    assert select(client, token, 1).status_code == 200
    server.stop()
    refused = select(client, token, 1)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == str(RETRY_AFTER)
    assert UNAVAILABLE in refused.text and 'role="alert"' in refused.text
    assert refused.headers["HX-Retarget"] == "#fg-toasts"  # shown as a toast
    server.start()  # the append-only file brings the page and the queue back
    again = select(client, token, 2)
    assert again.status_code == 200, again.text
    poll_until(client, token, "picked 2 (shade 2)", 15.0)


def test_an_open_page_shows_that_the_server_is_reconnecting_and_goes_on_over_its_socket(
    tmp_path: Path,
) -> None:
    """On a real server with the page's real WebSocket: Redis stops, the page is told, in a
    toast, that the server is reconnecting; a click over the socket meanwhile is refused by
    name; Redis comes back, the notice goes, and the same socket carries the next result."""
    redis = RedisServer(tmp_path / "redis", persistent=True)
    env = {"FG_REDIS_URL": redis.url, "FG_MEDIA_DIR": str(tmp_path / "media")}
    try:
        with ServerProcess(APP, tmp_path / "instance", env=env) as server:
            page = Page(server, "/page")
            with contextlib.closing(page.socket()) as ws:
                page.click(ws, "select/1", "g")
                receive_until(ws, "picked 1 (shade 1)", LIMIT)
                redis.stop()
                notice = receive_until(ws, RECONNECTING, LIMIT)
                assert 'id="fg-toast-link" role="status"' in notice
                page.click(ws, "select/2", "g")
                refused = receive_until(ws, UNAVAILABLE, LIMIT)
                assert 'role="alert"' in refused and 'hx-target="#fg-toasts"' in refused
                redis.start()
                receive_until(ws, 'hx-target="#fg-toast-link" hx-swap="delete"', LIMIT)
                page.click(ws, "select/2", "g")
                receive_until(ws, "picked 2 (shade 2)", LIMIT)
    finally:
        redis.stop()


def test_a_page_edited_when_redis_went_away_is_not_left_locked(tmp_path: Path) -> None:
    """Redis stops in the middle of a click's change to a page: the change fails (the click is
    refused), and the page's lock, which Redis kept in its append-only file, is given back at
    the next call rather than blocking the page for its 30 s lifetime."""
    import redis as client

    from flask_gallery.page.redis_store import LOCK_WAIT, RedisPageStore
    from flask_gallery.queue.redis_client import connect

    server = RedisServer(tmp_path / "redis", persistent=True)
    try:
        pages = RedisPageStore(connect(server.url), "lk:")
        token = pages.create("session").token
        with pytest.raises(client.exceptions.ConnectionError), pages.edit(token) as page:
            assert page is not None
            server.stop()
        server.start()
        started = time.monotonic()
        with pages.edit(token) as page:
            assert page is not None
        assert time.monotonic() - started < LOCK_WAIT / 3  # it did not wait out the lock
    finally:
        server.stop()


def test_a_lock_whose_reply_was_lost_is_given_back_even_after_more_failed_clicks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis took a page's lock and its reply was lost (a fault no real server lets a test
    cause on cue, so the loss is simulated); then Redis went away and another click on the
    page failed too. When Redis is back, the next call gives the first lock back, not only
    the last one asked for, instead of waiting the first out."""
    import redis as client

    from flask_gallery.page.redis_store import LOCK_WAIT, RedisPageStore
    from flask_gallery.queue.redis_client import connect

    server = RedisServer(tmp_path / "redis", persistent=True)
    try:
        pages = RedisPageStore(connect(server.url), "lr:")
        token = pages.create("session").token
        real = RedisPageStore._load

        def lost(self: RedisPageStore, *args: t.Any, **kwargs: t.Any) -> t.Any:
            real(self, *args, **kwargs)  # the lock is taken in Redis...
            raise client.exceptions.ConnectionError("Connection closed by server.")  # ...unsaid

        monkeypatch.setattr(RedisPageStore, "_load", lost)
        with pytest.raises(client.exceptions.ConnectionError), pages.edit(token):
            pass
        monkeypatch.setattr(RedisPageStore, "_load", real)
        server.stop()
        with pytest.raises(client.exceptions.ConnectionError), pages.edit(token):
            pass
        server.start()
        started = time.monotonic()
        with pages.edit(token) as page:
            assert page is not None
        assert time.monotonic() - started < LOCK_WAIT / 3
    finally:
        server.stop()


def test_a_page_locked_too_long_is_refused_with_a_message_not_a_500(
    outage: tuple[RedisServer, Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds the page's lock past the wait (it hung, or died holding it): the
    click is refused in the gallery (503, try again), not answered with a server error."""
    import redis as client

    from flask_gallery.page import redis_store as redis_pages

    server, app = outage
    monkeypatch.setattr(redis_pages, "LOCK_WAIT", 0.3)
    browser = app.test_client()
    token = open_page(browser)
    prefix = app.extensions["flask_gallery"].redis.prefix
    client.Redis.from_url(server.url).set(f"{prefix}plock:{token}", "someone else", px=30_000)
    refused = select(browser, token, 1)
    assert refused.status_code == 503 and 'role="alert"' in refused.text
    assert UNAVAILABLE in refused.text and refused.headers["HX-Retarget"] == "#fg-toasts"
