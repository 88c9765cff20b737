"""The server's peak RSS under bench_events' 32-client load: what its clients make it do decides
the figure, so this reads it three ways against the floor, each on a fresh server, in one run.

bench_events.py reads the peak RSS (VmHWM) of a server its 32 virtual clients drove. Those
clients open the page and click, but never load an image: a server they drive has encoded no
image at all until a handler asks for an item's file (a select's event data names each item's
``path``, as Gradio's file data does, 5b7cbe3), and then only the three files the clicks name.
A browser that opens the page loads its thumbnails, which the server encodes on that first
view (WebP, Gradio's default ``format``): Pillow's WebP plugin, libwebp, the formats Pillow's
``preinit`` imports, and the encoder's first buffers. So each round reads, on fresh servers:

- ``floor``: ``_floor_app.py``, Flask + flask-sock alone, the baseline;
- ``gallery``: ``_events_app.py`` driven as bench_events drives it;
- ``gallery, images served``: the same, after one client fetched every media URL of the page
  once, as the first browser to open it does.

Each server gets 32 clients for ``--seconds`` by POST, then 32 over the socket (bench_events'
two kinds of run, shorter), and its peak RSS is read after. The variants rotate from round to
round, so the machine's drift falls on all of them. ``--arena-max 2`` runs every server with
``MALLOC_ARENA_MAX=2``, the setting the deployment docs recommend.

Printed: each reading; the median of each variant, its excess over the floor's median, and the
issue's aim for the gallery (under 60 MiB)::

    python3 benchmarks/bench_rss.py [--rounds 3] [--seconds 5] [--arena-max N]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_events import Server, closed_loop, line, median

#: The issue's aim for the gallery's peak RSS.
TARGET_MIB = 60.0
#: Media URLs in a page's HTML (thumbnails and full files of its items).
MEDIA_URL = re.compile(r'(?:src|href)="(/[^"]*/media/[^"]+)"')

#: name: (server role, whether the page's images are fetched before the clients start)
VARIANTS = {
    "floor": ("floor", False),
    "gallery": ("werkzeug", False),
    "gallery, images served": ("werkzeug", True),
}


def serve_images(server: Server) -> int:
    """Fetch the page and every media URL it names once; the number of URLs fetched."""
    html = urllib.request.urlopen(server.url + "/", timeout=30).read().decode()
    urls = sorted(set(MEDIA_URL.findall(html)))
    if not urls:
        raise SystemExit("bench_rss: the page names no media URL; the benchmark is out of date")
    for url in urls:
        urllib.request.urlopen(server.url + url, timeout=30).read()
    return len(urls)


def reading(tmp: Path, name: str, seconds: float) -> float:
    role, images = VARIANTS[name]
    with Server(role, "none", tmp / f"{role}-{images}") as server:
        start = server.rss_mib()
        served = f", {serve_images(server)} media URLs fetched first" if images else ""
        closed_loop(server, 32, seconds)
        closed_loop(server, 32, seconds, what="socket")
        peak = server.peak_rss_mib()
    print(f"  {name:24s} start {start:5.1f} MiB, peak {peak:5.1f} MiB{served}", flush=True)
    return peak


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="servers per variant (3)")
    parser.add_argument("--seconds", type=float, default=5.0, help="each 32-client run (5)")
    parser.add_argument("--arena-max", type=int, help="MALLOC_ARENA_MAX for every server")
    args = parser.parse_args(argv)
    if args.arena_max is not None:
        os.environ["MALLOC_ARENA_MAX"] = str(args.arena_max)  # inherited by the servers
    print(
        f"bench_rss: python {sys.version.split()[0]}, {os.cpu_count()} cores, load average"
        f" {os.getloadavg()[0]:.1f}; {args.rounds} rounds; 32 clients for {args.seconds:g} s by"
        f" POST then over the socket; MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX', '-')}"
    )
    names = list(VARIANTS)
    peaks: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="bench_rss_") as tmp:
        for round_ in range(args.rounds):
            print(f"round {round_ + 1}/{args.rounds}")
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                peaks[name].append(reading(Path(tmp) / str(round_), name, args.seconds))
    print()
    floor = median(peaks["floor"])
    for name in names:
        peak = median(peaks[name])
        note = "" if name == "floor" else f"+{peak - floor:.1f} MiB over the floor"
        if name == "gallery":
            note += f"; target < {TARGET_MIB:g} MiB: {'MET' if peak < TARGET_MIB else 'MISS'}"
        line(f"peak RSS, {name}", f"median {peak:.1f} MiB", note)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
