"""Listeners as JSON endpoints, as Gradio's ``api_name``: ``POST <prefix>/api/<api_name>``.

The call goes through the same engine as a click (its trigger mode, concurrency limit and queue
apply), on a channel of its own, and answers when the run ends. ``GET <prefix>/api`` lists the
listeners whose ``api_visibility`` is ``"public"`` (``show_api=True``), with their inputs and
outputs; ``"undocumented"`` ones are callable but not listed, ``"private"`` ones (and
``api_name=False``) are neither.

Gallery values travel in Gradio's wire form: a list of ``{"image": {"url": ...}, "caption":
...}`` items (or plain URL strings) whose URLs are this app's media URLs; the server never
fetches anything else.
"""

from __future__ import annotations

import queue
import secrets
import typing as t

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import BadRequest, NotFound, ServiceUnavailable, UnsupportedMediaType

from .app_state import AppState, app_state
from .events import Listenable, Listener
from .media import MediaItem

#: Channel names of API calls start with this, so the result hook knows there is no page.
API_PAGE = "api:"
#: Seconds an API call waits for its run to end.
TIMEOUT = 300.0


def api_names(listeners: t.Iterable[Listener]) -> dict[str, Listener]:
    """Unique endpoint names: a repeated name gets ``_1``, ``_2``... as Gradio does."""
    names: dict[str, Listener] = {}
    for listener in listeners:
        if listener.api_name is None or listener.api_visibility == "private":
            continue
        name, n = listener.api_name, 0
        while name in names:
            n += 1
            name = f"{listener.api_name}_{n}"
        names[name] = listener
    return names


def _describe_io(items: t.Iterable[t.Any]) -> list[dict[str, str]]:
    return [
        {
            "component": "gallery",
            "name": item.name,
            "type": "list[dict(image: url, caption: str | None)]",
        }
        if isinstance(item, Listenable)
        else {
            "component": "element" if str(item).startswith("#") else "field",
            "name": str(item),
            "type": "str",
        }
        for item in items
    ]


def _listeners(state: AppState) -> dict[str, Listener]:
    return api_names(lst for g in state.extension.galleries.values() for lst in g.listeners)


def info() -> Response:
    state = app_state()
    endpoints = {
        f"/{name}": {
            "gallery": listener.target.name,
            "event": listener.event,
            "inputs": _describe_io(listener.inputs),
            "outputs": _describe_io(listener.outputs),
        }
        for name, listener in _listeners(state).items()
        if listener.show_api
    }
    return jsonify({"endpoints": endpoints})


def items_from_wire(state: AppState, value: t.Any, where: str) -> list[MediaItem]:
    """Gallery items in Gradio's wire form (or URL strings) that name this app's media."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRequest(f"{where} must be a list of gallery items or null.")
    items = []
    prefix = f"{request.script_root}{state.config['GALLERY_URL_PREFIX']}/media/"
    for n, entry in enumerate(value):
        caption = None
        url = entry
        if isinstance(entry, dict):
            media = entry.get("image") or entry.get("video") or {}
            url, caption = (
                media.get("url") if isinstance(media, dict) else None,
                entry.get("caption"),
            )
        if not isinstance(url, str) or not url.startswith(prefix):
            raise BadRequest(
                f"{where}[{n}]: give the URL of a media item of this app (from a gallery or an "
                "earlier result); the server fetches nothing else."
            )
        media_id = url[len(prefix) :].split("/")[0]
        try:
            items.append(state.media.item(media_id, caption if isinstance(caption, str) else None))
        except LookupError:
            raise BadRequest(f"{where}[{n}]: unknown media item {url!r}.") from None
    return items


def call(api_name: str) -> Response:
    state = app_state()
    listener = _listeners(state).get(api_name)
    if listener is None or listener.fn is None:
        raise NotFound(f"No API endpoint {api_name!r}. GET the API info for the list.")
    if not request.is_json:
        raise UnsupportedMediaType('Send the call as JSON: {"data": [...], "event_data": ...}.')
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("data", []), list):
        raise BadRequest('The body must be a JSON object like {"data": [...]}.')
    data = body.get("data", [])
    if len(data) != len(listener.inputs):
        raise BadRequest(f"{api_name!r} takes {len(listener.inputs)} input(s), got {len(data)}.")
    inputs = [
        items_from_wire(state, value, f"data[{n}]") if isinstance(source, Listenable) else value
        for n, (source, value) in enumerate(zip(listener.inputs, data, strict=True))
    ]
    from .request import snapshot

    engine = state.engine()
    page = API_PAGE + secrets.token_urlsafe(12)
    ended: queue.Queue[dict[str, t.Any]] = queue.Queue()
    unsubscribe = engine.subscribe(
        page,
        lambda m: (
            ended.put(m) if m["type"] in ("done", "failed", "cancelled", "rejected") else None
        ),
    )
    try:
        engine.submit(
            listener,
            page,
            inputs,
            body.get("event_data"),
            snapshot(page),
            client=request.remote_addr,
        )
        try:
            message = ended.get(timeout=TIMEOUT)
        except queue.Empty:
            engine.cancel(page)
            raise ServiceUnavailable("The call did not finish in time.") from None
    finally:
        unsubscribe()
        engine.close_page(page)
    if message["type"] == "done":
        value = message.get("value") or {}
        return jsonify({"data": value.get("data", []) if isinstance(value, dict) else []})
    status = (
        503 if message.get("code") == "queue_full" else 422 if message["type"] == "failed" else 409
    )
    response = jsonify({"error": message.get("error") or message.get("reason") or message["type"]})
    response.status_code = status
    return response


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/api", "api_info", info)
    bp.add_url_rule("/api/<api_name>", "api_call", call, methods=["POST"])
