"""The ``Gallery`` component: a named declaration of a gallery's value and display properties.

It holds no per-app or per-page state: one declaration serves every app the extension is
registered on, and every page those apps render.
"""

from __future__ import annotations

import re
import typing as t

from .props import GalleryProps, resolve_props

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")

#: What a gallery value may be: a list of media (or ``(media, caption)`` pairs), a callable that
#: returns one at each page render, or ``None``.
GalleryValue = t.Sequence[t.Any] | t.Callable[[], t.Any] | None


class Gallery:
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

    def __repr__(self) -> str:
        return f"<Gallery {self.name!r}>"
