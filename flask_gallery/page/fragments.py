"""The HTML updates a page receives, built in one place: htmx 4's ``<hx-partial>`` for each
target, the morph of a gallery's root, and messages in a gallery's alert area."""

from __future__ import annotations

from markupsafe import Markup, escape

#: Levels an alert can have (Gradio's Error, Warning, Info, Success).
ALERT_LEVELS = ("error", "warning", "info", "success")
#: Every gallery's alert area on a page.
EVERY_GALLERY = ".fg-alerts"


def partial(target: str, swap: str, content: str) -> Markup:
    """One update for the page: htmx 4's ``<hx-partial>`` puts ``content`` at ``target``."""
    # Concatenated, not Markup.format: this runs for every update of every click and result.
    return Markup(
        f'<hx-partial hx-target="{escape(target)}" hx-swap="{escape(swap)}">{content}</hx-partial>'
    )


def morph(dom_id: str, html: str) -> Markup:
    """A gallery drawn again, morphed into its root element (focus and scroll stay)."""
    return partial(f"#{dom_id}", "outerMorph", html)


def alert(level: str, text: str) -> Markup:
    """A message for a gallery's alert area; ``text`` is escaped."""
    level = level if level in ALERT_LEVELS else "info"
    return Markup('<p class="fg-alert fg-alert-{}" role="alert">{}</p>').format(level, text)


def alerts_of(dom_id: str) -> str:
    """The selector of the alert area of the gallery whose root is ``dom_id``."""
    return f"#{dom_id}-alerts"


def alerts_target(root: str) -> str | None:
    """:func:`alerts_of` a gallery root id the page sent, or None when that id is not one a
    gallery can have (it came from the client)."""
    if root and root.replace("-", "").replace("_", "").isalnum():
        return alerts_of(root)
    return None


def tell(dom_id: str, level: str, text: str) -> Markup:
    """A message appended to the alert area of the gallery ``dom_id``."""
    return partial(alerts_of(dom_id), "beforeend", alert(level, text))
