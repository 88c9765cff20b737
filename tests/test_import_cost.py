"""What ``import flask_gallery`` loads: the modules only some code paths need stay unloaded
until those paths run (asyncio for async handlers, xml.etree for SVG uploads, Pillow's ImageOps
for turned photos, concurrent.futures for the first render's media pool, the container parsers
for uploads, numpy for pixels)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LAZY = (
    "asyncio",
    "xml.etree.ElementTree",
    "PIL.ImageOps",
    "concurrent.futures",
    "flask_gallery.media.strip",
    "flask_gallery.media.videos",
)


def _loaded_after(code: str) -> set[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_import_leaves_path_specific_modules_unloaded() -> None:
    loaded = _loaded_after("import flask_gallery")
    assert not loaded & set(LAZY), sorted(loaded & set(LAZY))


def test_the_paths_that_need_them_still_load_them() -> None:
    code = """
import io
from flask_gallery.media.uploads import sniff_svg
import tempfile
from flask_gallery.media.store import MediaStore
from flask_gallery.media.jobs import Pool
from flask_gallery.queue.aio import close_thread_loop, thread_loop
from PIL import Image
assert sniff_svg(b'<svg xmlns="http://www.w3.org/2000/svg"/>') is not None
from flask_gallery.media.uploads import add_upload, UploadRejected, UploadLimits
try:
    add_upload(MediaStore(tempfile.mkdtemp(), "s"), b"not a video", "x.mp4",
               UploadLimits(None, 100, 100))
except UploadRejected:
    pass
exif = Image.Exif()
exif[0x0112] = 6
buffer = io.BytesIO()
Image.new("RGB", (4, 2)).save(buffer, "JPEG", exif=exif)
with tempfile.TemporaryDirectory() as root, MediaStore(root, "s") as store:
    item = store.add_upload(buffer.getvalue(), "turned.jpg", max_bytes=10**6, max_pixels=100)
    assert (item.width, item.height) == (2, 4)
pool = Pool(2)
assert pool.map(abs, [-1, -2]) == [1, 2]
pool.close()
async def one():
    return 1
assert thread_loop().run_until_complete(one()) == 1
close_thread_loop()
"""
    assert set(LAZY) <= _loaded_after(code)


def test_encoding_loads_only_the_formats_plugin() -> None:
    """Saving WebP (the default format) must not make Pillow import all of its plugins
    (``Image.init``, ~2 MiB and ~20 ms); each format still encodes."""
    code = """
import numpy as np
from PIL import Image
from flask_gallery.media.encode import encode_pixels
from flask_gallery.media.thumbnails import thumbnail_bytes
from flask_gallery.media.pixels import from_pil
pixels = from_pil(Image.fromarray(np.full((8, 12, 3), 90, np.uint8)))
assert encode_pixels(pixels, "webp")[8:12] == b"WEBP"
alpha = Image.new("RGBA", (12, 8))
assert thumbnail_bytes(alpha, 6, alpha=True)[8:12] == b"WEBP"
assert thumbnail_bytes(alpha, 6, alpha=False, webp=True)[8:12] == b"WEBP"
assert thumbnail_bytes(alpha, 6, alpha=False)[:2] == b"\\xff\\xd8"
"""
    loaded = _loaded_after(code)
    assert "PIL.WebPImagePlugin" in loaded
    assert not {"PIL.PdfImagePlugin", "PIL.TiffImagePlugin"} & loaded


def test_every_format_encodes() -> None:
    import io

    import numpy as np
    from PIL import Image

    from flask_gallery.media.encode import FORMAT_FILES, encode_pixels
    from flask_gallery.media.pixels import from_pil

    pixels = from_pil(Image.fromarray(np.full((8, 12, 3), 90, np.uint8)))
    for name in FORMAT_FILES:
        with Image.open(io.BytesIO(encode_pixels(pixels, name))) as image:
            assert image.format == name.upper() and image.size == (12, 8)


#: An app whose gallery shows files: its page drawn, a thumbnail and the full file served, a
#: select clicked and its handler's result polled. Prints whether numpy was loaded.
FILES_APP = """
import json, sys, tempfile, time
from pathlib import Path
from bs4 import BeautifulSoup
from flask import Flask, render_template_string
from PIL import Image
from flask_gallery import FlaskGallery, SelectData

folder = Path(tempfile.mkdtemp())
files = []
for i in range(2):
    Image.new("RGB", (40, 30), (90 * i, 30, 60)).save(folder / f"p{i}.png")
    files.append(str(folder / f"p{i}.png"))
app = Flask("files", instance_path=str(folder / "instance"))
app.config.update(SECRET_KEY="k", GALLERY_ALLOWED_PATHS=[str(folder)])
galleries = FlaskGallery(app)
gallery = galleries.gallery("g", VALUE)

@gallery.on_select(outputs="#out")
def picked(evt: SelectData) -> str:
    return f"picked {evt.index}"

@app.get("/")
def page() -> str:
    return render_template_string("{{ gallery_assets() }}{{ gallery('g') }}<p id=out></p>")

client = app.test_client()
soup = BeautifulSoup(client.get("/").get_data(as_text=True), "html.parser")
root = soup.select_one(".fg-block[data-page]")
token = root["data-page"]
headers = {**json.loads(root["hx-headers:inherited"]), "HX-Request": "true"}
media = [img["src"] for img in soup.select(".fg-thumb img")]
media += [a["href"] for a in soup.select("a.fg-thumb")]
assert len(media) == 4, media
for url in media:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    response.close()
assert client.post(f"/_gallery/p/{token}/g/select/1", headers=headers).status_code == 200
deadline = time.monotonic() + 10
poll = f"/_gallery/poll/{token}?after=0"
while "picked 1" not in client.get(poll, headers=headers).get_data(as_text=True):
    assert time.monotonic() < deadline, "no result"
    time.sleep(0.05)
galleries.shutdown(app)
print("NUMPY", "numpy" in sys.modules)
"""


def _numpy_loaded(value: str) -> bool:
    out = subprocess.run(
        [sys.executable, "-c", FILES_APP.replace("VALUE", value)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    (line,) = [line for line in out.stdout.splitlines() if line.startswith("NUMPY ")]
    return line == "NUMPY True"


def test_an_app_of_files_never_loads_numpy() -> None:
    """numpy holds about 12 MiB of a server's memory: an app whose galleries show files, from
    the page's first draw to a handler's result, never imports it."""
    assert not _numpy_loaded("files")


def test_an_app_of_pil_images_loads_numpy_when_it_needs_it() -> None:
    assert _numpy_loaded("[Image.new('RGB', (8, 6), 'red'), Image.new('L', (8, 6), 9)]")
