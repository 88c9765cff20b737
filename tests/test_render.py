"""What ``{{ gallery(...) }}`` draws, parameter by parameter, asserted on parsed HTML."""

from __future__ import annotations

import re
import typing as t
from pathlib import Path

import numpy as np
import pytest
from bs4 import Tag
from PIL import Image

from flask_gallery import FlaskGallery

from .conftest import Renderer


def images(n: int, size: int = 600) -> list[np.ndarray]:
    return [np.full((size, size, 3), i * 20, dtype=np.uint8) for i in range(n)]


def style_vars(el: Tag) -> dict[str, str]:
    return dict(re.findall(r"(--[\w-]+|[\w-]+):\s*([^;]+)", str(el["style"])))


def thumbs(root: Tag) -> list[Tag]:
    return root.select(".fg-grid .fg-thumb")


def test_grid_has_one_labelled_link_per_item(galleries: FlaskGallery, render: Renderer) -> None:
    galleries.gallery("g", images(3))
    root = render.gallery("g")
    links = thumbs(root)
    assert [b["aria-label"] for b in links] == [
        "Thumbnail 1 of 3",
        "Thumbnail 2 of 3",
        "Thumbnail 3 of 3",
    ]
    # A link to the full file (what a browser without JavaScript follows); with the script,
    # a button that selects (htmx posts the select instead of following the link).
    assert all(b.name == "a" and b["href"] == b["data-full"] for b in links)
    assert all(
        b["role"] == "button" and str(b["hx-post"]).endswith(f"/select/{i}")
        for i, b in enumerate(links)
    )


def test_a_thumbnails_name_starts_as_gradios_and_contains_its_caption(
    galleries: FlaskGallery, render: Renderer
) -> None:
    galleries.gallery("g", [(images(1)[0], "A cat"), images(1)[0]])
    labels = [b["aria-label"] for b in thumbs(render.gallery("g"))]
    assert labels == ["Thumbnail 1 of 2: A cat", "Thumbnail 2 of 2"]


def test_thumbnails_are_lazy_sized_and_offer_srcset(
    galleries: FlaskGallery, render: Renderer
) -> None:
    galleries.gallery("g", images(2, size=1024))
    img = thumbs(render.gallery("g"))[0].img
    assert img is not None
    assert img["loading"] == "lazy"
    assert int(img["width"]) > 0 and int(img["height"]) == int(img["width"])  # square source
    candidates = [c.strip().split() for c in str(img["srcset"]).split(",")]
    widths = [int(w.rstrip("w")) for _, w in candidates]
    assert len(widths) >= 2 and widths == sorted(widths) and max(widths) <= 1024
    assert img["src"] == candidates[0][0]
    assert "vw" in str(img["sizes"])
    # The grid never points at the full file; the preview does.
    assert all("/w" in url for url, _ in candidates)


def test_thumbnails_are_never_wider_than_the_image(
    galleries: FlaskGallery, render: Renderer
) -> None:
    galleries.gallery("g", images(1, size=40))
    img = thumbs(render.gallery("g"))[0].img
    assert img is not None
    assert [c.split()[1] for c in str(img["srcset"]).split(",")] == ["40w"]
    assert img["width"] == "40"


def test_svg_is_shown_from_its_own_file(
    galleries: FlaskGallery, render: Renderer, tmp_path: Path
) -> None:
    svg = tmp_path / "logo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    galleries.gallery("g", [svg])
    img = thumbs(render.gallery("g"))[0].img
    assert img is not None and not img.has_attr("srcset")
    assert re.search(r"/media/[^/]+$", str(img["src"]))


def test_captions_are_kept_and_escaped(galleries: FlaskGallery, render: Renderer) -> None:
    arr = images(1)[0]
    galleries.gallery("g", [(arr, "<b>cat</b> & dog"), [arr, None]])
    buttons = thumbs(render.gallery("g"))
    assert buttons[0].select_one(".fg-caption-label").get_text() == "<b>cat</b> & dog"
    assert buttons[0].img["alt"] == "<b>cat</b> & dog"
    assert buttons[0].b is None  # escaped, never markup
    assert buttons[1].select_one(".fg-caption-label") is None


def test_every_value_format_renders(
    galleries: FlaskGallery, render: Renderer, tmp_path: Path
) -> None:
    png = tmp_path / "photo.png"
    Image.new("RGB", (300, 200), "red").save(png)
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    value = [
        np.zeros((50, 60), dtype=np.uint8),
        np.zeros((50, 60, 3), dtype=np.uint8),
        np.zeros((50, 60, 4), dtype=np.uint8),
        np.random.default_rng(0).random((50, 60, 3)),
        Image.new("P", (30, 30)),
        str(png),
        png,
        ("https://example.com/cat.jpg", "remote"),
        (video, "a video"),
    ]
    galleries.gallery("g", value)
    buttons = thumbs(render.gallery("g"))
    assert len(buttons) == len(value)
    assert buttons[7].img["src"] == "https://example.com/cat.jpg"
    assert buttons[8].video is not None and buttons[8].img is None
    assert "fg-video" in buttons[8]["class"]
    # No server path ever reaches the page.
    html = render.html("{{ gallery('g') }}")
    assert str(tmp_path) not in html and "photo.png" not in html


def test_unsupported_item_names_index_and_type(galleries: FlaskGallery, render: Renderer) -> None:
    galleries.gallery("g", [images(1)[0], 42])
    with pytest.raises(TypeError) as info:
        render.gallery("g")
    assert "'g'" in str(info.value) and "1" in str(info.value) and "int" in str(info.value)


def test_label_and_show_label(galleries: FlaskGallery, render: Renderer) -> None:
    galleries.gallery("a", images(1), label="Generated")
    galleries.gallery("b", images(1), label="Hidden", show_label=False)
    galleries.gallery("c", images(1))
    galleries.gallery("d", images(1), label="No box", container=False)
    assert render.gallery("a").select_one("[data-testid=block-label]").get_text() == "Generated"
    assert render.gallery("b").select_one("[data-testid=block-label]") is None
    assert render.gallery("c").select_one("[data-testid=block-label]").get_text() == "Gallery"
    d = render.gallery("d")
    assert d.select_one("[data-testid=block-label]") is None
    assert "fg-container" not in d["class"]
    assert "fg-container" in render.gallery("a")["class"]


def test_scale_and_min_width(galleries: FlaskGallery, render: Renderer) -> None:
    galleries.gallery("g", images(1), scale=2, min_width=300)
    galleries.gallery("h", images(1))
    style = style_vars(render.gallery("g"))
    assert style["flex-grow"] == "2" and style["min-width"] == "min(300px, 100%)"
    style = style_vars(render.gallery("h"))
    assert "flex-grow" not in style and style["min-width"] == "min(160px, 100%)"


def test_visible(galleries: FlaskGallery, render: Renderer) -> None:
    galleries.gallery("off", images(2), visible=False)
    galleries.gallery("hidden", images(2), visible="hidden")
    off = render.gallery("off")
    assert off.has_attr("hidden") and thumbs(off) == []  # a placeholder, nothing loaded
    hidden = render.gallery("hidden")
    assert hidden.has_attr("hidden") and len(thumbs(hidden)) == 2  # in the DOM, not shown
    assert not render.gallery("off", visible=True).has_attr("hidden")


def test_elem_id_and_classes(galleries: FlaskGallery, render: Renderer) -> None:
    galleries.gallery("g", images(1), elem_id="my-gallery", elem_classes=["one", "two"])
    galleries.gallery("h", images(1))
    root = render.gallery("g")
    assert root["id"] == "my-gallery" and {"one", "two"} <= set(root["class"])
    assert render.gallery("h")["id"] == "fg-h"


def test_render_false_renders_nothing_until_overridden(
    galleries: FlaskGallery, render: Renderer
) -> None:
    galleries.gallery("g", images(1), render=False)
    assert render.html("{{ gallery('g') }}").strip() == ""
    assert len(thumbs(render.gallery("g", render=True))) == 1


def test_columns_per_breakpoint_and_fit_columns(galleries: FlaskGallery, render: Renderer) -> None:
    galleries.gallery("g", images(10), columns=(1, 2, 3))
    galleries.gallery("few", images(2), columns=4)
    galleries.gallery("nofit", images(2), columns=4, fit_columns=False)
    grid = style_vars(render.gallery("g").select_one(".fg-grid"))
    assert [grid[f"--fg-cols-{i}"] for i in range(6)] == ["1", "2", "3", "3", "3", "3"]
    few = style_vars(render.gallery("few").select_one(".fg-grid"))
    assert {few[f"--fg-cols-{i}"] for i in range(6)} == {"2"}
    nofit = style_vars(render.gallery("nofit").select_one(".fg-grid"))
    assert {nofit[f"--fg-cols-{i}"] for i in range(6)} == {"4"}
    sizes = str(render.gallery("g").select_one(".fg-thumb img")["sizes"])
    assert sizes.startswith("auto, (max-width: 575px) 100vw, (max-width: 767px) 50vw")
    assert sizes.endswith("33.33vw")


def test_rows(galleries: FlaskGallery, render: Renderer) -> None:
    galleries.gallery("g", images(4), rows=(1, 2))
    galleries.gallery("h", images(4))
    root = render.gallery("g")
    assert "fg-has-rows" in root["class"]
    grid = style_vars(root.select_one(".fg-grid"))
    assert [grid[f"--fg-rows-{i}"] for i in range(6)] == ["1", "2", "2", "2", "2", "2"]
    assert "--fg-rows-0" not in style_vars(render.gallery("h").select_one(".fg-grid"))


def test_height(galleries: FlaskGallery, render: Renderer) -> None:
    galleries.gallery("px", images(1), height=300)
    galleries.gallery("css", images(1), height="40vh")
    galleries.gallery("auto", images(1))
    assert style_vars(render.gallery("px").select_one(".fg-grid-wrap"))["height"] == "300px"
    assert style_vars(render.gallery("css").select_one(".fg-grid-wrap"))["height"] == "40vh"
    wrap = render.gallery("auto").select_one(".fg-grid-wrap")
    assert "fg-fixed-height" in wrap["class"] and not wrap.has_attr("style")


def test_object_fit(galleries: FlaskGallery, render: Renderer) -> None:
    galleries.gallery("g", images(1), object_fit="contain")
    grid = style_vars(render.gallery("g").select_one(".fg-grid"))
    assert grid["--fg-object-fit"] == "contain"


def preview(root: Tag) -> Tag | None:
    return root.select_one("dialog.fg-preview")


def test_selected_index_opens_the_preview_on_that_image(
    galleries: FlaskGallery, render: Renderer
) -> None:
    galleries.gallery("g", [(a, f"cap {i}") for i, a in enumerate(images(3))], selected_index=1)
    root = render.gallery("g")
    dialog = preview(root)
    assert dialog is not None and dialog.has_attr("open")
    big = dialog.select_one("[data-testid=detailed-image]")
    second = thumbs(root)[1]
    assert "fg-selected" in second["class"] and second["aria-pressed"] == "true"
    # The preview shows the full file of item 1, not a thumbnail, and its caption.
    media_id = re.search(r"/media/([^/]+)/w", str(second.img["src"])).group(1)  # type: ignore[union-attr]
    assert str(big["src"]).endswith(f"/media/{media_id}")
    assert dialog.select_one(".fg-preview-caption").get_text() == "cap 1"
    strip = dialog.select(".fg-strip-thumb")
    assert [s["aria-label"] for s in strip] == [
        f"Thumbnail {i + 1} of 3: cap {i}" for i in range(3)
    ]
    assert "fg-selected" in strip[1]["class"]
    for label in ("Close", "Download", "Fullscreen"):
        assert dialog.select_one(f"[aria-label={label}]") is not None


def test_selected_index_without_preview_only_highlights(
    galleries: FlaskGallery, render: Renderer
) -> None:
    galleries.gallery("g", images(3), selected_index=2, allow_preview=False)
    root = render.gallery("g")
    assert preview(root) is None
    assert "fg-selected" in thumbs(root)[2]["class"]


def test_preview_true_starts_on_the_first_image(galleries: FlaskGallery, render: Renderer) -> None:
    galleries.gallery("g", images(3), preview=True)
    galleries.gallery("empty", [], preview=True)
    galleries.gallery("nopreview", images(3), preview=True, allow_preview=False)
    assert "fg-selected" in thumbs(render.gallery("g"))[0]["class"]
    assert preview(render.gallery("g")) is not None
    assert preview(render.gallery("empty")) is None
    assert preview(render.gallery("nopreview")) is None


def test_selected_index_past_the_end_selects_nothing(
    galleries: FlaskGallery, render: Renderer
) -> None:
    galleries.gallery("g", images(2), selected_index=5)
    root = render.gallery("g")
    assert preview(root) is None and not root.select(".fg-selected")


def test_buttons(galleries: FlaskGallery, render: Renderer) -> None:
    galleries.gallery("all", images(2), selected_index=0, show_share_button=True)
    galleries.gallery("none", images(2), selected_index=0, buttons=[])
    galleries.gallery("nodl", images(2), selected_index=0, show_download_button=False)
    galleries.gallery("grid", images(2))
    dialog = preview(render.gallery("all"))
    assert dialog is not None
    share = dialog.select_one("[aria-label=Share]")
    assert share is not None and share.has_attr(
        "hidden"
    )  # shown by JS where navigator.share exists
    download = dialog.select_one("a[aria-label=Download]")
    assert download is not None and download.has_attr("download")
    assert re.search(r"/media/[^/]+/download/1$", str(download["href"]))
    none = preview(render.gallery("none"))
    # Zoom is not one of Gradio's buttons: an image's preview always has it, as Close.
    assert none is not None and [b["aria-label"] for b in none.select(".fg-button")] == [
        "Zoom in",
        "Zoom out",
        "Reset zoom",
        "Close",
    ]
    nodl = preview(render.gallery("nodl"))
    assert nodl is not None and nodl.select_one("[aria-label=Download]") is None
    grid = render.gallery("grid")
    assert grid.select_one(".fg-toolbar [aria-label=Fullscreen]") is not None
    assert grid.select_one(".fg-toolbar [aria-label=Share]") is None


def test_interactive_shows_sources(galleries: FlaskGallery, render: Renderer) -> None:
    galleries.gallery(
        "g",
        None,
        interactive=True,
        sources=["upload", "clipboard", "webcam"],
        file_types=["image", "mp4"],
    )
    galleries.gallery("static", None)
    root = render.gallery("g")
    picker = root.select_one("input[type=file]")
    assert picker is not None and picker.has_attr("multiple")
    assert picker["aria-label"] == "Click to upload or drop files"
    # Empty, it says what Gradio's says; with items, only how to add more.
    assert " ".join(root.select_one(".fg-dropzone").stripped_strings) == (
        "Drop Media Here - or - Click to Upload"
    )
    assert picker["accept"] == "image/*,.mp4"
    assert root.select_one("[aria-label='Paste from clipboard']") is not None
    assert root.select_one("[aria-label=Webcam]") is not None
    static = render.gallery("static")
    assert static.select_one("input[type=file]") is None
    assert static.select_one(".fg-empty") is not None


def test_callable_value_is_evaluated_at_each_render(
    galleries: FlaskGallery, render: Renderer
) -> None:
    calls: list[int] = []

    def value() -> list[t.Any]:
        calls.append(1)
        return images(len(calls))

    galleries.gallery("g", value, every=5)
    assert len(thumbs(render.gallery("g"))) == 1
    assert len(thumbs(render.gallery("g"))) == 2
    assert len(calls) == 2


def test_overrides_win_over_the_declaration(galleries: FlaskGallery, render: Renderer) -> None:
    galleries.gallery("g", images(4), columns=1, label="Declared")
    root = render.gallery("g", columns=3, label="Override")
    assert root.select_one("[data-testid=block-label]").get_text() == "Override"
    assert style_vars(root.select_one(".fg-grid"))["--fg-cols-0"] == "3"
    # the declaration itself is unchanged
    assert render.gallery("g").select_one("[data-testid=block-label]").get_text() == "Declared"
