"""The declarations registry: what a declaration implies is worked out once, and stays right
while listeners are still being added."""

from __future__ import annotations

import json
import typing as t

import numpy as np
import pytest
from flask import Flask

from flask_gallery import FlaskGallery
from flask_gallery.page import draw
from flask_gallery.registry import Registry

from .conftest import Renderer

IMAGES = [np.zeros((8, 8, 3), np.uint8)] * 3


def test_interactive_follows_listeners_added_after_a_draw(
    galleries: FlaskGallery, render: Renderer
) -> None:
    shown = galleries.gallery("shown", IMAGES)
    source = galleries.gallery("source", IMAGES)
    assert not galleries.registry.is_interactive(shown, shown.props)

    @source.on_select(inputs=shown, outputs="#out")
    def read(images: t.Any) -> str:
        return "ok"

    # Taken as an input: the user may now edit it (Gradio's interactive=None).
    assert galleries.registry.is_interactive(shown, shown.props)
    assert render.gallery("shown").select_one(".fg-delete") is not None


def test_what_a_declaration_implies_is_worked_out_once(
    galleries: FlaskGallery, render: Renderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    gallery = galleries.gallery("g", IMAGES)

    @gallery.on_select(inputs=["who", gallery], outputs="#out", js="(who, g) => [who, g]")
    def picked(who: t.Any, images: t.Any) -> str:
        return str(who)

    scans: list[str] = []
    scan = Registry._interactive

    def counted(self: Registry, declared: t.Any) -> bool:
        scans.append(declared.name)
        return scan(self, declared)

    monkeypatch.setattr(Registry, "_interactive", counted)
    for _ in range(3):
        root = render.gallery("g")
    assert scans == ["g"]
    assert root.get("hx-include:inherited") == '[name="who"]'
    assert json.loads(str(root["data-js"]))[0]["js"] == "(who, g) => [who, g]"


def test_a_draw_resolves_the_props_once(
    app: Flask, galleries: FlaskGallery, render: Renderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    galleries.gallery("g", IMAGES, columns=2)
    resolved: list[dict[str, t.Any]] = []
    resolve = draw.resolve_props

    def counted(base: t.Any, given: t.Mapping[str, t.Any], *, where: str) -> t.Any:
        resolved.append(dict(given))
        return resolve(base, given, where=where)

    monkeypatch.setattr(draw, "resolve_props", counted)
    root = render.gallery("g", columns=3, label="Three")
    assert resolved == [{"columns": 3, "label": "Three"}]
    assert root.select_one("[data-testid=block-label]").get_text() == "Three"
    resolved.clear()
    render.gallery("g")  # no overrides: the declaration's own properties, nothing to resolve
    assert resolved == []
