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


def test_simple_example_runs_and_its_handler_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the example's instance folder (and media) lands here
    namespace: dict[str, t.Any] = {"__name__": "readme_example"}
    exec(compile(python_blocks()[0], "README.md", "exec"), namespace)
    app = namespace["app"]
    assert app.instance_path.startswith(str(tmp_path))
    client = app.test_client()
    page = BeautifulSoup(client.get("/").data, "html.parser")
    root = page.select_one(".fg-block")
    assert root is not None and len(root.select(".fg-thumb")) == 3
    headers = json.loads(str(root["hx-headers:inherited"]))
    engine = app.extensions["flask_gallery"].engine()
    done: list[dict[str, t.Any]] = []
    finished = threading.Event()

    def receive(message: dict[str, t.Any]) -> None:
        if message["type"] == "done":
            done.append(message)
            finished.set()

    engine.subscribe(headers["X-Gallery-Page"], receive)
    assert client.post(f"{root['data-actions']}/select/1", headers=headers).status_code == 200
    assert finished.wait(10)
    assert "Picked image 1: grey 120" in done[0]["value"]["html"]
