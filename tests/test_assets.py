"""gallery_assets(): exact tags, CSP nonce, vendored htmx version, files served locally."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask

from flask_gallery import FlaskGallery, __version__
from flask_gallery.web.assets import HTMX_VERSION

from .conftest import Renderer

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "static" / "flask_gallery" / "vendor"


def test_exact_output(render: Renderer) -> None:
    v = __version__
    assert render.html("{{ gallery_assets() }}") == (
        f'<link rel="stylesheet" href="/_gallery/static/flask_gallery/gallery.css?v={v}">\n'
        f'<script src="/_gallery/static/flask_gallery/vendor/htmx-4.0.1.min.js?v={v}" defer>'
        "</script>\n"
        f'<script src="/_gallery/static/flask_gallery/vendor/hx-ws-4.0.1.min.js?v={v}" defer>'
        "</script>\n"
        f'<script src="/_gallery/static/flask_gallery/gallery.js?v={v}" defer></script>'
    )


def test_nonce_on_every_script(render: Renderer) -> None:
    html = render.html('{{ gallery_assets(nonce="abc\\"123") }}')
    scripts = re.findall(r"<script [^>]*>", html)
    assert len(scripts) == 3
    assert all('nonce="abc&#34;123"' in s for s in scripts)  # escaped, cannot break out


def test_every_asset_is_served_locally(
    app: Flask, galleries: FlaskGallery, render: Renderer
) -> None:
    html = render.html("{{ gallery_assets() }}")
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(u.startswith("/_gallery/static/") for u in urls)
    client = app.test_client()
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert len(response.data) > 500 or url.endswith(".js")
        response.close()


def test_vendored_version_agrees_everywhere() -> None:
    htmx = (VENDOR / f"htmx-{HTMX_VERSION}.min.js").read_text()
    assert f"version='{HTMX_VERSION}'" in htmx.replace('"', "'").replace(" ", "") or (
        HTMX_VERSION in htmx
    )
    ws = (VENDOR / f"hx-ws-{HTMX_VERSION}.min.js").read_text()
    assert "hx-ws" in ws or "ws" in ws
    table = (VENDOR / "VENDOR.md").read_text()
    assert f"| `htmx-{HTMX_VERSION}.min.js` | `htmx.org` | {HTMX_VERSION} |" in table
    assert f"| `hx-ws-{HTMX_VERSION}.min.js` | `htmx.org` | {HTMX_VERSION} |" in table
    assert "Zero-Clause BSD" in (VENDOR / "LICENSE-htmx.txt").read_text()
    readme = (ROOT / "README.md").read_text()
    assert f"htmx {HTMX_VERSION}" in readme


def test_no_cdn_anywhere() -> None:
    for folder in ("templates", "static/flask_gallery"):
        for path in (ROOT / folder).rglob("*"):
            if (
                path.is_file()
                and path.suffix in {".html", ".js", ".css"}
                and "vendor" not in path.parts
            ):
                text = path.read_text()
                assert not re.search(r"https?://(?!www\.w3\.org)", text), path
