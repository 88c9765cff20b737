"""Turns a gallery's properties and media items into the plain view the templates draw.

All layout arithmetic (breakpoint columns, ``sizes`` for srcset, styles, which item the preview
shows) happens here, in Python, so the templates stay free of logic and the same fragments can be
rendered for a full page or for an htmx swap.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import posixpath
import typing as t
import urllib.parse

from ..props import BREAKPOINTS, GalleryProps

if t.TYPE_CHECKING:
    from ..media import MediaItem


class MediaUrls(t.Protocol):
    """Where the browser fetches an item; the extension builds it from its routes."""

    def full(self, media_id: str) -> str: ...
    def thumb(self, media_id: str, width: int) -> str: ...
    def download(self, media_id: str, index: int, name: str | None) -> str: ...
    def download_all(self, key: str) -> str: ...
    def actions(self, page: str, name: str) -> str: ...


@dataclasses.dataclass(frozen=True)
class Entry:
    """One item as drawn in the grid, the preview and the thumbnail strip."""

    index: int
    "Position in the gallery, from 0."
    label: str
    """Accessible name: Gradio's 'Thumbnail i of n' (screen-reader users and tools rely on that
    start), then the caption, so the name contains the text the thumbnail shows (WCAG 2.5.3)."""
    kind: str
    caption: str | None
    src: str
    "The smallest grid thumbnail (or the media itself when no thumbnail applies)."
    srcset: str | None
    width: int | None
    height: int | None
    full: str
    "The full file, for the preview."
    download: str | None
    "The attachment URL; for an external URL item, that URL (the browser fetches it)."
    mime_type: str | None
    external: bool = False
    "An external URL item: the server never fetches it, so the browser downloads it itself."
    download_name: str | None = None
    "The name an external item is saved under: its own, else the URL's last segment."
    key: str = ""
    "The item's opaque id in a deep link to its preview (:func:`item_key`)."


@dataclasses.dataclass(frozen=True)
class Window:
    """A run of consecutive items of a windowed grid: drawn, or a placeholder of its height."""

    start: int
    count: int
    drawn: bool


@dataclasses.dataclass(frozen=True)
class Windowing:
    """How a gallery too large to draw whole splits its grid (``GALLERY_WINDOW_SIZE``): every
    window is on the page from the first paint, only the first with its items; the browser
    fetches the others as they scroll near and keeps at most ``keep`` of them drawn."""

    size: int
    windows: t.Sequence[Window]
    keep: int
    "``GALLERY_MAX_WINDOWS``: drawn windows the browser keeps at most."


@dataclasses.dataclass(frozen=True)
class GalleryView:
    """Everything a gallery template needs, already decided."""

    name: str
    dom_id: str
    props: GalleryProps
    entries: t.Sequence[Entry]
    selected: int | None
    preview_open: bool
    show_label: bool
    label: str
    interactive: bool
    block_class: str
    block_style: str
    grid_style: str
    grid_fixed_height: bool
    wrap_style: str
    sizes: str
    accept: str
    download_all: str | None
    page: str | None
    "The page token; None when drawn outside a page (no interactions)."
    headers: str | None
    "The JSON htmx sends as headers with every request of this gallery."
    base_url: str | None
    "Where this gallery's actions are posted: ``<base_url>/select/<i>``, ``/close``, ..."
    include: str | None
    "``hx-include`` selector of the page's form fields that listeners take as inputs."
    js: str | None
    "JSON of the listeners whose ``js`` gallery.js runs before their request."
    selection: frozenset[int] = frozenset()
    "The items drawn selected: read through :meth:`is_selected`."
    windowing: Windowing | None = None
    "Set when the grid is drawn in windows (the gallery holds more than one window of items)."
    csrf_token: str | None = None
    """Flask-WTF's token on a page, for the upload form a browser without JavaScript posts (the
    form field ``csrf_token`` stands in for the header htmx sends)."""

    @property
    def selected_entry(self) -> Entry | None:
        return None if self.selected is None else self.entries[self.selected]

    @property
    def multiselect(self) -> bool:
        """``selection_mode="multiple"``: the grid is an ARIA grid whose cells carry
        ``aria-selected``; a single-select gallery's selected thumbnail is ``aria-pressed``."""
        return self.props.selection_mode == "multiple"

    def is_selected(self, index: int) -> bool:
        """Whether item ``index`` is drawn selected: the one place every thumbnail (a whole
        grid, a swapped item, a window of a long grid) reads the selection from."""
        return index in self.selection

    def window_entries(self, window: Window) -> t.Sequence[Entry]:
        return self.entries[window.start : window.start + window.count]

    @property
    def strip(self) -> t.Sequence[Entry]:
        """The preview's thumbnail strip: every item, or for a windowed gallery one window's
        worth centred on the selected item, wrapping around the ends as next/previous do (so
        the strip always holds both neighbours of what the preview shows)."""
        count = len(self.entries)
        if self.windowing is None or self.selected is None:
            return self.entries
        half = self.windowing.size // 2
        return [self.entries[(self.selected + k) % count] for k in range(-half, half + 1)]


def effective_columns(props: GalleryProps, count: int) -> tuple[int, ...]:
    """Gradio's ``fit_columns``: never more columns than items, per breakpoint."""
    if not props.fit_columns or count == 0:
        return props.columns
    return tuple(min(c, count) for c in props.columns)


def grid_sizes(columns: tuple[int, ...]) -> str:
    """The ``sizes`` attribute of grid thumbnails.

    ``auto`` first: for lazy images the browser then uses the cell's laid-out width, so a gallery
    in a narrow column fetches small thumbnails. Browsers without ``sizes=auto`` skip it and use
    the rest: a cell is about viewport width / columns at each breakpoint, an overestimate when
    the gallery is narrower than the viewport (a larger thumbnail, never a blurry one).
    """
    parts = [
        f"(max-width: {bp - 1}px) {100 / cols:.4g}vw"
        for bp, cols in zip(BREAKPOINTS, columns, strict=False)
    ]
    parts.append(f"{100 / columns[-1]:.4g}vw")
    return "auto, " + ", ".join(parts)


def initial_indices(props: GalleryProps, count: int) -> list[int]:
    """``selected_indices``: the items a multi-select gallery starts with selected."""
    return [i for i in props.selected_indices or () if i < count]


def window_size(columns: tuple[int, ...], configured: int) -> int:
    """``GALLERY_WINDOW_SIZE`` rounded up to a multiple of every column count the grid uses
    (when one fits), so no window ends in a part-filled row at any breakpoint."""
    step = math.lcm(*columns)
    return -(-configured // step) * step if step <= configured else configured


def windowing(count: int, size: int, keep: int) -> Windowing | None:
    """The windows of a grid of ``count`` items, the first drawn; None when one window holds
    them all (the grid is then drawn whole, as a small gallery always was)."""
    if count <= size:
        return None
    windows = [Window(s, min(size, count - s), s == 0) for s in range(0, count, size)]
    return Windowing(size, windows, keep)


def initial_selection(props: GalleryProps, count: int) -> int | None:
    """Gradio: ``preview=True`` starts on item 0; an index past the end selects nothing."""
    index = props.selected_index
    if index is None and props.preview and props.allow_preview and count:
        index = 0
    return index if index is not None and index < count else None


class Entries(t.Sequence[Entry]):
    """The gallery's items as drawn, each made when a template first reads it: a selection
    change draws two thumbnails of a gallery of hundreds, and builds only their URLs."""

    def __init__(self, items: t.Sequence[MediaItem], urls: MediaUrls) -> None:
        self._items, self._urls = items, urls
        self._made: dict[int, Entry] = {}

    def __len__(self) -> int:
        return len(self._items)

    @t.overload
    def __getitem__(self, index: int) -> Entry: ...
    @t.overload
    def __getitem__(self, index: slice) -> t.Sequence[Entry]: ...
    def __getitem__(self, index: int | slice) -> Entry | t.Sequence[Entry]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self._items))[index]]
        if index < 0:
            index += len(self._items)
        entry = self._made.get(index)
        if entry is None:
            item = self._items[index]  # IndexError past the end, as a list
            entry = self._made[index] = make_entry(item, index, len(self._items), self._urls)
        return entry


def item_key(item: MediaItem) -> str:
    """The id a deep link names an item by: its media id (unforgeable, and the same wherever the
    item moves in the list, unlike an index), or for an external URL a hash of that URL."""
    if item.id is not None:
        return item.id
    return "u" + hashlib.sha256(str(item.url).encode()).hexdigest()[:20]


def find_item(items: t.Sequence[MediaItem], key: str) -> int | None:
    """The index of the first item whose :func:`item_key` is ``key``; None when none is (a
    stale link, or a made-up one)."""
    return next((i for i, item in enumerate(items) if item_key(item) == key), None)


def thumbnail_label(index: int, count: int, caption: str | None) -> str:
    """``Thumbnail 2 of 5: A cat`` (``Thumbnail 2 of 5`` without a caption)."""
    label = f"Thumbnail {index + 1} of {count}"
    return f"{label}: {caption}" if caption else label


def make_entry(item: MediaItem, index: int, count: int, urls: MediaUrls) -> Entry:
    label = thumbnail_label(index, count, item.caption)
    key = item_key(item)
    if item.id is None:  # an external URL, shown as is
        src = t.cast(str, item.url)
        name = item.orig_name or posixpath.basename(urllib.parse.urlsplit(src).path) or "image"
        return Entry(
            index,
            label,
            item.kind,
            item.caption,
            src,
            None,
            item.width,
            item.height,
            src,
            src,
            item.mime_type,
            external=True,
            download_name=name,
            key=key,
        )
    full = urls.full(item.id)
    download = urls.download(item.id, index, item.orig_name)
    widths = item.thumbnail_widths
    if not widths or not item.width or not item.height:  # SVG, video, tiny or animated images
        return Entry(
            index,
            label,
            item.kind,
            item.caption,
            full,
            None,
            item.width,
            item.height,
            full,
            download,
            item.mime_type,
            key=key,
        )
    srcset = ", ".join(f"{urls.thumb(item.id, w)} {w}w" for w in widths)
    height = max(1, round(item.height * widths[0] / item.width))
    return Entry(
        index,
        label,
        item.kind,
        item.caption,
        urls.thumb(item.id, widths[0]),
        srcset,
        widths[0],
        height,
        full,
        download,
        item.mime_type,
        key=key,
    )


def request_headers(page: str, dom_id: str, csrf_token: str | None) -> str:
    """The page token (the CSRF secret), the element to report errors in, and Flask-WTF's token
    where the app uses it, as the JSON of an ``hx-headers`` attribute."""
    headers = {"X-Gallery-Page": page, "X-Gallery-Root": dom_id}
    if csrf_token:
        headers["X-CSRFToken"] = csrf_token
    return json.dumps(headers, separators=(",", ":"))


def _css_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def accept_attribute(file_types: tuple[str, ...] | None) -> str:
    """Gradio's ``file_types`` notation as an ``<input accept>``: "image" -> "image/*",
    "mp4" -> ".mp4", ".png" stays. ``None`` accepts images and videos, as Gradio's default."""
    kinds = file_types or ("image", "video")
    return ",".join(
        f"{k}/*" if k in ("image", "video", "audio") else k if k.startswith(".") else f".{k}"
        for k in kinds
    )


def _style(declarations: t.Iterable[tuple[str, object]]) -> str:
    return "; ".join(f"{name}: {value}" for name, value in declarations if value is not None)


def build_view(
    name: str,
    props: GalleryProps,
    items: t.Sequence[MediaItem],
    urls: MediaUrls,
    *,
    selected: int | None,
    preview_open: bool,
    selection: t.Collection[int] = (),
    interactive: bool = False,
    download_key: str | None = None,
    page: str | None = None,
    csrf_token: str | None = None,
    include: t.Sequence[str] = (),
    js: str | None = None,
    windows: tuple[int, int] | None = None,
) -> GalleryView:
    """``windows``: ``(GALLERY_WINDOW_SIZE, GALLERY_MAX_WINDOWS)`` to draw a large gallery's
    grid in windows (only on a page: the browser fetches them from its routes)."""
    count = len(items)
    dom_id = props.elem_id or f"fg-{name}"
    entries = Entries(items, urls)
    if selected is not None and selected >= count:
        selected = None
    if props.selection_mode == "multiple":
        chosen = frozenset(i for i in selection if 0 <= i < count)
    else:
        chosen = frozenset(() if selected is None else (selected,))
    columns = effective_columns(props, count)
    grid_vars: list[tuple[str, object]] = [(f"--fg-cols-{i}", c) for i, c in enumerate(columns)]
    if props.rows is not None:
        grid_vars += [(f"--fg-rows-{i}", r) for i, r in enumerate(props.rows)]
    grid_vars.append(("--fg-object-fit", props.object_fit))
    classes = ["fg-block", *(("fg-container",) if props.container else ())]
    if props.rows is not None:
        classes.append("fg-has-rows")
    classes += props.elem_classes
    return GalleryView(
        name=name,
        dom_id=dom_id,
        props=props,
        entries=entries,
        selected=selected,
        preview_open=preview_open and selected is not None,
        show_label=props.show_label and props.container,
        label=props.label or "Gallery",
        interactive=interactive,
        block_class=" ".join(classes),
        block_style=_style(
            [
                ("flex-grow", props.scale),
                ("min-width", f"min({props.min_width}px, 100%)"),
            ]
        ),
        grid_style=_style(grid_vars),
        grid_fixed_height=props.height is None,
        wrap_style=_style([("height", props.height)]),
        sizes=grid_sizes(columns),
        accept=accept_attribute(props.file_types),
        download_all=urls.download_all(download_key) if download_key else None,
        page=page,
        headers=request_headers(page, dom_id, csrf_token) if page else None,
        base_url=urls.actions(page, name) if page else None,
        include=", ".join(f'[name="{_css_string(n)}"]' for n in include) or None,
        js=js,
        selection=chosen,
        windowing=(
            windowing(count, window_size(columns, windows[0]), windows[1])
            if windows and page
            else None
        ),
        csrf_token=csrf_token if page else None,
    )
