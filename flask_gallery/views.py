"""HTTP routes of the extension's blueprint. Thin: they read the request, call the media store
or the gallery's actions (:mod:`.actions`), and answer with a fragment.

Media refusals (unknown or forged id, bad width) are the store's ``NotFound``; page refusals are
403 (cross-site, another session's or a forged token), 410 (expired page) and 400 (forged or
stale index), each answered as a message htmx shows inside the gallery.
"""

from __future__ import annotations

import typing as t

from flask import Blueprint, Response, request
from markupsafe import Markup
from werkzeug.exceptions import BadRequest, HTTPException, NotFound, ServiceUnavailable

from . import actions, interactions
from .app_state import app_state as _state
from .dispatch import alert, alerts_target, describe, partial
from .media import send_media
from .media.budget import DecodeBusy
from .media.serving import attachment_name
from .media.uploads import UploadRejected
from .pages import check_request
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


def show(page: str, name: str) -> Markup:
    """The gallery as it stands on this page; also the base URL of its actions."""
    check_request(page)
    with actions.editing(page, name) as (state, gallery, page_state, gallery_state):
        return state.extension.draw(gallery, gallery_state, page_state.token)


def _answered(answer: actions.Answer) -> Markup:
    answer.fire()
    return answer.html


def select(page: str, name: str, index: str) -> Markup:
    check_request(page)
    return _answered(actions.select(page, name, index, request.form))


def close(page: str, name: str) -> Markup:
    check_request(page)
    return _answered(actions.close(page, name, request.form))


def delete(page: str, name: str, index: str) -> Markup:
    check_request(page)
    return _answered(actions.delete(page, name, index, request.form))


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
    check_request(page)
    with actions.editing(page, name) as (state, gallery, page_state, gallery_state):
        props = actions.check_interactive(state, gallery, gallery_state)
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
    answer = actions.redrawn(state, gallery, page_state, fired, request.form, None)
    alerts = [
        partial(f"{answer.target}-alerts", "beforeend", alert("error", f"{e.filename}: {e.reason}"))
        for e in refused
    ]
    return _answered(answer) + Markup("").join(alerts)


def error(exc: HTTPException) -> Response:
    """A refused gallery request as a message inside the gallery: htmx swaps 4xx responses, so
    the answer is retargeted to the gallery's alert area and the gallery itself stays as it was."""
    response = Response(
        alert("error", exc.description or exc.name), status=exc.code, mimetype="text/html"
    )
    target = alerts_target(request.headers.get("X-Gallery-Root", ""))
    if request.headers.get("HX-Request") and target:
        response.headers["HX-Retarget"] = target
        response.headers["HX-Reswap"] = "innerHTML"
    return response


#: Seconds a client is told to wait before asking again for an image the server was too busy
#: to decode.
BUSY_RETRY_AFTER = 5


def busy(exc: DecodeBusy) -> Response:
    """A thumbnail, full file or download that could not get its share of the decode budget in
    time: 503 with ``Retry-After``, not a 500, since trying again later works."""
    response = error(ServiceUnavailable(str(exc)))
    response.headers["Retry-After"] = str(BUSY_RETRY_AFTER)
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
    bp.register_error_handler(DecodeBusy, busy)
