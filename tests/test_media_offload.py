"""Large image work runs at low CPU priority, so that a decompression bomb (or any image at the
pixel limit) takes CPU only when the server's other requests do not want it; small images are
decoded where they are asked for, as before."""

from __future__ import annotations

import io
import os
import pathlib
import threading
import typing as t

import numpy as np
import pytest
from PIL import Image

from flask_gallery.media import MediaStore
from flask_gallery.media.offload import HEAVY_NICE, offload
from flask_gallery.media.thumbnails import LARGE

pytestmark = pytest.mark.skipif(not hasattr(os, "setpriority"), reason="no per-thread nice")


def where() -> tuple[int, int]:
    """The OS thread running this, and its nice value."""
    tid = threading.get_native_id()
    return tid, os.getpriority(os.PRIO_PROCESS, tid)


def test_heavy_work_runs_in_a_thread_of_lower_priority() -> None:
    base = os.getpriority(os.PRIO_PROCESS, 0)
    here = threading.get_native_id()
    tid, nice = offload(where, heavy=True)
    assert tid != here and nice == min(19, base + HEAVY_NICE)
    assert offload(where) == (here, base)  # light work stays where it is called
    assert where() == (here, base)  # the caller's own priority is untouched


def test_heavy_work_hands_back_its_errors() -> None:
    def fail() -> None:
        raise OSError("truncated")

    with pytest.raises(OSError, match="truncated"):
        offload(fail, heavy=True)


def png(width: int, height: int) -> bytes:
    noise = np.random.default_rng(0).integers(0, 255, (height, width, 4), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise, "RGBA").save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[int, int], int]]:
    """(size, nice of the decoding thread) of every full decode Pillow makes."""
    seen: list[tuple[tuple[int, int], int]] = []
    load = Image.Image.load

    def spy(image: Image.Image) -> t.Any:
        seen.append((image.size, where()[1]))
        return load(image)

    monkeypatch.setattr(Image.Image, "load", spy)
    return seen


def test_a_large_upload_decodes_at_low_priority_and_a_small_one_in_place(
    tmp_path: pathlib.Path, decodes: list[tuple[tuple[int, int], int]]
) -> None:
    base = os.getpriority(os.PRIO_PROCESS, 0)
    large, small = (2400, 2000), (200, 150)
    assert large[0] * large[1] * 4 >= LARGE > small[0] * small[1] * 4
    files = {size: png(*size) for size in (large, small)}
    decodes.clear()  # making the files decoded them too
    with MediaStore(tmp_path / "media", "s", background=False) as store:
        for size, data in files.items():
            store.add_upload(data, f"{size[0]}.png", max_bytes=1 << 30, max_pixels=1 << 30)
    # Other sizes are the shrunk copies' own loads (already decoded).
    seen = {size: {nice for s, nice in decodes if s == size} for size in (large, small)}
    assert seen == {large: {min(19, base + HEAVY_NICE)}, small: {base}}, decodes
