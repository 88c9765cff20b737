"""Shared fixtures: a real Flask app per test with its instance folder (and so its media store)
in ``tmp_path``, the extension registered on it, and a helper that renders a template call and
parses it, so tests assert on elements and attributes rather than on whole strings."""

from __future__ import annotations

import threading
import typing as t

import pytest
from bs4 import BeautifulSoup, Tag
from flask import Flask, render_template_string

from flask_gallery import FlaskGallery
from flask_gallery.web.app_state import shutdown_all


@pytest.fixture(autouse=True)
def _stop_gallery_threads() -> t.Iterator[None]:
    """Every app made in a test is stopped after it, and no gallery thread may survive: a
    leaked worker or pool thread fails the test that leaked it."""
    yield
    shutdown_all()
    leaked = [th.name for th in threading.enumerate() if th.name.startswith("flask_gallery")]
    assert not leaked, f"threads left running after the test: {leaked}"


@pytest.fixture
def app(tmp_path: t.Any) -> Flask:
    app = Flask("gallery_test", instance_path=str(tmp_path / "instance"))
    app.config.update(TESTING=True, SECRET_KEY="test-secret")
    return app


@pytest.fixture
def galleries(app: Flask) -> FlaskGallery:
    return FlaskGallery(app)


@pytest.fixture
def client(app: Flask, galleries: FlaskGallery) -> t.Any:
    return app.test_client()


def fetch(client: t.Any, url: str, **kwargs: t.Any) -> t.Any:
    """GET through the test client and close the response (media responses hold open files)."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response


class Renderer:
    """Renders ``{{ gallery(...) }}`` in a request context and parses the result."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def html(self, source: str, **context: t.Any) -> str:
        with self.app.test_request_context("/"):
            return render_template_string(source, **context)

    def soup(self, source: str, **context: t.Any) -> BeautifulSoup:
        return BeautifulSoup(self.html(source, **context), "html.parser")

    def gallery(self, name: str | None = None, **overrides: t.Any) -> Tag:
        """The gallery's root element, rendered with ``gallery(name, **overrides)``."""
        soup = self.soup("{{ gallery(name, **overrides) }}", name=name, overrides=overrides)
        root = soup.find(attrs={"data-gallery": True})
        assert isinstance(root, Tag), f"no gallery element in {soup!s:.300}"
        return root


@pytest.fixture
def render(app: Flask, galleries: FlaskGallery) -> Renderer:
    return Renderer(app)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[t.Any]:
    """One real redis-server for the session (see :mod:`tests.redis_server`)."""
    from .redis_server import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: t.Any) -> t.Iterator[str]:
    """The session's Redis, emptied before each test that uses it."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.close()
    yield redis_server.url
