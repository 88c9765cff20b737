"""Uploads posted by the upload zone's plain form (a browser without JavaScript): accepted on the
browser's same-origin word instead of the page header, answered with a 303 back to the page
(never to another site), which then shows the new items, and every refusal as a message on that
page instead of an error page."""

from __future__ import annotations

import io
import typing as t

import pytest
from bs4 import BeautifulSoup
from flask import Flask, render_template_string, request

from flask_gallery import FlaskGallery

from .test_pages_http import PAGE, png_bytes

HOST = "http://localhost"
SAME_ORIGIN = {"Origin": HOST}


@pytest.fixture
def site(tmp_path: t.Any) -> Flask:
    app = Flask("no_js_upload", instance_path=str(tmp_path))
    app.config.update(SECRET_KEY="k", GALLERY_MAX_UPLOAD_BYTES=2000, GALLERY_MAX_UPLOAD_FILES=2)
    galleries = FlaskGallery(app)
    galleries.gallery("up", None, interactive=True, file_types=["image"])

    @app.get("/photos")
    def photos() -> str:
        return render_template_string(PAGE, names=request.args.getlist("n") or ["up"])

    return app


class NoJsPage:
    """The page as a browser without JavaScript has it: its upload form, and the session."""

    def __init__(self, client: t.Any, url: str = "/photos") -> None:
        self.client, self.url = client, url
        self.soup = BeautifulSoup(client.get(url).data, "html.parser")
        form = self.soup.select_one("form.fg-sources")
        assert form is not None, "the upload zone is not a form"
        assert form["method"] == "post" and form["enctype"] == "multipart/form-data"
        assert form.select_one("input[type=file][name=files]") is not None
        assert form.select_one("button[type=submit]") is not None
        self.action = str(form["action"])

    def post(self, *files: tuple[bytes, str], headers: dict[str, str] | None = None) -> t.Any:
        data = {"files": [(io.BytesIO(b), n) for b, n in files]}
        return self.client.post(
            self.action,
            data=data,
            content_type="multipart/form-data",
            headers=SAME_ORIGIN if headers is None else headers,
        )

    def back(self, response: t.Any) -> BeautifulSoup:
        """Follow the 303 the way the browser does, to the page it names."""
        assert response.status_code == 303, response.text
        return BeautifulSoup(self.client.get(response.headers["Location"]).data, "html.parser")


def thumbs(soup: BeautifulSoup) -> list[str]:
    return [str(a["aria-label"]) for a in soup.select(".fg-grid a.fg-thumb")]


def errors(soup: BeautifulSoup) -> list[str]:
    return [p.get_text() for p in soup.select(".fg-toasts .fg-toast-error .fg-toast-text")]


def test_a_form_post_adds_the_files_and_goes_back_to_the_page_with_them(site: Flask) -> None:
    page = NoJsPage(site.test_client(), "/photos?n=up&tab=2")
    response = page.post((png_bytes((4, 4)), "a.png"), (png_bytes((6, 4)), "b.png"))
    assert response.status_code == 303
    assert response.headers["Location"] == "/photos"  # no Referer: the page's own path
    after = page.back(response)
    assert thumbs(after) == ["Thumbnail 1 of 2", "Thumbnail 2 of 2"]
    assert errors(after) == []
    # Once only: a later visit draws the gallery's own value again, as every page load.
    assert thumbs(BeautifulSoup(page.client.get("/photos").data, "html.parser")) == []


def test_it_goes_back_to_the_referring_page_with_its_query(site: Flask) -> None:
    page = NoJsPage(site.test_client(), "/photos?n=up&tab=2")
    headers = {**SAME_ORIGIN, "Referer": f"{HOST}/photos?n=up&tab=2"}
    response = page.post((png_bytes((4, 4)), "a.png"), headers=headers)
    assert response.headers["Location"] == "/photos?n=up&tab=2"
    assert thumbs(page.back(response)) == ["Thumbnail 1 of 1"]


@pytest.mark.parametrize(
    "referer",
    [
        "https://evil.example/photos",
        "//evil.example/photos",
        f"{HOST}//evil.example/photos",
        "/\\evil.example/photos",
        f"{HOST}/somewhere-else",  # this site, but not the page's path
        "javascript:alert(1)",
    ],
)
def test_the_return_path_is_never_another_site_or_page(site: Flask, referer: str) -> None:
    page = NoJsPage(site.test_client())
    response = page.post((png_bytes((4, 4)), "a.png"), headers={**SAME_ORIGIN, "Referer": referer})
    assert response.status_code == 303
    assert response.headers["Location"] == "/photos"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {},  # a browser that vouches for nothing
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "same-origin"},
    ],
)
def test_a_post_the_browser_does_not_vouch_for_is_refused(
    site: Flask, headers: dict[str, str]
) -> None:
    page = NoJsPage(site.test_client())
    response = page.post((png_bytes((4, 4)), "a.png"), headers=headers)
    assert response.status_code == 403 and "Location" not in response.headers
    assert "Cross-site upload refused" in response.text


def test_sec_fetch_site_vouches_where_origin_is_withheld(site: Flask) -> None:
    page = NoJsPage(site.test_client())
    response = page.post((png_bytes((4, 4)), "a.png"), headers={"Sec-Fetch-Site": "same-origin"})
    assert thumbs(page.back(response)) == ["Thumbnail 1 of 1"]


def test_another_sessions_page_is_refused(site: Flask) -> None:
    page = NoJsPage(site.test_client())
    page.client = site.test_client()  # same token, a session without it
    page.client.get("/photos")
    headers = {**SAME_ORIGIN, "Referer": f"{HOST}/photos"}
    after = page.back(page.post((png_bytes((4, 4)), "a.png"), headers=headers))
    assert "another session" in " ".join(errors(after))
    pages = site.extensions["flask_gallery"].pages.live_pages()
    assert len(pages) == 3 and all(not p.galleries["up"].items for p in pages)


def test_refused_files_are_named_on_the_page_and_the_good_ones_kept(site: Flask) -> None:
    page = NoJsPage(site.test_client())
    response = page.post((b"not an image", "notes.txt"), (png_bytes((4, 4)), "ok.png"))
    after = page.back(response)
    assert thumbs(after) == ["Thumbnail 1 of 1"]
    [message] = errors(after)
    assert message.startswith("notes.txt: ")
    # Shown once: the next load of the page has no message left.
    assert errors(BeautifulSoup(page.client.get("/photos").data, "html.parser")) == []


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ([(png_bytes((4, 4)), f"{n}.png") for n in "abc"], "Upload at most 2 at once"),
        ([(b"\0" * 20_000, "huge.png")], "this route accepts at most"),
        ([], "No file was sent"),
    ],
)
def test_limits_send_the_user_back_with_the_reason(
    site: Flask, files: list[tuple[bytes, str]], says: str
) -> None:
    page = NoJsPage(site.test_client())
    after = page.back(page.post(*files))
    assert thumbs(after) == []
    [message] = errors(after)
    assert says in message


def test_an_expired_page_goes_back_to_the_referring_page(site: Flask) -> None:
    page = NoJsPage(site.test_client())
    page.action = page.action.replace("/p/", "/p/x", 1)  # a page the server does not know
    headers = {**SAME_ORIGIN, "Referer": f"{HOST}/photos"}
    after = page.back(page.post((png_bytes((4, 4)), "a.png"), headers=headers))
    assert "expired" in " ".join(errors(after))


def test_htmx_uploads_still_need_the_page_header(site: Flask) -> None:
    """The form path is for posts without htmx: a request that says it is htmx's keeps every
    check it had (the header), and its answer stays a fragment."""
    page = NoJsPage(site.test_client())
    response = page.post((png_bytes((4, 4)), "a.png"), headers={**SAME_ORIGIN, "HX-Request": "1"})
    assert response.status_code == 403 and "header is missing" in response.text


def test_under_a_url_prefix_it_goes_back_under_that_prefix(site: Flask) -> None:
    """An app mounted at ``/app`` (``SCRIPT_NAME``): the page is drawn and posted to under the
    prefix, and the 303 keeps it."""
    client, base = site.test_client(), f"{HOST}/app"
    soup = BeautifulSoup(client.get("/photos", base_url=base).data, "html.parser")
    action = str(soup.select_one("form.fg-sources")["action"])  # type: ignore[index]
    assert action.startswith("/app/")
    response = client.post(
        action.removeprefix("/app"),
        base_url=base,
        data={"files": [(io.BytesIO(png_bytes((4, 4))), "a.png")]},
        content_type="multipart/form-data",
        headers=SAME_ORIGIN,
    )
    assert response.status_code == 303 and response.headers["Location"] == "/app/photos"
    after = BeautifulSoup(client.get("/photos", base_url=base).data, "html.parser")
    assert thumbs(after) == ["Thumbnail 1 of 1"]


def test_flask_wtf_csrf_protect_takes_the_forms_token(site: Flask) -> None:
    """With CSRFProtect on, the form carries Flask-WTF's token as its ``csrf_token`` field (the
    header htmx sends is not there); a post without it goes back with CSRFProtect's reason."""
    from flask_wtf.csrf import CSRFProtect

    site.config["WTF_CSRF_ENABLED"] = True
    CSRFProtect(site)
    page = NoJsPage(site.test_client())
    token = page.soup.select_one("form.fg-sources input[name=csrf_token]")
    assert token is not None and token["type"] == "hidden"
    data = {"csrf_token": str(token["value"]), "files": [(io.BytesIO(png_bytes((4, 4))), "a.png")]}
    response = page.client.post(
        page.action, data=data, content_type="multipart/form-data", headers=SAME_ORIGIN
    )
    assert thumbs(page.back(response)) == ["Thumbnail 1 of 1"]
    # The same page again (the post came back to it): without the token, nothing is added.
    after = page.back(page.post((png_bytes((4, 4)), "b.png")))
    assert thumbs(after) == ["Thumbnail 1 of 1"]
    assert "CSRF" in " ".join(errors(after))
