"""The actions a page's gallery can ask for, in one table for both ways a click arrives.

A click reaches the server as an HTTP POST to the action's route (:mod:`.views` registers one
route per entry of :data:`ACTIONS`) or, while the page's WebSocket is open, as a frame on it
naming the action and the gallery (:mod:`.socket`). Both check that the click comes from the page
first (the route checks the request's header, origin and session; the socket was checked when it
opened), build a :class:`Click` and run the action. Each action changes the page's state under
its lock (:mod:`..page.interactions` says what a select, close, delete or upload does, as
Gradio's Gallery) and returns an :class:`Answer`: the HTML the page swaps in at once, and the
events the click fired, submitted by :meth:`Answer.fire` once that HTML is on its way, so a
handler's result never overtakes the answer to its own click.
"""

from __future__ import annotations

import contextlib
import dataclasses
import typing as t
from dataclasses import dataclass, field

from markupsafe import Markup
from werkzeug.exceptions import BadRequest, NotFound

from ..media import MediaItem
from ..media.uploads import UploadRejected, clean_filename
from ..page import interactions
from ..page.draw import draw_selection, props_for, redrawn, selected_indices
from ..page.fragments import morph, tell, toast
from ..page.outputs import fire
from ..page.wire import describe, loads
from .app_state import AppState, app_state
from .tokens import PageGone, check_owner, owned_page, parse_index

if t.TYPE_CHECKING:
    from werkzeug.datastructures import FileStorage

    from ..component import Gallery
    from ..events import Listenable
    from ..page.state import GalleryState, PageState
    from ..props import GalleryProps
    from ..request import Request

Form = t.Mapping[str, str]


@dataclass(frozen=True)
class Click:
    """One click, however it came: which page and gallery (or element of the page, for a
    trigger), the item index its route or frame named, the page's form fields sent along, and
    (HTTP only) the files of an upload."""

    page: str
    #: The gallery's name; the element's id (without ``#``) for a trigger.
    name: str
    index: str | None = None
    form: Form = field(default_factory=dict)
    files: t.Sequence[FileStorage] = ()
    #: The request handlers see: the socket's handshake for a click sent over it (None: the
    #: current HTTP request, snapshotted when the events are submitted).
    request: Request | None = None
    #: A trigger's event (``click``, ``submit``, ``change``, ``input``).
    event: str | None = None
    #: The page moved the highlight itself (a select of a gallery without a preview, sent over
    #: the socket): the answer has nothing left to draw.
    drawn: bool = False


@dataclass(frozen=True)
class Answer:
    """The page's immediate update for one click, and the events it fired, not yet submitted."""

    #: The fragment to swap in: ``<hx-partial>`` updates when ``target`` is None, else the
    #: gallery's whole new HTML for its root, whose id ``target`` is (morphed in).
    html: Markup
    target: str | None
    _state: AppState
    _source: Listenable
    _page: PageState
    _fired: interactions.Fired
    _click: Click
    #: Updates that follow the swap (toasts naming the refused files).
    after: Markup = field(default_factory=Markup)
    #: The refused files' messages, as text (an upload posted without JavaScript shows them on
    #: the page it is sent back to).
    refused: tuple[str, ...] = ()

    def fire(self) -> list[str]:
        """Submit the events the click fired: the ids of their jobs."""
        return fire(
            self._state,
            self._source,
            self._page,
            self._fired,
            self._click.form,
            self._click.request,
        )

    @property
    def page(self) -> PageState:
        """The page the click changed."""
        return self._page

    def update(self) -> Markup:
        """The answer as self-targeted updates (what a socket frame carries)."""
        html = self.html if self.target is None else morph(self.target, self.html)
        return html + self.after


@dataclass(frozen=True)
class Action:
    """One entry of :data:`ACTIONS`."""

    run: t.Callable[[Click], Answer]
    #: The route's rule after ``/p/<page>/<name>``.
    rule: str
    #: Whether the page's socket may carry it (an upload's files go by HTTP, with progress).
    socket: bool = True


@contextlib.contextmanager
def editing(page: str, name: str) -> t.Iterator[tuple[AppState, Gallery, PageState, GalleryState]]:
    """Hold the page while a click changes it: 410 once it expired, 403 for another session's,
    404 for a gallery that is not on it."""
    state = app_state()
    gallery = state.registry.galleries.get(name)
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


def _redrawn(
    state: AppState, gallery: Gallery, page: PageState, fired: interactions.Fired, click: Click
) -> Answer:
    """The whole gallery drawn again (its items changed)."""
    dom_id, html = redrawn(state, gallery, page.galleries[gallery.name], page.token)
    return Answer(html, dom_id, state, gallery, page, fired, click)


#: What a gallery showed before a click: whether the preview was open, and the items drawn
#: selected.
Before = tuple[bool, frozenset[int]]


def _before(gallery: Gallery, gallery_state: GalleryState) -> Before:
    return gallery_state.preview_open, frozenset(selected_indices(gallery, gallery_state))


def _reselected(
    state: AppState,
    gallery: Gallery,
    page: PageState,
    before: Before,
    fired: interactions.Fired,
    click: Click,
    props: GalleryProps | None = None,
) -> Answer:
    """The items whose highlight changed, and the preview unless it stayed closed (drawn with
    ``props`` when the action resolved them already)."""
    gallery_state = page.galleries[gallery.name]
    was_open, drawn = before
    changed = drawn.symmetric_difference(selected_indices(gallery, gallery_state))
    preview = was_open or gallery_state.preview_open
    html = draw_selection(
        state, gallery, gallery_state, page.token, changed, preview=preview, props=props
    )
    return Answer(html, None, state, gallery, page, fired, click)


#: The form field a multi-select click names how it changes the selection in: ``toggle``
#: (Ctrl/Cmd-click, Space) or ``range`` (Shift-click); a plain click sends none.
SELECT_FIELD = "_fg_select"


def select_how(click: Click, props: GalleryProps) -> interactions.SelectHow:
    """How the click changes the selection; a toggle or range only in a multi-select gallery."""
    how = click.form.get(SELECT_FIELD) or "replace"
    if how not in interactions.SELECT_HOWS:
        raise BadRequest(
            f"{SELECT_FIELD}={how[:40]!r} is not a way to select: send 'toggle' or 'range'."
        )
    if how != "replace" and props.selection_mode != "multiple":
        raise BadRequest(
            f"A {how} selection needs a gallery with selection_mode='multiple'; "
            f"gallery {click.name!r} selects one item at a time."
        )
    return t.cast(interactions.SelectHow, how)


def select(click: Click) -> Answer:
    with editing(click.page, click.name) as (state, gallery, page_state, gallery_state):
        i = parse_index(click.index, len(gallery_state.items))
        props = props_for(gallery, gallery_state.overrides)
        how = select_how(click, props)
        before = _before(gallery, gallery_state)
        fired = interactions.select(gallery_state, i, props.allow_preview, describe, how)
    if click.drawn and not (before[0] or gallery_state.preview_open):
        # The page already shows what the answer would draw: the handlers' results follow
        # alone, as a button's do.
        return Answer(Markup(""), None, state, gallery, page_state, fired, click)
    return _reselected(state, gallery, page_state, before, fired, click, props)


def close(click: Click) -> Answer:
    with editing(click.page, click.name) as (state, gallery, page_state, gallery_state):
        before = _before(gallery, gallery_state)
        fired = interactions.close(gallery_state)
    return _reselected(state, gallery, page_state, before, fired, click)


def check_interactive(
    state: AppState, gallery: Gallery, gallery_state: GalleryState
) -> GalleryProps:
    """Deletes and uploads only change a gallery the user may edit (Gradio's ``interactive``).
    Returns the gallery's properties on this page, which the check had to resolve."""
    props = props_for(gallery, gallery_state.overrides)
    if not state.registry.is_interactive(gallery, props):
        raise NotFound(f"Gallery {gallery.name!r} is not interactive: its items cannot change.")
    return props


def delete(click: Click) -> Answer:
    with editing(click.page, click.name) as (state, gallery, page_state, gallery_state):
        check_interactive(state, gallery, gallery_state)
        i = parse_index(click.index, len(gallery_state.items))
        fired = interactions.delete(gallery_state, i, describe)
    return _redrawn(state, gallery, page_state, fired, click)


#: Where an upload's files may come from (Gradio's ``sources``).
UPLOAD_SOURCES = ("upload", "clipboard", "webcam")


def upload(click: Click) -> Answer:
    """Files from the picker, a drop, the clipboard or the webcam. Each is checked by content;
    the good ones are appended together (never half an upload), each refused one is named with
    its reason, as is each one past ``GALLERY_MAX_ITEMS`` (never decoded). The picker and drops
    fire ``upload`` then ``change``; clipboard and webcam only ``change``, as Gradio."""
    source = click.form.get("source", "upload")
    if source not in UPLOAD_SOURCES:
        raise BadRequest(f"Unknown upload source {source[:100]!r}.")
    with editing(click.page, click.name) as (state, gallery, page_state, gallery_state):
        props = check_interactive(state, gallery, gallery_state)
        config = state.config
        max_files, max_items = config["GALLERY_MAX_UPLOAD_FILES"], config["GALLERY_MAX_ITEMS"]
        files = click.files
        if len(files) > max_files:
            raise BadRequest(f"Too many files: {len(files)}. Upload at most {max_files} at once.")
        if not files:
            raise BadRequest("No file was sent: choose, drop or paste one or more images.")
        room = max_items - len(gallery_state.items)
        added: list[MediaItem] = []
        refused: list[UploadRejected] = []
        for file in files:
            if len(added) >= room:
                refused.append(
                    UploadRejected(
                        clean_filename(file.filename),
                        f"the gallery holds at most {max_items} items.",
                    )
                )
                continue
            try:
                added.append(
                    state.media.add_upload(
                        t.cast("t.BinaryIO", file.stream),
                        file.filename,
                        file_types=props.file_types,
                        max_bytes=config["GALLERY_MAX_UPLOAD_BYTES"],
                        max_pixels=config["GALLERY_MAX_IMAGE_PIXELS"],
                    )
                )
            except UploadRejected as exc:
                refused.append(exc)
        if source == "upload":
            fired = interactions.upload(gallery_state, added, describe)
        elif added:
            fired = interactions.set_value(gallery_state, [*gallery_state.items, *added])
        else:
            fired = []
    answer = _redrawn(state, gallery, page_state, fired, click)
    if not refused:
        return answer
    texts = tuple(f"{e.filename}: {e.reason}" for e in refused)
    notes = tell(*(toast("error", text) for text in texts))
    return dataclasses.replace(answer, after=notes, refused=texts)


#: The form field a ``change`` or ``input`` trigger sends its field's value in (JSON).
VALUE_FIELD = "_fg_value"


def trigger(click: Click) -> Answer:
    """An event of an element of the app's page (a button's click, a form's submit, a field's
    change or input): its listeners are submitted like a gallery's, with the page's form fields
    as their inputs and, for change and input, the field's value as the event data. The page
    changes nothing at once: the answer is empty, the results come on the page's channel."""
    state = app_state()
    element = state.registry.elements.get(click.name)
    event = click.event or ""
    if element is None or not any(lst.event == event for lst in element.listeners):
        raise NotFound(f"No listener for {event!r} on element #{click.name[:100]}.")
    data = None
    if event in ("change", "input"):
        try:
            data = loads(click.form.get(VALUE_FIELD, "null"))
        except ValueError:
            raise BadRequest(f"{VALUE_FIELD!r} must be the field's value as JSON.") from None
    page_state = owned_page(state, click.page)
    return Answer(Markup(""), None, state, element, page_state, [(event, data)], click)


#: Every action, by name: the name is its route's endpoint and what a socket frame says.
ACTIONS: dict[str, Action] = {
    "select": Action(select, "/select/<index>"),
    "close": Action(close, "/close"),
    "delete": Action(delete, "/delete/<index>"),
    "upload": Action(upload, "/upload", socket=False),
    "trigger": Action(trigger, "/on/<event>"),
}
#: The actions the page's socket carries (the page is told their names).
SOCKET_ACTIONS = tuple(name for name, action in ACTIONS.items() if action.socket)
