"""Submit-to-result latency and throughput of a trivial handler through the event engine alone.

No HTTP, no WebSocket: each submitting thread owns a page, subscribes to it, submits, and waits
for the ``done`` message before submitting again (a closed loop, as a user clicking). Prints
medians with 1 and 16 submitting threads, throughput, CPU per event, the overhead over calling
the handler directly (measured in the same run), and a long run in windows to show whether the
engine stays flat as it serves::

    python benchmarks/bench_engine.py              # 3 s per phase, then a 60 s long run
    python benchmarks/bench_engine.py --seconds 6 --phase-seconds 1   # a quick look
"""

from __future__ import annotations

import argparse
import array
import os
import statistics
import sys
import threading
import time
import typing as t
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_gallery.events import Listenable, Listener
from flask_gallery.queue import EventEngine


class Bench(Listenable):
    def __init__(self) -> None:
        self.name = "bench"


def trivial(x: int) -> int:
    return x + 1


def direct_call_seconds(n: int = 200_000) -> float:
    """Seconds per direct call of the handler, the baseline the engine is compared with."""
    start = time.perf_counter()
    for i in range(n):
        trivial(i)
    return (time.perf_counter() - start) / n


class Client(threading.Thread):
    """One page: submits, waits for its result, records the latency, repeats."""

    def __init__(
        self, engine: EventEngine, listener: Listener, page: str, stop: threading.Event
    ) -> None:
        super().__init__(name=f"bench-client-{page}", daemon=True)
        self.engine = engine
        self.listener = listener
        self.page = page
        self.stop = stop
        # Compact (16 bytes an event) so the long run measures the engine's memory, not ours.
        self.ends = array.array("d")
        self.latencies = array.array("d")
        self.failures = 0
        self._done = threading.Event()
        self._last: dict[str, t.Any] = {}
        self._unsubscribe = engine.subscribe(page, self._on_message)

    def _on_message(self, message: dict[str, t.Any]) -> None:
        if message["type"] in ("done", "failed", "cancelled", "rejected"):
            self._last = message
            self._done.set()

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            self._done.clear()
            start = time.perf_counter()
            self.engine.submit(self.listener, self.page, [i])
            if not self._done.wait(10):
                self.failures += 1
                continue
            end = time.perf_counter()
            if self._last.get("type") != "done" or self._last.get("value") != i + 1:
                self.failures += 1
            self.ends.append(end)
            self.latencies.append(end - start)
            i += 1
        self._unsubscribe()


class Phase(t.NamedTuple):
    samples: list[tuple[float, float]]  # (finished at, latency), in order
    wall: float
    cpu: float
    failures: int
    rss: list[float]  # MiB, once per window, less the samples this benchmark keeps


def run_phase(
    threads: int, seconds: float, limit: int | t.Literal["default"] | None, window: float = 0
) -> Phase:
    """One closed-loop phase of ``threads`` clients for ``seconds``."""
    with EventEngine() as engine:
        listener = Bench().select(
            trivial, inputs="x", trigger_mode="multiple", concurrency_limit=limit
        )
        stop = threading.Event()
        clients = [Client(engine, listener, f"page-{n}", stop) for n in range(threads)]
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for client in clients:
            client.start()
        rss = []
        deadline = time.perf_counter() + seconds
        while (left := deadline - time.perf_counter()) > 0:
            time.sleep(min(window or left, left))
            kept = sum(len(c.ends) + len(c.latencies) for c in clients) * 8 / 2**20
            rss.append(rss_mib() - kept)
        stop.set()
        for client in clients:
            client.join()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    samples = sorted(pair for c in clients for pair in zip(c.ends, c.latencies, strict=True))
    return Phase(samples, wall, cpu, sum(client.failures for client in clients), rss)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def rss_mib() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # not Linux
        return float("nan")


def report(label: str, threads: int, phase: Phase, direct: float) -> None:
    latencies = [lat for _end, lat in phase.samples]
    median = statistics.median(latencies)
    p95 = statistics.quantiles(latencies, n=20)[-1]
    cpu = phase.cpu / len(latencies)
    # One client: the latency is the engine's overhead. Sixteen clients on a few cores mostly
    # wait for each other, so there the CPU spent per event is the overhead (clients included).
    overhead = median - direct if threads == 1 else cpu - direct
    print(
        f"{label:<31} threads={threads:>2}  median {ms(median)}  p95 {ms(p95)}  "
        f"throughput {len(latencies) / phase.wall:,.0f}/s  CPU {ms(cpu)}/event  "
        f"overhead vs direct call {ms(overhead)}"
        + (f"  FAILURES {phase.failures}" if phase.failures else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the long run")
    parser.add_argument("--phase-seconds", type=float, default=3.0, help="length of short phases")
    parser.add_argument("--window", type=float, default=10.0, help="long-run window in seconds")
    args = parser.parse_args()

    direct = direct_call_seconds()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"direct call of the handler: {direct * 1e9:.0f} ns")
    run_phase(1, min(args.phase_seconds, 1.0), "default")  # warm up imports and caches
    for threads, limit, label in [
        (1, "default", "engine, concurrency_limit=1"),
        (16, "default", "engine, concurrency_limit=1"),
        (16, None, "engine, concurrency_limit=None"),
    ]:
        report(label, threads, run_phase(threads, args.phase_seconds, limit), direct)

    window = args.window if args.seconds >= 2 * args.window else args.seconds / 5
    print(f"\nlong run: 1 thread for {args.seconds:.0f} s, medians per {window:g} s window")
    print("(RSS less the benchmark's own samples, so a growing engine would show)")
    phase = run_phase(1, args.seconds, "default", window)
    report("engine, long run", 1, phase, direct)
    samples = phase.samples
    start = samples[0][0] - samples[0][1]
    windows: dict[int, list[float]] = {}
    for end, latency in samples:
        windows.setdefault(int((end - start) // window), []).append(latency)
    for index in range(int(args.seconds // window)):  # full windows only
        values = windows.get(index, [])
        median = ms(statistics.median(values)) if values else "-"
        span = f"{index * window:g}-{(index + 1) * window:g} s"
        rss = f"{phase.rss[index]:.1f} MiB" if index < len(phase.rss) else "-"
        print(f"  {span:>10}  median {median}  events {len(values):>7,}  RSS {rss}")


if __name__ == "__main__":
    main()
