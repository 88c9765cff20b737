"""The page's toasts in a real chromium, under a strict Content-Security-Policy: ``Info`` and
``Warning`` are ``role="status"`` toasts gone after their ``duration``, errors are
``role="alert"`` toasts that stay until closed (by mouse or keyboard), all of them stack in one
corner of the page with a bounded count, and refused clicks and uploads are toasts too.

Handlers here use a 1 s ``duration``; the tests wait for conditions (bounded), never for times.
"""

from __future__ import annotations

import io
import itertools
import typing as t

import numpy as np
import pytest
from flask import render_template_string
from PIL import Image

from flask_gallery import Error, FlaskGallery, Info, SelectData, Success, Warning

from ..live import LiveServer
from .conftest import gallery_app, goto_connected, strict_csp

if t.TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>toasts</title>
<link rel="icon" href="data:,">
{{ gallery_assets(nonce=nonce) }}
<style>main { width: 600px; }</style>
</head><body>
<script>window.fgInlineRan = true</script>
<main>{{ gallery("notes") }}{{ gallery("edit") }}</main>
<p>out: <output id="out"></output> <button id="check" type="button">Check</button></p>
</body></html>"""

#: What each thumbnail of "notes" makes its handler say.
SAYS = ("info", "warning", "error", "stays", "success")

#: Counts the errors raised, so each error toast has its own text.
ERRORS = itertools.count()

#: Records every toast the page shows, with its role, level and text, however soon it goes.
RECORD_TOASTS = """
window.fgToasts = [];
window.fgViolations = [];
document.addEventListener("securitypolicyviolation", (e) =>
    window.fgViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
new MutationObserver((records) => {
    for (const record of records) for (const node of record.addedNodes) {
        if (node.classList && node.classList.contains("fg-toast")) window.fgToasts.push({
            role: node.getAttribute("role"),
            title: node.querySelector(".fg-toast-title").textContent,
            text: node.querySelector(".fg-toast-text").textContent,
        });
    }
}).observe(document, { childList: true, subtree: true });
"""


def picture(index: int) -> np.ndarray:
    tint = np.array([(index * 67) % 256, (index * 29) % 256, (index * 113) % 256], np.uint8)
    return np.broadcast_to(tint, (64, 64, 3)).copy()


def png_bytes(index: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(picture(index)).save(buffer, format="PNG")
    return buffer.getvalue()


def declare(galleries: FlaskGallery) -> None:
    notes = galleries.gallery(
        "notes", [picture(i) for i in range(len(SAYS))], columns=4, allow_preview=False
    )

    @notes.on_select(outputs="#out", trigger_mode="multiple")
    def say(evt: SelectData) -> str:
        kind = SAYS[evt.index]
        if kind == "info":
            Info("Saved <all> of it.", duration=1)
        elif kind == "warning":
            Warning("Careful now.", title="Heads up", duration=1)
        elif kind == "error":
            raise Error(f"Broken {next(ERRORS)}.")
        elif kind == "success":
            Success("Done well.", duration=1)
        else:
            Info("Kept until closed.", duration=None)
            Info("Kept too: duration 0.", duration=0)
        return kind

    galleries.gallery("edit", [picture(10)], interactive=True, allow_preview=False, columns=4)

    @galleries.element("#check").on_click(outputs="#out")
    def check() -> str:
        Warning("Checking a button's work.", duration=None)
        raise Error("The button's handler failed.")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[LiveServer]:
    app = gallery_app(tmp_path_factory.mktemp("toasts") / "instance", declare)

    nonce = strict_csp(app)

    @app.get("/t")
    def test_page() -> str:
        return render_template_string(PAGE, nonce=nonce())

    with LiveServer(app) as live:
        yield live


@pytest.fixture
def page(new_page: t.Callable[..., Page], server: LiveServer) -> t.Iterator[Page]:
    """The test page, its socket open, under the strict policy; at the end, the policy blocked
    nothing but the page's one inline script (so it was live), and the page logged no error."""
    page = new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.add_init_script(RECORD_TOASTS)
    goto_connected(page, f"{server.url}/t?csp=1")
    yield page
    assert page.evaluate("window.fgInlineRan") is None
    assert page.evaluate("window.fgViolations") == ["script-src-elem inline"]
    assert errors == []


def click(page: Page, index: int) -> None:
    page.locator(f"#fg-notes .fg-thumb[data-index='{index}']").click()


def toasts(page: Page) -> Locator:
    return page.locator("#fg-toasts .fg-toast")


def seen(page: Page) -> list[dict[str, str]]:
    return t.cast("list[dict[str, str]]", page.evaluate("window.fgToasts"))


@pytest.mark.parametrize(
    ("index", "title", "text"),
    [
        (0, "Info", "Saved <all> of it."),
        (1, "Heads up", "Careful now."),
        (4, "Success", "Done well."),
    ],
    ids=["info", "warning", "success"],
)
def test_info_warning_and_success_are_status_toasts_gone_after_their_duration(
    page: Page, index: int, title: str, text: str
) -> None:
    click(page, index)
    expect(page.locator("#out")).to_have_text(SAYS[index])
    page.wait_for_function("() => window.fgToasts.length === 1")
    assert seen(page) == [{"role": "status", "title": title, "text": text}]
    expect(toasts(page)).to_have_count(0, timeout=15_000)  # went by itself, unclosed


def test_an_error_stays_until_closed_by_mouse_or_keyboard(page: Page) -> None:
    for _ in range(3):
        click(page, 2)
    errors = page.locator("#fg-toasts [role=alert]")
    texts = errors.locator(".fg-toast-text")
    expect(errors).to_have_count(3)
    # An Info given 1 s comes and goes; the errors shown before it are still there.
    click(page, 0)
    page.wait_for_function("() => window.fgToasts.length === 4")
    expect(page.locator("#fg-toasts [role=status]")).to_have_count(0, timeout=15_000)
    expect(errors).to_have_count(3)
    first, second, third = texts.all_inner_texts()
    # Mouse: the close button.
    errors.first.get_by_role("button", name="Close").click()
    expect(texts).to_have_text([second, third])
    # Keyboard: Shift+Tab from the gallery (past its toolbar) reaches the last toast's close
    # button (the region comes before the galleries), Enter closes it and the focus goes to the
    # other toast's close button, where Escape closes that one too.
    page.locator("#fg-notes .fg-thumb[data-index='0']").focus()
    for _ in range(5):  # bounded: the gallery's toolbar has two buttons
        page.keyboard.press("Shift+Tab")
        if page.evaluate("!!document.activeElement.closest('#fg-toasts')"):
            break
    focused = "document.activeElement.closest('.fg-toast').querySelector('.fg-toast-text')"
    assert page.evaluate(f"{focused}.textContent") == third
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Close"
    page.keyboard.press("Enter")
    expect(texts).to_have_text([second])
    page.wait_for_function(f"() => {focused}.textContent === {second!r}")
    page.keyboard.press("Escape")
    expect(errors).to_have_count(0)
    assert first not in page.locator("body").inner_text()


def test_info_without_a_positive_duration_stays(page: Page) -> None:
    click(page, 3)
    kept = page.locator("#fg-toasts [role=status] .fg-toast-text")
    expect(kept).to_have_text(["Kept until closed.", "Kept too: duration 0."])
    click(page, 0)  # one given 1 s comes and goes meanwhile
    page.wait_for_function("() => window.fgToasts.length === 3")
    expect(kept).to_have_count(2, timeout=15_000)
    expect(kept.filter(has_text="Saved")).to_have_count(0, timeout=15_000)
    expect(kept).to_have_text(["Kept until closed.", "Kept too: duration 0."])


def box(locator: Locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None
    return t.cast("dict[str, float]", found)


def test_toasts_stack_in_one_corner_and_the_oldest_go_past_five(page: Page) -> None:
    for _ in range(3):
        click(page, 2)
    expect(toasts(page)).to_have_count(3)
    boxes = [box(toasts(page).nth(i)) for i in range(3)]
    viewport = page.viewport_size
    assert viewport is not None
    (right,) = {round(b["x"] + b["width"]) for b in boxes}  # one column...
    assert viewport["width"] - 24 <= right <= viewport["width"]  # ...at the right edge
    assert boxes[0]["y"] < 24  # from the top
    assert all(a["y"] + a["height"] <= b["y"] for a, b in itertools.pairwise(boxes))  # stacked
    oldest = toasts(page).locator(".fg-toast-text").all_inner_texts()
    for _ in range(4):
        click(page, 2)
    page.wait_for_function("() => window.fgToasts.length === 7")
    expect(toasts(page)).to_have_count(5)
    shown = toasts(page).locator(".fg-toast-text").all_inner_texts()
    assert oldest[0] not in shown and oldest[1] not in shown and shown[0] == oldest[2]


def test_a_refused_click_is_a_toast(page: Page) -> None:
    """A click naming an item the gallery does not have (a forged page) is refused by name."""
    page.eval_on_selector(
        "#fg-notes .fg-thumb[data-index='1']",
        "b => b.setAttribute('hx-post', b.getAttribute('hx-post').replace(/1$/, '99'))",
    )
    click(page, 1)
    refusal = page.locator("#fg-toasts [role=alert]")
    expect(refusal).to_have_count(1)
    assert seen(page)[0]["title"] == "Error" and seen(page)[0]["text"]
    expect(page.locator("#out")).to_have_text("")  # nothing ran


def test_a_refused_upload_is_a_toast(page: Page) -> None:
    page.locator("#fg-edit .fg-file-input").set_input_files(
        [
            {"name": "good.png", "mimeType": "image/png", "buffer": png_bytes(11)},
            {"name": "broken.png", "mimeType": "image/png", "buffer": b"not an image at all"},
        ]
    )
    expect(page.locator("#fg-edit .fg-grid .fg-thumb")).to_have_count(2)
    refusal = page.locator("#fg-toasts [role=alert] .fg-toast-text")
    expect(refusal).to_have_count(1)
    assert refusal.inner_text().startswith("broken.png:")


def test_a_buttons_listener_tells_the_page_in_toasts(page: Page) -> None:
    """A listener whose target is no gallery (a button of the page) has its messages shown in
    the same toasts."""
    page.locator("#check").click()
    expect(page.locator("#fg-toasts [role=status] .fg-toast-text")).to_have_text(
        ["Checking a button's work."]
    )
    expect(page.locator("#fg-toasts [role=alert] .fg-toast-text")).to_have_text(
        ["The button's handler failed."]
    )
