"""What protecting users' data costs (issue 11, points 3-6). Run:
``python benchmarks/bench_privacy.py`` (about 10 s).

1. Metadata stripping of an upload: a 12-megapixel photo-like JPEG with EXIF GPS and an ICC
   profile, as a phone sends it. Timed: ``strip_image`` alone, and the whole ``add_upload``
   (decode check + strip + store) with stripping on and with ``keep_metadata=True``.
2. A 5 MiB MP4-like file (ftyp, moov with udta/meta, mdat): ``detect_video`` + ``strip_video``.
3. Handler paths: ``postprocess`` of 200 file paths (each resolved and checked against the
   allowed folders), and drawing 200 items with signed download names, static value.

Figures are medians of thread CPU time (the machine is shared; wall time is noisier).
``--paths-only --source DIR`` runs part 3 alone against the package in ``DIR`` (e.g. an older
commit: ``git archive e6c921e flask_gallery templates static | tar -x -C DIR``), to compare.
"""

from __future__ import annotations

import argparse
import io
import pathlib
import statistics
import sys
import tempfile
import time
import typing as t

import numpy as np
from flask import Flask, render_template_string
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[1]
LIMITS = {"max_bytes": 64 << 20, "max_pixels": 64_000_000}


def cpu_ms(fn: t.Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.thread_time()
        fn()
        times.append(time.thread_time() - start)
    return statistics.median(times) * 1000


def phone_photo() -> bytes:
    """4000x3000, smooth gradients plus noise (compresses like a photo), EXIF with GPS."""
    y, x = np.mgrid[0:3000, 0:4000].astype(np.float32)
    rng = np.random.default_rng(1)
    image = np.stack([x / 16, y / 12, (x + y) / 28], axis=-1) % 255
    image += rng.normal(0, 6, image.shape).astype(np.float32)
    exif = Image.Exif()
    exif[0x010F] = "PhoneCorp"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    buffer = io.BytesIO()
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(
        buffer, format="JPEG", quality=90, exif=exif
    )
    return buffer.getvalue()


def mp4_like(size: int) -> bytes:
    def box(kind: bytes, payload: bytes) -> bytes:
        return (8 + len(payload)).to_bytes(4, "big") + kind + payload

    udta = box(b"udta", box(b"\xa9xyz", b"+48.8584+002.2945/"))
    moov = box(b"moov", box(b"mvhd", bytes(100)) + udta + box(b"meta", bytes(64)))
    return box(b"ftyp", b"isom\0\0\2\0isomiso2") + moov + box(b"mdat", bytes(size))


def uploads(tmp: pathlib.Path) -> None:
    from flask_gallery.media import MediaStore
    from flask_gallery.media.strip import strip_image, strip_video
    from flask_gallery.media.videos import detect_video

    photo = phone_photo()
    print(f"12 MP JPEG, {len(photo) / 2**20:.1f} MiB:")
    strip_ms = cpu_ms(lambda: strip_image(photo, "JPEG"), 9)
    print(f"  strip_image                       {strip_ms:7.1f} ms")
    for keep in (False, True):
        with MediaStore(tmp / f"m{keep}", "s", background=False, keep_metadata=keep) as store:
            ms = cpu_ms(lambda: store.add_upload(photo, "p.jpg", **LIMITS), 5)
        label = "keep_metadata=True " if keep else "stripped (default)"
        print(f"  add_upload, {label}      {ms:7.1f} ms")
    video = mp4_like(5 << 20)

    def check_and_strip() -> None:
        detected = detect_video(video)
        assert detected is not None
        strip_video(video, detected.ext)

    print(f"5 MiB MP4, detect_video + strip_video {cpu_ms(check_and_strip, 9):7.1f} ms")


def paths(tmp: pathlib.Path) -> None:
    from flask_gallery import FlaskGallery
    from flask_gallery.web.app_state import app_state

    files = []
    for i in range(200):
        path = tmp / "files" / f"photo-{i:03d}.png"
        path.parent.mkdir(exist_ok=True)
        Image.new("RGB", (64, 64), (i, 0, 0)).save(path)
        files.append(path)
    app = Flask("bench_privacy", instance_path=str(tmp / "instance"))
    app.config.update(SECRET_KEY="s")
    FlaskGallery(app).gallery("big", list(files))
    with app.test_request_context("/"):
        render_template_string("{{ gallery('big') }}")
        store = app_state().media
        post = cpu_ms(lambda: store.postprocess(files), 41)
        draw = cpu_ms(lambda: render_template_string("{{ gallery('big') }}"), 41)
    print(f"postprocess 200 paths (resolved, checked) {post:7.2f} ms")
    print(f"draw 200 items with signed download names {draw:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paths-only", action="store_true", help="run part 3 only")
    parser.add_argument("--source", type=pathlib.Path, default=ROOT, help="the package's folder")
    args = parser.parse_args()
    sys.path.insert(0, str(args.source))
    import flask_gallery

    print(f"flask_gallery from {pathlib.Path(flask_gallery.__file__).parent}")
    with tempfile.TemporaryDirectory() as folder:
        if not args.paths_only:
            uploads(pathlib.Path(folder))
        paths(pathlib.Path(folder))


if __name__ == "__main__":
    main()
