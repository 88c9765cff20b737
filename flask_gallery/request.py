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


class Headers(t.Mapping[str, str]):
    """A request's headers as Gradio's ``request.headers``: a read-only mapping whose names are
    case-insensitive (``headers["user-agent"]``, ``headers.get("User-Agent")``), giving a
    repeated header's first value; :meth:`getlist` gives them all, in the order sent."""

    __slots__ = ("_first", "pairs")

    def __init__(self, pairs: t.Iterable[tuple[str, str]] = ()) -> None:
        self.pairs: tuple[tuple[str, str], ...] = tuple((str(k), str(v)) for k, v in pairs)
        "Every header as sent: ``(name, value)`` in order, repeated names kept."
        first: dict[str, tuple[str, str]] = {}
        for name, value in self.pairs:
            first.setdefault(name.lower(), (name, value))
        self._first = first

    def __getitem__(self, name: str) -> str:
        return self._first[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first

    def __iter__(self) -> t.Iterator[str]:
        return (name for name, _ in self._first.values())

    def __len__(self) -> int:
        return len(self._first)

    def getlist(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self.pairs if key.lower() == lowered]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self.pairs == other.pairs
        return super().__eq__(other)

    def __hash__(self) -> int:
        return hash(self.pairs)

    def __repr__(self) -> str:
        return f"Headers({list(self.pairs)!r})"


class Client(t.NamedTuple):
    """Who sent the request, as Gradio's ``request.client`` (``request.client.host``)."""

    host: str | None
    port: int | None = None


@dataclass(frozen=True)
class Request:
    """A read-only snapshot of the request that triggered an event (Gradio's ``gr.Request``).

    Annotate a handler parameter with it to receive it explicitly::

        def handler(evt: SelectData, request: Request) -> str:
            return request.username or request.headers.get("user-agent", "someone")

    As Gradio's: ``headers`` (case-insensitive), ``client.host``, ``query_params``,
    ``cookies``, ``session``, ``username``. Every field is JSON-safe after :meth:`to_dict`, so a
    worker in another process can rebuild it.
    """

    method: str = "GET"
    #: Path of the request, without the query string.
    path: str = "/"
    #: ``scheme://host/script_root/``, as ``flask.request.url_root``.
    url_root: str = "http://localhost/"
    #: Case-insensitive (:class:`Headers`); a tuple of ``(name, value)`` pairs is taken too.
    headers: Headers = field(default_factory=Headers)
    #: The query string's arguments, repeated keys kept in order.
    args: tuple[tuple[str, str], ...] = ()
    cookies: t.Mapping[str, str] = field(default_factory=dict)
    remote_addr: str | None = None
    #: A copy of ``flask.session`` when the event was triggered; changing it changes nothing.
    session: t.Mapping[str, t.Any] = field(default_factory=dict)
    #: The page token of the page the event came from.
    page: str | None = None
    #: The logged-in user's id (Flask-Login's ``current_user.get_id()``) when the app uses
    #: Flask-Login and someone is logged in, else None: Gradio's ``request.username``.
    username: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.headers, Headers):
            object.__setattr__(self, "headers", Headers(self.headers))

    @property
    def query_params(self) -> dict[str, str]:
        """First value of each query argument, as Gradio's ``request.query_params``."""
        out: dict[str, str] = {}
        for key, value in self.args:
            out.setdefault(key, value)
        return out

    @property
    def client(self) -> Client:
        """Who sent the request, as Gradio's ``request.client`` (``.host``)."""
        return Client(self.remote_addr)

    @property
    def client_host(self) -> str | None:
        """The remote address (``request.client.host``)."""
        return self.remote_addr

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first header called ``name`` (case-insensitive)."""
        return self.headers.get(name, default)

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
            headers=list(self.headers.pairs),
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
            "headers": [list(pair) for pair in self.headers.pairs],
            "args": [list(pair) for pair in self.args],
            "cookies": dict(self.cookies),
            "remote_addr": self.remote_addr,
            "session": _session_serializer().dumps(dict(self.session)),
            "page": self.page,
            "username": self.username,
        }

    @classmethod
    def from_dict(cls, data: t.Mapping[str, t.Any]) -> Request:
        """Rebuild a snapshot from :meth:`to_dict`'s output."""
        return cls(
            method=data["method"],
            path=data["path"],
            url_root=data["url_root"],
            headers=Headers((str(k), str(v)) for k, v in data["headers"]),
            args=tuple((str(k), str(v)) for k, v in data["args"]),
            cookies=dict(data["cookies"]),
            remote_addr=data["remote_addr"],
            session=_session_serializer().loads(data["session"]),
            page=data["page"],
            username=data.get("username"),
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
        headers=Headers(request.headers.items()),
        args=tuple(request.args.items(multi=True)),
        cookies=dict(request.cookies),
        remote_addr=request.remote_addr,
        session=dict(session),
        page=page,
        username=_username(),
    )


def _username() -> str | None:
    """Flask-Login's current user id, when the app uses Flask-Login and someone is logged in."""
    from flask import current_app

    if getattr(current_app, "login_manager", None) is None:
        return None
    from flask_login import current_user

    if not getattr(current_user, "is_authenticated", False):
        return None
    user_id = current_user.get_id()
    return None if user_id is None else str(user_id)


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
