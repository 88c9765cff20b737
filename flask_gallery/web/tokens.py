"""Page tokens on the Flask side: made at render time, bound to the session, checked on every
request a page makes back.

A page's token is random and only ever sent to that page, so it doubles as its CSRF secret: each
state-changing request must carry it in the ``X-Gallery-Page`` header (a cross-site form or
``fetch`` cannot set a custom header without a CORS preflight we never grant), it must belong to
the requester's Flask session, and a browser-sent ``Origin`` must be this site.
"""

from __future__ import annotations

import secrets
import typing as t
from urllib.parse import urlsplit

from flask import g, request, session
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException

from ..page.state import PageState, PageStore

if t.TYPE_CHECKING:
    from .app_state import AppState

#: The session key that ties pages to a browser session (one short random value).
SESSION_KEY = "_flask_gallery"
#: The request header carrying the page token.
PAGE_HEADER = "X-Gallery-Page"


class PageGone(HTTPException):
    """410: the page's state expired or was never there; the user must reload."""

    code = 410
    description = "This page has expired. Reload the page to go on."


class PageElsewhere(PageGone):
    """410: another process of this server made the page, and keeps it to itself (several
    processes without ``GALLERY_QUEUE_URL``, or this server before a restart)."""

    description = (
        "This page was made by another process of this server, which this one cannot reach. "
        "Reload the page."
    )


def session_id() -> str:
    """The current session's gallery id, made (and so put in the session cookie) on first use."""
    sid = session.get(SESSION_KEY)
    if not isinstance(sid, str):
        sid = secrets.token_urlsafe(16)
        session[SESSION_KEY] = sid
    return sid


def current_page(store: PageStore) -> PageState:
    """The page being rendered in this request: one token for every gallery on it."""
    page = g.get("_flask_gallery_page")
    if page is None:
        page = store.create(session_id(), path=request.path)
        g._flask_gallery_page = page
    return t.cast(PageState, page)


def same_origin(origin: str | None) -> bool:
    """True when there is no ``Origin`` (same-origin GETs, old browsers) or it is this host."""
    if not origin:
        return True
    if origin == "null":
        return False
    try:
        parts = urlsplit(origin)
    except ValueError:  # "http://[" and the like: no site at all
        return False
    return parts.netloc == request.host and parts.scheme in ("http", "https")


def check_request(token: str) -> None:
    """Refuse a request that is not from this page in this session, before anything changes.

    Raises 403 for a cross-site request, a missing or mismatched header, or another session's
    token; the caller raises 410 when the token is unknown or expired.
    """
    if not same_origin(request.headers.get("Origin")):
        raise Forbidden("Cross-site request refused.")
    sent = request.headers.get(PAGE_HEADER)
    if not sent:
        raise Forbidden(
            f"The {PAGE_HEADER} header is missing: gallery requests must come from the page."
        )
    if not _same(sent, token):
        raise Forbidden("The page token does not match this request.")


def _same(sent: str, expected: str) -> bool:
    """A constant-time comparison that takes any text a client sends (``compare_digest`` raises
    ``TypeError`` for non-ASCII ``str``)."""
    return secrets.compare_digest(
        sent.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def owned_page(state: AppState, token: str) -> PageState:
    """The page of ``token`` if this process holds it (410 otherwise: :class:`PageElsewhere`
    when another process made it) and it belongs to this session (403)."""
    page = state.pages.get(token)
    if page is None:
        _missing(state, token)
    check_owner(page)
    return page


def check_page_owner(state: AppState, token: str) -> None:
    """:func:`owned_page`'s checks without loading the page (a request checked before its
    body is read: in the Redis mode, one small call)."""
    owner = state.pages.session_of(token)
    if owner is None:
        _missing(state, token)
    _check_session(owner)


def _missing(state: AppState, token: str) -> t.NoReturn:
    if state.processes.made_elsewhere(token, str(request.endpoint)):
        raise PageElsewhere()
    raise PageGone()


def check_owner(page: PageState) -> None:
    _check_session(page.session_id)


def is_owner(page: PageState) -> bool:
    """Whether ``page`` belongs to this request's session (:func:`check_owner` without the
    403, for a caller that falls back to something else)."""
    return _owns(page.session_id)


def _owns(owner: str) -> bool:
    return _same(owner, str(session.get(SESSION_KEY, "")))


def _check_session(owner: str) -> None:
    if not _owns(owner):
        raise Forbidden("This page belongs to another session. Reload the page.")


def parse_index(value: str | None, count: int) -> int:
    """An item index from the request, in range; 400 otherwise (forged or stale indices)."""
    try:
        index = int(value or "")
    except ValueError:
        raise BadRequest(f"Item index {value!r} is not a number.") from None
    if not 0 <= index < count:
        raise BadRequest(
            f"Item index {index} is out of range: the gallery has {count} item(s). "
            "Reload the page if it changed."
        )
    return index
