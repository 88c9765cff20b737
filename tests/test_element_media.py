"""Image outputs to ``"#id"`` (issue 15): what a handler's image, video, path or text becomes
in the HTML the page receives, and in a JSON API answer. Each test runs a real handler through
the app's engine and reads the result as the page would (the polling endpoint)."""

from __future__ import annotations

import io
import logging
import pathlib
import shutil
import tempfile
import typing as t

import numpy as np
import pytest
from bs4 import BeautifulSoup, Tag
from flask import Flask
from PIL import Image

from flask_gallery import FlaskGallery, SelectData, skip

from .conftest import fetch
from .test_pages_http import Channel, Page, with_pages

FILES = pathlib.Path(__file__).parent / "files"
MEDIA_PREFIX = "/_gallery/media/"


class Results:
    """A page whose gallery ``g`` has a select listener writing to ``#out`` what the test
    gives it: :meth:`show` clicks and returns ``#out``'s new content, as the page gets it."""

    def __init__(
        self, app: Flask, galleries: FlaskGallery, handler: t.Callable[..., t.Any] | None = None
    ) -> None:
        self.app = with_pages(app)
        self.value: t.Any = None
        gallery = galleries.gallery("g", [np.full((64, 48, 3), 90, np.uint8)])

        def show(evt: SelectData) -> t.Any:
            value = self.value
            return value(evt) if callable(value) else value

        gallery.select(
            handler or show,
            outputs="#out",
            trigger_mode="multiple",
            api_name="show",
            api_visibility="public",
        )

        self.page = Page(self.app, self.app.test_client(), ["g"])
        self.channel = Channel(self.app, self.page)
        self.ran = 0

    def run(self, value: t.Any) -> list[dict[str, t.Any]]:
        """Click once with ``value`` as the handler's result; the page's messages so far."""
        self.value = value
        assert self.page.post("g/select/0").status_code == 200
        self.ran += 1
        return self.channel.wait(1)

    def show(self, value: t.Any) -> Tag:
        """``#out`` as the latest result replaces its content."""
        self.run(value)
        return self.latest()

    def latest(self) -> Tag:
        html = self.poll()
        updates = BeautifulSoup(html, "html.parser").select('hx-partial[hx-target="#out"]')
        assert updates, f"no update of #out in {html[:500]}"
        assert updates[-1]["hx-swap"] == "innerHTML"
        return updates[-1]

    def poll(self) -> str:
        response = self.page.client.get(
            f"/_gallery/poll/{self.page.token}?after=0", headers=self.page.headers()
        )
        return str(response.get_data(as_text=True))

    def get(self, url: str) -> t.Any:
        return fetch(self.page.client, url)


@pytest.fixture
def results(app: Flask, galleries: FlaskGallery) -> Results:
    return Results(app, galleries)


@pytest.fixture
def folder() -> t.Iterator[pathlib.Path]:
    """A folder the app may serve files from (under the temp folder)."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="element-media-"))
    yield path
    shutil.rmtree(path)


def png(path: pathlib.Path, size: tuple[int, int] = (40, 30), color: str = "teal") -> pathlib.Path:
    Image.new("RGB", size, color).save(path)
    return path


def only_img(update: Tag) -> Tag:
    """The single ``<img>`` an update holds (and nothing else)."""
    (img,) = update.find_all(True)
    assert img.name == "img"
    return img


def assert_opaque(src: str, *names: str) -> None:
    assert src.startswith(MEDIA_PREFIX)
    for name in names:
        assert name not in src


def test_a_numpy_array_is_an_img_from_the_media_store(results: Results) -> None:
    img = only_img(results.show(np.zeros((30, 40, 3), np.uint8)))
    assert_opaque(str(img["src"]))
    assert (img["width"], img["height"]) == ("40", "30")
    assert img["alt"] == "Image"
    assert "fg-output-media" in img["class"]
    response = results.get(str(img["src"]))
    assert response.status_code == 200 and response.mimetype == "image/webp"  # gr.Image's format
    assert Image.open(io.BytesIO(response.data)).size == (40, 30)


def test_float_arrays_are_scaled_as_gradio_does(results: Results) -> None:
    img = only_img(results.show(np.full((8, 8, 3), 1.0, np.float32)))
    data = results.get(str(img["src"])).data
    assert Image.open(io.BytesIO(data)).convert("RGB").getpixel((4, 4)) == (255, 255, 255)


def test_a_large_image_offers_thumbnails_for_its_box(results: Results) -> None:
    """The browser picks from the store's thumbnail widths, and the full file where the box
    is wider than the largest; nothing is encoded until it asks."""
    img = only_img(results.show(Image.new("RGB", (1200, 600), "navy")))
    candidates = [part.strip().rsplit(" ", 1) for part in str(img["srcset"]).split(",")]
    widths = [int(w.rstrip("w")) for _, w in candidates]
    assert widths == [192, 384, 640, 960, 1200]
    assert candidates[-1][0] == img["src"]  # the full file, at its width
    assert all(url.startswith(MEDIA_PREFIX) for url, _ in candidates)
    assert str(img["sizes"]).startswith("auto, ")
    assert img["loading"] == "lazy" and (img["width"], img["height"]) == ("1200", "600")
    thumb = results.get(candidates[0][0])
    assert thumb.status_code == 200
    assert Image.open(io.BytesIO(thumb.data)).size == (192, 96)


def test_a_pil_image_and_a_path_are_imgs(results: Results, folder: pathlib.Path) -> None:
    pil = only_img(results.show(Image.new("RGBA", (20, 10), (255, 0, 0, 128))))
    assert (pil["width"], pil["height"]) == ("20", "10")
    photo = png(folder / "photo.png")
    from_path = only_img(results.show(photo))
    assert_opaque(str(from_path["src"]), "photo", str(folder))
    assert from_path["alt"] == "photo.png"
    assert results.get(str(from_path["src"])).data == photo.read_bytes()  # not re-encoded
    html = results.poll()
    assert str(folder) not in html  # no server path in anything the page received


def test_a_str_naming_an_image_file_the_app_may_serve_is_an_img(
    results: Results, folder: pathlib.Path
) -> None:
    photo = png(folder / "named.png")
    img = only_img(results.show(str(photo)))
    assert results.get(str(img["src"])).data == photo.read_bytes()


def test_a_media_url_of_this_app_is_an_img(results: Results) -> None:
    """What a handler was given (``SelectData.value``) can be shown as is."""
    img = only_img(results.show(lambda evt: evt.value["image"]["url"]))
    assert (img["width"], img["height"]) == ("48", "64")
    assert results.get(str(img["src"])).status_code == 200
    # A thumbnail URL of the item is the same item.
    thumb = str(str(img["srcset"]).split(",")[0].split(" ")[0])
    again = only_img(results.show(thumb))
    assert again["src"] == img["src"]


def test_a_video_file_is_a_video_with_controls(results: Results, folder: pathlib.Path) -> None:
    clip = shutil.copy(FILES / "clip.mp4", folder / "clip.mp4")
    (video,) = results.show(pathlib.Path(clip)).find_all(True)
    assert video.name == "video" and video.has_attr("controls")
    assert_opaque(str(video["src"]), "clip")
    served = results.get(str(video["src"]))
    assert served.mimetype == "video/mp4" and served.data == (FILES / "clip.mp4").read_bytes()
    # Given as a str path, the same.
    (again,) = results.show(str(clip)).find_all(True)
    assert again.name == "video" and again["src"] == video["src"]


@pytest.mark.parametrize(
    "text",
    [
        "Done",
        "<b>not html</b>",
        "/etc/passwd",
        "../../../../../../../../etc/hostname",
        "saved to out.png",  # an image extension, but no such file
        "missing.png",
        "https://example.com/cat.png",  # external: text, the server fetches nothing
        "/_gallery/media/0123456789abcdef0123456789abcdef-0123456789abcdef0123",  # forged id
        "/_gallery/media/not-an-id",
    ],
)
def test_other_strs_stay_text(results: Results, text: str) -> None:
    update = results.show(text)
    assert update.find_all(True) == [] and update.get_text() == text


def test_a_str_path_the_app_may_not_serve_stays_text_and_is_never_read(
    app: Flask, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, caplog: t.Any
) -> None:
    """The temp folder is one the app may serve: give the app its own, so ``outside`` is not."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "app-tmp"))
    (tmp_path / "app-tmp").mkdir()
    app.config["GALLERY_BLOCKED_PATHS"] = [str(tmp_path / "blocked")]
    results = Results(app, FlaskGallery(app))
    (tmp_path / "outside").mkdir()
    (tmp_path / "blocked").mkdir()
    png(tmp_path / "outside" / "secret.png")
    blocked = png(tmp_path / "blocked" / "key.png")
    relative = "../" * 20 + str(tmp_path / "outside" / "secret.png").lstrip("/")
    for text in (str(tmp_path / "outside" / "secret.png"), relative, str(blocked)):
        with caplog.at_level(logging.WARNING, logger="flask_gallery"):
            update = results.show(text)
        assert update.find_all(True) == [] and update.get_text() == text
    assert "GALLERY_ALLOWED_PATHS" in caplog.text and "GALLERY_BLOCKED_PATHS" in caplog.text
    assert MEDIA_PREFIX not in results.poll()  # nothing of them was stored or shown


def test_a_path_the_app_may_not_serve_fails_naming_the_setting(
    app: Flask, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "app-tmp"))
    (tmp_path / "app-tmp").mkdir()
    results = Results(app, FlaskGallery(app))
    (tmp_path / "outside").mkdir()
    secret = png(tmp_path / "outside" / "secret.png")
    results.run(secret)
    (failed,) = results.channel.ended("failed")
    assert "Output #out:" in failed["error"] and "GALLERY_ALLOWED_PATHS" in failed["error"]
    assert str(tmp_path) not in failed["error"]  # the page is never told a server path
    assert 'hx-target="#out"' not in results.poll()  # the element keeps what it had


@pytest.mark.parametrize(
    ("value", "logged"),
    [
        (pathlib.Path("no-such-picture.png"), "Output '#out': the file 'no-such-picture.png' does"),
        (np.zeros((4, 4, 7), np.uint8), "Output '#out': An image array must be shaped"),
    ],
)
def test_a_path_to_nothing_or_a_bad_array_fails_naming_the_output(
    results: Results, caplog: t.Any, value: object, logged: str
) -> None:
    with caplog.at_level(logging.ERROR, logger="flask_gallery"):
        results.run(value)
    assert len(results.channel.ended("failed")) == 1
    assert logged in caplog.text  # the developer's log says what was wrong, and where


def test_none_empties_and_skip_leaves_the_element(results: Results) -> None:
    only_img(results.show(np.zeros((4, 4, 3), np.uint8)))
    emptied = results.show(None)
    assert emptied.contents == []
    results.run(skip())
    assert results.latest() == emptied  # no new update of #out


def test_a_generator_shows_each_yielded_image(app: Flask, galleries: FlaskGallery) -> None:
    def frames(evt: SelectData) -> t.Iterator[t.Any]:
        for shade in (10, 20, 30):
            yield np.full((6, 6, 3), shade, np.uint8)
        yield "finished"

    results = Results(app, galleries, frames)
    results.run(None)
    updates = BeautifulSoup(results.poll(), "html.parser").select('hx-partial[hx-target="#out"]')
    sources = [u.img["src"] for u in updates if u.img is not None]
    assert len(set(sources)) == 3
    assert updates[-1].get_text() == "finished"


def test_the_json_api_answers_gradio_image_data(
    app: Flask, galleries: FlaskGallery, folder: pathlib.Path
) -> None:
    @galleries.api_guard
    def everyone(listener: t.Any) -> bool:
        return True

    results = Results(app, galleries)

    def call(value: t.Any) -> t.Any:
        results.value = value
        response = results.page.client.post(
            "/_gallery/api/show", json={"data": [], "event_data": {"index": 0}}
        )
        assert response.status_code == 200, response.text
        return response.get_json()["data"][0]

    image = call(np.zeros((5, 5, 3), np.uint8))
    assert image["url"].startswith(MEDIA_PREFIX) and image["path"] is None
    assert (image["orig_name"], image["mime_type"]) == ("image.webp", "image/webp")
    assert results.get(image["url"]).status_code == 200
    clip = shutil.copy(FILES / "clip.mp4", folder / "clip.mp4")
    video = call(pathlib.Path(clip))
    assert (video["orig_name"], video["mime_type"]) == ("clip.mp4", "video/mp4")
    assert str(folder) not in str(video)
    assert call("Done") == "Done" and call("/etc/passwd") == "/etc/passwd"
    assert call(None) is None
