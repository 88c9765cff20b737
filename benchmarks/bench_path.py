"""How long a click's path is on the server, in Python function calls: a count that does not
swing with the machine's load, as every time of bench_floor and bench_events does (2x from one
minute to the next on this machine).

Each server (the gallery of bench_events, ``_events_app.py``, and the floor, ``_floor_app.py``,
both through ``_counted_app.py``) gets one page with its socket open, 50 untimed clicks, then
``--clicks`` clicks in a closed loop while it counts the Python calls (profile ``call`` events)
of all its threads; the count of a window with no click in it (the counting requests' own) is
taken off. The gallery is clicked with two frames:

- ``drawn``: what gallery.js sends in a gallery without a preview, whose highlight the page
  draws itself (``"drawn": true``): bench_floor's chromium clicks;
- ``plain``: bench_events' frame, whose answer (the two thumbnails whose highlight changed) the
  server draws. Trees older than the ``drawn`` flag take only this one (``--frames plain``).

Printed: calls per click by package, and the gallery's over the floor's::

    python3 benchmarks/bench_path.py [--clicks 300] [--frames drawn plain]

To count an older tree, copy this script and ``_counted_app.py`` into it and run it from that
tree's root with ``PYTHONPATH=<tree>``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import typing as t
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_events import Server, VirtualClient, line

#: Untimed clicks before counting (caches, the engine's threads, the first file encodes).
WARM_UP = 50
#: gallery.js's select frame in a gallery whose highlight the page draws itself.
DRAWN = {"action": "select", "gallery": "bench", "values": {}, "drawn": True}
#: Packages printed on their own line, in this order; the rest is summed as "other".
SHOWN = ("flask_gallery", "flask", "werkzeug", "jinja2", "markupsafe", "wsproto", "stdlib")


def counting_server(side: str, instance: Path) -> Server:
    """``_counted_app.py``'s ``gallery`` or ``floor`` on Werkzeug's threaded server."""
    role = "floor" if side == "floor" else "werkzeug"
    return Server(role, "default", instance, app=f"benchmarks._counted_app:{side}")


async def count(server: Server, clicks: int, drawn: bool) -> dict[str, float]:
    """Calls per click by package, for ``clicks`` clicks of one page over its socket."""

    def get(what: str) -> dict[str, t.Any]:
        with urllib.request.urlopen(f"{server.url}/_count/{what}", timeout=30) as response:
            return t.cast("dict[str, t.Any]", json.load(response))

    async def click(vc: VirtualClient, i: int) -> None:
        if not drawn:  # bench_events' own frame, in the format of the tree it came with
            await vc.click_socket(i % 3)
            return
        assert vc.ws is not None
        vc.ws.send(json.dumps(DRAWN | {"root": vc.root, "index": str(i % 3)}))
        await vc._result(i % 3, time.perf_counter())

    vc = VirtualClient(server.port)
    await vc.open()
    try:
        for i in range(WARM_UP):
            await click(vc, i)
        get("start")
        idle = get("stop")["by_package"]
        get("start")
        for i in range(clicks):
            await click(vc, i)
        busy = get("stop")["by_package"]
    finally:
        await vc.close()
    return {name: (busy.get(name, 0) - idle.get(name, 0)) / clicks for name in busy}


def report(label: str, per_click: dict[str, float]) -> float:
    total = sum(per_click.values())
    parts = [f"{name} {per_click.get(name, 0):.0f}" for name in SHOWN]
    other = total - sum(per_click.get(name, 0) for name in SHOWN)
    line(label, f"{total:,.0f} calls/click", ", ".join([*parts, f"other {other:.0f}"]))
    return total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=300, help="counted clicks per side (300)")
    parser.add_argument(
        "--frames", nargs="+", choices=("drawn", "plain"), default=["drawn", "plain"]
    )
    args = parser.parse_args(argv)
    print(f"bench_path: python {sys.version.split()[0]}; {args.clicks} clicks per side, counted")
    totals: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench_path_") as tmp:
        with counting_server("floor", Path(tmp) / "floor") as server:
            per_click = asyncio.run(count(server, args.clicks, False))
            floor = report("floor: Flask + flask-sock", per_click)
        for name in args.frames:
            with counting_server("gallery", Path(tmp) / name) as server:
                per_click = asyncio.run(count(server, args.clicks, name == "drawn"))
                totals[name] = report(f"gallery, {name} frame", per_click)
    for name, total in totals.items():
        line(f"gallery / floor, {name} frame", f"{total / floor:.1f}x")


if __name__ == "__main__":
    main()
