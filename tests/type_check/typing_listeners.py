"""Type-checked only: the listener decorators keep the decorated function's type."""

from __future__ import annotations

import typing as t

from typing_extensions import assert_type

from flask_gallery.events import GalleryEvents, Listener, SelectData
from flask_gallery.progress import Progress


class Gallery(GalleryEvents):
    def __init__(self, name: str) -> None:
        self.name = name


gallery = Gallery("typed")


@gallery.on_select
def bare(evt: SelectData) -> str:
    return str(evt.index)


@gallery.on_change(outputs="#out", trigger_mode="multiple", concurrency_limit=None, timeout=30)
def called(value: list[tuple[str, str | None]], progress: Progress = Progress()) -> int:
    return len(value)


@gallery.upload(inputs=[gallery], outputs=[gallery, "#count"])
def gradio_decorator(files: list[str]) -> tuple[list[str], str]:
    return files, str(len(files))


async def streamed(evt: SelectData) -> t.AsyncIterator[str]:
    yield "a"


# Calls keep their exact result types (a decorator returning Any would fail these)...
assert_type(bare(SelectData(gallery, {"index": 0})), str)
assert_type(called([("a.png", None)]), int)
assert_type(gradio_decorator(["a.png"]), tuple[list[str], str])
# ...and their parameters.
bare_fn: t.Callable[[SelectData], str] = bare
called_fn: t.Callable[[list[tuple[str, str | None]], Progress], int] = called

listener = gallery.select(streamed, None, "#out", cancels=[gallery.listener_for(bare)])
assert_type(listener, Listener)
assert_type(gallery.preview_close(None, cancels=listener), Listener)
assert_type(gallery.listeners, list[Listener])
