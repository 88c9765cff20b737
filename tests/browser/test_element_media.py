"""Image outputs to ``"#id"`` (issue 15) in a real chromium: a select handler returns an image,
a video, a path, a media URL of the app, ``None`` or text for ``#result``, and the user sees the
picture loaded, the video playable, the element emptied or the text, with no server path in the
page."""

from __future__ import annotations

import pathlib
import re
import shutil
import typing as t

import numpy as np
import pytest
from flask import render_template_string
from PIL import Image

from flask_gallery import FlaskGallery, SelectData

from ..live import LiveServer
from .conftest import gallery_app, goto_connected

if t.TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

FILES = pathlib.Path(__file__).parent.parent / "files"
#: The narrow box's width: a 1600 px image shown there must fit it, and not be fetched whole.
NARROW = 150

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>element media</title>
<link rel="icon" href="data:,">
{{ gallery_assets() }}
</head><body>
{{ gallery("pick") }}{{ gallery("big") }}
<div id="result">before</div>
<div id="narrow" style="width: {{ narrow }}px">before</div>
</body></html>"""

#: What the handler returns for each thumbnail of "pick", in order.
CASES = ("array", "pil", "path", "media url", "video", "none", "text")


def gradient(width: int, height: int) -> np.ndarray:
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    return np.broadcast_to(ramp, (height, width, 3)).astype(np.uint8)


def declare(galleries: FlaskGallery, folder: pathlib.Path) -> None:
    Image.new("RGB", (90, 60), "teal").save(folder / "photo.png")
    shutil.copy(FILES / "clip.webm", folder / "clip.webm")
    pick = galleries.gallery(
        "pick",
        [(np.full((40, 40, 3), 20 * i, np.uint8), case) for i, case in enumerate(CASES)],
        allow_preview=False,
        columns=len(CASES),
    )

    @pick.on_select(outputs="#result", trigger_mode="multiple")
    def show(evt: SelectData) -> t.Any:
        return {
            "array": lambda: gradient(120, 80),
            "pil": lambda: Image.new("RGB", (70, 50), "orange"),
            "path": lambda: folder / "photo.png",
            "media url": lambda: evt.value["image"]["url"],
            "video": lambda: folder / "clip.webm",
            "none": lambda: None,
            "text": lambda: "plain <b>text</b> /etc/passwd",
        }[CASES[evt.index]]()

    big = galleries.gallery("big", [np.zeros((40, 40, 3), np.uint8)], allow_preview=False)

    @big.on_select(outputs="#narrow")
    def large(evt: SelectData) -> np.ndarray:
        return gradient(1600, 800)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return tmp_path_factory.mktemp("element-files")


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, folder: pathlib.Path
) -> t.Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("element-media")
    app = gallery_app(root / "instance", lambda galleries: declare(galleries, folder))

    @app.get("/t")
    def test_page() -> str:
        return render_template_string(PAGE, narrow=NARROW)

    with LiveServer(app) as live:
        yield live


@pytest.fixture
def shown(page: Page, server: LiveServer) -> Page:
    goto_connected(page, f"{server.url}/t")
    return page


def choose(page: Page, case: str) -> None:
    page.locator(f"#fg-pick .fg-thumb[data-index='{CASES.index(case)}']").click()


def image_loaded(page: Page, selector: str) -> dict[str, t.Any]:
    """Waits until the image at ``selector`` has loaded; its natural and rendered sizes."""
    page.wait_for_function(
        "sel => { const i = document.querySelector(sel);"
        " return i && i.complete && i.naturalWidth > 0; }",
        arg=selector,
    )
    return t.cast(
        dict[str, t.Any],
        page.eval_on_selector(
            selector,
            "i => ({natural: [i.naturalWidth, i.naturalHeight], shown: i.clientWidth,"
            " src: i.getAttribute('src'), current: i.currentSrc, alt: i.alt})",
        ),
    )


def assert_opaque(page: Page, src: str, folder: pathlib.Path) -> None:
    """The media URL names an id, not a file; the page holds no server path."""
    assert re.fullmatch(r"/_gallery/media/[0-9a-f]{32}-[0-9a-f]{20}", src), src
    assert str(folder) not in page.content()


@pytest.mark.parametrize(
    ("case", "size"),
    [("array", (120, 80)), ("pil", (70, 50)), ("path", (90, 60)), ("media url", (40, 40))],
)
def test_an_image_output_loads_as_an_img(
    shown: Page, folder: pathlib.Path, case: str, size: tuple[int, int]
) -> None:
    choose(shown, case)
    image = image_loaded(shown, "#result img")
    assert tuple(image["natural"]) == size
    assert image["alt"]
    assert_opaque(shown, image["src"], folder)
    expect(shown.locator("#result")).not_to_contain_text("before")


def test_a_video_output_plays_from_the_media_store(shown: Page, folder: pathlib.Path) -> None:
    choose(shown, "video")
    shown.wait_for_function(
        "() => { const v = document.querySelector('#result video');"
        " return v && v.controls && v.readyState >= 1 && v.videoWidth > 0; }"
    )
    size = shown.eval_on_selector("#result video", "v => [v.videoWidth, v.videoHeight]")
    assert size == [32, 32]
    src = shown.eval_on_selector("#result video", "v => v.getAttribute('src')")
    assert_opaque(shown, src, folder)


def test_none_empties_the_element_and_text_stays_text(shown: Page) -> None:
    choose(shown, "array")
    image_loaded(shown, "#result img")
    choose(shown, "none")
    expect(shown.locator("#result img")).to_have_count(0)
    expect(shown.locator("#result")).to_have_text("")
    choose(shown, "text")
    expect(shown.locator("#result")).to_have_text("plain <b>text</b> /etc/passwd")
    expect(shown.locator("#result *")).to_have_count(0)


def test_a_large_image_fits_a_narrow_box_and_is_fetched_small(shown: Page) -> None:
    shown.locator("#fg-big .fg-thumb").click()
    image = image_loaded(shown, "#narrow img")
    assert image["shown"] <= NARROW
    # The browser picked a thumbnail for the box, not the 1600 px file.
    assert image["natural"][0] < 1600 and re.search(r"/w[0-9]+$", image["current"])
