"""The app with ``GALLERY_QUEUE_URL``: two app instances on one real redis-server stand for two
processes (they share nothing but Redis and the media folder). A page rendered by one is clicked
on the other, its result is read from the first; "Download all" works on either; a click's
result is computed by whichever process claims it; Redis unreachable at start is named."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import typing as t
import zipfile
from pathlib import Path

import pytest
from flask import Flask

from flask_gallery import FlaskGallery
from flask_gallery.queue.redis_client import RedisUnavailable

from .apps.redis_site import create_app, headers, open_page, poll_until, select


def _process(tmp_path: Path, url: str, **config: t.Any) -> Flask:
    """One "process": an app of the same module, secret and media folder as the others."""
    return create_app(url, str(tmp_path / "media"), **config)


@pytest.fixture
def two(tmp_path: Path, redis_url: str) -> t.Iterator[tuple[Flask, Flask]]:
    first = _process(tmp_path, redis_url)
    second = _process(tmp_path, redis_url, GALLERY_RUN_HANDLERS=False)
    yield first, second
    for app in (first, second):
        app.extensions["flask_gallery"].shutdown()


def test_a_page_of_one_process_is_clicked_on_another_and_read_on_the_first(
    two: tuple[Flask, Flask],
) -> None:
    first, second = two
    reader = first.test_client()
    token = open_page(reader)
    clicker = second.test_client()
    cookie = reader.get_cookie("session")  # the same browser: its session cookie goes along
    assert cookie is not None
    clicker.set_cookie("session", cookie.value)
    answer = select(clicker, token, 2)
    assert answer.status_code == 200, answer.text
    assert 'id="fg-g-preview"' in answer.text and 'alt="shade 2"' in answer.text  # drawn there
    # The second runs no handlers: the first claims the job; its result reaches any poll.
    poll_until(reader, token, f"picked 2 (shade 2) in process {os.getpid()}")
    assert "picked 2" in poll_until(clicker, token, "picked 2")


def test_a_chained_listener_follows_its_listener_across_processes(
    two: tuple[Flask, Flask],
) -> None:
    """``.then`` in the Redis mode: clicked on a process that runs no handlers, the listener
    and then the one chained after it run on the other, and both results reach the page."""
    first, second = two
    reader = first.test_client()
    token = open_page(reader)
    clicker = second.test_client()
    cookie = reader.get_cookie("session")
    assert cookie is not None
    clicker.set_cookie("session", cookie.value)
    assert select(clicker, token, 1, "chain").status_code == 200
    shown = poll_until(clicker, token, f"then in process {os.getpid()}")
    assert shown.index("chosen 1") < shown.index("then in process")


def test_state_and_load_hold_across_processes(two: tuple[Flask, Flask]) -> None:
    """``galleries.state`` lives in the page store, so in the Redis mode every process reads
    and writes the same value: a button clicked on the process that runs no handlers counts on
    from what the other process wrote. The page's load runs once, on its first poll."""
    first, second = two
    reader = first.test_client()
    token = open_page(reader, "/state")
    clicker = second.test_client()
    cookie = reader.get_cookie("session")
    assert cookie is not None
    clicker.set_cookie("session", cookie.value)
    poll_until(clicker, token, f"loaded in process {os.getpid()}")
    for n in (1, 2, 3):
        answer = clicker.post(f"/_gallery/p/{token}/inc/on/click", headers=headers(token))
        assert answer.status_code == 200, answer.text
        poll_until(reader, token, f"n={n} in process")
    assert poll_until(reader, token, "n=3").count("loaded in process") == 1


def test_download_all_works_on_any_process(two: tuple[Flask, Flask]) -> None:
    first, second = two
    html = first.test_client().get("/page").get_data(as_text=True)
    link = "/_gallery/zip/" + html.split("/_gallery/zip/", 1)[1].split('"', 1)[0]
    answer = second.test_client().get(link.replace("&amp;", "&"))
    assert answer.status_code == 200
    assert len(zipfile.ZipFile(io.BytesIO(answer.data)).namelist()) == 3


@pytest.mark.parametrize("scheme", ["unix", "rediss"])
def test_unix_socket_and_tls_urls_work_as_a_tcp_one(tmp_path: Path, scheme: str) -> None:
    """``GALLERY_QUEUE_URL = "unix:///path/redis.sock"`` (a Redis on the same host, no TCP) and
    ``rediss://`` (TLS, the server's certificate checked against a CA): a page is drawn,
    clicked and gets its result through each."""
    from .redis_server import RedisServer

    server = RedisServer(tmp_path / "redis", tls=scheme == "rediss")
    app = _process(tmp_path, server.unix_url if scheme == "unix" else server.tls_url)
    try:
        client = app.test_client()
        token = open_page(client)
        answer = select(client, token, 1)
        assert answer.status_code == 200, answer.text
        poll_until(client, token, "picked 1 (shade 1)")
    finally:
        app.extensions["flask_gallery"].shutdown()
        server.stop()


def test_an_unreachable_redis_stops_the_app_at_start_naming_the_url(tmp_path: Path) -> None:
    from .redis_server import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(RedisUnavailable, match=f"Cannot reach Redis at GALLERY_QUEUE_URL='{url}'"):
        _process(tmp_path, url)


def _worker(tmp_path: Path, redis_url: str) -> subprocess.Popen[str]:
    """``flask gallery worker`` for the site, as a process of its own."""
    env = {**os.environ, "FG_REDIS_URL": redis_url, "FG_MEDIA_DIR": str(tmp_path / "media")}
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "tests.apps.redis_site", "gallery", "worker"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert worker.stdout is not None
    assert "running handlers" in worker.stdout.readline()  # started
    return worker


def test_flask_gallery_worker_runs_the_handlers_of_web_processes_that_run_none(
    tmp_path: Path, redis_url: str
) -> None:
    web = _process(tmp_path, redis_url, GALLERY_RUN_HANDLERS=False)
    worker = _worker(tmp_path, redis_url)
    try:
        client = web.test_client()
        token = open_page(client)
        answer = select(client, token, 1)
        assert answer.status_code == 200
        poll_until(client, token, f"picked 1 (shade 1) in process {worker.pid}")
    finally:
        worker.terminate()  # SIGTERM: it stops cleanly
        output = worker.communicate(timeout=20)[0]
        web.extensions["flask_gallery"].shutdown()
    assert worker.returncode == 0, output
    assert "flask_gallery worker: stopping" in output


def test_a_worker_stopped_with_sigterm_lets_its_running_handler_finish(
    tmp_path: Path, redis_url: str
) -> None:
    """A rolling deploy sends SIGTERM: the one-second handler the worker runs still delivers
    its result, and the worker then exits cleanly."""
    web = _process(tmp_path, redis_url, GALLERY_RUN_HANDLERS=False)
    worker = _worker(tmp_path, redis_url)
    try:
        client = web.test_client()
        token = open_page(client)
        answer = select(client, token, 0, "once")
        assert answer.status_code == 200
        poll_until(client, token, ">processing<")  # started on the worker
        worker.terminate()
        poll_until(client, token, "once 0 done")
        output = worker.communicate(timeout=20)[0]
    finally:
        worker.kill()
        web.extensions["flask_gallery"].shutdown()
    assert worker.returncode == 0, output
    assert "1 running handler(s) may finish within 30 s" in output


def test_flask_gallery_worker_without_redis_says_what_to_set(tmp_path: Path) -> None:
    app = Flask("plain", instance_path=str(tmp_path / "instance"))
    app.config["SECRET_KEY"] = "k"
    FlaskGallery(app)
    result = app.test_cli_runner().invoke(args=["gallery", "worker"])
    assert result.exit_code == 2 and "GALLERY_QUEUE_URL is not set" in result.output
