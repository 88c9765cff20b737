"""Preprocess: what a handler receives for each ``type`` (Gradio's input contract)."""

from __future__ import annotations

import os
import pathlib
import typing as t

import numpy as np
import pytest
from PIL import Image

from flask_gallery.media import MediaStore


@pytest.fixture
def store(tmp_path: pathlib.Path) -> t.Iterator[MediaStore]:
    with MediaStore(tmp_path / "media", "secret", background=False) as store:
        yield store


def test_an_empty_gallery_is_none(store: MediaStore) -> None:
    assert store.preprocess([], "numpy") is None
    assert store.preprocess(None, "pil") is None


def test_numpy_gives_rgb_uint8_with_captions(store: MediaStore) -> None:
    gray = np.full((3, 5), 200, np.uint8)
    items = store.postprocess([(gray, "gray"), np.zeros((2, 2, 3), np.uint8)], format="png")
    value = store.preprocess(items, "numpy")
    assert value is not None
    (first, caption), (second, none) = value
    assert isinstance(first, np.ndarray) and isinstance(second, np.ndarray)
    assert (first.shape, first.dtype, caption, none) == ((3, 5, 3), np.uint8, "gray", None)
    assert first[0, 0].tolist() == [200, 200, 200]


def test_numpy_keeps_alpha(store: MediaStore) -> None:
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 3] = 77
    value = store.preprocess(store.postprocess([rgba], format="png"), "numpy")
    assert value is not None
    array = value[0][0]
    assert isinstance(array, np.ndarray)
    assert array.shape == (2, 2, 4) and array[0, 0, 3] == 77


def test_pil_gives_a_loaded_image_in_the_files_mode(
    store: MediaStore, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "la.png"
    Image.new("LA", (4, 3), (10, 20)).save(path)
    value = store.preprocess(store.postprocess([path]), "pil")
    assert value is not None
    image = value[0][0]
    assert isinstance(image, Image.Image)
    assert (image.mode, image.size, image.getpixel((0, 0))) == ("LA", (4, 3), (10, 20))


def test_filepath_gives_the_full_file_encoded_if_pending(store: MediaStore) -> None:
    items = store.postprocess([np.zeros((4, 4, 3), np.uint8)], format="jpeg")
    value = store.preprocess(items, "filepath")
    assert value is not None
    path = value[0][0]
    assert isinstance(path, str) and path.endswith(".jpg")
    with Image.open(path) as image:
        assert image.format == "JPEG"


@pytest.mark.parametrize("type", ["numpy", "pil", "filepath"])
def test_svg_and_video_are_always_paths(
    store: MediaStore, tmp_path: pathlib.Path, type: t.Any
) -> None:
    svg = tmp_path / "a.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    video = tmp_path / "b.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(16))
    value = store.preprocess(store.postprocess([svg, (video, "clip")]), type)
    assert value is not None
    (svg_path, _), (video_path, caption) = value
    assert isinstance(svg_path, str) and pathlib.Path(svg_path).read_bytes() == svg.read_bytes()
    assert isinstance(video_path, str) and video_path.endswith(".mp4") and caption == "clip"


def test_external_urls_are_passed_as_urls(store: MediaStore) -> None:
    url = "https://example.invalid/a.png"
    assert store.preprocess(store.postprocess([url]), "numpy") == [(url, None)]


def test_unknown_type_lists_the_allowed_ones(store: MediaStore) -> None:
    with pytest.raises(ValueError, match=r"'array'.*numpy, pil, filepath"):
        store.preprocess([], "array")  # type: ignore[arg-type]


def test_items_from_another_store_are_refused(store: MediaStore, tmp_path: pathlib.Path) -> None:
    with MediaStore(tmp_path / "other", "other", background=False) as other:
        items = other.postprocess([np.zeros((2, 2), np.uint8)])
    with pytest.raises(LookupError, match="Unknown media id"):
        store.preprocess(items, "filepath")


def test_filepaths_are_named_after_each_items_own_file(store: MediaStore) -> None:
    """As Gradio hands uploads over: the path ends in the name the user gave (with the
    extension of what the file is), per item, though the bytes are stored once."""
    data = (pathlib.Path(__file__).parent / "files" / "clip.mp4").read_bytes()
    limits = {"max_bytes": 1 << 20, "max_pixels": 1 << 20}
    alice = store.add_upload(data, "alice-result.mp4", **limits)
    bob = store.add_upload(data, "invoice.html", **limits)
    value = store.preprocess([alice, bob], "filepath")
    assert value is not None
    (alice_path, _), (bob_path, _) = value
    assert isinstance(alice_path, str) and isinstance(bob_path, str)
    assert pathlib.Path(alice_path).name == "alice-result.mp4"
    assert pathlib.Path(bob_path).name == "invoice.mp4"
    assert pathlib.Path(alice_path).read_bytes() == pathlib.Path(bob_path).read_bytes()
    assert os.path.samefile(alice_path, bob_path)  # links to one file, no copy
    again = store.preprocess([bob], "numpy")  # a video is always a path, named the same
    assert again is not None and again[0][0] == bob_path
