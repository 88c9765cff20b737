"""Pages of another process, without ``GALLERY_QUEUE_URL``: page tokens carry the tag of the
process that made them, so a request naming a page this process does not hold is told apart from
one whose page expired here; the page is told to reload, the log says that several processes need
``GALLERY_QUEUE_URL`` (at most a line a minute), and a server that says it runs several processes
is warned about once. Live servers with several gunicorn workers: ``test_processes_live.py``."""

from __future__ import annotations

import logging
import secrets
import typing as t

import pytest
from bs4 import BeautifulSoup
from flask import Flask

from flask_gallery import FlaskGallery
from flask_gallery.page.state import TAG_LENGTH, new_token, process_tag
from flask_gallery.web.processes import LOG_EVERY, Processes
from flask_gallery.web.tokens import PageElsewhere, PageGone

from .test_pages_http import Page, pixels, with_pages

ELSEWHERE = PageElsewhere.description
EXPIRED = PageGone.description
#: What the log line about a page of another process starts with.
LINE = "named a gallery page made by another process of this server"


def foreign_token() -> str:
    """A token as another process of the server makes them: its own tag, 128 random bits."""
    tag = process_tag()
    while tag == process_tag():
        tag = secrets.token_urlsafe(6)
    return tag + secrets.token_urlsafe(16)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "flask_gallery" and r.levelno == logging.WARNING
    ]


@pytest.fixture
def site(app: Flask, galleries: FlaskGallery) -> Flask:
    galleries.gallery("g", pixels(2))
    return with_pages(app)


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="flask_gallery")
    return caplog


# What the page and the log are told ------------------------------------------------------------


def test_a_click_naming_another_processs_page_says_so_and_logs_why(
    site: Flask, logged: pytest.LogCaptureFixture
) -> None:
    page = Page(site, site.test_client(), ["g"])  # the session a browser would have
    token = foreign_token()
    response = page.client.post(
        f"/_gallery/p/{token}/g/select/1", headers=page.headers(**{"X-Gallery-Page": token})
    )
    assert response.status_code == 410
    assert response.headers["HX-Retarget"] == "#fg-toasts"
    alert = BeautifulSoup(response.text, "html.parser").select_one("[role=alert] .fg-toast-text")
    assert alert is not None and alert.get_text() == ELSEWHERE
    (line,) = warnings_of(logged)
    assert LINE in line and "'flask_gallery.select'" in line
    assert "GALLERY_QUEUE_URL" in line and "README.md#deployment" in line
    assert "After a restart this is expected once per page that was open." in line
    assert token not in line and repr(token[:TAG_LENGTH]) in line


def test_a_page_that_expired_here_says_so_and_logs_nothing(
    site: Flask, logged: pytest.LogCaptureFixture
) -> None:
    page = Page(site, site.test_client(), ["g"])
    site.extensions["flask_gallery"].pages.discard(page.token)
    response = page.post("g/select/1")
    assert response.status_code == 410 and EXPIRED in response.text
    assert warnings_of(logged) == []


@pytest.mark.parametrize("token", ["made-up", secrets.token_urlsafe(16)])
def test_a_token_no_process_made_is_an_expired_page(
    site: Flask, logged: pytest.LogCaptureFixture, token: str
) -> None:
    page = Page(site, site.test_client(), ["g"])
    response = site.test_client().get(
        f"/_gallery/poll/{token}", headers=page.headers(**{"X-Gallery-Page": token})
    )
    assert response.status_code == 410 and EXPIRED in response.text
    assert warnings_of(logged) == []


def test_with_a_queue_url_nothing_claims_another_process(
    app: Flask, logged: pytest.LogCaptureFixture, redis_url: str
) -> None:
    app.config["GALLERY_QUEUE_URL"] = redis_url
    FlaskGallery(app).gallery("g", pixels(2))
    site = with_pages(app)
    page = Page(site, site.test_client(), ["g"])
    token = foreign_token()
    response = page.client.get(
        f"/_gallery/poll/{token}", headers=page.headers(**{"X-Gallery-Page": token})
    )
    assert response.status_code == 410 and EXPIRED in response.text
    assert warnings_of(logged) == []


def test_the_poll_says_so_too(site: Flask, logged: pytest.LogCaptureFixture) -> None:
    page = Page(site, site.test_client(), ["g"])
    token = foreign_token()
    response = page.client.get(
        f"/_gallery/poll/{token}", headers=page.headers(**{"X-Gallery-Page": token})
    )
    assert response.status_code == 410
    text = BeautifulSoup(response.text, "html.parser").select_one(".fg-toast-text")
    assert text is not None and text.get_text() == ELSEWHERE  # what gallery.js shows
    (line,) = warnings_of(logged)
    assert "'flask_gallery.poll'" in line and "GALLERY_QUEUE_URL" in line


def with_a_button(app: Flask, galleries: FlaskGallery) -> Flask:
    """``POST /mark``: a view of the app's own that asks for its page, as README's example."""

    @app.post("/mark")
    def mark() -> t.Any:
        return galleries.page().notify("g", "marked")

    return app


@pytest.mark.parametrize(("foreign", "text"), [(True, ELSEWHERE), (False, EXPIRED)])
def test_the_apps_own_view_shows_the_refusal_as_a_toast(
    site: Flask,
    galleries: FlaskGallery,
    logged: pytest.LogCaptureFixture,
    foreign: bool,
    text: str,
) -> None:
    """The app's button posts with ``hx-swap="none"`` and knows no gallery: the refusal is an
    update of the page's toast region, which htmx applies whatever the button swaps."""
    with_a_button(site, galleries)
    page = Page(site, site.test_client(), ["g"])
    if foreign:
        token = foreign_token()
    else:
        token = page.token
        site.extensions["flask_gallery"].pages.discard(token)
    headers = {"X-Gallery-Page": token, "HX-Request": "true"}
    response = page.client.post("/mark", headers=headers)
    assert response.status_code == 410
    partial = BeautifulSoup(response.text, "html.parser").select_one("hx-partial")
    assert partial is not None
    assert (partial["hx-target"], partial["hx-swap"]) == ("#fg-toasts", "beforeend")
    assert partial.select_one("[role=alert] .fg-toast-text").get_text() == text
    lines = warnings_of(logged)
    assert len(lines) == foreign
    if foreign:
        assert "'mark'" in lines[0] and "GALLERY_QUEUE_URL" in lines[0]
    # Not from htmx (a plain form's post): Flask's own error page, with the same words.
    response = page.client.post("/mark", headers={"X-Gallery-Page": token})
    assert response.status_code == 410 and text in response.text
    assert "hx-partial" not in response.text


def test_the_log_says_it_once_a_minute_and_counts_the_rest(
    logged: pytest.LogCaptureFixture,
) -> None:
    now = [1000.0]
    processes = Processes(None, clock=lambda: now[0])
    forged = [foreign_token() for _ in range(500)]
    assert all(processes.made_elsewhere(token, "flask_gallery.poll") for token in forged)
    assert len(warnings_of(logged)) == 1
    now[0] += LOG_EVERY - 1
    assert processes.made_elsewhere(foreign_token(), "flask_gallery.poll")
    assert len(warnings_of(logged)) == 1
    now[0] += 1
    assert processes.made_elsewhere(foreign_token(), "flask_gallery.select")
    first, second = warnings_of(logged)
    assert "were not logged" not in first
    assert "500 more such requests since the last such line were not logged" in second
    assert not any(token in first + second for token in forged)
    now[0] += 1
    assert processes.made_elsewhere(foreign_token(), "flask_gallery.poll")
    assert len(warnings_of(logged)) == 2


def test_this_processs_own_tokens_and_malformed_ones_are_never_logged(
    logged: pytest.LogCaptureFixture,
) -> None:
    processes = Processes(None)
    for token in (new_token(), "made-up", "\n" * 30, "<b>" * 10):
        assert not processes.made_elsewhere(token, "flask_gallery.poll")
    assert warnings_of(logged) == []


# The server's processes, at start ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("multiprocess", "queue_url", "warned"),
    [(True, None, True), (False, None, False), (True, "redis", False)],
)
def test_a_server_of_several_processes_is_warned_about_once(
    app: Flask,
    logged: pytest.LogCaptureFixture,
    multiprocess: bool,
    queue_url: str | None,
    warned: bool,
    request: pytest.FixtureRequest,
) -> None:
    """WSGI's ``wsgi.multiprocess`` (gunicorn ``-w 2``, ``flask run --processes 2``) at the
    first request; gunicorn's own ``--workers`` as it loads the app (test_processes_live)."""
    if queue_url == "redis":  # a real one: the app connects at start
        queue_url = request.getfixturevalue("redis_url")
    app.config["GALLERY_QUEUE_URL"] = queue_url
    FlaskGallery(app)

    @app.get("/")
    def index() -> str:
        return "ok"

    client = app.test_client()
    for _ in range(3):
        assert client.get("/", environ_overrides={"wsgi.multiprocess": multiprocess}).text == "ok"
    lines = warnings_of(logged)
    assert len(lines) == warned
    if warned:
        assert lines[0].startswith("This server runs several processes")
        assert "GALLERY_QUEUE_URL is not set" in lines[0] and "README.md#deployment" in lines[0]
    # Decided at the first request: a later one does not ask again.
    assert app.extensions["flask_gallery"].processes.server_checked
    client.get("/", environ_overrides={"wsgi.multiprocess": True})
    assert len(warnings_of(logged)) == warned
