"""The hostile-client test app (tests/apps/hostile.py) for ``bench_decode``, with glibc's
``malloc_trim`` after large decodes switched off when ``FG_BENCH_TRIM=0``: the comparison that
shows what the trim is for."""

from __future__ import annotations

import os

from flask import Flask

from tests.apps.hostile import create_app as create_hostile_app


def create_app() -> Flask:
    app = create_hostile_app()
    if os.environ.get("FG_BENCH_TRIM") == "0":
        app.extensions["flask_gallery"].media.decode_budget.trim = False
    return app
