"""Media pipeline benchmark (issue 2, "Speed"). Run: ``python benchmarks/bench_media.py``.

1. A handler-style value of 16 photo-like numpy images of 1024x1024x3, rendered as a gallery
   fragment through the Flask test client (the gallery's value is a callable, so each render
   postprocesses it, as a handler output would be), then every grid thumbnail requested through
   the media route until all 16 are served. Timed: render + 16 thumbnails at the 1x grid width
   (384 px, Gradio's grid cells are ~292 px), and separately + 16 at 2x (640 px). Bytes: what the
   browser downloads to paint the grid (the 16 thumbnails).
   Compared with a Pillow-only floor measured in the same run (sha256 of the arrays + 16
   thumbnails of 384 px, JPEG, 2 threads) and with Gradio 6.31's figures from the issue.
2. 200 PNG files of 1024x1024: bytes of the grid thumbnails vs the full PNGs (what Gradio's
   grid downloads), and the time to render that gallery and serve its 1x thumbnails.

Each repetition uses a fresh app with a fresh media store in a temporary directory.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import io
import os
import pathlib
import statistics
import sys
import tempfile
import time
import typing as t

import numpy as np
from bs4 import BeautifulSoup
from flask import Flask, render_template_string
from PIL import Image

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from flask_gallery import FlaskGallery

GRID_1X, GRID_2X = 384, 640
GRADIO_POSTPROCESS_MS = (610, 770)
GRADIO_BYTES_PER_IMAGE = (120_000, 180_000)
GRADIO_200_PNG_FIRST_PAINT = 44.2 * 2**20


def photo(seed: int, size: int = 1024) -> np.ndarray[t.Any, t.Any]:
    """Smooth gradients, a few soft-edged shapes and a little sensor noise: compresses like a
    photo, unlike pure noise (which no codec can shrink) or flat colour (which all codecs do)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = rng.uniform(40, 200, 3).astype(np.float32)
    tilt = rng.uniform(-80, 80, (2, 3)).astype(np.float32)
    image = base + x[..., None] * tilt[0] + y[..., None] * tilt[1]
    for _ in range(8):
        cx, cy, radius = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.05, 0.25)
        distance = np.sqrt((x - cx) ** 2 + (y - cy) ** 2)
        weight = np.clip((radius - distance) / 0.01, 0, 1)[..., None]
        image = image * (1 - weight) + rng.uniform(0, 255, 3).astype(np.float32) * weight
    image += rng.normal(0, 3, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


class Page:
    """A fresh app whose page renders one gallery, plus a client to fetch its media."""

    def __init__(self, root: pathlib.Path, value: list[t.Any]) -> None:
        self.value: list[t.Any] = []
        self.app = Flask("bench_media", instance_path=str(root / "instance"))
        self.app.config.update(SECRET_KEY="bench", GALLERY_MEDIA_DIR=str(root / "media"))
        galleries = FlaskGallery(self.app)
        galleries.gallery("bench", lambda: self.value, columns=4)
        self.app.add_url_rule(
            "/", "index", lambda: render_template_string('{{ gallery("bench") }}')
        )
        self.client = self.app.test_client()
        self.render()  # compile the templates (once per app) outside the timed path
        self.value = value

    def render(self) -> list[str]:
        """GET the page; the thumbnail URLs of its grid, in order."""
        response = self.client.get("/")
        html = response.get_data(as_text=True)
        soup = BeautifulSoup(html, "html.parser")
        return [str(img["src"]) for img in soup.select(".fg-grid img")]

    def fetch(self, url: str) -> int:
        response = self.client.get(url)
        size = len(response.get_data())
        response.close()
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        return size

    def close(self) -> None:
        self.app.extensions["flask_gallery"].media.close()


def at_width(url: str, width: int) -> str:
    """A grid thumbnail URL for another width (the render's src is the smallest width)."""
    head, _, _ = url.rpartition("/")
    return f"{head}/w{width}"


def run_16(arrays: list[np.ndarray[t.Any, t.Any]], repeat: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"render": [], "1x": [], "2x": [], "bytes1x": [], "bytes2x": []}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            page = Page(pathlib.Path(tmp), arrays)
            start = time.perf_counter()
            urls = page.render()
            rendered = time.perf_counter()
            sizes_1x = [page.fetch(at_width(url, GRID_1X)) for url in urls]
            served_1x = time.perf_counter()
            sizes_2x = [page.fetch(at_width(url, GRID_2X)) for url in urls]
            served_2x = time.perf_counter()
            page.close()
        assert len(urls) == len(arrays), urls
        out["render"].append(rendered - start)
        out["1x"].append(served_1x - start)
        out["2x"].append(served_2x - start)
        out["bytes1x"].append(sum(sizes_1x))
        out["bytes2x"].append(sum(sizes_2x))
    return out


def pillow_floor(arrays: list[np.ndarray[t.Any, t.Any]], repeat: int) -> dict[str, list[float]]:
    """What Pillow alone needs: hash the pixels, and make 16 thumbnails with 2 threads."""

    def thumbnail(array: np.ndarray[t.Any, t.Any]) -> int:
        image = Image.fromarray(array)
        image.thumbnail((GRID_1X, GRID_1X))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=80)
        return buffer.tell()

    out: dict[str, list[float]] = {"sha256": [], "thumbs": [], "bytes": []}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for _ in range(repeat):
            start = time.perf_counter()
            for array in arrays:
                hashlib.sha256(array.data).digest()
            hashed = time.perf_counter()
            sizes = list(pool.map(thumbnail, arrays))
            done = time.perf_counter()
            out["sha256"].append(hashed - start)
            out["thumbs"].append(done - hashed)
            out["bytes"].append(sum(sizes))
    return out


def write_pngs(folder: pathlib.Path, count: int) -> list[pathlib.Path]:
    """``count`` distinct 1024x1024 PNGs (16 photos, shifted), written with 2 threads."""
    bases = [photo(100 + i) for i in range(16)]

    def write(index: int) -> pathlib.Path:
        path = folder / f"photo-{index:03d}.png"
        array = np.roll(bases[index % 16], shift=index * 7, axis=1)
        Image.fromarray(array).save(path, format="PNG")
        return path

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        return list(pool.map(write, range(count)))


def run_200(paths: list[pathlib.Path], repeat: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"render": [], "1x": [], "bytes1x": [], "bytes2x": []}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            page = Page(pathlib.Path(tmp), paths)
            start = time.perf_counter()
            urls = page.render()
            out["render"].append(time.perf_counter() - start)
            sizes_1x = [page.fetch(at_width(url, GRID_1X)) for url in urls]
            out["1x"].append(time.perf_counter() - start)
            out["bytes1x"].append(sum(sizes_1x))
            out["bytes2x"].append(sum(page.fetch(at_width(url, GRID_2X)) for url in urls))
            page.close()
    return out


def ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def kib(value: float) -> str:
    return f"{value / 1024:,.0f} KiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--pngs", type=int, default=200)
    parser.add_argument("--png-repeat", type=int, default=1)
    args = parser.parse_args()

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{os.cpu_count()} cores, load average {load} (the floor below is measured under it)")
    arrays = [photo(seed) for seed in range(16)]
    floor = pillow_floor(arrays, args.repeat)
    ours = run_16(arrays, args.repeat)
    floor_ms = ms(floor["sha256"]) + ms(floor["thumbs"])
    ours_1x = ms(ours["1x"])
    bytes_1x = statistics.median(ours["bytes1x"])
    bytes_2x = statistics.median(ours["bytes2x"])
    low, high = GRADIO_POSTPROCESS_MS
    per_low, per_high = GRADIO_BYTES_PER_IMAGE

    print(f"== 16 numpy images 1024x1024x3, median of {args.repeat} (fresh store each) ==")
    print(f"render (postprocess + fragment)           {ms(ours['render']):7.1f} ms")
    print(f"render + 16 thumbnails {GRID_1X} px served      {ours_1x:7.1f} ms")
    print(f"render + 16 at {GRID_1X} + 16 at {GRID_2X} px served {ms(ours['2x']):7.1f} ms")
    print(
        f"Pillow floor: sha256 {ms(floor['sha256']):.1f} ms + 16 thumbnails {GRID_1X} px JPEG "
        f"(2 threads) {ms(floor['thumbs']):.1f} ms = {floor_ms:.1f} ms"
    )
    print(f"ratio to the Pillow floor                 {ours_1x / floor_ms:7.2f}x")
    print(
        f"Gradio 6.31 postprocess alone {low}-{high} ms: ours is "
        f"{low / ours_1x:.1f}-{high / ours_1x:.1f}x faster (target: under 150 ms)"
    )
    print(
        f"grid bytes: {kib(bytes_1x)} at 1x ({bytes_1x / 16 / 1024:.1f} KiB per image), "
        f"{kib(bytes_2x)} at 2x; Pillow floor thumbnails {kib(statistics.median(floor['bytes']))}"
    )
    print(
        f"Gradio's grid loads {kib(16 * per_low)}-{kib(16 * per_high)} (full WebP files): "
        f"1x is {bytes_1x / (16 * per_high):.2f}-{bytes_1x / (16 * per_low):.2f} of that, "
        f"2x is {bytes_2x / (16 * per_high):.2f}-{bytes_2x / (16 * per_low):.2f} "
        "(target: under 0.20)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        paths = write_pngs(pathlib.Path(tmp), args.pngs)
        png_bytes = sum(path.stat().st_size for path in paths)
        big = run_200(paths, args.png_repeat)
    thumbs_1x = statistics.median(big["bytes1x"])
    thumbs_2x = statistics.median(big["bytes2x"])
    print(f"\n== {args.pngs} PNG files of 1024x1024, median of {args.png_repeat} ==")
    print(f"full PNG bytes (what Gradio's grid loads)  {kib(png_bytes)}")
    for label, value in ((f"1x ({GRID_1X} px)", thumbs_1x), (f"2x ({GRID_2X} px)", thumbs_2x)):
        print(f"thumbnails at {label:<28} {kib(value)}  ratio {value / png_bytes:.3f}")
    print(
        f"Gradio's first paint of its 200-PNG page: {GRADIO_200_PNG_FIRST_PAINT / 2**20:.1f} MiB; "
        f"ours for all {args.pngs} thumbnails at 1x: {thumbs_1x / GRADIO_200_PNG_FIRST_PAINT:.3f} "
        "of that (target: under 0.05)"
    )
    print(f"render (hash + copy {args.pngs} files + fragment) {ms(big['render']):7.1f} ms")
    print(f"render + all {args.pngs} thumbnails at 1x served  {ms(big['1x']):7.1f} ms")


if __name__ == "__main__":
    main()
