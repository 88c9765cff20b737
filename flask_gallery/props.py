"""The display properties of a gallery: Gradio's constructor parameters, validated once.

A declaration and every render-time override go through :func:`resolve_props`, so a bad value
fails where it is written (at declaration, or in the template call) with a message that names the
parameter, shows the value and lists what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing as t

ObjectFit = t.Literal["contain", "cover", "fill", "none", "scale-down"]
PreprocessType = t.Literal["numpy", "pil", "filepath"]
ButtonName = t.Literal["share", "download", "download_all", "fullscreen"]
SourceName = t.Literal["upload", "clipboard", "webcam"]
Visibility = bool | t.Literal["hidden"]
#: ``"single"``: Gradio's one selected item; ``"multiple"``: Ctrl/Cmd-, Shift-click and Space
#: also toggle items and ranges into a selection.
SelectionMode = t.Literal["single", "multiple"]

OBJECT_FITS: tuple[str, ...] = t.get_args(ObjectFit)
PREPROCESS_TYPES: tuple[str, ...] = t.get_args(PreprocessType)
BUTTONS: tuple[str, ...] = t.get_args(ButtonName)
SOURCES: tuple[str, ...] = t.get_args(SourceName)
SELECTION_MODES: tuple[str, ...] = t.get_args(SelectionMode)
#: Formats Pillow can write for numpy/PIL outputs (Gradio's ``format``).
FORMATS: tuple[str, ...] = ("webp", "png", "jpeg", "jpg", "gif", "bmp", "tiff")
#: Gradio's six breakpoints: <576, <768, <992, <1200, <1400, >=1400 px.
BREAKPOINTS: tuple[int, ...] = (576, 768, 992, 1200, 1400)

# A CSS length or simple calc() for ``height``: no ``;``, quotes, braces or url(), so a string
# height can never leave the declaration it is written into.
_CSS_LENGTH = re.compile(r"^[0-9a-zA-Z.%() +*/-]{1,64}$")
_ELEM_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_:.-]*$")
_CLASS = re.compile(r"^-?[_a-zA-Z][_a-zA-Z0-9-]*$")


@dataclasses.dataclass(frozen=True)
class GalleryProps:
    """Every display parameter of ``gr.Gallery`` after validation and defaulting.

    Gradio-4 spellings (``show_share_button``, ``show_download_button``) and Gradio-6 ones
    (``buttons``) are folded into :attr:`buttons`; :attr:`columns` and :attr:`rows` are always
    six breakpoint values (or ``None`` for rows), so templates never branch on the input shape.
    """

    label: str | None = None
    every: float | None = None
    show_label: bool = True
    container: bool = True
    scale: int | None = None
    min_width: int = 160
    visible: Visibility = True
    elem_id: str | None = None
    elem_classes: tuple[str, ...] = ()
    render: bool = True
    columns: tuple[int, ...] = (2,) * 6
    rows: tuple[int, ...] | None = None
    height: str | None = None
    allow_preview: bool = True
    preview: bool = False
    selected_index: int | None = None
    selection_mode: SelectionMode = "single"
    #: The items a multi-select gallery starts with selected (sorted, no repeats); indices past
    #: the end of the value are dropped when it is drawn.
    selected_indices: tuple[int, ...] | None = None
    object_fit: ObjectFit = "cover"
    buttons: tuple[ButtonName, ...] = ("download", "download_all", "fullscreen")
    interactive: bool | None = None
    type: PreprocessType = "filepath"
    format: str = "webp"
    file_types: tuple[str, ...] | None = None
    fit_columns: bool = True
    sources: tuple[SourceName, ...] = ("upload",)
    key: t.Any = None
    preserved_by_key: tuple[str, ...] = ("value",)

    def replace(self, **changes: t.Any) -> GalleryProps:
        return dataclasses.replace(self, **changes)


#: Parameters a template call may not override: they change what handlers receive.
NOT_OVERRIDABLE = frozenset({"type", "format", "file_types", "every", "key", "preserved_by_key"})


def _choices(values: t.Iterable[str]) -> str:
    return ", ".join(repr(v) for v in sorted(values))


def _bool(name: str, value: t.Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name}={value!r} must be True or False.")
    return value


def _optional_bool(name: str, value: t.Any) -> bool | None:
    return None if value is None else _bool(name, value)


def _int(name: str, value: t.Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}={value!r} must be an int (at least {minimum}).")
    if value < minimum:
        raise ValueError(f"{name}={value!r} must be at least {minimum}.")
    return value


def _choice(name: str, value: t.Any, allowed: tuple[str, ...]) -> t.Any:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed. Use one of: {_choices(allowed)}.")
    return value


def _breakpoints(name: str, value: t.Any) -> tuple[int, ...]:
    """Gradio's int-or-tuple: up to six breakpoint values, the last repeated to fill six."""
    values = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(values, (list, tuple)) or not 1 <= len(values) <= 6:
        raise TypeError(
            f"{name}={value!r} must be an int or a tuple of 1 to 6 ints (one per breakpoint "
            "<576, <768, <992, <1200, <1400, >=1400 px), e.g. {name}=3 or {name}=(1, 2, 4)."
        )
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(
                f"{name}={value!r}: every value must be an int of at least 1, got {v!r}."
            )
    return tuple(values) + (values[-1],) * (6 - len(values))


def _height(value: t.Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"height={value!r} must be a positive number of pixels.")
        return f"{value:g}px"
    if isinstance(value, str):
        css = value.strip()
        if not _CSS_LENGTH.match(css) or "url" in css.lower():
            raise ValueError(
                f"height={value!r} is not a CSS length. Use a number of pixels or a CSS "
                "length such as '50vh', '400px' or 'auto'."
            )
        return None if css == "auto" else css
    raise TypeError(f"height={value!r} must be a number (pixels), a CSS length string or None.")


def _indices(value: t.Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, frozenset)):
        raise TypeError(
            f"selected_indices={value!r} must be a list of item indices (ints from 0), "
            "e.g. selected_indices=[0, 2], or None."
        )
    return tuple(sorted({_int("selected_indices entry", v, minimum=0) for v in value}))


def _elem_id(value: t.Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _ELEM_ID.match(value):
        raise ValueError(
            f"elem_id={value!r} is not a usable HTML id: start with a letter and use letters, "
            "digits, '-', '_', ':' or '.'."
        )
    return value


def _elem_classes(value: t.Any) -> tuple[str, ...]:
    if value is None:
        return ()
    classes = value.split() if isinstance(value, str) else value
    if not isinstance(classes, (list, tuple)) or not all(
        isinstance(c, str) and _CLASS.match(c) for c in classes
    ):
        raise ValueError(
            f"elem_classes={value!r} must be a CSS class name or a list of them "
            "(letters, digits, '-' and '_')."
        )
    return tuple(classes)


def _names(name: str, value: t.Any, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TypeError(f"{name}={value!r} must be a list drawn from: {_choices(allowed)}.")
    for v in value:
        _choice(f"{name} entry", v, allowed)
    return tuple(dict.fromkeys(value))


def _buttons(
    buttons: t.Any, show_share_button: t.Any, show_download_button: t.Any
) -> tuple[ButtonName, ...]:
    """Fold Gradio 4's ``show_*_button`` flags and Gradio 6's ``buttons`` into one list.

    Share defaults to hidden: Gradio only shows it on Hugging Face Spaces, and here it means the
    browser's own share sheet, which only an explicit request turns on.
    """
    share = _optional_bool("show_share_button", show_share_button)
    download = _optional_bool("show_download_button", show_download_button)
    if buttons is None:
        chosen = ["download", "download_all", "fullscreen"]
        if download is False:
            chosen.remove("download")
        if share:
            chosen.insert(0, "share")
        return t.cast("tuple[ButtonName, ...]", tuple(chosen))
    listed = _names("buttons", buttons, BUTTONS)
    for flag, value, button in (
        ("show_share_button", share, "share"),
        ("show_download_button", download, "download"),
    ):
        if value is not None and value != (button in listed):
            raise ValueError(
                f"{flag}={value!r} conflicts with buttons={list(listed)!r}. "
                f"Give only buttons=[...] (Gradio 6), or only {flag} (Gradio 4)."
            )
    return t.cast("tuple[ButtonName, ...]", listed)


def _file_types(value: t.Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TypeError(
            f"file_types={value!r} must be a list such as ['image'], ['.png', '.jpg'] or "
            "['image', 'video']."
        )
    for v in value:
        if not isinstance(v, str) or not v.strip():
            raise ValueError(f"file_types={value!r}: every entry must be a non-empty string.")
    return tuple(value)


def _every(value: t.Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"every={value!r} must be a positive number of seconds or None.")
    return float(value)


def _visible(value: t.Any) -> Visibility:
    if not (isinstance(value, bool) or value == "hidden"):
        raise ValueError(f"visible={value!r} must be True, False or 'hidden'.")
    return t.cast(Visibility, value)


def _optional_str(name: str, value: t.Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name}={value!r} must be a str or None.")
    return value


# Every keyword a declaration or an override accepts, with how to check it. The three flags in
# _BUTTON_FLAGS are folded into ``buttons`` by resolve_props.
_CHECKS: dict[str, t.Callable[[t.Any], t.Any]] = {
    "label": lambda v: _optional_str("label", v),
    "every": _every,
    "show_label": lambda v: _optional_bool("show_label", v),
    "container": lambda v: _bool("container", v),
    "scale": lambda v: None if v is None else _int("scale", v, minimum=0),
    "min_width": lambda v: _int("min_width", v, minimum=0),
    "visible": _visible,
    "elem_id": _elem_id,
    "elem_classes": _elem_classes,
    "render": lambda v: _bool("render", v),
    "columns": lambda v: (2,) * 6 if v is None else _breakpoints("columns", v),
    "rows": lambda v: None if v is None else _breakpoints("rows", v),
    "height": _height,
    "allow_preview": lambda v: _bool("allow_preview", v),
    "preview": lambda v: bool(_optional_bool("preview", v)),
    "selected_index": lambda v: None if v is None else _int("selected_index", v, minimum=0),
    "selection_mode": lambda v: (
        "single" if v is None else _choice("selection_mode", v, SELECTION_MODES)
    ),
    "selected_indices": _indices,
    "object_fit": lambda v: "cover" if v is None else _choice("object_fit", v, OBJECT_FITS),
    "interactive": lambda v: _optional_bool("interactive", v),
    "type": lambda v: _choice("type", v, PREPROCESS_TYPES),
    "format": lambda v: _choice("format", v.lower() if isinstance(v, str) else v, FORMATS),
    "file_types": _file_types,
    "fit_columns": lambda v: _bool("fit_columns", v),
    "sources": lambda v: ("upload",) if v is None else _names("sources", v, SOURCES),
    "key": lambda v: v,
    "preserved_by_key": lambda v: (v,) if isinstance(v, str) else tuple(v or ()),
}
_BUTTON_FLAGS = ("buttons", "show_share_button", "show_download_button")
PARAMETERS: frozenset[str] = frozenset(_CHECKS) | frozenset(_BUTTON_FLAGS)


def resolve_props(base: GalleryProps, given: t.Mapping[str, t.Any], *, where: str) -> GalleryProps:
    """Validate ``given`` and return ``base`` with it applied.

    ``where`` names the call in error messages ("galleries.gallery('x')" or the template call),
    so a typo points at the line to fix.
    """
    unknown = set(given) - PARAMETERS
    if unknown:
        raise TypeError(
            f"{where} got unknown parameter(s) {_choices(unknown)}. "
            f"Gallery parameters are: {_choices(PARAMETERS)}."
        )
    changes = {name: _CHECKS[name](value) for name, value in given.items() if name in _CHECKS}
    if any(flag in given for flag in _BUTTON_FLAGS):
        changes["buttons"] = _buttons(
            given.get("buttons"), given.get("show_share_button"), given.get("show_download_button")
        )
    if changes.get("show_label", 0) is None:
        changes["show_label"] = True
    return base.replace(**changes)
