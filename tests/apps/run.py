"""``python -m tests.apps.run module:factory port``: Werkzeug's threaded server, as ``flask run``
starts it (a thread per connection, no keep-alive), without its request log."""

from __future__ import annotations

import importlib
import sys
import typing as t

from werkzeug.serving import WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: t.Any) -> None:
        pass


def main() -> None:
    target, port = sys.argv[1], int(sys.argv[2])
    module, _, factory = target.partition(":")
    app = getattr(importlib.import_module(module), factory)()
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietHandler)
    server.serve_forever()


if __name__ == "__main__":
    main()
