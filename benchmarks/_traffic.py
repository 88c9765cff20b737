"""What a page fetches, counted from chromium's DevTools protocol (bench_first_paint.py,
bench_windowed.py): requests and their bytes on the wire, until the network has been quiet for a
while, so both benchmarks count a first paint the same way."""

from __future__ import annotations

import time
import typing as t

if t.TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page


class Traffic:
    """Starts counting when made, before the page navigates. Only requests whose URL
    ``wanted`` accepts count; a failed request counts with 0 bytes."""

    def __init__(
        self,
        context: BrowserContext,
        page: Page,
        wanted: t.Callable[[str], bool] = lambda url: url.startswith("http"),
    ) -> None:
        self._wanted = wanted
        #: URL, resource type ("Document", "Image"...) and bytes of each request, by its id.
        self.urls: dict[str, str] = {}
        self.kinds: dict[str, str] = {}
        self.done: dict[str, int] = {}
        self._in_flight: set[str] = set()
        self._last = time.monotonic()
        cdp = context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.loadingFailed", lambda e: self._finished(e, failed=True))
        cdp.send("Network.enable")

    def _sent(self, event: dict[str, t.Any]) -> None:
        url = event["request"]["url"]
        if self._wanted(url):
            self.urls[event["requestId"]] = url
            self.kinds[event["requestId"]] = event.get("type", "")
            self._in_flight.add(event["requestId"])
            self._last = time.monotonic()

    def _finished(self, event: dict[str, t.Any], failed: bool = False) -> None:
        if event["requestId"] in self._in_flight:
            self._in_flight.discard(event["requestId"])
            self.done[event["requestId"]] = 0 if failed else int(event["encodedDataLength"])
            self._last = time.monotonic()

    def settle(self, page: Page, quiet: float) -> None:
        """Wait until nothing is in flight and nothing happened for ``quiet`` seconds."""
        while self._in_flight or time.monotonic() - self._last < quiet:
            page.wait_for_timeout(50)  # lets Playwright deliver the network events

    @property
    def requests(self) -> int:
        return len(self.done)

    def bytes(self, kind: str | None = None) -> int:
        """Bytes of the finished requests (of resource type ``kind`` only, when given)."""
        return sum(n for rid, n in self.done.items() if kind is None or self.kinds[rid] == kind)
