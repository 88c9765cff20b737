"""Decompression bombs against one server process (issue 10, point 1).
Run: ``python benchmarks/bench_decode.py [--kind gunicorn] [--clients 4]``.

``--clients`` clients at once each upload their own 8000x8000 RGBA PNG of zeros (249 KB,
256 MB decoded), then ask for its four thumbnail widths and its full file in parallel (see
tests/bombs.py). Printed for the server process as shipped, without ``malloc_trim`` after
large decodes, and without it and with Pillow's default 16 MiB blocks too (the budget alone):
RSS when idle, peak RSS over idle, RSS over idle right after the attack and 10 s, 30 s and 60 s
later, the attack's duration, and the slowest plain ``GET /plain`` during it.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import pathlib
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from tests.bombs import attack, make_bombs, warm_up
from tests.clients import request
from tests.servers import KINDS, ServerProcess

APP = "benchmarks._decode_app:create_app"
AFTER = (0.0, 10.0, 30.0, 60.0)
#: Label -> the server's environment.
VARIANTS = {
    "as shipped": {},
    "without malloc_trim": {"FG_BENCH_TRIM": "0"},
    "neither trim nor 64 MiB blocks": {"FG_BENCH_TRIM": "0", "PILLOW_BLOCK_SIZE": "16m"},
}


def run(kind: str, env: dict[str, str], bombs: list[bytes], root: pathlib.Path) -> dict[str, float]:
    with ServerProcess(APP, root / f"{kind}-{len(env)}", kind=kind, env=env) as server:  # type: ignore[arg-type]
        warm_up(server)
        idle = server.rss_mib()
        server.reset_peak()
        plain: list[float] = []
        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(len(bombs)) as pool:
            futures = [pool.submit(attack, server, n, bomb) for n, bomb in enumerate(bombs)]
            pause = threading.Event()
            while not all(f.done() for f in futures) and time.monotonic() - start < 600:
                began = time.monotonic()
                request(server.url + "/plain", timeout=30)
                plain.append(time.monotonic() - began)
                pause.wait(0.2)
            for future in futures:
                for url, (status, body) in future.result().items():
                    assert status == 200, (url, status, body[:300])
        took = time.monotonic() - start
        figures = {"idle": idle, "peak": server.peak_rss_mib() - idle, "took": took}
        figures["plain"] = max(plain, default=0.0)
        ended = time.monotonic()
        for after in AFTER:
            time.sleep(max(0.0, ended + after - time.monotonic()))
            figures[f"after {after:g} s"] = server.rss_mib() - idle
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kind", choices=KINDS, default="gunicorn")
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        bombs = make_bombs(root, args.clients)
        print(f"{args.clients} clients, {args.kind}: RSS of the server process, MiB over idle")
        for label, env in VARIANTS.items():
            figures = run(args.kind, env, bombs, root)
            after = ", ".join(f"{k} {v:+.0f}" for k, v in figures.items() if k.startswith("after"))
            print(
                f"{label:30}: idle {figures['idle']:.0f}, peak {figures['peak']:+.0f}; {after}; "
                f"attack {figures['took']:.1f} s, "
                f"slowest plain GET {figures['plain'] * 1000:.0f} ms"
            )


if __name__ == "__main__":
    main()
