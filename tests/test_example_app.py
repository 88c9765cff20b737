"""The example app a newcomer starts first: both pages render and every image they show is
served by the app itself."""

from __future__ import annotations

import re
import typing as t

import pytest
from bs4 import BeautifulSoup

from example_app import create_app

from .conftest import fetch


@pytest.fixture
def example(tmp_path: t.Any) -> t.Any:
    return create_app({"GALLERY_MEDIA_DIR": str(tmp_path)}).test_client()


@pytest.mark.parametrize(
    ("path", "galleries"), [("/", 1), ("/options", 9), ("/selections", 1), ("/events", 2)]
)
def test_pages_render_and_their_images_are_served(
    example: t.Any, path: str, galleries: int
) -> None:
    page = fetch(example, path)
    assert page.status_code == 200
    soup = BeautifulSoup(page.data, "html.parser")
    assert len(soup.select("[data-gallery]")) == galleries
    sources = {str(img["src"]) for img in soup.select("[data-gallery] img")}
    assert sources or path == "/events"  # the events demo starts with empty galleries
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
