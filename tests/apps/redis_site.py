"""A small site on Redis (``GALLERY_QUEUE_URL``) for the multi-process tests: one gallery whose
select handler says which process ran it. ``create_app()`` reads ``FG_REDIS_URL`` and
``FG_MEDIA_DIR`` (for ``flask --app tests.apps.redis_site ...`` and gunicorn); tests in the
same process pass them, and more config, as arguments."""

from __future__ import annotations

import json
import os
import time
import typing as t

import numpy as np
import redis
from flask import Flask, render_template_string

from flask_gallery import FlaskGallery, SelectData


def create_app(url: str | None = None, media: str | None = None, **config: t.Any) -> Flask:
    media = media or os.environ["FG_MEDIA_DIR"]
    app = Flask("redis_site", instance_path=os.path.join(media, "instance"))
    app.config.update(
        SECRET_KEY="shared-secret",
        GALLERY_QUEUE_URL=url or os.environ["FG_REDIS_URL"],
        GALLERY_MEDIA_DIR=media,
        GALLERY_MAX_CLICKS_PER_SECOND=None,
    )
    app.config.update(json.loads(os.environ.get("FG_TEST_CONFIG", "{}")), **config)
    galleries = FlaskGallery(app)
    pictures = [(np.full((6, 6, 3), 40 * n, np.uint8), f"shade {n}") for n in range(3)]
    gallery = galleries.gallery("g", pictures, show_download_button=True)
    client = redis.Redis.from_url(app.config["GALLERY_QUEUE_URL"])

    @gallery.on_select(outputs="#out", trigger_mode="multiple")
    def show(evt: SelectData) -> str:
        return f"picked {evt.index} ({evt.value['caption']}) in process {os.getpid()}"

    limited = galleries.gallery("limited", pictures)

    @limited.on_select(outputs="#limited-out", trigger_mode="multiple", concurrency_limit=2)
    def count(evt: SelectData) -> str:
        """Records in Redis how many run at once, and the most ever."""
        now = int(client.incr("test:running"))
        client.eval(PEAK, 1, "test:peak", now)
        time.sleep(0.05)
        client.decr("test:running")
        return f"limited {evt.index} done in process {os.getpid()}"

    once = galleries.gallery("once", pictures)

    @once.on_select(outputs="#once-out", trigger_mode="once")
    def slow_once(evt: SelectData) -> str:
        time.sleep(1.0)
        return f"once {evt.index} done"

    last = galleries.gallery("last", pictures)

    @last.on_select(outputs="#last-out", trigger_mode="always_last")
    def slow_last(evt: SelectData) -> str:
        time.sleep(1.0)
        return f"last {evt.index} done"

    hang = galleries.gallery("hang", pictures)

    @hang.on_select(outputs="#hang-out", trigger_mode="multiple")
    def hung(evt: SelectData) -> str:
        client.set("test:hung-by", os.getpid())
        time.sleep(300)
        return "never"

    chain = galleries.gallery("chain", pictures)

    @chain.on_select(outputs="#chain-out", trigger_mode="multiple")
    def chosen(evt: SelectData) -> str:
        return f"chosen {evt.index}"

    def followed() -> str:
        return f"then in process {os.getpid()}"

    chain.listener_for(chosen).then(followed, outputs="#chain-then", trigger_mode="multiple")

    counted = galleries.state("count", 0)

    @galleries.element("#inc").on_click(inputs=[counted], outputs=[counted, "#n"])
    def inc(n: int) -> tuple[int, str]:
        return n + 1, f"n={n + 1} in process {os.getpid()}"

    stateful = galleries.gallery("stateful", pictures[:1])

    # Only on the page that shows its gallery (/state), so the other pages' tests run nothing
    # more than their clicks.
    @galleries.on_load(outputs=[stateful, "#loaded"])
    def loaded() -> tuple[t.Any, str]:
        return pictures[1:2], f"loaded in process {os.getpid()}"

    def tick() -> list[t.Any]:
        """A value refreshed every 0.3 s while its page is open: counted in Redis."""
        n = int(client.incr("test:ticks"))
        return [(np.full((6, 6, 3), n % 256, np.uint8), f"tick {n}")]

    galleries.gallery("ticking", tick, every=0.3)

    @app.get("/page")
    def page() -> str:
        return render_template_string(PAGE)

    @app.get("/state")
    def state_page() -> str:
        return render_template_string(STATE_PAGE)

    @app.get("/ticking")
    def ticking() -> str:
        return render_template_string("{{ gallery_assets() }}{{ gallery('ticking') }}")

    return app


STATE_PAGE = """{{ gallery_assets() }}{{ gallery('stateful') }}
<button id="inc">+1</button><div id="n"></div><div id="loaded"></div>"""

PAGE = """{{ gallery_assets() }}{{ gallery('g') }}<div id='out'></div>
{% for name in ['limited', 'once', 'last', 'hang', 'chain'] %}{{ gallery(name) }}
<div id='{{ name }}-out'></div>{% endfor %}"""

#: The highest number of handlers running at once, kept in KEYS[1].
PEAK = (
    "if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then "
    "redis.call('SET', KEYS[1], ARGV[1]) end"
)


# How a test drives this site through Flask's test client (tests/test_redis_*.py).


def open_page(client: t.Any, path: str = "/page") -> str:
    """Load ``path``; its token."""
    html = client.get(path).get_data(as_text=True)
    return str(html.split('data-page="', 1)[1].split('"', 1)[0])


def headers(token: str) -> dict[str, str]:
    """What gallery.js sends with a request of the page (its alerts go to gallery ``g``)."""
    return {"X-Gallery-Page": token, "HX-Request": "true", "X-Gallery-Root": "fg-g"}


def select(client: t.Any, token: str, index: int, gallery: str = "g") -> t.Any:
    """Click item ``index`` of ``gallery`` on the page, as gallery.js's POST does; the answer."""
    return client.post(f"/_gallery/p/{token}/{gallery}/select/{index}", headers=headers(token))


def poll_until(client: t.Any, token: str, text: str, limit: float = 10.0) -> str:
    """The page's poll, until it answers with ``text`` (fails after ``limit`` s)."""
    deadline = time.monotonic() + limit
    while True:
        answer = client.get(f"/_gallery/poll/{token}?after=0", headers=headers(token))
        assert answer.status_code == 200, answer.text
        if text in answer.text:
            return str(answer.text)
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.01)
