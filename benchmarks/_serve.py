"""Werkzeug's threaded server, as ``flask run`` starts it, for the benchmarks' server processes.

Werkzeug 3.1's server gives each connection a thread and closes it after one response (no
keep-alive). Request logging is off: one line per request would cost the server more than some
of the requests being measured. Imports nothing of flask_gallery, so the floor server can use it.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from flask import Flask


def serve(app: Flask, port: int) -> None:
    """Serve ``app`` on 127.0.0.1:``port`` until killed; print the port once listening."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args: t.Any) -> None:
            pass

    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietHandler)
    print(f"listening on {server.server_port}", flush=True)
    server.serve_forever()
