"""Every display parameter: Gradio's default, accepted values, and the error for a bad one
(raised at declaration, naming the parameter and what is allowed)."""

from __future__ import annotations

import typing as t

import pytest

from flask_gallery import FlaskGallery, Gallery
from flask_gallery.props import GalleryProps


def declare(**props: t.Any) -> GalleryProps:
    return Gallery("g", **props).props


def test_defaults_match_gradio() -> None:
    p = declare()
    assert p.label is None and p.show_label is True and p.container is True
    assert p.scale is None and p.min_width == 160 and p.visible is True
    assert p.elem_id is None and p.elem_classes == () and p.render is True
    assert p.columns == (2,) * 6 and p.rows is None and p.height is None
    assert p.allow_preview is True and p.preview is False and p.selected_index is None
    assert p.object_fit == "cover"  # Gradio's frontend default when None
    assert p.interactive is None and p.type == "filepath" and p.format == "webp"
    assert p.file_types is None and p.fit_columns is True and p.sources == ("upload",)
    # Share is Spaces-only in Gradio; here it must be asked for.
    assert p.buttons == ("download", "download_all", "fullscreen")
    assert p.every is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (3, (3,) * 6),
        ((1, 2, 3), (1, 2, 3, 3, 3, 3)),
        ([1, 2, 3, 4, 5, 6], (1, 2, 3, 4, 5, 6)),
        (None, (2,) * 6),
    ],
)
def test_columns_fill_six_breakpoints_with_the_last(
    given: t.Any, expected: tuple[int, ...]
) -> None:
    assert declare(columns=given).columns == expected


def test_rows_like_columns() -> None:
    assert declare(rows=(2, 3)).rows == (2, 3, 3, 3, 3, 3)
    assert declare(rows=4).rows == (4,) * 6


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"type": "jpg"}, ValueError, ["type='jpg'", "'filepath'", "'numpy'", "'pil'"]),
        ({"columns": (0,)}, ValueError, ["columns=(0,)", "at least 1"]),
        ({"columns": (1, 2, 3, 4, 5, 6, 7)}, TypeError, ["columns=", "1 to 6"]),
        ({"columns": "3"}, TypeError, ["columns='3'"]),
        ({"rows": (1, -1)}, ValueError, ["rows=(1, -1)"]),
        (
            {"object_fit": "stretch"},
            ValueError,
            ["object_fit='stretch'", "'contain'", "'scale-down'"],
        ),
        ({"format": "heic"}, ValueError, ["format='heic'", "'webp'"]),
        ({"height": "10px; background: red"}, ValueError, ["height=", "CSS length"]),
        ({"height": -5}, ValueError, ["height=-5"]),
        ({"height": [1]}, TypeError, ["height=[1]"]),
        ({"visible": "yes"}, ValueError, ["visible='yes'", "'hidden'"]),
        ({"visible": 1}, ValueError, ["visible=1"]),
        ({"buttons": ["download", "print"]}, ValueError, ["'print'", "'download_all'"]),
        ({"buttons": "download"}, TypeError, ["buttons='download'"]),
        (
            {"sources": ["upload", "microphone"]},
            ValueError,
            ["'microphone'", "'clipboard'", "'webcam'"],
        ),
        ({"selected_index": -1}, ValueError, ["selected_index=-1"]),
        ({"selected_index": 1.5}, TypeError, ["selected_index=1.5"]),
        ({"min_width": "wide"}, TypeError, ["min_width='wide'"]),
        ({"scale": -1}, ValueError, ["scale=-1"]),
        ({"elem_id": "1 bad id"}, ValueError, ["elem_id='1 bad id'"]),
        ({"elem_classes": ["ok", "not ok"]}, ValueError, ["elem_classes="]),
        ({"show_label": "no"}, TypeError, ["show_label='no'"]),
        ({"allow_preview": None}, TypeError, ["allow_preview=None"]),
        ({"every": 0}, ValueError, ["every=0"]),
        ({"file_types": "image"}, TypeError, ["file_types='image'"]),
        ({"label": 3}, TypeError, ["label=3"]),
        ({"colums": 3}, TypeError, ["'colums'", "'columns'"]),
    ],
)
def test_bad_configuration_fails_at_declaration(
    kwargs: dict[str, t.Any], error: type[Exception], words: list[str]
) -> None:
    with pytest.raises(error) as info:
        FlaskGallery().gallery("g", **kwargs)
    for word in words:
        assert word in str(info.value)


def test_height_number_is_pixels_and_string_is_css() -> None:
    assert declare(height=300).height == "300px"
    assert declare(height=250.5).height == "250.5px"
    assert declare(height="50vh").height == "50vh"
    assert declare(height="calc(100vh - 10rem)").height == "calc(100vh - 10rem)"
    assert declare(height="auto").height is None


def test_gradio4_and_gradio6_button_spellings_agree() -> None:
    assert declare(show_download_button=False).buttons == ("download_all", "fullscreen")
    assert declare(show_share_button=True).buttons[0] == "share"
    assert declare(buttons=["download"]).buttons == ("download",)
    assert declare(buttons=[]).buttons == ()
    assert declare(buttons=["share", "download"], show_share_button=True).buttons == (
        "share",
        "download",
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"buttons": ["download"], "show_download_button": False},
        {"buttons": ["download"], "show_share_button": True},
    ],
)
def test_conflicting_button_spellings_raise(kwargs: dict[str, t.Any]) -> None:
    with pytest.raises(ValueError, match="conflicts with buttons="):
        declare(**kwargs)


def test_other_accepted_values() -> None:
    assert declare(elem_classes="a b").elem_classes == ("a", "b")
    assert declare(elem_classes=["x"]).elem_classes == ("x",)
    assert declare(visible="hidden").visible == "hidden"
    assert declare(format="PNG").format == "png"
    assert declare(sources=["clipboard", "upload"]).sources == ("clipboard", "upload")
    assert declare(file_types=["image", ".mp4"]).file_types == ("image", ".mp4")
    assert declare(show_label=None).show_label is True
    assert declare(every=2).every == 2.0
    assert declare(interactive=True).interactive is True
    assert declare(object_fit=None).object_fit == "cover"


@pytest.mark.parametrize("name", ["", "has space", "../x", "a/b", "x" * 65, 3])
def test_gallery_names_must_be_url_safe(name: t.Any) -> None:
    with pytest.raises(ValueError, match="Gallery name"):
        Gallery(name)


@pytest.mark.parametrize("value", ["a.png", b"x", 3, {"a": 1}])
def test_value_must_be_list_callable_or_none(value: t.Any) -> None:
    with pytest.raises(TypeError, match="not a gallery value"):
        Gallery("g", value)
