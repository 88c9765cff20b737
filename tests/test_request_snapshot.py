"""The request snapshot: plain data in, Flask's request, session and Flask-Login's current_user
back inside a handler run by the engine."""

from __future__ import annotations

import datetime
import json
import typing as t

import flask
import pytest
from flask import Flask
from flask_login import LoginManager, UserMixin, current_user, login_user

from flask_gallery.events import SelectData
from flask_gallery.request import Request, request_context, run_context, snapshot

from .test_queue_support import Comp, Recorder, running_engine


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


@pytest.fixture
def login_app() -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="snapshot-secret")
    manager = LoginManager(app)
    manager.user_loader(lambda user_id: User(user_id) if user_id == "ada" else None)
    return app


def _view_snapshot(app: Flask) -> Request:
    """What a view takes: the request of a logged-in user, with query args and headers."""
    with app.test_request_context(
        "/gallery?tab=1&tab=2&q=cats",
        headers={"User-Agent": "pytest-browser", "X-Trace": "abc"},
        environ_base={"REMOTE_ADDR": "10.0.0.7"},
    ):
        flask.request.cookies  # noqa: B018 - parsed once, as a view would
        login_user(User("ada"))
        flask.session["visits"] = 3
        flask.session["when"] = datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc)
        flask.session["blob"] = b"\x00\x01"
        return snapshot(page="page-token")


def test_snapshot_is_plain_json_safe_data(login_app: Flask) -> None:
    snap = _view_snapshot(login_app)
    assert (snap.method, snap.path, snap.page, snap.remote_addr) == (
        "GET",
        "/gallery",
        "page-token",
        "10.0.0.7",
    )
    assert snap.args == (("tab", "1"), ("tab", "2"), ("q", "cats"))
    assert snap.query_params == {"tab": "1", "q": "cats"}
    assert snap.header("user-agent") == "pytest-browser"
    assert snap.session["_user_id"] == "ada"
    wire = json.loads(json.dumps(snap.to_dict()))
    assert Request.from_dict(wire) == snap


def test_snapshot_reads_as_gradios_request(login_app: Flask) -> None:
    """gr.Request's names: case-insensitive headers, client.host, query_params, username."""
    snap = _view_snapshot(login_app)
    assert snap.headers["user-agent"] == "pytest-browser"
    assert snap.headers.get("USER-AGENT") == "pytest-browser"
    assert "x-trace" in snap.headers and "X-Missing" not in snap.headers
    assert snap.headers.get("X-Missing", "none") == "none"
    assert snap.client.host == "10.0.0.7"
    assert snap.query_params == {"tab": "1", "q": "cats"}
    assert snap.username == "ada"
    assert Request.from_dict(json.loads(json.dumps(snap.to_dict()))).username == "ada"


def test_repeated_headers_keep_every_value_in_order() -> None:
    snap = Request(headers=(("Accept", "a"), ("X-Tag", "1"), ("x-tag", "2")))
    assert snap.headers["X-TAG"] == "1"
    assert snap.headers.getlist("x-tag") == ["1", "2"]
    assert list(snap.headers) == ["Accept", "X-Tag"]
    assert Request.from_dict(json.loads(json.dumps(snap.to_dict()))) == snap


def test_no_username_without_a_login(login_app: Flask) -> None:
    with login_app.test_request_context("/"):
        assert snapshot().username is None  # Flask-Login in use, nobody logged in
    plain = Flask("no_login")
    with plain.test_request_context("/"):
        assert snapshot().username is None  # no Flask-Login at all


def test_request_context_rebuilds_request_and_session(login_app: Flask) -> None:
    snap = _view_snapshot(login_app)
    with request_context(login_app, snap):
        assert flask.request.path == "/gallery"
        assert flask.request.args.getlist("tab") == ["1", "2"]
        assert flask.request.headers["X-Trace"] == "abc"
        assert flask.request.remote_addr == "10.0.0.7"
        assert flask.session["visits"] == 3
        assert flask.session["blob"] == b"\x00\x01"
        assert current_user.is_authenticated and current_user.id == "ada"
    with request_context(login_app, None):
        assert flask.current_app._get_current_object() is login_app  # type: ignore[attr-defined]
        assert not flask.has_request_context()


def test_handlers_run_by_the_engine_see_the_user(login_app: Flask) -> None:
    snap = _view_snapshot(login_app)
    seen: list[t.Any] = []

    def plain(evt: SelectData, request: Request) -> str:
        seen.append((request is snap, flask.session["visits"], evt.index))
        return str(current_user.id)

    async def coroutine() -> str:
        return f"{current_user.id} via {flask.request.path}"

    def stream() -> t.Iterator[str]:
        yield flask.request.args["q"]
        yield current_user.id

    with running_engine(run_context=run_context(login_app)) as engine:
        g = Comp()
        rec = Recorder(engine, "page-token")
        jobs = [
            engine.submit(g.select(plain), "page-token", [], {"index": 4}, snap).job_id,
            engine.submit(g.change(coroutine), "page-token", [], None, snap).job_id,
            engine.submit(g.upload(stream), "page-token", [], None, snap).job_id,
        ]
        values = [rec.terminal(job)["value"] for job in jobs]
    assert values == ["ada", "ada via /gallery", "ada"]
    assert seen == [(True, 3, 4)]
    assert [m["value"] for m in rec.of(jobs[2], "output")] == ["cats", "ada"]
    assert not flask.has_app_context()  # nothing leaked into this thread
