"""Hostile clients, issue 10 point 1: decompression bombs against a real server.

An 8000x8000 RGBA PNG of zeros is 249 KB and decodes to 256 MB, exactly at
``GALLERY_MAX_IMAGE_PIXELS``. Four clients at once each upload their own (a text chunk makes
the bytes, so the content keys, differ), then ask for its four thumbnail widths and its full file
in parallel: 12 full decodes before the decode budget (3.4 GiB of peak RSS for two files). Now
the server must stay under twice one such decode above idle, give the memory back within a
minute, answer everyone (every thumbnail a valid image) and serve another client's plain page
within a second all along, also under gunicorn's gevent worker, where one OS thread serves
every page. A WebP that would need more than the whole budget is refused unread.
"""

from __future__ import annotations

import concurrent.futures
import io
import re
import threading
import time
import typing as t
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from PIL import Image

from tests.bombs import APP, ATTACK_LIMIT, DECODED, MIB, SIDE, attack, make_bombs, warm_up
from tests.clients import Page, request
from tests.servers import Kind, ServerProcess

#: The issue's aim: peak RSS over idle under twice one decode at the pixel limit.
PEAK_LIMIT_MIB = 2 * DECODED / MIB
#: RSS must come back within this of idle, within SETTLE_SECONDS.
SETTLED_MIB = 32.0
SETTLE_SECONDS = 60.0
PLAIN_LIMIT = 1.0


@pytest.fixture(scope="session")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """The four clients' PNGs, made once per session."""
    return make_bombs(tmp_path_factory.mktemp("decode-bombs"))


def plain_latencies(
    server: ServerProcess, attackers: list[concurrent.futures.Future[t.Any]]
) -> list[float]:
    """Seconds each plain request took, asked for every 0.2 s until the attack is over."""
    latencies: list[float] = []
    pause = threading.Event()
    deadline = time.monotonic() + ATTACK_LIMIT
    while not all(f.done() for f in attackers) and time.monotonic() < deadline:
        start = time.monotonic()
        response = request(server.url + "/plain", timeout=10)
        latencies.append(time.monotonic() - start)
        assert (response.status, response.body) == (200, "plain")
        pause.wait(0.2)
    return latencies


def settle(server: ServerProcess, idle: float) -> tuple[float, float]:
    """Poll RSS until it is within SETTLED_MIB of idle: (seconds it took, RSS over idle)."""
    start = time.monotonic()
    pause = threading.Event()
    while True:
        over = server.rss_mib() - idle
        waited = time.monotonic() - start
        if over <= SETTLED_MIB or waited >= SETTLE_SECONDS:
            return waited, over
        pause.wait(0.5)


def check_answers(answers: dict[str, tuple[int, bytes]]) -> None:
    """Every thumbnail a valid image of its width; the full file the 8000 px PNG."""
    for url, (status, body) in answers.items():
        assert status == 200, (url, status, body[:300])
        image = Image.open(io.BytesIO(body))
        width = re.search(r"/w(\d+)$", url)
        if width is None:
            assert (image.format, image.size) == ("PNG", (SIDE, SIDE)), url
            continue
        image.load()
        assert image.size == (int(width.group(1)),) * 2, url


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["gunicorn", "werkzeug", "gevent"])
def test_four_clients_uploading_decompression_bombs(
    kind: Kind, bombs: list[bytes], tmp_path: Path
) -> None:
    with ServerProcess(APP, tmp_path / "instance", kind=kind) as server:
        warm_up(server)
        idle = server.rss_mib()
        server.reset_peak()
        with concurrent.futures.ThreadPoolExecutor(len(bombs)) as pool:
            attackers = [pool.submit(attack, server, n, bomb) for n, bomb in enumerate(bombs)]
            latencies = plain_latencies(server, attackers)
            answers = [future.result(ATTACK_LIMIT) for future in attackers]
        peak = server.peak_rss_mib() - idle
        waited, settled = settle(server, idle)
    print(
        f"\n{kind}: idle {idle:.0f} MiB, peak +{peak:.0f} MiB (limit {PEAK_LIMIT_MIB:.0f}), "
        f"+{settled:.0f} MiB after {waited:.1f} s; plain max {max(latencies):.3f} s "
        f"of {len(latencies)}"
    )
    for answer in answers:
        check_answers(answer)
    assert latencies and max(latencies) < PLAIN_LIMIT, latencies
    assert peak < PEAK_LIMIT_MIB
    assert settled <= SETTLED_MIB, f"RSS still {settled:.0f} MiB over idle after {waited:.0f} s"


def test_a_webp_needing_more_than_the_budget_is_refused_unread(tmp_path: Path) -> None:
    """746 bytes of lossless WebP declaring 4000x4500 (under the pixel limit) would take
    288 MB to decode, libwebp's canvas and copies included: refused by name in the gallery's
    alert area before any pixel is decoded, the server's memory untouched."""
    buffer = io.BytesIO()
    Image.new("RGBA", (4000, 4500)).save(buffer, "WEBP", lossless=True)
    with ServerProcess(APP, tmp_path / "instance") as server:
        warm_up(server)
        idle = server.rss_mib()
        server.reset_peak()
        page = Page(server, "/?g=uploads")
        response = page.upload("uploads", [("tiny.webp", buffer.getvalue())])
        peak = server.peak_rss_mib() - idle
        assert request(server.url + "/plain").status == 200
    assert response.status == 200
    alert = BeautifulSoup(response.body, "html.parser").find(attrs={"role": "alert"})
    assert alert is not None, response.body[:1000]
    assert re.search(
        r"tiny\.webp: decoding it would take 274 MiB of memory, more than this server allows "
        r"\(244 MiB, GALLERY_MAX_DECODE_BYTES\); send a smaller image\.",
        alert.get_text(" ", strip=True),
    ), alert
    assert peak < 32, f"refusing it took {peak:.0f} MiB"
