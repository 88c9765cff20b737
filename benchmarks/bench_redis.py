"""Events/s and click round trip through Redis (``GALLERY_QUEUE_URL``) with 1 and 3 gunicorn
workers, beside the embedded backend (one process, no Redis) in the same run (issue 12).

The app is bench_events' (``_events_app.py``: one gallery, a trivial select handler) under
gunicorn with 100 threads per worker, at ``concurrency_limit=None``; the clients are
bench_events' light clients (one HTTP connection and the page's WebSocket each): a click is
POST select, then the result on the page's socket. With several workers the POST and the
socket of one page often reach different processes: the result goes through Redis. A real
redis-server (Debian's) runs on a free loopback port, without persistence. Printed: round trip
with 1 client (median, p95), events/s with 32 clients, server CPU per event (gunicorn's
processes, and redis-server's beside them), each with its ratio to the embedded figure::

    python3 benchmarks/bench_redis.py [--seconds 20] [--rtt-count 500] [--workers 1 3]

Issue 12's aim: 3 workers on Redis above 1.5x the events/s of one embedded process; a click
round trip within 1 ms of the embedded one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_events import (  # noqa: E402
    Server,
    closed_loop,
    eps,
    line,
    median,
    ms,
    p95,
    verdict,
)

from tests.redis_server import RedisServer  # noqa: E402
from tests.servers import CLK_TCK  # noqa: E402


class Workers(Server):
    """bench_events' gunicorn server with ``workers`` processes, on Redis when ``url``."""

    def __init__(self, instance: Path, workers: int, url: str | None) -> None:
        super().__init__("gunicorn", "none", instance)
        self.workers = workers
        if url is not None:
            self.extra_env["BENCH_QUEUE_URL"] = url

    def command(self) -> list[str]:
        return [f"--workers={self.workers}" if a == "--workers=1" else a for a in super().command()]


def redis_cpu(server: RedisServer) -> float:
    fields = Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def measure(
    label: str, server: Workers, redis: RedisServer | None, seconds: float, rtt_count: int
) -> dict[str, float]:
    rtt = closed_loop(server, 1, 60.0, rtt_count)
    before = redis_cpu(redis) if redis else 0.0
    own = time.process_time()
    run = closed_loop(server, 32, seconds)
    client_seconds = time.process_time() - own
    redis_seconds = (redis_cpu(redis) - before) if redis else 0.0
    events = len(run.latencies)
    figures = {
        "rtt": median(rtt.latencies),
        "rtt_p95": p95(rtt.latencies),
        "eps": eps(run),
        "cpu": run.cpu / events if events else float("nan"),
        "redis_cpu": redis_seconds / events if events else float("nan"),
        "client_cpu": client_seconds / events if events else float("nan"),
        "failures": float(rtt.failures + run.failures),
    }
    print(f"{label}:", flush=True)
    line("click round trip, 1 client", f"{ms(figures['rtt'])} (p95 {ms(figures['rtt_p95'])})")
    line("events/s, 32 clients", f"{figures['eps']:.0f}")
    line(
        "CPU per event: gunicorn + redis-server",
        f"{ms(figures['cpu'])} + {ms(figures['redis_cpu'])}",
        f"(the 32 clients: {ms(figures['client_cpu'])})",
    )
    if figures["failures"]:
        line("failures", f"{figures['failures']:.0f}")
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="32-client run (20)")
    parser.add_argument("--rtt-count", type=int, default=500, help="1-client clicks (500)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 3])
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench_redis_"))
    print(
        f"bench_redis: gunicorn --threads 100, concurrency_limit=None, {args.seconds:.0f} s "
        f"runs of 32 clients, {args.rtt_count} round trips; python {sys.version.split()[0]}",
        flush=True,
    )
    redis = RedisServer(tmp / "redis")
    results: dict[str, dict[str, float]] = {}
    try:
        with Workers(tmp / "embedded", 1, None) as server:
            results["embedded"] = measure(
                "embedded, 1 worker (no Redis)", server, None, args.seconds, args.rtt_count
            )
        for workers in args.workers:
            with contextlib.ExitStack() as stack:
                import redis as client

                client.Redis.from_url(redis.url).flushdb()
                server = stack.enter_context(Workers(tmp / f"redis{workers}", workers, redis.url))
                time.sleep(1.0)  # every worker imported the app
                results[f"redis{workers}"] = measure(
                    f"Redis, {workers} worker(s)", server, redis, args.seconds, args.rtt_count
                )
    finally:
        redis.stop()
    base = results["embedded"]
    print("against the embedded backend in this run:", flush=True)
    for workers in args.workers:
        r = results[f"redis{workers}"]
        line(
            f"Redis, {workers} worker(s): events/s",
            f"{r['eps']:.0f} vs {base['eps']:.0f}: {r['eps'] / base['eps']:.2f}x",
            f"(aim for 3: > 1.5x) {verdict(r['eps'] > 1.5 * base['eps'])}" if workers == 3 else "",
        )
        extra = r["rtt"] - base["rtt"]
        line(
            f"Redis, {workers} worker(s): round trip",
            f"{ms(r['rtt'])} vs {ms(base['rtt'])}: +{ms(extra)}",
            f"(aim: within 1 ms) {verdict(extra <= 1e-3)}",
        )
    budget(base, results)


def budget(base: dict[str, float], results: dict[str, dict[str, float]]) -> None:
    """Whether this machine could show the aim at all: the CPU that 1.5x the embedded events/s
    would take at each setup's measured CPU per event (servers, redis-server and this process's
    clients together), against the cores there are. Above them, no setup of that cost can
    reach the aim here, however its processes share the work."""
    cores = os.cpu_count() or 1
    target = 1.5 * base["eps"]
    for name, r in results.items():
        per_event = r["cpu"] + r["redis_cpu"] + r["client_cpu"]
        line(
            f"CPU for {target:.0f} events/s at {name}'s cost",
            f"{target * per_event:.2f} cores of {cores}",
            f"({ms(per_event)} per event, clients included)",
        )


if __name__ == "__main__":
    main()
