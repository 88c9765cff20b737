"""The windowed grid over HTTP: a large gallery's first paint draws one window and sizes the
rest; each window is a GET of the page (checked like its clicks), drawn with the selection as it
stands; requests naming no window are refused by name; small galleries are drawn whole."""

from __future__ import annotations

import typing as t

import pytest
from bs4 import BeautifulSoup
from flask import Flask, render_template_string
from PIL import Image

from flask_gallery import FlaskGallery

from .test_pages_http import Page

WINDOW = 60


@pytest.fixture
def pages(tmp_path: t.Any) -> tuple[Flask, t.Any]:
    """An app with a 1,000-item gallery (the same few files under many entries), a 60-item
    one, and the test client."""
    files = []
    for i in range(4):
        path = tmp_path / f"c{i}.png"
        Image.new("RGB", (32, 32), (60 * i, 90, 200)).save(path)
        files.append(str(path))
    app = Flask("windowed_test", instance_path=str(tmp_path / "instance"))
    app.config.update(TESTING=True, SECRET_KEY="test-secret", GALLERY_MAX_ITEMS=1000)
    galleries = FlaskGallery(app)
    galleries.gallery("big", [files[i % 4] for i in range(1000)])
    galleries.gallery("small", [files[i % 4] for i in range(WINDOW)])

    @app.get("/page")
    def page() -> str:
        from flask import request

        names = request.args.getlist("n")
        return render_template_string(
            "{{ gallery_assets() }}{% for n in names %}{{ gallery(n) }}{% endfor %}", names=names
        )

    return app, app.test_client()


def test_first_paint_draws_the_first_window_and_a_placeholder_per_other_window(
    pages: tuple[Flask, t.Any],
) -> None:
    app, client = pages
    page = Page(app, client, ["big"])
    windows = page.soup.select(".fg-window")
    assert [int(str(w["data-start"])) for w in windows] == list(range(0, 1000, WINDOW))
    assert len(page.soup.select(".fg-item")) == WINDOW
    assert windows[0].has_attr("data-drawn") and not windows[1].has_attr("data-drawn")
    # Every placeholder knows how many items it stands for, so it takes their rows' height.
    assert [w["style"] for w in windows[-2:]] == [f"--fg-n: {WINDOW}", "--fg-n: 40"]


def test_a_gallery_of_one_window_is_drawn_whole_as_before(pages: tuple[Flask, t.Any]) -> None:
    app, client = pages
    page = Page(app, client, ["small"])
    assert not page.soup.select(".fg-window, [data-windows]")
    assert len(page.soup.select(".fg-grid > .fg-item")) == WINDOW


def test_a_window_is_the_items_it_names_with_the_selection_as_it_stands(
    pages: tuple[Flask, t.Any],
) -> None:
    app, client = pages
    page = Page(app, client, ["big"])
    assert page.post("big/select/130").status_code == 200
    response = client.get(f"/_gallery/p/{page.token}/big/window/120", headers=page.headers())
    assert response.status_code == 200
    soup = BeautifulSoup(response.data, "html.parser")
    thumbs = soup.select(".fg-item > .fg-thumb")
    assert [int(str(b["data-index"])) for b in thumbs] == list(range(120, 180))
    assert [b["data-index"] for b in soup.select(".fg-thumb.fg-selected")] == ["130"]
    assert thumbs[10]["hx-post"] == f"/_gallery/p/{page.token}/big/select/130"
    last = client.get(f"/_gallery/p/{page.token}/big/window/960", headers=page.headers())
    assert len(BeautifulSoup(last.data, "html.parser").select(".fg-thumb")) == 40


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("big/window/1000", 400, "No window of gallery 'big' begins at item 1000"),
        ("big/window/61", 400, "windows begin at multiples of 60"),
        ("small/window/0", 400, "it is drawn whole"),
        ("nope/window/0", 404, "Gallery 'nope' is not on this page"),
    ],
)
def test_a_request_for_no_window_is_refused_by_name(
    pages: tuple[Flask, t.Any], path: str, status: int, says: str
) -> None:
    app, client = pages
    page = Page(app, client, ["big", "small"])
    response = client.get(f"/_gallery/p/{page.token}/{path}", headers=page.headers())
    assert response.status_code == status
    assert says in BeautifulSoup(response.data, "html.parser").get_text()


def test_a_window_is_refused_without_the_pages_header(pages: tuple[Flask, t.Any]) -> None:
    app, client = pages
    page = Page(app, client, ["big"])
    response = client.get(f"/_gallery/p/{page.token}/big/window/60")
    assert response.status_code == 403


def test_the_preview_strip_of_a_large_gallery_is_a_window_around_the_selected_item(
    pages: tuple[Flask, t.Any],
) -> None:
    app, client = pages
    page = Page(app, client, ["big"])
    html = page.post("big/select/0").get_data(as_text=True)
    strip = [
        int(str(b["data-index"]))
        for b in BeautifulSoup(html, "html.parser").select(".fg-strip-thumb")
    ]
    # Centred on item 0 and wrapping round, as next and previous do: both neighbours are there.
    assert strip == [*range(970, 1000), *range(0, 31)]


@pytest.mark.parametrize(
    ("key", "value"),
    [("GALLERY_WINDOW_SIZE", 0), ("GALLERY_MAX_WINDOWS", 1), ("GALLERY_WINDOW_SIZE", "60")],
)
def test_window_settings_are_checked_at_init(tmp_path: t.Any, key: str, value: object) -> None:
    app = Flask("windowed_config", instance_path=str(tmp_path))
    app.config.update(SECRET_KEY="test-secret", **{key: value})
    with pytest.raises(ValueError, match=key):
        FlaskGallery(app)
