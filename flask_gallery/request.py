"""The request behind an event, as plain data, and the Flask context rebuilt from it.

Handlers run off the request thread (and, with a Redis queue, in another process), yet they need to
know who clicked. The view takes a :class:`Request` snapshot; the worker rebuilds an app and
request context from it, so ``flask.request``, ``flask.session`` and Flask-Login's
``current_user`` work in a handler as in the view. Flask is imported only by the functions that
need it, so the engine can import :class:`Request` without pulling in Flask.
"""

from __future__ import annotations

import contextlib
import functools
import typing as t
from dataclasses import dataclass, field

if t.TYPE_CHECKING:
    from flask import Flask

    from .queue.jobs import Job


@dataclass(frozen=True)
class Request:
    """A read-only snapshot of the request that triggered an event (Gradio's ``gr.Request``).

    Annotate a handler parameter with it to receive it explicitly::

        def handler(evt: SelectData, request: Request) -> str:
            return request.session.get("user_id", "anonymous")

    Every field is JSON-safe after :meth:`to_dict`, so a worker in another process can rebuild it.
    """

    method: str = "GET"
    #: Path of the request, without the query string.
    path: str = "/"
    #: ``scheme://host/script_root/``, as ``flask.request.url_root``.
    url_root: str = "http://localhost/"
    headers: tuple[tuple[str, str], ...] = ()
    #: The query string's arguments, repeated keys kept in order.
    args: tuple[tuple[str, str], ...] = ()
    cookies: t.Mapping[str, str] = field(default_factory=dict)
    remote_addr: str | None = None
    #: A copy of ``flask.session`` when the event was triggered; changing it changes nothing.
    session: t.Mapping[str, t.Any] = field(default_factory=dict)
    #: The page token of the page the event came from.
    page: str | None = None

    @property
    def query_params(self) -> dict[str, str]:
        """First value of each query argument, as Gradio's ``request.query_params``."""
        out: dict[str, str] = {}
        for key, value in self.args:
            out.setdefault(key, value)
        return out

    @property
    def client_host(self) -> str | None:
        """The remote address, under Gradio's name (``request.client.host``)."""
        return self.remote_addr

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first header called ``name`` (case-insensitive)."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return default

    @functools.cached_property
    def _environ(self) -> dict[str, t.Any]:
        """A WSGI environ of this request (no body), built once: every click a page sends over
        its socket shares the socket's snapshot, and building an environ is most of what
        rebuilding a handler's request context costs. Copy it before use."""
        from werkzeug.test import EnvironBuilder

        builder = EnvironBuilder(
            path=self.path,
            base_url=self.url_root,
            method=self.method,
            headers=list(self.headers),
            query_string=_query_string(self.args),
            environ_base={"REMOTE_ADDR": self.remote_addr or ""},
        )
        try:
            return builder.get_environ()
        finally:
            builder.close()

    def to_dict(self) -> dict[str, t.Any]:
        """A JSON-safe dict; the session is serialised as Flask's cookie session serialises it, so
        bytes, datetimes and tuples come back as they were."""
        return {
            "method": self.method,
            "path": self.path,
            "url_root": self.url_root,
            "headers": [list(pair) for pair in self.headers],
            "args": [list(pair) for pair in self.args],
            "cookies": dict(self.cookies),
            "remote_addr": self.remote_addr,
            "session": _session_serializer().dumps(dict(self.session)),
            "page": self.page,
        }

    @classmethod
    def from_dict(cls, data: t.Mapping[str, t.Any]) -> Request:
        """Rebuild a snapshot from :meth:`to_dict`'s output."""
        return cls(
            method=data["method"],
            path=data["path"],
            url_root=data["url_root"],
            headers=tuple((str(k), str(v)) for k, v in data["headers"]),
            args=tuple((str(k), str(v)) for k, v in data["args"]),
            cookies=dict(data["cookies"]),
            remote_addr=data["remote_addr"],
            session=_session_serializer().loads(data["session"]),
            page=data["page"],
        )


def _session_serializer() -> t.Any:
    from flask.json.tag import TaggedJSONSerializer

    return TaggedJSONSerializer()


def snapshot(page: str | None = None) -> Request:
    """Snapshot the current ``flask.request`` and ``flask.session`` (call it in the view)."""
    from flask import request, session

    return Request(
        method=request.method,
        path=request.path,
        url_root=request.url_root,
        headers=tuple((k, v) for k, v in request.headers.items()),
        args=tuple(request.args.items(multi=True)),
        cookies=dict(request.cookies),
        remote_addr=request.remote_addr,
        session=dict(session),
        page=page,
    )


@contextlib.contextmanager
def request_context(app: Flask, snapshot: Request | None) -> t.Iterator[None]:
    """Push an app context and a request context rebuilt from ``snapshot`` (or only the app
    context when there is none, as for periodic runs of a page whose request is unknown)."""
    if snapshot is None:
        with app.app_context():
            yield
        return
    from flask.ctx import RequestContext
    from flask.sessions import SecureCookieSession

    # Handing the session over means Flask does not reopen it from the cookie: the snapshot is
    # what the view saw, even where the cookie has since changed or the session is server-side.
    session = SecureCookieSession(dict(snapshot.session))
    with RequestContext(app, dict(snapshot._environ), session=session):
        yield


def _query_string(args: tuple[tuple[str, str], ...]) -> str:
    from urllib.parse import urlencode

    return urlencode(args)


def run_context(app: Flask) -> t.Callable[[Job], t.ContextManager[None]]:
    """The engine's ``run_context`` hook for ``app``: each run happens inside the app and request
    context of the submission that caused it."""

    def hook(job: Job) -> t.ContextManager[None]:
        return request_context(app, job.request)

    return hook
