"""What a user sees of the display parameters (issue 2), in a real chromium: the columns laid
out at each breakpoint, heights and scrolling, object-fit, the preview, hidden galleries, and
what the grid downloads (thumbnails, the right srcset candidate, lazily, without layout shift).

One app serves every gallery of this module; each test opens ``/?g=<name>`` in a fresh context.
"""

from __future__ import annotations

import re
import typing as t

import numpy as np
import pytest

from flask_gallery import FlaskGallery

from ..live import LiveServer
from .conftest import gallery_app

if t.TYPE_CHECKING:
    from playwright.sync_api import Page, Route

pytestmark = pytest.mark.browser

#: Gradio's breakpoints (<576, <768, <992, <1200, <1400, >=1400 px): one viewport width in each.
WIDTHS = (500, 700, 900, 1100, 1300, 1500)
THUMB_URL = re.compile(r"/_gallery/media/([^/?]+)/w(\d+)$")
FULL_URL = re.compile(r"/_gallery/media/([^/?]+)$")
ACCENT = "rgb(249, 115, 22)"


def picture(index: int, width: int, height: int | None = None) -> np.ndarray:
    """A distinct picture per index (the store is content addressed: equal arrays share a URL)."""
    height = height or width
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    tint = np.array([(index * 37) % 256, (index * 91) % 256, (index * 53) % 256], np.float32)
    image = np.broadcast_to((ramp + tint) % 256, (height, width, 3)).astype(np.uint8)
    image[: 1 + index % 8, : 1 + index // 8] = 0  # tiny index mark: never two equal arrays
    return image


def pictures(n: int, width: int = 240, start: int = 0) -> list[np.ndarray]:
    return [picture(start + i, width) for i in range(n)]


def declare(g: FlaskGallery) -> None:
    g.gallery("cols6", pictures(12), columns=(1, 2, 3, 4, 5, 6))
    g.gallery("cols13", pictures(12, start=20), columns=(1, 3))
    g.gallery("fit", pictures(2, start=40), columns=4)
    g.gallery("nofit", pictures(2, start=42), columns=4, fit_columns=False)
    g.gallery("h300", pictures(30, start=50), columns=3, height=300)
    g.gallery("h50vh", pictures(30, start=50), columns=3, height="50vh")
    g.gallery("tall", pictures(30, start=50), columns=3)
    g.gallery("short", pictures(1, start=90), columns=6, fit_columns=False)
    for fit in ("contain", "cover", "fill", "none", "scale-down"):
        g.gallery(f"fit-{fit}", [picture(100, 300, 150)], object_fit=fit)
    g.gallery("fit-default", [picture(100, 300, 150)])
    selected = [(picture(110, 320), "cap 0"), (picture(111, 640, 480), "cap 1")]
    g.gallery("selected", [*selected, (picture(112, 200), "cap 2")], selected_index=1)
    g.gallery("noprev", pictures(3, start=120), selected_index=2, allow_preview=False)
    g.gallery("label", pictures(1, start=130), label="Loud")
    g.gallery("nolabel", pictures(1, start=131), label="Quiet", show_label=False)
    g.gallery("off", pictures(2, start=140), visible=False)
    g.gallery("hidden", pictures(2, start=142), visible="hidden")
    g.gallery("srcset", pictures(6, width=1024, start=150), columns=6)
    g.gallery("column", pictures(4, width=1024, start=160))
    g.gallery("lazy", pictures(200, width=300, start=200), columns=3, height=300)
    g.gallery("auto", pictures(6, width=400, start=400), columns=3, height="auto")
    for height in (300, 150):  # wide pictures: the preview letterboxes them
        wide = [picture(500 + height + i, 640, 360) for i in range(6)]
        g.gallery(f"p{height}", wide, columns=3, height=height, label=f"Wide {height}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[LiveServer]:
    app = gallery_app(tmp_path_factory.mktemp("display") / "instance", declare)
    with LiveServer(app) as live:
        yield live


class Requests:
    """Every request the page makes, recorded with ``page.on("request")``."""

    def __init__(self, page: Page) -> None:
        self.urls: list[str] = []
        page.on("request", lambda r: self.urls.append(r.url))

    def thumbs(self) -> list[str]:
        return [u for u in self.urls if THUMB_URL.search(u)]

    def full(self) -> list[str]:
        return [u for u in self.urls if FULL_URL.search(u)]


def show(page: Page, server: LiveServer, *names: str, width: int | None = None) -> None:
    if width is not None:
        page.set_viewport_size({"width": width, "height": 800})
    page.goto(server.url + "/?" + "&".join(f"g={n}" for n in names))


def root(name: str) -> str:
    return f"#fg-{name}"


def laid_out_columns(page: Page, name: str) -> tuple[int, int]:
    """(columns of the computed grid template, distinct x positions of the thumbnails)."""
    tracks, positions = page.eval_on_selector(
        f"{root(name)} .fg-grid",
        """grid => [
            getComputedStyle(grid).gridTemplateColumns.split(" ").length,
            new Set([...grid.querySelectorAll(".fg-thumb")].map(
                b => Math.round(b.getBoundingClientRect().left))).size,
        ]""",
    )
    return tracks, positions


def wait_loaded(page: Page, selector: str, start: int = 0, end: int | None = None) -> None:
    """Wait until the images matching ``selector`` (those in ``[start:end]``, in document order)
    have loaded (their decoded size is known)."""
    page.wait_for_function(
        """([sel, start, end]) => {
            const imgs = [...document.querySelectorAll(sel)].slice(start, end ?? undefined);
            return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0);
        }""",
        arg=[selector, start, end],
    )


# Columns ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "expected"), list(zip(WIDTHS, range(1, 7), strict=True)))
def test_columns_follow_gradios_six_breakpoints(
    page: Page, server: LiveServer, width: int, expected: int
) -> None:
    show(page, server, "cols6", width=width)
    assert laid_out_columns(page, "cols6") == (expected, expected)


@pytest.mark.parametrize(("width", "expected"), [(500, 1), (700, 3), (1100, 3), (1500, 3)])
def test_fewer_than_six_columns_repeat_the_last(
    page: Page, server: LiveServer, width: int, expected: int
) -> None:
    show(page, server, "cols13", width=width)
    assert laid_out_columns(page, "cols13") == (expected, expected)


def test_fit_columns_never_lays_out_more_columns_than_items(page: Page, server: LiveServer) -> None:
    show(page, server, "fit", "nofit")
    assert laid_out_columns(page, "fit") == (2, 2)
    assert laid_out_columns(page, "nofit") == (4, 2)  # four tracks, two of them empty

    def share(name: str) -> float:
        return t.cast(
            float,
            page.eval_on_selector(
                f"{root(name)} .fg-grid",
                "g => g.querySelector('.fg-thumb').getBoundingClientRect().width"
                " / g.getBoundingClientRect().width",
            ),
        )

    assert 0.45 < share("fit") < 0.5  # two items fill the row
    assert 0.2 < share("nofit") < 0.25  # a quarter each, half the row empty


# Height ----------------------------------------------------------------------------------------


def box_height(page: Page, selector: str) -> float:
    return t.cast(float, page.eval_on_selector(selector, "e => e.getBoundingClientRect().height"))


@pytest.mark.parametrize(("name", "height"), [("h300", 300), ("h50vh", 400)])
def test_height_gives_a_scroll_container_of_that_height(
    page: Page, server: LiveServer, name: str, height: int
) -> None:
    show(page, server, name)  # at a viewport 800 px high: 50vh is 400 px
    wrap = f"{root(name)} .fg-grid-wrap"
    assert box_height(page, wrap) == height
    last = page.locator(f"{root(name)} .fg-thumb").last
    assert not last.evaluate(in_scrollport)
    page.eval_on_selector(wrap, "w => w.scrollTo(0, w.scrollHeight)")
    page.wait_for_function(
        f"document.querySelector({wrap!r}).scrollTop > 0"
    )  # scrolled: the container, not the page
    assert last.evaluate(in_scrollport)
    assert page.evaluate("window.scrollY") == 0


#: Whether an element is (at least partly) inside its scroll container's visible box.
in_scrollport = """el => {
    const wrap = el.closest(".fg-grid-wrap").getBoundingClientRect();
    const box = el.getBoundingClientRect();
    return box.bottom > wrap.top && box.top < wrap.bottom;
}"""


@pytest.mark.parametrize(
    ("viewport", "tall", "short"),
    [
        ((1000, 800), 0.55 * 800, 320),  # 55vh at most, 20rem at least
        ((1300, 800), 450, 450),  # from 1280 px wide: at least 450 px (above 55vh)
    ],
)
def test_default_height_is_between_20rem_and_55vh(
    page: Page, server: LiveServer, viewport: tuple[int, int], tall: float, short: float
) -> None:
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    show(page, server, "tall", "short")
    assert box_height(page, f"{root('tall')} .fg-grid-wrap") == pytest.approx(tall, abs=0.5)
    assert box_height(page, f"{root('short')} .fg-grid-wrap") == pytest.approx(short, abs=0.5)
    assert page.eval_on_selector(
        f"{root('tall')} .fg-grid-wrap", "w => w.scrollHeight > w.clientHeight"
    )


Box = dict[str, float]


def box(page: Page, selector: str) -> Box:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, selector
    return t.cast(Box, found)


def inside(inner: Box, outer: Box, slack: float = 0.5) -> bool:
    return (
        inner["x"] >= outer["x"] - slack
        and inner["y"] >= outer["y"] - slack
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack
    )


@pytest.mark.parametrize("height", [300, 150])
def test_the_toolbar_floats_over_the_grid(page: Page, server: LiveServer, height: int) -> None:
    """Gradio's toolbar (and label) lie over the grid's top corners: the first row starts at
    the grid's own padding, not below room kept for the buttons, which a small gallery needs."""
    name = f"p{height}"
    show(page, server, name)
    wrap, first = box(page, f"{root(name)} .fg-grid-wrap"), box(page, f"{root(name)} .fg-thumb")
    toolbar = box(page, f"{root(name)} .fg-toolbar")
    position = page.eval_on_selector(
        f"{root(name)} .fg-toolbar", "e => getComputedStyle(e).position"
    )
    assert position == "absolute"
    assert first["y"] - wrap["y"] < toolbar["height"]  # no room kept for the toolbar
    assert toolbar["y"] < first["y"] + first["height"]  # it lies over the first row
    assert inside(toolbar, wrap)


@pytest.mark.parametrize("height", [300, 150])
def test_height_holds_while_the_preview_is_open(
    page: Page, server: LiveServer, height: int
) -> None:
    """The preview fits in the gallery's box, as Gradio's: the block keeps its size, the big
    image is letterboxed in it, and the strip of thumbnails stays inside."""
    name = f"p{height}"
    show(page, server, name)
    closed = box(page, root(name))
    assert box_height(page, f"{root(name)} .fg-grid-wrap") == height
    page.locator(f"{root(name)} .fg-grid .fg-thumb").nth(1).click()
    wait_loaded(page, f"{root(name)} dialog.fg-preview[open] .fg-preview-media")
    assert box(page, root(name)) == closed
    preview = box(page, f"{root(name)} dialog.fg-preview[open]")
    assert inside(preview, closed)
    image = box(page, f"{root(name)} .fg-preview-media")
    strip = box(page, f"{root(name)} .fg-strip")
    current = box(page, f"{root(name)} .fg-strip-thumb[aria-current=true]")
    assert inside(image, preview) and inside(strip, preview) and inside(current, strip)
    assert image["y"] + image["height"] <= strip["y"] + 0.5  # above the strip, not under it
    assert image["height"] > 0 and image["width"] / image["height"] == pytest.approx(
        640 / 360, rel=0.03
    )  # letterboxed: its aspect ratio kept


# Object fit ------------------------------------------------------------------------------------


def test_object_fit_applies_to_the_thumbnail_image(page: Page, server: LiveServer) -> None:
    fits = ("contain", "cover", "fill", "none", "scale-down")
    show(page, server, *(f"fit-{f}" for f in fits), "fit-default")
    for fit in (*fits, "default"):
        computed = page.eval_on_selector(
            f"{root('fit-' + fit)} .fg-thumb img", "i => getComputedStyle(i).objectFit"
        )
        assert computed == ("cover" if fit == "default" else fit), fit


# Preview ---------------------------------------------------------------------------------------


def test_selected_index_opens_the_preview_with_the_full_image_and_caption(
    page: Page, server: LiveServer
) -> None:
    show(page, server, "selected")
    dialog = page.locator(f"{root('selected')} dialog.fg-preview")
    assert dialog.is_visible()
    big = dialog.locator("[data-testid=detailed-image]")
    assert big.is_visible()
    wait_loaded(page, f"{root('selected')} [data-testid=detailed-image]")
    # The full file of item 1 (640x480), not a thumbnail of it and not another item.
    assert big.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [640, 480]
    assert FULL_URL.search(big.evaluate("i => i.currentSrc"))
    assert dialog.locator(".fg-preview-caption").inner_text() == "cap 1"
    assert dialog.locator(".fg-strip-thumb[aria-current=true]").get_attribute("data-index") == "1"


def outline(page: Page, name: str) -> list[tuple[str, str]]:
    return t.cast(
        "list[tuple[str, str]]",
        page.eval_on_selector_all(
            f"{root(name)} .fg-thumb",
            "bs => bs.map(b => getComputedStyle(b)).map(s => [s.outlineStyle, s.outlineColor])",
        ),
    )


def test_selected_index_without_allow_preview_highlights_only(
    page: Page, server: LiveServer
) -> None:
    show(page, server, "noprev")
    assert page.locator(f"{root('noprev')} dialog").count() == 0
    assert page.locator(f"{root('noprev')} .fg-grid").is_visible()
    styles = outline(page, "noprev")
    assert styles[2] == ["solid", ACCENT]
    assert [s for s, _ in styles[:2]] == ["none", "none"]


# Label and visibility --------------------------------------------------------------------------


def test_show_label(page: Page, server: LiveServer) -> None:
    show(page, server, "label", "nolabel")
    assert page.locator(f"{root('label')} [data-testid=block-label]").is_visible()
    assert page.locator(f"{root('label')} [data-testid=block-label]").inner_text() == "Loud"
    assert page.get_by_text("Quiet", exact=True).count() == 0
    assert page.locator(f"{root('nolabel')} .fg-thumb").is_visible()


def test_invisible_galleries_are_not_displayed(page: Page, server: LiveServer) -> None:
    requests = Requests(page)
    show(page, server, "off", "hidden", "label")
    wait_loaded(page, f"{root('label')} .fg-thumb img")
    for name in ("off", "hidden"):
        assert page.locator(root(name)).is_hidden(), name
        assert page.locator(root(name)).bounding_box() is None, name
    assert page.locator(f"{root('hidden')} .fg-thumb").count() == 2  # in the DOM, not shown
    # Only the visible gallery's thumbnail was fetched.
    assert len(requests.thumbs()) == 1 and not requests.full()


# What the grid downloads -----------------------------------------------------------------------


def chosen_thumbnails(page: Page, name: str) -> list[tuple[int, float]]:
    """For each grid image, once loaded: the width of the thumbnail the browser picked (its
    ``currentSrc`` must be a ``/w<width>`` thumbnail) and the device pixels its box needs."""
    wait_loaded(page, f"{root(name)} .fg-thumb img")
    chosen = page.eval_on_selector_all(
        f"{root(name)} .fg-thumb img",
        "imgs => imgs.map(i => [i.currentSrc, i.clientWidth * devicePixelRatio])",
    )
    widths = []
    for src, needed in chosen:
        match = THUMB_URL.search(src)
        assert match, f"the grid shows {src}, not a thumbnail"
        widths.append((int(match.group(2)), needed))
    return widths


def test_grid_shows_thumbnails_never_the_full_files(page: Page, server: LiveServer) -> None:
    requests = Requests(page)
    show(page, server, "srcset")
    assert len(chosen_thumbnails(page, "srcset")) == 6
    assert requests.full() == []
    assert len(requests.thumbs()) == 6


@pytest.mark.parametrize(("scale", "width"), [(1, 192), (2, 384)])
def test_srcset_picks_the_candidate_for_the_device_pixel_ratio(
    new_page: t.Callable[..., Page], server: LiveServer, scale: int, width: int
) -> None:
    # Six columns at 1000 px: a cell is about 160 CSS px, so 192w at 1x and 384w at 2x.
    page = new_page(viewport={"width": 1000, "height": 800}, device_scale_factor=scale)
    show(page, server, "srcset")
    for chosen, needed in chosen_thumbnails(page, "srcset"):
        assert chosen == width
        assert chosen >= needed  # sharp: at least one image pixel per device pixel


def test_srcset_follows_the_cell_not_the_viewport(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/?g=column&width=600")
    for chosen, needed in chosen_thumbnails(page, "column"):
        assert needed < 300  # two cells side by side in 600 px
        assert chosen < 2 * needed, f"w{chosen}: over four times the pixels the cell shows"


def test_items_far_below_a_scrolled_container_are_not_requested(
    page: Page, server: LiveServer
) -> None:
    requests = Requests(page)
    page.goto(server.url + "/?g=lazy", wait_until="load")  # waits for every eager image
    thumbs = page.locator(f"{root('lazy')} .fg-thumb img")
    assert thumbs.count() == 60  # 200 items: the grid draws its first window (windowed grid)
    assert {thumbs.nth(i).get_attribute("loading") for i in range(0, 60, 10)} == {"lazy"}
    wait_loaded(page, f"{root('lazy')} .fg-thumb img", end=3)
    first_paint = requests.thumbs()
    assert 3 <= len(first_paint) < 100, len(first_paint)
    last = thumbs.last
    assert last.get_attribute("src") not in first_paint
    # Scrolling the container down brings the last row in, and only then is it fetched.
    page.eval_on_selector(f"{root('lazy')} .fg-grid-wrap", "w => w.scrollTo(0, w.scrollHeight)")
    wait_loaded(page, f"{root('lazy')} .fg-thumb img", start=-3)
    assert last.evaluate("i => i.currentSrc") in requests.thumbs()


def test_width_and_height_keep_the_layout_from_shifting(page: Page, server: LiveServer) -> None:
    held: list[Route] = []
    hold = True

    def thumbnail(route: Route) -> None:  # held until the layout is measured
        held.append(route) if hold else route.continue_()

    page.route(THUMB_URL, thumbnail)
    page.goto(server.url + "/?g=auto", wait_until="domcontentloaded")
    measured = f"{root('auto')} .fg-thumb img, {root('auto')} .fg-grid, #after"
    measure = """sel => [...document.querySelectorAll(sel)].map(e => {
        const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })"""
    assert page.eval_on_selector_all(f"{root('auto')} img", "is => is.every(i => !i.complete)")
    before = page.evaluate(measure, measured)
    hold = False
    for route in held:
        route.continue_()
    wait_loaded(page, f"{root('auto')} .fg-thumb img")
    assert page.evaluate(measure, measured) == before
    images = before[1:-1]  # document order: the grid, its images, the paragraph after it
    assert len(images) == 6 and all(h > 50 for *_, h in images)  # space reserved up front
