"""The two Jinja globals an app's templates call: ``gallery(name, **overrides)`` where a gallery
goes, and ``gallery_assets()`` in ``<head>``."""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

from flask import current_app, g, render_template, url_for
from markupsafe import Markup

from .._version import __version__
from ..page.draw import draw, props_for
from ..page.fragments import TOASTS_ID
from ..page.state import GalleryState
from ..page.view import initial_selection
from .actions import SOCKET_ACTIONS
from .app_state import app_state
from .assets import asset_tags
from .tokens import current_page


def gallery(name: str | None = None, **overrides: t.Any) -> Markup:
    """Evaluate the gallery's value (a callable one again, as Gradio at each page load), record
    it as this page's state for the gallery under the page's token, and draw it. The first
    gallery of a page also draws the page's socket (one connection per page) and its toast
    region (one per page, where every message of the page goes)."""
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
    )
    page = current_page(state.pages)
    page.galleries[declared.name] = gallery_state
    state.pages.save(page)
    html = draw(state, declared, gallery_state, page.token, props)
    if g.get("_flask_gallery_socket"):
        return html
    # One connection per page: hx-ws opens a socket for every element that asks.
    g._flask_gallery_socket = True
    socket = render_template(
        "flask_gallery/_socket.html",
        # A path: hx-ws picks ws: or wss: itself, right behind a TLS proxy too.
        ws_url=urlsplit(url_for("flask_gallery.relay", page=page.token)).path,
        poll_url=url_for("flask_gallery.poll", page=page.token),
        page=page.token,
        socket_actions=" ".join(SOCKET_ACTIONS),
    )
    toasts = render_template("flask_gallery/_toasts.html", toasts_id=TOASTS_ID)
    return Markup(socket) + Markup(toasts) + html


def gallery_assets(nonce: str | None = None) -> Markup:
    """CSS and scripts, all served by the extension itself (never a CDN)."""
    app_state()  # a clear error when the extension is not registered on this app
    return asset_tags(
        lambda f: url_for("flask_gallery.static", filename=f, v=__version__), nonce=nonce
    )
