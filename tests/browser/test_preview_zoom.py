"""The preview's big image in a real chromium: zoom by buttons, keys, wheel, double-click and
pinch (touch emulation), pan by drag, swipe to the next item, zoom reset on another item,
transitions off under prefers-reduced-motion, the thumbnail shown until the full file has
loaded, and no axe violations with the zoom controls."""

from __future__ import annotations

import re
import typing as t

import pytest

from .axe import describe, violations
from .conftest import goto_connected
from .preview_site import SIZE, current, serve, thumb, wait_full

if t.TYPE_CHECKING:
    from playwright.sync_api import Page, Route

    from ..live import LiveServer

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

FRAME = "#fg-pics dialog.fg-preview[open] .fg-preview-frame"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[LiveServer]:
    with serve(tmp_path_factory.mktemp("zoom") / "instance") as live:
        yield live


def open_preview(page: Page, server: LiveServer, index: int = 0, query: str = "") -> None:
    goto_connected(page, f"{server.url}/t?g=pics{query}")
    thumb(page, "pics", index).click()
    expect(current(page, "pics")).to_have_attribute("data-index", str(index))
    wait_full(page, "pics")


def zoom(page: Page) -> dict[str, float]:
    """The zoom gallery.js set last (not a transition's frame): scale and pan in px."""
    return t.cast(
        "dict[str, float]",
        page.eval_on_selector(
            FRAME,
            """f => { const m = new DOMMatrix(f.style.transform || "none");
                return {scale: m.a, x: m.e, y: m.f}; }""",
        ),
    )


def scale_is(page: Page, scale: float) -> None:
    expect(page.locator(FRAME)).to_have_attribute("data-zoom", str(scale))


def frame_box(page: Page) -> dict[str, float]:
    """The frame's box in the layout (its transform, maybe mid-animation, left out)."""
    return t.cast(
        "dict[str, float]",
        page.eval_on_selector(
            FRAME,
            """f => { const area = f.parentElement.getBoundingClientRect();  // centred in it
                const width = f.offsetWidth, height = f.offsetHeight;
                return {x: area.left + (area.width - width) / 2,
                        y: area.top + (area.height - height) / 2, width, height}; }""",
        ),
    )


def test_buttons_and_keys_zoom_in_out_and_reset(page: Page, server: LiveServer) -> None:
    open_preview(page, server)
    zoom_in = page.get_by_role("button", name="Zoom in")
    zoom_in.click()
    scale_is(page, 1.25)
    zoom_in.click()
    scale_is(page, 1.56)
    page.get_by_role("button", name="Zoom out").click()
    scale_is(page, 1.25)
    page.get_by_role("button", name="Reset zoom").click()
    scale_is(page, 1)
    page.get_by_role("button", name="Zoom out").click()  # never below the fitted size
    scale_is(page, 1)
    # The keys, with the focus anywhere in the preview.
    current(page, "pics").focus()
    page.keyboard.press("+")
    scale_is(page, 1.25)
    page.keyboard.press("=")
    scale_is(page, 1.56)
    page.keyboard.press("-")
    scale_is(page, 1.25)
    page.keyboard.press("0")
    scale_is(page, 1)
    expect(current(page, "pics")).to_have_attribute("data-index", "0")  # the item stayed


def test_the_zoom_controls_work_by_keyboard_alone(page: Page, server: LiveServer) -> None:
    open_preview(page, server)
    zoom_in = page.get_by_role("button", name="Zoom in")
    zoom_in.focus()
    page.keyboard.press("Enter")
    scale_is(page, 1.25)
    page.keyboard.press("Tab")  # to "Zoom out"
    assert page.evaluate("() => document.activeElement.getAttribute('aria-label')") == "Zoom out"
    page.keyboard.press("Space")
    scale_is(page, 1)
    # Zoomed, Shift+arrows pan (the arrows alone still go to the previous/next item).
    page.keyboard.press("+")
    page.keyboard.press("+")
    before = zoom(page)
    page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("Shift+ArrowUp")
    after = zoom(page)
    assert after["x"] > before["x"] and after["y"] > before["y"]
    expect(current(page, "pics")).to_have_attribute("data-index", "0")
    # The focus shows on the zoom buttons (as on every toolbar button).
    zoom_in.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    assert zoom_in.evaluate("b => b.matches(':focus-visible')")


def test_the_wheel_zooms_around_the_pointer(page: Page, server: LiveServer) -> None:
    open_preview(page, server)
    box = frame_box(page)
    # A point left of and above the middle: what is under it stays under it.
    px, py = box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.3
    page.mouse.move(px, py)
    page.mouse.wheel(0, -200)
    expect(page.locator(FRAME)).not_to_have_attribute("data-zoom", "1")
    z = zoom(page)
    assert z["scale"] > 1
    qx, qy = px - (box["x"] + box["width"] / 2), py - (box["y"] + box["height"] / 2)
    assert (qx - z["x"]) / z["scale"] == pytest.approx(qx, abs=1)
    assert (qy - z["y"]) / z["scale"] == pytest.approx(qy, abs=1)
    # Wheel down zooms out again, back to the fitted image at most.
    for _ in range(10):
        page.mouse.wheel(0, 200)
    scale_is(page, 1)


def test_a_double_click_zooms_and_a_second_one_unzooms(page: Page, server: LiveServer) -> None:
    open_preview(page, server, 1)
    frame = page.locator(FRAME)
    frame.dblclick(position={"x": 100, "y": 100})
    scale_is(page, 2)
    frame.dblclick(position={"x": 100, "y": 100})
    scale_is(page, 1)
    # The clicks of a double-click are no clicks on the image's halves (which change items).
    page.wait_for_timeout(600)
    expect(current(page, "pics")).to_have_attribute("data-index", "1")


def test_dragging_pans_the_zoomed_image(page: Page, server: LiveServer) -> None:
    open_preview(page, server, 2)
    page.get_by_role("button", name="Zoom in").click()
    page.get_by_role("button", name="Zoom in").click()
    box = frame_box(page)
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx - 30, cy - 20, steps=5)
    page.mouse.move(cx - 60, cy - 40, steps=5)
    page.mouse.up()
    z = zoom(page)
    assert z["x"] == pytest.approx(-60, abs=1) and z["y"] == pytest.approx(-40, abs=1)
    # The pan stops at the image's edge.
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 2000, cy, steps=5)
    page.mouse.up()
    limit = (z["scale"] - 1) * box["width"] / 2
    assert zoom(page)["x"] == pytest.approx(limit, abs=1)
    # A drag is no click on a half: the item stayed.
    page.wait_for_timeout(600)
    expect(current(page, "pics")).to_have_attribute("data-index", "2")


class Touch:
    """Touch points sent through the DevTools protocol, as a touchscreen sends them."""

    def __init__(self, page: Page) -> None:
        self.cdp = page.context.new_cdp_session(page)

    def send(self, kind: str, *points: tuple[float, float]) -> None:
        touch_points = [{"x": x, "y": y, "id": n} for n, (x, y) in enumerate(points)]
        self.cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touch_points})

    def drag(self, *paths: list[tuple[float, float]]) -> None:
        """Every finger along its path of points, together."""
        self.send("touchStart", *(path[0] for path in paths))
        for step in range(1, len(paths[0])):
            self.send("touchMove", *(path[step] for path in paths))
        self.send("touchEnd")


def test_pinch_zooms_with_two_fingers(new_page: t.Any, server: LiveServer) -> None:
    page = new_page(has_touch=True)
    open_preview(page, server)
    box = frame_box(page)
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    Touch(page).drag(
        [(cx - 20 - 15 * k, cy) for k in range(8)], [(cx + 20 + 15 * k, cy) for k in range(8)]
    )
    # The fingers went from 40 px apart to 250: the image grew as much.
    assert zoom(page)["scale"] == pytest.approx(250 / 40, rel=0.05)
    Touch(page).drag(
        [(cx - 125 + 15 * k, cy) for k in range(8)], [(cx + 125 - 15 * k, cy) for k in range(8)]
    )
    assert zoom(page)["scale"] == pytest.approx(1, abs=0.01)
    expect(current(page, "pics")).to_have_attribute("data-index", "0")


def test_a_swipe_goes_to_the_next_or_previous_item(new_page: t.Any, server: LiveServer) -> None:
    page = new_page(has_touch=True)
    open_preview(page, server, 1)
    box = frame_box(page)
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    Touch(page).drag([(cx + 60 - 20 * k, cy + k) for k in range(7)])  # to the left: next
    expect(current(page, "pics")).to_have_attribute("data-index", "2")
    expect(page.locator("#out")).to_have_text("2:cap 2")
    Touch(page).drag([(cx - 60 + 20 * k, cy) for k in range(7)])  # to the right: previous
    expect(current(page, "pics")).to_have_attribute("data-index", "1")
    expect(page.locator("#out")).to_have_text("1:cap 1")
    # Mostly vertical, or short: no swipe.
    Touch(page).drag([(cx, cy - 60 + 20 * k) for k in range(7)])
    Touch(page).drag([(cx + 10 - 3 * k, cy) for k in range(7)])
    page.wait_for_timeout(600)
    expect(current(page, "pics")).to_have_attribute("data-index", "1")


def test_the_zoom_resets_on_the_next_item(page: Page, server: LiveServer) -> None:
    open_preview(page, server, 0)
    page.get_by_role("button", name="Zoom in").click()
    scale_is(page, 1.25)
    page.keyboard.press("ArrowRight")
    expect(current(page, "pics")).to_have_attribute("data-index", "1")
    scale_is(page, 1)
    assert zoom(page) == {"scale": 1, "x": 0, "y": 0}
    # Back to the same item: it starts fitted too.
    page.keyboard.press("+")
    page.keyboard.press("ArrowLeft")
    expect(current(page, "pics")).to_have_attribute("data-index", "0")
    scale_is(page, 1)


def test_reduced_motion_turns_the_zoom_animation_off(page: Page, server: LiveServer) -> None:
    open_preview(page, server)
    duration = "f => getComputedStyle(f).transitionDuration"
    assert page.eval_on_selector(FRAME, duration) != "0s"
    page.emulate_media(reduced_motion="reduce")
    seconds = page.eval_on_selector(FRAME, f"f => parseFloat(({duration})(f))")
    assert seconds < 0.001  # none, or the instant one the gallery's reduced-motion rule sets
    page.get_by_role("button", name="Zoom in").click()
    # No animation: the drawn transform is the final one at once.
    assert page.eval_on_selector(
        FRAME, "f => new DOMMatrix(getComputedStyle(f).transform).a"
    ) == pytest.approx(1.25)


def test_the_thumbnail_shows_until_the_full_file_has_loaded(page: Page, server: LiveServer) -> None:
    held: list[Route] = []
    released = False

    def hold(route: Route) -> None:
        if released:
            route.continue_()
        else:
            held.append(route)

    # The full files (/media/<id>, not /media/<id>/w<width>) wait until the test lets them go.
    page.route(re.compile(r"/_gallery/media/[^/?]+(\?.*)?$"), hold)
    goto_connected(page, f"{server.url}/t?g=pics")
    thumb(page, "pics", 1).click()
    expect(current(page, "pics")).to_have_attribute("data-index", "1")
    low = page.locator("#fg-pics dialog.fg-preview[open] .fg-preview-low")
    big = page.locator("#fg-pics dialog.fg-preview[open] .fg-preview-media")
    page.wait_for_function(
        "sel => { const i = document.querySelector(sel); return i.complete && i.naturalWidth; }",
        arg="#fg-pics dialog.fg-preview[open] .fg-preview-low",
    )
    expect(low).to_be_visible()
    assert low.evaluate("i => i.naturalWidth") < SIZE[0]  # a thumbnail, not the full file
    assert big.evaluate("i => i.complete") is False
    assert big.evaluate("i => getComputedStyle(i).opacity") == "0"
    before = big.bounding_box()
    assert before is not None and before["width"] / before["height"] == pytest.approx(
        SIZE[0] / SIZE[1], rel=0.02
    )  # the image's shape already, before any of it arrived
    page.wait_for_function("() => true")  # let Playwright deliver the held route
    assert held, "the full file was never asked for"
    released = True
    for route in held:
        route.continue_()
    wait_full(page, "pics")
    expect(low).to_be_hidden()
    assert big.evaluate("i => i.naturalWidth") == SIZE[0]
    assert big.bounding_box() == before  # no layout jump


def test_an_image_of_unknown_size_zooms_in_place(page: Page, server: LiveServer) -> None:
    """An external URL's size is unknown when the page is drawn: its frame fills the preview,
    and zooming leaves that layout alone (only the transform changes)."""
    goto_connected(page, f"{server.url}/t?g=ext")
    page.locator("#fg-ext .fg-thumb").first.click()
    wait_full(page, "ext")
    frame = "#fg-ext dialog.fg-preview[open] .fg-preview-frame"
    size = "f => [f.offsetWidth, f.offsetHeight]"
    before = page.eval_on_selector(frame, size)
    assert before[0] > 0 and before[1] > 0
    page.get_by_role("button", name="Zoom in").click()
    expect(page.locator(frame)).to_have_attribute("data-zoom", "1.25")
    assert page.eval_on_selector(frame, size) == before
    page.get_by_role("button", name="Reset zoom").click()
    expect(page.locator(frame)).to_have_attribute("data-zoom", "1")
    assert page.eval_on_selector(frame, size) == before


def test_a_video_has_no_zoom(page: Page, server: LiveServer) -> None:
    goto_connected(page, f"{server.url}/t?g=clip")
    page.locator("#fg-clip .fg-thumb").first.click()
    expect(page.locator("#fg-clip dialog.fg-preview[open] video.fg-preview-media")).to_be_visible()
    assert page.locator("#fg-clip .fg-preview-frame").count() == 0
    assert page.get_by_role("button", name="Zoom in").count() == 0


def test_the_open_preview_with_its_zoom_controls_passes_axe(page: Page, server: LiveServer) -> None:
    open_preview(page, server, 0, query="&csp=1")  # under a strict CSP, zoom works as well
    page.get_by_role("button", name="Zoom in").click()
    scale_is(page, 1.25)
    found = violations(page, "#fg-pics dialog.fg-preview")
    assert not found, describe(found)
