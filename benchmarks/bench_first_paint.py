"""What a browser downloads to paint a gallery's grid, against Gradio's full-file grid.

Headless chromium (Debian's, through Playwright) opens a page served in-process by a live Werkzeug
server, in a fresh browser context each time (cold cache), at a 1280x800 viewport with the
gallery's defaults (2 columns, default height). It counts the media requests and the bytes on the
wire until the first paint is complete: every image in view has loaded, no media request is in
flight and none has started for a short quiet period. Two pages:

* 200 PNG files of 1024x1024 (photo-like; generated once into a cached temp dir). Printed beside
  the sum of the full PNGs of the items the browser asked for (what Gradio's grid downloads for
  them: it shows the full files) and Gradio 6.31's measured first paint of such a page
  (82 requests, 44.2 MiB; target: under a twentieth of it).
* The handler-style value of issue 2: 16 numpy arrays of 1024x1024x3 from a callable. Gradio's grid
  loads the 16 full WebP files (120-180 KB each); target: under a fifth of those bytes.

Run: ``python3 benchmarks/bench_first_paint.py [--repeat N] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import typing as t
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _browser import VIEWPORT, launch
from _png_cache import cached_pngs
from _traffic import Traffic

# The browser tests' live server, page and launch settings: measured the way they are tested.
from tests.browser.conftest import (
    SHOWN_IMAGES_LOADED,
    LiveServer,
    gallery_app,
)

if t.TYPE_CHECKING:
    from flask import Flask
    from playwright.sync_api import Browser

    from flask_gallery import FlaskGallery

SIZE = 1024
PNG_COUNT = 200
NUMPY_COUNT = 16
#: The first paint is over when no media request has started or finished for this long.
QUIET_SECONDS = 0.5
MEDIA = re.compile(r"/_gallery/media/([^/?]+)(?:/w(\d+))?$")
#: Where the gallery sits: the page's full width, then a 600 px column (two cells of ~290 px,
#: the size Gradio's reference page showed its 1024 px images at).
LAYOUTS = ((None, "full width"), (600, "600 px column"))
MIB = 1024 * 1024

#: Gradio 6.31, measured on this kind of machine (../shared/NOTES.md, issue 2).
GRADIO_PNG_REQUESTS = 82
GRADIO_PNG_BYTES = 44.2 * MIB
GRADIO_WEBP_BYTES = (120_000, 180_000)  # per full WebP file its grid loads

# Pictures --------------------------------------------------------------------------------------


def photo(seed: int, size: int = SIZE) -> np.ndarray:
    """Photo-like: smooth light, a few flat shapes, grain on the lower half (a textured ground
    under a smooth sky), so a PNG of it weighs about what Gradio's reference PNGs did."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    a, b, c = rng.uniform(1, 4, 3)
    light = np.stack(
        [
            np.sin(a * x + seed) * 0.5 + 0.5,
            y * (1 - x / b),
            np.cos(c * y + x + seed) * 0.5 + 0.5,
        ],
        axis=-1,
    )
    image = Image.fromarray((np.clip(light, 0, 1) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(8):
        cx, cy = rng.integers(0, size, 2).tolist()
        r = int(rng.integers(size // 20, size // 5))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((cx - r, cy - r, cx + r, cy + r), fill=tuple(rng.integers(0, 256, 3).tolist()))
    pixels = np.asarray(image, dtype=np.float32)
    ground = size * 55 // 100
    pixels[ground:] += rng.normal(0, 1.0, pixels[ground:].shape).astype(np.float32)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def detailed_photo(seed: int, size: int = SIZE) -> np.ndarray:
    """:func:`photo` with fine detail at several scales (foliage, fabric), which lossy codecs
    must keep: its WebP q80 weighs 130-160 KB, like the files Gradio's reference grid loaded."""
    rng = np.random.default_rng(seed)
    detail = np.zeros((size, size, 3), np.float32)
    for cells, weight in ((16, 1.0), (64, 0.7), (256, 0.6), (512, 0.6)):
        coarse = rng.normal(0, 1, (cells, cells, 3)) * 40 + 128
        smooth = Image.fromarray(np.clip(coarse, 0, 255).astype(np.uint8)).resize(
            (size, size), Image.Resampling.BICUBIC
        )
        detail += (np.asarray(smooth, np.float32) - 128) / 40 * weight
    return np.clip(photo(seed, size) + detail * 18, 0, 255).astype(np.uint8)


def _write_png(path: Path, seed: int) -> None:
    part = path.with_suffix(".part")
    Image.fromarray(photo(seed)).save(part, format="PNG")
    part.replace(path)


def png_files(count: int) -> list[Path]:
    """Photo-like PNGs."""
    return cached_pngs(
        f"flask_gallery_bench_first_paint_v1_{SIZE}", "photo-{:03d}.png", count, _write_png
    )


# Server and browser ----------------------------------------------------------------------------


def full_bytes(app: Flask, media_id: str) -> int:
    """Size of the full file behind ``media_id`` (what a full-file grid downloads)."""
    with app.test_client() as client:
        response = client.get(f"/_gallery/media/{media_id}")
        size = len(response.get_data())
        response.close()
    return size


class FirstPaint(t.NamedTuple):
    requests: int
    bytes: int
    media_ids: frozenset[str]
    widths: frozenset[str]
    "The thumbnail widths requested ('full' for full files)."
    item_ids: tuple[str, ...]
    "Media id of each gallery item, in order."


def first_paint(browser: Browser, url: str) -> FirstPaint:
    """Load ``url`` in a fresh context and measure its media traffic until the paint is done."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        traffic = Traffic(context, page, lambda url: bool(MEDIA.search(url.split("?")[0])))
        page.goto(url, wait_until="load")
        page.wait_for_function(SHOWN_IMAGES_LOADED)
        traffic.settle(page, QUIET_SECONDS)
        item_ids = tuple(
            media_id(src)
            for src in page.eval_on_selector_all(
                ".fg-thumb img", "imgs => imgs.map(i => i.getAttribute('src'))"
            )
        )
        return FirstPaint(
            requests=traffic.requests,
            bytes=traffic.bytes(),
            media_ids=frozenset(media_id(u) for u in traffic.urls.values()),
            widths=frozenset(
                f"w{m.group(2)}" if m and m.group(2) else "full"
                for m in (MEDIA.search(u.split("?")[0]) for u in traffic.urls.values())
            ),
            item_ids=item_ids,
        )
    finally:
        context.close()


def media_id(url: str) -> str:
    match = MEDIA.search(url.split("?")[0])
    assert match, url
    return match.group(1)


# Report ----------------------------------------------------------------------------------------


def mib(n: float) -> str:
    return f"{n / MIB:.2f} MiB"


def row(label: str, value: str) -> None:
    print(f"  {label:<40}{value}")


def ratio(part: float, whole: float) -> str:
    return f"{part / whole:.4f} (1/{whole / part:.1f})" if part else "0"


def measure(browser: Browser, url: str, repeat: int) -> list[FirstPaint]:
    runs = [first_paint(browser, url) for _ in range(repeat)]
    requests = [r.requests for r in runs]
    sizes = [r.bytes for r in runs]
    widths = ", ".join(sorted(set().union(*(r.widths for r in runs))))
    row("media requests until first paint:", f"median {statistics.median(requests):g} ({widths})")
    row(
        "media bytes downloaded:",
        f"median {mib(statistics.median(sizes))} (min {mib(min(sizes))}, max {mib(max(sizes))})",
    )
    return runs


def compare(ours: float, label: str, full: float) -> None:
    """Our bytes against the full files of the same items (what a full-file grid loads)."""
    row(f"{label}:", mib(full))
    row("ours / those full files:", ratio(ours, full))


def page_url(server: LiveServer, name: str, width: int | None) -> str:
    return f"{server.url}/?g={name}" + (f"&width={width}" if width else "")


def report_pngs(
    browser: Browser, server: LiveServer, pngs: list[Path], repeat: int, width: int | None
) -> None:
    runs = measure(browser, page_url(server, "pngs", width), repeat)
    ours = statistics.median(r.bytes for r in runs)
    full = statistics.median(
        sum(pngs[r.item_ids.index(m)].stat().st_size for m in r.media_ids) for r in runs
    )
    compare(ours, "full PNGs of the requested items", full)
    row("Gradio 6.31 reference:", f"{GRADIO_PNG_REQUESTS} requests, {mib(GRADIO_PNG_BYTES)}")
    row("ours / Gradio:", ratio(ours, GRADIO_PNG_BYTES))
    row("target, under 1/20 of Gradio:", "met" if ours < GRADIO_PNG_BYTES / 20 else "NOT met")


def report_numpy(browser: Browser, server: LiveServer, repeat: int, width: int | None) -> None:
    runs = measure(browser, page_url(server, "handler", width), repeat)
    ours = statistics.median(r.bytes for r in runs)
    sizes = {m: full_bytes(server.app, m) for m in runs[0].item_ids}
    compare(
        ours,
        "our full WebP files, requested items",
        statistics.median(sum(sizes[m] for m in r.media_ids) for r in runs),
    )
    compare(ours, f"our full WebP files, all {NUMPY_COUNT} items", sum(sizes.values()))
    low, high = (NUMPY_COUNT * b for b in GRADIO_WEBP_BYTES)
    row(
        "Gradio 6.31 reference:",
        f"{NUMPY_COUNT} full WebP files of 120-180 KB: {mib(low)}-{mib(high)}",
    )
    row("ours / Gradio:", f"{ratio(ours, high)} to {ratio(ours, low)}")
    row("target, under 1/5 of Gradio:", "met" if ours < low / 5 else "NOT met (low end)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="cold runs per page (default 5)")
    parser.add_argument("--quick", action="store_true", help="one run per page")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else max(1, args.repeat)

    from playwright.sync_api import sync_playwright

    pngs = png_files(PNG_COUNT)
    arrays = [detailed_photo(1000 + i) for i in range(NUMPY_COUNT)]

    def declare(galleries: FlaskGallery) -> None:
        galleries.gallery("pngs", pngs)
        galleries.gallery("handler", lambda: list(arrays))  # a handler's output, as in Gradio

    with (
        tempfile.TemporaryDirectory(prefix="bench_first_paint_") as instance,
        LiveServer(gallery_app(Path(instance), declare)) as server,
        sync_playwright() as p,
    ):
        browser = launch(p)
        try:
            print(f"bench_first_paint: chromium {browser.version}, {os.cpu_count()} cores")
            mean = statistics.mean(p.stat().st_size for p in pngs)
            setup = f"1280x800, columns=2, default height, {repeat} cold runs"
            for width, where in LAYOUTS:
                print(
                    f"\n200-PNG page, {where}: {len(pngs)} PNGs of {SIZE}x{SIZE}"
                    f" (mean {mean / 1024:.0f} KiB), {setup}"
                )
                report_pngs(browser, server, pngs, repeat, width)
            for width, where in LAYOUTS:
                print(
                    f"\nhandler page, {where}: {NUMPY_COUNT} numpy arrays of {SIZE}x{SIZE}x3"
                    f" from a callable, {setup}"
                )
                report_numpy(browser, server, repeat, width)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
