"""The example app's pages in a real chromium: they render their galleries, every image the
user can see loads, and nothing goes wrong on the way (no console error, no failed request, no
request to any host but the app's own: htmx and the styles are vendored, never from a CDN).
The app's own buttons and forms drive its galleries as Gradio's demos do: the queue position,
the progress bar and each streamed result show, and a button obeys its trigger mode.

The generate page's handler waits at each step for a permit the test gives (its gate,
``example_app.generate.GATE``), so every intermediate state is observed, never raced.
"""

from __future__ import annotations

import threading
import time
import typing as t
from urllib.parse import urlsplit

import pytest
from flask import Flask

from example_app import create_app
from example_app.generate import GATE

from ..live import LiveServer
from .conftest import SHOWN_IMAGES_LOADED, goto_connected

if t.TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Page, Request, Response

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(scope="module")
def server(example_server: LiveServer) -> LiveServer:
    return example_server


class Trouble:
    """Everything that went wrong while a page loaded, as readable lines."""

    def __init__(self, page: Page, host: str) -> None:
        self.host = host
        self.lines: list[str] = []
        page.on("console", self.console)
        page.on("pageerror", lambda exc: self.lines.append(f"page error: {exc}"))
        page.on("requestfailed", self.failed)
        page.on("response", self.response)
        page.on("request", lambda r: self.check_host(r.url))
        page.on("websocket", lambda ws: self.check_host(ws.url))

    def failed(self, request: Request) -> None:
        # The browser cancels a lazy image's request when a relayout (sizes=auto) makes another
        # srcset candidate the right one: not a failure. An image that never loads is still
        # caught by the wait for every shown image below.
        if request.failure != "net::ERR_ABORTED":
            self.lines.append(f"failed: {request.url} {request.failure}")

    @staticmethod
    def favicon(url: str) -> bool:
        return urlsplit(url).path == "/favicon.ico"

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not self.favicon(message.location.get("url", "")):
            self.lines.append(f"console error: {message.text}")

    def response(self, response: Response) -> None:
        if response.status >= 400 and not self.favicon(response.url):
            self.lines.append(f"HTTP {response.status}: {response.url}")

    def check_host(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "data" and parts.netloc != self.host:
            self.lines.append(f"another host: {url}")


def open_clean(page: Page, server: LiveServer, path: str, images: int = 1) -> None:
    """Open ``path``, wait until the images in view (at least ``images``) have loaded, scroll to
    the end and wait again (lazy images further down load, and could fail, too); then nothing
    may have gone wrong."""
    trouble = Trouble(page, server.host)
    page.goto(server.url + path, wait_until="load")
    page.wait_for_function(SHOWN_IMAGES_LOADED, arg=images)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function(SHOWN_IMAGES_LOADED, arg=0)
    assert trouble.lines == [], path


def test_every_page_in_the_nav_loads_cleanly(
    new_page: t.Callable[..., Page], server: LiveServer
) -> None:
    home = new_page()
    home.goto(server.url + "/")
    links = home.eval_on_selector_all("nav a", "links => links.map(a => a.href)")
    paths = [urlsplit(link).path for link in links]
    assert "/" in paths and "/options" in paths and len(paths) == len(set(paths))
    for path in paths:
        open_clean(new_page(), server, path, images=0)


def test_fake_gan_page(page: Page, server: LiveServer) -> None:
    open_clean(page, server, "/")
    gallery = page.locator("#gallery")
    assert gallery.is_visible()
    assert gallery.locator(".fg-thumb").count() == 3
    assert gallery.locator(".fg-caption-label").all_inner_texts() == [
        "label 0",
        "label 1",
        "label 2",
    ]
    assert page.locator("[data-testid=block-label]").count() == 0  # show_label=False


def test_options_page(page: Page, server: LiveServer) -> None:
    open_clean(page, server, "/options")
    sections = page.locator("section.option")
    assert sections.count() == 9
    for i in range(9):
        assert sections.nth(i).locator(".fg-block").is_visible()
    # The two previews with selected_index / preview=True are open, on the full files.
    previews = page.locator("dialog.fg-preview")
    assert previews.count() == 2
    for i in range(2):
        assert previews.nth(i).is_visible()


def test_fake_gan_button_generates_new_pictures(page: Page, server: LiveServer) -> None:
    goto_connected(page, server.url + "/")
    thumbs = page.locator("#gallery .fg-thumb img")
    before = thumbs.evaluate_all("imgs => imgs.map(i => i.getAttribute('src'))")
    page.get_by_role("button", name="Generate images").click()
    expect(page.locator("#t")).to_have_text("Done")  # the demo's textbox output
    expect(thumbs).to_have_count(3)
    after = thumbs.evaluate_all("imgs => imgs.map(i => i.getAttribute('src'))")
    assert set(after).isdisjoint(before)
    assert page.locator("#gallery .fg-caption-label").all_inner_texts() == [
        "label 0",
        "label 1",
        "label 2",
    ]


class Steps:
    """The generate page's gate: each step of a run waits for a permit from the test (or for
    the gate to be opened), and every step reached is recorded as ``(prompt, step)``."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.reset()

    def reset(self) -> None:
        with self.cond:
            self.calls: list[tuple[str, int]] = []
            self.permits = 0
            self.opened = False

    def __call__(self, prompt: str, step: int) -> None:
        with self.cond:
            self.calls.append((prompt, step))
            self.cond.notify_all()
            if not self.cond.wait_for(lambda: self.opened or self.permits > 0, timeout=30):
                raise RuntimeError(f"the test gave step {step} of {prompt!r} no permit")
            if not self.opened:
                self.permits -= 1

    def allow(self, steps: int = 1) -> None:
        with self.cond:
            self.permits += steps
            self.cond.notify_all()

    def open(self) -> None:
        with self.cond:
            self.opened = True
            self.cond.notify_all()

    def reached(self, prompt: str, step: int) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: (prompt, step) in self.calls, timeout=10)

    def runs(self) -> list[str]:
        """The prompts of the runs that started, in order."""
        with self.cond:
            return [prompt for prompt, step in self.calls if step == 0]


GENERATOR = Steps()


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[LiveServer]:
    """The example app with the generate page's gate set."""
    media = tmp_path_factory.mktemp("example-gated")
    with LiveServer(create_app({"GALLERY_MEDIA_DIR": str(media), GATE: GENERATOR})) as live:
        yield live


def wait_idle(app: Flask) -> None:
    """Until the app's queue holds no submission (bounded): every run has ended."""
    engine = app.extensions["flask_gallery"].engine()
    deadline = time.monotonic() + 15
    while engine.jobs():
        assert time.monotonic() < deadline, "the queue never emptied"
        time.sleep(0.02)


@pytest.fixture
def steps(gated: LiveServer) -> t.Iterator[Steps]:
    GENERATOR.reset()
    yield GENERATOR
    GENERATOR.open()  # whatever the test left waiting runs to its end
    wait_idle(gated.app)


def open_generate(page: Page, server: LiveServer, prompt: str, count: int) -> None:
    goto_connected(page, server.url + "/generate")
    page.get_by_label("Prompt").fill(prompt)
    page.get_by_label("Steps").fill(str(count))


def test_generate_streams_each_preview_with_its_progress(
    page: Page, gated: LiveServer, steps: Steps
) -> None:
    open_generate(page, gated, "a fox", 3)
    thumbs = page.locator("#fg-previews .fg-thumb")
    status, bar = page.locator("#status"), page.locator("#status .fg-progress > span")
    page.get_by_role("button", name="Generate").click()
    assert steps.reached("a fox", 0)
    expect(page.locator("#status .fg-status-text")).to_have_text("0/3 steps | denoising")
    expect(bar).to_have_attribute("style", "width: 0.0%")
    for k, width in ((1, "33.3"), (2, "66.7")):
        steps.allow()
        expect(thumbs).to_have_count(k)
        expect(status).to_contain_text(f"a fox: step {k}/3")
        expect(bar).to_have_attribute("style", f"width: {width}%")
    steps.allow()
    expect(status).to_have_text("a fox: done, 3 steps")  # the overlay has gone too
    expect(thumbs).to_have_count(3)
    captions = page.locator("#fg-previews .fg-caption-label").all_inner_texts()
    assert captions == ["step 1", "step 2", "step 3"]


def test_a_second_tab_sees_its_place_in_the_queue(
    new_page: t.Callable[..., Page], gated: LiveServer, steps: Steps
) -> None:
    first, second = new_page(), new_page()
    open_generate(first, gated, "a fox", 2)
    open_generate(second, gated, "an owl", 2)
    first.get_by_role("button", name="Generate").click()
    assert steps.reached("a fox", 0)
    second.get_by_role("button", name="Generate").click()  # concurrency_limit=1: it waits
    expect(second.locator("#status .fg-status-text")).to_contain_text("queue: 1/1")
    expect(second.locator("#fg-previews .fg-status-text")).to_contain_text("queue: 1/1")
    steps.open()
    expect(first.locator("#status")).to_have_text("a fox: done, 2 steps")
    expect(second.locator("#status")).to_have_text("an owl: done, 2 steps")
    assert steps.runs() == ["a fox", "an owl"]


def test_three_fast_clicks_run_the_first_and_the_newest(
    page: Page, gated: LiveServer, steps: Steps
) -> None:
    # trigger_mode="always_last": clicks during a run are kept as one more run, with the
    # fields of the newest click.
    open_generate(page, gated, "one", 2)
    prompt, button = page.get_by_label("Prompt"), page.get_by_role("button", name="Generate")
    button.click()
    assert steps.reached("one", 0)  # the first run holds: the next two come while it runs
    prompt.fill("two")
    button.click()
    prompt.fill("three")
    button.click()
    # The page's socket acts on its frames in order: once the steps field's change (sent
    # after the clicks) is answered, both clicks were submitted while the first run held.
    page.get_by_label("Steps").fill("5")
    page.get_by_label("Steps").press("Tab")
    expect(page.locator("#estimate")).to_have_text("about 0.6 s a run")
    steps.open()
    expect(page.locator("#status")).to_have_text("three: done, 2 steps")
    wait_idle(gated.app)
    assert steps.runs() == ["one", "three"]


def test_a_bad_step_count_says_what_to_fix(page: Page, gated: LiveServer, steps: Steps) -> None:
    open_generate(page, gated, "a fox", 9)
    page.get_by_label("Steps").press("Tab")
    bad = "Steps must be a whole number from 1 to 8, not '9'."
    expect(page.locator("#estimate")).to_have_text(bad)
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#status")).to_have_text(bad)
    wait_idle(gated.app)
    assert steps.runs() == []


def test_search_form_feeds_the_gallery_without_leaving_the_page(
    page: Page, server: LiveServer
) -> None:
    goto_connected(page, server.url + "/search")
    captions = page.locator("#fg-results .fg-caption-label")
    expect(captions).to_have_count(18)  # galleries.load filled the catalogue
    expect(page.locator("#found")).to_have_text("18 of 18 pictures: any")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    page.get_by_label("Colour").fill("blue")
    page.get_by_label("Colour").press("Enter")
    expect(captions).to_have_text(["blue circle", "blue square", "blue triangle"])
    page.get_by_label("Shape").select_option("circle")  # its change narrows the search
    expect(captions).to_have_text(["blue circle"])
    expect(page.locator("#found")).to_have_text("1 of 18 pictures: blue circle")
    page.get_by_label("Colour").fill("red")
    page.get_by_role("button", name="Search").click()
    expect(captions).to_have_text(["red circle"])
    expect(page.locator("#searched")).to_have_text("blue, red")  # the page's state
    assert navigations == []
    page.reload()  # a new page starts from the state's default
    expect(captions).to_have_count(18)
    expect(page.locator("#searched")).to_have_text("")
