"""The ``Gallery`` component: a named declaration of a gallery's value and display properties.

It holds no per-app or per-page state: one declaration serves every app the extension is
registered on, and every page those apps render.
"""

from __future__ import annotations

import re
import typing as t

from .events import GalleryEvents
from .props import GalleryProps, resolve_props


class _Keep:
    def __repr__(self) -> str:
        return "<keep the value>"


#: What ``gallery.update(...)`` without a value means: the gallery keeps its value.
KEEP: t.Any = _Keep()


class _Skip:
    def __repr__(self) -> str:
        return "flask_gallery.skip()"


_SKIP = _Skip()


def skip() -> t.Any:
    """Leave an output as it is (Gradio's ``gr.skip()``): its value, properties and what the
    page shows stay, and no ``change`` fires. Return it in an output's place (one ``skip()`` for
    a listener with several outputs skips them all); a generator may yield it."""
    return _SKIP


def is_skip(value: object) -> bool:
    return value is _SKIP


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")

#: What a gallery value may be: a list of media (or ``(media, caption)`` pairs), a callable that
#: returns one at each page render, or ``None``.
GalleryValue = t.Sequence[t.Any] | t.Callable[[], t.Any] | None


class Gallery(GalleryEvents):
    """One gallery, as ``gr.Gallery(...)`` declares it.

    .. code-block:: python

        gallery = galleries.gallery("fake_gan", label="Generated", columns=(1, 2, 3))

    Every keyword of ``gr.Gallery`` is accepted with Gradio's meaning and default (see the
    README's parameter table). ``value`` may be a callable: it is called again at every page
    render, as Gradio calls a callable value at every page load.

    :param name: unique per app; it appears in URLs and in ``{{ gallery(name) }}``.
    :param value: a list of images/videos, ``(media, caption)`` pairs, a callable, or ``None``.
    :param inputs: with a callable ``value``, Gradio recomputes it when these inputs change;
        stored for the event layer.
    """

    def __init__(self, name: str, value: GalleryValue = None, **props: t.Any) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(
                f"Gallery name {name!r} must be 1-64 characters of letters, digits, '-' or '_' "
                "(it appears in URLs), e.g. 'fake_gan'."
            )
        if isinstance(value, (str, bytes)) or not (
            value is None or callable(value) or isinstance(value, (list, tuple))
        ):
            raise TypeError(
                f"Gallery {name!r}: value={type(value).__name__} is not a gallery value. Pass "
                "a list of images/videos or (media, caption) pairs, a callable returning one, "
                "or None."
            )
        self.name = name
        "The gallery's name, unique per app."
        self.value: GalleryValue = value
        "The declared value: a list, a callable re-evaluated at each render, or None."
        self.inputs: t.Any = props.pop("inputs", None)
        "Components whose change recomputes a callable value (Gradio's ``inputs``)."
        self.props: GalleryProps = resolve_props(
            GalleryProps(), props, where=f"galleries.gallery({name!r})"
        )
        "The validated display properties; template calls override a copy, never these."
        self.load_event = None
        "With a callable value and ``every``: the periodic listener that refreshes it (cancel it)."
        if callable(value) and self.props.every is not None:
            self.load_event = self.listen(
                None, value, outputs=self, every=self.props.every, show_progress="hidden"
            )

    def update(self, value: t.Any = KEEP, **props: t.Any) -> GalleryUpdate:
        """What a handler returns to change this gallery's properties, as Gradio's ``gr.update``
        or ``gr.Gallery(selected_index=...)``: ``return gallery.update(selected_index=None)``.

        Validated now, like a declaration. ``selected_index`` opens the preview there (or closes
        it with ``None``) and fires no ``select``; a ``value`` replaces the items and fires
        ``change``.
        """
        resolve_props(self.props, props, where=f"{self.name}.update(...)")
        return GalleryUpdate(self, value, props)

    def __repr__(self) -> str:
        return f"<Gallery {self.name!r}>"


class GalleryUpdate:
    """New properties (and maybe a new value) for one gallery, returned by a handler."""

    def __init__(self, gallery: Gallery, value: t.Any, props: dict[str, t.Any]) -> None:
        self.gallery = gallery
        self.value = value
        self.props = props
