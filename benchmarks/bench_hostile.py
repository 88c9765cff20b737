"""Legitimate users with and without hostile clients beside them, against one server process.

Issue 10 asks that one anonymous client can never take the server down: with one hostile client
of each kind running beside 100 ordinary users, the users' p99 click latency should stay within
2x of what it is without them, with no lost result and no 5xx. Two phases, each on a fresh
server (``tests/apps/hostile.py`` under gunicorn gthread ``--threads 32``, README's deployment,
or gevent or Werkzeug) and with the same seed, so the users do the same things in both:

1. **baseline**: the users alone (``_users.py``): each loads the page in a session of its own,
   opens its socket (or polls, where it is refused), then clicks thumbnails and now and then
   uploads a small photo, waits for the handler's answer and thinks.
2. **with hostiles**: the same users, and one client of each kind of ``_hostiles.py`` (decode
   bomb, socket hoarder, queue flooder, page evictor, big-body sender, hung handler, malformed
   JSON, item flooder) in a process of their own, started ``--head-start`` seconds earlier.

Printed per phase: events/s (results the users got within the phase), click latency p50 / p99 /
max (over the socket and by POST + poll apart), upload and page-load latency, lost results
(none within ``--timeout`` s), refusals (an alert instead of the result), 5xx and 4xx by
request, how pages got their results (socket or polling), the server's peak RSS and threads,
its CPU time per event (hostiles' work included), and what each hostile sent and got back.
Last, the ratio of the p99s, against the issue's 2x::

    python3 benchmarks/bench_hostile.py                         # 100 clients x 60 s, gunicorn
    python3 benchmarks/bench_hostile.py --clients 20 --seconds 5 --only page_evictor
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _hostiles import KINDS  # noqa: E402
from _payloads import photos  # noqa: E402
from _users import Record, User  # noqa: E402

from tests.servers import ServerProcess  # noqa: E402

APP = "tests.apps.hostile:create_app"
#: The hung handler's handler blocks this long: for ever, as far as a run is concerned.
HANG_SECONDS = 3600
#: What ``--server`` names, as ServerProcess kinds and how the report calls them.
SERVERS = {"gunicorn": "gunicorn gthread", "gevent": "gunicorn gevent", "werkzeug": "werkzeug"}


class Phase(t.NamedTuple):
    name: str
    record: Record
    seconds: float
    in_window: int  # results the users got before the phase's end
    cpu: float  # server CPU seconds over the phase
    peak_rss: float  # MiB
    peak_threads: int
    worker_restarts: int
    hostiles: dict[str, t.Any]
    server_errors: dict[str, int]  # exceptions in the server's log, by type


class Sampler:
    """The server worker's thread count, once a second; cheap enough to run beside the users
    (one small /proc read; the process tree is walked again only when the worker changed)."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.pid = server.worker_pid()
        self.peak = 0
        self.restarts = 0

    def sample(self) -> None:
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            pid = self.server.worker_pid()
            self.restarts += pid != self.pid
            self.pid = pid
            return
        for line in status.splitlines():
            if line.startswith("Threads:"):
                self.peak = max(self.peak, int(line.split()[1]))

    async def run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(1.0)


async def users(
    server: ServerProcess, args: argparse.Namespace, files: list[tuple[str, bytes]]
) -> tuple[Record, int, float, Sampler]:
    """The phase's users from arrival to the end; its record, the results within the phase,
    and the server's CPU seconds over it."""
    record = Record()
    crowd = [
        User(
            server.port,
            random.Random(args.seed * 100_003 + n),
            files,
            record,
            timeout=args.timeout,
            think=args.think,
            upload_share=args.upload_share,
            sockets=n >= round(args.polling * args.clients),
            source=user_address(n),
        )
        for n in range(args.clients)
    ]
    sampler = Sampler(server)
    sampling = asyncio.create_task(sampler.run())
    cpu0 = server.cpu_seconds()
    start = time.perf_counter()
    deadline = start + args.seconds
    arrivals = min(2.0, args.seconds / 10)  # users arrive over the first moments, not at once

    async def arrive(n: int, user: User) -> None:
        await asyncio.sleep(arrivals * n / len(crowd))
        await user.run(deadline)

    async def until_deadline() -> float:
        await asyncio.sleep(args.seconds)
        return server.cpu_seconds() - cpu0

    cpu = asyncio.create_task(until_deadline())
    everyone = asyncio.gather(*(arrive(n, u) for n, u in enumerate(crowd)))
    try:  # each step of a user is bounded; this bounds them all, whatever happens
        await asyncio.wait_for(everyone, args.seconds + 3 * args.timeout + 30)
    except TimeoutError:
        record.errors["users still busy at the bound: cancelled"] += 1
    sampling.cancel()
    in_window = sum(done <= deadline for done in record.finished)
    return record, in_window, await cpu, sampler


def user_address(n: int) -> str:
    """User ``n``'s own loopback address (users on a network each have theirs; the hostile
    clients speak from :data:`_hostiles.SOURCE`)."""
    return f"127.0.{1 + n // 250}.{1 + n % 250}"


def warm_up(server: ServerProcess, files: list[tuple[str, bytes]]) -> None:
    """One user, unrecorded: the first page compiles templates, the first upload loads codecs."""

    async def once() -> None:
        user = User(
            server.port, random.Random(0), files, Record(), timeout=10, think=0, upload_share=0
        )
        await user.load()
        await user.click()
        await user.upload()
        await user.leave()
        await user.http.close()

    asyncio.run(once())


def start_hostiles(
    server: ServerProcess, kinds: list[str], args: argparse.Namespace
) -> subprocess.Popen[str]:
    limit = args.head_start + args.seconds + 3 * args.timeout + 60
    command = [
        sys.executable,
        str(HERE / "_hostiles.py"),
        f"--port={server.port}",
        f"--kinds={','.join(kinds)}",
        f"--seconds={limit}",
        f"--seed={args.seed}",
        f"--max-items={args.config.get('GALLERY_MAX_ITEMS', 1000)}",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    ready = process.stdout.readline().strip()
    if ready != "ready":
        process.kill()
        raise RuntimeError(f"the hostile clients did not start (said {ready!r})")
    return process


def stop_hostiles(process: subprocess.Popen[str]) -> dict[str, t.Any]:
    """SIGTERM, then their tallies (they close what they hold first)."""
    process.send_signal(signal.SIGTERM)
    try:
        out, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
        return {"(all)": {"sent": 0, "status": {}, "notes": {"ended by": "killed after 60 s"}}}
    lines = out.strip().splitlines()
    return t.cast("dict[str, t.Any]", json.loads(lines[-1])) if lines else {}


_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit))\b", re.MULTILINE)


def server_errors(log: Path) -> dict[str, int]:
    """The exceptions whose tracebacks the server logged, by type."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return dict(collections.Counter(_EXCEPTION.findall(text)))


def phase(name: str, kinds: list[str], args: argparse.Namespace, tmp: Path) -> Phase:
    config = {"TEST_HANG_SECONDS": HANG_SECONDS, **args.config}
    files = photos(32, args.seed)
    folder = tmp / name.replace(" ", "-")
    log = tmp / f"{folder.name}.log"
    threads = args.connections if args.server == "gevent" else args.threads
    with ServerProcess(
        APP, folder, kind=args.server, config=config, threads=threads, log=log
    ) as server:
        warm_up(server, files)
        hostiles = start_hostiles(server, kinds, args) if kinds else None
        tallies: dict[str, t.Any] = {}
        try:
            if hostiles is not None:
                time.sleep(args.head_start)
            record, in_window, cpu, sampler = asyncio.run(users(server, args, files))
            peak_rss = server.peak_rss_mib()
        finally:
            if hostiles is not None:
                tallies = stop_hostiles(hostiles)
        return Phase(
            name,
            record,
            args.seconds,
            in_window,
            cpu,
            peak_rss,
            sampler.peak,
            sampler.restarts,
            tallies,
            server_errors(log),
        )


# Figures --------------------------------------------------------------------------------------


def percentile(values: t.Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..1); NaN without values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    if math.isinf(seconds):  # a p99 with failures counted: over 1% got no answer
        return "unanswered (>1%)"
    return "-" if math.isnan(seconds) else f"{seconds * 1000:,.1f} ms"


def spread(values: t.Sequence[float]) -> str:
    if not values:
        return "none"
    return (
        f"p50 {ms(percentile(values, 0.5))}  p99 {ms(percentile(values, 0.99))}"
        f"  max {ms(max(values))}  (n={len(values):,})"
    )


def counts(counter: t.Mapping[str, int]) -> str:
    if not counter:
        return "0"
    items = sorted(counter.items(), key=lambda kv: -kv[1])
    return f"{sum(counter.values()):,}: " + ", ".join(f"{k} x{v:,}" for k, v in items)


def line(label: str, value: str) -> None:
    print(f"  {label:<34}{value}", flush=True)


def report(p: Phase) -> None:
    r = p.record
    print(f"\n== {p.name} ==")
    line("events/s", f"{events(p):,.1f} ({p.in_window:,} results in {p.seconds:g} s)")
    line("actions answered", answered(r))
    line("pages that did not load", f"{r.page_failures:,}")
    line("click latency, answered", spread(r.clicks()))
    line("  over the socket", spread(r.latencies["socket click"]))
    line("  HTTP POST + poll (1 s)", spread(r.latencies["polled click"]))
    line("upload to result", spread(r.latencies["upload"]))
    line("  the upload request alone", spread(r.upload_requests))
    line("page load + socket", spread(r.latencies["page"]))
    line(
        "p99, failures counted",
        f"clicks {ms(percentile(r.clicks_with_failures(), 0.99))}; every wait (pages, clicks,"
        f" uploads) {ms(percentile(r.waits_with_failures(), 0.99))}",
    )
    line("how pages got results", counts(r.sockets))
    line("lost results (timed out)", counts(r.lost))
    line("refused (alert instead)", counts(r.refused))
    line("5xx", counts(r.status_5xx))
    line("4xx", counts(r.status_4xx))
    line("connection errors", counts(r.errors))
    line("pages loaded again", f"{r.reloads:,} (expired)")
    line("server peak RSS", f"{p.peak_rss:,.1f} MiB (VmHWM)")
    line("server threads, peak", f"{p.peak_threads:,}" + restarts(p))
    per_event = p.cpu / p.in_window if p.in_window else math.nan
    line("server CPU per event", f"{ms(per_event)} ({p.cpu:.1f} s over the phase)")
    line("server log: exceptions", counts(p.server_errors))
    for kind, tally in p.hostiles.items():
        statuses = ", ".join(f"{k} x{v:,}" for k, v in sorted(tally["status"].items()))
        notes = "; ".join(f"{k} {v}" for k, v in tally["notes"].items())
        print(f"  hostile {kind}: {tally['sent']:,} requests ({statuses or 'none'})")
        if notes:
            print(f"      {notes}")


def answered(r: Record) -> str:
    """Results among the clicks and uploads the users started (pages that never loaded started
    none)."""
    attempted = sum(r.attempted.values())
    share = f" ({r.results / attempted:.1%})" if attempted else ""
    return f"{r.results:,} of {attempted:,}{share}"


def restarts(p: Phase) -> str:
    return f" (the worker was replaced {p.worker_restarts} times)" if p.worker_restarts else ""


def compare(base: Phase, hostile: Phase) -> float:
    """Print the hostile phase against the baseline; the ratio of the p99s of every wait the
    users had, where an action that got no result (or could not be made: the page did not
    load) counts as never answered. The issue names click latency; its ratio is printed too."""
    print("\n== with hostiles against the baseline ==")
    ratio = p99_ratio("every wait p99", base, hostile, Record.waits_with_failures)
    p99_ratio("click p99", base, hostile, Record.clicks_with_failures)
    for what in ("socket click", "polled click", "upload"):
        a, b = base.record.latencies[what], hostile.record.latencies[what]
        if a and b:
            before, after = percentile(a, 0.99), percentile(b, 0.99)
            line(f"  {what} p99, answered", f"{ms(before)} -> {ms(after)}: {after / before:.2f}x")
    line("actions answered", f"{answered(base.record)} -> {answered(hostile.record)}")
    line(
        "pages that did not load", f"{base.record.page_failures} -> {hostile.record.page_failures}"
    )
    line("events/s", f"{events(base):,.1f} -> {events(hostile):,.1f}")
    lost = hostile.record.unanswered
    before = base.record.unanswered
    line("left without an answer", f"{before:,} -> {lost:,} (issue: 0 lost): {verdict(lost == 0)}")
    line(
        "  of which timed out (lost)",
        f"{sum(base.record.lost.values())} -> {sum(hostile.record.lost.values())}",
    )
    errors = sum(hostile.record.status_5xx.values())
    before = sum(base.record.status_5xx.values())
    line("users' 5xx", f"{before} -> {errors} (issue: 0): {verdict(errors == 0)}")
    line("hostiles' 5xx", f"{hostile_5xx(hostile):,}")
    line("server peak RSS", f"{base.peak_rss:,.1f} -> {hostile.peak_rss:,.1f} MiB")
    return ratio


def p99_ratio(
    label: str, base: Phase, hostile: Phase, values: t.Callable[[Record], list[float]]
) -> float:
    """Print and return the ratio of the two phases' p99 of ``values``, against the 2x bar."""
    before = percentile(values(base.record), 0.99)
    after = percentile(values(hostile.record), 0.99)
    ratio = after / before if math.isfinite(before) else math.nan
    result = f"{ratio:.2f}x (issue: within 2x): {verdict(ratio <= 2)}"
    if math.isinf(ratio):
        result = f"over 1% unanswered (issue: within 2x): {verdict(False)}"
    elif math.isnan(ratio):
        result = "no ratio: the users failed without hostiles already"
    line(f"{label}, failures counted", f"{ms(before)} -> {ms(after)}: {result}")
    return ratio


def events(p: Phase) -> float:
    return p.in_window / p.seconds


def hostile_5xx(p: Phase) -> int:
    return sum(
        n
        for tally in p.hostiles.values()
        for what, n in tally["status"].items()
        if what.rsplit(" ", 1)[-1].startswith("5")
    )


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def summary(p: Phase) -> dict[str, t.Any]:
    """The phase as JSON (``--json``)."""
    r = p.record
    return {
        "events_per_s": events(p),
        "results": r.results,
        "attempted": dict(r.attempted),
        "page_failures": r.page_failures,
        "latency_ms": {
            what: {
                "n": len(values),
                "p50": percentile(values, 0.5) * 1000 if values else None,
                "p99": percentile(values, 0.99) * 1000 if values else None,
                "max": max(values) * 1000 if values else None,
            }
            for what, values in [("click", r.clicks()), *r.latencies.items()]
        },
        "click_p99_ms_failures_counted": percentile(r.clicks_with_failures(), 0.99) * 1000,
        "every_wait_p99_ms_failures_counted": percentile(r.waits_with_failures(), 0.99) * 1000,
        "unanswered": r.unanswered,
        "lost": dict(r.lost),
        "refused": dict(r.refused),
        "5xx": dict(r.status_5xx),
        "4xx": dict(r.status_4xx),
        "errors": dict(r.errors),
        "sockets": dict(r.sockets),
        "reloads": r.reloads,
        "peak_rss_mib": p.peak_rss,
        "peak_threads": p.peak_threads,
        "cpu_s": p.cpu,
        "hostiles": p.hostiles,
        "server_errors": p.server_errors,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100, help="legitimate users (100)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each phase (60)")
    parser.add_argument("--server", choices=list(SERVERS), default="gunicorn")
    parser.add_argument("--threads", type=int, default=32, help="gunicorn's --threads (32)")
    parser.add_argument(
        "--connections", type=int, default=1000, help="gevent's --worker-connections (1000)"
    )
    parser.add_argument("--only", nargs="+", choices=KINDS, help="these hostile kinds alone")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--think", type=float, default=0.5, help="mean think time, s (0.5)")
    parser.add_argument("--upload-share", type=float, default=0.1, help="uploads among actions")
    parser.add_argument(
        "--polling", type=float, default=0.0, help="share of users whose WebSockets are blocked"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="a result later is lost")
    parser.add_argument("--head-start", type=float, default=2.0, help="hostiles start first, s")
    parser.add_argument("--config", type=json.loads, default={}, help="app config, a JSON object")
    parser.add_argument(
        "--json", type=Path, help="also write the figures to this file (NaN: no ratio)"
    )
    args = parser.parse_args(argv)
    kinds = list(args.only or KINDS)

    # SIGTERM unwinds like Ctrl+C, through the `with` blocks, which stop the servers.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    workers = {
        "gunicorn": f" (--threads {args.threads})",
        "gevent": f" (--worker-connections {args.connections})",
    }.get(args.server, "")
    print(
        f"bench_hostile: {SERVERS[args.server]}{workers}, {args.clients} clients x"
        f" {args.seconds:g} s, think {args.think:g} s, uploads {args.upload_share:.0%},"
        f" seed {args.seed}; hostiles: {', '.join(kinds)}; python {sys.version.split()[0]},"
        f" {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench_hostile_") as tmp:
        base = phase("baseline", [], args, Path(tmp))
        report(base)
        hostile = phase("with hostiles", kinds, args, Path(tmp))
        report(hostile)
    ratio = compare(base, hostile)
    if args.json:
        figures = {"baseline": summary(base), "with hostiles": summary(hostile), "p99_ratio": ratio}
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
