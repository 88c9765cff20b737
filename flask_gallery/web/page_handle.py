"""The calling page, for the app's own views: read its galleries, change them, answer htmx.

Gradio wires a button to a function with ``btn.click(fn, inputs, outputs)``; in Flask the button
is the app's own: ``<button hx-post="/darken" hx-swap="none">``, and the view it posts to asks
for the page it came from. gallery.js adds the page token to every htmx request the page makes
(same origin only), so the view needs nothing else:

.. code-block:: python

    @app.post("/darken")
    def darken():
        page = galleries.page()
        images = page.value("photos", type="numpy")
        ...
        return page.update("photos", value=darker, selected_index=None)
"""

from __future__ import annotations

import typing as t

from flask import Response, request
from markupsafe import Markup
from werkzeug.exceptions import HTTPException, NotFound

from ..page import interactions
from ..page.draw import redraw_update, selected_indices
from ..page.fragments import tell, toast
from ..page.outputs import fire
from ..props import PreprocessType
from .app_state import AppState, app_state
from .tokens import PAGE_HEADER, PageGone, check_request, owned_page

if t.TYPE_CHECKING:
    from ..component import Gallery
    from ..page.state import GalleryState


class PageHandle:
    """One rendered page, as the current request (from that page) names it."""

    def __init__(self, state: AppState, token: str) -> None:
        self._state = state
        self.token = token
        "The page token."

    def _gallery(self, name: str) -> tuple[Gallery, GalleryState]:
        gallery = self._state.registry.galleries.get(name)
        page = self._state.pages.get(self.token)
        if page is None:
            raise PageGone()
        gallery_state = page.galleries.get(name) if gallery is not None else None
        if gallery is None or gallery_state is None:
            raise NotFound(f"Gallery {name!r} is not on this page.")
        return gallery, gallery_state

    def value(self, name: str, type: PreprocessType | None = None) -> t.Any:
        """The gallery's value on this page as a handler would get it: a list of ``(media,
        caption)`` in ``type`` (the gallery's own by default), or ``None`` when empty."""
        gallery, gallery_state = self._gallery(name)
        return self._state.media.preprocess(gallery_state.items, type or gallery.props.type)

    def selected(self, name: str) -> int | None:
        """The selected item's index, or ``None``."""
        return self._gallery(name)[1].selected

    def selected_indices(self, name: str) -> list[int]:
        """The selected items' indices, sorted: a multi-select gallery's whole selection, else
        the selected item alone (``[]`` when nothing is)."""
        return selected_indices(*self._gallery(name))

    def update(self, name: str, value: t.Any = None, **props: t.Any) -> Markup:
        """Change the gallery on this page as a handler output would (a new value fires its
        ``change``; ``selected_index`` opens or closes the preview without ``select``) and
        return the update to send back: ``return page.update(...)`` from an htmx request with
        ``hx-swap="none"``."""
        gallery, _ = self._gallery(name)
        update = gallery.update(**props) if value is None else gallery.update(value, **props)
        with self._state.pages.edit(self.token) as page:
            if page is None:
                raise PageGone()
            gallery_state = page.galleries[name]
            fired = interactions.apply_update(update, gallery_state, self._state.convert)
            html = redraw_update(self._state, gallery, gallery_state, self.token)
        fire(self._state, gallery, page, fired, request.form)
        return html

    def notify(self, name: str, message: str, level: str = "warning") -> Markup:
        """A toast about the gallery ``name`` (it must be on this page), as ``Warning`` or
        ``Info`` in a handler (``level="error"`` stays until closed)."""
        self._gallery(name)
        return tell(toast(level, message))


def current_page_handle() -> PageHandle:
    """The page the current request comes from; 403/410 exactly as the gallery's own requests.
    The refusal of an htmx request is shown as a toast, whatever the app's ``hx-swap``
    (``none`` in README's example) and error handlers: its response is that toast's update."""
    token = request.headers.get(PAGE_HEADER, "")
    state = app_state()
    try:
        check_request(token)
        owned_page(state, token)
    except HTTPException as exc:
        if request.headers.get("HX-Request"):
            text = exc.description or exc.name
            exc.response = Response(
                tell(toast("error", text)),
                status=exc.code,
                mimetype="text/html",
            )
        raise
    return PageHandle(state, token)
