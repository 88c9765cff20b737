"""The windowed grid: what a browser downloads and holds to show galleries of 200, 2,000 and
10,000 items, beside the same galleries drawn whole (no windows).

Headless chromium (Debian's, through Playwright) opens each gallery in a fresh context (cold
cache) at 1280x800 with the gallery's defaults (2 columns, default height), from two live
Werkzeug servers of the same items: one with the default ``GALLERY_WINDOW_SIZE`` (windowed),
one with a window larger than any gallery (drawn whole, as before windows). For each it
reports medians of

* the requests and bytes on the wire (document, CSS, scripts, media; CDP
  ``encodedDataLength``) until the first paint is complete (every image in view loaded, nothing
  in flight for 0.5 s), and of those the HTML document's bytes;
* the time from navigation to the first grid thumbnail loaded (``performance.now()``);
* the grid items in the DOM at first paint, and (windowed) after the scrollbar is dragged
  straight to the end, with the time until the last item shows there.

Items are distinct flat-colour PNGs of 1024x1024 (cheap to make, made once into a cache dir
under the temp folder): the thumbnails cost what they cost in bench_first_paint, the grid is
what differs here. Gradio 6.31's first paint of 200 such PNGs on this machine was 82 requests,
44.2 MiB (its grid loads the full files).

Run: ``python3 benchmarks/bench_windowed.py [--repeat N] [--quick]`` (about 3 minutes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import typing as t
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _browser import VIEWPORT, launch
from _png_cache import cached_pngs
from _traffic import Traffic

from tests.browser.conftest import (
    SHOWN_IMAGES_LOADED,
    LiveServer,
    gallery_app,
)

if t.TYPE_CHECKING:
    from playwright.sync_api import Browser

    from flask_gallery import FlaskGallery

SIZE = 1024
COUNTS = (200, 2_000, 10_000)
QUIET_SECONDS = 0.5
MIB = 1024 * 1024
GRADIO_200 = (82, 44.2 * MIB)
#: Drawn whole: a window larger than any gallery here.
WHOLE = 1_000_000

#: Records when the first grid thumbnail finished loading (load events reach a capturing
#: listener on the document).
FIRST_THUMB = """
document.addEventListener("load", (e) => {
    if (window.fgFirstThumb === undefined && e.target.matches && e.target.matches(".fg-thumb img"))
        window.fgFirstThumb = performance.now();
}, true);
"""

LAST_SHOWN = """(index) => {
    const thumb = document.querySelector(`.fg-thumb[data-index="${index}"]`);
    const img = thumb && thumb.querySelector("img");
    if (!img || !img.complete || !img.naturalWidth) return false;
    const box = thumb.getBoundingClientRect();
    const view = thumb.closest(".fg-grid-wrap").getBoundingClientRect();
    return box.bottom > view.top && box.top < view.bottom;
}"""


def _write_png(path: Path, index: int) -> None:
    colour = (index * 37 % 256, index // 7 * 53 % 256, index // 49 * 91 % 256)
    part = path.with_suffix(".part")
    Image.new("RGB", (SIZE, SIZE), colour).save(part, format="PNG")
    part.replace(path)


def png_files(count: int) -> list[Path]:
    """Distinct flat-colour PNGs."""
    return cached_pngs(
        f"flask_gallery_bench_windowed_v1_{SIZE}", "flat-{:05d}.png", count, _write_png
    )


class Paint(t.NamedTuple):
    requests: int
    bytes: int
    html: int
    first_thumb_ms: float
    items: int
    end_items: int | None
    end_ms: float | None


def paint(browser: Browser, url: str, count: int, scroll: bool) -> Paint:
    """One cold first paint of ``url``; with ``scroll``, then the scrollbar to the end."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.add_init_script(FIRST_THUMB)
        traffic = Traffic(context, page)
        page.goto(url, wait_until="load", timeout=120_000)
        page.wait_for_function(SHOWN_IMAGES_LOADED, timeout=120_000)
        traffic.settle(page, QUIET_SECONDS)
        first = Paint(
            requests=traffic.requests,
            bytes=traffic.bytes(),
            html=traffic.bytes("Document"),
            first_thumb_ms=float(page.evaluate("window.fgFirstThumb")),
            items=int(page.evaluate("document.querySelectorAll('.fg-item').length")),
            end_items=None,
            end_ms=None,
        )
        if not scroll:
            return first
        start = time.monotonic()
        page.eval_on_selector(".fg-grid-wrap", "w => { w.scrollTop = w.scrollHeight; }")
        page.wait_for_function(LAST_SHOWN, arg=count - 1, polling="raf", timeout=60_000)
        elapsed = (time.monotonic() - start) * 1000
        items = int(page.evaluate("document.querySelectorAll('.fg-item').length"))
        return first._replace(end_items=items, end_ms=elapsed)
    finally:
        context.close()


def mib(n: float) -> str:
    return f"{n / MIB:.2f} MiB"


def median(values: t.Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def report(label: str, runs: list[Paint], base: list[Paint] | None) -> None:
    requests, size = median(r.requests for r in runs), median(r.bytes for r in runs)
    html = median(r.html for r in runs)
    line = (
        f"  {label:<10} {requests:>5g} requests {mib(size):>10} (HTML {mib(html)})"
        f"  first thumbnail {median(r.first_thumb_ms for r in runs):7.0f} ms"
        f"  items in DOM {median(r.items for r in runs):>6g}"
    )
    if runs[0].end_items is not None:
        line += (
            f"; at the end {median(r.end_items or 0 for r in runs):g},"
            f" last item shown {median(r.end_ms or 0 for r in runs):.0f} ms after the drag"
        )
    print(line)
    if base:
        base_bytes = median(r.bytes for r in base)
        base_thumb = median(r.first_thumb_ms for r in base)
        print(
            f"  {'':<10} windowed / whole: bytes {size / base_bytes:.3f},"
            f" first thumbnail {median(r.first_thumb_ms for r in runs) / base_thumb:.2f}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="cold runs per page (default 3)")
    parser.add_argument("--quick", action="store_true", help="one run per page")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else max(1, args.repeat)

    from playwright.sync_api import sync_playwright

    pngs = png_files(max(COUNTS))

    def declare(galleries: FlaskGallery) -> None:
        for count in COUNTS:
            galleries.gallery(f"g{count}", pngs[:count])

    config = {"GALLERY_MAX_ITEMS": max(COUNTS)}
    with (
        tempfile.TemporaryDirectory(prefix="bench_windowed_") as instance,
        LiveServer(gallery_app(Path(instance) / "w", declare, **config)) as windowed,
        LiveServer(
            gallery_app(Path(instance) / "x", declare, GALLERY_WINDOW_SIZE=WHOLE, **config)
        ) as whole,
        sync_playwright() as p,
    ):
        browser = launch(p)
        try:
            print(
                f"bench_windowed: chromium {browser.version}, {os.cpu_count()} cores, 1280x800,"
                f" columns=2, default height, {repeat} cold runs each (medians)"
            )
            for count in COUNTS:
                print(f"\n{count} PNGs of {SIZE}x{SIZE}:")
                # One warm-up load per server: the value's first conversion and the visible
                # thumbnails' encoding are the server's once-only costs, not a page's.
                for server in (whole, windowed):
                    paint(browser, f"{server.url}/?g=g{count}", count, scroll=False)
                base = [
                    paint(browser, f"{whole.url}/?g=g{count}", count, False) for _ in range(repeat)
                ]
                ours = [
                    paint(browser, f"{windowed.url}/?g=g{count}", count, True)
                    for _ in range(repeat)
                ]
                report("whole", base, None)
                report("windowed", ours, base)
            requests, size = GRADIO_200
            print(f"\nGradio 6.31, 200 PNGs (reference): {requests} requests, {mib(size)}")
        finally:
            browser.close()


if __name__ == "__main__":
    main()
