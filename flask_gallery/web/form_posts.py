"""Uploads from a browser without JavaScript: the upload zone is a plain
``<form method="post" enctype="multipart/form-data">`` posting to the gallery's upload route.

Such a post cannot carry the page's ``X-Gallery-Page`` header, so its CSRF defence is the
browser's own word that it comes from this site: its ``Origin`` names this host (or, where a
referrer policy made it ``null`` or left it out, ``Sec-Fetch-Site`` says ``same-origin``). The
page token in the route, the session cookie and the page's owner are checked as for every
request. The answer is a 303 back to the page (the same-origin ``Referer`` when it is that
page's path, keeping its query; else the path the page was drawn at: never a URL the client
chose elsewhere). That page then draws the same page state again, with the new items, and the
refusals as error toasts: a one-shot note in the session, as Flask's ``flash``.
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

from flask import g, redirect, request, session
from werkzeug.exceptions import Forbidden

from .tokens import PAGE_HEADER, current_page, is_owner, same_origin

if t.TYPE_CHECKING:
    from flask import Response

    from ..page.state import GalleryState, PageState, PageStore

#: The session key of the one-shot note a form post leaves for the page it redirects to.
POSTED_KEY = "_flask_gallery_posted"
#: At most this many refusals, each cut to NOTE_CHARS, travel in the session cookie.
MAX_NOTES = 5
NOTE_CHARS = 300


def is_form_upload() -> bool:
    """The upload zone's own form posted this upload: neither gallery.js nor htmx sent it (they
    always send the page header and ``HX-Request``)."""
    return (
        (request.endpoint or "").rpartition(".")[2] == "upload"
        and not request.headers.get(PAGE_HEADER)
        and not request.headers.get("HX-Request")
    )


def from_this_site() -> bool:
    """The browser says the post comes from a page of this site."""
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return same_origin(origin)
    return request.headers.get("Sec-Fetch-Site") == "same-origin"


def check_form_post() -> None:
    """403 for a form post the browser does not vouch for: cross-site, or from a browser that
    sends neither ``Origin`` nor ``Sec-Fetch-Site``."""
    if not from_this_site():
        raise Forbidden(
            "Cross-site upload refused: the browser did not show that this form was posted from "
            "this site (no same-origin Origin or Sec-Fetch-Site header)."
        )


def local_path(url: str | None) -> str | None:
    """``url`` as a path of this site (with its query), or None when it is not one: another
    host or scheme, a scheme-relative ``//host`` or ``/\\host``, or control characters."""
    if not url or any(ord(c) < 32 or c == "\\" for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.netloc and (parts.netloc != request.host or parts.scheme not in ("http", "https")):
        return None
    if (parts.scheme and not parts.netloc) or not parts.path.startswith("/"):
        return None
    if parts.path.startswith("//"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def return_path(page_path: str | None) -> str | None:
    """Where the post goes back: the ``Referer`` when it is a page of this site (at the page's
    own path when that is known), else the path the page was drawn at. Paths are the browser's,
    with the app's ``SCRIPT_NAME`` root (a page's recorded path is the app's, without it)."""
    referer = local_path(request.headers.get("Referer"))
    own = None if page_path is None else request.script_root + page_path
    if referer is not None and (own is None or referer.split("?")[0] == own):
        return referer
    return local_path(own)


def redirect_back(page: PageState | None, notes: t.Sequence[str] = ()) -> Response | None:
    """The 303 back to the page, leaving ``notes`` for it; None when there is nowhere to go."""
    target = return_path(page.path if page is not None else None)
    if target is None:
        return None
    path = target.split("?")[0]
    root = request.script_root
    session[POSTED_KEY] = {
        "page": page.token if page is not None else None,
        # As the page's request will see it (request.path, without the app's root).
        "path": path[len(root) :] if root and path.startswith(root + "/") else path,
        "notes": [note[:NOTE_CHARS] for note in notes[:MAX_NOTES]],
    }
    return t.cast("Response", redirect(target, code=303))


def refused(text: str, page: PageState | None) -> Response | None:
    """A refused form post as a 303 back with its message, for a post from this site; None
    (the caller answers with the error itself) for any other."""
    if not from_this_site():
        return None
    return redirect_back(page, [text])


def resumed_page(store: PageStore) -> PageState | None:
    """The page a form post just redirected to, drawn again with its state (once): its notes
    are kept for :func:`notes`, its galleries for :func:`resumed`."""
    posted = session.get(POSTED_KEY)
    if not isinstance(posted, dict) or posted.get("path") != request.path:
        return None
    session.pop(POSTED_KEY)
    g._flask_gallery_notes = [str(note) for note in posted.get("notes", [])][:MAX_NOTES]
    token = posted.get("page")
    page = store.get(token) if isinstance(token, str) else None
    if page is None or page.path != request.path or not is_owner(page):
        return None
    g._flask_gallery_resumed = set(page.galleries)
    g._flask_gallery_page = page
    return page


def page_to_draw(store: PageStore) -> PageState:
    """The page being rendered: the one a form post redirected to when this is its redirect,
    else :func:`.tokens.current_page`'s."""
    if g.get("_flask_gallery_page") is None:
        resumed_page(store)
    return current_page(store)


def resumed(page: PageState, name: str) -> GalleryState | None:
    """The gallery's state as the form post left it, the first time the page draws it."""
    kept: set[str] = g.get("_flask_gallery_resumed", set())
    if name not in kept:
        return None
    kept.discard(name)
    return page.galleries[name]


def notes() -> list[str]:
    """The refusals the redirecting post left for this page (each shown once)."""
    found: list[str] = g.pop("_flask_gallery_notes", [])
    return found
