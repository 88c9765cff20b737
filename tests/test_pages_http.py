"""A page's requests over HTTP: page tokens, session binding, cross-site refusal, forged
indices, uploads that must be refused, and the events each action fires (seen through the
engine's page channel and the polling endpoint)."""

from __future__ import annotations

import io
import json
import os
import re
import threading
import typing as t

import numpy as np
import pytest
from bs4 import BeautifulSoup
from flask import Flask, render_template_string
from PIL import Image

from flask_gallery import EventData, FlaskGallery, Request, SelectData, skip

PAGE = "{{ gallery_assets() }}{% for n in names %}{{ gallery(n) }}{% endfor %}<div id='out'></div>"


class Page:
    """A rendered page in one browser session (the test client keeps the session cookie)."""

    def __init__(self, app: Flask, client: t.Any, names: list[str]) -> None:
        self.app, self.client = app, client
        response = client.get("/page?" + "&".join(f"n={n}" for n in names))
        self.soup = BeautifulSoup(response.data, "html.parser")
        root = self.soup.select_one(".fg-block[data-page]")
        assert root is not None
        self.token = str(root["data-page"])
        # What htmx sends: the root's hx-headers, plus its own request header.
        self.sent = json.loads(str(root["hx-headers:inherited"]))

    def headers(self, **extra: str) -> dict[str, str]:
        return {**self.sent, "HX-Request": "true", **extra}

    def post(self, path: str, *, headers: dict[str, str] | None = None, **kwargs: t.Any) -> t.Any:
        url = f"/_gallery/p/{self.token}/{path}"
        return self.client.post(
            url, headers=self.headers() if headers is None else headers, **kwargs
        )

    def state(self, name: str) -> t.Any:
        return self.app.extensions["flask_gallery"].pages.get(self.token).galleries[name]


class Channel:
    """Collects the page's engine messages; ``wait(n)`` blocks until n jobs have ended."""

    def __init__(self, app: Flask, page: Page) -> None:
        self.messages: list[dict[str, t.Any]] = []
        self._ended = threading.Semaphore(0)
        engine = app.extensions["flask_gallery"].engine()
        engine.subscribe(page.token, self._receive, after=0)

    def _receive(self, message: dict[str, t.Any]) -> None:
        self.messages.append(message)
        if message["type"] in ("done", "failed", "cancelled", "rejected"):
            self._ended.release()

    def wait(self, jobs: int = 1) -> list[dict[str, t.Any]]:
        for _ in range(jobs):
            assert self._ended.acquire(timeout=10), f"no result; got {self.messages}"
        return self.messages

    def ended(self, kind: str = "done") -> list[dict[str, t.Any]]:
        return [m for m in self.messages if m["type"] == kind]


def pixels(n: int) -> list[np.ndarray]:
    return [np.full((32, 32, 3), 40 * i, np.uint8) for i in range(n)]


def png_bytes(size: tuple[int, int] = (20, 10), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 1 if mode == "1" else "red").save(buffer, "PNG")
    return buffer.getvalue()


def with_pages(app: Flask) -> Flask:
    """``app`` with ``/page?n=a&n=b``, a page of galleries ``a`` and ``b``."""
    from flask import request

    @app.get("/page")
    def page() -> str:
        return render_template_string(PAGE, names=request.args.getlist("n"))

    return app


@pytest.fixture
def site(app: Flask, galleries: FlaskGallery) -> Flask:
    return with_pages(app)


def test_render_binds_a_page_token_to_the_session(site: Flask, galleries: FlaskGallery) -> None:
    galleries.gallery("g", pixels(2))
    client = site.test_client()
    page = Page(site, client, ["g"])
    root = page.soup.select_one("[data-gallery=g]")
    assert re.fullmatch(r"[\w-]{20,}", page.token)
    assert page.token in str(root["hx-headers:inherited"])
    assert page.soup.select_one(".fg-socket")["hx-ws:connect"] == f"/_gallery/ws/{page.token}"
    with client.session_transaction() as session:
        assert (
            session["_flask_gallery"]
            == site.extensions["flask_gallery"].pages.get(page.token).session_id
        )
    # two renders are two pages
    assert Page(site, client, ["g"]).token != page.token


def test_the_page_is_told_which_clicks_its_socket_may_carry(
    site: Flask, galleries: FlaskGallery
) -> None:
    """gallery.js reads the list from the page, so it can never offer the socket a click the
    server would refuse there, nor keep one the server has added over HTTP."""
    galleries.gallery("g", pixels(2))
    page = Page(site, site.test_client(), ["g"])
    names = page.soup.select_one(".fg-socket")["data-socket-actions"].split()
    assert names == ["select", "close", "delete", "trigger"]


def test_a_page_has_one_toast_region_beside_its_socket(
    site: Flask, galleries: FlaskGallery
) -> None:
    """Every message of the page goes to one region with a fixed id, so a message needs no
    gallery to find its place; the galleries themselves hold no message area."""
    galleries.gallery("a", pixels(1))
    galleries.gallery("b", pixels(1))
    page = Page(site, site.test_client(), ["a", "b"])
    (region,) = page.soup.select(".fg-toasts")
    assert region["id"] == "fg-toasts" and not region.contents
    assert region.find_previous_sibling(class_="fg-socket") is not None
    assert page.soup.select(".fg-block .fg-alerts, .fg-block .fg-toasts") == []


def test_select_opens_the_preview_and_fires_select(site: Flask, galleries: FlaskGallery) -> None:
    gallery = galleries.gallery("g", [(a, f"c{i}") for i, a in enumerate(pixels(3))])
    seen: list[tuple[int, t.Any]] = []

    @gallery.on_preview_open
    def opened() -> None:
        seen.append((-1, "open"))

    @gallery.on_select(outputs="#out")
    def picked(evt: SelectData) -> str:
        seen.append((evt.index, evt.value))
        return f"<b>{evt.index}</b>"

    page = Page(site, site.test_client(), ["g"])
    channel = Channel(site, page)
    response = page.post("g/select/2")
    assert response.status_code == 200
    fragment = BeautifulSoup(response.data, "html.parser")
    assert fragment.select_one("dialog.fg-preview[open]") is not None
    assert fragment.select_one(".fg-strip-thumb[aria-current=true]")["aria-label"] == (
        "Thumbnail 3 of 3: c2"
    )
    channel.wait(2)
    # Both fire; they are separate listeners (own concurrency groups), so they may run in
    # either order, as in Gradio.
    assert (-1, "open") in seen
    ((index, value),) = [entry for entry in seen if entry[0] != -1]
    assert index == 2 and value["caption"] == "c2"
    assert value["image"]["url"].startswith("/_gallery/media/")
    assert value["image"]["mime_type"] == "image/webp"
    # As Gradio's file data, for the handler: the file on the server (never in an API answer).
    assert value["image"]["path"].endswith(".webp") and os.path.isfile(value["image"]["path"])
    # The result reaches the page escaped, as an update of #out.
    poll = page.client.get(f"/_gallery/poll/{page.token}?after=0", headers=page.headers())
    assert '<hx-partial hx-target="#out" hx-swap="innerHTML">&lt;b&gt;2&lt;/b&gt;' in poll.text
    assert page.state("g").selected == 2 and page.state("g").preview_open


def test_close_and_escape_fire_preview_close(site: Flask, galleries: FlaskGallery) -> None:
    gallery = galleries.gallery("g", pixels(2), selected_index=0)
    closed = threading.Event()
    gallery.preview_close(closed.set)
    page = Page(site, site.test_client(), ["g"])
    response = page.post("g/close")
    assert BeautifulSoup(response.data, "html.parser").select_one("dialog") is None
    assert closed.wait(10)
    assert page.state("g").selected is None


def test_allow_preview_false_selects_without_preview(site: Flask, galleries: FlaskGallery) -> None:
    galleries.gallery("g", pixels(3), allow_preview=False)
    page = Page(site, site.test_client(), ["g"])
    fragment = BeautifulSoup(page.post("g/select/1").data, "html.parser")
    assert fragment.select_one("dialog") is None
    # the answer carries only what changed: the newly highlighted item
    assert [t["data-index"] for t in fragment.select(".fg-thumb")] == ["1"]
    assert "fg-selected" in fragment.select_one(".fg-thumb")["class"]
    fragment = BeautifulSoup(page.post("g/select/2").data, "html.parser")
    thumbs = {t["data-index"]: t for t in fragment.select(".fg-thumb")}
    assert set(thumbs) == {"1", "2"}
    assert "fg-selected" not in thumbs["1"]["class"] and "fg-selected" in thumbs["2"]["class"]
    assert fragment.select_one("hx-partial[hx-target='#fg-g-item-2']") is not None


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 403),  # no token header: a cross-site form post
        ({"X-Gallery-Page": "forged-token-value"}, 403),
        ({"Origin": "https://evil.example"}, 403),
        ({"Origin": "null"}, 403),
    ],
)
def test_cross_site_and_forged_requests_change_nothing(
    site: Flask, galleries: FlaskGallery, headers: dict[str, str], status: int
) -> None:
    galleries.gallery("g", pixels(2))
    page = Page(site, site.test_client(), ["g"])
    if "Origin" in headers:
        headers = {**page.headers(), **headers}
    response = page.post("g/select/1", headers=headers)
    assert response.status_code == status
    assert page.state("g").selected is None


def test_another_sessions_token_is_refused(site: Flask, galleries: FlaskGallery) -> None:
    galleries.gallery("g", pixels(2))
    victim = Page(site, site.test_client(), ["g"])
    attacker = site.test_client()
    attacker.get("/page?n=g")  # a session of its own
    response = attacker.post(f"/_gallery/p/{victim.token}/g/select/1", headers=victim.headers())
    assert response.status_code == 403
    assert "another session" in response.text
    assert victim.state("g").selected is None


def test_unknown_or_expired_page_says_reload(site: Flask, galleries: FlaskGallery) -> None:
    galleries.gallery("g", pixels(2))
    page = Page(site, site.test_client(), ["g"])
    site.extensions["flask_gallery"].pages.discard(page.token)
    response = page.post("g/select/1")
    assert response.status_code == 410 and "Reload the page" in response.text
    assert response.headers["HX-Retarget"] == "#fg-toasts"
    assert response.headers["HX-Reswap"] == "beforeend"
    assert 'role="alert"' in response.text


def test_a_sessions_oldest_page_expires_when_it_opens_too_many(app: Flask) -> None:
    app.config["GALLERY_MAX_PAGES_PER_SESSION"] = 2
    FlaskGallery(app).gallery("g", pixels(2))
    site = with_pages(app)
    client, other = site.test_client(), site.test_client()
    oldest, used = Page(site, client, ["g"]), Page(site, client, ["g"])
    elsewhere = Page(site, other, ["g"])
    assert oldest.post("g/select/0").status_code == 200
    assert used.post("g/select/0").status_code == 200  # now the session's most recent
    Page(site, client, ["g"])
    response = oldest.post("g/select/1")
    assert response.status_code == 410 and "Reload the page" in response.text
    assert used.post("g/select/1").status_code == 200
    assert elsewhere.post("g/select/1").status_code == 200  # other sessions keep theirs


def test_a_dropped_pages_queued_clicks_are_cancelled(site: Flask, galleries: FlaskGallery) -> None:
    """As Gradio drops the events of a client that went away: the click waiting behind another
    page's run is cancelled when its page is dropped (expired, evicted, over its session's
    cap), and never runs."""
    gallery = galleries.gallery("g", pixels(2))
    release, ran = threading.Event(), []

    @gallery.on_select(outputs="#out")
    def slow(evt: SelectData) -> str:
        ran.append(evt.index)
        release.wait(10)
        return "ran"

    running, waiting = (Page(site, site.test_client(), ["g"]) for _ in range(2))
    running_channel, waiting_channel = Channel(site, running), Channel(site, waiting)
    assert running.post("g/select/0").status_code == 200
    assert waiting.post("g/select/1").status_code == 200  # behind it: one run at a time
    site.extensions["flask_gallery"].pages.discard(waiting.token)
    waiting_channel.wait(1)
    release.set()
    running_channel.wait(1)
    assert waiting_channel.ended("cancelled") and not waiting_channel.ended()
    assert ran == [0]


def test_a_dropped_page_does_not_start_the_engine(site: Flask, galleries: FlaskGallery) -> None:
    galleries.gallery("g", pixels(2))
    page = Page(site, site.test_client(), ["g"])
    state = site.extensions["flask_gallery"]
    state.pages.discard(page.token)
    assert state.running_engine() is None


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("g/select/2", 400),
        ("g/select/-1", 400),
        ("g/select/one", 400),
        ("g/select/99999999999999999999", 400),
        ("nope/select/0", 404),
        ("h/select/0", 404),  # declared, but not on this page
        ("g/delete/0", 404),  # not interactive
    ],
)
def test_forged_indices_and_names(
    site: Flask, galleries: FlaskGallery, path: str, status: int
) -> None:
    galleries.gallery("g", pixels(2))
    galleries.gallery("h", pixels(2))
    page = Page(site, site.test_client(), ["g"])
    response = page.post(path)
    assert response.status_code == status
    assert page.state("g").selected is None and len(page.state("g").items) == 2


def upload(page: Page, name: str, *files: tuple[bytes, str], source: str = "upload") -> t.Any:
    data = {"files": [(io.BytesIO(content), filename) for content, filename in files]}
    data["source"] = source  # type: ignore[assignment]
    return page.post(f"{name}/upload", data=data, content_type="multipart/form-data")


def test_a_selected_uploads_path_has_its_own_name(site: Flask, galleries: FlaskGallery) -> None:
    gallery = galleries.gallery("up", None, interactive=True)
    paths: list[str] = []

    @gallery.on_select
    def picked(evt: SelectData) -> None:
        paths.append(evt.value["image"]["path"])

    page = Page(site, site.test_client(), ["up"])
    channel = Channel(site, page)
    assert upload(page, "up", (png_bytes((4, 4)), "holiday photo.png")).status_code == 200
    page.post("up/select/0")
    channel.wait(1)
    assert [os.path.basename(path) for path in paths] == ["holiday photo.png"]
    assert os.path.isfile(paths[0])


def test_upload_keeps_good_files_names_bad_ones_and_fires_upload_then_change(
    site: Flask, galleries: FlaskGallery
) -> None:
    gallery = galleries.gallery("up", pixels(1), interactive=True, type="numpy")
    events: list[tuple[str, t.Any]] = []

    @gallery.on_upload(inputs=gallery)
    def on_upload(value: t.Any, evt: EventData) -> None:
        events.append(("upload", [v[0].shape for v in value]))

    @gallery.on_change(inputs=gallery)
    def on_change(value: t.Any) -> None:
        events.append(("change", len(value)))

    page = Page(site, site.test_client(), ["up"])
    channel = Channel(site, page)
    response = upload(page, "up", (png_bytes(), "ok.png"), (b"\x89PNG broken", "broken.png"))
    assert response.status_code == 200
    fragment = BeautifulSoup(response.data, "html.parser")
    assert len(fragment.select(".fg-thumb")) == 2
    alert = fragment.select_one("hx-partial[hx-target='#fg-toasts'] [role=alert] .fg-toast-text")
    assert alert is not None and alert.get_text().startswith("broken.png:")
    channel.wait(2)
    # Both fire, with the whole new value; upload is submitted first (they may run in parallel,
    # each listener having its own concurrency group, as in Gradio).
    assert sorted(events, key=str) == [("change", 2), ("upload", [(32, 32, 3), (10, 20, 3)])]
    first_seen = list(dict.fromkeys(m["listener"] for m in channel.messages))
    assert first_seen == ["up.upload.0", "up.change.1"]


def test_clipboard_and_webcam_fire_change_only(site: Flask, galleries: FlaskGallery) -> None:
    gallery = galleries.gallery("up", None, interactive=True, sources=["upload", "clipboard"])
    fired: list[str] = []
    gallery.upload(lambda: fired.append("upload"))
    gallery.change(lambda: fired.append("change"))
    page = Page(site, site.test_client(), ["up"])
    channel = Channel(site, page)
    assert upload(page, "up", (png_bytes(), "clipboard.png"), source="clipboard").status_code == 200
    channel.wait(1)
    assert fired == ["change"] and len(page.state("up").items) == 1


@pytest.mark.parametrize(
    ("config", "content", "reason"),
    [
        ({"GALLERY_MAX_UPLOAD_BYTES": 100}, png_bytes((200, 200)), "bytes"),
        ({"GALLERY_MAX_IMAGE_PIXELS": 10_000}, png_bytes((2000, 2000), "1"), "pixels"),
        ({}, b"GIF89a" + b"\x00" * 10, "corrupt"),
        ({}, b"hello, not an image", "not an image"),
    ],
    ids=["oversize", "bomb", "corrupt", "not-an-image"],
)
def test_bad_uploads_are_refused_by_content_and_lose_nothing(
    tmp_path: t.Any, config: dict[str, int], content: bytes, reason: str
) -> None:
    app = Flask("limits", instance_path=str(tmp_path))
    app.config.update(SECRET_KEY="k", **config)
    galleries = FlaskGallery(app)
    galleries.gallery("up", pixels(1), interactive=True)

    @app.get("/page")
    def page_view() -> str:
        return render_template_string(PAGE, names=["up"])

    page = Page(app, app.test_client(), ["up"])
    response = upload(page, "up", (content, "evil.png"))
    assert response.status_code == 200
    alert = BeautifulSoup(response.data, "html.parser").select_one("[role=alert] .fg-toast-text")
    assert alert is not None and "evil.png" in alert.get_text()
    assert reason in alert.get_text().lower() or reason == "corrupt"
    assert len(page.state("up").items) == 1
    assert app.test_client().get("/page?n=up").status_code == 200  # still serving


def test_file_types_are_checked_by_content(site: Flask, galleries: FlaskGallery) -> None:
    galleries.gallery("up", None, interactive=True, file_types=[".jpg"])
    page = Page(site, site.test_client(), ["up"])
    response = upload(page, "up", (png_bytes(), "renamed.jpg"))
    alert = BeautifulSoup(response.data, "html.parser").select_one("[role=alert] .fg-toast-text")
    assert alert is not None and "renamed.jpg" in alert.get_text()
    assert page.state("up").items == []


def test_delete_fires_delete_with_index_and_value_then_change(
    site: Flask, galleries: FlaskGallery
) -> None:
    gallery = galleries.gallery(
        "g", [(a, f"c{i}") for i, a in enumerate(pixels(3))], interactive=True
    )
    data: list[t.Any] = []

    @gallery.on_delete
    def deleted(evt: EventData) -> None:
        data.append((evt.index, evt.value["caption"]))
        data.append(("file", evt.file["url"].startswith("/_gallery/media/")))

    page = Page(site, site.test_client(), ["g"])
    channel = Channel(site, page)
    fragment = BeautifulSoup(page.post("g/delete/1").data, "html.parser")
    assert [b.select_one(".fg-caption-label").get_text() for b in fragment.select(".fg-thumb")] == [
        "c0",
        "c2",
    ]
    channel.wait(1)
    assert data == [(1, "c1"), ("file", True)]


def test_handler_error_reaches_the_page_and_the_server_keeps_serving(
    site: Flask, galleries: FlaskGallery
) -> None:
    from flask_gallery import Error

    gallery = galleries.gallery("g", pixels(2))

    @gallery.on_select(outputs="#out", trigger_mode="multiple")
    def fails(evt: SelectData) -> str:
        if evt.index == 0:
            raise Error("Nothing to see at <0>.")
        raise RuntimeError("secret internal detail")

    page = Page(site, site.test_client(), ["g"])
    channel = Channel(site, page)
    page.post("g/select/0")
    page.post("g/select/1")
    channel.wait(2)
    html = page.client.get(f"/_gallery/poll/{page.token}?after=0", headers=page.headers()).text
    assert "Nothing to see at &lt;0&gt;." in html
    assert re.search(r"An error occurred in [^<\"]*fails\.", html)
    assert "secret internal detail" not in html
    assert html.count('role="alert"') == 2
    assert page.post("g/select/1").status_code == 200


def test_poll_requires_the_page_header(site: Flask, galleries: FlaskGallery) -> None:
    galleries.gallery("g", pixels(1))
    page = Page(site, site.test_client(), ["g"])
    assert page.client.get(f"/_gallery/poll/{page.token}").status_code == 403
    assert (
        site.test_client().get(f"/_gallery/poll/{page.token}", headers=page.headers()).status_code
        == 403
    )


def test_every_refreshes_a_callable_value_while_the_page_is_connected(
    site: Flask, galleries: FlaskGallery
) -> None:
    renders: list[int] = []

    def value() -> list[np.ndarray]:
        renders.append(1)
        return pixels(len(renders))

    gallery = galleries.gallery("g", value, every=0.05)
    assert gallery.load_event is not None and gallery.load_event.every == 0.05
    page = Page(site, site.test_client(), ["g"])
    assert len(page.state("g").items) == 1
    channel = Channel(site, page)
    engine = site.extensions["flask_gallery"].engine()
    # What the page's WebSocket does when it opens (with the snapshot of its handshake).
    engine.connect_page(page.token, Request(path="/page", page=page.token))
    channel.wait(2)
    engine.disconnect_page(page.token)
    assert len(page.state("g").items) >= 3  # the page state follows the refreshed value
    updates = [m for m in channel.ended() if 'hx-target="#fg-g"' in m["value"]["html"]]
    assert len(updates) >= 2


def test_js_result_replaces_the_inputs_but_cannot_name_foreign_media(
    site: Flask, galleries: FlaskGallery
) -> None:
    gallery = galleries.gallery("g", pixels(2))
    got: list[t.Any] = []

    @gallery.on_select(inputs=["name", gallery], js="(name, v) => [name.toUpperCase(), v]")
    def shout(name: str, value: t.Any) -> None:
        got.append((name, None if value is None else len(value)))

    page = Page(site, site.test_client(), ["g"])
    root = page.soup.select_one(".fg-block")
    spec = json.loads(str(root["data-js"]))
    assert spec == [
        {
            "event": "select",
            "id": "g.select.0",
            "js": "(name, v) => [name.toUpperCase(), v]",
            "inputs": [{"field": "name"}, {"gallery": "g"}],
        }
    ]
    assert root["hx-include:inherited"] == '[name="name"]'
    full = str(root.select(".fg-thumb")[1]["data-full"])
    channel = Channel(site, page)
    sent = json.dumps(["ADA", [{"image": {"url": full}, "caption": None}]])
    page.post("g/select/0", data={"name": "ada", "_fg_js:g.select.0": sent})
    channel.wait(1)
    forged = json.dumps(["EVE", [{"image": {"url": "/etc/passwd"}}]])
    page.post("g/select/1", data={"name": "eve", "_fg_js:g.select.0": forged})
    channel.wait(1)
    # The js result is used; a result naming foreign media is ignored for the page's own values.
    assert got == [("ADA", 1), ("eve", 2)]


def test_warning_info_progress_and_streamed_yields_reach_the_page(
    site: Flask, galleries: FlaskGallery
) -> None:
    from flask_gallery import Info, Progress, Warning

    gallery = galleries.gallery("g", pixels(2))

    @gallery.on_select(outputs="#out")
    def steps(evt: SelectData, progress: Progress = Progress()) -> t.Iterator[str]:
        Info("starting <now>")
        for i in progress.tqdm(range(2), desc="working"):
            yield f"step {i}"
        Warning("almost done")
        yield "finished"

    page = Page(site, site.test_client(), ["g"])
    channel = Channel(site, page)
    page.post("g/select/0")
    channel.wait(1)
    html = page.client.get(f"/_gallery/poll/{page.token}?after=0", headers=page.headers()).text
    shown = {
        toast.select_one(".fg-toast-text").get_text(): (toast["role"], toast["data-duration"])
        for toast in BeautifulSoup(html, "html.parser").select("[hx-target='#fg-toasts'] .fg-toast")
    }
    assert shown == {"starting <now>": ("status", "10"), "almost done": ("status", "10")}
    # every yield updates #out, in order, and the last one stays
    outs = re.findall(r'hx-target="#out" hx-swap="innerHTML">([^<]*)<', html)
    assert outs == ["step 0", "step 1", "finished"]
    progress = [m["progress"] for m in channel.messages if m["type"] == "progress"]
    assert progress and progress[-1][0]["desc"] == "working"
    # polled after the job ended: no overlay is drawn, and any drawn before is removed
    assert "fg-status-full" not in html
    assert re.search(r'hx-target="#fg-status-[0-9a-f]+-0" hx-swap="delete"', html)


def test_an_upload_request_is_bounded_before_it_is_read(tmp_path: t.Any) -> None:
    app = Flask("bounded", instance_path=str(tmp_path))
    app.config.update(SECRET_KEY="k", GALLERY_MAX_UPLOAD_BYTES=1000, GALLERY_MAX_UPLOAD_FILES=2)
    galleries = FlaskGallery(app)
    galleries.gallery("up", None, interactive=True)

    @app.get("/page")
    def page_view() -> str:
        return render_template_string(PAGE, names=["up"])

    page = Page(app, app.test_client(), ["up"])
    small = png_bytes((4, 4))
    too_many = upload(page, "up", (small, "a.png"), (small, "b.png"), (small, "c.png"))
    assert too_many.status_code == 400 and "at most 2" in too_many.text
    huge = upload(page, "up", (b"\0" * 20_000, "huge.png"))
    assert huge.status_code == 413
    assert page.state("up").items == []
    assert upload(page, "up", (small, "ok.png")).status_code == 200
    assert len(page.state("up").items) == 1


def test_a_handler_returning_gallery_update_opens_the_preview_without_select(
    site: Flask, galleries: FlaskGallery
) -> None:
    source = galleries.gallery("g", pixels(3))
    shown = galleries.gallery("out", pixels(3))
    selects: list[int] = []

    @shown.on_select
    def counted(evt: SelectData) -> None:
        selects.append(evt.index)

    @source.on_select(outputs=shown)
    def follow(evt: SelectData) -> t.Any:
        return shown.update(selected_index=evt.index, columns=3)

    page = Page(site, site.test_client(), ["g", "out"])
    channel = Channel(site, page)
    page.post("g/select/2")
    channel.wait(1)
    state = page.state("out")
    assert state.selected == 2 and state.preview_open and state.overrides["columns"] == 3
    html = page.client.get(f"/_gallery/poll/{page.token}?after=0", headers=page.headers()).text
    assert 'hx-target="#fg-out" hx-swap="outerMorph"' in html
    assert selects == []  # a programmatic selection fires no select


def test_a_gallery_output_replaces_the_value_and_fires_its_change(
    site: Flask, galleries: FlaskGallery
) -> None:
    source = galleries.gallery("g", pixels(2))
    target = galleries.gallery("out", pixels(1))
    changes: list[int] = []

    @source.on_select(outputs=[target, "#out"])
    def copy(evt: SelectData) -> tuple[list[t.Any], str]:
        return [(p, f"copy {i}") for i, p in enumerate(pixels(3))], "copied"

    @target.on_change(inputs=target)
    def changed(value: t.Any) -> None:
        changes.append(len(value))

    page = Page(site, site.test_client(), ["g", "out"])
    channel = Channel(site, page)
    page.post("g/select/0")
    channel.wait(2)  # the select, then the change it caused
    assert [item.caption for item in page.state("out").items] == ["copy 0", "copy 1", "copy 2"]
    assert changes == [3]


def test_skip_leaves_an_output_as_it_is(site: Flask, galleries: FlaskGallery) -> None:
    """Gradio's gr.skip(): in a tuple it skips its output only; alone, every output; the gallery
    keeps its items and fires no change."""
    source = galleries.gallery("g", pixels(3))
    target = galleries.gallery("out", pixels(2))
    changes: list[int] = []

    @source.on_select(outputs=[target, "#out"])
    def pick(evt: SelectData) -> t.Any:
        return skip() if evt.index == 0 else (skip(), f"picked {evt.index}")

    @target.on_change(inputs=target)
    def changed(value: t.Any) -> None:
        changes.append(len(value))

    page = Page(site, site.test_client(), ["g", "out"])
    channel = Channel(site, page)
    page.post("g/select/2")
    channel.wait(1)
    page.post("g/select/0")
    channel.wait(1)  # the select alone: a skipped gallery fires no change
    html = page.client.get(f"/_gallery/poll/{page.token}?after=0", headers=page.headers()).text
    assert html.count('hx-target="#out"') == 1 and "picked 2" in html
    assert 'hx-target="#fg-out"' not in html  # the gallery was never redrawn
    assert len(page.state("out").items) == 2
    assert changes == []


def test_then_and_success_run_after_a_listener_as_gradios_docs_say(
    site: Flask, galleries: FlaskGallery
) -> None:
    """``then`` runs after its listener ends, an error included; ``success`` only after one
    that ended without an error. Each reads its inputs when it is submitted: here the gallery's
    value that the first listener has just written."""
    from flask_gallery import Error

    source = galleries.gallery("g", pixels(3))
    target = galleries.gallery("out", pixels(1))
    ran: list[str] = []

    def copy(evt: SelectData) -> list[t.Any]:
        if evt.index == 2:
            raise Error("no copy of the last one")
        ran.append(f"copy {evt.index}")
        return pixels(evt.index + 2)

    first = source.select(copy, outputs=target)
    after = first.then(lambda value: ran.append(f"then {len(value)}"), inputs=target)
    first.success(lambda: ran.append("success"))
    after.then(lambda: ran.append("then of then"))

    page = Page(site, site.test_client(), ["g", "out"])
    channel = Channel(site, page)
    page.post("g/select/1")
    channel.wait(4)  # copy, then, success, then of then
    assert sorted(ran) == sorted(["copy 1", "then 3", "success", "then of then"])
    assert ran.index("then 3") < ran.index("then of then")
    ran.clear()
    page.post("g/select/2")
    channel.wait(3)  # the failing copy, then, then of then
    assert sorted(ran) == ["then 3", "then of then"]  # the value stays; success did not run
    assert [m["error"] for m in channel.ended("failed")] == ["no copy of the last one"]


def test_a_generator_that_yields_nothing_leaves_its_outputs(
    site: Flask, galleries: FlaskGallery
) -> None:
    source = galleries.gallery("g", pixels(2))
    target = galleries.gallery("out", pixels(2))

    @source.on_select(outputs=[target, "#out"])
    def nothing(evt: SelectData) -> t.Iterator[t.Any]:
        yield from ()

    page = Page(site, site.test_client(), ["g", "out"])
    channel = Channel(site, page)
    page.post("g/select/1")
    (done,) = channel.wait(1)[-1:]
    assert done["type"] == "done" and done["outputs"] == 0
    html = page.client.get(f"/_gallery/poll/{page.token}?after=0", headers=page.headers()).text
    assert 'hx-target="#out"' not in html and 'hx-target="#fg-out"' not in html
    assert len(page.state("out").items) == 2


def test_the_gallery_can_be_fetched_as_it_stands_on_the_page(
    site: Flask, galleries: FlaskGallery
) -> None:
    galleries.gallery("g", pixels(3))
    page = Page(site, site.test_client(), ["g"])
    page.post("g/select/2")
    response = page.client.get(f"/_gallery/p/{page.token}/g", headers=page.headers())
    fragment = BeautifulSoup(response.data, "html.parser")
    assert fragment.select_one(".fg-thumb[aria-pressed=true]")["data-index"] == "2"
    assert page.client.get(f"/_gallery/p/{page.token}/g").status_code == 403
