"""Registration: init_app, app factories, several apps per process, config and setup errors."""

from __future__ import annotations

import threading
import typing as t
from pathlib import Path

import numpy as np
import pytest
from flask import Flask, render_template_string

from flask_gallery import FlaskGallery

from .conftest import Renderer, fetch


def make_app(tmp_path: Path, name: str, **config: t.Any) -> Flask:
    app = Flask(name, instance_path=str(tmp_path / name))
    app.config.update(SECRET_KEY=f"secret-{name}", **config)
    return app


def test_factory_pattern_and_two_apps_share_declarations_not_state(tmp_path: Path) -> None:
    galleries = FlaskGallery()
    galleries.gallery("g", [np.zeros((64, 64, 3), np.uint8)], label="Shared")
    one, two = make_app(tmp_path, "one"), make_app(tmp_path, "two")
    galleries.init_app(one)
    galleries.init_app(two)
    assert one.extensions["flask_gallery"] is not two.extensions["flask_gallery"]
    srcs = []
    for app in (one, two):
        root = Renderer(app).gallery("g")
        assert root.select_one("[data-testid=block-label]").get_text() == "Shared"
        srcs.append(root.select_one(".fg-thumb img")["src"])
    # Each app signs its own media ids with its own secret and keeps its own store.
    assert srcs[0] != srcs[1]
    assert (tmp_path / "one" / "flask_gallery_media").is_dir()
    assert (tmp_path / "two" / "flask_gallery_media").is_dir()
    assert fetch(one.test_client(), srcs[0]).status_code == 200
    assert fetch(one.test_client(), srcs[1]).status_code == 404  # the other app's id


def test_config_defaults_are_set_and_media_dir_configurable(tmp_path: Path) -> None:
    app = make_app(tmp_path, "cfg", GALLERY_MEDIA_DIR=str(tmp_path / "media"))
    galleries = FlaskGallery(app)
    assert app.config["GALLERY_URL_PREFIX"] == "/_gallery"
    assert app.config["GALLERY_DEFAULT_CONCURRENCY_LIMIT"] == 1
    assert app.config["GALLERY_MAX_QUEUE_SIZE"] > 0
    assert app.config["GALLERY_MAX_UPLOAD_BYTES"] > 0
    assert app.config["GALLERY_MAX_IMAGE_PIXELS"] > 0
    galleries.gallery("g", [np.zeros((8, 8, 3), np.uint8)])
    Renderer(app).gallery("g")
    assert (tmp_path / "media").is_dir()


def test_url_prefix_config(tmp_path: Path) -> None:
    app = make_app(tmp_path, "prefix", GALLERY_URL_PREFIX="/pics")
    galleries = FlaskGallery(app)
    galleries.gallery("g", [np.zeros((8, 8, 3), np.uint8)])
    src = Renderer(app).gallery("g").select_one(".fg-thumb img")["src"]
    assert str(src).startswith("/pics/media/")
    assert fetch(app.test_client(), str(src)).status_code == 200


def test_secret_key_is_required(tmp_path: Path) -> None:
    app = Flask("nokey", instance_path=str(tmp_path))
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        FlaskGallery(app)


def test_init_app_twice_is_refused(app: Flask, galleries: FlaskGallery) -> None:
    with pytest.raises(RuntimeError, match="already registered"):
        FlaskGallery(app)


def test_duplicate_gallery_name(galleries: FlaskGallery) -> None:
    galleries.gallery("g")
    with pytest.raises(ValueError, match="'g' is already declared"):
        galleries.gallery("g")


def test_unknown_gallery_name_in_template(galleries: FlaskGallery, render: Renderer) -> None:
    galleries.gallery("fake_gan")
    with pytest.raises(
        ValueError, match=r"Unknown gallery 'fake_gn'\. Declared galleries: 'fake_gan'"
    ):
        render.html("{{ gallery('fake_gn') }}")


def test_name_may_be_left_out_with_exactly_one_gallery(
    galleries: FlaskGallery, render: Renderer
) -> None:
    galleries.gallery("only", [np.zeros((8, 8, 3), np.uint8)])
    assert render.gallery()["data-gallery"] == "only"
    galleries.gallery("second")
    with pytest.raises(TypeError, match=r"needs a name.*'only', 'second'"):
        render.html("{{ gallery() }}")


def test_unknown_and_fixed_parameters_in_template_call(
    galleries: FlaskGallery, render: Renderer
) -> None:
    galleries.gallery("g")
    with pytest.raises(TypeError, match=r"unknown parameter.*'colums'"):
        render.html("{{ gallery('g', colums=3) }}")
    with pytest.raises(TypeError, match="cannot override 'type'"):
        render.html("{{ gallery('g', type='pil') }}")
    with pytest.raises(ValueError, match="object_fit='stretch'"):
        render.html("{{ gallery('g', object_fit='stretch') }}")


def test_declaring_after_the_first_request_is_refused(
    app: Flask, galleries: FlaskGallery, client: t.Any
) -> None:
    app.add_url_rule("/", "index", lambda: "ok")
    client.get("/")
    with pytest.raises(RuntimeError, match="after 'gallery_test' handled its first request"):
        galleries.gallery("late")


def test_using_it_on_an_unregistered_app_says_so(tmp_path: Path) -> None:
    galleries = FlaskGallery()
    galleries.gallery("g")
    other = make_app(tmp_path, "other")
    other.jinja_env.globals["gallery"] = galleries.render
    with other.test_request_context("/"), pytest.raises(RuntimeError, match="init_app"):
        render_template_string("{{ gallery('g') }}")


def test_pages_opened_together_on_a_fresh_server_do_first_time_work_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restarted server under load gets many first pages at once: each template is compiled
    and a fixed value converted once, by the first of them, not by every one."""
    app = make_app(tmp_path, "herd")
    galleries = FlaskGallery(app)
    galleries.gallery("g", [np.full((64, 64, 3), i, np.uint8) for i in range(3)])
    app.add_url_rule("/", "page", lambda: render_template_string('{{ gallery("g") }}'))
    compiled: list[str | None] = []
    converted: list[str] = []
    compile_ = app.jinja_env.compile
    state = app.extensions["flask_gallery"]
    convert = state.convert

    def counting_compile(source: t.Any, name: str | None = None, *args: t.Any) -> t.Any:
        compiled.append(name)
        return compile_(source, name, *args)

    def counting_convert(gallery: t.Any, value: t.Any) -> t.Any:
        converted.append(gallery.name)
        return convert(gallery, value)

    monkeypatch.setattr(app.jinja_env, "compile", counting_compile)
    monkeypatch.setattr(state, "convert", counting_convert)
    start = threading.Barrier(8)

    def open_page() -> None:
        start.wait()
        assert app.test_client().get("/").status_code == 200

    pages = [threading.Thread(target=open_page) for _ in range(8)]
    for page in pages:
        page.start()
    for page in pages:
        page.join()
    ours = [name for name in compiled if name and name.startswith("flask_gallery/")]
    assert sorted(ours) == sorted(set(ours)) and "flask_gallery/gallery.html" in ours
    assert converted == ["g"]
