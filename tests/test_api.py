"""Listeners as JSON endpoints (``api_name``) and the API info (``show_api``): closed unless the
app opens it, behind the app's guard, and never trusting the event data a caller sends."""

from __future__ import annotations

import typing as t

import numpy as np
import pytest
from flask import Flask, abort, request, session
from werkzeug.datastructures import WWWAuthenticate

from flask_gallery import EventData, FlaskGallery, SelectData

from .conftest import Renderer, fetch

#: What a foreign site's page would send: the API refuses it.
EVIL = "https://evil.example"


@pytest.fixture
def app(app: Flask) -> Flask:
    """The API on: the behaviour tests below are about calls that are let in."""
    app.config["GALLERY_API"] = True
    return app


@pytest.fixture
def galleries(galleries: FlaskGallery) -> FlaskGallery:
    @galleries.api_guard
    def everyone(listener: t.Any) -> bool:
        return True

    return galleries


@pytest.fixture
def make_app(tmp_path: t.Any) -> t.Callable[..., tuple[Flask, FlaskGallery]]:
    """An app with the extension's defaults (the API off) and ``config`` over them."""

    def make(**config: t.Any) -> tuple[Flask, FlaskGallery]:
        app = Flask("api_defaults", instance_path=str(tmp_path / "defaults"))
        app.config.update(TESTING=True, SECRET_KEY="k", **config)
        return app, FlaskGallery(app)

    return make


def pixels(*shades: int) -> list[tuple[np.ndarray, str]]:
    return [(np.full((8, 8, 3), s, np.uint8), f"shade {s}") for s in shades]


def test_info_lists_public_endpoints_with_inputs_and_outputs(
    client: t.Any, galleries: FlaskGallery
) -> None:
    gallery = galleries.gallery("g")
    gallery.select(
        lambda value, name: name, inputs=[gallery, "name"], outputs="#out", api_name="pick"
    )
    gallery.change(lambda: None, show_api=False)
    gallery.upload(lambda: None, api_name=False)
    gallery.delete(lambda: None, api_name="pick")  # a repeated name gets a suffix
    info = client.get("/_gallery/api").get_json()
    assert set(info["endpoints"]) == {"/pick", "/pick_1"}
    pick = info["endpoints"]["/pick"]
    assert pick["gallery"] == "g" and pick["event"] == "select"
    assert [i["component"] for i in pick["inputs"]] == ["gallery", "field"]
    assert pick["outputs"] == [{"component": "element", "name": "#out", "type": "str"}]


def test_call_runs_through_the_engine_and_returns_gradio_wire_values(
    app: Flask, client: t.Any, galleries: FlaskGallery, render: Renderer
) -> None:
    source = galleries.gallery("g", [(np.zeros((16, 16, 3), np.uint8), "black")], type="numpy")
    out = galleries.gallery("out")

    @source.on_select(inputs=[source], outputs=[out, "#count"], api_name="brighten")
    def brighten(images: t.Any, evt: SelectData) -> tuple[list[t.Any], str]:
        return [(np.full_like(img, 200), f"{cap}!") for img, cap in images], str(evt.index)

    url = render.gallery("g").select_one(".fg-thumb img")["src"]
    media_url = str(url).rsplit("/w", 1)[0]
    response = client.post(
        "/_gallery/api/brighten",
        json={
            "data": [[{"image": {"url": media_url}, "caption": "black"}]],
            "event_data": {"index": 0},
        },
    )
    assert response.status_code == 200, response.text
    items, count = response.get_json()["data"]
    assert count == "0"
    assert items[0]["caption"] == "black!"
    assert items[0]["image"]["url"].startswith("/_gallery/media/")
    assert items[0]["image"]["path"] is None  # a caller is never told a server path
    assert fetch(client, items[0]["image"]["url"]).status_code == 200


def test_call_refusals(client: t.Any, galleries: FlaskGallery) -> None:
    gallery = galleries.gallery("g")
    gallery.select(lambda value: value, inputs=gallery, outputs="#x", api_name="echo")
    gallery.change(lambda: 1, outputs="#x", api_name=False)
    assert client.post("/_gallery/api/nope", json={"data": []}).status_code == 404
    assert client.post("/_gallery/api/false", json={"data": []}).status_code == 404
    assert client.post("/_gallery/api/echo", data="x").status_code == 415
    assert client.post("/_gallery/api/echo", json={"data": [1, 2]}).status_code == 400
    # The server fetches nothing: only this app's media URLs are gallery items.
    far = client.post("/_gallery/api/echo", json={"data": [["https://example.com/a.png"]]})
    assert far.status_code == 400 and "fetches nothing" in far.text
    forged = client.post("/_gallery/api/echo", json={"data": [["/_gallery/media/abc-def"]]})
    assert forged.status_code == 400


def test_handler_error_is_an_error_response(client: t.Any, galleries: FlaskGallery) -> None:
    from flask_gallery import Error

    gallery = galleries.gallery("g")

    def boom() -> str:
        raise Error("no luck")

    # A change listener: a select call now needs an index in range of the gallery's value.
    gallery.change(boom, outputs="#x", api_name="boom")
    response = client.post("/_gallery/api/boom", json={"data": []})
    assert response.status_code == 422 and response.get_json() == {"error": "no luck"}


def test_a_skipped_output_comes_back_as_gradios_skip(
    client: t.Any, galleries: FlaskGallery
) -> None:
    from flask_gallery import skip

    gallery = galleries.gallery("g")
    gallery.change(lambda: (skip(), "kept"), outputs=[gallery, "#x"], api_name="some")
    gallery.change(lambda: skip(), outputs=[gallery, "#x"], api_name="none")
    some = client.post("/_gallery/api/some", json={"data": []})
    assert some.get_json() == {"data": [{"__type__": "update"}, "kept"]}
    none = client.post("/_gallery/api/none", json={"data": []})
    assert none.get_json() == {"data": [{"__type__": "update"}, {"__type__": "update"}]}


# Closed unless the app opens it


def test_the_api_is_off_by_default(make_app: t.Any) -> None:
    app, galleries = make_app()
    ran: list[str] = []

    @galleries.api_guard
    def everyone(listener: t.Any) -> bool:
        return True

    galleries.gallery("g").change(lambda: ran.append("ran"), api_name="wipe")
    client = app.test_client()
    for response in (
        client.post("/_gallery/api/wipe", json={"data": []}),
        client.post("/_gallery/api/unknown", json={"data": []}),
        client.get("/_gallery/api"),
    ):
        assert response.status_code == 404
        assert "GALLERY_API = True" in response.get_json()["error"]
    assert ran == []


def test_a_listener_the_app_opens_is_an_endpoint_while_the_api_is_off(make_app: t.Any) -> None:
    app, galleries = make_app()
    gallery = galleries.gallery("g")

    @galleries.api_guard
    def everyone(listener: t.Any) -> bool:
        return True

    gallery.change(lambda: "public", outputs="#x", api_name="a", api_visibility="public")
    gallery.change(lambda: "shown", outputs="#x", api_name="b", show_api=True)
    gallery.change(lambda: "default", outputs="#x", api_name="c")  # Gradio's defaults: closed
    gallery.change(lambda: "hidden", outputs="#x", api_name="d", api_visibility="undocumented")
    client = app.test_client()
    assert client.post("/_gallery/api/a", json={}).get_json() == {"data": ["public"]}
    assert client.post("/_gallery/api/b", json={}).get_json() == {"data": ["shown"]}
    assert client.post("/_gallery/api/c", json={}).status_code == 404
    assert client.post("/_gallery/api/d", json={}).status_code == 404
    assert set(client.get("/_gallery/api").get_json()["endpoints"]) == {"/a", "/b"}


def test_an_api_without_endpoints_lists_none(client: t.Any, galleries: FlaskGallery) -> None:
    galleries.gallery("g").change(lambda: None, api_name=False)
    assert client.get("/_gallery/api").get_json() == {"endpoints": {}}


def test_without_a_guard_every_call_is_refused(make_app: t.Any) -> None:
    app, galleries = make_app(GALLERY_API=True)
    ran: list[str] = []
    galleries.gallery("g").change(lambda: ran.append("ran"), api_name="wipe")
    client = app.test_client()
    for response in (client.post("/_gallery/api/wipe", json={}), client.get("/_gallery/api")):
        assert response.status_code == 403
        assert "@galleries.api_guard" in response.get_json()["error"]
    assert ran == []


def test_the_guard_allows_denies_or_aborts_in_the_request_context(
    client: t.Any, galleries: FlaskGallery
) -> None:
    seen: list[tuple[str, str | None]] = []

    @galleries.api_guard
    def by_key(listener: t.Any) -> bool:
        key = request.headers.get("X-Api-Key")
        seen.append((listener.api_name, key))
        if key is None:
            abort(401, www_authenticate=WWWAuthenticate("bearer"))
        return key == "good"

    ran: list[str] = []
    galleries.gallery("g").change(lambda: ran.append("ran"), api_name="wipe")
    assert (
        client.post("/_gallery/api/wipe", json={}, headers={"X-Api-Key": "bad"}).status_code == 403
    )
    missing = client.post("/_gallery/api/wipe", json={})
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert ran == []
    assert (
        client.post("/_gallery/api/wipe", json={}, headers={"X-Api-Key": "good"}).status_code == 200
    )
    assert ran == ["ran"]
    assert seen == [("wipe", "bad"), ("wipe", None), ("wipe", "good")]


def test_a_guard_answer_other_than_true_refuses(client: t.Any, galleries: FlaskGallery) -> None:
    @galleries.api_guard
    def forgot_to_return(listener: t.Any) -> t.Any:
        return "yes"

    galleries.gallery("g").change(lambda: None, api_name="wipe")
    assert client.post("/_gallery/api/wipe", json={}).status_code == 403


def test_the_listing_shows_only_what_the_guard_allows(
    client: t.Any, galleries: FlaskGallery
) -> None:
    @galleries.api_guard
    def only_reads(listener: t.Any) -> bool:
        return bool(listener.event == "select")

    gallery = galleries.gallery("g")
    gallery.select(lambda: None, api_name="look")
    gallery.delete(lambda: None, api_name="wipe")
    assert set(client.get("/_gallery/api").get_json()["endpoints"]) == {"/look"}


def test_a_foreign_origin_is_refused(client: t.Any, galleries: FlaskGallery) -> None:
    ran: list[str] = []
    galleries.gallery("g").change(lambda: ran.append("ran"), api_name="wipe")
    foreign = client.post("/_gallery/api/wipe", json={}, headers={"Origin": EVIL})
    assert foreign.status_code == 403 and "Cross-site" in foreign.get_json()["error"]
    assert client.get("/_gallery/api", headers={"Origin": EVIL}).status_code == 403
    assert ran == []
    own = client.post("/_gallery/api/wipe", json={}, headers={"Origin": "http://localhost"})
    assert own.status_code == 200 and ran == ["ran"]


def test_the_apps_before_request_hooks_run_for_api_calls(
    app: Flask, client: t.Any, galleries: FlaskGallery
) -> None:
    """A login check the app applies to every view applies to the API too."""

    @app.before_request
    def login_required() -> None:
        if request.path != "/login" and not session.get("user"):
            abort(401)

    @app.post("/login")
    def login() -> str:
        session["user"] = "ada"
        return "ok"

    ran: list[str] = []
    galleries.gallery("g").change(lambda: ran.append("ran"), api_name="wipe")
    assert client.post("/_gallery/api/wipe", json={}).status_code == 401
    assert ran == []
    client.post("/login")
    assert client.post("/_gallery/api/wipe", json={}).status_code == 200
    assert ran == ["ran"]


# Event data: checked as a click's


@pytest.mark.parametrize(
    "forged",
    [
        {"index": "DROP TABLE"},
        {"index": 2},
        {"index": -1},
        {"index": 10**30},
        {"index": True},
        {"index": 1.0},
        {"index": [0]},
        {"index": {"index": 0}},
        {"value": {"caption": "x"}},
        None,
        "0",
        [0],
    ],
)
def test_forged_select_event_data_is_refused(
    client: t.Any, galleries: FlaskGallery, forged: t.Any
) -> None:
    ran: list[t.Any] = []
    gallery = galleries.gallery("g", pixels(10, 20))

    @gallery.on_select(api_name="pick")
    def pick(evt: SelectData) -> None:
        ran.append(evt)

    response = client.post("/_gallery/api/pick", json={"data": [], "event_data": forged})
    assert response.status_code == 400, response.text
    assert "index" in response.get_json()["error"]
    assert ran == []


def test_event_data_value_comes_from_the_servers_value(
    client: t.Any, galleries: FlaskGallery
) -> None:
    gallery = galleries.gallery("g", pixels(10, 20))
    seen: list[t.Any] = []

    @gallery.on_select(outputs="#x", api_name="pick")
    def pick(evt: SelectData) -> str:
        seen.append((evt.index, evt.value["caption"], evt.selected, dict(evt._data)))
        return "ok"

    forged = {"index": 1, "value": {"caption": "forged"}, "selected": False, "sql": "DROP"}
    response = client.post("/_gallery/api/pick", json={"data": [], "event_data": forged})
    assert response.status_code == 200, response.text
    index, caption, selected, data = seen[0]
    assert (index, caption, selected) == (1, "shade 20", True)
    assert set(data) == {"index", "value", "selected", "indices"}
    assert data["indices"] == [1]  # a single-select gallery's selection is the item alone
    assert data["value"]["image"]["url"].startswith("/_gallery/media/")


def test_an_input_gallery_names_the_value_the_index_is_checked_against(
    client: t.Any, galleries: FlaskGallery, render: Renderer
) -> None:
    gallery = galleries.gallery("g", pixels(10, 20, 30))
    seen: list[t.Any] = []

    @gallery.on_delete(inputs=gallery, outputs="#x", api_name="drop")
    def drop(value: t.Any, evt: EventData) -> str:
        seen.append((len(value), evt.index, evt.value["caption"], evt.file["url"]))
        return "ok"

    src = render.gallery("g").select(".fg-thumb img")[2]["src"]
    sent = [{"image": {"url": str(src).rsplit("/w", 1)[0]}, "caption": "sent"}]
    # Three items are declared, but the call's value has one: index 2 is past its end.
    past = client.post("/_gallery/api/drop", json={"data": [sent], "event_data": {"index": 2}})
    assert past.status_code == 400 and "1 item(s)" in past.get_json()["error"]
    ok = client.post("/_gallery/api/drop", json={"data": [sent], "event_data": {"index": 0}})
    assert ok.status_code == 200, ok.text
    assert seen == [(1, 0, "sent", sent[0]["image"]["url"])]


def test_upload_event_data_must_name_this_apps_media(
    client: t.Any, galleries: FlaskGallery, render: Renderer
) -> None:
    gallery = galleries.gallery("g", pixels(10))
    seen: list[t.Any] = []

    @gallery.on_upload(outputs="#x", api_name="added")
    def added(evt: EventData) -> str:
        seen.append([item["caption"] for item in evt._data])
        return "ok"

    src = str(render.gallery("g").select_one(".fg-thumb img")["src"]).rsplit("/w", 1)[0]
    url = "/_gallery/api/added"
    far = client.post(url, json={"event_data": [{"image": {"url": "https://evil.example/x"}}]})
    assert far.status_code == 400
    assert client.post(url, json={"event_data": {"index": 0}}).status_code == 400
    good = client.post(url, json={"event_data": [{"image": {"url": src}, "caption": "new"}]})
    assert good.status_code == 200 and seen == [["new"]]


def test_events_without_data_drop_what_is_sent(client: t.Any, galleries: FlaskGallery) -> None:
    seen: list[t.Any] = []

    @galleries.gallery("g").on_change(outputs="#x", api_name="changed")
    def changed(evt: EventData) -> str:
        seen.append(evt._data)
        return "ok"

    url = "/_gallery/api/changed"
    assert client.post(url, json={"event_data": "DROP TABLE"}).status_code == 400
    assert client.post(url, json={"event_data": {"index": 5, "x": 1}}).status_code == 200
    assert seen == [{}]  # what a click on a change listener gets


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"data": [' * 50_000,
        b'{"data": ["\xff\xfe"]}',
        b'{"data": [' + b"9" * 5000 + b"]}",
        b"{'data': []}",
        b"",
    ],
    ids=["nested", "unclosed", "bad-utf8", "huge-int", "single-quotes", "empty"],
)
def test_unreadable_json_is_a_400(client: t.Any, galleries: FlaskGallery, body: bytes) -> None:
    galleries.gallery("g").change(lambda value: None, inputs="field", api_name="f")
    response = client.post(
        "/_gallery/api/f", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.get_json()["error"]
