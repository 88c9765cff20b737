"""The ``<link>``/``<script>`` tags ``gallery_assets()`` puts in a page's ``<head>``.

Everything is served by the extension's own static route: the browser never loads anything from
a CDN. A CSP nonce, when given, goes on every script tag so a strict policy
(``script-src 'nonce-...'``, no 'unsafe-inline', no 'unsafe-eval') still runs them.
"""

from __future__ import annotations

import typing as t

from markupsafe import Markup

#: The vendored htmx release (npm package ``htmx.org``); see static/flask_gallery/vendor/VENDOR.md.
HTMX_VERSION = "4.0.1"

#: Files under the blueprint's static folder, in load order.
STYLESHEETS = ("flask_gallery/gallery.css",)
SCRIPTS = (
    f"flask_gallery/vendor/htmx-{HTMX_VERSION}.min.js",
    f"flask_gallery/vendor/hx-ws-{HTMX_VERSION}.min.js",
    "flask_gallery/gallery.js",
)


def asset_tags(static_url: t.Callable[[str], str], *, nonce: str | None = None) -> Markup:
    """Build the tags; ``static_url`` maps a static file name to its URL (with a cache buster)."""
    nonce_attr = Markup(' nonce="{}"').format(nonce) if nonce else Markup("")
    tags = [Markup('<link rel="stylesheet" href="{}">').format(static_url(f)) for f in STYLESHEETS]
    tags += [
        Markup('<script src="{}"{} defer></script>').format(static_url(f), nonce_attr)
        for f in SCRIPTS
    ]
    return Markup("\n").join(tags)
