"""A live Werkzeug server on loopback, for what the Flask test client cannot do: real browsers
(tests/browser) and real WebSocket clients (tests/test_ws_live.py)."""

from __future__ import annotations

import threading
import typing as t

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

#: WSGI environ key of the response the app returned (:meth:`QuietHandler.connection_dropped`).
_RESPONSE = "tests.live.response"


class _Response:
    """The app's response as the server iterates it, noting whether it was closed."""

    def __init__(self, response: t.Iterable[bytes]) -> None:
        self.response = response
        self.closed = False

    def __iter__(self) -> t.Iterator[bytes]:
        return iter(self.response)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            close = getattr(self.response, "close", None)
            if close is not None:
                close()


def _noting_responses(app: Flask) -> t.Callable[..., t.Iterable[bytes]]:
    def wsgi(environ: dict[str, t.Any], start_response: t.Any) -> t.Iterable[bytes]:
        response = environ[_RESPONSE] = _Response(app(environ, start_response))
        return response

    return wsgi


class QuietHandler(WSGIRequestHandler):
    """No access log: a failing test's output should show the test, not every image fetch."""

    def log_request(self, *args: t.Any) -> None:
        pass

    def connection_dropped(self, error: BaseException, environ: t.Any = None) -> None:
        """Werkzeug's dev server (3.1) closes the response after draining the request; when the
        client resets the connection during that drain, it skips the close, and a media file
        being sent is left to the garbage collector, whose ResourceWarning the suite makes an
        error in whatever test runs then. Close it here, as the server meant to."""
        response = (environ or {}).get(_RESPONSE)
        if response is not None:
            response.close()


class LiveServer:
    """A real threaded Werkzeug server for ``app`` on 127.0.0.1 and a free port."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._server = make_server(
            "127.0.0.1", 0, _noting_responses(app), threaded=True, request_handler=QuietHandler
        )
        self.host = f"127.0.0.1:{self._server.server_port}"
        self.url = f"http://{self.host}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        # The media store's background thumbnail workers belong to the app: stop them too.
        state = self.app.extensions.get("flask_gallery")
        if state is not None:
            state.media.close()
