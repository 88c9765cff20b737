"""The decode budget: what waits, in which order, for how long, and what one decode costs.

Threads here wait on events, never on sleeps; every wait is bounded (``LIMIT``), so a broken
budget fails a test instead of hanging it.
"""

from __future__ import annotations

import contextlib
import io
import pathlib
import threading
import typing as t

import numpy as np
import pytest
from PIL import Image

from flask_gallery.media import MediaStore, UploadRejected
from flask_gallery.media.budget import DecodeBudget, DecodeBusy
from flask_gallery.media.decode import decode_bytes, pixel_bytes

LIMIT = 10.0
MIB = 1 << 20


class Holder:
    """A thread that reserves ``nbytes`` and holds them until released; it records when it got
    them (in ``order``) and what it raised."""

    def __init__(self, budget: DecodeBudget, nbytes: int, name: str, order: list[str]) -> None:
        self.budget, self.nbytes, self.name, self.order = budget, nbytes, name, order
        self.got = threading.Event()
        self.release = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"holder-{name}")

    def _run(self) -> None:
        try:
            with self.budget.reserve(self.nbytes):
                self.order.append(self.name)
                self.got.set()
                self.release.wait(LIMIT)
        except DecodeBusy as exc:
            self.error = exc

    def start(self) -> Holder:
        self.thread.start()
        return self

    def finish(self) -> None:
        self.release.set()
        self.thread.join(LIMIT)
        assert not self.thread.is_alive()


def holding(budget: DecodeBudget, nbytes: int, name: str, order: list[str]) -> Holder:
    """A holder that has got its bytes."""
    holder = Holder(budget, nbytes, name, order).start()
    assert holder.got.wait(LIMIT)
    return holder


def queued(budget: DecodeBudget, nbytes: int, name: str, order: list[str]) -> Holder:
    """A holder waiting at the end of the queue."""
    ahead = budget.waiting
    holder = Holder(budget, nbytes, name, order).start()
    wait_for_queue(budget, ahead + 1)
    return holder


def wait_for_queue(budget: DecodeBudget, waiting: int) -> None:
    """Until ``waiting`` reservations are queued (a bounded wait on the budget's own count)."""
    done = threading.Event()
    for _ in range(1000):
        if budget.waiting == waiting:
            return
        done.wait(0.01)
    raise AssertionError(f"{budget.waiting} waiting, expected {waiting}")


@pytest.fixture
def order() -> list[str]:
    return []


def test_decodes_within_the_budget_run_together(order: list[str]) -> None:
    budget = DecodeBudget(100)
    first, second = Holder(budget, 60, "a", order).start(), Holder(budget, 40, "b", order).start()
    assert first.got.wait(LIMIT) and second.got.wait(LIMIT)
    assert (budget.in_use, budget.peak) == (100, 100)
    first.finish()
    second.finish()
    assert (budget.in_use, budget.granted) == (0, 2)


def test_work_beyond_the_budget_waits_for_memory_to_be_released(order: list[str]) -> None:
    budget = DecodeBudget(100)
    first = holding(budget, 70, "first", order)
    second = queued(budget, 70, "second", order)
    assert not second.got.is_set() and budget.in_use == 70
    first.finish()
    assert second.got.wait(LIMIT)
    assert budget.peak == 70  # never both at once
    second.finish()


def test_first_come_first_served_so_small_decodes_cannot_starve_a_large_one(
    order: list[str],
) -> None:
    budget = DecodeBudget(100)
    running = holding(budget, 50, "running", order)
    large = queued(budget, 90, "large", order)
    small = queued(budget, 20, "small", order)  # would fit now, but arrived later
    assert not small.got.is_set()
    running.finish()
    assert large.got.wait(LIMIT)
    large.finish()
    assert small.got.wait(LIMIT)
    small.finish()
    assert order == ["running", "large", "small"]


def test_a_decode_larger_than_the_budget_runs_alone(order: list[str]) -> None:
    budget = DecodeBudget(100)
    small = holding(budget, 10, "small", order)
    huge = queued(budget, 500, "huge", order)
    after = queued(budget, 10, "after", order)
    small.finish()
    assert huge.got.wait(LIMIT)
    assert budget.in_use == 500 and not after.got.is_set()
    huge.finish()
    assert after.got.wait(LIMIT)
    after.finish()
    assert order == ["small", "huge", "after"]


def test_a_waiter_that_cannot_get_its_share_in_time_gets_a_clear_error(
    order: list[str],
) -> None:
    budget = DecodeBudget(100 * MIB, wait=0.2)
    holder = holding(budget, 100 * MIB, "holder", order)
    with pytest.raises(DecodeBusy, match=r"busy decoding other images .*0\.2 s.*Try again"):
        budget.acquire(10 * MIB)
    assert (budget.waiting, budget.in_use) == (0, 100 * MIB)
    holder.finish()
    with budget.reserve(10 * MIB):  # the budget still works after a time-out
        assert budget.in_use == 10 * MIB


def test_a_timed_out_head_of_the_queue_lets_those_behind_it_go(order: list[str]) -> None:
    budget = DecodeBudget(100, wait=1.5)
    holder = holding(budget, 50, "holder", order)
    large = queued(budget, 80, "large", order)  # never fits while "holder" holds on
    budget.wait = LIMIT  # read as each waiter joins the queue
    small = queued(budget, 10, "small", order)  # fits, but queued behind "large"
    large.thread.join(LIMIT)
    assert isinstance(large.error, DecodeBusy)
    assert small.got.wait(LIMIT) and small.error is None  # let go when "large" gave up
    small.finish()
    holder.finish()


def test_too_many_waiters_are_refused_at_once(order: list[str]) -> None:
    budget = DecodeBudget(100, max_waiting=2)
    holder = holding(budget, 100, "holder", order)
    waiters = [Holder(budget, 10, f"w{i}", order).start() for i in range(2)]
    wait_for_queue(budget, 2)
    with pytest.raises(DecodeBusy, match="too many images are waiting"):
        budget.acquire(10)
    holder.finish()
    for waiter in waiters:
        assert waiter.got.wait(LIMIT)
        waiter.finish()


def test_ordinary_images_neither_wait_behind_a_bomb_nor_delay_it(order: list[str]) -> None:
    """With a lane for ordinary images beside the budget, a photo decodes while a bomb holds
    the whole budget and another waits for it; the photos never take the bombs' memory."""
    budget = DecodeBudget(100, small_share=0.25)
    bomb = holding(budget, 100, "bomb", order)
    next_bomb = queued(budget, 90, "next bomb", order)
    photos = [holding(budget, 25, "photo 1", order), queued(budget, 25, "photo 2", order)]
    assert budget.in_use == 125  # the lane is held beside the budget, and no more
    photos[0].finish()
    assert photos[1].got.wait(LIMIT) and not next_bomb.got.is_set()
    bomb.finish()
    assert next_bomb.got.wait(LIMIT)  # the photo still decoding takes nothing from it
    assert budget.peak == 125
    next_bomb.finish()
    photos[1].finish()
    assert order == ["bomb", "photo 1", "photo 2", "next bomb"]


def test_the_ordinary_images_lane_has_its_own_waiting_places(order: list[str]) -> None:
    budget = DecodeBudget(100, max_waiting=1, small_share=0.25)
    bomb = holding(budget, 100, "bomb", order)
    waiting_bomb = queued(budget, 100, "waiting bomb", order)
    with pytest.raises(DecodeBusy, match="too many images are waiting"):
        budget.acquire(100)
    with budget.reserve(20):  # the bombs' waiting places are full, the photos' are not
        assert budget.in_use == 120
    bomb.finish()
    assert waiting_bomb.got.wait(LIMIT)
    waiting_bomb.finish()


def test_no_limit_never_waits() -> None:
    budget = DecodeBudget(None)
    with budget.reserve(10**12), budget.reserve(10**12):
        assert budget.in_use == 2 * 10**12
    assert budget.fits(10**15)


def test_a_budget_must_be_a_byte_count() -> None:
    with pytest.raises(ValueError, match=r"an int >= 0\) or None; got -1"):
        DecodeBudget(-1)
    with pytest.raises(ValueError, match="got '256MB'"):
        DecodeBudget(t.cast(int, "256MB"))


TRIM_SCRIPT = """
import threading
from PIL import Image
from flask_gallery.media.budget import release_memory

def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

def decode_twice():
    for _ in range(2):
        images = [Image.new("RGBA", (4000, 4000), (1, 2, 3, 4)) for _ in range(4)]
        del images

idle = rss()
for _ in range(2):
    thread = threading.Thread(target=decode_twice)
    thread.start()
    thread.join()
kept = rss() - idle
assert release_memory()
print(kept, rss() - idle)
"""


def test_release_memory_returns_what_glibc_keeps_after_threads_free_large_images() -> None:
    """Why malloc_trim: four 64 MB images made and freed in threads (as request threads decode)
    stay resident in glibc's arenas; trimming gives them back. In a fresh interpreter, so the
    figures are this process's alone."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", TRIM_SCRIPT], capture_output=True, text=True, check=True
    )
    kept, after = map(float, out.stdout.split())
    assert kept > 100, f"glibc kept only {kept:.0f} MiB: nothing for the trim to show"
    assert after < 16, f"{after:.0f} MiB still resident after the trim (of {kept:.0f})"


# What a decode costs, from the header.


def encoded(format: str, mode: str, size: tuple[int, int], **options: t.Any) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format=format, **options)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize(
    ("format", "mode", "per_pixel"),
    [("PNG", "RGBA", 4), ("PNG", "RGB", 4), ("PNG", "L", 1), ("PNG", "P", 1), ("WEBP", "RGBA", 16)],
)
def test_a_decode_is_estimated_from_the_header(format: str, mode: str, per_pixel: int) -> None:
    with Image.open(encoded(format, mode, (300, 200))) as image:
        assert decode_bytes(image) == 300 * 200 * per_pixel
    assert pixel_bytes("I;16") == 2


# The store: one decode for every width of a large image, uploads under the budget.


def stored_png(store: MediaStore, tmp_path: pathlib.Path, size: tuple[int, int]) -> str:
    path = tmp_path / "large.png"
    pixels = np.zeros((size[1], size[0], 4), np.uint8)
    pixels[..., 0] = np.arange(size[0], dtype=np.uint8)[None, :]
    pixels[..., 3] = 255
    Image.fromarray(pixels).save(path, compress_level=1)
    (item,) = store.postprocess([path])
    assert item.id is not None
    return item.id


def read_thumb(store: MediaStore, media_id: str, width: int) -> Image.Image:
    stored = store.open(media_id, "thumb", width)
    assert stored is not None
    with stored.file:
        image = Image.open(io.BytesIO(stored.file.read()))
    image.load()
    return image


def test_one_decode_makes_every_width_of_a_large_image(tmp_path: pathlib.Path) -> None:
    with MediaStore(tmp_path / "media", "s", background=False) as store:
        media_id = stored_png(store, tmp_path, (2400, 1800))  # 16.5 MiB decoded: large
        assert read_thumb(store, media_id, 384).size == (384, 288)
        assert store.decode_budget.granted == 1
        for width in (192, 640, 960):
            assert read_thumb(store, media_id, width).size == (width, width * 3 // 4)
        assert store.decode_budget.granted == 1


def test_concurrent_requests_for_other_widths_wait_for_that_decode(
    tmp_path: pathlib.Path,
) -> None:
    with MediaStore(tmp_path / "media", "s", background=False, max_decode_bytes=64 * MIB) as store:
        media_id = stored_png(store, tmp_path, (2400, 1800))
        # Hold the whole budget, so the first request's decode waits in it while the others
        # arrive; then let it go.
        store.decode_budget.acquire(64 * MIB)
        sizes: dict[int, tuple[int, int]] = {}
        threads = [
            threading.Thread(
                target=lambda w=width: sizes.__setitem__(w, read_thumb(store, media_id, w).size)
            )
            for width in (192, 384, 640, 960)
        ]
        for thread in threads:
            thread.start()
        wait_for_queue(store.decode_budget, 1)  # one decode waits; the others wait for it
        store.decode_budget.release(64 * MIB)
        for thread in threads:
            thread.join(LIMIT)
        assert sizes == {w: (w, w * 3 // 4) for w in (192, 384, 640, 960)}
        assert store.decode_budget.granted == 2  # the holder above, and one decode


def test_small_images_decode_per_width_as_before(tmp_path: pathlib.Path) -> None:
    """The common case keeps its speed: the grid's width is made alone, at once."""
    with MediaStore(tmp_path / "media", "s", background=False) as store:
        media_id = stored_png(store, tmp_path, (1024, 768))
        read_thumb(store, media_id, 384)
        assert store.decode_budget.granted == 1
        read_thumb(store, media_id, 640)
        assert store.decode_budget.granted == 2


def test_a_large_images_thumbnail_keeps_its_colours_and_alpha(tmp_path: pathlib.Path) -> None:
    """Shrunk band by band with alpha premultiplied: the transparent half's colour (red) must
    not bleed into the opaque half (blue)."""
    pixels = np.zeros((1800, 2400, 4), np.uint8)
    pixels[:, :1200] = (255, 0, 0, 0)
    pixels[:, 1200:] = (0, 0, 255, 255)
    path = tmp_path / "half.png"
    Image.fromarray(pixels).save(path, compress_level=1)
    with MediaStore(tmp_path / "media", "s", background=False) as store:
        (item,) = store.postprocess([path])
        thumb = np.asarray(read_thumb(store, item.id or "", 192).convert("RGBA"))
    assert thumb.shape == (144, 192, 4)
    assert thumb[:, :90, 3].max() == 0  # transparent stays transparent
    opaque = thumb[:, 100:].astype(int)
    assert opaque[..., 3].min() == 255 and opaque[..., 0].max() < 8 and opaque[..., 2].min() > 245


@pytest.mark.parametrize("mode", ["P", "I;16", "F", "CMYK"])
def test_large_images_of_any_mode_shrink_as_small_ones_convert(
    tmp_path: pathlib.Path, mode: str
) -> None:
    """Converted band by band, a large image looks as its whole conversion would: a 16-bit or
    float image is scaled by its whole range, not each band's."""
    gradient = np.linspace(0, 1, 2400, dtype=np.float32)[None, :].repeat(1800, axis=0)
    source = Image.fromarray((gradient * 255).astype(np.uint8)).convert("RGB")
    if mode == "P":
        source = source.convert("P")
    elif mode == "I;16":
        source = Image.fromarray((gradient * 60000).astype(np.uint16))
    elif mode == "F":
        source = Image.fromarray(gradient * 200)  # above 1: clipped to 0-255, not scaled
    else:
        source = source.convert("CMYK")
    path = tmp_path / "large.tiff"
    source.save(path)
    with MediaStore(tmp_path / "media", "s", background=False) as store:
        (item,) = store.postprocess([path])
        thumb = np.asarray(read_thumb(store, item.id or "", 192).convert("L")).astype(int)
    expected = {"P": 255, "I;16": 233, "F": 200, "CMYK": 255}[mode]
    assert abs(int(thumb[:, -4:].mean()) - expected) <= 6  # the bright end, as a whole
    assert thumb[:, :4].mean() < 8


def test_an_upload_decodes_under_the_budget(tmp_path: pathlib.Path) -> None:
    png = encoded("PNG", "RGBA", (2000, 1500)).getvalue()
    with MediaStore(tmp_path / "media", "s", background=False, max_decode_bytes=16 * MIB) as store:
        store.add_upload(png, "fine.png", max_bytes=len(png), max_pixels=10**8)
        assert (store.decode_budget.granted, store.decode_budget.peak) == (1, 2000 * 1500 * 4)


def test_an_upload_needing_more_than_the_whole_budget_is_refused_by_name(
    tmp_path: pathlib.Path,
) -> None:
    webp = encoded("WEBP", "RGBA", (1000, 1000), lossless=True).getvalue()  # 16 MB to decode
    with MediaStore(tmp_path / "media", "s", background=False, max_decode_bytes=8 * MIB) as store:
        with pytest.raises(UploadRejected, match=r"'big.webp'.* 15 MiB of memory, more than"):
            store.add_upload(webp, "big.webp", max_bytes=len(webp), max_pixels=10**8)
        assert store.decode_budget.granted == 0


@contextlib.contextmanager
def all_taken(budget: DecodeBudget) -> t.Iterator[None]:
    """Every byte of the budget and of its ordinary images' lane held, as by decodes of others
    (what a user meets when the server is decoding bombs and photos at once)."""
    with budget.reserve(t.cast(int, budget.max_bytes)), budget.reserve(budget.small_max):
        yield


def test_an_upload_that_waits_too_long_is_refused_as_busy(tmp_path: pathlib.Path) -> None:
    png = encoded("PNG", "RGB", (100, 100)).getvalue()
    with MediaStore(tmp_path / "media", "s", background=False, max_decode_bytes=MIB) as store:
        store.decode_budget.wait = 0.1
        busy = pytest.raises(UploadRejected, match=r"'busy.png'.*busy decoding other images")
        with all_taken(store.decode_budget), busy:
            store.add_upload(png, "busy.png", max_bytes=len(png), max_pixels=10**8)
        store.add_upload(png, "busy.png", max_bytes=len(png), max_pixels=10**8)


# What a user sees when the budget is busy.


def test_a_busy_thumbnail_is_a_503_with_retry_after(
    app: t.Any, galleries: t.Any, client: t.Any, tmp_path: pathlib.Path
) -> None:
    from flask_gallery.web.app_state import AppState

    from .conftest import fetch

    path = tmp_path / "photo.png"
    Image.new("RGB", (800, 600), "teal").save(path)
    galleries.gallery("pics", [str(path)])
    state: AppState = app.extensions["flask_gallery"]
    assert state.media.decode_budget.max_bytes == 4 * 64_000_000  # the default
    (item,) = state.items_for(galleries.galleries["pics"])
    state.media.decode_budget.wait = 0.1
    with all_taken(state.media.decode_budget):
        response = fetch(client, f"/_gallery/media/{item.id}/w384")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "busy decoding other images" in response.get_data(as_text=True)
    assert fetch(client, f"/_gallery/media/{item.id}/w384").status_code == 200


def test_a_busy_handler_input_is_an_error_message_for_the_user(tmp_path: pathlib.Path) -> None:
    from flask_gallery import Error

    with MediaStore(tmp_path / "media", "s", background=False, max_decode_bytes=MIB) as store:
        items = store.postprocess([np.zeros((20, 20, 3), np.uint8)], format="png")
        store.decode_budget.wait = 0.1
        with all_taken(store.decode_budget), pytest.raises(Error, match="busy decoding"):
            store.preprocess(items, "numpy")
        value = store.preprocess(items, "numpy")
        assert value is not None and value[0][0].shape == (20, 20, 3)
        assert store.decode_budget.in_use == 0


@pytest.mark.parametrize(
    ("config", "budget"),
    [
        ({"GALLERY_MAX_DECODE_BYTES": 32 * MIB}, 32 * MIB),
        ({"GALLERY_MAX_IMAGE_PIXELS": 10**6}, 4 * 10**6),
        ({"GALLERY_MAX_DECODE_BYTES": 0}, None),
    ],
)
def test_the_decode_budget_is_configurable(
    app: t.Any, config: dict[str, int], budget: int | None
) -> None:
    from flask_gallery import FlaskGallery

    app.config.update(config)
    FlaskGallery(app)
    assert app.extensions["flask_gallery"].media.decode_budget.max_bytes == budget


def test_a_decode_budget_that_is_not_a_byte_count_names_the_setting(app: t.Any) -> None:
    from flask_gallery import FlaskGallery

    app.config.update(GALLERY_MAX_DECODE_BYTES="256MB")
    with pytest.raises(ValueError, match=r"GALLERY_MAX_DECODE_BYTES must be .* got '256MB'"):
        FlaskGallery(app)


def large_png(size: tuple[int, int] = (2400, 1800)) -> bytes:
    """A PNG that decodes to more than thumbnails.LARGE."""
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def test_a_large_upload_makes_its_thumbnails_from_the_decode_that_checked_it(
    tmp_path: pathlib.Path,
) -> None:
    png = large_png()
    with MediaStore(tmp_path / "media", "s", background=False) as store:
        item = store.add_upload(png, "large.png", max_bytes=len(png), max_pixels=10**8)
        assert store.decode_budget.granted == 1
        for width in (192, 384, 640, 960):
            assert read_thumb(store, item.id or "", width).size == (width, width * 3 // 4)
        assert store.decode_budget.granted == 1  # no second decode


@pytest.mark.parametrize("upload", [True, False], ids=["uploaded", "handler file"])
def test_a_large_turned_images_thumbnails_are_upright_and_full_width(
    tmp_path: pathlib.Path, upload: bool
) -> None:
    """EXIF orientation 6: stored 4000x3000, shown 3000x4000, so it is shrunk by the width
    shown (3000 // 960 = 3, not 4000 // 960 = 4, which would leave 750 px for 960)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    gradient = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    gradient.save(buffer, "PNG", exif=exif, compress_level=1)
    data = buffer.getvalue()
    with MediaStore(tmp_path / "media", "s", background=False) as store:
        if upload:
            item = store.add_upload(data, "turned.png", max_bytes=len(data), max_pixels=10**8)
        else:
            path = tmp_path / "turned.png"
            path.write_bytes(data)
            (item,) = store.postprocess([path])
        thumb = read_thumb(store, item.id or "", 960)
    assert thumb.width == 960 and abs(thumb.height - 1280) <= 1  # rounded once shrunk
    # Stored dark at the top; turned a quarter clockwise, the dark side is on the right.
    pixels = np.asarray(thumb.convert("L")).astype(int)
    assert pixels[:, :10].mean() - pixels[:, -10:].mean() > 200


def test_a_failure_to_store_an_upload_is_not_called_a_corrupt_image(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk cannot be caused here, so it is mocked: its error must reach the server's
    log as itself, and the budget must be given back."""
    from flask_gallery.media import uploads

    def full_disk(*args: object) -> t.NoReturn:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(uploads, "store_image", full_disk)
    png = encoded("PNG", "RGB", (100, 100)).getvalue()
    with MediaStore(tmp_path / "media", "s", background=False, max_decode_bytes=MIB) as store:
        with pytest.raises(OSError, match="No space left"):
            store.add_upload(png, "fine.png", max_bytes=len(png), max_pixels=10**8)
        assert (store.decode_budget.in_use, store.decode_budget.granted) == (0, 1)


@pytest.mark.parametrize(
    ("environment", "block"), [({}, 64 * MIB), ({"PILLOW_BLOCK_SIZE": "8m"}, 8 * MIB)]
)
def test_large_images_are_allocated_in_blocks_glibc_unmaps_unless_pillow_is_told_otherwise(
    tmp_path: pathlib.Path, environment: dict[str, str], block: int
) -> None:
    import os
    import subprocess
    import sys

    script = (
        "import sys\nfrom PIL import Image\nfrom flask_gallery.media import MediaStore\n"
        "MediaStore(sys.argv[1], 's').close()\nprint(Image.core.get_block_size())"
    )
    env = {k: v for k, v in os.environ.items() if k != "PILLOW_BLOCK_SIZE"} | environment
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == block
