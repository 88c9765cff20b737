"""A gallery click in chromium against the floor of its architecture, measured in the same run.

The floor: a click on a server-rendered page cannot cost less than a small JSON frame sent over
the page's open WebSocket, a Flask + flask-sock view answering on it, and a few lines of
JavaScript writing the answer into the DOM. ``_floor_app.py``'s ``GET /browser`` is that page,
in the gallery page's shape (a grid of 3 thumbnail buttons and ``#out``). The gallery is
``_events_app.py``, the page of bench_events.py (one gallery of 3 images, a select handler
writing ``evt.index`` to ``#out``): the same trip through htmx, gallery.js, the event queue and
a rendered partial. What flask_gallery's machinery costs per click is the gallery's figure over
the floor's; the aim is within 3x of it. Absolute times on a shared machine swing by 2x from
one minute to the next, so only a ratio taken in the same run says something.

Both servers run at once, each in a process of its own on Werkzeug's threaded server on
loopback (``tests/servers.py``'s ``ServerProcess``, as bench_events.py serves them), and one
headless chromium keeps both pages open with their sockets connected. Clicks are timed inside
the page by bench_events.py's ``CLICKS_JS``: ``performance.now()`` from just before
``element.click()`` until a MutationObserver sees the answer in ``#out``; a click with no answer
in 10 s stops the run. Both pages are cross-origin isolated (``_isolated.py``), so
``performance.now()`` reads to about 5 us there instead of 0.1 ms, fine enough for a floor of
about half a millisecond; the run stops if a page is not.

The clicks go in rounds alternating floor and gallery (ABBA order), so the machine's noise falls
on both alike. Each round starts with 2 untimed clicks: the page is warm again after idling
through the other side's round, and the round's first click changes ``#out`` whatever the
previous round's length.

Server CPU per click is utime + stime of each server process (``/proc/<pid>/stat``) from the
first round to the last, over the clicks it served (the untimed ones included): one reading
over the whole run, since ``/proc`` counts in ticks of 10 ms, coarser than a round's CPU. A
server idle through the other side's rounds adds almost nothing (its socket thread blocks).
Likewise the times the server's threads blocked (voluntary context switches, ``/proc/<pid>/task``)
per click: a click's thread hand-offs, each a wake-up on two cores shared with chromium.

Where each side's time goes: an init script (``SPLIT_JS``) wraps ``WebSocket.prototype.send``
and the sockets' message listeners with ``performance.now()`` reads, and ``CLICKS_JS`` notes
each timed click's start and answer; each click splits into its page script up to the frame's
send, the send call, the server and the wire (frame sent to first frame back), and the page
script from that frame to the answer in the DOM (hx-ws and htmx's swap for the gallery, one
``textContent`` for the floor). The wrappers cost both sides alike, a microsecond or two.

Printed: each round's medians, then median, p95, server CPU and blocks per click of both sides,
the medians of the split, the ratios gallery / floor, and ``target: within 3x of the floor:
MET/MISS`` (medians)::

    python3 benchmarks/bench_floor.py [--clicks 200] [--rounds 4]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import tempfile
import typing as t
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _browser import VIEWPORT, launch, open_gallery
from bench_events import CLICK_TIMEOUT, CLICKS_JS, Server, line, median, ms, p95
from playwright.sync_api import Browser, Error, Page, Playwright, sync_playwright

from tests.servers import CLK_TCK

#: The issue's aim: a gallery click within this many times the floor's.
TARGET = 3.0
#: Untimed clicks on each page before the first round (caches, JIT, the server's threads).
WARM_UP = 9
#: Untimed clicks on a page before each of its rounds.
SETTLE = 2


#: Installed in both pages before they load: when each frame is sent and when the first frame
#: after it arrives (the message listeners hx-ws and the floor's page add, wrapped).
SPLIT_JS = """(() => {
  window.__fgMarks = [];
  window.__fgSends = [];
  window.__fgMessages = [];
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    const before = performance.now();
    const sent = send.call(this, data);
    window.__fgSends.push([before, performance.now()]);
    return sent;
  };
  const stamp = (listener) => function (event) {
    const now = performance.now();
    const last = window.__fgMessages[window.__fgMessages.length - 1];
    if (last !== now) window.__fgMessages.push(now);
    return listener.call(this, event);
  };
  const add = WebSocket.prototype.addEventListener;
  WebSocket.prototype.addEventListener = function (type, listener, options) {
    return add.call(this, type, type === "message" ? stamp(listener) : listener, options);
  };
  const onmessage = Object.getOwnPropertyDescriptor(WebSocket.prototype, "onmessage");
  Object.defineProperty(WebSocket.prototype, "onmessage", {
    get() { return onmessage.get.call(this); },
    set(listener) { onmessage.set.call(this, listener && stamp(listener)); },
  });
})();"""

#: The parts of a click ``split`` reports, in order.
SPLIT_PARTS = ("script to send", "send call", "server and wire", "script to answer")


def split(marks: list[list[float]], sends: list[list[float]], messages: list[float]) -> list[float]:
    """Medians (s) of the parts of the clicks in ``marks`` ([start, answer] in ms): each click's
    send is the first after its start, its frame back the first message after that send."""
    parts: list[list[float]] = [[] for _ in SPLIT_PARTS]
    for start, answer in marks:
        sent = next((s for s in sends if start <= s[0] <= answer), None)
        back = next((m for m in messages if sent and sent[1] <= m <= answer), None)
        if sent is None or back is None:
            continue
        values = (sent[0] - start, sent[1] - sent[0], back - sent[1], answer - back)
        for part, value in zip(parts, values, strict=True):
            part.append(value / 1000)
    return [median(part) if part else float("nan") for part in parts]


class Failure(Exception):
    """A click got no answer in time, or a page did not open: the run stops."""


@dataclasses.dataclass
class Side:
    """One page under test: its server, its page in chromium, and what its rounds measured."""

    label: str
    server: Server
    page: Page
    selectors: list[str]
    times: list[float] = dataclasses.field(default_factory=list)
    served: int = 0  # clicks the server answered since ``cpu0``, untimed ones included
    cpu0: float = 0.0
    waits0: int = 0

    def clicks(self, n: int) -> list[float]:
        """Click the thumbnails ``n`` times in a row: seconds from each click to its answer
        in ``#out``."""
        self.page.bring_to_front()
        try:
            times = self.page.evaluate(CLICKS_JS, [n, CLICK_TIMEOUT * 1000, *self.selectors])
        except Error as exc:
            raise Failure(f"{self.label}: {exc.message}") from exc
        return [x / 1000 for x in times]

    def round(self, n: int) -> list[float]:
        """``SETTLE`` untimed clicks, then ``n`` timed: their times (s)."""
        self.clicks(SETTLE)
        times = self.clicks(n)
        self.times += times
        self.served += SETTLE + n
        return times

    def split(self) -> list[float]:
        """Medians (s) of the parts of this side's timed clicks (:data:`SPLIT_PARTS`)."""
        marks, sends, messages = self.page.evaluate(
            "[window.__fgMarks, window.__fgSends, window.__fgMessages]"
        )
        return split(marks, sends, messages)

    def cpu_per_click(self) -> float:
        return (self.server.cpu_seconds() - self.cpu0) / self.served

    def waits_per_click(self) -> float:
        return (self.server.waits() - self.waits0) / self.served


def open_floor(page: Page, url: str) -> list[str]:
    """Load ``_floor_app.py``'s ``/browser`` page and wait until its socket is open. Returns
    the selectors ``CLICKS_JS`` takes: the thumbnails, the answer, the selected class."""
    page.goto(url + "/browser", wait_until="load")
    page.wait_for_function("window.__floorSocket === true", timeout=15_000)
    return [".thumb", "#out", "selected"]


def round_sizes(clicks: int, rounds: int) -> list[int]:
    """``clicks`` split into ``rounds`` rounds differing by at most one click."""
    return [clicks // rounds + (k < clicks % rounds) for k in range(rounds)]


class Rounds(t.Protocol):
    """A side of a benchmark in alternating rounds: its name, and a round of ``n`` timed
    clicks that returns their times (s)."""

    label: str

    def round(self, n: int) -> list[float]: ...


def alternate(sides: t.Sequence[Rounds], sizes: list[int]) -> None:
    """Play the sides' rounds of ``sizes`` clicks in ABBA order, so neither side always goes
    first and the machine's noise falls on both alike; print each round's medians."""
    for k, n in enumerate(sizes):
        order = sides if k % 2 == 0 else sides[::-1]
        medians = {side.label: median(side.round(n)) for side in order}
        shown = ", ".join(f"{side.label} {ms(medians[side.label])}" for side in sides)
        print(f"  round {k + 1}/{len(sizes)}, {n} clicks each: {shown} (medians)", flush=True)


def measure(
    browser: Browser, floor: Server, gallery: Server, sizes: list[int]
) -> tuple[Side, Side]:
    """Open both pages, warm them up, then click them in alternating rounds."""
    sides: list[Side] = []
    for label, server, opener in (
        ("floor", floor, open_floor),
        ("gallery", gallery, open_gallery),
    ):
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.add_init_script(SPLIT_JS)
        side = Side(label, server, page, opener(page, server.url))
        if not page.evaluate("crossOriginIsolated"):  # else times come in 0.1 ms steps
            raise Failure(f"{label}: the page is not cross-origin isolated (_isolated.py)")
        side.clicks(WARM_UP)
        page.evaluate("window.__fgMarks.length = 0")  # the timed clicks only
        sides.append(side)
    for side in sides:
        side.cpu0 = side.server.cpu_seconds()
        side.waits0 = side.server.waits()
    alternate(sides, sizes)
    return sides[0], sides[1]


class Timed(t.Protocol):
    """A side's measures: the timed clicks' times (s), and all the clicks its server served."""

    times: list[float]
    served: int


def compare(name: str, side: Timed, base: Timed, cpu_ratio: float) -> float:
    """Print the line ``name`` of ratios ``side`` / ``base`` (median, p95, and ``cpu_ratio``,
    their server CPU per click) and what a ``/proc`` tick is per click; the medians' ratio."""
    ratio = median(side.times) / median(base.times)
    line(
        name,
        f"median {ratio:.2f}x p95 {p95(side.times) / p95(base.times):.2f}x",
        f"server CPU {cpu_ratio:.2f}x",
    )
    tick = 1 / CLK_TCK / min(side.served, base.served)
    print(f"  (CPU from /proc in ticks of {1000 / CLK_TCK:.0f} ms: +-{ms(tick)}/click)")
    return ratio


def report(floor: Side, gallery: Side) -> None:
    """Print both sides, their ratios, and whether the gallery is within ``TARGET`` x."""
    cpus = {side.label: side.cpu_per_click() for side in (floor, gallery)}
    print()
    for side, what in (
        (floor, "floor: Flask + flask-sock, inline JS"),
        (gallery, "gallery: _events_app.py"),
    ):
        line(
            what,
            f"median {ms(median(side.times))} p95 {ms(p95(side.times))}",
            f"server CPU {ms(cpus[side.label])}/click, threads blocked"
            f" {side.waits_per_click():.1f}x/click",
        )
    parts = {side.label: side.split() for side in (floor, gallery)}
    print("  where a click's time goes, medians:")
    for k, part in enumerate(SPLIT_PARTS):
        line(f"    {part}", f"floor {ms(parts['floor'][k])}", f"gallery {ms(parts['gallery'][k])}")
    ratio = compare("gallery / floor", gallery, floor, cpus["gallery"] / cpus["floor"])
    verdict = "MET" if ratio <= TARGET else "MISS"
    print(f"target: within {TARGET:g}x of the floor: {verdict}", flush=True)


def start(name: str, doc: str, argv: list[str] | None) -> list[int]:
    """What a benchmark in alternating rounds does first (this one and bench_elements.py):
    read ``--clicks`` and ``--rounds`` (its description is the first paragraph of ``doc``),
    make SIGTERM unwind like Ctrl+C through the caller's ``with`` blocks, which stop its
    servers, and print the run's header line. Returns the rounds' sizes."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=200, help="timed clicks per side (200)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds (4)")
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= args.clicks:
        parser.error("--rounds must be between 1 and --clicks")

    def interrupt(*_: object) -> t.NoReturn:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    print(
        f"{name}: python {sys.version.split()[0]}, {os.cpu_count()} cores, load average"
        f" {os.getloadavg()[0]:.1f} at start; {args.clicks} clicks per side in"
        f" {args.rounds} alternating rounds; Werkzeug's threaded server"
    )
    return round_sizes(args.clicks, args.rounds)


def in_chromium(p: Playwright, work: t.Callable[[Browser], None]) -> int:
    """Launch chromium, print its version and run ``work`` with it: 0, or 1 when a click got
    no answer or a page did not open (printed)."""
    browser = launch(p)
    try:
        print(f"chromium {browser.version}", flush=True)
        work(browser)
    except (Failure, Error) as exc:
        print(f"FAILURE: {exc}", flush=True)
        return 1
    finally:
        browser.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    sizes = start("bench_floor", __doc__, argv)
    with tempfile.TemporaryDirectory(prefix="bench_floor_") as tmp:
        floor = Server("floor", "none", Path(tmp) / "floor")
        gallery = Server("werkzeug", "default", Path(tmp) / "gallery")
        with floor, gallery, sync_playwright() as p:
            code = in_chromium(p, lambda browser: report(*measure(browser, floor, gallery, sizes)))
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return code


if __name__ == "__main__":
    sys.exit(main())
