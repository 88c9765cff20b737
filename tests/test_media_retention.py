"""Media retention (issue 10, point 8): ``GALLERY_MEDIA_TTL``, the server's lease renewal and
sweep, and ``flask gallery clean``.

Time passing is played by moving leases (``meta.json`` mtimes) into the past, so that a TTL of
a minute can be crossed at once; the tests of the real thread and of the CLI against a server
process use short TTLs and wait, bounded, for what the server does on its own.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
import typing as t
from pathlib import Path

import numpy as np
import pytest
from flask import Flask, render_template_string
from PIL import Image

from flask_gallery import FlaskGallery, SelectData
from flask_gallery.media import MediaItem, MediaStore, retention
from flask_gallery.media.retention import check_ttl, sweep
from flask_gallery.web.app_state import AppState

from .clients import Page, request
from .conftest import fetch
from .servers import ROOT, ServerProcess

TTL = 60.0


def image(seed: int, size: int = 24) -> np.ndarray[t.Any, t.Any]:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), np.uint8)


def key_of(item: MediaItem) -> str:
    assert item.id is not None
    return item.id.split("-")[0]


def age(root: Path, seconds: float, keys: t.Iterable[str] | None = None) -> None:
    """Make leases (and every file's mtime) ``seconds`` older: time passes for them."""
    wanted = None if keys is None else set(keys)
    then = time.time() - seconds
    for folder in root.glob("??/*"):
        if wanted is None or folder.name in wanted:
            for path in [folder, *folder.iterdir()]:
                os.utime(path, (then, then))


def served(store: MediaStore, item: MediaItem) -> bool:
    opened = store.open(item.id or "")
    if opened is None:
        return False
    opened.file.close()
    return True


def stored(root: Path) -> set[str]:
    return {folder.name for folder in root.glob("??/*")}


@pytest.fixture
def store(tmp_path: Path) -> t.Iterator[MediaStore]:
    with MediaStore(tmp_path / "media", "s", background=False, leases=True) as store:
        yield store


def test_a_sweep_deletes_only_unreferenced_keys_unused_longer_than_the_ttl(
    store: MediaStore,
) -> None:
    old, used, young = (store.postprocess([image(n)])[0] for n in range(3))
    age(store.root, 2 * TTL, [key_of(old), key_of(used)])
    report = sweep(store, TTL, {key_of(used)})
    assert [removal.key for removal in report.removed] == [key_of(old)]
    assert (report.in_use, report.recent) == (1, 1)
    assert report.removed[0].files == 2 and report.removed[0].bytes > 24 * 24 * 3
    assert stored(store.root) == {key_of(used), key_of(young)}
    assert not served(store, old)
    (again,) = store.postprocess([image(0)])  # the same content is stored again
    assert again.id == old.id and served(store, again)


def test_a_handlers_path_to_a_swept_item_is_not_given_again(store: MediaStore) -> None:
    """filepath remembers the paths it gave (a handler asks on every click): a sweep must still
    make the item unknown, never hand out a path to a deleted file."""
    (item,) = store.postprocess([image(7)])
    for name in (None, "holiday.png"):
        assert store.filepath(item.id or "", name).is_file()
        assert store.filepath(item.id or "", name).is_file()  # the remembered path
    age(store.root, 2 * TTL)
    sweep(store, TTL)
    for name in (None, "holiday.png"):
        with pytest.raises(LookupError):
            store.filepath(item.id or "", name)


def test_a_dry_run_deletes_nothing(store: MediaStore) -> None:
    items = [store.postprocess([image(n)])[0] for n in range(2)]
    age(store.root, 2 * TTL)
    report = sweep(store, TTL, dry_run=True)
    assert sorted(removal.key for removal in report.removed) == sorted(map(key_of, items))
    assert stored(store.root) == set(map(key_of, items))
    assert all(served(store, item) for item in items)


def test_adding_content_again_renews_its_lease(store: MediaStore) -> None:
    store.postprocess([image(1)])
    age(store.root, 2 * TTL)
    store.postprocess([image(1)])
    assert sweep(store, TTL).removed == []


@pytest.mark.parametrize("when", ["before the rename", "after the rename"])
def test_content_added_again_while_a_sweep_deletes_it_is_never_lost(
    store: MediaStore, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    """Another process adds the content between the sweep's look at the lease and its rename
    (the sweep sees the renewed lease and puts the folder back), or just after the rename (the
    adder finds it gone and stores it again)."""
    (item,) = store.postprocess([image(7)])
    age(store.root, 2 * TTL)
    other = MediaStore(store.root, "s", background=False, leases=True)
    rename = store.layout.to_trash
    added: list[MediaItem] = []

    def racing(key: str) -> Path | None:
        if when == "before the rename":
            added.extend(other.postprocess([image(7)]))
        trashed = rename(key)
        if when == "after the rename":
            added.extend(other.postprocess([image(7)]))
        return trashed

    monkeypatch.setattr(store.layout, "to_trash", racing)
    sweep(store, TTL)
    assert added[0].id == item.id
    assert served(store, item) and served(other, item)
    other.close()


def test_leftovers_of_crashes_are_swept(store: MediaStore) -> None:
    """Data a crash left before its record, and a dead sweeper's trash."""
    (item,) = store.postprocess([image(3)])
    (store.root / key_of(item)[:2] / key_of(item) / "meta.json").unlink()
    trash = store.root / ".trash"
    trash.mkdir()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    from flask_gallery.media import staging

    dead = staging.me()._replace(pid=child.pid)
    (trash / staging.temp_name("0" * 32, "key", dead)).mkdir()
    first = sweep(store, TTL)
    assert first.removed == [] and first.recent == 1  # recent: it may be a write under way
    assert first.orphans == 1 and not list(trash.iterdir())
    age(store.root, 2 * TTL)
    assert [removal.key for removal in sweep(store, TTL).removed] == [key_of(item)]


@pytest.mark.parametrize("value", ["1h", 0, -5, True, float("nan")])
def test_a_bad_ttl_is_refused_by_name(tmp_path: Path, value: object) -> None:
    app = Flask("ttl", instance_path=str(tmp_path))
    app.config.update(SECRET_KEY="s", GALLERY_MEDIA_TTL=value)
    with pytest.raises(ValueError, match=r"GALLERY_MEDIA_TTL must be a number of seconds > 0"):
        FlaskGallery(app)
    assert check_ttl(None) is None and check_ttl(90) == 90.0


# The server side: what a process references, renewed and kept.


class Site:
    """An app with a gallery whose value is new pixels at each render (a page each), a declared
    gallery no page shows, and a gallery whose select handler holds its input until released."""

    def __init__(self, tmp_path: Path, ttl: float, **config: t.Any) -> None:
        self.app = Flask("retention", instance_path=str(tmp_path / "instance"))
        self.app.config.update(SECRET_KEY="s", GALLERY_MEDIA_TTL=ttl, **config)
        galleries = FlaskGallery(self.app)
        renders = iter(range(1, 1000))
        galleries.gallery("fresh", lambda: [image(next(renders))])
        galleries.gallery("declared", [image(-1 % 1000, 16)])
        held = galleries.gallery("held", lambda: [image(5000 + next(renders))])
        self.release = threading.Event()

        @held.on_select(inputs=held, outputs="#out")
        def hold(value: t.Any, evt: SelectData) -> str:
            self.release.wait(10)
            return "done"

        @self.app.get("/<name>")
        def page(name: str) -> str:
            return render_template_string("{{ gallery(name) }}<div id=out></div>", name=name)

        self.client = self.app.test_client()
        self.state: AppState = self.app.extensions["flask_gallery"]

    @property
    def root(self) -> Path:
        return self.state.media.root

    def render(self, name: str) -> tuple[str, list[MediaItem]]:
        """A page showing gallery ``name``: its token and items (written to disk)."""
        assert self.client.get(f"/{name}").status_code == 200
        page = self.state.pages.live_pages()[-1]
        self.state.media.join()
        return page.token, list(page.galleries[name].items)

    def declared_keys(self) -> set[str]:
        keys = {key_of(item) for item in self.state.declared_items()}
        self.state.media.join()
        return keys

    def age(self, seconds: float) -> None:
        self.declared_keys()  # stored (by the sweeper's first round, or now)
        age(self.root, seconds)


def test_live_pages_keep_their_media_and_dropped_pages_lose_theirs(tmp_path: Path) -> None:
    site = Site(tmp_path, TTL)
    _, (kept,) = site.render("fresh")
    dropped_page, (dropped,) = site.render("fresh")
    site.state.pages.discard(dropped_page)  # expired, or evicted: the same to retention
    sweeper = site.state._sweeper
    assert sweeper is not None and sweeper.interval == TTL / 4
    site.age(2 * TTL)
    report = sweeper.tick()
    assert report is not None and [r.key for r in report.removed] == [key_of(dropped)]
    assert stored(site.root) == {key_of(kept)} | site.declared_keys()
    assert fetch(site.client, f"/_gallery/media/{kept.id}").status_code == 200
    assert fetch(site.client, f"/_gallery/media/{dropped.id}").status_code == 404


def test_a_running_handlers_inputs_are_kept_after_their_page_is_gone(tmp_path: Path) -> None:
    site = Site(tmp_path, TTL)
    token, (item,) = site.render("held")
    root = site.app.extensions["flask_gallery"]
    headers = {"X-Gallery-Page": token, "HX-Request": "true"}
    assert site.client.post(f"/_gallery/p/{token}/held/select/0", headers=headers).status_code
    deadline = time.monotonic() + 10
    # Running, not only queued: dropping the page cancels what it still has waiting.
    while time.monotonic() < deadline and not any(
        job.state == "running" for job in root.engine().backend.jobs()
    ):
        time.sleep(0.01)
    site.state.pages.discard(token)
    site.age(2 * TTL)
    sweeper = site.state._sweeper
    assert sweeper is not None
    assert sweeper.tick() is not None and key_of(item) in stored(site.root)
    site.release.set()
    while root.engine().backend.jobs() and time.monotonic() < deadline:
        time.sleep(0.01)
    site.age(2 * TTL)
    sweeper.tick()
    assert key_of(item) not in stored(site.root)


def test_the_servers_thread_renews_what_it_uses_and_deletes_the_rest(tmp_path: Path) -> None:
    """The real thread, a TTL of 1 s: a live page's media outlives several TTLs, a dropped
    page's goes, and a declared value no page showed stays."""
    site = Site(tmp_path, 1.0)
    _, (kept,) = site.render("fresh")
    dropped_page, (dropped,) = site.render("fresh")
    site.state.pages.discard(dropped_page)
    deadline = time.monotonic() + 15
    while key_of(dropped) in stored(site.root) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert key_of(dropped) not in stored(site.root)
    time.sleep(3.0)  # three TTLs
    assert stored(site.root) == {key_of(kept)} | site.declared_keys()
    assert fetch(site.client, f"/_gallery/media/{kept.id}").status_code == 200


def test_without_a_ttl_nothing_is_deleted_and_no_thread_starts(tmp_path: Path) -> None:
    site = Site(tmp_path, None)  # type: ignore[arg-type]
    site.render("fresh")
    assert site.state._sweeper is None
    assert not [th for th in threading.enumerate() if th.name.endswith("media-sweeper")]


# flask gallery clean, against a server process.

APP = "tests.apps.media_app:create_app"


def clean(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """``flask gallery clean`` for the server's app, from a process of its own."""
    env = dict(
        os.environ,
        FG_TEST_CONFIG=__import__("json").dumps(server.config),
        FG_TEST_INSTANCE=str(server.instance),
        PYTHONPATH=str(ROOT),
    )
    command = [sys.executable, "-m", "flask", "--app", APP, "gallery", "clean", *args]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image(seed, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def ids_in(html: str) -> list[str]:
    import re

    return list(dict.fromkeys(re.findall(r"/_gallery/media/([0-9a-f]{32}-[0-9a-f]{20})", html)))


def test_clean_keeps_what_a_server_uses_and_deletes_an_abandoned_upload(tmp_path: Path) -> None:
    ttl = 10  # renewed every 2.5 s: a server thread starved for 7 s would still be in time
    config = {"GALLERY_MEDIA_TTL": ttl, "GALLERY_MEDIA_SWEEP": False}
    with ServerProcess(APP, tmp_path / "instance", config=config) as server:
        root = server.instance / "flask_gallery_media"
        live = Page(server, "/?g=uploads")
        (shown,) = ids_in(live.upload("uploads", [("shown.png", png(1))]).body)
        other = Page(server, "/?g=uploads")
        (abandoned,) = ids_in(other.upload("uploads", [("gone.png", png(2))]).body)
        assert other.post("uploads", "delete/0").status == 200  # the user removed it
        declared: set[str] = set()
        deadline = time.monotonic() + 15
        while len(declared) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)  # the seed gallery's values, which the server's renewals store
            declared = stored(root) - {shown[:32], abandoned[:32]}
        assert len(declared) == 3
        age(root, 3 * ttl)  # time passes for every lease ...
        meta = root / shown[:2] / shown[:32] / "meta.json"
        deadline = time.monotonic() + 15
        while time.time() - meta.stat().st_mtime > ttl and time.monotonic() < deadline:
            time.sleep(0.1)  # ... and the server renews those it uses
        dry = clean(server, "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert f"would delete {abandoned[:32]}" in dry.stdout
        assert shown[:32] not in dry.stdout
        assert "Would delete 1 media" in dry.stdout
        assert stored(root) == {shown[:32], abandoned[:32]} | declared
        done = clean(server)
        assert done.returncode == 0, done.stderr
        assert f"deleted {abandoned[:32]}" in done.stdout and "Deleted 1 media" in done.stdout
        assert request(f"{server.url}/_gallery/media/{shown}").status == 200
        assert request(f"{server.url}/_gallery/media/{abandoned}").status == 404
    age(root, 3 * ttl)  # no server any more: only the declared values are kept
    assert clean(server).returncode == 0
    assert stored(root) == declared


def test_clean_without_a_ttl_says_how_to_set_one(tmp_path: Path) -> None:
    server = ServerProcess(APP, tmp_path / "instance")
    refused = clean(server)
    assert refused.returncode == 2
    assert "GALLERY_MEDIA_TTL is not set" in refused.stderr


def test_lease_interval_is_a_quarter_of_the_ttl_within_bounds() -> None:
    assert retention.lease_interval(60) == 15
    assert retention.lease_interval(0.1) == retention.SHORTEST_INTERVAL
    assert retention.lease_interval(10**6) == retention.LONGEST_INTERVAL
