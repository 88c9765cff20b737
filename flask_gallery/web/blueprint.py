"""The extension's blueprint: every route of the web layer under ``GALLERY_URL_PREFIX``, with the
templates and static files that ship inside the package."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, request

from . import api, socket, views
from .app_state import app_state

_PACKAGE = Path(__file__).resolve().parent.parent


def _package_folder(name: str) -> str:
    """Templates and static files sit inside the installed package, or beside it in a checkout."""
    inside = _PACKAGE / name
    return str(inside if inside.is_dir() else _PACKAGE.parent / name)


def blueprint(url_prefix: str) -> Blueprint:
    """The routes: media and downloads, the actions (:mod:`.views`), the page's socket and its
    polling fallback (:mod:`.socket`), and the JSON API (:mod:`.api`)."""
    bp = Blueprint(
        "flask_gallery",
        __name__,
        url_prefix=url_prefix,
        template_folder=_package_folder("templates"),
        static_folder=_package_folder("static"),
        static_url_path="/static",
    )
    views.register(bp)
    socket.register(bp)
    api.register(bp)
    return bp


def check_server() -> None:
    """At a request, until the server's processes were counted: several, without
    ``GALLERY_QUEUE_URL``, are warned about once (:mod:`.processes`)."""
    processes = app_state().processes
    if not processes.server_checked:
        processes.check_server(bool(request.environ.get("wsgi.multiprocess")))
