"""The declarations: galleries by name, the page's elements and states, their listeners, and
who may call the JSON API.

Shared by every app a :class:`~flask_gallery.FlaskGallery` is registered on (as Flask-SQLAlchemy's
models are), read-only once an app serves. What follows from the declarations alone (whether a
gallery is interactive, which form fields and ``js`` its listeners take) is worked out once per
declaration here, not at every draw.
"""

from __future__ import annotations

import json
import typing as t

from .component import Gallery
from .elements import Element, PageEvents
from .events import Selection
from .state import State

if t.TYPE_CHECKING:
    from .events import Listenable, Listener
    from .props import GalleryProps

#: What an app registers with ``@galleries.api_guard``: True lets the call through.
ApiGuard = t.Callable[["Listener"], bool]


class Registry:
    """Galleries by name, the page's elements, states and load, and the API guard, with what
    each declaration implies, cached."""

    def __init__(self) -> None:
        self.galleries: dict[str, Gallery] = {}
        "Declared galleries by name."
        self.elements: dict[str, Element] = {}
        "Elements of the app's pages with listeners, by id (without the ``#``)."
        self.page = PageEvents()
        "The page's own events (``load``)."
        self.states: dict[str, State] = {}
        "Declared states by name."
        self.api_guard: ApiGuard | None = None
        "Who may call the JSON API (``@galleries.api_guard``); None refuses every call."
        self._derived: dict[str, tuple[bool, tuple[str, ...], str | None]] = {}
        self._element_specs: str | None = None
        self._listeners = -1  # listener count the cache was made for

    def add(self, gallery: Gallery) -> None:
        if gallery.name in self.galleries:
            raise ValueError(
                f"A gallery named {gallery.name!r} is already declared. Gallery names are unique "
                "per app; pick another name."
            )
        self.galleries[gallery.name] = gallery

    def element(self, selector: str) -> Element:
        """The element with this ``"#id"``, declared at its first use (one object per id, so
        every listener of a button hangs off the same element)."""
        element = Element(selector)
        return self.elements.setdefault(element.id, element)

    def add_state(self, state: State) -> None:
        if state.name in self.states:
            raise ValueError(
                f"A state named {state.name!r} is already declared. State names are unique per"
                " app; pick another name."
            )
        self.states[state.name] = state

    def lookup(self, name: str | None) -> Gallery:
        """The gallery a template names (the only one when ``name`` is None); a clear error
        listing the declared names otherwise."""
        if name is None:
            if len(self.galleries) == 1:
                return next(iter(self.galleries.values()))
            raise TypeError(
                "gallery() needs a name when the app declares "
                f"{len(self.galleries)} galleries: "
                f"{', '.join(repr(n) for n in sorted(self.galleries)) or 'none yet'}."
            )
        try:
            return self.galleries[name]
        except KeyError:
            declared = ", ".join(repr(n) for n in sorted(self.galleries)) or "none"
            raise ValueError(f"Unknown gallery {name!r}. Declared galleries: {declared}.") from None

    def listenables(self) -> t.Iterator[Listenable]:
        """Everything with listeners: the galleries, the page's elements, the page."""
        yield from self.galleries.values()
        yield from self.elements.values()
        yield self.page

    def listeners(self) -> t.Iterator[Listener]:
        for owner in self.listenables():
            yield from owner.listeners

    def element_specs(self) -> str | None:
        """What gallery.js binds on every page, as JSON: for each element and event with
        listeners, the form fields they take and their ``js``, ``[{"id", "event", "fields",
        "js": [{"id", "js", "inputs"}]}]``; None when the app has no element listeners."""
        self._check_cache()
        if self._element_specs is None:
            self._element_specs = _element_specs(self.elements.values()) or ""
        return self._element_specs or None

    def is_interactive(self, gallery: Gallery, props: GalleryProps) -> bool:
        """Gradio's ``interactive=None``: interactive when some listener takes the gallery as an
        input or listens to its upload or delete; static when it is only ever an output."""
        if props.interactive is not None:
            return props.interactive
        return self._derive(gallery)[0]

    def form_inputs(self, gallery: Gallery) -> tuple[str, ...]:
        """Names of the page's form fields this gallery's listeners take as inputs: htmx sends
        them along with every request of the gallery."""
        return self._derive(gallery)[1]

    def js_specs(self, gallery: Gallery) -> str | None:
        """The gallery's listeners that have ``js``, for gallery.js to run before their request:
        ``[{"event", "id", "js", "inputs": [{"gallery": name} | {"field": name}]}]``."""
        return self._derive(gallery)[2]

    def _check_cache(self) -> None:
        # Listeners are added by decorators until the app serves: a new one clears the cache.
        count = sum(len(owner.listeners) for owner in self.listenables())
        if count != self._listeners:
            self._derived, self._element_specs, self._listeners = {}, None, count

    def _derive(self, gallery: Gallery) -> tuple[bool, tuple[str, ...], str | None]:
        self._check_cache()
        derived = self._derived.get(gallery.name)
        if derived is None:
            derived = self._derived[gallery.name] = (
                self._interactive(gallery),
                _form_inputs(gallery.listeners),
                _js_specs(gallery),
            )
        return derived

    def _interactive(self, gallery: Gallery) -> bool:
        for listener in self.listeners():
            if listener.target is gallery and listener.event in ("upload", "delete"):
                return True
            if any(item is gallery for item in listener.inputs):
                return True
        return False


def _form_inputs(listeners: t.Iterable[Listener]) -> tuple[str, ...]:
    """The form fields ``listeners`` take as inputs, each once, in order."""
    names = (item for lst in listeners for item in lst.inputs if isinstance(item, str))
    return tuple(dict.fromkeys(names))


def _js_spec(listener: Listener) -> dict[str, t.Any]:
    """A listener's ``js`` and where gallery.js reads the values it is called with."""
    return {
        "event": listener.event,
        "id": listener.id,
        "js": listener.js,
        "inputs": [
            {"gallery": item.name}
            if isinstance(item, Gallery)
            else {"selection": item.name}
            if isinstance(item, Selection)
            else {"state": item.name}
            if isinstance(item, State)
            else {"field": str(item)}
            for item in listener.inputs
        ],
    }


def _js_specs(gallery: Gallery) -> str | None:
    specs = [_js_spec(lst) for lst in gallery.listeners if isinstance(lst.js, str)]
    return json.dumps(specs, separators=(",", ":")) if specs else None


def _element_specs(elements: t.Iterable[Element]) -> str | None:
    specs: list[dict[str, t.Any]] = []
    for element in elements:
        for event in dict.fromkeys(lst.event for lst in element.listeners if lst.event):
            listeners = [lst for lst in element.listeners if lst.event == event]
            specs.append(
                {
                    "id": element.id,
                    "event": event,
                    "fields": list(_form_inputs(listeners)),
                    "js": [_js_spec(lst) for lst in listeners if isinstance(lst.js, str)],
                }
            )
    return json.dumps(specs, separators=(",", ":")) if specs else None
