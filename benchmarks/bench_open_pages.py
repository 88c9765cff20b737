"""Many open pages on one server process: what they cost, and whether plain requests still run.

The hostile-client suite's app (``tests/apps/hostile.py``) is served as README's deployment for
many open pages, gunicorn's gevent worker (``--worker-connections`` twice the pages), or with
``--kind gunicorn`` as the threaded deployment (32 threads: its socket cap keeps 3/4 of them, the
other pages poll). N pages are loaded, each in a session of its own, then each opens its socket
(a raw connection after the handshake, reading nothing: no thread in this process). With all of
them open it measures ``GET /plain`` (median and max), a click's round trip over a socket (the
result included), and the server's RSS and OS threads.

Run: ``python3 benchmarks/bench_open_pages.py [--pages 1000] [--kind gevent|gunicorn]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import typing as t
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simple_websocket import ConnectionError

from tests.clients import Page, receive_until, request
from tests.servers import Kind, ServerProcess, raise_open_files

APP = "tests.apps.hostile:create_app"
PICS = "/?g=pics"
#: ``GET /plain`` requests timed with every page open.
PLAIN_REQUESTS = 200
#: Clicks timed over one socket with every page open.
CLICKS = 50
#: Clicks timed by HTTP and polling, where the socket is refused (each waits for a poll).
POLLED_CLICKS = 5
#: gunicorn's threads for ``--kind gunicorn`` (README's threaded deployment).
THREADS = 32


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def row(label: str, text: str) -> None:
    print(f"  {label:<30}{text}")


def run(pages: int, kind: Kind) -> None:
    raise_open_files(2 * pages + 512)
    capacity = 2 * pages if kind == "gevent" else THREADS
    worker = f"-k gevent --worker-connections {capacity}" if kind == "gevent" else ""
    instance = Path(tempfile.mkdtemp(prefix="bench_open_pages_")) / "instance"
    with ServerProcess(APP, instance, kind=kind, threads=capacity) as server:
        print(f"gunicorn -w 1 {worker or f'--threads {capacity}'}, {pages} pages")
        row("idle server", f"RSS {server.rss_mib():.1f} MiB, {server.threads_now()} OS threads")
        started = time.perf_counter()
        opened = [Page(server, PICS) for _ in range(pages)]
        loaded = time.perf_counter()
        sockets = [page.raw_socket() for page in opened]
        connected = time.perf_counter()
        try:
            accepted = sum(s.status == 101 for s in sockets)
            row(f"{pages} page loads", f"{loaded - started:.2f} s")
            row(
                f"{pages} sockets",
                f"{connected - loaded:.2f} s: {accepted} open, {pages - accepted} refused (poll)",
            )
            plain = []
            for _ in range(PLAIN_REQUESTS):
                before = time.perf_counter()
                response = request(server.url + "/plain")
                plain.append(time.perf_counter() - before)
                assert response.status == 200, response
            row(
                "GET /plain, all open",
                f"median {ms(statistics.median(plain))}, max {ms(max(plain))} "
                f"({PLAIN_REQUESTS} requests)",
            )
            clicks, how = click_round_trips(Page(server, PICS))
            row(
                "click to result, all open",
                f"median {ms(statistics.median(clicks))}, max {ms(max(clicks))} "
                f"({len(clicks)} clicks, {how})",
            )
            row(
                "server, all open",
                f"RSS {server.rss_mib():.1f} MiB (peak {server.peak_rss_mib():.1f}), "
                f"{server.threads_now()} OS threads",
            )
        finally:
            for s in sockets:
                s.sock.close()


def click_round_trips(page: Page) -> tuple[list[float], str]:
    """Seconds from each click to its result: over the page's socket, or where the server
    refuses it one (at its cap), by HTTP and polling as gallery.js does then."""
    seconds = []
    try:
        ws = page.socket()
    except ConnectionError:
        for n in range(POLLED_CLICKS):
            before = time.perf_counter()
            page.select(n % 3)
            page.poll_until(f"selected {n % 3}<")
            seconds.append(time.perf_counter() - before)
        return seconds, "socket refused: by HTTP, then a poll (gallery.js: one a second)"
    try:
        for n in range(CLICKS):
            before = time.perf_counter()
            page.click(ws, f"select/{n % 3}")
            receive_until(ws, f"selected {n % 3}<")
            seconds.append(time.perf_counter() - before)
    finally:
        ws.close()
    return seconds, "over a socket"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000, help="open pages (default 1000)")
    parser.add_argument("--kind", choices=["gevent", "gunicorn"], default="gevent")
    args = parser.parse_args(argv)
    run(args.pages, t.cast(Kind, args.kind))


if __name__ == "__main__":
    main()
