"""HTTP routes of the extension's blueprint. Thin: they read the request, call the media store,
the page state, the interactions and the dispatcher, and answer with a fragment.

Media refusals (unknown or forged id, bad width) are the store's ``NotFound``; page refusals are
403 (cross-site, another session's or a forged token), 410 (expired page) and 400 (forged or
stale index), each answered as a message htmx shows inside the gallery.
"""

from __future__ import annotations

import contextlib
import typing as t

from flask import Blueprint, Response, request
from markupsafe import Markup
from werkzeug.exceptions import BadRequest, HTTPException, NotFound

from . import interactions
from .app_state import AppState
from .app_state import app_state as _state
from .dispatch import alert, describe, fire, partial
from .media.uploads import UploadRejected
from .pages import PageGone, check_owner, check_request, parse_index
from .state import GalleryState, PageState

if t.TYPE_CHECKING:
    from .component import Gallery
from .media import send_media
from .media.serving import attachment_name
from .zipstream import stream_zip, unique_names


def media(media_id: str) -> Response:
    return send_media(_state().media, media_id, variant="full")


def thumb(media_id: str, width: int) -> Response:
    return send_media(_state().media, media_id, variant="thumb", width=width)


def download(media_id: str, number: int) -> Response:
    """Saved under the original file name where one is known, else ``image-<number>.<ext>``
    (``number`` is the item's 1-based position in the gallery)."""
    store = _state().media
    try:
        name = store.item(media_id).orig_name
    except LookupError:
        raise NotFound() from None
    return send_media(
        store, media_id, variant="full", download=True, download_name=name or f"image-{number}"
    )


def download_all(key: str) -> Response:
    """ "Download all": the gallery's stored items as ``gallery.zip``, streamed as it is built."""
    state = _state()
    ids = state.download_ids(key)
    if ids is None:
        raise NotFound("This download link has expired: reload the page and try again.")
    store = state.media
    try:
        files = [(store.item(media_id), store.filepath(media_id)) for media_id in ids]
    except LookupError:
        raise NotFound() from None
    names = unique_names(
        attachment_name(item.orig_name or f"image-{n}", path.suffix.lstrip("."))
        for n, (item, path) in enumerate(files, start=1)
    )
    response = Response(
        stream_zip(zip(names, (path for _, path in files), strict=True)), mimetype="application/zip"
    )
    response.headers["Content-Disposition"] = 'attachment; filename="gallery.zip"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@contextlib.contextmanager
def _editing(page: str, name: str) -> t.Iterator[tuple[AppState, Gallery, PageState, GalleryState]]:
    """Check the request belongs to this page and session, then hold the page while it changes."""
    check_request(page)
    state = _state()
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


def _answer(
    state: AppState, gallery: Gallery, page: PageState, fired: interactions.Fired
) -> Markup:
    html = state.extension.draw(gallery, page.galleries[gallery.name], page.token)
    fire(state, gallery, page, fired, request.form)
    return html


def show(page: str, name: str) -> Markup:
    """The gallery as it stands on this page; also the base URL of its actions."""
    with _editing(page, name) as (state, gallery, page_state, gallery_state):
        return state.extension.draw(gallery, gallery_state, page_state.token)


def _answer_selection(
    state: AppState,
    gallery: Gallery,
    page: PageState,
    before: int | None,
    fired: interactions.Fired,
) -> Markup:
    gallery_state = page.galleries[gallery.name]
    changed = {i for i in (before, gallery_state.selected) if i is not None}
    html = state.extension.draw_selection(gallery, gallery_state, page.token, changed)
    fire(state, gallery, page, fired, request.form)
    return html


def select(page: str, name: str, index: str) -> Markup:
    with _editing(page, name) as (state, gallery, page_state, gallery_state):
        i = parse_index(index, len(gallery_state.items))
        props = state.extension.props_for(gallery, gallery_state.overrides)
        before = gallery_state.selected
        fired = interactions.select(gallery_state, i, props.allow_preview, describe)
    return _answer_selection(state, gallery, page_state, before, fired)


def close(page: str, name: str) -> Markup:
    with _editing(page, name) as (state, gallery, page_state, gallery_state):
        before = gallery_state.selected
        fired = interactions.close(gallery_state)
    return _answer_selection(state, gallery, page_state, before, fired)


def delete(page: str, name: str, index: str) -> Markup:
    with _editing(page, name) as (state, gallery, page_state, gallery_state):
        if not state.extension.is_interactive(
            gallery, state.extension.props_for(gallery, gallery_state.overrides)
        ):
            raise NotFound(f"Gallery {name!r} is not interactive: nothing can be deleted.")
        i = parse_index(index, len(gallery_state.items))
        fired = interactions.delete(gallery_state, i, describe)
    return _answer(state, gallery, page_state, fired)


def upload(page: str, name: str) -> Markup:
    """Files from the picker, a drop, the clipboard or the webcam. Each is checked by content;
    the good ones are appended together (never half an upload), each refused one is named with
    its reason. The picker and drops fire ``upload`` then ``change``; clipboard and webcam only
    ``change``, as Gradio."""
    # Bound the whole request before Werkzeug reads it: at most this many files of at most the
    # per-file limit (each file is then checked on its own).
    config = _state().config
    max_files = config["GALLERY_MAX_UPLOAD_FILES"]
    request.max_content_length = (config["GALLERY_MAX_UPLOAD_BYTES"] + 4096) * max_files
    source = request.form.get("source", "upload")
    if source not in ("upload", "clipboard", "webcam"):
        raise BadRequest(f"Unknown upload source {source!r}.")
    with _editing(page, name) as (state, gallery, page_state, gallery_state):
        props = state.extension.props_for(gallery, gallery_state.overrides)
        if not state.extension.is_interactive(gallery, props):
            raise NotFound(f"Gallery {name!r} is not interactive: it takes no uploads.")
        files = request.files.getlist("files")
        if len(files) > max_files:
            raise BadRequest(f"Too many files: {len(files)}. Upload at most {max_files} at once.")
        if not files:
            raise BadRequest("No file was sent: choose, drop or paste one or more images.")
        added, refused = [], []
        for file in files:
            try:
                added.append(
                    state.media.add_upload(
                        t.cast("t.BinaryIO", file.stream),
                        file.filename,
                        file_types=props.file_types,
                        max_bytes=state.config["GALLERY_MAX_UPLOAD_BYTES"],
                        max_pixels=state.config["GALLERY_MAX_IMAGE_PIXELS"],
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
        dom_id = state.extension.dom_id(gallery, gallery_state)
    html = _answer(state, gallery, page_state, fired)
    alerts = [
        partial(f"#{dom_id}-alerts", "beforeend", alert("error", f"{exc.filename}: {exc.reason}"))
        for exc in refused
    ]
    return html + Markup("").join(alerts)


def error(exc: HTTPException) -> Response:
    """A refused gallery request as a message inside the gallery: htmx swaps 4xx responses, so
    the answer is retargeted to the gallery's alert area and the gallery itself stays as it was."""
    response = Response(
        alert("error", exc.description or exc.name), status=exc.code, mimetype="text/html"
    )
    root = request.headers.get("X-Gallery-Root", "")
    if request.headers.get("HX-Request") and root.replace("-", "").replace("_", "").isalnum():
        response.headers["HX-Retarget"] = f"#{root}-alerts"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/media/<media_id>", "media", media)
    bp.add_url_rule("/media/<media_id>/w<int:width>", "thumb", thumb)
    bp.add_url_rule("/media/<media_id>/download/<int:number>", "download", download)
    bp.add_url_rule("/zip/<key>/gallery.zip", "download_all", download_all)
    bp.add_url_rule("/p/<page>/<name>", "actions", show)
    bp.add_url_rule("/p/<page>/<name>/select/<index>", "select", select, methods=["POST"])
    bp.add_url_rule("/p/<page>/<name>/close", "close", close, methods=["POST"])
    bp.add_url_rule("/p/<page>/<name>/delete/<index>", "delete", delete, methods=["POST"])
    bp.add_url_rule("/p/<page>/<name>/upload", "upload", upload, methods=["POST"])
    bp.register_error_handler(HTTPException, error)
