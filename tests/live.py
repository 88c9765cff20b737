"""A live Werkzeug server on loopback, for what the Flask test client cannot do: real browsers
(tests/browser) and real WebSocket clients (tests/test_ws_live.py)."""

from __future__ import annotations

import threading
import typing as t

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    """No access log: a failing test's output should show the test, not every image fetch."""

    def log_request(self, *args: t.Any) -> None:
        pass


class LiveServer:
    """A real threaded Werkzeug server for ``app`` on 127.0.0.1 and a free port."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
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
