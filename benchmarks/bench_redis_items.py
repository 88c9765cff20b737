"""What a click on a 10,000-item gallery costs in the Redis page store (``GALLERY_QUEUE_URL``):
the page's items kept once under their own key (now) against the page's document carrying them
(the layout before issue 14), in the same run, on a real redis-server (Debian's, loopback).

A select click loads its page under the page's lock, changes the selection and writes the page
back (``RedisPageStore.edit``); a window fetch of the grid reads the page (``peek``); a page
render saves a new page showing the app's fixed value (``render``). For each layout and each,
over ``--clicks`` calls on one warm process: bytes Redis received and sent
per call (Redis's own ``INFO stats`` counters) and the call's median time; then the first read
of the page by a new process (its cache empty). The items are what
uploads make: ids, sizes, captions, two thumbnail widths (about 2 MB of JSON for 10,000)::

    python3 benchmarks/bench_redis_items.py [--items 10000] [--clicks 50]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import typing as t
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from flask_gallery.media import MediaItem  # noqa: E402
from flask_gallery.page.redis_items import encode  # noqa: E402
from flask_gallery.page.redis_store import RedisPageStore  # noqa: E402
from flask_gallery.page.state import GalleryState, PageState  # noqa: E402
from flask_gallery.queue.redis_client import connect  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402


class Inline(RedisPageStore):
    """The layout before: each page's document carries its galleries' items (loads decode
    them from the document, as the store reads documents of that layout)."""

    def _save(self, page: PageState, lock: str) -> None:
        body = json.dumps(page.to_dict(), separators=(",", ":"))
        args = (page.session_id, body, self.max_pages, self.max_pages_per_session, lock, "")
        n, *rest = self._call("create", page.token, *args)
        self._report(rest[n:])


def items(count: int) -> list[MediaItem]:
    return [
        MediaItem(
            id=f"{i:06d}-0123456789abcdef",
            kind="image",
            caption=f"Photo {i} of the set",
            mime_type="image/webp",
            width=1024,
            height=768,
            thumbnail_widths=(160, 320),
        )
        for i in range(count)
    ]


def counters(client: t.Any) -> tuple[int, int]:
    stats = client.info("stats")
    return int(stats["total_net_input_bytes"]), int(stats["total_net_output_bytes"])


def measure(
    store: RedisPageStore, client: t.Any, token: str, value: list[MediaItem], clicks: int
) -> dict[str, float]:
    """Per select (edit), per window fetch (peek) and per new page showing the app's fixed
    value (a page render's save): bytes in, bytes out, median seconds."""
    figures: dict[str, float] = {}
    times = []
    before = counters(client)
    for n in range(clicks):
        start = time.perf_counter()
        page = store.create(f"s{n}")
        page.galleries["g"] = GalleryState(items=value)  # the same list object, as a render's
        store.save(page)
        times.append(time.perf_counter() - start)
    after = counters(client)
    figures["render_in"] = (after[0] - before[0]) / clicks
    figures["render_out"] = (after[1] - before[1]) / clicks
    figures["render_s"] = statistics.median(times)
    for name in ("select", "peek"):
        times = []
        before = counters(client)
        for n in range(clicks):
            start = time.perf_counter()
            if name == "select":
                with store.edit(token) as page:
                    assert page is not None
                    page.galleries["g"].selected = n
                    page.galleries["g"].version += 1
            else:
                assert store.peek(token) is not None
            times.append(time.perf_counter() - start)
        after = counters(client)
        figures[f"{name}_in"] = (after[0] - before[0]) / clicks
        figures[f"{name}_out"] = (after[1] - before[1]) / clicks
        figures[f"{name}_s"] = statistics.median(times)
    return figures


def kib(count: float) -> str:
    return f"{count / 1024:,.1f} KiB"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--clicks", type=int, default=50)
    args = parser.parse_args(argv)
    value = items(args.items)
    print(
        f"bench_redis_items: {args.items:,} items ({kib(len(encode(value)))} of JSON), "
        f"{args.clicks} calls each; python {sys.version.split()[0]}",
        flush=True,
    )
    server = RedisServer(Path(tempfile.mkdtemp(prefix="bench_redis_items_")) / "redis")
    results: dict[str, dict[str, float]] = {}
    try:
        client = connect(server.url)
        for label, kind in (("document carries the items (before)", Inline), ("by key", None)):
            client.flushdb()
            store = (kind or RedisPageStore)(client, "b:")
            page = store.create("s")
            page.galleries["g"] = GalleryState(items=value)
            store.save(page)
            store.peek(page.token)  # the scripts loaded, the process warm
            figures = results[label] = measure(store, client, page.token, value, args.clicks)
            start = time.perf_counter()
            assert (kind or RedisPageStore)(client, "b:").peek(page.token) is not None
            figures["cold_s"] = time.perf_counter() - start
            print(f"{label}:", flush=True)
            for name in ("select", "peek", "render"):
                print(
                    f"  {name:6}: into Redis {kib(figures[f'{name}_in']):>12}, out of Redis "
                    f"{kib(figures[f'{name}_out']):>12}, {figures[f'{name}_s'] * 1e3:8.2f} ms",
                    flush=True,
                )
            print(f"  first read in a new process: {figures['cold_s'] * 1e3:.2f} ms", flush=True)
    finally:
        server.stop()
    old, new = results.values()
    print("by key against the document carrying the items, same run:")
    for name in ("select", "peek", "render"):
        print(
            f"  {name:6}: bytes into Redis {old[f'{name}_in'] / new[f'{name}_in']:,.1f}x, "
            f"out of Redis {old[f'{name}_out'] / new[f'{name}_out']:,.0f}x, "
            f"time {old[f'{name}_s'] / new[f'{name}_s']:,.1f}x (before / by key)"
        )


if __name__ == "__main__":
    main()
