"""The HTML updates a page receives, built in one place: htmx 4's ``<hx-partial>`` for each
target, the morph of a gallery's root, and the page's toasts (Gradio's ``gr.Info``,
``gr.Warning`` and ``gr.Error`` notifications, and every refusal the page is told about)."""

from __future__ import annotations

import math

from markupsafe import Markup, escape

#: Levels a toast can have (Gradio's Error, Warning, Info, Success).
TOAST_LEVELS = ("error", "warning", "info", "success")
#: The element id of the page's one toast region, drawn once per page beside its socket: every
#: message goes there, so none needs to know which gallery (or other element) caused it.
TOASTS_ID = "fg-toasts"
#: Seconds an Info, Warning or Success toast stays by default (Gradio's ``duration=10``).
DEFAULT_DURATION: float = 10


def partial(target: str, swap: str, content: str) -> Markup:
    """One update for the page: htmx 4's ``<hx-partial>`` puts ``content`` at ``target``."""
    # Concatenated, not Markup.format: this runs for every update of every click and result.
    return Markup(
        f'<hx-partial hx-target="{escape(target)}" hx-swap="{escape(swap)}">{content}</hx-partial>'
    )


def morph(dom_id: str, html: str) -> Markup:
    """A gallery drawn again, morphed into its root element (focus and scroll stay)."""
    return partial(f"#{dom_id}", "outerMorph", html)


def _lifetime(level: str, duration: float | None) -> float | None:
    """Seconds the toast stays, or None for "until closed": errors always stay (the user must
    see why something failed), and so does a ``duration`` of None, 0 or less (Gradio's
    docstrings call 0 "indefinitely"; its frontend would close such a toast at once)."""
    if level == "error" or not isinstance(duration, (int, float)):
        return None
    return float(duration) if 0 < duration < math.inf else None


_TOAST = Markup(
    '<div class="fg-toast fg-toast-{level}"{id} role="{role}" aria-atomic="true"{duration}>'
    '<div class="fg-toast-body"><strong class="fg-toast-title">{title}</strong>'
    '<p class="fg-toast-text">{text}</p></div>'
    '<button type="button" class="fg-toast-close" aria-label="Close" title="Close">'
    "&times;</button>{timer}</div>"
)


def toast(
    level: str,
    text: str,
    *,
    title: str | None = None,
    duration: float | None = DEFAULT_DURATION,
    toast_id: str | None = None,
) -> Markup:
    """One toast; ``text`` and ``title`` are escaped.

    Errors are ``role="alert"`` and stay until closed; the other levels are ``role="status"``
    and leave after ``duration`` seconds (gallery.js reads ``data-duration``), or stay when it is
    None or not above 0. ``title`` defaults to the level's name, as Gradio's header shows it.
    """
    level = level if level in TOAST_LEVELS else "info"
    lifetime = _lifetime(level, duration)
    return _TOAST.format(
        level=level,
        id=Markup(' id="{}"').format(toast_id) if toast_id else "",
        role="alert" if level == "error" else "status",
        duration=Markup(' data-duration="{:g}"').format(lifetime) if lifetime else "",
        title=title or level.capitalize(),
        text=text,
        timer=Markup('<span class="fg-toast-timer"></span>') if lifetime else "",
    )


def tell(*toasts: Markup) -> Markup:
    """Adds ``toasts`` (each made by :func:`toast`) to the page's toast region, in one update."""
    return partial(f"#{TOASTS_ID}", "beforeend", Markup("").join(toasts))


def is_element_id(value: str) -> bool:
    """Whether ``value``, sent by the page, is an id a gallery's root element can have (it came
    from the client: anything else is not echoed into a selector)."""
    return bool(value) and value.replace("-", "").replace("_", "").isalnum()
