"""Click-to-result speed of a select handler, end to end: HTTP POST in, result over the WebSocket.

The server under test runs in its own process (``benchmarks/_events_app.py``: one gallery of 3
images, a trivial select handler writing ``evt.index`` to ``#out``) on a real server on loopback:
Werkzeug's threaded server (what ``flask run`` uses) and, unless ``--no-gunicorn``, gunicorn with
threads (one of the test extras), each started by ``tests/servers.py``'s ``ServerProcess``. A
light client (raw asyncio HTTP/1.1 and WebSocket, one connection of each per virtual client,
``_light_client.py``) loads the page (session cookie, page token), opens the page's socket, then
clicks in a closed loop: POST select, wait for the HTTP answer and for the result on its socket
(the issue's measure). Since a page sends its clicks over its open socket, the same clicks are
also timed that way: one JSON frame out, the answer and the result back on the socket.

Printed, each beside a floor measured in the same run (a bare Flask POST on the same server) and
Gradio 6.31's figures from issue 4 (or, with ``--with-gradio``, Gradio measured in this run):
round trip with 1 client; events/s with 32 clients for 20 s and 60 s at the default concurrency
limit (1) and with none; server CPU per event (/proc/<pid>/stat); the server's peak RSS (VmHWM);
``import flask_gallery`` time; and headless chromium clicking thumbnails, 200 clicks timed inside
the page until the handler's answer is in the DOM. PASS/MISS against the issue's targets::

    python3 benchmarks/bench_events.py                  # the full run (~8 minutes)
    python3 benchmarks/bench_events.py --seconds 5 --clicks 50 --no-gunicorn   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from _light_client import HttpConnection, WebSocket, click_frame, read_page  # noqa: E402

from tests.servers import HOST, ServerProcess  # noqa: E402

#: A click that gets no result within this many seconds counts as a failure.
CLICK_TIMEOUT = 10.0
GRADIO_PYTHON = Path(tempfile.gettempdir()) / "gradio-venv" / "bin" / "python"
GUNICORN_THREADS = 100  # each open WebSocket holds a thread (NOTES.md): 32 sockets + requests

#: Gradio 6.31 on this kind of machine (issue 4, shared/NOTES.md).
GRADIO = {
    "rtt": 3.3e-3,
    "rtt_p95": 4.5e-3,
    "eps_default": 148.0,
    "eps_none": 217.0,
    "cpu": (5e-3, 7e-3),
    "cpu_none": (5e-3, 7e-3),
    "rss": 177.0,
    "import": (1.7, 1.9),
    "browser": 23.4e-3,
    "browser_p95": 31e-3,
    "browser_cpu": 9.4e-3,
}
#: Flask + flask-sock alone doing the same exchange (``_floor_app.py``), measured in the run.
FLOOR: dict[str, float] = {}
#: The bare Flask POST of NOTES.md on the Werkzeug threaded server.
NOTES_BARE = "0.56 ms median, 1372 req/s with 16 clients"

RESULT = re.compile(r'<hx-partial hx-target="#out" hx-swap="innerHTML">([^<]*)</hx-partial>')


# Server process --------------------------------------------------------------------------------


def has_gunicorn() -> bool:
    """gunicorn is one of the test extras (``pip install -e '.[test]'``); without it, a note."""
    if importlib.util.find_spec("gunicorn") is not None:
        return True
    print("gunicorn is not installed (pip install -e '.[test]'): its runs are skipped")
    return False


class Server(ServerProcess):
    """A server of this benchmark in its own process group, by ``role``: ``werkzeug`` and
    ``gunicorn`` serve ``_events_app.py``, ``floor`` serves ``_floor_app.py`` on Werkzeug,
    ``gradio`` runs ``_gradio_app.py`` with Gradio's interpreter. ``app`` serves another
    ``module:factory`` in the role's place (bench_path's counting wrappers)."""

    start_limit = 90.0

    def __init__(self, role: str, limit: str, instance: Path, app: str | None = None) -> None:
        module = "_floor_app" if role == "floor" else "_events_app"
        env = {"BENCH_LIMIT": limit, "BENCH_INSTANCE": str(instance)}
        if role == "gradio":
            env["GRADIO_ANALYTICS_ENABLED"] = "False"
        kind = "gunicorn" if role == "gunicorn" else "werkzeug"
        super().__init__(
            app or f"benchmarks.{module}:create_app",
            instance,
            kind=kind,
            threads=GUNICORN_THREADS,
            env=env,
        )
        self.role, self.limit = role, limit

    def command(self) -> list[str]:
        if self.role == "gradio":
            return [str(GRADIO_PYTHON), str(HERE / "_gradio_app.py"), str(self.port)]
        return super().command()


# Virtual clients -------------------------------------------------------------------------------


class Failure(Exception):
    pass


class VirtualClient:
    """One browser tab's worth of connections: an HTTP connection and the page's WebSocket."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.http = HttpConnection(HOST, port)
        self.ws: WebSocket | None = None
        self.results: asyncio.Queue[str] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self.headers: dict[str, str] = {}
        self.actions = self.root = ""

    async def open(self, socket: bool = True) -> None:
        response = await self.http.request("GET", "/")
        if response.status != 200:
            raise Failure(f"GET / answered {response.status}")
        page = read_page(response.body.decode())
        if not (page and "bench" in page.galleries and page.socket):
            raise Failure("the page has no gallery token, actions, root or socket")
        self.root, self.actions = page.galleries["bench"]
        self.headers = {
            "X-Gallery-Page": page.token,
            "X-Gallery-Root": self.root,
            "HX-Request": "true",
            "Origin": f"http://{HOST}:{self.port}",
        }
        if socket:
            self.ws = await WebSocket.connect(
                HOST,
                self.port,
                page.socket,
                {"Cookie": self.http.cookie_header(), "Origin": f"http://{HOST}:{self.port}"},
            )
            self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        while (message := await self.ws.recv()) is not None:
            for match in RESULT.finditer(message):
                self.results.put_nowait(match.group(1))

    async def click(self, index: int) -> float:
        """POST select, wait for the HTTP answer and the result on the socket: seconds."""
        start = time.perf_counter()
        response = await self.http.request("POST", f"{self.actions}/select/{index}", self.headers)
        if response.status != 200:
            raise Failure(f"select answered {response.status}: {response.body[:200]!r}")
        return await self._result(index, start)

    async def click_socket(self, index: int) -> float:
        """Send select over the page's socket, as gallery.js does while it is open, and wait
        for the result on it: seconds."""
        assert self.ws is not None
        start = time.perf_counter()
        self.ws.send(click_frame("bench", self.root, "select", index))
        return await self._result(index, start)

    async def _result(self, index: int, start: float) -> float:
        """Wait for the result of clicking ``index`` on the socket: seconds since ``start``."""
        value = await asyncio.wait_for(self.results.get(), CLICK_TIMEOUT)
        elapsed = time.perf_counter() - start
        if value != str(index):
            raise Failure(f"clicked {index}, the page was told {value!r}")
        return elapsed

    async def bare(self) -> float:
        start = time.perf_counter()
        response = await self.http.request("POST", "/bare")
        if response.status != 200 or response.body != b"ok":
            raise Failure(f"/bare answered {response.status}")
        return time.perf_counter() - start

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self.ws is not None:
            await self.ws.close()
        await self.http.close()


class GradioClient(VirtualClient):
    """A Gradio page driven as its frontend does: POST /gradio_api/queue/join, then read the
    /gradio_api/queue/data event stream of the session until the event completes."""

    async def open(self, socket: bool = True) -> None:
        page = await self.http.request("GET", "/")
        if page.status != 200:
            raise Failure(f"Gradio's page answered {page.status}")
        self.session = os.urandom(8).hex()

    async def click(self, index: int) -> float:
        start = time.perf_counter()
        body = json.dumps(
            {
                "data": [],
                "event_data": {"index": index, "value": None, "selected": True},
                "fn_index": 0,
                "trigger_id": 1,
                "session_hash": self.session,
            }
        ).encode()
        joined = await self.http.request(
            "POST", "/gradio_api/queue/join", {"Content-Type": "application/json"}, body
        )
        if joined.status != 200:
            raise Failure(f"queue/join answered {joined.status}")
        stream = await self.http.request(
            "GET", f"/gradio_api/queue/data?session_hash={self.session}"
        )
        elapsed = time.perf_counter() - start
        if f'"data":["{index}"]'.encode() not in stream.body.replace(b" ", b""):
            raise Failure(f"clicked {index}, Gradio sent {stream.body[-300:]!r}")
        return elapsed


class Run(t.NamedTuple):
    latencies: list[float]
    wall: float
    cpu: float  # server CPU seconds over the run
    failures: int


async def _closed_loop(
    server: Server, clients: int, seconds: float, count: int | None, what: str
) -> Run:
    """``clients`` virtual clients clicking (or POSTing /bare) in a closed loop until
    ``seconds`` have passed or each made ``count`` requests."""
    kind = GradioClient if server.role == "gradio" else VirtualClient
    vcs = [kind(server.port) for _ in range(clients)]
    try:
        clicks: dict[str, t.Callable[[t.Any, int], t.Awaitable[float]]] = {
            "select": lambda vc, i: vc.click(i),
            "socket": lambda vc, i: vc.click_socket(i),
            "bare": lambda vc, _: vc.bare(),
        }
        await asyncio.gather(*(vc.open(socket=what != "bare") for vc in vcs))
        act = clicks[what]
        for vc in vcs:  # warm up each connection (and the server's caches), untimed
            await act(vc, 1)
        latencies: list[float] = []
        failures = [0]
        limit = count if count is not None else 10_000_000
        cpu0, wall0 = server.cpu_seconds(), time.perf_counter()
        deadline = wall0 + seconds

        async def loop(vc: VirtualClient, n0: int) -> None:
            n = n0
            while time.perf_counter() < deadline and n - n0 < limit:
                try:
                    latencies.append(await act(vc, n % 3))
                except (Failure, TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                    failures[0] += 1
                    if failures[0] <= 3:
                        print(f"    failure: {exc!r}", flush=True)
                    if isinstance(exc, (OSError, asyncio.IncompleteReadError)):
                        return  # the connection is gone
                n += 1

        await asyncio.gather(*(loop(vc, k) for k, vc in enumerate(vcs)))
        wall, cpu = time.perf_counter() - wall0, server.cpu_seconds() - cpu0
        return Run(latencies, wall, cpu, failures[0])
    finally:
        await asyncio.gather(*(vc.close() for vc in vcs), return_exceptions=True)


def closed_loop(
    server: Server, clients: int, seconds: float, count: int | None = None, what: str = "select"
) -> Run:
    return asyncio.run(_closed_loop(server, clients, seconds, count, what))


# Figures ---------------------------------------------------------------------------------------


def median(values: t.Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p95(values: t.Sequence[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def line(label: str, value: str, note: str = "") -> None:
    print(f"  {label:<42}{value:<30}{note}", flush=True)


def eps(run: Run) -> float:
    return len(run.latencies) / run.wall if run.wall else float("nan")


def cpu_per(run: Run) -> float:
    return run.cpu / len(run.latencies) if run.latencies else float("nan")


def report_run(
    label: str, run: Run, gradio_eps: float, bare: float | None, cpu_key: str = "cpu"
) -> None:
    rate = eps(run)
    extra = f"  FAILURES {run.failures}" if run.failures else ""
    line(
        label,
        f"{rate:,.0f} events/s",
        f"median {ms(median(run.latencies))} p95 {ms(p95(run.latencies))}"
        f"  CPU {ms(cpu_per(run))}/event{extra}",
    )
    target = 2 * gradio_eps
    ratio = f"{rate / bare:.2f}x the bare POST; " if bare else ""
    line(
        "",
        f"{rate / gradio_eps:.2f}x Gradio",
        f"{ratio}target >= {target:.0f}/s (2x Gradio's {gradio_eps:.0f}):"
        f" {verdict(rate >= target)}",
    )
    cpu = cpu_per(run)
    low, high = GRADIO[cpu_key]
    half = low / 2
    versus = f"{cpu / low:.2f}x" if low == high else f"{cpu / low:.2f}-{cpu / high:.2f}x"
    line(
        "",
        f"CPU {ms(cpu)}/event",
        f"{versus} Gradio's {span(low, high)}; target <= {ms(half)} (half of"
        f" {ms(low)}): {verdict(cpu <= half)}",
    )


def span(low: float, high: float) -> str:
    return ms(low) if low == high else f"{low * 1000:.1f}-{high * 1000:.1f} ms"


def wire(
    server: Server, seconds: list[float], rtt_count: int, label: str, with_rtt: bool
) -> dict[str, t.Any]:
    """The HTTP + WebSocket figures of one server (one concurrency limit)."""
    out: dict[str, t.Any] = {}
    print(f"\n{label}", flush=True)
    if with_rtt:
        bare1 = closed_loop(server, 1, 30, rtt_count, what="bare")
        one = closed_loop(server, 1, 60, rtt_count)
        b, o = median(bare1.latencies), median(one.latencies)
        line("bare Flask POST, 1 client", f"median {ms(b)} p95 {ms(p95(bare1.latencies))}")
        line(
            "click-to-result, 1 client",
            f"median {ms(o)} p95 {ms(p95(one.latencies))}",
            f"{o / b:.1f}x the bare POST; {o / GRADIO['rtt']:.2f}x Gradio's {ms(GRADIO['rtt'])}"
            f" (p95 {ms(GRADIO['rtt_p95'])}); target <= {ms(GRADIO['rtt'])}:"
            f" {verdict(o <= GRADIO['rtt'])}",
        )
        line("", f"CPU {ms(cpu_per(one))}/event", "(server, 1 client)")
        sock1 = closed_loop(server, 1, 60, rtt_count, what="socket")
        line(
            "click over the socket, 1 client",
            f"median {ms(median(sock1.latencies))} p95 {ms(p95(sock1.latencies))}",
            f"CPU {ms(cpu_per(sock1))}/event; what pages send while their socket is open",
        )
        bare16 = closed_loop(server, 16, min(seconds[0], 5), what="bare")
        bare32 = closed_loop(server, 32, min(seconds[0], 5), what="bare")
        line(
            "bare Flask POST, 16 / 32 clients",
            f"{eps(bare16):,.0f} / {eps(bare32):,.0f} req/s",
            f"CPU {ms(cpu_per(bare32))}/request (NOTES: {NOTES_BARE})",
        )
        out.update(rtt=one, bare=bare32)
    gradio_eps = GRADIO["eps_default" if server.limit == "default" else "eps_none"]
    cpu_key = "cpu" if server.limit == "default" else "cpu_none"
    for s in seconds:
        run = closed_loop(server, 32, s)
        bare = eps(out["bare"]) if "bare" in out else None
        report_run(f"32 clients, {s:g} s", run, gradio_eps, bare, cpu_key)
        out[s] = run
    # What a browser does while the page's socket is open: the click is a frame on it.
    run = closed_loop(server, 32, seconds[0], what="socket")
    report_run(f"32 clients over the socket, {seconds[0]:g} s", run, gradio_eps, None, cpu_key)
    return out


def import_time(python: Path, code: str, runs: int = 7) -> tuple[float, float]:
    """Median seconds of ``python -c <code>`` and of a bare ``python -c pass``.

    The interpreter may write and read ``.pyc`` files whatever this process's environment says:
    an installed wheel has them (pip compiles them), and a checkout writes them on first import.
    Without them (``PYTHONDONTWRITEBYTECODE=1``, set on some machines) every run compiles the
    package from source, about 130 ms of the figure (2026-12-08)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}

    def timed(code: str) -> float:
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([str(python), "-c", code], cwd=ROOT, env=env, check=True, timeout=120)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    timed(code)  # warm the file cache and the .pyc files
    return timed(code), timed("pass")


# The browser -----------------------------------------------------------------------------------

#: Inside the page: click thumbnails 0, 1, 2, 0, ... (consecutive answers differ, so every
#: click's answer is seen), clock from just before element.click() to the MutationObserver
#: seeing the answer in #out; then wait for the click's own HTTP answer (the thumbnail shows as
#: selected) so that clicks never overlap.
CLICKS_JS = """async ([n, timeout, thumbs, answer, selected]) => {
  const out = document.getElementById("out");
  const thumb = (i) => document.querySelectorAll(thumbs)[i];
  const text = () => (document.querySelector(answer)?.textContent ?? "").trim();
  const until = (test) => new Promise((resolve, reject) => {
    if (test()) { resolve(performance.now()); return; }
    const obs = new MutationObserver(() => {
      if (test()) { obs.disconnect(); clearTimeout(timer); resolve(performance.now()); }
    });
    const timer = setTimeout(() => { obs.disconnect(); reject(new Error("no answer")); }, timeout);
    obs.observe(document.body, {childList: true, subtree: true, attributes: true});
  });
  const times = [];
  for (let k = 0; k < n; k++) {
    const i = k % 3, expected = String(i);
    const answered = new Promise((resolve, reject) => {
      const obs = new MutationObserver(() => {
        if (text() !== expected) return;
        obs.disconnect();
        clearTimeout(timer);
        resolve(performance.now());
      });
      const timer = setTimeout(() => {
        obs.disconnect();
        reject(new Error(`click ${k}: no answer`));
      }, timeout);
      obs.observe(out, {childList: true, characterData: true, subtree: true});
    });
    const start = performance.now();
    thumb(i).click();
    const done = await answered;
    times.push(done - start);
    if (window.__fgMarks) window.__fgMarks.push([start, done]);  // bench_floor's split
    await until(() => thumb(i) && thumb(i).classList.contains(selected));
    await new Promise((r) => setTimeout(r, 0));
  }
  return times;
}"""


#: The floor of any click that asks the server: a bare fetch POST from the same page to the same
#: server (a trivial Flask view), answer written into the DOM.
BARE_FETCH_JS = """async (n) => {
  const out = document.getElementById("out");
  const times = [];
  for (let k = 0; k < n; k++) {
    const start = performance.now();
    const response = await fetch("/bare", {method: "POST"});
    out.dataset.bare = await response.text();
    times.push(performance.now() - start);
  }
  return times;
}"""


def browser_clicks(server: Server, clicks: int) -> tuple[list[float], float, str, list[float]]:
    """Times (s) of ``clicks`` sequential clicks in headless chromium, server CPU per click,
    the browser's version, and the times of as many bare fetch POSTs (our servers only)."""
    from _browser import VIEWPORT, launch, open_gallery
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            if server.role == "gradio":
                setup = ["#bench button.thumbnail-item", "#out .html-container", "selected"]
                page.goto(server.url + "/", wait_until="domcontentloaded")
                page.wait_for_selector(setup[0], timeout=30_000)
            else:
                setup = open_gallery(page, server.url)
            page.evaluate(CLICKS_JS, [9, CLICK_TIMEOUT * 1000, *setup])  # warm up, untimed
            cpu0 = server.cpu_seconds()
            times = page.evaluate(CLICKS_JS, [clicks, CLICK_TIMEOUT * 1000, *setup])
            cpu = (server.cpu_seconds() - cpu0) / clicks
            bare = [] if server.role == "gradio" else page.evaluate(BARE_FETCH_JS, clicks)
            context.close()
            return [x / 1000 for x in times], cpu, browser.version, [x / 1000 for x in bare]
        finally:
            browser.close()


# Main ------------------------------------------------------------------------------------------


def report_browser(server: Server, clicks: int) -> None:
    times, cpu, version, bare = browser_clicks(server, clicks)
    med = median(times)
    print(f"\nchromium {version}, {clicks} sequential clicks, {server.role}", flush=True)
    if server.role == "gradio":
        GRADIO.update(browser=med, browser_p95=p95(times), browser_cpu=cpu)
        line("Gradio: click to answer in the DOM", f"median {ms(med)} p95 {ms(p95(times))}")
        line("Gradio: server CPU per click", ms(cpu), "(issue: 23.4 ms, p95 31; 9.4 ms CPU)")
        return
    target = GRADIO["browser"] / 4
    line(
        "click to answer in the DOM",
        f"median {ms(med)} p95 {ms(p95(times))}",
        f"{med / GRADIO['browser']:.2f}x Gradio's {ms(GRADIO['browser'])} (p95"
        f" {ms(GRADIO['browser_p95'])}); target < {ms(target)}: {verdict(med < target)}",
    )
    line(
        "server CPU per click",
        ms(cpu),
        f"{cpu / GRADIO['browser_cpu']:.2f}x Gradio's {ms(GRADIO['browser_cpu'])}",
    )
    line(
        "floor: bare fetch POST from the page",
        f"median {ms(median(bare))} p95 {ms(p95(bare))}",
        f"the click is {med / median(bare):.2f}x one bare round trip from this browser",
    )


def report_rss(server: Server) -> float:
    rss = server.peak_rss_mib()
    if server.role == "gradio":
        line("Gradio: server peak RSS (VmHWM)", f"{rss:.1f} MiB", "(issue: 177 MiB)")
    elif server.role == "floor":
        line("floor: peak RSS (VmHWM)", f"{rss:.1f} MiB")
    else:
        line(
            "server peak RSS (VmHWM)",
            f"{rss:.1f} MiB",
            f"{rss / GRADIO['rss']:.2f}x Gradio's {GRADIO['rss']:.0f} MiB; target < 60 MiB:"
            f" {verdict(rss < 60)}",
        )
        if "rss" in FLOOR:
            line("", f"+{rss - FLOOR['rss']:.1f} MiB", "over the floor (Flask + flask-sock alone)")
    return rss


def floor_side(tmp: Path, seconds: float) -> None:
    """Flask and flask-sock alone, driven by the same clients: what any Flask app doing this
    exchange costs, so the figures below can say what flask_gallery adds."""
    with Server("floor", "none", tmp / "floor") as server:
        print("\nfloor: Flask + flask-sock alone (_floor_app.py), Werkzeug threaded server")
        for what, label in (("select", "POST, result on socket"), ("socket", "over the socket")):
            run = closed_loop(server, 32, seconds, what=what)
            line(
                f"floor: 32 clients, {label}",
                f"{eps(run):,.0f} events/s",
                f"median {ms(median(run.latencies))}  CPU {ms(cpu_per(run))}/event",
            )
        FLOOR["rss"] = report_rss(server)


def gradio_side(tmp: Path, args: argparse.Namespace) -> None:
    """Gradio 6.31 measured the same way; its figures replace the issue's in what follows."""
    if not GRADIO_PYTHON.exists():
        print(f"\n--with-gradio: no {GRADIO_PYTHON} (python3 -m venv /tmp/gradio-venv &&")
        print("  /tmp/gradio-venv/bin/pip install gradio==6.31.0): the issue's figures are used")
        return
    for limit in ("default", "none"):
        lim = "default_concurrency_limit=1" if limit == "default" else "no limit"
        with Server("gradio", limit, tmp / f"gradio-{limit}") as server:
            print(f"\nGradio 6.31 (uvicorn), {lim}, driven through queue/join + queue/data")
            if limit == "default":
                one = closed_loop(server, 1, 60, args.rtt_count)
                GRADIO.update(rtt=median(one.latencies), rtt_p95=p95(one.latencies))
                line(
                    "Gradio: click-to-result, 1 client",
                    f"median {ms(GRADIO['rtt'])} p95 {ms(GRADIO['rtt_p95'])}",
                    "(issue: 3.3 ms, p95 4.5)",
                )
            run = closed_loop(server, 32, args.seconds[0])
            key = "eps_default" if limit == "default" else "eps_none"
            line(
                f"Gradio: 32 clients, {args.seconds[0]:g} s",
                f"{eps(run):,.0f} events/s",
                f"CPU {ms(cpu_per(run))}/event (issue: {GRADIO[key]:.0f}/s, 5-7 ms)"
                + (f"  FAILURES {run.failures}" if run.failures else ""),
            )
            GRADIO[key] = eps(run)
            GRADIO["cpu" if limit == "default" else "cpu_none"] = (cpu_per(run), cpu_per(run))
            if limit == "default" and not args.no_browser:
                report_browser(server, args.clicks)
            rss = report_rss(server)
            GRADIO["rss"] = max(rss, GRADIO["rss"] if limit == "none" else 0)
    imported, bare = import_time(GRADIO_PYTHON, "import gradio", 3)
    GRADIO["import"] = (imported - bare, imported - bare)
    line("Gradio: import gradio", f"{(imported - bare) * 1000:.0f} ms", "(issue: 1.7-1.9 s)")
    print("\nbelow, ratios and targets are against Gradio as measured above")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, nargs="+", default=[20.0, 60.0], help="throughput runs (20 60)"
    )
    parser.add_argument("--rtt-count", type=int, default=1000, help="1-client clicks (1000)")
    parser.add_argument("--clicks", type=int, default=200, help="browser clicks (200)")
    parser.add_argument("--no-gunicorn", action="store_true", help="Werkzeug's server only")
    parser.add_argument("--no-browser", action="store_true", help="skip the chromium part")
    parser.add_argument(
        "--with-gradio", action="store_true", help="measure Gradio 6.31 from /tmp/gradio-venv too"
    )
    args = parser.parse_args(argv)

    # SIGTERM unwinds like Ctrl+C, through the `with` blocks, which stop the servers.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    print(
        f"bench_events: python {sys.version.split()[0]}, {os.cpu_count()} cores,"
        f" load average {os.getloadavg()[0]:.1f} at start; 32-client runs of"
        f" {' and '.join(f'{s:g}' for s in args.seconds)} s"
    )
    print("handler: select -> '#out', trigger_mode='multiple', allow_preview=False, 3 images")

    with tempfile.TemporaryDirectory(prefix="bench_events_") as tmp:
        if args.with_gradio:
            gradio_side(Path(tmp), args)
        floor_side(Path(tmp), args.seconds[0])
        kinds = ["werkzeug"]
        if not args.no_gunicorn and has_gunicorn():
            kinds.append("gunicorn")
        for kind in kinds:
            for limit in ("default", "none"):
                name = (
                    "Werkzeug threaded server (closes every connection: no keep-alive)"
                    if kind == "werkzeug"
                    else f"gunicorn, 1 worker, --threads {GUNICORN_THREADS} (keep-alive)"
                )
                lim = "concurrency_limit=1 (default)" if limit == "default" else "=None"
                with Server(kind, limit, Path(tmp) / f"{kind}-{limit}") as server:
                    wire(
                        server,
                        args.seconds if kind == "werkzeug" else args.seconds[:1],
                        args.rtt_count,
                        f"{name}, {lim}",
                        with_rtt=limit == "default",
                    )
                    report_rss(server)
                    if limit == "default" and not args.no_browser:
                        report_browser(server, args.clicks)

    imported, bare = import_time(Path(sys.executable), "import flask_gallery")
    cost = imported - bare
    print()
    line(
        "import flask_gallery (fresh interpreter)",
        f"{cost * 1000:.0f} ms",
        f"({imported * 1000:.0f} ms less {bare * 1000:.0f} ms for `python -c pass`);"
        f" {cost / GRADIO['import'][0]:.2f}x Gradio's {GRADIO['import'][0]:.2f} s;"
        f" target < 0.3 s: {verdict(cost < 0.3)}",
    )


if __name__ == "__main__":
    main()
