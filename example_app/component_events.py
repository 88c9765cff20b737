"""Gradio's demo/gallery_component_events: an input gallery whose upload and change handlers
count their calls and copy the value to an output gallery; the output gallery reports preview
open/close and the URL of the selected item."""

from __future__ import annotations

import collections
import typing as t

from flask import Blueprint, render_template
from markupsafe import Markup

from flask_gallery import EventData, Request, SelectData

from .extensions import galleries
from .pictures import photo

bp = Blueprint("component_events", __name__)

gal = galleries.gallery(
    "input_gallery",
    None,
    columns=4,
    interactive=True,
    sources=["upload", "webcam", "clipboard"],
    label="Input Gallery",
)
output_gal = galleries.gallery(
    "output_gallery", None, columns=4, interactive=True, label="Output Gallery"
)

#: Calls per page, as the demo's Number components count them.
counts: collections.Counter[tuple[str | None, str]] = collections.Counter()


def _bump(request: Request, what: str) -> str:
    counts[(request.page, what)] += 1
    return str(counts[(request.page, what)])


@gal.on_upload(inputs=gal, outputs=[output_gal, "#num-upload"], trigger_mode="multiple")
def on_upload(value: t.Any, evt: EventData, request: Request) -> tuple[t.Any, str]:
    return value, _bump(request, "upload")


@gal.on_change(inputs=gal, outputs="#num-change", trigger_mode="multiple")
def on_change(value: t.Any, request: Request) -> str:
    return _bump(request, "change")


@output_gal.on_preview_open(outputs="#preview-open")
def opened() -> str:
    return "1"


@output_gal.on_preview_close(outputs="#preview-open")
def closed() -> str:
    return "0"


@output_gal.on_select(outputs="#select-data")
def selected(evt: SelectData) -> str:
    media = evt.value.get("image") or evt.value.get("video")
    return media["url"]


@bp.get("/events")
def page() -> str:
    return render_template("component_events.html")


@bp.post("/events/fill")
def fill() -> Markup:
    """The demo's button: put three pictures into the output gallery."""
    return galleries.page().update(
        "output_gallery", value=[photo(seed, 256) for seed in (11, 12, 13)]
    )
