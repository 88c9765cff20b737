"""Malformed input is a 4xx, never a 500 (issue 10, point 7), against a real server.

Every route of the extension's blueprint (listed from the url_map, so a new route is covered
without touching this file) gets malformed path segments, query strings, headers and bodies:
bad encodings, nesting too deep for the JSON parser, wrong types, numbers too long to convert.
The page's socket gets malformed frames. The server must answer each with a 4xx (a frame: with
a refusal in its gallery), keep the socket open, and go on serving everyone.
"""

from __future__ import annotations

import json
import re
import time
import typing as t

import pytest
from flask import Flask

from flask_gallery import FlaskGallery

from .clients import Page, multipart, raw_request, receive_until
from .clients import request as http
from .servers import ServerProcess

#: Path segments no route expects: invalid UTF-8 (escaped and raw), overlong encodings, NUL,
#: traversal, digits past Python's int conversion limit, signs, exponents, other scripts' digits.
SEGMENTS = [
    "%ff",
    "\xff\xfe",
    "%c0%ae%c0%ae",
    "%00",
    "..%2f..%2f..%2fetc%2fpasswd",
    "9" * 5000,
    "-1",
    "1e400",
    "%d9%a3",
    "x" * 2000,
]
QUERIES = ["?after=%ff", "?after=1e400", "?after=" + "9" * 5000, "?after=-5", "?%ff=%fe&a"]
HEADERS: list[dict[str, str]] = [
    {"Origin": "http://["},
    {"Origin": "null"},
    {"X-Gallery-Root": "fg-pics\x7f<script>"},
    {"X-Gallery-Page": "\xff" * 40},
    {"Cookie": "session=\xff\xfe; session=garbage"},
    {"Content-Length": "-5"},
    {"Content-Length": "abc"},
    {"Content-Length": "9" * 30},
    {"Content-Length": "1, 2"},
]
NESTED = b"[" * 200_000 + b"]" * 200_000
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def bodies() -> list[tuple[str, str, bytes]]:
    """(name, Content-Type, body) of each malformed body."""
    files, files_type = multipart({"source": "upload"}, [("files", "NAME.png", b"\x89PNG")])
    return [
        ("form: invalid UTF-8", FORM, b"source=%ff%fe&\xff\xfe=\xc0\xae&values=%00"),
        ("form: bogus charset", f"{FORM}; charset=bogus", b"a=b"),
        ("form: deep js result", FORM, b"_fg_js:scripted.select.0=" + NESTED[:300_000]),
        ("form: js result of wrong types", FORM, b'_fg_js:scripted.select.0={"a":[1e999]}'),
        ("multipart: no boundary", "multipart/form-data", b"--x\r\n\r\n"),
        ("multipart: truncated", "multipart/form-data; boundary=b", b"--b\r\nContent-Disp"),
        (
            "multipart: bad file name",
            files_type,
            files.replace(b"NAME", b"\xff\xfe\xc0\xae"),
        ),
        (
            "multipart: too many parts",
            "multipart/form-data; boundary=b",
            b"--b\r\n\r\nx\r\n" * 2000,
        ),
        ("json: nested", JSON, NESTED[:400_000]),
        ("json: invalid UTF-8", JSON, b'{"data": ["\xff\xfe"], "event_data": {"index": 0}}'),
        ("json: huge int", JSON, b'{"data": [], "event_data": {"index": ' + b"9" * 5000 + b"}}"),
        ("json: huge float", JSON, b'{"data": [], "event_data": {"index": 1e999}}'),
        ("json: NaN", JSON, b'{"data": [NaN], "event_data": {"index": NaN}}'),
        ("json: array", JSON, b"[1, 2]"),
        ("json: wrong types", JSON, b'{"data": "x", "event_data": []}'),
        ("json: item types", JSON, b'{"data": [[{"image": 5}, {"image": {"url": []}}]]}'),
        (
            "json: nested event data",
            JSON,
            b'{"data": [], "event_data": {"index": ' + NESTED[:90_000] + b"}",
        ),
        ("json: index types", JSON, b'{"data": [], "event_data": {"index": [0]}}'),
    ]


def gallery_routes() -> list[tuple[str, str, set[str]]]:
    """(endpoint, rule, methods) of every route the extension registers."""
    app = Flask("routes")
    app.config["SECRET_KEY"] = "k"
    FlaskGallery(app)
    return [
        (rule.endpoint, rule.rule, set(rule.methods or ()))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("flask_gallery.")
    ]


def fill(rule: str, values: t.Mapping[str, str]) -> str:
    return re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda m: values[m.group(1)], rule)


def status_of(
    server: ServerProcess, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> int:
    """The status the server answers a raw request with (0: closed without an answer)."""
    headers = {"Connection": "close", **headers}
    if method == "POST":
        headers.setdefault("Content-Length", str(len(body)))
    with raw_request(server, path, headers, body, method=method) as sock:
        sock.settimeout(30)
        received = b""
        while b"\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                return 0
            received += chunk
    return int(received.split(b" ", 2)[1])


@pytest.fixture(scope="module", params=["werkzeug", "gunicorn"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> t.Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp(f"malformed_{request.param}")
    with ServerProcess(
        "tests.apps.open_api:create_app",
        folder / "instance",
        kind=request.param,
        config={"GALLERY_API": True, "TEST_HANG_SECONDS": 0.5},
    ) as served:
        yield served


def test_every_route_answers_malformed_input_with_a_4xx(server: ServerProcess) -> None:
    page = Page(server)
    media_id = re.search(r"/_gallery/media/([^/\"]+)/w\d+", page.html)
    assert media_id, "the page shows no thumbnail"
    valid = {
        "page": page.token,
        "name": "pics",
        "index": "0",
        "start": "0",
        "event": "click",
        "media_id": media_id.group(1),
        "width": "192",
        "number": "1",
        "key": "0" * 32,
        "api_name": "show",
        "filename": "flask_gallery/gallery.js",
    }
    headers = page.headers(**{"X-Gallery-Root": "fg-pics"})
    routes = gallery_routes()
    assert {"flask_gallery.upload", "flask_gallery.api_call", "flask_gallery.relay"} <= {
        endpoint for endpoint, _, _ in routes
    }
    answers: list[tuple[int, str]] = []
    for _, rule, methods in routes:
        method = "POST" if "POST" in methods else "GET"
        args = re.findall(r"<(?:[^:>]+:)?(\w+)>", rule)
        attempts = [("as the page sends it", fill(rule, valid), headers, b"")]
        attempts += [
            (f"{arg}={bad[:12]!r}", fill(rule, {**valid, arg: bad}), headers, b"")
            for arg in args
            for bad in SEGMENTS
        ]
        attempts += [(query, fill(rule, valid) + query, headers, b"") for query in QUERIES]
        attempts += [
            (f"header {extra!r:.40}", fill(rule, valid), {**headers, **extra}, b"")
            for extra in HEADERS
        ]
        if method == "POST":
            for name, content_type in (("gallery", "pics"), ("upload", "uploads")):
                path = fill(rule, {**valid, "name": content_type})
                attempts += [
                    (f"{name}: {body_name}", path, {**headers, "Content-Type": ctype}, body)
                    for body_name, ctype, body in bodies()
                ]
        for what, path, sent, body in attempts:
            status = status_of(server, method, path, sent, body)
            answers.append((status, f"{method} {rule} {what}"))
    failures = [(status, what) for status, what in answers if not 200 <= status < 500]
    assert not failures, f"{len(failures)} of {len(answers)} requests failed: {failures[:20]}"
    assert len(answers) > 300
    # The server goes on serving: another page's click, and a plain view within a second.
    other = Page(server)
    other.select(1)
    started = time.monotonic()
    assert http(server.url + "/plain", timeout=5).status == 200
    assert time.monotonic() - started < 1.0


#: Frames a page's socket may get from a client that is not gallery.js. Those naming the
#: gallery's root are refused in the gallery; the others name no gallery and get no answer.
def frames() -> list[tuple[str | bytes, bool]]:
    def click(**fields: t.Any) -> str:
        select = {"action": "select", "gallery": "pics", "index": "0", "values": {}}
        return json.dumps({**select, "root": "fg-pics", **fields})

    return [
        (b"\xff\xfe\x00", False),
        ("not json", False),
        ("[" * 500_000, False),
        ('{"action": ' + "[" * 200_000, False),
        ("1e999999", False),
        ("NaN", False),
        (click(root=["fg-pics"]), False),
        (json.dumps({"resume": 10**50}), False),
        ('{"resume": ' + "9" * 5000 + "}", False),
        (click(action=5), True),
        (click(action=None), True),
        (click(values="x"), True),
        (click(values={"a": {"b": [1]}}), True),
        (click(values={"a": ["x", 1]}), True),
        (click(values={"a": "[" * 100}), False),  # a string field: a valid click
        (click(index="9" * 5000), True),
        (click(index="%ff"), True),
        (click(index="-1"), True),
        (click(index=5), True),
        (click(gallery=None), True),
        (click(gallery=["pics"]), True),
        (click(action="http://[/"), True),
        (click(action="/_gallery/p/x/pics/select/0"), True),
        (click(action="api_call"), True),
        (click(action="close", gallery="nope"), True),
        (click(action="upload"), True),
        (click(action="__class__"), True),
    ]


def test_malformed_frames_are_refused_and_the_socket_stays_open(server: ServerProcess) -> None:
    page = Page(server, "/?g=pics")
    ws = page.socket()
    try:
        sent = frames()
        for frame, _ in sent:
            ws.send(frame)
        page.click(ws, "select/1")
        received = receive_until(ws, "selected 1", limit=30)
    finally:
        ws.close()
    assert "could not act" not in received  # no click failed inside the server
    refusals = received.count('hx-target="#fg-toasts" hx-swap="beforeend"')
    assert refusals == sum(answered for _, answered in sent)


def test_a_malformed_first_frame_after_a_reconnect_keeps_the_socket(
    server: ServerProcess,
) -> None:
    """A reconnecting page's first frame says where its replay starts: one that is no such
    thing (nested too deep for the parser) is taken as a click, refused, and the socket goes
    on."""
    page = Page(server, "/?g=pics")
    ws = page.socket()
    try:
        page.click(ws, "select/0")
        receive_until(ws, "selected 0", limit=30)
    finally:
        ws.close()
    ws = page.socket()
    try:
        ws.send("[" * 500_000)
        page.click(ws, "select/2")
        received = receive_until(ws, "selected 2", limit=30)
    finally:
        ws.close()
    assert "could not act" not in received
