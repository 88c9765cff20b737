"""The app the preview's browser tests (zoom, progressive load, deep links) share: galleries of
large pictures (so each has thumbnails smaller than its full file), whose handlers write what
they got into ``<output>`` elements of the page."""

from __future__ import annotations

import io
import typing as t
from pathlib import Path

import numpy as np
from flask import Response, render_template_string, request
from PIL import Image

from flask_gallery import FlaskGallery, SelectData

from ..live import LiveServer
from .conftest import gallery_app, report_preview, strict_csp

if t.TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

#: Full size of every picture: wider than the thumbnails the grid and the strip load.
SIZE = (1200, 800)
OUTPUTS = ("out", "opened", "closed", "other-out")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>preview</title>
<link rel="icon" href="data:,">
{{ gallery_assets(nonce=nonce) }}
</head><body>
<main>
{% for name in names %}{{ gallery(name) }}{% endfor %}
{% for id in outputs %}<p>{{ id }}: <output id="{{ id }}"></output></p>{% endfor %}
</main>
</body></html>"""


def picture(index: int) -> np.ndarray:
    """A distinct picture per index (the store is content addressed), with a horizontal ramp so
    zoomed parts differ."""
    width, height = SIZE
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    tint = np.array([(index * 67) % 256, (index * 29) % 256, (index * 113) % 256], np.float32)
    return np.broadcast_to((ramp + tint) % 256, (height, width, 3)).astype(np.uint8)


def declare(galleries: FlaskGallery) -> None:
    pics = galleries.gallery(
        "pics",
        [(picture(i), f"cap {i}") for i in range(4)],
        columns=4,
        height=480,
        label="Pictures",
    )
    report_preview(pics, trigger_mode="multiple")

    other = galleries.gallery(
        "other", [(picture(10 + i), f"other {i}") for i in range(3)], columns=3, height=360
    )

    @other.on_select(outputs="#other-out", trigger_mode="multiple")
    def show_other(evt: SelectData) -> str:
        return f"{evt.index}:{evt.value['caption']}"

    # Another site's picture (this server's, by its URL): the server never fetches it, so its
    # size is unknown until the browser has it.
    galleries.gallery("ext", lambda: [request.host_url + "elsewhere.png"])
    galleries.gallery("start", [picture(20 + i) for i in range(2)], selected_index=1)
    galleries.gallery("clip", [str(Path(__file__).parents[1] / "files" / "clip.mp4")])


def serve(instance: Path) -> LiveServer:
    """The app on a live server (enter it to start): ``/t?g=pics&g=other`` shows those
    galleries and every output, under a strict CSP with ``&csp=1``."""
    app = gallery_app(instance, declare)
    nonce = strict_csp(app)

    @app.get("/t")
    def test_page() -> str:
        names = request.args.getlist("g")
        return render_template_string(PAGE, names=names, outputs=OUTPUTS, nonce=nonce())

    @app.get("/elsewhere.png")
    def elsewhere() -> Response:
        buffer = io.BytesIO()
        Image.fromarray(picture(30)).save(buffer, format="PNG")
        return Response(buffer.getvalue(), mimetype="image/png")

    return LiveServer(app)


def thumb(page: Page, gallery: str, index: int) -> Locator:
    return page.locator(f"#fg-{gallery} .fg-grid .fg-thumb[data-index='{index}']")


def current(page: Page, gallery: str) -> Locator:
    """The strip thumbnail of the item the open preview shows."""
    return page.locator(f"#fg-{gallery} dialog.fg-preview[open] .fg-strip-thumb[aria-current=true]")


def wait_full(page: Page, gallery: str) -> None:
    """Until the open preview shows its item's full file (its thumbnail stood in until then)."""
    page.wait_for_function(
        """sel => { const i = document.querySelector(sel);
            return i && i.complete && i.naturalWidth > 0
                && i.checkVisibility({opacityProperty: true}); }""",
        arg=f"#fg-{gallery} dialog.fg-preview[open] img.fg-preview-media",
    )
