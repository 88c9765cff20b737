"""The example app a newcomer starts first: every page renders and every image it shows is
served by the app itself; the demos' handlers do what their pages say."""

from __future__ import annotations

import re
import typing as t

import pytest
from bs4 import BeautifulSoup

from example_app import create_app
from example_app.generate import generate
from example_app.pictures import COLOURS
from example_app.search import matching

from .conftest import fetch


@pytest.fixture
def example(tmp_path: t.Any) -> t.Any:
    return create_app({"GALLERY_MEDIA_DIR": str(tmp_path)}).test_client()


#: Pages whose galleries start empty (their handlers or the page's load fill them).
EMPTY = {"/events", "/generate", "/search"}


@pytest.mark.parametrize(
    ("path", "galleries"),
    [
        ("/", 1),
        ("/generate", 1),
        ("/search", 1),
        ("/options", 9),
        ("/selections", 1),
        ("/events", 2),
    ],
)
def test_pages_render_and_their_images_are_served(
    example: t.Any, path: str, galleries: int
) -> None:
    page = fetch(example, path)
    assert page.status_code == 200
    soup = BeautifulSoup(page.data, "html.parser")
    assert len(soup.select("[data-gallery]")) == galleries
    sources = {str(img["src"]) for img in soup.select("[data-gallery] img")}
    assert bool(sources) != (path in EMPTY)
    for src in sources:
        assert src.startswith("/_gallery/media/"), src
        response = fetch(example, src)
        assert response.status_code == 200 and response.mimetype.startswith("image/"), src
    for asset in re.findall(
        r'(?:src|href)="(/_gallery/static/[^"]+)"', page.get_data(as_text=True)
    ):
        assert fetch(example, asset).status_code == 200


def test_fake_gan_generates_new_images_at_each_load(example: t.Any) -> None:
    first, second = (
        re.findall(r"/_gallery/media/([^/\"]+)", fetch(example, "/").get_data(as_text=True))
        for _ in range(2)
    )
    assert first and set(first).isdisjoint(second)
    soup = BeautifulSoup(fetch(example, "/").data, "html.parser")
    captions = [c.get_text() for c in soup.select(".fg-caption-label")]
    assert captions == ["label 0", "label 1", "label 2"]


def test_generate_streams_the_same_previews_for_the_same_prompt(example: t.Any) -> None:
    with example.application.app_context():
        runs = [list(generate("a fox", "3")) for _ in range(2)]
    assert [status for _, status in runs[0]] == [
        "a fox: step 1/3",
        "a fox: step 2/3",
        "a fox: done, 3 steps",
    ]
    last = [image for image, _ in runs[0][-1][0]]
    assert len(last) == 3
    assert all(
        (a == b).all() for a, b in zip(last, [image for image, _ in runs[1][-1][0]], strict=True)
    )
    assert not (last[0] == last[-1]).all()  # the noise fades step by step
    with example.application.app_context():
        assert [status for _, status in generate("a fox", "9")] == [
            "Steps must be a whole number from 1 to 8, not '9'."
        ]


def test_search_matches_colour_and_shape() -> None:
    assert [caption for _, caption in matching("Blue ", "any")[0]] == [
        "blue circle",
        "blue square",
        "blue triangle",
    ]
    assert [caption for _, caption in matching("", "square")[0]] == [
        f"{colour} square" for colour in COLOURS
    ]
    assert matching("pink", "any") == ([], f"No picture is pink. Colours: {', '.join(COLOURS)}.")
