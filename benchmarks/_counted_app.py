"""The servers of bench_path.py: bench_events' page (``gallery``) or the floor's (``floor``),
counting the Python calls of all their threads between ``GET /_count/start`` and
``GET /_count/stop``.

``threading.setprofile`` gives every thread started after the app is made (the server's request
threads, simple-websocket's readers, the engine's workers) a profile function, which counts
``call`` events while counting is on. It slows every call while installed: this measures how
many calls a click takes, never how long.

Served by the benchmark (``tests/servers.py``'s ``ServerProcess``), never by hand::

    python -m tests.apps.run benchmarks._counted_app:gallery <port>
"""

from __future__ import annotations

import collections
import threading
import types
import typing as t

from flask import Flask


class _Calls:
    """The profile function: calls counted by code object while :attr:`on`."""

    def __init__(self) -> None:
        self.on = False
        self.counts: collections.Counter[types.CodeType] = collections.Counter()

    def __call__(self, frame: types.FrameType, event: str, arg: t.Any) -> None:
        if self.on and event == "call":
            self.counts[frame.f_code] += 1


def package(filename: str) -> str:
    """Where a function's code lives: a distribution of site-packages, ``flask_gallery``, the
    standard library, or ``generated`` (code that dataclasses and namedtuple compile)."""
    if filename.startswith("<"):
        return "generated" if filename == "<string>" else "stdlib"
    if "/flask_gallery/" in filename:
        return "flask_gallery"
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    return "stdlib"


def _counted(app: Flask) -> Flask:
    calls = _Calls()
    threading.setprofile(calls)

    @app.get("/_count/<what>")
    def count(what: str) -> dict[str, t.Any]:
        if what == "start":
            calls.counts.clear()
            calls.on = True
            return {}
        calls.on = False
        by_package: collections.Counter[str] = collections.Counter()
        for code, n in calls.counts.items():
            by_package[package(code.co_filename)] += n
        return {"calls": sum(by_package.values()), "by_package": dict(by_package)}

    return app


def gallery() -> Flask:
    from benchmarks._events_app import create_app

    return _counted(create_app())


def floor() -> Flask:
    from benchmarks._floor_app import create_app

    return _counted(create_app())
