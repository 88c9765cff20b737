"""The built wheel carries its templates, static files and py.typed, and renders a gallery from
a fresh virtual environment (no access to this checkout)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = out.glob("flask_gallery-*.whl")
    return wheel


def test_wheel_contains_templates_static_and_types(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "flask_gallery/py.typed",
        "flask_gallery/templates/flask_gallery/gallery.html",
        "flask_gallery/templates/flask_gallery/_grid.html",
        "flask_gallery/templates/flask_gallery/_preview.html",
        "flask_gallery/queue/lua/channel_append.lua",
        "flask_gallery/static/flask_gallery/gallery.css",
        "flask_gallery/static/flask_gallery/gallery.js",
        "flask_gallery/static/flask_gallery/vendor/htmx-4.0.1.min.js",
        "flask_gallery/static/flask_gallery/vendor/hx-ws-4.0.1.min.js",
        "flask_gallery/static/flask_gallery/vendor/LICENSE-htmx.txt",
    ):
        assert required in names, required
    assert not any(n.startswith(("tests/", "example_app/")) for n in names)


def test_installed_wheel_renders_a_gallery_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        check=True,
    )
    script = textwrap.dedent(
        """
        import numpy as np, flask_gallery
        from flask import Flask, render_template_string
        from flask_gallery import FlaskGallery
        assert "/venv/" in flask_gallery.__file__, flask_gallery.__file__
        app = Flask("wheel_app", instance_path=INSTANCE)
        app.config["SECRET_KEY"] = "k"
        galleries = FlaskGallery(app)
        galleries.gallery("g", [np.zeros((300, 300, 3), np.uint8)], label="From the wheel")
        with app.test_request_context("/"):
            html = render_template_string("{{ gallery_assets() }}{{ gallery('g') }}")
        assert "From the wheel" in html and "Thumbnail 1 of 1" in html, html
        client = app.test_client()
        for path in ("/_gallery/static/flask_gallery/vendor/htmx-4.0.1.min.js",
                     "/_gallery/static/flask_gallery/gallery.css"):
            response = client.get(path)
            assert response.status_code == 200, path
            response.close()
        print("rendered", len(html))
        """
    ).replace("INSTANCE", repr(str(tmp_path / "instance")))
    result = subprocess.run(
        [str(python), "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("rendered")
