"""HTTP routes of the extension's blueprint. Thin: they read the request, call the media store
or the gallery's actions (:mod:`.actions`), and answer with a fragment.

Media refusals (unknown or forged id, bad width) are the store's ``NotFound``; page refusals are
403 (cross-site, another session's or a forged token), 410 (expired page) and 400 (forged or
stale index), each answered as a message htmx shows inside the gallery. A page's requests are
checked, and every request's body bounded, before anything reads the body
(:func:`refuse_early`).
"""

from __future__ import annotations

import typing as t

from flask import Blueprint, Response, request, session
from markupsafe import Markup
from werkzeug.exceptions import (
    BadRequest,
    Forbidden,
    HTTPException,
    NotFound,
    RequestEntityTooLarge,
)

from ..media import send_media
from ..media.budget import DecodeBusy
from ..media.names import attachment_name
from ..page.draw import NoSuchWindow, draw, draw_window
from ..page.state import PageState
from .actions import ACTIONS, Action, Click, editing
from .app_state import AppState
from .app_state import app_state as _state
from .form_posts import check_form_post, is_form_upload, redirect_back, refused
from .responses import busy, error
from .tokens import SESSION_KEY, check_page_owner, check_request, is_owner, owned_page
from .zipstream import stream_zip, unique_names

#: The largest body of a gallery request other than an upload (form fields, an API call).
MAX_FORM_BYTES = 1024 * 1024
#: Routes of one page (``/p/<page>/...``), checked against the page before anything is read.
PAGE_ENDPOINTS = frozenset({"actions", "window", *ACTIONS})


def media(media_id: str) -> Response:
    return send_media(_state().media, media_id, variant="full")


def thumb(media_id: str, width: int) -> Response:
    return send_media(_state().media, media_id, variant="thumb", width=width)


def download(media_id: str, number: int) -> Response:
    """Saved under the item's own name when its page gave the link one (signed with the app's
    secret, see :mod:`.media.names`), else ``image-<number>`` (``number`` is the item's
    1-based position in the gallery); the extension is always the file's detected type."""
    store = _state().media
    name = request.args.get("name")
    if name is not None and not store.name_is_signed(media_id, name, request.args.get("sig", "")):
        raise NotFound("This download link is not valid: reload the page and try again.")
    return send_media(
        store, media_id, variant="full", download=True, download_name=name or f"image-{number}"
    )


def download_all(key: str) -> Response:
    """ "Download all": the gallery's stored items, each under its own name, as
    ``gallery.zip``, streamed as it is built."""
    state = _state()
    entries = state.download_entries(key)
    if entries is None:
        raise NotFound("This download link has expired: reload the page and try again.")
    store = state.media
    try:
        paths = [store.filepath(media_id) for media_id, _ in entries]
    except LookupError:
        raise NotFound() from None
    names = unique_names(
        attachment_name(name or f"image-{n}", path.suffix.lstrip("."))
        for n, ((_, name), path) in enumerate(zip(entries, paths, strict=True), start=1)
    )
    response = Response(stream_zip(zip(names, paths, strict=True)), mimetype="application/zip")
    response.headers["Content-Disposition"] = 'attachment; filename="gallery.zip"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def body_limit(config: t.Mapping[str, t.Any], endpoint: str) -> int:
    """The most bytes a request to ``endpoint`` may send: an upload's whole request is bounded
    by ``GALLERY_MAX_UPLOAD_REQUEST_BYTES`` (and never more than its files could need); every
    other gallery request carries form fields or a JSON call at most."""
    if endpoint != "upload":
        return MAX_FORM_BYTES
    files = (config["GALLERY_MAX_UPLOAD_BYTES"] + 4096) * config["GALLERY_MAX_UPLOAD_FILES"]
    return min(int(config["GALLERY_MAX_UPLOAD_REQUEST_BYTES"]), int(files))


def check_page(state: AppState, token: str) -> None:
    """The page's request checks, cheapest first: origin and the page's header (403; for an
    upload posted without JavaScript, the browser's same-origin headers instead), the
    session cookie (403: without it no page can be this requester's), the page (410 when
    gone, 403 when another session's)."""
    if is_form_upload():
        check_form_post()
    else:
        check_request(token)
    if not session.get(SESSION_KEY):
        raise Forbidden(
            "This request carries no gallery session: the page's cookie is missing. Reload the "
            "page, with cookies allowed for this site."
        )
    check_page_owner(state, token)


def refuse_early(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
    """The first code of every gallery request. Flask runs URL value preprocessors before any
    ``before_request`` hook (the app's own, Flask-WTF's CSRFProtect, which reads the form), so a
    request refused here has none of its body read: a made-up page token or a missing session
    costs the server its headers only, and a ``Content-Length`` over the limit is refused
    unread (413). The limit is set on this request alone (the app's ``MAX_CONTENT_LENGTH``
    still governs its other views), so a chunked body is cut off at it while it streams in."""
    name = (endpoint or "").rpartition(".")[2]
    state = _state()
    limit = body_limit(state.config, name)
    request.max_content_length = limit
    if name in PAGE_ENDPOINTS and values is not None:
        check_page(state, str(values.get("page", "")))
    length = request.content_length
    if length is not None and length > limit:
        raise RequestEntityTooLarge(
            f"This request is {length} bytes; this route accepts at most {limit} bytes."
            + (" Upload fewer or smaller files at once." if name == "upload" else "")
        )


def show(page: str, name: str) -> Markup:
    """The gallery as it stands on this page; also the base URL of its actions."""
    with editing(page, name) as (state, gallery, page_state, gallery_state):
        return draw(state, gallery, gallery_state, page_state.token)


def window(page: str, name: str, start: int) -> Markup:
    """The items of one window of a large gallery's grid (the page fetches each as it scrolls
    near): 404 for a gallery not on the page, 400 for a start where no window begins. Reads
    the page without changing it."""
    state = _state()
    gallery = state.registry.galleries.get(name)
    page_state = owned_page(state, page)
    gallery_state = page_state.galleries.get(name) if gallery else None
    if gallery is None or gallery_state is None:
        raise NotFound(f"Gallery {name!r} is not on this page. Reload the page.")
    try:
        return draw_window(state, gallery, gallery_state, page_state.token, start)
    except NoSuchWindow as exc:
        raise BadRequest(str(exc)) from None


def _route(action: Action) -> t.Callable[..., Markup | Response]:
    """The HTTP route of one action: the click is the request's."""

    def view(
        page: str, name: str, index: str | None = None, event: str | None = None
    ) -> Markup | Response:
        click = Click(page, name, index, request.form, request.files.getlist("files"), event=event)
        answer = action.run(click)
        answer.fire()
        if is_form_upload():
            back = redirect_back(answer.page, answer.refused)
            if back is not None:
                return back
        return answer.html + answer.after

    return view


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/media/<media_id>", "media", media)
    bp.add_url_rule("/media/<media_id>/w<int:width>", "thumb", thumb)
    bp.add_url_rule("/media/<media_id>/download/<int:number>", "download", download)
    bp.add_url_rule("/zip/<key>/gallery.zip", "download_all", download_all)
    bp.add_url_rule("/p/<page>/<name>", "actions", show)
    bp.add_url_rule("/p/<page>/<name>/window/<int:start>", "window", window)
    for endpoint, action in ACTIONS.items():
        rule = f"/p/<page>/<name>{action.rule}"
        bp.add_url_rule(rule, endpoint, _route(action), methods=["POST"])
    bp.url_value_preprocessor(refuse_early)
    bp.register_error_handler(HTTPException, _back_or(error))
    bp.register_error_handler(DecodeBusy, _back_or(busy))


E = t.TypeVar("E", bound=Exception)


def _back_or(answer: t.Callable[[E], Response]) -> t.Callable[[E], Response]:
    """A refused upload posted without JavaScript goes back to its page, the refusal shown
    there (never an error page instead of the gallery); every other refusal is ``answer``'s."""

    def handler(exc: E) -> Response:
        if is_form_upload():
            text = str(getattr(exc, "description", None) or exc)
            back = refused(text, _page_of_request())
            if back is not None:
                return back
        return answer(exc)

    return handler


def _page_of_request() -> PageState | None:
    """The page this request names, when it is this session's (to go back to its path)."""
    token = (request.view_args or {}).get("page")
    page = _state().pages.get(str(token)) if token else None
    return page if page is not None and is_owner(page) else None
