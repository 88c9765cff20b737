"""Listeners as JSON endpoints, as Gradio's ``api_name``: ``POST <prefix>/api/<api_name>``.

Closed unless the app opens it. Gradio keeps its API behind the app's ``auth=``; a Flask app's
login lives on its views, which these routes would bypass. So with ``GALLERY_API`` off (the
default) only listeners the app opened itself (``api_visibility="public"`` or ``show_api=True``
written in the listener) are endpoints, and every call (and the listing) must pass the guard
the app registers with ``@galleries.api_guard``, in the request context, after the app's own
``before_request`` hooks. No guard: every call is refused. A browser's foreign ``Origin`` is
refused too.

The call goes through the same engine as a click (its trigger mode, concurrency limit and queue
apply), on a channel of its own, and answers when the run ends. ``GET <prefix>/api`` lists the
open listeners whose ``api_visibility`` is ``"public"`` and that the guard allows, with their
inputs and outputs; ``"undocumented"`` ones are callable but not listed, ``"private"`` ones (and
``api_name=False``) are neither.

Gallery values travel in Gradio's wire form (:mod:`..page.wire`): they may only name this app's
media. Event data is rebuilt by the server as a click's would be: a select or delete names an index
in range of the target gallery's value (from the call's inputs when the gallery is one of them,
else its declared value), and the item's ``value`` comes from that value, never from the caller.
"""

from __future__ import annotations

import logging
import queue
import secrets
import typing as t

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import (
    BadRequest,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    UnsupportedMediaType,
)

from ..component import Gallery
from ..events import Listener, Selection
from ..media import MediaItem
from ..page import interactions
from ..page.wire import describe, items_from_wire, loads
from ..queue.messages import TERMINAL, Message
from ..request import snapshot
from ..state import State
from .app_state import AppState, app_state
from .tokens import same_origin

_log = logging.getLogger(__name__)

#: Seconds an API call waits for its run to end.
TIMEOUT = 300.0

API_OFF = (
    "The gallery's JSON API is off. To turn it on, set GALLERY_API = True in the app's config, "
    "or open one listener with api_visibility='public' (or show_api=True); then register a "
    "guard with @galleries.api_guard."
)
NO_GUARD = (
    "No API guard is registered, so every API call is refused. Register one that decides who "
    "may call, e.g. @galleries.api_guard def allowed(listener): return "
    "current_user.is_authenticated (return True makes the API public on purpose)."
)


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
    """Inputs or outputs as the listing shows them; a ``State`` is neither sent nor returned
    (Gradio leaves it out of its API too)."""
    return [
        {
            "component": "gallery",
            "name": item.name,
            "type": "list[dict(image: url, caption: str | None)]",
        }
        if isinstance(item, (Gallery, Selection))
        else {
            "component": "element" if str(item).startswith("#") else "field",
            "name": str(item),
            "type": "str",
        }
        for item in items
        if not isinstance(item, State)
    ]


def _open_listeners(state: AppState) -> dict[str, Listener]:
    """The endpoints the app opened, by name (names are given over every listener first, so a
    name never changes with ``GALLERY_API``)."""
    api_on = bool(state.config["GALLERY_API"])
    named = api_names(state.registry.listeners())
    return {
        name: listener
        for name, listener in named.items()
        if listener.fn is not None and (api_on or listener.api_opened)
    }


def _allowed(state: AppState, listener: Listener) -> bool:
    """The app's guard, run in this request's context (it may read ``flask.request`` or
    ``current_user``, or ``abort(401)``). Only ``True`` lets a call through."""
    guard = state.registry.api_guard
    if guard is None:
        raise Forbidden(NO_GUARD)
    allowed = guard(listener)
    if not isinstance(allowed, bool):
        _log.warning(
            "The API guard %r returned %r for %s, not True or False: the call is refused.",
            guard,
            type(allowed).__name__,
            listener.name,
        )
    return allowed is True


def _check_origin() -> None:
    if not same_origin(request.headers.get("Origin")):
        raise Forbidden("Cross-site API call refused.")


def info() -> Response:
    _check_origin()
    state = app_state()
    listeners = _open_listeners(state)
    if not listeners and not state.config["GALLERY_API"]:
        raise NotFound(API_OFF)
    endpoints = {
        f"/{name}": {
            ("gallery" if isinstance(listener.target, Gallery) else "element"): (
                listener.target.name
            ),
            "event": listener.event,
            "inputs": _describe_io(listener.inputs),
            "outputs": _describe_io(listener.outputs),
        }
        for name, listener in listeners.items()
        if listener.show_api and _allowed(state, listener)
    }
    return jsonify({"endpoints": endpoints})


def _target_items(state: AppState, listener: Listener, inputs: list[t.Any]) -> list[MediaItem]:
    """The value the event happened on: the target gallery's, from the call's inputs when it is
    one of them, else as declared."""
    for source, value in zip(listener.inputs, inputs, strict=True):
        if source is listener.target:
            return t.cast("list[MediaItem]", value)
    return state.items_for(t.cast(Gallery, listener.target))


def _index(raw: t.Any, items: list[MediaItem], listener: Listener) -> int:
    index = raw.get("index") if isinstance(raw, dict) else None
    if type(index) is not int:
        raise BadRequest(
            f'A {listener.event} call needs event_data {{"index": <int>}}: the position of the '
            f"item in gallery {listener.target.name!r}'s value; got "
            f"{type(index if isinstance(raw, dict) else raw).__name__}."
        )
    if not 0 <= index < len(items):
        raise BadRequest(
            f"event_data index {index} is out of range: gallery {listener.target.name!r} has "
            f"{len(items)} item(s) for this call."
        )
    return index


def event_data(state: AppState, listener: Listener, raw: t.Any, inputs: list[t.Any]) -> t.Any:
    """The event data a click would have made, checked against the server's value; whatever
    else the caller sent is dropped."""
    if listener.event in ("select", "delete"):
        items = _target_items(state, listener, inputs)
        index = _index(raw, items, listener)
        if listener.event == "select":
            return interactions.select_data(index, items[index], describe)
        return interactions.delete_data(index, items[index], describe)
    if listener.event == "upload":
        return [describe(item) for item in items_from_wire(state, raw, "event_data")]
    if listener.event in ("change", "input") and not isinstance(listener.target, Gallery):
        if (
            raw is None
            or isinstance(raw, (str, bool))
            or (isinstance(raw, list) and all(isinstance(item, str) for item in raw))
        ):
            return raw  # a field's value, as the page sends it
        raise BadRequest(f"A {listener.event} call's event_data is the field's value (a str).")
    if raw is not None and not isinstance(raw, dict):
        raise BadRequest(f"A {listener.event or 'periodic'} call takes no event_data (or null).")
    return None


def call(api_name: str) -> Response:
    _check_origin()
    state = app_state()
    listener = _open_listeners(state).get(api_name)
    if listener is None:
        if not state.config["GALLERY_API"]:
            raise NotFound(API_OFF)
        raise NotFound(f"No API endpoint {api_name[:100]!r}. GET the API info for the list.")
    if not _allowed(state, listener):
        raise Forbidden("This API call is not allowed.")
    if not request.is_json:
        raise UnsupportedMediaType('Send the call as JSON: {"data": [...], "event_data": ...}.')
    try:
        body = loads(request.get_data())
    except ValueError as exc:
        raise BadRequest(f"The body is not readable JSON: {exc}.") from None
    if not isinstance(body, dict) or not isinstance(body.get("data", []), list):
        raise BadRequest('The body must be a JSON object like {"data": [...]}.')
    data = body.get("data", [])
    sent = [source for source in listener.inputs if not isinstance(source, State)]
    if len(data) != len(sent):
        raise BadRequest(f"{api_name!r} takes {len(sent)} input(s), got {len(data)}.")
    values = iter(enumerate(data))
    inputs: list[t.Any] = []
    for source in listener.inputs:
        if isinstance(source, State):
            inputs.append(None)  # the run starts from its default
            continue
        n, value = next(values)
        inputs.append(
            items_from_wire(state, value, f"data[{n}]")
            if isinstance(source, (Gallery, Selection))
            else value
        )
    checked = event_data(state, listener, body.get("event_data"), inputs)
    return _run(state, listener, inputs, checked)


def _run(state: AppState, listener: Listener, inputs: list[t.Any], data: t.Any) -> Response:
    """Submit the call on a channel of its own and answer when its run ends."""
    engine = state.engine()
    page = f"api-{secrets.token_urlsafe(12)}"  # the call's own channel
    ended: queue.Queue[Message] = queue.Queue()
    unsubscribe = engine.subscribe(page, lambda m: ended.put(m) if m["type"] in TERMINAL else None)
    try:
        engine.submit(
            listener, page, inputs, data, snapshot(page), client=request.remote_addr, caller="api"
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
