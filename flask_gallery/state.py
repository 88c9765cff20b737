"""``State``: a value a page keeps on the server between its listeners' runs (Gradio's
``gr.State``).

Listeners take it as an input and set it as an output; it is never sent to the browser. Each
page starts from a deep copy of the default (a callable default is called per page instead), so
two pages, even of one session, never share it. It lives with the page's state, so it is bounded
and expires as the page does, and in the Redis mode it is pickled into Redis with the page: a
value there must pickle, and changes made in place reach the next run only when the handler
returns the value (in memory, as in Gradio, the stored object itself is handed to handlers).
"""

from __future__ import annotations

import copy
import re
import typing as t

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


class State:
    """A per-page value for listeners, as ``gr.State(value)``.

    .. code-block:: python

        palette = galleries.state("palette", [])

        @add.on_click(inputs=[palette, "colour"], outputs=[palette, gallery])
        def add_colour(colours, colour):
            colours = [*colours, colour]
            return colours, [swatch(c) for c in colours]

    :param name: unique per app among states.
    :param default: the value each page starts with (deep-copied per page), or a callable
        called once per page to make it.
    """

    def __init__(self, name: str, default: t.Any = None) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(
                f"State name {name!r} must be 1-64 characters: a letter or '_', then letters,"
                " digits, '-' or '_', e.g. galleries.state('palette', [])."
            )
        if not callable(default):
            try:
                default = copy.deepcopy(default)
            except Exception as exc:
                raise TypeError(
                    f"The default of state {name!r} must be able to be deep-copied (each page"
                    f" starts from a copy): {exc}. Pass a callable that makes the value instead."
                ) from exc
        self.name = name
        "The state's name, unique per app."
        self.default = default
        "The declared default (a callable makes each page's value)."

    def initial(self) -> t.Any:
        """A new page's value."""
        return self.default() if callable(self.default) else copy.deepcopy(self.default)

    def __repr__(self) -> str:
        return f"<State {self.name!r}>"
