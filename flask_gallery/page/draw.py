"""Drawing a gallery: the first render and every fragment htmx swaps in later come from here,
so they never disagree. Each draw resolves the gallery's properties once (the declaration with
the template call's overrides) and builds the plain view the templates draw (:mod:`.view`)."""

from __future__ import annotations

import typing as t

from flask import current_app, render_template
from markupsafe import Markup

from ..props import NOT_OVERRIDABLE, GalleryProps, resolve_props
from . import interactions
from .fragments import morph, partial
from .urls import urls
from .view import Entry, GalleryView, build_view

if t.TYPE_CHECKING:
    from ..component import Gallery
    from .context import PageApp
    from .state import GalleryState, PageState


def props_for(gallery: Gallery, overrides: t.Mapping[str, t.Any]) -> GalleryProps:
    """The declaration with a template call's overrides applied (checked like a declaration)."""
    if not overrides:
        return gallery.props
    fixed = sorted(NOT_OVERRIDABLE & set(overrides))
    if fixed:
        raise TypeError(
            f"gallery({gallery.name!r}) cannot override {', '.join(map(repr, fixed))} in a "
            "template: it changes what handlers receive. Set it in galleries.gallery(...)."
        )
    return resolve_props(
        gallery.props, overrides, where=f"The template call gallery({gallery.name!r})"
    )


def selected_indices(gallery: Gallery, gallery_state: GalleryState) -> list[int]:
    """The gallery's selection on a page, sorted, as its ``selection_mode`` on that page reads
    it (a template call or an update may change the mode)."""
    props = props_for(gallery, gallery_state.overrides)
    return interactions.selected_indices(gallery_state, props.selection_mode == "multiple")


def dom_id(gallery: Gallery, gallery_state: GalleryState) -> str:
    """The id of the gallery's root element on a page (``elem_id`` or ``fg-<name>``)."""
    return props_for(gallery, gallery_state.overrides).elem_id or f"fg-{gallery.name}"


def view_for(
    app: PageApp,
    gallery: Gallery,
    gallery_state: GalleryState,
    page_token: str,
    props: GalleryProps | None = None,
    *,
    toolbar: bool = True,
) -> GalleryView:
    """What the templates draw for the gallery's current state on a page. ``toolbar=False``
    skips the "Download all" key (an HMAC over every item id) for fragments without it."""
    if props is None:
        props = props_for(gallery, gallery_state.overrides)
    items = gallery_state.items
    registry = app.registry
    return build_view(
        gallery.name,
        props,
        items,
        urls(),
        selected=gallery_state.selected,
        preview_open=gallery_state.preview_open,
        selection=gallery_state.selection,
        interactive=registry.is_interactive(gallery, props),
        download_key=(
            app.download_set(items) if toolbar and "download_all" in props.buttons else None
        ),
        page=page_token,
        csrf_token=flask_wtf_token(),
        include=registry.form_inputs(gallery),
        js=registry.js_specs(gallery),
        windows=(app.config["GALLERY_WINDOW_SIZE"], app.config["GALLERY_MAX_WINDOWS"]),
    )


def draw(
    app: PageApp,
    gallery: Gallery,
    gallery_state: GalleryState,
    page_token: str,
    props: GalleryProps | None = None,
) -> Markup:
    """The gallery's whole HTML for its current state on a page."""
    return _html(view_for(app, gallery, gallery_state, page_token, props))


def redrawn(
    app: PageApp, gallery: Gallery, gallery_state: GalleryState, page_token: str
) -> tuple[str, Markup]:
    """The gallery's root id and its whole HTML (its items changed)."""
    view = view_for(app, gallery, gallery_state, page_token)
    return view.dom_id, _html(view)


def redraw_update(
    app: PageApp, gallery: Gallery, gallery_state: GalleryState, page_token: str
) -> Markup:
    """The gallery drawn again, as the update that morphs it into the page."""
    return morph(*redrawn(app, gallery, gallery_state, page_token))


def draw_selection(
    app: PageApp,
    gallery: Gallery,
    gallery_state: GalleryState,
    page_token: str,
    changed: t.Iterable[int],
    *,
    preview: bool = True,
    props: GalleryProps | None = None,
) -> Markup:
    """Only what a selection change alters: the grid items whose highlight changed and, unless
    ``preview`` is False (it was closed and stays closed), the preview slot, from the same
    fragments as a full draw. A click in a 200-item gallery then sends two thumbnails (and the
    preview), not the whole grid."""
    view = view_for(app, gallery, gallery_state, page_token, props, toolbar=False)
    parts = []
    if preview:
        slot = f"#{view.dom_id}-preview-slot"
        if view.preview_open:
            html = render_template("flask_gallery/_preview.html", view=view)
            parts.append(partial(slot, "innerMorph", html))
        else:
            parts.append(partial(slot, "innerHTML", ""))
    thumb = None
    for index in sorted(set(changed)):
        if 0 <= index < len(view.entries):
            thumb = thumb or _thumb_macro()
            html = thumb(view, view.entries[index])
            parts.append(partial(f"#{view.dom_id}-item-{index}", "outerMorph", html))
    return Markup("").join(parts)


def _thumb_macro() -> t.Callable[[GalleryView, Entry], Markup]:
    """The grid item (``_thumb.html``'s macro), as the grid draws it: called directly, it costs
    no template context of its own, as a whole template's render would."""
    template = current_app.jinja_env.get_template("flask_gallery/_thumb.html")
    thumb: t.Callable[[GalleryView, Entry], Markup] = vars(template.module)["thumb"]
    return thumb


class NoSuchWindow(LookupError):
    """A window request names no window of the gallery as it stands (the message says why)."""


def draw_window(
    app: PageApp, gallery: Gallery, gallery_state: GalleryState, page_token: str, start: int
) -> Markup:
    """The items of the grid window that begins at item ``start``, as the browser fetches it
    when the window scrolls near: the same thumbnails a full draw makes, with the selection as
    it stands now. Raises :class:`NoSuchWindow` naming what was wrong when the gallery is not drawn
    in windows or no window begins at ``start``."""
    view = view_for(app, gallery, gallery_state, page_token, toolbar=False)
    windowing = view.windowing
    if windowing is None:
        raise NoSuchWindow(
            f"Gallery {gallery.name!r} holds {len(view.entries)} item(s), one window: it is "
            "drawn whole. Reload the page if it changed."
        )
    if start % windowing.size or not 0 <= start < len(view.entries):
        raise NoSuchWindow(
            f"No window of gallery {gallery.name!r} begins at item {start}: windows begin at "
            f"multiples of {windowing.size} below {len(view.entries)}. Reload the page if it "
            "changed."
        )
    window = windowing.windows[start // windowing.size]
    return Markup(render_template("flask_gallery/_window.html", view=view, window=window))


def redraw_page(app: PageApp, page: PageState) -> Markup:
    """Every gallery of a page as it stands, as updates (sent after a reconnect)."""
    known = app.registry.galleries
    return Markup("").join(
        redraw_update(app, known[name], gallery_state, page.token)
        for name, gallery_state in page.galleries.items()
        if name in known
    )


def _html(view: GalleryView) -> Markup:
    return Markup(render_template("flask_gallery/gallery.html", view=view))


def flask_wtf_token() -> str | None:
    """Flask-WTF's CSRF token when the app uses CSRFProtect, so the gallery's requests pass it."""
    if "csrf" not in current_app.extensions:
        return None
    from flask_wtf.csrf import generate_csrf

    return t.cast(str, generate_csrf())
