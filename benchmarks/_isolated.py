"""Cross-origin isolation for the pages the browser benchmarks time.

Without it chromium rounds ``performance.now()`` to 0.1 ms, coarser than the differences
bench_floor.py compares (a floor click reads 0.5-0.9 ms); an isolated page reads it to about
5 us. Every file of these pages is same-origin, so isolation changes nothing else.
"""

from __future__ import annotations

from flask import Flask, Response


def cross_origin_isolated(app: Flask) -> Flask:
    """Serve every response of ``app`` with the two headers that make its pages isolated."""

    @app.after_request
    def isolate(response: Response) -> Response:
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Cross-Origin-Embedder-Policy"] = "require-corp"
        return response

    return app
