"""The engine as the app builds it: its config keys, and who a click's submission belongs to."""

from __future__ import annotations

import threading
import typing as t

import numpy as np
from flask import Flask, render_template_string

from flask_gallery import FlaskGallery, SelectData

from .test_queue_support import WAIT, eventually


def _site(app: Flask) -> Flask:
    @app.get("/page")
    def page() -> str:
        return render_template_string("{{ gallery('g') }}<div id='out'></div>")

    return app


def _token(client: t.Any) -> str:
    html = client.get("/page").get_data(as_text=True)
    return html.split('data-page="', 1)[1].split('"', 1)[0]


def _headers(token: str) -> dict[str, str]:
    return {"X-Gallery-Page": token, "HX-Request": "true"}


def test_the_config_keys_reach_the_engine(app: Flask) -> None:
    app.config.update(
        GALLERY_MAX_QUEUED_PER_PAGE=3,
        GALLERY_MAX_QUEUED_PER_SESSION=7,
        GALLERY_HANDLER_TIMEOUT=12.5,
    )
    FlaskGallery(app)
    config = app.extensions["flask_gallery"].engine().config
    assert (config.max_queued_per_page, config.max_queued_per_session) == (3, 7)
    assert config.handler_timeout == 12.5


def test_defaults(app: Flask) -> None:
    FlaskGallery(app)
    assert app.config["GALLERY_MAX_QUEUED_PER_PAGE"] == 20
    assert app.config["GALLERY_MAX_QUEUED_PER_SESSION"] == 50
    assert app.config["GALLERY_HANDLER_TIMEOUT"] is None


def test_a_click_carries_its_session_and_address_and_a_full_page_is_told(app: Flask) -> None:
    app.config.update(GALLERY_MAX_QUEUED_PER_PAGE=2)
    galleries = FlaskGallery(app)
    gallery = galleries.gallery("g", [np.zeros((4, 4, 3), np.uint8)] * 2)
    release, entered = threading.Event(), threading.Event()

    @gallery.on_select(outputs="#out", trigger_mode="multiple")
    def slow(evt: SelectData) -> str:
        entered.set()
        release.wait(WAIT)
        return f"done {evt.index}"

    _site(app)
    client = app.test_client()
    token = _token(client)

    def click(index: int = 1) -> None:
        response = client.post(f"/_gallery/p/{token}/g/select/{index}", headers=_headers(token))
        assert response.status_code == 200

    try:
        click()
        assert entered.wait(WAIT)
        for _ in range(3):  # two wait, the third is over the page's cap
            click()
        state = app.extensions["flask_gallery"]
        engine = state.engine()
        jobs = engine.jobs()
        assert len(jobs) == 3
        assert {(job.session, job.client) for job in jobs} == {
            (state.pages.get(token).session_id, "127.0.0.1")
        }
        poll = client.get(f"/_gallery/poll/{token}?after=0", headers=_headers(token)).text
        assert "queue full: this page already has 2 submissions waiting" in poll
        assert 'hx-target="#fg-toasts"' in poll  # a toast of the page
        other = app.test_client()  # another user: not refused
        other_token = _token(other)
        answer = other.post(f"/_gallery/p/{other_token}/g/select/0", headers=_headers(other_token))
        assert answer.status_code == 200
        assert len(engine.jobs()) == 4
    finally:
        release.set()
    assert eventually(lambda: engine.jobs() == [])
