"""A click on the app's own button against a gallery click, in chromium, in the same run.

Issue 15's speed item: a button driving a handler (``galleries.element("#go").click``) must
reach its first result in the page no slower than a gallery's select does. ``_elements_app.py``
serves one page holding both: bench_events' gallery, whose select handler writes
``evt.index`` to ``#out``, and a button whose click handler writes the value of a field
``n`` to ``#out2``; both trivial, ``trigger_mode="multiple"``.

The server runs in a process of its own on Werkzeug's threaded server on loopback
(``tests/servers.py``'s ``ServerProcess``), and one headless chromium keeps the page open with
its socket connected. Clicks are timed inside the page, from just before ``element.click()``
until a MutationObserver sees the answer: the gallery's by bench_events.py's ``CLICKS_JS``
(thumbnails 0, 1, 2 in turn), the button's by :data:`BUTTON_JS` (the field set to a number
never used before, so no earlier answer can be taken for this one). A click with no answer in
10 s stops the run.

The clicks go in rounds alternating gallery and button (ABBA order), so the machine's noise
falls on both alike; each round starts with 2 untimed clicks (bench_floor.py's rounds). Server
CPU per click is read from ``/proc`` around each round and added up per side (ticks of 10 ms:
the printed +- is that tick over the clicks).

Printed: each round's medians, then median, p95 and server CPU per click of both sides, the
ratio button / gallery, and ``target: no slower than the gallery's click: MET/MISS``
(medians)::

    python3 benchmarks/bench_elements.py [--clicks 200] [--rounds 4]
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _browser import VIEWPORT, open_gallery
from bench_events import CLICK_TIMEOUT, CLICKS_JS, line, median, ms, p95
from bench_floor import SETTLE, WARM_UP, Failure, alternate, compare, in_chromium, start
from playwright.sync_api import Browser, Error, Page, sync_playwright

from tests.servers import ServerProcess

#: Clicks the button ``n`` times in a row, the field ``n`` set to ``first``, ``first + 1``...
#: before each: milliseconds from each click until ``#out2`` shows that value.
BUTTON_JS = """async ([n, timeout, first]) => {
  const out = document.getElementById("out2");
  const field = document.querySelector('input[name="n"]');
  const button = document.getElementById("go");
  let waiting = null;  // the click in flight: the text it waits for, and its resolve
  const observer = new MutationObserver(() => {
    if (waiting && out.textContent.trim() === waiting.text) {
      waiting.resolve(performance.now());
      waiting = null;
    }
  });
  observer.observe(out, {childList: true, characterData: true, subtree: true});
  const times = [];
  try {
    for (let k = 0; k < n; k++) {
      field.value = String(first + k);
      let timer;
      const answered = new Promise((resolve, reject) => {
        waiting = {text: field.value, resolve};
        timer = setTimeout(() => reject(new Error(`click ${k}: no answer`)), timeout);
      });
      const start = performance.now();
      button.click();
      times.push((await answered) - start);
      clearTimeout(timer);
      await new Promise((r) => setTimeout(r, 0));
    }
  } finally {
    observer.disconnect();
  }
  return times;
}"""


@dataclasses.dataclass
class Side:
    """One kind of click on the page, and what its rounds measured."""

    label: str
    page: Page
    server: ServerProcess
    gallery: list[str]  # CLICKS_JS' selectors; the button side passes its own arguments
    times: list[float] = dataclasses.field(default_factory=list)
    cpu: float = 0.0  # server CPU seconds over this side's rounds
    served: int = 0  # clicks in those rounds, untimed ones included
    sent: int = 0  # button clicks so far: the next field value

    def clicks(self, n: int) -> list[float]:
        """Click ``n`` times in a row: seconds from each click to its answer in the page."""
        try:
            if self.label == "gallery":
                times = self.page.evaluate(CLICKS_JS, [n, CLICK_TIMEOUT * 1000, *self.gallery])
            else:
                times = self.page.evaluate(BUTTON_JS, [n, CLICK_TIMEOUT * 1000, self.sent + 1])
                self.sent += n
        except Error as exc:
            raise Failure(f"{self.label}: {exc.message}") from exc
        return [x / 1000 for x in times]

    def round(self, n: int) -> list[float]:
        """``SETTLE`` untimed clicks, then ``n`` timed: their times (s)."""
        cpu0 = self.server.cpu_seconds()
        self.clicks(SETTLE)
        times = self.clicks(n)
        self.cpu += self.server.cpu_seconds() - cpu0
        self.times += times
        self.served += SETTLE + n
        return times


def measure(page: Page, server: ServerProcess, sizes: list[int]) -> tuple[Side, Side]:
    """Open the page, warm both clicks up, then click them in alternating rounds."""
    selectors = open_gallery(page, server.url)
    sides = [Side("gallery", page, server, selectors), Side("button", page, server, selectors)]
    for side in sides:
        side.clicks(WARM_UP)
    alternate(sides, sizes)
    return sides[0], sides[1]


def report(gallery: Side, button: Side) -> None:
    """Print both sides, the ratio button / gallery, and whether the button is no slower."""
    print()
    for side, what in (
        (gallery, "gallery select -> #out"),
        (button, "button click -> #out2 (galleries.element)"),
    ):
        line(
            what,
            f"median {ms(median(side.times))} p95 {ms(p95(side.times))}",
            f"server CPU {ms(side.cpu / side.served)}/click",
        )
    cpu_ratio = (button.cpu / button.served) / (gallery.cpu / gallery.served)
    ratio = compare("button / gallery", button, gallery, cpu_ratio)
    verdict = "MET" if ratio <= 1.0 else "MISS"
    print(f"target: no slower than the gallery's click: {verdict}", flush=True)


def main(argv: list[str] | None = None) -> int:
    sizes = start("bench_elements", __doc__, argv)
    with tempfile.TemporaryDirectory(prefix="bench_elements_") as tmp:
        server = ServerProcess(
            "benchmarks._elements_app:create_app",
            Path(tmp),
            env={"BENCH_INSTANCE": tmp},
        )
        with server, sync_playwright() as p:

            def work(browser: Browser) -> None:
                page = browser.new_context(viewport=VIEWPORT).new_page()
                report(*measure(page, server, sizes))

            code = in_chromium(p, work)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return code


if __name__ == "__main__":
    sys.exit(main())
