"""The hostile app (:mod:`tests.apps.hostile`) with its JSON API open to anyone, so a suite can
reach what the API parses: its config sets ``GALLERY_API``, and a guard lets every call through.
One more gallery, ``scripted``, has a listener with ``js``, whose result the page sends as JSON
in a form field."""

from __future__ import annotations

import typing as t

import numpy as np
from flask import Flask

from .hostile import build


def create_app() -> Flask:
    app, galleries = build()

    @galleries.api_guard
    def anyone(listener: t.Any) -> bool:
        return True

    scripted = galleries.gallery("scripted", [np.zeros((8, 8, 3), np.uint8)])

    @scripted.on_select(inputs="note", outputs="#out", js="(note) => [note]")
    def noted(note: t.Any) -> str:
        return f"note {str(note)[:20]}"

    return app
