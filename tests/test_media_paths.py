"""Which server files a gallery value may name (Gradio's allowed_paths / blocked_paths)."""

from __future__ import annotations

import os
import pathlib
import tempfile
import typing as t

import pytest
from flask import Flask, render_template_string
from PIL import Image

from flask_gallery import Error, FlaskGallery
from flask_gallery.media import MediaStore
from flask_gallery.media.paths import PathRefused, ServedPaths


@pytest.fixture
def folders(tmp_path: pathlib.Path) -> dict[str, pathlib.Path]:
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    for folder in (allowed / "outputs", allowed / "private", outside):
        folder.mkdir(parents=True)
    for path in (allowed / "outputs" / "a.png", allowed / "private" / "b.png", outside / "c.png"):
        Image.new("RGB", (4, 4), "red").save(path)
    return {"allowed": allowed, "outside": outside}


def test_files_inside_are_resolved(folders: dict[str, pathlib.Path]) -> None:
    paths = ServedPaths([folders["allowed"]])
    inside = folders["allowed"] / "outputs" / "a.png"
    assert paths.resolve(inside) == str(inside.resolve())
    again = folders["allowed"] / "outputs" / ".." / "outputs" / "a.png"
    assert paths.resolve(str(again)) == str(inside.resolve())


def test_dot_dot_and_symlinks_out_are_refused_naming_the_setting(
    folders: dict[str, pathlib.Path],
) -> None:
    paths = ServedPaths([folders["allowed"]])
    escape = folders["allowed"] / "outputs" / ".." / ".." / "outside" / "c.png"
    with pytest.raises(PathRefused, match="Add its folder to GALLERY_ALLOWED_PATHS"):
        paths.resolve(escape)
    link = folders["allowed"] / "outputs" / "link.png"
    link.symlink_to(folders["outside"] / "c.png")
    with pytest.raises(PathRefused, match="outside the folders this app may serve"):
        paths.resolve(link)
    folder_link = folders["allowed"] / "elsewhere"
    folder_link.symlink_to(folders["outside"], target_is_directory=True)
    with pytest.raises(PathRefused):
        paths.resolve(folder_link / "c.png")


def test_a_sibling_folder_sharing_a_prefix_is_outside(tmp_path: pathlib.Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "outputs-secret").mkdir()
    with pytest.raises(PathRefused):
        ServedPaths([tmp_path / "out"]).resolve(tmp_path / "outputs-secret" / "x.png")


def test_blocked_wins_over_allowed(folders: dict[str, pathlib.Path]) -> None:
    paths = ServedPaths([folders["allowed"]], [folders["allowed"] / "private"])
    assert paths.resolve(folders["allowed"] / "outputs" / "a.png")
    with pytest.raises(PathRefused, match="GALLERY_BLOCKED_PATHS"):
        paths.resolve(folders["allowed"] / "private" / "b.png")
    single_file = ServedPaths([folders["allowed"]], [folders["allowed"] / "outputs" / "a.png"])
    with pytest.raises(PathRefused, match="GALLERY_BLOCKED_PATHS"):
        single_file.resolve(folders["allowed"] / "outputs" / "a.png")


def test_a_store_takes_only_its_own_and_the_temp_folder_by_default(
    folders: dict[str, pathlib.Path], tmp_path: pathlib.Path
) -> None:
    with MediaStore(tmp_path / "media", "secret", background=False) as store:
        assert store.served_paths.allowed == (
            str((tmp_path / "media").resolve()),
            os.path.realpath(tempfile.gettempdir()),
        )


def test_postprocess_refuses_the_item_and_keeps_the_name_as_given(
    folders: dict[str, pathlib.Path], tmp_path: pathlib.Path
) -> None:
    paths = ServedPaths([folders["allowed"]])
    with MediaStore(tmp_path / "media", "secret", background=False, served_paths=paths) as store:
        link = folders["allowed"] / "outputs" / "shown-as.png"
        link.symlink_to(folders["allowed"] / "outputs" / "a.png")
        (item,) = store.postprocess([link])
        assert item.orig_name == "shown-as.png"
        with pytest.raises(PathRefused, match=r"^Gallery item 1: '.*c\.png' is outside"):
            store.postprocess([link, str(folders["outside"] / "c.png")])


def app_with(tmp_path: pathlib.Path, **config: t.Any) -> Flask:
    return app_and_galleries(tmp_path, **config)[0]


def app_and_galleries(tmp_path: pathlib.Path, **config: t.Any) -> tuple[Flask, FlaskGallery]:
    app = Flask("paths_test", instance_path=str(tmp_path / "instance"))
    app.config.update(SECRET_KEY="s", **config)
    return app, FlaskGallery(app)


def test_the_app_allows_its_folders_and_the_setting(
    folders: dict[str, pathlib.Path], tmp_path: pathlib.Path
) -> None:
    app = app_with(
        tmp_path,
        GALLERY_ALLOWED_PATHS=[str(folders["outside"])],
        GALLERY_BLOCKED_PATHS=[folders["allowed"]],
    )
    served = app.extensions["flask_gallery"].media.served_paths
    for folder in (app.root_path, app.instance_path, folders["outside"]):
        assert os.path.realpath(folder) in served.allowed
    assert served.blocked == (str(folders["allowed"].resolve()),)
    assert "its root, instance and media folders" in served.description


@pytest.mark.parametrize("value", ["/srv/outputs", None, [1]])
def test_path_settings_must_be_lists_of_paths(tmp_path: pathlib.Path, value: object) -> None:
    with pytest.raises(TypeError, match="GALLERY_ALLOWED_PATHS"):
        app_with(tmp_path, GALLERY_ALLOWED_PATHS=value)


def test_a_declared_value_outside_the_app_is_refused_at_render(tmp_path: pathlib.Path) -> None:
    app, galleries = app_and_galleries(tmp_path)
    galleries.gallery("g", ["/etc/passwd"])
    with app.test_request_context("/"), pytest.raises(Error) as refused:
        render_template_string("{{ gallery('g') }}")
    assert refused.value.message == (
        "Gallery item 0: the file is outside the folders this app may serve (its root, "
        "instance and media folders and the temp folder). Add its folder to "
        "GALLERY_ALLOWED_PATHS to serve it."
    )
    assert "'/etc/passwd' is outside" in str(refused.value.__cause__)  # the traceback says


def test_an_app_rooted_at_the_filesystem_root_is_warned_about(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = Flask("rooted", root_path="/", instance_path=str(tmp_path / "instance"))
    app.config.update(SECRET_KEY="s")
    with caplog.at_level("WARNING", logger="flask_gallery"):
        FlaskGallery(app)
    assert "Gallery values may name any file on this server" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="flask_gallery"):
        app_with(tmp_path / "other")
    assert "any file" not in caplog.text
