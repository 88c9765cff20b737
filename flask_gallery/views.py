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
from werkzeug.exceptions import BadRequest, HTTPException, NotFound

from . import actions, interactions
from .app_state import app_state as _state
from .dispatch import alert, alerts_target, describe, partial
from .media import send_media
from .media.names import attachment_name
from .media.uploads import UploadRejected
from .pages import check_request
from .zipstream import stream_zip, unique_names


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
