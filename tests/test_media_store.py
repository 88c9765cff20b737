"""The store: content addressing, ids keyed with the secret, lazy encoding, thumbnails."""

from __future__ import annotations

import io
import os
import pathlib
import subprocess
import sys
import threading
import time
import typing as t

import numpy as np
import pytest
from PIL import Image

from flask_gallery.media import MediaItem, MediaStore, staging
from flask_gallery.media.jobs import Once, Pool


@pytest.fixture
def store(tmp_path: pathlib.Path) -> t.Iterator[MediaStore]:
    with MediaStore(tmp_path / "media", "secret", background=False) as store:
        yield store


def photo(width: int = 1024, height: int = 768, channels: int = 3) -> np.ndarray[t.Any, t.Any]:
    y, x = np.mgrid[0:height, 0:width]
    planes = [x * 255 // width, y * 255 // height, (x + y) * 255 // (width + height), x % 256]
    return np.stack(planes[:channels], axis=-1).astype(np.uint8)


def stored_files(root: pathlib.Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file())


def read_variant(store: MediaStore, item: MediaItem, variant: str, width: int | None) -> bytes:
    assert item.id is not None
    stored = store.open(item.id, variant, width)  # type: ignore[arg-type]
    assert stored is not None
    with stored.file:
        return stored.file.read()


def test_root_is_created(tmp_path: pathlib.Path) -> None:
    MediaStore(tmp_path / "a" / "b", "s").close()
    assert (tmp_path / "a" / "b").is_dir()


def test_an_empty_secret_is_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="non-empty secret"):
        MediaStore(tmp_path, "")


def test_thumbnail_widths_must_be_positive_ints(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match=r"positive ints; got \(256, 0\)"):
        MediaStore(tmp_path, "s", thumbnail_widths=iter([256, 0]))


def test_identical_content_is_stored_once(store: MediaStore) -> None:
    first = store.postprocess([photo(64, 48)])
    second = store.postprocess([(photo(64, 48), "another caption")])
    assert first[0].id == second[0].id
    assert len([p for p in store.root.glob("??/*") if p.is_dir()]) == 1


def test_ids_depend_on_the_secret_and_are_not_paths(tmp_path: pathlib.Path) -> None:
    array = photo(16, 16)
    with (
        MediaStore(tmp_path, "one", background=False) as one,
        MediaStore(tmp_path, "two", background=False) as two,
    ):
        (a,) = one.postprocess([array])
        (b,) = two.postprocess([array])
        assert a.id != b.id
        assert one.item(a.id or "").width == 16
        with pytest.raises(LookupError):
            two.item(a.id or "")
    assert str(tmp_path) not in (a.id or "")


def test_a_tampered_mac_is_refused(store: MediaStore) -> None:
    (item,) = store.postprocess([photo(16, 16)])
    assert item.id is not None
    flipped = item.id[:-1] + ("0" if item.id[-1] != "0" else "1")
    assert store.open(flipped) is None
    assert read_variant(store, item, "full", None)


def test_numpy_output_waits_for_no_encoder(store: MediaStore) -> None:
    """postprocess leaves raw pixels; the full file appears on first use."""
    (item,) = store.postprocess([photo(64, 48)])
    assert not any(name.startswith(("full", "thumb")) for name in stored_files(store.root))
    assert item.id is not None
    with Image.open(store.filepath(item.id)) as image:
        assert (image.format, image.size) == ("WEBP", (64, 48))


def test_pending_pixels_survive_a_restart(tmp_path: pathlib.Path) -> None:
    with MediaStore(tmp_path, "s", background=False) as first:
        (item,) = first.postprocess([photo(64, 48)])
    with MediaStore(tmp_path, "s", background=False) as second:
        assert item.id is not None
        data = read_variant(second, item, "thumb", 192)
    assert Image.open(io.BytesIO(data)).size == (64, 48)


def test_pixels_written_after_postprocess_survive_a_restart(tmp_path: pathlib.Path) -> None:
    with MediaStore(tmp_path, "s", background=True) as first:
        (item,) = first.postprocess([photo(64, 48)])
    with MediaStore(tmp_path, "s", background=False) as second:
        data = read_variant(second, item, "thumb", 192)
        assert second.filepath(item.id or "").suffix == ".webp"
    assert Image.open(io.BytesIO(data)).size == (64, 48)


def test_another_process_waits_for_pixels_still_being_written(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Store ``a`` rendered the page; store ``b`` (another worker process) gets the request."""
    monkeypatch.setattr("flask_gallery.media.store.PENDING_PIXELS_WAIT", 0.05)
    gate = threading.Event()
    with (
        MediaStore(tmp_path, "s", background=True, encode_ahead=True, workers=1) as a,
        MediaStore(tmp_path, "s", background=False) as b,
    ):
        for pool in (a._writer, a._background):
            assert pool is not None
            pool.submit(gate.wait)  # the disk is slow: nothing is written yet
        (item,) = a.postprocess([photo(64, 48)])
        assert item.id is not None
        assert b.open(item.id, "thumb", 192) is None  # waited, then gave up
        gate.set()
        a.join()
        assert Image.open(io.BytesIO(read_variant(b, item, "thumb", 192))).size == (64, 48)


def test_thumbnails_are_jpeg_then_webp_never_wider_than_the_original(store: MediaStore) -> None:
    (item,) = store.postprocess([photo(1000, 500)])
    assert item.thumbnail_widths == (192, 384, 640, 960)
    for width in item.thumbnail_widths:
        with Image.open(io.BytesIO(read_variant(store, item, "thumb", width))) as thumb:
            expected = "JPEG" if width < 640 else "WEBP"  # large ones: fewer bytes
            assert (thumb.format, thumb.size) == (expected, (width, width // 2))
    (small,) = store.postprocess([photo(300, 100)])
    assert small.thumbnail_widths == (192, 300)
    big_ask = read_variant(store, small, "thumb", 640)
    assert Image.open(io.BytesIO(big_ask)).size == (300, 100)


def test_thumbnails_with_alpha_are_webp(store: MediaStore) -> None:
    (item,) = store.postprocess([photo(800, 400, channels=4)])
    with Image.open(io.BytesIO(read_variant(store, item, "thumb", 384))) as thumb:
        assert (thumb.format, thumb.mode, thumb.size) == ("WEBP", "RGBA", (384, 192))


def test_thumbnails_are_much_smaller_than_the_full_file(
    store: MediaStore, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (768, 1024, 3), np.uint8)).save(path)
    (item,) = store.postprocess([path])
    thumb = read_variant(store, item, "thumb", 384)
    assert len(thumb) * 20 < path.stat().st_size


def test_file_thumbnails_follow_exif_orientation(store: MediaStore, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "portrait.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90: shown 300 wide, 400 high
    Image.new("RGB", (400, 300), "blue").save(path, exif=exif)
    (item,) = store.postprocess([path])
    assert (item.width, item.height) == (300, 400)
    with Image.open(io.BytesIO(read_variant(store, item, "thumb", 192))) as thumb:
        assert thumb.size == (192, 256)


def test_unknown_widths_and_variants_are_refused(store: MediaStore) -> None:
    (item,) = store.postprocess([photo(500, 100)])
    assert item.id is not None
    assert store.open(item.id, "thumb", 200) is None
    assert store.open(item.id, "full", 384) is None
    assert store.open(item.id, "original") is None  # type: ignore[arg-type]


def test_animated_gifs_show_their_full_file(store: MediaStore, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (20, 20), color) for color in ("red", "green", "blue")]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    (item,) = store.postprocess([path])
    assert item.thumbnail_widths == ()
    assert read_variant(store, item, "thumb", None) == path.read_bytes()


def test_a_file_truncated_after_its_header_is_shown_whole(
    store: MediaStore, tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    buffer = io.BytesIO()
    Image.fromarray(photo(600, 400)).save(buffer, format="PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[:5000])
    (item,) = store.postprocess([path])
    assert item.thumbnail_widths == (192, 384, 600)
    assert read_variant(store, item, "thumb", 384) == path.read_bytes()
    assert "Cannot make a thumbnail" in caplog.text


def test_pixels_are_dropped_once_every_derived_file_exists(store: MediaStore) -> None:
    (item,) = store.postprocess([photo(500, 100)])
    assert "pixels.npy" in stored_files(store.root)
    for width in item.thumbnail_widths:
        read_variant(store, item, "thumb", width)
    assert "pixels.npy" in stored_files(store.root)
    read_variant(store, item, "full", None)
    assert "pixels.npy" not in stored_files(store.root)
    assert item.id is not None
    os.unlink(store.root / item.id[:2] / item.id.split("-")[0] / "thumb-192.jpg")
    assert Image.open(io.BytesIO(read_variant(store, item, "thumb", 192))).size == (192, 38)


def test_a_file_seen_before_is_not_read_again(store: MediaStore, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "a.png"
    Image.new("RGB", (8, 8), "red").save(path)
    (first,) = store.postprocess([path])
    info = path.stat()
    # Same size and mtime but other bytes: only a re-read could notice.
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    (second,) = store.postprocess([path])
    assert second.id == first.id
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1))
    (third,) = store.postprocess([path])
    assert third.id != first.id


def test_background_makes_grid_thumbnails_and_full_files(tmp_path: pathlib.Path) -> None:
    with MediaStore(tmp_path, "s", background=True, encode_ahead=True) as store:
        items = store.postprocess([photo(800, 600), photo(400, 300, channels=4)])
        store.join()
    names = stored_files(tmp_path)
    assert names.count("full.webp") == 2
    assert {"thumb-384.jpg", "thumb-640.webp", "thumb-384.webp", "thumb-400.webp"} <= set(names)
    assert "pixels.npy" not in names
    assert [item.width for item in items] == [800, 400]


def test_by_default_files_are_made_when_first_asked_for(tmp_path: pathlib.Path) -> None:
    """Only the raw pixels are written ahead; a thumbnail or full file nobody asks for is
    never encoded, and the pixels are not held in memory once written."""
    with MediaStore(tmp_path, "s") as store:
        (item,) = store.postprocess([photo(800, 600)])
        store.join()
        assert stored_files(tmp_path) == ["meta.json", "pixels.npy"]
        assert (store._fresh, store._fresh_bytes) == ({}, 0)
        data = read_variant(store, item, "thumb", 384)
        assert Image.open(io.BytesIO(data)).size == (384, 288)
        assert sorted(stored_files(tmp_path)) == ["meta.json", "pixels.npy", "thumb-384.jpg"]


def test_closing_drops_queued_work() -> None:
    pool = Pool(workers=1, name="flask_gallery-test")
    gate = threading.Event()
    ran: list[str] = []
    busy = pool.submit(gate.wait)
    queued = pool.submit(lambda: ran.append("queued"))
    assert busy is not None and queued is not None
    dropped = threading.Event()
    queued.add_done_callback(lambda future: dropped.set())
    closer = threading.Thread(target=pool.close)
    closer.start()
    dropped.wait()
    gate.set()
    closer.join()
    assert queued.cancelled() and ran == []
    assert pool.submit(lambda: ran.append("late")) is None


def test_a_closed_store_makes_files_on_request(tmp_path: pathlib.Path) -> None:
    store = MediaStore(tmp_path, "s", background=True)
    store.close()
    (item,) = store.postprocess([photo(800, 600)])
    assert "pixels.npy" in stored_files(tmp_path)  # written at once: no writer any more
    assert Image.open(io.BytesIO(read_variant(store, item, "thumb", 640))).size == (640, 480)
    with Image.open(store.filepath(item.id or "")) as full:
        assert full.format == "WEBP"


def test_memory_for_pending_pixels_is_returned(tmp_path: pathlib.Path) -> None:
    array = photo(64, 48)
    with MediaStore(tmp_path, "s", background=True) as store:
        first, again = store.postprocess([array, array])
        assert first.id == again.id
        store.join()
        assert (store._fresh, store._fresh_bytes) == ({}, 0)


def test_a_files_thumbnails_cost_at_most_two_decodes(tmp_path: pathlib.Path) -> None:
    """One for the grid width (painted first), one for all the other widths."""
    path = tmp_path / "big.png"
    Image.fromarray(photo(1000, 500)).save(path)
    with MediaStore(tmp_path / "media", "s", background=True, encode_ahead=True) as store:
        store.postprocess([path])
        store.join()
        # Two when the grid width is made first; one when the job for the other widths (which
        # lists every width) wins the race between the pool's workers and makes them all.
        assert 1 <= store.decode_budget.granted <= 2
    assert {"thumb-192.jpg", "thumb-384.jpg", "thumb-640.webp", "thumb-960.webp"} <= set(
        stored_files(tmp_path)
    )


def test_concurrent_requests_make_a_file_once() -> None:
    once = Once()
    made: list[int] = []
    started, release = threading.Event(), threading.Event()

    def make() -> None:
        started.set()
        release.wait()
        made.append(1)

    first = threading.Thread(target=once.run, args=("k", lambda: bool(made), make))
    first.start()
    started.wait()
    waiters = [
        threading.Thread(target=once.run, args=("k", lambda: bool(made), make)) for _ in range(3)
    ]
    for thread in waiters:
        thread.start()
    release.set()
    for thread in [first, *waiters]:
        thread.join()
    assert made == [1]


def test_a_failed_make_is_retried_by_the_next_caller() -> None:
    once = Once()
    done: list[bool] = []

    def fail() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        once.run("k", lambda: bool(done), fail)
    once.run("k", lambda: bool(done), lambda: done.append(True))
    assert done == [True]


def test_no_half_written_files_are_left(store: MediaStore, monkeypatch: pytest.MonkeyPatch) -> None:
    (item,) = store.postprocess([photo(64, 48)])

    def broken(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("encoder crashed")

    monkeypatch.setattr("flask_gallery.media.store.encode_pixels", broken)
    with pytest.raises(RuntimeError):
        store.filepath(item.id or "")
    assert not [name for name in stored_files(store.root) if name.startswith((".tmp", "full"))]


# Crash safety: data before records, records without data absent, orphans removed.


def _replaced_names(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names files are renamed to, in order (what another process sees appear)."""
    from flask_gallery.media import disk

    names: list[str] = []
    replace = os.replace

    def spy(source: t.Any, target: t.Any) -> None:
        replace(source, target)
        names.append(pathlib.Path(target).name)

    monkeypatch.setattr(disk.os, "replace", spy)
    return names


def test_the_writer_puts_pixels_on_disk_before_the_record(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = _replaced_names(monkeypatch)
    gate = threading.Event()
    with MediaStore(tmp_path, "s") as store:
        store._writer.submit(gate.wait)  # a busy disk: nothing written yet
        (item,) = store.postprocess([photo(64, 48)])
        (marker,) = (p.name for p in tmp_path.rglob("*") if p.is_file())
        assert marker.endswith("-pending")
        assert read_variant(store, item, "thumb", 192)  # served from memory meanwhile
        gate.set()
        store.join()
    assert names[-2:] == ["pixels.npy", "meta.json"]
    assert stored_files(tmp_path) == ["meta.json", "pixels.npy", "thumb-64.jpg"]


def test_an_upload_is_on_disk_flushed_data_first_before_it_is_returned(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fsync of the file, its rename, fsync of its folder; then the same for the record."""
    from flask_gallery.media import disk

    events: list[str] = []
    replace, fsync = os.replace, os.fsync
    monkeypatch.setattr(
        disk.os,
        "replace",
        lambda a, b: (replace(a, b), events.append("rename " + pathlib.Path(b).name))[0],
    )
    monkeypatch.setattr(
        disk.os, "fsync", lambda fd: (fsync(fd), events.append(f"fsync {_fd_name(fd)}"))[0]
    )
    buffer = io.BytesIO()
    Image.fromarray(photo(40, 30)).save(buffer, "PNG")
    with MediaStore(tmp_path, "s") as store:
        store.add_bytes(buffer.getvalue(), "upload.png", durable=True)
        key_folder = events.index("rename full.png")
        assert events[key_folder - 1] == "fsync file"  # the temp file, flushed before the rename
        assert events[key_folder + 1 :] == [
            "fsync directory",
            "fsync directory",  # the key's folder is new: its parent got an entry
            "fsync directory",  # ... and so did the store's root (a new prefix folder)
            "fsync meta.json",
            "rename meta.json",
            "fsync directory",
        ]


def _fd_name(fd: int) -> str:
    path = pathlib.Path(os.readlink(f"/proc/self/fd/{fd}"))
    if path.is_dir():
        return "directory"
    return "file" if path.name.endswith("-file") else path.name.rsplit("-", 1)[-1]


def test_a_rotated_upload_is_written_before_it_is_returned(tmp_path: pathlib.Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "blue").save(buffer, "JPEG", exif=exif)
    gate = threading.Event()
    with MediaStore(tmp_path, "s") as store:
        store._writer.submit(gate.wait)  # the writer thread cannot help
        item = store.add_upload(buffer.getvalue(), "turned.jpg", max_bytes=10**6, max_pixels=10**6)
        assert (item.width, item.height) == (30, 40)
        assert stored_files(tmp_path) == ["meta.json", "pixels.npy"]
        gate.set()


def test_a_record_whose_data_is_missing_is_absent_at_once_and_rebuilt(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the old writer left when killed: a record, and half the pixels in a temp file."""
    array = photo(64, 48)
    with MediaStore(tmp_path, "s") as store:
        (item,) = store.postprocess([array], format="png")
    assert item.id is not None
    folder = tmp_path / item.id[:2] / item.id.split("-")[0]
    data = (folder / "pixels.npy").read_bytes()
    (folder / ".tmp-fv_wepde-pixels.npy").write_bytes(data[: len(data) // 2])
    (folder / "pixels.npy").unlink()

    monkeypatch.setattr("flask_gallery.media.store.time.sleep", _no_sleep)
    with MediaStore(tmp_path, "s", background=False) as restarted:
        assert restarted.open(item.id) is None
        assert restarted.open(item.id, "thumb", 192) is None
        with pytest.raises(LookupError):
            restarted.item(item.id)
        (again,) = restarted.postprocess([array], format="png")
        assert again.id == item.id
        assert np.array_equal(np.asarray(Image.open(restarted.filepath(item.id))), array)


def test_a_deleted_file_of_a_cached_record_is_stored_again(store: MediaStore) -> None:
    """This process still remembers the record; adding the content again checks the disk."""
    buffer = io.BytesIO()
    Image.fromarray(photo(40, 30)).save(buffer, "PNG")
    first = store.add_bytes(buffer.getvalue(), "a.png")
    assert first.id is not None
    full = store.filepath(first.id)
    full.unlink()
    assert store.open(first.id) is None
    second = store.add_bytes(buffer.getvalue(), "a.png", durable=True)
    assert second.id == first.id
    assert read_variant(store, second, "full", None) == buffer.getvalue()


def test_a_failed_write_leaves_no_record(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from numpy.lib import format as npy

    array = photo(32, 32)
    with MediaStore(tmp_path, "s") as store:
        with monkeypatch.context() as patch:
            patch.setattr(npy, "write_array", _disk_full)
            (item,) = store.postprocess([array])
            store.join()
        assert stored_files(tmp_path) == []
        assert item.id is not None and store.open(item.id) is None
        (again,) = store.postprocess([array])
        store.join()
        assert again.id == item.id
        assert stored_files(tmp_path) == ["meta.json", "pixels.npy"]
    assert "No space left on device" in caplog.text  # logged by the writer thread


def _disk_full(*args: object, **kwargs: object) -> None:
    raise OSError(28, "No space left on device")


def _temp(
    folder: pathlib.Path,
    owner: staging.Owner,
    label: str,
    age: float = 0,
    name: str = "pixels.npy",
) -> pathlib.Path:
    path = folder / staging.temp_name(label, name, owner)
    path.write_bytes(b"half")
    if age:
        os.utime(path, (time.time() - age, time.time() - age))
    return path


def test_orphan_temp_files_are_removed_at_start_and_live_writers_are_left_alone(
    tmp_path: pathlib.Path,
) -> None:
    folder = tmp_path / ".staging"
    folder.mkdir()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    me = staging.me()
    elsewhere = staging.Owner("0" * 12, os.getpid(), 1)
    dead = _temp(folder, me._replace(pid=child.pid), "a" * 32)
    reused_pid = _temp(folder, me._replace(start=me.start + 1), "b" * 32)
    live = _temp(folder, me, "c" * 32)
    other_host = _temp(folder, elsewhere, "d" * 32, age=60)
    other_host_old = _temp(folder, elsewhere, "e" * 32, age=2 * staging.ORPHAN_AGE)
    legacy = folder / "tmpab12cd"
    legacy.write_bytes(b"old")
    fresh_legacy = folder / "tmpef34gh"
    fresh_legacy.write_bytes(b"new")
    os.utime(legacy, (0, 0))
    MediaStore(tmp_path, "s").close()
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        p.name for p in (live, other_host, fresh_legacy)
    )
    assert not {dead, reused_pid, other_host_old, legacy} & set(folder.iterdir())


def test_a_dead_writers_marker_is_not_waited_for(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process died before writing a key a page shows: 404 at once."""
    with MediaStore(tmp_path, "s", background=False) as store:
        (item,) = store.postprocess([photo(8, 8)])
        assert item.id is not None
        key = item.id.split("-")[0]
        for name in ("meta.json", "pixels.npy"):
            (tmp_path / key[:2] / key / name).unlink()
        store.forget(key)
        child = subprocess.Popen([sys.executable, "-c", "pass"])
        child.wait()
        _temp(tmp_path / ".staging", staging.me()._replace(pid=child.pid), key, name="pending")
        monkeypatch.setattr("flask_gallery.media.store.time.sleep", _no_sleep)
        assert store.open(item.id, "thumb", 192) is None


def _no_sleep(seconds: float) -> None:
    raise AssertionError("waited for a key nobody is writing")
