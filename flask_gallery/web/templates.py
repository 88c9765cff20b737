"""The Jinja globals an app's templates call: ``gallery(name, **overrides)`` where a gallery
goes, ``gallery_assets()`` in ``<head>``, and ``gallery_page()`` on a page that has no gallery
but elements with listeners or a ``load``."""

from __future__ import annotations

import logging
import re
import typing as t
from urllib.parse import urlsplit

from flask import Response, current_app, g, render_template, request, url_for
from markupsafe import Markup

from .._version import __version__
from ..component import Gallery
from ..page import deep_link
from ..page.draw import draw, flask_wtf_token, props_for
from ..page.fragments import TOASTS_ID, toast
from ..page.state import GalleryState, PageState
from ..page.view import initial_indices, initial_selection, request_headers
from .actions import SOCKET_ACTIONS
from .app_state import app_state
from .assets import asset_tags
from .form_posts import notes, page_to_draw, resumed


def gallery(name: str | None = None, **overrides: t.Any) -> Markup:
    """Evaluate the gallery's value (a callable one again, as Gradio at each page load), record
    it as this page's state for the gallery under the page's token, and draw it. The first
    gallery of a page also draws the page's socket and toast region (:func:`_socket`). A deep
    link in the page's URL naming one of its items opens its preview (:mod:`..page.deep_link`)."""
    state = app_state()
    declared = state.registry.lookup(name)
    props = props_for(declared, overrides)
    if not props.render:
        return Markup("")
    state.compile_templates(current_app.jinja_env)
    state.start_retention()
    items = state.items_for(declared)
    selected = initial_selection(props, len(items))
    gallery_state = GalleryState(
        items=items,
        selected=selected,
        preview_open=selected is not None and props.allow_preview,
        overrides=dict(overrides),
        selection=initial_indices(props, len(items)),
    )
    key = deep_link.linked_key(request.args.getlist(deep_link.PARAM), declared.name)
    if key is not None:
        deep_link.follow(gallery_state, key, props.allow_preview)
    page = page_to_draw(state.pages)
    # Back from an upload posted without JavaScript: the gallery as that post left it.
    gallery_state = resumed(page, declared.name) or gallery_state
    page.galleries[declared.name] = gallery_state
    state.pages.save(page)
    html = draw(state, declared, gallery_state, page.token, props)
    return _socket(page) + html


def page_socket() -> Markup:
    """The page's connection, for a page without a gallery (``gallery_page()``)."""
    state = app_state()
    page = page_to_draw(state.pages)
    state.pages.save(page)
    return _socket(page)


def _socket(page: PageState) -> Markup:
    """The page's one connection (hx-ws opens a socket for every element that asks), with what
    gallery.js binds on the page's own elements, and its toast region (every message of the
    page goes there, whatever element it is about); drawn once per page."""
    if g.get("_flask_gallery_socket"):
        return Markup("")
    g._flask_gallery_socket = True
    registry = app_state().registry
    actions = url_for("flask_gallery.actions", page=page.token, name="_")
    return Markup(
        render_template(
            "flask_gallery/_socket.html",
            # A path: hx-ws picks ws: or wss: itself, right behind a TLS proxy too.
            ws_url=urlsplit(url_for("flask_gallery.relay", page=page.token)).path,
            poll_url=url_for("flask_gallery.poll", page=page.token),
            page=page.token,
            socket_actions=" ".join(SOCKET_ACTIONS),
            elements=registry.element_specs(),
            # Element events go to <this>/<id>/on/<event> while the socket is down.
            trigger_url=actions[: -len("/_")],
            headers=request_headers(page.token, "", flask_wtf_token()),
        )
    ) + Markup(
        render_template(
            "flask_gallery/_toasts.html",
            toasts_id=TOASTS_ID,
            toasts=Markup("").join(toast("error", note) for note in notes()),
        )
    )


_log = logging.getLogger("flask_gallery")


def check_elements(response: Response) -> Response:
    """In debug mode, log once each element with listeners that a page seems to be missing: its
    id is not in the page, yet a gallery or an ``"#id"`` its listeners write to is. A typo in
    ``galleries.element("#...")`` would otherwise leave its button doing nothing, silently; an
    element of another page of the app (whose outputs are not here) is not reported."""
    if not (current_app.debug and g.get("_flask_gallery_socket")) or response.is_streamed:
        return response
    state = app_state()
    page: PageState = g._flask_gallery_page
    html = response.get_data(as_text=True)
    for element_id, element in state.registry.elements.items():
        if element_id in state.missing_elements or _has_id(html, element_id):
            continue
        outputs = [item for lst in element.listeners for item in lst.outputs]
        if any(
            item.name in page.galleries if isinstance(item, Gallery) else _has_id(html, item[1:])
            for item in outputs
            if isinstance(item, (Gallery, str))
        ):
            state.missing_elements.add(element_id)
            _log.warning(
                "No element with id %r is on the page %s, which shows the outputs of"
                " galleries.element('#%s'): check the id in the template.",
                element_id,
                page.path,
                element_id,
            )
    return response


def _has_id(html: str, element_id: str) -> bool:
    return re.search(rf"""\bid\s*=\s*["']?{re.escape(element_id)}["'\s>]""", html) is not None


def gallery_assets(nonce: str | None = None) -> Markup:
    """CSS and scripts, all served by the extension itself (never a CDN)."""
    app_state()  # a clear error when the extension is not registered on this app
    return asset_tags(
        lambda f: url_for("flask_gallery.static", filename=f, v=__version__), nonce=nonce
    )
