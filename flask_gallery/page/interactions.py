"""What a user's action does to a gallery's state, and which events it fires, as Gradio's
frontend decides it (js/gallery/shared/Gallery.svelte, Index.svelte), but on the server.

Pure functions on :class:`~flask_gallery.page.state.GalleryState`: no Flask, no engine. Each returns
the events to fire, in order, as ``(event name, event data)``; the views submit them.
"""

from __future__ import annotations

import typing as t

from ..component import KEEP
from ..media import MediaItem
from .state import GalleryState

if t.TYPE_CHECKING:
    from ..component import Gallery, GalleryUpdate

#: Turns an item into Gradio's wire form ``{"image"|"video": {url, orig_name, mime_type, ...},
#: "caption": ...}``, which handlers see in ``SelectData.value``; the views know the URLs.
Describe = t.Callable[[MediaItem], dict[str, t.Any]]
Fired = list[tuple[str, t.Any]]


def _changed(state: GalleryState) -> None:
    state.version += 1


#: How a click changes the selection: ``replace`` (a plain click, Gradio's), or, in a gallery
#: with ``selection_mode="multiple"``, ``toggle`` (Ctrl/Cmd-click, Space) and ``range``
#: (Shift-click).
SelectHow = t.Literal["replace", "toggle", "range"]
SELECT_HOWS: tuple[str, ...] = t.get_args(SelectHow)


def select(
    state: GalleryState,
    index: int,
    allow_preview: bool,
    describe: Describe,
    how: SelectHow = "replace",
) -> Fired:
    """A click on item ``index`` (grid, strip, arrows): Gradio fires ``preview_open`` only when
    coming from no selection with the preview allowed, then ``select`` (never de-duplicated:
    clicking the same item again fires again). A plain click makes the item the whole
    selection; ``toggle`` and ``range`` are :func:`multi_select`'s."""
    if how != "replace":
        return multi_select(state, index, how, describe)
    fired: Fired = []
    if allow_preview and not state.preview_open:
        fired.append(("preview_open", None))
    state.selected = index
    state.selection, state.anchor = [index], index
    state.preview_open = allow_preview
    _changed(state)
    fired.append(("select", select_data(index, state.items[index], describe)))
    return fired


def multi_select(state: GalleryState, index: int, how: SelectHow, describe: Describe) -> Fired:
    """Ctrl/Cmd-click or Space toggles ``index``; Shift-click adds every item from the anchor
    (the item last clicked or toggled) to ``index``. Neither opens the preview; ``select``
    fires with ``index``, its new state and the whole selection. A range never reaches past
    the value: both ends are indices of it."""
    chosen = set(state.selection)
    if how == "toggle":
        on = index not in chosen
        chosen ^= {index}
        state.anchor = index
    else:
        anchor = state.anchor if state.anchor is not None else index
        low, high = sorted((min(anchor, len(state.items) - 1), index))
        chosen.update(range(low, high + 1))
        on = True
        state.anchor = anchor
    state.selection = sorted(chosen)
    if on:
        state.selected = index
    elif state.selected == index:
        state.selected, state.preview_open = None, False
    _changed(state)
    data = select_data(index, state.items[index], describe, selected=on, indices=state.selection)
    return [("select", data)]


def select_data(
    index: int,
    item: MediaItem,
    describe: Describe,
    *,
    selected: bool = True,
    indices: t.Sequence[int] | None = None,
) -> dict[str, t.Any]:
    """A select event's data (``SelectData``'s fields), for a click and an API call alike:
    ``indices`` is the whole selection after it, ``[index]`` in a single-select gallery."""
    return {
        "index": index,
        "value": describe(item),
        "selected": selected,
        "indices": [index] if indices is None else list(indices),
    }


def selected_indices(state: GalleryState, multiple: bool) -> list[int]:
    """The selection, sorted: a multi-select gallery's set, else the selected item alone."""
    if multiple:
        return list(state.selection)
    return [] if state.selected is None else [state.selected]


def close(state: GalleryState) -> Fired:
    """Close button or Escape: the selection goes, ``preview_close`` fires."""
    was_open = state.preview_open
    state.selected = None
    state.selection, state.anchor = [], None
    state.preview_open = False
    _changed(state)
    return [("preview_close", None)] if was_open else []


def clamp_selection(state: GalleryState) -> None:
    """After the value changed: keep the preview on the same index, or the last item when the
    list shrank (Gradio #9599/#10816); nothing when it is empty. A multi-select gallery's
    selection keeps the indices still in the value."""
    count = len(state.items)
    state.selection = [i for i in state.selection if i < count]
    if state.anchor is not None and state.anchor >= count:
        state.anchor = None
    if state.selected is None:
        return
    if not state.items:
        state.selected, state.preview_open = None, False
    else:
        state.selected = min(state.selected, len(state.items) - 1)


def set_value(state: GalleryState, items: list[MediaItem]) -> Fired:
    """A handler output (or programmatic update) replaced the value: ``change``, never
    ``select``."""
    state.items = list(items)
    clamp_selection(state)
    _changed(state)
    return [("change", None)]


def upload(state: GalleryState, added: list[MediaItem], describe: Describe) -> Fired:
    """Upload appends (Gradio 5+), fires ``upload`` with only the new files, then ``change``."""
    if not added:
        return []
    state.items = [*state.items, *added]
    _changed(state)
    return [("upload", [describe(item) for item in added]), ("change", None)]


def delete(state: GalleryState, index: int, describe: Describe) -> Fired:
    """The item's delete button: ``delete`` with ``{index, value, file}``, then ``change``."""
    data = delete_data(index, state.items[index], describe)
    state.items = [*state.items[:index], *state.items[index + 1 :]]
    if state.selected is not None and state.selected > index:
        state.selected -= 1
    state.selection = [i - (i > index) for i in state.selection if i != index]
    if state.anchor is not None:
        state.anchor = None if state.anchor == index else state.anchor - (state.anchor > index)
    clamp_selection(state)
    _changed(state)
    return [("delete", data), ("change", None)]


def delete_data(index: int, item: MediaItem, describe: Describe) -> dict[str, t.Any]:
    """A delete event's data: the removed item's ``index``, ``value`` and ``file``."""
    value = describe(item)
    return {"index": index, "value": value, "file": value.get("image") or value.get("video")}


def apply_update(
    update: GalleryUpdate,
    state: GalleryState,
    convert: t.Callable[[Gallery, t.Any], list[MediaItem]],
) -> Fired:
    """A handler's ``gallery.update(...)`` (or ``page.update``): a new value fires ``change``;
    ``selected_index`` opens or closes the preview without ``select``, as Gradio;
    ``selected_indices`` sets a multi-select gallery's selection (indices past the value are
    dropped), without ``select`` either."""
    fired: Fired = []
    if update.value is not KEEP:
        fired = set_value(state, convert(update.gallery, update.value))
    props = dict(update.props)
    if "selected_index" in props:
        index = props.pop("selected_index")
        valid = index is not None and 0 <= index < len(state.items)
        allow = props.get(
            "allow_preview",
            state.overrides.get("allow_preview", update.gallery.props.allow_preview),
        )
        state.selected = index if valid else None
        state.preview_open = valid and bool(allow)
    if "selected_indices" in props:
        wanted = props.pop("selected_indices") or ()
        state.selection = sorted({i for i in wanted if 0 <= i < len(state.items)})
        state.anchor = None
    state.overrides.update(props)
    clamp_selection(state)
    state.version += 1
    return fired
