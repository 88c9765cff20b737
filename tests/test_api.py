"""Listeners as JSON endpoints (``api_name``) and the API info (``show_api``)."""

from __future__ import annotations

import typing as t

import numpy as np
from flask import Flask

from flask_gallery import FlaskGallery, SelectData

from .conftest import Renderer, fetch


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

    gallery.select(boom, outputs="#x", api_name="boom")
    response = client.post("/_gallery/api/boom", json={"data": []})
    assert response.status_code == 422 and response.get_json() == {"error": "no luck"}
