"""Living beside other extensions: Flask-WTF's CSRFProtect and Flask-Login's current_user."""

from __future__ import annotations

import typing as t

import numpy as np
import pytest
from flask import Flask, render_template_string, session

from flask_gallery import FlaskGallery, Request, SelectData

from .test_pages_http import PAGE, Channel, Page


@pytest.fixture
def make_app(tmp_path: t.Any) -> t.Callable[[], tuple[Flask, FlaskGallery]]:
    def make() -> tuple[Flask, FlaskGallery]:
        app = Flask("integrations", instance_path=str(tmp_path))
        app.config.update(SECRET_KEY="k", TESTING=True)
        galleries = FlaskGallery(app)

        @app.get("/page")
        def page() -> str:
            return render_template_string(PAGE, names=["g"])

        return app, galleries

    return make


def test_flask_wtf_csrf_protect_passes_the_gallery_requests(make_app: t.Any) -> None:
    from flask_wtf.csrf import CSRFProtect

    app, galleries = make_app()
    app.config["WTF_CSRF_ENABLED"] = True
    CSRFProtect(app)
    galleries.gallery("g", [np.zeros((8, 8, 3), np.uint8)] * 2)
    page = Page(app, app.test_client(), ["g"])
    assert "X-CSRFToken" in page.sent  # rendered into the gallery's hx-headers
    assert page.post("g/select/1").status_code == 200
    without = {k: v for k, v in page.headers().items() if k != "X-CSRFToken"}
    refused = page.post("g/select/0", headers=without)
    assert refused.status_code == 400 and "CSRF" in refused.text
    assert page.state("g").selected == 1


def test_flask_login_current_user_inside_a_handler(make_app: t.Any) -> None:
    from flask_login import LoginManager, UserMixin, current_user, login_user

    app, galleries = make_app()
    manager = LoginManager(app)

    class User(UserMixin):
        def __init__(self, user_id: str) -> None:
            self.id = user_id

    manager.user_loader(User)

    @app.get("/login/<name>")
    def login(name: str) -> str:
        login_user(User(name))
        session["theme"] = "dark"
        return "ok"

    gallery = galleries.gallery("g", [np.zeros((8, 8, 3), np.uint8)] * 2)
    seen: list[t.Any] = []

    @gallery.on_select(outputs="#out")
    def who(evt: SelectData, request: Request) -> str:
        seen.append(
            (current_user.id, session.get("theme"), request.session.get("theme"), evt.index)
        )
        return current_user.id

    client = app.test_client()
    client.get("/login/ada")
    page = Page(app, client, ["g"])
    channel = Channel(app, page)
    page.post("g/select/1")
    channel.wait(1)
    assert seen == [("ada", "dark", "dark", 1)]
