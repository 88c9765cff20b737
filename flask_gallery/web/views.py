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

from flask import Blueprint, Response, jsonify, request, session
from markupsafe import Markup
from werkzeug.exceptions import (
    BadRequest,
    Forbidden,
    HTTPException,
    NotFound,
    RequestEntityTooLarge,
    ServiceUnavailable,
)

from . import actions, interactions
from .app_state import AppState
from .app_state import app_state as _state
from .dispatch import alert, alerts_target, describe, partial
from .media import MediaItem, send_media
from .media.budget import DecodeBusy
from .media.names import attachment_name
from .media.uploads import UploadRejected, clean_filename
from .pages import SESSION_KEY, check_page_owner, check_request
from .zipstream import stream_zip, unique_names

#: The largest body of a gallery request other than an upload (form fields, an API call).
MAX_FORM_BYTES = 1024 * 1024
#: Routes of one page (``/p/<page>/...``), checked against the page before anything is read.
PAGE_ENDPOINTS = frozenset({"actions", "select", "close", "delete", "upload"})
#: Routes of the JSON API (:mod:`.api`), which answer errors in JSON.
API_ENDPOINTS = frozenset({"api_info", "api_call"})


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
    """The page's request checks, cheapest first: origin and the page's header (403), the
    session cookie (403: without it no page can be this requester's), the page (410 when
    gone, 403 when another session's)."""
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
    with actions.editing(page, name) as (state, gallery, page_state, gallery_state):
        return state.extension.draw(gallery, gallery_state, page_state.token)


def _answered(answer: actions.Answer) -> Markup:
    answer.fire()
    return answer.html


def select(page: str, name: str, index: str) -> Markup:
    return _answered(actions.select(page, name, index, request.form))


def close(page: str, name: str) -> Markup:
    return _answered(actions.close(page, name, request.form))


def delete(page: str, name: str, index: str) -> Markup:
    return _answered(actions.delete(page, name, index, request.form))


def upload(page: str, name: str) -> Markup:
    """Files from the picker, a drop, the clipboard or the webcam. Each is checked by content;
    the good ones are appended together (never half an upload), each refused one is named with
    its reason, as is each one past ``GALLERY_MAX_ITEMS`` (never decoded). The picker and drops
    fire ``upload`` then ``change``; clipboard and webcam only ``change``, as Gradio."""
    source = request.form.get("source", "upload")
    if source not in ("upload", "clipboard", "webcam"):
        raise BadRequest(f"Unknown upload source {source[:100]!r}.")
    with actions.editing(page, name) as (state, gallery, page_state, gallery_state):
        props = actions.check_interactive(state, gallery, gallery_state)
        config = state.config
        max_files, max_items = config["GALLERY_MAX_UPLOAD_FILES"], config["GALLERY_MAX_ITEMS"]
        files = request.files.getlist("files")
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
    answer = actions.redrawn(state, gallery, page_state, fired, request.form, None)
    alerts = [
        partial(f"{answer.target}-alerts", "beforeend", alert("error", f"{e.filename}: {e.reason}"))
        for e in refused
    ]
    return _answered(answer) + Markup("").join(alerts)


def error(exc: HTTPException) -> Response:
    """A refused gallery request as a message inside the gallery: htmx swaps 4xx responses, so
    the answer is retargeted to the gallery's alert area and the gallery itself stays as it was.
    The JSON API answers ``{"error": message}``; ``abort(response)`` (an API guard's) is sent as
    it was made."""
    if exc.response is not None:
        return t.cast(Response, exc.response)
    text = exc.description or exc.name
    if (request.endpoint or "").rpartition(".")[2] in API_ENDPOINTS:
        response = jsonify({"error": text})
        response.status_code = exc.code or 500
    else:
        response = Response(alert("error", text), status=exc.code, mimetype="text/html")
        target = alerts_target(request.headers.get("X-Gallery-Root", ""))
        if request.headers.get("HX-Request") and target:
            response.headers["HX-Retarget"] = target
            response.headers["HX-Reswap"] = "innerHTML"
    for header, value in exc.get_headers():  # WWW-Authenticate of a 401, Allow of a 405...
        if header.lower() != "content-type":
            response.headers[header] = value
    return response


#: Seconds a client is told to wait before asking again for an image the server was too busy
#: to decode.
BUSY_RETRY_AFTER = 5


def busy(exc: DecodeBusy) -> Response:
    """A thumbnail, full file or download that could not get its share of the decode budget in
    time: 503 with ``Retry-After``, not a 500, since trying again later works."""
    return unavailable(str(exc), BUSY_RETRY_AFTER)


def unavailable(text: str, retry_after: int) -> Response:
    """:func:`error`'s 503 for what works again in ``retry_after`` seconds, which it says."""
    response = error(ServiceUnavailable(text))
    response.headers["Retry-After"] = str(retry_after)
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
    bp.url_value_preprocessor(refuse_early)
    bp.register_error_handler(HTTPException, error)
    bp.register_error_handler(DecodeBusy, busy)
