"""What a click on a gallery does to its page, whichever way the click came.

A click reaches the server as an HTTP POST (:mod:`.views`) or, while the page's WebSocket is open,
as a message on it (:mod:`.ws`). Both first check that the click comes from the page (the views
check the request's header and origin; the socket was checked when it opened), then call these
functions. Each returns an :class:`Answer`: the HTML the page swaps in at once, and the events the
click fired, submitted by :meth:`Answer.fire` once that HTML is on its way, so a handler's result
never overtakes the answer to its own click.
"""

from __future__ import annotations

import contextlib
import typing as t
from dataclasses import dataclass

from markupsafe import Markup
from werkzeug.exceptions import NotFound

from . import interactions
from .app_state import AppState, app_state
from .dispatch import describe, fire
from .pages import PageGone, check_owner, parse_index
from .request import Request
from .state import GalleryState, PageState

if t.TYPE_CHECKING:
    from .component import Gallery
    from .props import GalleryProps

Form = t.Mapping[str, str]


@dataclass(frozen=True)
class Answer:
    """The page's immediate update for one click, and the events it fired, not yet submitted."""

    #: The fragment to swap in: ``<hx-partial>`` updates when ``target`` is None, else the
    #: gallery's whole new HTML for ``target`` (its root, swapped with ``outerMorph``).
    html: Markup
    target: str | None
    _state: AppState
    _gallery: Gallery
    _page: PageState
    _fired: interactions.Fired
    _form: Form
    _request: Request | None

    def fire(self) -> None:
        fire(self._state, self._gallery, self._page, self._fired, self._form, self._request)


@contextlib.contextmanager
def editing(page: str, name: str) -> t.Iterator[tuple[AppState, Gallery, PageState, GalleryState]]:
    """Hold the page while a click changes it: 410 once it expired, 403 for another session's,
    404 for a gallery that is not on it."""
    state = app_state()
    gallery = state.extension.galleries.get(name)
    if gallery is None:
        raise NotFound(f"Unknown gallery {name!r}.")
    with state.pages.edit(page) as page_state:
        if page_state is None:
            raise PageGone()
        check_owner(page_state)
        gallery_state = page_state.galleries.get(name)
        if gallery_state is None:
            raise NotFound(f"Gallery {name!r} is not on this page. Reload the page.")
        yield state, gallery, page_state, gallery_state


def redrawn(
    state: AppState,
    gallery: Gallery,
    page: PageState,
    fired: interactions.Fired,
    form: Form,
    request: Request | None,
) -> Answer:
    """The whole gallery drawn again (its items changed)."""
    gallery_state = page.galleries[gallery.name]
    html = state.extension.draw(gallery, gallery_state, page.token)
    target = f"#{state.extension.dom_id(gallery, gallery_state)}"
    return Answer(html, target, state, gallery, page, fired, form, request)


def _reselected(
    state: AppState,
    gallery: Gallery,
    page: PageState,
    before: int | None,
    fired: interactions.Fired,
    form: Form,
    request: Request | None,
) -> Answer:
    gallery_state = page.galleries[gallery.name]
    changed = {i for i in (before, gallery_state.selected) if i is not None}
    html = state.extension.draw_selection(gallery, gallery_state, page.token, changed)
    return Answer(html, None, state, gallery, page, fired, form, request)


def select(page: str, name: str, index: str, form: Form, request: Request | None = None) -> Answer:
    with editing(page, name) as (state, gallery, page_state, gallery_state):
        i = parse_index(index, len(gallery_state.items))
        props = state.extension.props_for(gallery, gallery_state.overrides)
        before = gallery_state.selected
        fired = interactions.select(gallery_state, i, props.allow_preview, describe)
    return _reselected(state, gallery, page_state, before, fired, form, request)


def close(page: str, name: str, form: Form, request: Request | None = None) -> Answer:
    with editing(page, name) as (state, gallery, page_state, gallery_state):
        before = gallery_state.selected
        fired = interactions.close(gallery_state)
    return _reselected(state, gallery, page_state, before, fired, form, request)


def check_interactive(
    state: AppState, gallery: Gallery, gallery_state: GalleryState
) -> GalleryProps:
    """Deletes and uploads only change a gallery the user may edit (Gradio's ``interactive``).
    Returns the gallery's properties on this page, which the check had to resolve."""
    props = state.extension.props_for(gallery, gallery_state.overrides)
    if not state.extension.is_interactive(gallery, props):
        raise NotFound(f"Gallery {gallery.name!r} is not interactive: its items cannot change.")
    return props


def delete(page: str, name: str, index: str, form: Form, request: Request | None = None) -> Answer:
    with editing(page, name) as (state, gallery, page_state, gallery_state):
        check_interactive(state, gallery, gallery_state)
        i = parse_index(index, len(gallery_state.items))
        fired = interactions.delete(gallery_state, i, describe)
    return redrawn(state, gallery, page_state, fired, form, request)


#: The clicks the page's socket may carry, by the name of their HTTP route (the page is told
#: the names: gallery.js sends only these over the socket). Uploads stay HTTP
#: requests: their bodies are files, sent with a progress bar.
BY_ENDPOINT: dict[str, t.Callable[..., Answer]] = {
    "select": select,
    "close": close,
    "delete": delete,
}
