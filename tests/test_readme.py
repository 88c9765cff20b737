"""README's examples run as pasted (a newcomer copies them first)."""

from __future__ import annotations

import json
import re
import threading
import typing as t
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_starts_with_the_two_commands() -> None:
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), re.S)
    assert blocks[0].strip() == "python3 -m pip install -e . && flask --app example_app run"
    assert blocks[1].strip() == "bash .ci/run"
    ci = (README.parent / ".ci" / "run").read_text()
    assert "python3 -m pytest" in blocks[2] and blocks[2].strip() in ci


def run_example(source: str, tmp_path: Path, index: int) -> tuple[BeautifulSoup, str]:
    """Run a README example app, open its page and click its gallery's thumbnail ``index``:
    the page, and the HTML the handler's result sent it."""
    namespace: dict[str, t.Any] = {"__name__": "readme_example"}
    exec(compile(source, "README.md", "exec"), namespace)
    app = namespace["app"]
    assert app.instance_path.startswith(str(tmp_path))
    client = app.test_client()
    page = BeautifulSoup(client.get("/").data, "html.parser")
    root = page.select_one(".fg-block")
    assert root is not None
    headers = json.loads(str(root["hx-headers:inherited"]))
    engine = app.extensions["flask_gallery"].engine()
    done: list[dict[str, t.Any]] = []
    finished = threading.Event()

    def receive(message: dict[str, t.Any]) -> None:
        if message["type"] == "done":
            done.append(message)
            finished.set()

    engine.subscribe(headers["X-Gallery-Page"], receive)
    assert client.post(f"{root['data-actions']}/select/{index}", headers=headers).status_code == 200
    assert finished.wait(10)
    return page, str(done[0]["value"]["html"])


def test_simple_example_runs_and_its_handler_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the example's instance folder (and media) lands here
    page, html = run_example(python_blocks()[0], tmp_path, 1)
    assert len(page.select(".fg-block .fg-thumb")) == 3
    assert "Picked image 1: grey 120" in html


def test_the_element_media_example_shows_the_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (source,) = [block for block in python_blocks() if '"#big"' in block]
    _, html = run_example(source, tmp_path, 1)
    result = BeautifulSoup(html, "html.parser")
    img = result.select_one('hx-partial[hx-target="#big"] img')
    assert img is not None and (img["width"], img["height"]) == ("256", "256")
    assert result.select_one('hx-partial[hx-target="#status"]').get_text() == "item 1, 4x"


def test_the_multi_select_example_toggles_and_clears(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (source,) = [block for block in python_blocks() if 'selection_mode="multiple"' in block]
    namespace: dict[str, t.Any] = {"__name__": "readme_example"}
    exec(compile(source, "README.md", "exec"), namespace)
    app = namespace["app"]
    client = app.test_client()
    root = BeautifulSoup(client.get("/").data, "html.parser").select_one(".fg-block")
    assert root is not None
    headers = {**json.loads(str(root["hx-headers:inherited"])), "HX-Request": "true"}
    engine = app.extensions["flask_gallery"].engine()
    done = threading.Semaphore(0)
    results: list[str] = []

    def receive(message: dict[str, t.Any]) -> None:
        if message["type"] == "done":
            results.append(str(message["value"]["html"]))
            done.release()

    engine.subscribe(headers["X-Gallery-Page"], receive)
    for index, how in ((1, "toggle"), (3, "range")):
        url = f"{root['data-actions']}/select/{index}"
        assert client.post(url, headers=headers, data={"_fg_select": how}).status_code == 200
        assert done.acquire(timeout=10)
    assert "[1, 2, 3]: grey 80, grey 120, grey 160" in results[-1]
    assert client.post("/clear", headers=headers).status_code == 200
    answer = client.post("/clear", headers=headers)
    assert "Nothing is selected." in answer.text
