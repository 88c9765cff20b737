"""Events of the app's own page: its elements (a button, a form, a field) and the page's load.

A Gradio app's main pattern is ``btn.click(fn, inputs, outputs)``: a button whose handler runs on
the queue with progress, streaming and trigger modes. Here the button is the app's own HTML,
named by its id: ``galleries.element("#generate")`` gives an object with the same listener API
as a gallery, and gallery.js sends its events the way it sends a gallery click (the page's socket,
else HTTP), so the same engine enforces every listener argument. ``galleries.load`` is Gradio's
``demo.load``: it runs once per page, when the page first connects.
"""

from __future__ import annotations

import re

from .events import ELEMENT_EVENTS, ChangeEvents, EventName, Listenable, _OnEvent, _Trigger

_ID = re.compile(r"^#([A-Za-z][\w\-:.]{0,99})$")


class Element(ChangeEvents):
    """An element of the app's page, by id, whose events run queued listeners.

    .. code-block:: python

        generate = galleries.element("#generate")

        @generate.on_click(inputs=["prompt"], outputs=[gallery, "#status"])
        def run(prompt): ...

    Events and their default ``trigger_mode`` are Gradio's: ``click`` (a button or link,
    ``once``), ``submit`` (a form: its fields are sent and the page does not navigate, ``once``),
    ``change`` (a field's committed value, ``always_last``) and ``input`` (each edit of a field,
    ``once``). For ``change`` and ``input`` the field's value is the event data. An element that
    is not on the page is never triggered. As an output an element is its ``"#id"``.
    """

    events = ELEMENT_EVENTS

    def __init__(self, selector: str) -> None:
        match = _ID.match(selector) if isinstance(selector, str) else None
        if match is None:
            raise ValueError(
                f"Element {selector!r} must be '#' and the element's id: a letter, then letters,"
                " digits, '-', '_', ':' or '.' (at most 100), e.g. galleries.element('#generate')."
            )
        self.name = selector
        "The element's ``"  # id"``: listener ids start with it."
        self.id = match.group(1)
        "The element's id in the page."

    @property
    def selector(self) -> str:
        """How outputs name it: ``"#id"``."""
        return self.name

    @property
    def on_click(self) -> _OnEvent:
        """Decorate a handler for a click (Gradio's ``Button.click``)."""
        return _OnEvent(self, "click")

    @property
    def click(self) -> _Trigger:
        """``element.click(fn, inputs, outputs, ...)``, as Gradio's ``Button.click``."""
        return _Trigger(self, "click")

    @property
    def on_submit(self) -> _OnEvent:
        """Decorate a handler for the form's submission (Gradio's ``Textbox.submit``)."""
        return _OnEvent(self, "submit")

    @property
    def submit(self) -> _Trigger:
        """``element.submit(fn, inputs, outputs, ...)``, as Gradio's ``Textbox.submit``."""
        return _Trigger(self, "submit")

    @property
    def on_input(self) -> _OnEvent:
        """Decorate a handler for each edit of the field (Gradio's ``.input``)."""
        return _OnEvent(self, "input")

    @property
    def input(self) -> _Trigger:
        """``element.input(fn, inputs, outputs, ...)``, as Gradio's ``.input``."""
        return _Trigger(self, "input")

    def __repr__(self) -> str:
        return f"<Element {self.name!r}>"


#: The listener ids of the page's own events start with this (no gallery name has a colon).
PAGE = ":page"
_PAGE_EVENTS: tuple[EventName, ...] = ("load",)


class PageEvents(Listenable):
    """The page itself: ``load`` (Gradio's ``demo.load``), once per page when it first
    connects; with ``every=``, again every that many seconds while it stays connected."""

    events = _PAGE_EVENTS
    name = PAGE

    def __repr__(self) -> str:
        return "<the page>"
