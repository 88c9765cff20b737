"""Postprocess: every value format Gradio accepts becomes an item, with its caption."""

from __future__ import annotations

import pathlib
import threading
import typing as t

import numpy as np
import pytest
from PIL import Image

from flask_gallery.media import MediaItem, MediaStore
from flask_gallery.media.item import MEDIA_FORMATS


@pytest.fixture
def store(tmp_path: pathlib.Path) -> t.Iterator[MediaStore]:
    with MediaStore(tmp_path / "media", "secret", background=False) as store:
        yield store


def full_pixels(store: MediaStore, item: MediaItem) -> np.ndarray[t.Any, t.Any]:
    assert item.id is not None
    with Image.open(store.filepath(item.id)) as image:
        return np.asarray(image.convert("RGBA"))


def test_none_is_an_empty_gallery(store: MediaStore) -> None:
    assert store.postprocess(None) == []
    assert store.postprocess([]) == []


def test_a_bare_string_value_must_be_a_list(store: MediaStore) -> None:
    with pytest.raises(ValueError, match=r"must be a list.*\[image\]"):
        store.postprocess("cat.png")


@pytest.mark.parametrize(
    ("array", "size"),
    [
        (np.zeros((6, 8), np.uint8), (8, 6)),
        (np.zeros((6, 8, 1), np.uint8), (8, 6)),
        (np.zeros((6, 8, 2), np.uint8), (8, 6)),
        (np.zeros((6, 8, 3), np.uint8), (8, 6)),
        (np.zeros((6, 8, 4), np.uint8), (8, 6)),
        (np.zeros((6, 8, 3), np.float64), (8, 6)),
        (np.zeros((6, 8), bool), (8, 6)),
    ],
)
def test_numpy_arrays_become_images_with_their_size(
    store: MediaStore, array: np.ndarray[t.Any, t.Any], size: tuple[int, int]
) -> None:
    (item,) = store.postprocess([array])
    assert (item.kind, item.width, item.height) == ("image", *size)
    assert item.mime_type == "image/webp"
    assert item.id is not None and "/" not in item.id


def test_float_arrays_are_scaled_from_0_1_and_clipped(store: MediaStore) -> None:
    array = np.array([[[0.0, 0.5, 1.0], [-3.0, 7.0, np.nan]]], np.float32)
    (item,) = store.postprocess([array], format="png")
    assert full_pixels(store, item)[0, :, :3].tolist() == [[0, 128, 255], [0, 255, 0]]


def test_uint16_arrays_are_16_bit_images(store: MediaStore) -> None:
    array = np.array([[0, 32768, 65535]], np.uint16)
    (item,) = store.postprocess([array], format="png")
    assert full_pixels(store, item)[0, :, 0].tolist() == [0, 128, 255]


def test_big_endian_arrays_are_read_by_value(store: MediaStore) -> None:
    array = np.array([[0, 32768, 65535]], dtype=">u2")
    (item,) = store.postprocess([array], format="png")
    assert full_pixels(store, item)[0, :, 0].tolist() == [0, 128, 255]


def test_strided_and_flipped_views_are_stored_as_shown(store: MediaStore) -> None:
    base = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    view = np.flip(base, axis=1)[::2]
    (item,) = store.postprocess([view], format="png")
    assert full_pixels(store, item)[..., :3].tolist() == view.tolist()


def test_int64_arrays_in_0_255_are_taken_as_is(store: MediaStore) -> None:
    array = np.array([[0, 100, 255]], np.int64)
    (item,) = store.postprocess([array], format="png")
    assert full_pixels(store, item)[0, :, 0].tolist() == [0, 100, 255]


def test_integer_arrays_outside_0_255_are_refused_with_index(store: MediaStore) -> None:
    good = np.zeros((2, 2), np.uint8)
    with pytest.raises(ValueError, match=r"item 1: .*int32.*-5\.\.300"):
        store.postprocess([good, np.array([[-5, 300]], np.int32)])


def test_badly_shaped_arrays_are_refused_with_index(store: MediaStore) -> None:
    with pytest.raises(ValueError, match=r"item 0: .*got shape \(2, 2, 5\)"):
        store.postprocess([np.zeros((2, 2, 5), np.uint8)])


PIL_MODES = ["1", "L", "LA", "P", "PA", "RGB", "RGBA", "I;16", "I", "F", "CMYK", "YCbCr", "LAB"]


@pytest.mark.parametrize("mode", PIL_MODES)
def test_pil_images_of_any_mode_are_shown(store: MediaStore, mode: str) -> None:
    image = Image.new(mode, (7, 5))
    (item,) = store.postprocess([(image, f"a {mode} image")])
    assert (item.width, item.height, item.caption) == (7, 5, f"a {mode} image")
    assert full_pixels(store, item).shape == (5, 7, 4)


def test_palette_transparency_is_kept(store: MediaStore) -> None:
    image = Image.new("P", (2, 1))
    image.putpalette([255, 0, 0, 0, 0, 255])
    image.putpixel((1, 0), 1)
    image.info["transparency"] = 0
    (item,) = store.postprocess([image], format="png")
    assert full_pixels(store, item)[0].tolist() == [[255, 0, 0, 0], [0, 0, 255, 255]]


def test_same_picture_as_array_and_pil_image_is_stored_once(store: MediaStore) -> None:
    array = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    first, second = store.postprocess([array, Image.fromarray(array)])
    assert first.id == second.id


def test_format_changes_the_stored_file(store: MediaStore) -> None:
    array = np.zeros((4, 4, 3), np.uint8)
    (png,) = store.postprocess([array], format="png")
    (jpeg,) = store.postprocess([array], format="jpg")
    assert (png.mime_type, jpeg.mime_type) == ("image/png", "image/jpeg")
    assert png.id != jpeg.id
    assert png.id is not None and store.filepath(png.id).suffix == ".png"


def test_unknown_format_lists_the_allowed_ones(store: MediaStore) -> None:
    with pytest.raises(ValueError, match=r"'heic'.*webp, png, jpeg"):
        store.postprocess([np.zeros((2, 2), np.uint8)], format="heic")


def test_str_and_path_files_keep_name_and_caption(
    store: MediaStore, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "cat.png"
    Image.new("RGB", (30, 20), "red").save(path)
    by_str, by_path = store.postprocess([(str(path), "as str"), [path, "as path"]])
    assert (by_str.orig_name, by_str.caption, by_str.mime_type) == (
        "cat.png",
        "as str",
        "image/png",
    )
    assert (by_path.orig_name, by_path.caption) == ("cat.png", "as path")
    assert (by_str.width, by_str.height) == (30, 20)
    assert by_str.id == by_path.id


def test_video_files_are_videos_by_their_extension(
    store: MediaStore, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(32))
    (item,) = store.postprocess([(path, "clip")])
    assert (item.kind, item.mime_type, item.thumbnail_widths) == ("video", "video/mp4", ())


def test_svg_files_are_marked_and_get_no_raster_thumbnail(
    store: MediaStore, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "logo.svg"
    path.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>')
    (item,) = store.postprocess([path])
    assert item.is_svg and item.kind == "image" and item.thumbnail_widths == ()
    assert item.mime_type == "image/svg+xml"


def test_urls_are_shown_by_url_and_never_fetched(store: MediaStore) -> None:
    url = "https://example.invalid/pics/b.jpg?size=large"
    video = "HTTP://example.invalid/v/clip.webm"
    image, clip = store.postprocess([(url, "remote"), video])
    assert image == MediaItem(
        id=None,
        kind="image",
        caption="remote",
        mime_type="image/jpeg",
        orig_name="b.jpg",
        url=url,
    )
    assert (clip.kind, clip.url) == ("video", video)


def test_missing_files_name_the_path_and_index(store: MediaStore, tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "nope.png"
    with pytest.raises(FileNotFoundError, match=r"item 1: the file '.*nope\.png' does not exist"):
        store.postprocess([np.zeros((2, 2), np.uint8), str(missing)])


@pytest.mark.parametrize("bad", [42, b"bytes", {"image": "x.png"}, object()])
def test_other_items_are_a_type_error_naming_index_type_and_accepted(
    store: MediaStore, bad: object
) -> None:
    with pytest.raises(TypeError, match=rf"item 0 is of type .*{type(bad).__name__}.*accepted: "):
        store.postprocess([bad])


def test_captioned_items_must_have_exactly_two_elements(store: MediaStore) -> None:
    with pytest.raises(TypeError, match=r"item 0 is a tuple of 3 elements"):
        store.postprocess([(np.zeros((2, 2), np.uint8), "a", "b")])


def test_captions_must_be_strings(store: MediaStore) -> None:
    with pytest.raises(TypeError, match=r"item 0 has a caption of type int"):
        store.postprocess([(np.zeros((2, 2), np.uint8), 3)])


def test_items_round_trip_through_json_safe_dicts(store: MediaStore) -> None:
    (item,) = store.postprocess([(np.zeros((300, 500, 3), np.uint8), "x")])
    data = item.to_dict()
    assert data["thumbnail_widths"] == [192, 384, 500]
    assert MediaItem.from_dict(data) == item
    with pytest.raises(ValueError, match="Unknown MediaItem keys"):
        MediaItem.from_dict({**data, "path": "/etc/passwd"})


@pytest.mark.parametrize("format", MEDIA_FORMATS)
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_every_format_stores_every_channel_count(
    store: MediaStore, format: str, channels: int
) -> None:
    array = np.full((5, 6, channels), 128, np.uint8)
    array[..., -1] = 0 if channels in (2, 4) else 128  # fully transparent where alpha exists
    (item,) = store.postprocess([array], format=format)
    assert item.id is not None
    with Image.open(store.filepath(item.id)) as image:
        assert image.size == (6, 5)
        rgba = np.asarray(image.convert("RGBA"))
    if format in ("jpeg", "jpg") and channels in (2, 4):
        assert rgba[0, 0, :3].min() > 240  # alpha flattened onto white, not black


def test_only_a_large_value_is_hashed_in_parallel(store: MediaStore) -> None:
    """Threads pay off for megapixels, not for thumbnails' worth of pixels: a small value is
    converted in the calling thread and starts none."""

    before = set(threading.enumerate())  # other tests' stores may still have theirs

    def converters() -> list[str]:
        return [th.name for th in set(threading.enumerate()) - before if "convert" in th.name]

    small = [np.full((64, 64, 3), i, np.uint8) for i in range(3)]
    assert [item.width for item in store.postprocess(small)] == [64, 64, 64]
    assert converters() == []
    large = [np.full((1024, 1024, 3), i, np.uint8) for i in range(3)]  # 9 MiB to hash
    assert [item.width for item in store.postprocess(large)] == [1024, 1024, 1024]
    assert converters() != []
