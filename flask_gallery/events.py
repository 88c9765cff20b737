"""Listeners: what a handler asked for, checked once when it is registered.

A gallery inherits :class:`Listenable` and gets ``on_select``/``select`` and the other events. Each
registration becomes a :class:`Listener`, the single description the queue works from; its
arguments mean what Gradio's listener arguments mean, with Gradio's defaults, and they are
validated here so a mistake fails at import time with a message that names the fix rather than at
the first click. :class:`EventData` and :class:`SelectData` are what a handler receives, and
:class:`HandlerSpec` works out which parameter receives what (Gradio's ``special_args``).

No Flask here: the engine and its tests use this module without an app.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import re
import typing as t
import weakref
from collections.abc import Mapping

from .progress import Progress
from .request import Request

if t.TYPE_CHECKING:
    from typing_extensions import Unpack


F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: A handler: plain function, generator, ``async def`` or async generator.
Handler = t.Callable[..., t.Any]
#: A gallery's events (Gradio's ``gr.Gallery``).
GalleryEventName = t.Literal[
    "select", "upload", "change", "delete", "preview_open", "preview_close"
]
#: An element of the app's own page: Gradio's ``Button.click``, ``Textbox.submit``,
#: ``Dropdown.change`` and ``.input``.
ElementEventName = t.Literal["click", "submit", "change", "input"]
#: Every event a listener may name (``load`` is the page's: Gradio's ``demo.load``).
EventName = t.Literal[GalleryEventName, ElementEventName, "load"]
TriggerMode = t.Literal["once", "multiple", "always_last"]
#: When a chained listener runs after the one it follows (Gradio's ``.then`` and ``.success``).
Chain = t.Literal["then", "success"]
ShowProgress = t.Literal["full", "minimal", "hidden"]
ApiVisibility = t.Literal["public", "private", "undocumented"]
ConcurrencyLimit = int | None | t.Literal["default"]
#: Seconds a run may take, ``None`` for no limit, or ``"default"`` (``GALLERY_HANDLER_TIMEOUT``).
Timeout = float | None | t.Literal["default"]


class _Named(t.Protocol):
    name: str


#: An input: a gallery (its current value for the page) or the name of a form field on the page.
InputItem = _Named | str
#: An output: a gallery, or ``"#element-id"`` whose content the handler's return value replaces.
OutputItem = _Named | str
Inputs = InputItem | t.Sequence[InputItem] | None
Outputs = OutputItem | t.Sequence[OutputItem] | None

GALLERY_EVENTS: tuple[EventName, ...] = t.get_args(GalleryEventName)
ELEMENT_EVENTS: tuple[EventName, ...] = t.get_args(ElementEventName)
EVENTS: tuple[EventName, ...] = t.get_args(EventName)
TRIGGER_MODES: tuple[TriggerMode, ...] = ("once", "multiple", "always_last")
SHOW_PROGRESS: tuple[ShowProgress, ...] = ("full", "minimal", "hidden")
API_VISIBILITY: tuple[ApiVisibility, ...] = ("public", "private", "undocumented")

_ELEMENT_ID = re.compile(r"^#[A-Za-z][\w\-:.]*$")


class EventData:
    """What happened, for a handler parameter annotated ``EventData`` (Gradio's ``gr.EventData``).

    Any key of the raw data reads as an attribute (``evt.index`` for a delete event), as in Gradio.

    :param target: the gallery the event happened on.
    :param data: the event's raw data.
    """

    def __init__(self, target: t.Any, data: t.Any) -> None:
        self.target = target
        self._data = data

    def __getattr__(self, name: str) -> t.Any:
        data = self.__dict__.get("_data")
        if isinstance(data, Mapping) and name in data:
            return data[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(target={self.target!r}, data={self._data!r})"


class SelectData(EventData):
    """A selection, for a handler parameter annotated ``SelectData`` (Gradio's ``gr.SelectData``).

    ``SelectData(gallery, {"index": 1, "value": {...}})`` builds one by hand, which is how a
    handler is unit-tested.
    """

    def __init__(self, target: t.Any, data: t.Any) -> None:
        super().__init__(target, data)
        raw: Mapping[str, t.Any] = data if isinstance(data, Mapping) else {}
        #: The selected item's index.
        self.index: t.Any = raw.get("index")
        #: The selected item, ``{"image": {...}, "caption": ...}`` for a gallery.
        self.value: t.Any = raw.get("value")
        self.row_value: t.Any = raw.get("row_value")
        self.col_value: t.Any = raw.get("col_value")
        #: The item's new state: ``False`` when a Ctrl/Cmd-click or Space took it out of a
        #: multi-select gallery's selection; always ``True`` in a single-select gallery.
        self.selected: bool = raw.get("selected", True)
        #: The whole selection after the event, sorted: ``[index]`` in a single-select gallery.
        default = [] if self.index is None else [self.index]
        self.indices: list[int] = list(raw.get("indices", default))


class Selection:
    """``gallery.selection``: an input that receives only the gallery's selected items, in
    order, as the gallery itself would receive its value (its ``type``; ``None`` when nothing
    is selected). In a single-select gallery that is the selected item alone.

    .. code-block:: python

        @photos.on_select(inputs=[photos.selection], outputs="#count")
        def count(chosen):
            return f"{len(chosen or [])} selected"
    """

    def __init__(self, gallery: _Named) -> None:
        self.gallery = gallery
        "The gallery whose selection this is."
        self.name = gallery.name
        "The gallery's name."

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Selection) and other.gallery is self.gallery

    def __hash__(self) -> int:
        return hash((Selection, id(self.gallery)))

    def __repr__(self) -> str:
        return f"<Selection of {self.gallery!r}>"


ParamRole = t.Literal["input", "event", "progress", "request"]


class HandlerSpec:
    """How to call a handler: which parameters receive the event, a progress tracker, the
    request, and which receive the inputs in order (Gradio's ``special_args``).

    Worked out once at registration, so a call costs a loop over the parameters.
    """

    def __init__(self, fn: Handler) -> None:
        self.is_async = inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)
        self.is_generator = inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)
        hints = _type_hints(fn)
        #: (name, role, positional, annotation class or progress default) per parameter used.
        self.params: list[tuple[str, ParamRole, bool, t.Any]] = []
        self.input_slots = 0
        self.required_inputs = 0
        self.varargs = False
        for param in inspect.signature(fn).parameters.values():
            if param.kind is param.VAR_POSITIONAL:
                self.varargs = True
                continue
            if param.kind is param.VAR_KEYWORD:
                continue
            role, extra = _role(param, hints.get(param.name, param.annotation))
            positional = param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD)
            if role == "input":
                if not positional:
                    if param.default is param.empty:
                        raise TypeError(
                            f"Handler {_fn_name(fn)!r} has keyword-only parameter"
                            f" {param.name!r} without a default: inputs are passed by position."
                            " Give it a default, or make it positional."
                        )
                    continue
                self.input_slots += 1
                if param.default is param.empty:
                    self.required_inputs += 1
            self.params.append((param.name, role, positional, extra))

    def call_args(
        self,
        inputs: t.Sequence[t.Any],
        event: EventData | None,
        progress: Progress | None,
        request: Request | None,
    ) -> tuple[list[t.Any], dict[str, t.Any]]:
        """Arguments for one call: inputs in order, special values where they were asked for."""
        args: list[t.Any] = []
        kwargs: dict[str, t.Any] = {}
        values = iter(inputs)
        by_keyword = False  # once an input with a default is left out, position is lost
        for name, role, positional, _extra in self.params:
            if role == "input":
                try:
                    value = next(values)
                except StopIteration:
                    by_keyword = True
                    continue
            elif role == "event":
                value = event
            elif role == "progress":
                value = progress
            else:
                value = request
            if positional and not by_keyword:
                args.append(value)
            else:
                kwargs[name] = value
        args.extend(values)  # only reached with *args: registration checks the count
        return args, kwargs

    def event_class(self) -> type[EventData] | None:
        for _name, role, _positional, extra in self.params:
            if role == "event":
                return t.cast("type[EventData]", extra)
        return None

    def progress_default(self) -> Progress | None:
        for _name, role, _positional, extra in self.params:
            if role == "progress":
                return t.cast(Progress, extra)
        return None


def _type_hints(fn: Handler) -> dict[str, t.Any]:
    target = fn if inspect.isroutine(fn) else type(fn).__call__
    try:
        return t.get_type_hints(target)
    except Exception:
        # Unresolvable string annotations (a name imported under TYPE_CHECKING): fall back to
        # matching the written name in _role.
        return dict(getattr(target, "__annotations__", {}))


_SPECIAL_NAMES: dict[str, type[t.Any]] = {
    "EventData": EventData,
    "SelectData": SelectData,
    "Request": Request,
}


def _role(param: inspect.Parameter, annotation: t.Any) -> tuple[ParamRole, t.Any]:
    if isinstance(param.default, Progress):
        return "progress", param.default
    if isinstance(annotation, str):
        annotation = _SPECIAL_NAMES.get(annotation.rpartition(".")[2].strip("'\""), annotation)
    if isinstance(annotation, type):
        if issubclass(annotation, EventData):
            return "event", annotation
        if issubclass(annotation, Request):
            return "request", annotation
    return "input", None


def _fn_name(fn: t.Any) -> str:
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn))


class Listener:
    """One registered handler with its listener arguments: what ``cancels=`` accepts.

    Attributes keep the normalised values (``show_progress`` is always a string, ``inputs`` and
    ``outputs`` always tuples, ``trigger_mode`` never ``None``). One Listener may serve several
    apps: resolving its inputs and outputs to a page's values is each app's engine's job (its
    ``preprocess``/``postprocess`` hooks), never state written onto the listener.
    """

    def __init__(
        self,
        *,
        id: str,
        target: t.Any,
        event: EventName | None,
        fn: Handler | None,
        inputs: tuple[InputItem, ...],
        outputs: tuple[OutputItem, ...],
        api_name: str | None,
        scroll_to_output: bool,
        show_progress: ShowProgress,
        queue: bool,
        batch: bool,
        max_batch_size: int,
        preprocess: bool,
        postprocess: bool,
        cancels: tuple[Listener, ...],
        every: float | None,
        trigger_mode: TriggerMode,
        js: str | t.Literal[False] | None,
        concurrency_limit: ConcurrencyLimit,
        concurrency_id: str | None,
        api_visibility: ApiVisibility,
        api_opened: bool = False,
        timeout: Timeout = "default",
    ) -> None:
        #: Unique per gallery and stable across processes: ``"<gallery>.<event>.<n>"``.
        self.id = id
        self.target = target
        self.event = event
        self.fn = fn
        self.inputs = inputs
        self.outputs = outputs
        self.api_name = api_name
        self.scroll_to_output = scroll_to_output
        self.show_progress = show_progress
        self.queue = queue
        self.batch = batch
        self.max_batch_size = max_batch_size
        self.preprocess = preprocess
        self.postprocess = postprocess
        self.cancels = cancels
        self.every = every
        self.trigger_mode = trigger_mode
        self.js = js
        self.concurrency_limit = concurrency_limit
        self.concurrency_id = concurrency_id
        self.api_visibility = api_visibility
        #: The app itself passed ``show_api=True`` or ``api_visibility="public"``: the listener
        #: is a JSON endpoint even while ``GALLERY_API`` is off (a default is no such intent).
        self.api_opened = api_opened
        #: Seconds a run may take before it fails and its concurrency slot is freed; the
        #: engine reads ``"default"`` from its config.
        self.timeout = timeout
        self.spec: HandlerSpec | None = HandlerSpec(fn) if fn is not None else None
        #: The listeners chained after this one, with when they run: ``"then"`` after it ends
        #: (an error included), ``"success"`` only after it ends without one.
        self.chained: list[tuple[Chain, Listener]] = []

    def then(
        self,
        fn: Handler | None,
        inputs: Inputs = None,
        outputs: Outputs = None,
        **options: Unpack[_ListenerArgs],
    ) -> Listener:
        """Gradio's ``.then``: run ``fn`` after this listener ends, whatever happened (an error
        included, as Gradio's documentation says), through the queue with its own listener
        arguments. Its inputs are read when it is submitted: the galleries as they are then
        (form fields, which only a click carries, are ``None``). Returns the new
        :class:`Listener`, which may be chained in turn."""
        return t.cast("Listenable", self.target).listen_after(
            self, "then", fn, inputs, outputs, **options
        )

    def success(
        self,
        fn: Handler | None,
        inputs: Inputs = None,
        outputs: Outputs = None,
        **options: Unpack[_ListenerArgs],
    ) -> Listener:
        """Gradio's ``.success``: as :meth:`then`, but only after this listener ended without
        an error (not after a failure, a timeout or a cancellation)."""
        return t.cast("Listenable", self.target).listen_after(
            self, "success", fn, inputs, outputs, **options
        )

    @property
    def show_api(self) -> bool:
        return self.api_visibility == "public"

    @property
    def name(self) -> str:
        """How messages name this listener: the handler's name, else the listener id."""
        return _fn_name(self.fn) if self.fn is not None else self.id

    def __repr__(self) -> str:
        return f"<Listener {self.id} {self.name}>"


#: What ``cancels=`` takes: listeners, or handlers registered with a decorator.
Cancels = Listener | Handler | t.Sequence[Listener | Handler] | None


class _ListenerArgs(t.TypedDict, total=False):
    api_name: str | t.Literal[False] | None
    scroll_to_output: bool
    show_progress: ShowProgress | bool
    queue: bool
    batch: bool
    max_batch_size: int
    preprocess: bool
    postprocess: bool
    cancels: Cancels
    every: float | None
    trigger_mode: TriggerMode | None
    js: str | bool | None
    concurrency_limit: ConcurrencyLimit
    concurrency_id: str | None
    show_api: bool
    api_visibility: ApiVisibility | None
    timeout: Timeout


class ListenerOptions(_ListenerArgs, total=False):
    """Every listener argument but ``fn``, for typing ``**options``."""

    inputs: Inputs
    outputs: Outputs


# Handlers registered with a decorator are returned unchanged, so ``cancels=[handler]`` finds
# their listeners here.
_by_fn: weakref.WeakKeyDictionary[t.Any, list[Listener]] = weakref.WeakKeyDictionary()


def make_listener(
    target: t.Any,
    listener_id: str,
    event: EventName | None,
    fn: Handler | None,
    inputs: Inputs = None,
    outputs: Outputs = None,
    *,
    api_name: str | t.Literal[False] | None = None,
    scroll_to_output: bool = False,
    show_progress: ShowProgress | bool = "full",
    queue: bool = True,
    batch: bool = False,
    max_batch_size: int = 4,
    preprocess: bool = True,
    postprocess: bool = True,
    cancels: Cancels = None,
    every: float | None = None,
    trigger_mode: TriggerMode | None = None,
    js: str | bool | None = None,
    concurrency_limit: ConcurrencyLimit = "default",
    concurrency_id: str | None = None,
    show_api: bool | None = None,
    api_visibility: ApiVisibility | None = None,
    timeout: Timeout = "default",
    chained: bool = False,
) -> Listener:
    """Validate Gradio's listener arguments (and ``timeout``, ours) and build the
    :class:`Listener`.

    :meta private:
    """
    if event is not None and event not in EVENTS:
        raise ValueError(_choices("event", event, EVENTS))
    if fn is not None and not callable(fn):
        raise TypeError(f"'fn' must be a callable or None, got {fn!r}.")
    in_items = _items("inputs", inputs)
    # An element given as an output is its "#id"; as an input it has no value to read.
    out_items = tuple(_selector(item) or item for item in _items("outputs", outputs))
    for item in in_items:
        if _selector(item):
            raise TypeError(
                f"'inputs' item {item!r} is an element, whose value flask_gallery cannot read:"
                " pass the name of the form field instead (e.g. inputs=['prompt'] for"
                ' <input name="prompt">).'
            )
    for item in out_items:
        if isinstance(item, Selection):
            raise TypeError(
                f"'outputs' item {item!r} is a gallery's selection, which is an input only: to"
                " set it, return gallery.update(selected_indices=[...]) for the gallery."
            )
    for item in in_items:
        if isinstance(item, str) and not item:
            raise ValueError("'inputs' has an empty form-field name; give the field's name.")
    for item in out_items:
        if isinstance(item, str) and not _ELEMENT_ID.match(item):
            raise ValueError(
                f"'outputs' item {item!r} is not an element id: write it as '#element-id' (a '#'"
                " then a letter, then letters, digits, '-', '_', ':' or '.')."
            )
    for flag, value in (
        ("scroll_to_output", scroll_to_output),
        ("queue", queue),
        ("batch", batch),
        ("preprocess", preprocess),
        ("postprocess", postprocess),
    ):
        if not isinstance(value, bool):
            raise TypeError(f"{flag!r} must be True or False, got {value!r}.")
    if show_progress is True:
        show_progress = "full"
    elif show_progress is False:
        show_progress = "hidden"
    elif show_progress not in SHOW_PROGRESS:
        raise ValueError(_choices("show_progress", show_progress, (*SHOW_PROGRESS, True, False)))
    if (
        isinstance(max_batch_size, bool)
        or not isinstance(max_batch_size, int)
        or max_batch_size < 1
    ):
        raise ValueError(f"'max_batch_size' must be an int >= 1, got {max_batch_size!r}.")
    if every is not None and not is_seconds(every):
        raise ValueError(f"'every' must be a number of seconds > 0 or None, got {every!r}.")
    if not (timeout is None or timeout == "default" or is_seconds(timeout)):
        raise ValueError(
            f"'timeout' must be a number of seconds > 0, None (no timeout) or 'default' (the"
            f" app's GALLERY_HANDLER_TIMEOUT), got {timeout!r}."
        )
    if event is None and every is None and not chained:
        raise ValueError("A listener without an event needs 'every': pass every=<seconds>.")
    if trigger_mode is None:
        trigger_mode = "always_last" if event == "change" else "once"
    elif trigger_mode not in TRIGGER_MODES:
        raise ValueError(_choices("trigger_mode", trigger_mode, TRIGGER_MODES))
    if js is not None and not isinstance(js, (str, bool)):
        raise TypeError(f"'js' must be JavaScript source (a str), a bool or None, got {js!r}.")
    if js is True:
        raise ValueError(
            "js=True asks Gradio to transpile the Python handler to JavaScript, which flask_gallery"
            ' cannot do. Pass the JavaScript source instead, e.g. js="(value) => [value]".'
        )
    if not (
        concurrency_limit is None
        or concurrency_limit == "default"
        or (
            isinstance(concurrency_limit, int)
            and not isinstance(concurrency_limit, bool)
            and concurrency_limit >= 1
        )
    ):
        raise ValueError(
            f"'concurrency_limit' must be an int >= 1, None (no limit) or 'default', got"
            f" {concurrency_limit!r}."
        )
    if concurrency_id is not None and (not isinstance(concurrency_id, str) or not concurrency_id):
        raise TypeError(
            f"'concurrency_id' must be a non-empty str or None, got {concurrency_id!r}."
        )
    visibility, opened = _visibility(show_api, api_visibility)
    if api_name is False:
        name: str | None = "false"
        visibility = "private"
    elif api_name is None:
        name = _api_name(fn)
    elif isinstance(api_name, str) and api_name:
        name = api_name
    else:
        raise TypeError(f"'api_name' must be a non-empty str, False or None, got {api_name!r}.")
    if batch:
        if not queue:
            raise ValueError("batch=True gathers queued submissions: it needs queue=True.")
        if fn is not None and (inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)):
            raise ValueError(
                f"Handler {_fn_name(fn)!r} is a generator, and generators are not supported in"
                " batch mode: return one list per output instead, or set batch=False."
            )
    cancel_targets = _cancel_targets(cancels)
    listener = Listener(
        id=listener_id,
        target=target,
        event=event,
        fn=fn,
        inputs=in_items,
        outputs=out_items,
        api_name=name,
        scroll_to_output=scroll_to_output,
        show_progress=show_progress,
        queue=queue,
        batch=batch,
        max_batch_size=max_batch_size,
        preprocess=preprocess,
        postprocess=postprocess,
        cancels=cancel_targets,
        every=float(every) if every is not None else None,
        trigger_mode=trigger_mode,
        js=js,
        concurrency_limit=concurrency_limit,
        concurrency_id=concurrency_id,
        api_visibility=visibility,
        api_opened=opened and visibility != "private",
        timeout=float(timeout) if isinstance(timeout, (int, float)) else timeout,
    )
    if listener.spec is not None:
        _check_arity(listener.spec, t.cast(Handler, fn), len(in_items))
    return listener


def is_seconds(value: object) -> bool:
    """A finite number of seconds > 0 (``every``, ``timeout``); a bool is no number here."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _choices(param: str, value: object, allowed: t.Iterable[object]) -> str:
    listed = ", ".join(repr(a) for a in allowed)
    return f"Unknown {param} {value!r}: {param!r} must be one of {listed}."


def _items(param: str, value: Inputs | Outputs) -> tuple[t.Any, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or hasattr(value, "name"):
        items: tuple[t.Any, ...] = (value,)
    elif isinstance(value, (list, tuple)):
        items = tuple(value)
    else:
        raise TypeError(
            f"{param!r} must be a gallery, a str or a list of them, got {value!r}."
            + (" Pass a list instead of a set." if isinstance(value, (set, frozenset)) else "")
        )
    for item in items:
        if not (isinstance(item, str) or isinstance(getattr(item, "name", None), str)):
            kind = "'#element-id'" if param == "outputs" else "a form-field name"
            raise TypeError(
                f"{param!r} item {item!r} is neither a gallery nor a str: pass a gallery or {kind}."
            )
    return items


def _selector(item: object) -> str | None:
    """The ``"#id"`` of an element of the page (:class:`~flask_gallery.elements.Element`)."""
    selector = getattr(item, "selector", None)
    return selector if isinstance(selector, str) else None


def _visibility(
    show_api: bool | None, api_visibility: ApiVisibility | None
) -> tuple[ApiVisibility, bool]:
    """The listener's visibility, and whether the app opened it on purpose: Gradio's defaults
    (``show_api=True``) make every listener public, so only an argument the app wrote counts."""
    if show_api is not None and not isinstance(show_api, bool):
        raise TypeError(f"'show_api' must be True or False, got {show_api!r}.")
    if api_visibility is None:
        return ("undocumented" if show_api is False else "public"), show_api is True
    if api_visibility not in API_VISIBILITY:
        raise ValueError(_choices("api_visibility", api_visibility, API_VISIBILITY))
    if show_api is False and api_visibility == "public":
        raise ValueError(
            "show_api=False conflicts with api_visibility='public': pass only one of them"
            " (api_visibility is the newer name)."
        )
    return api_visibility, api_visibility == "public"


def _api_name(fn: Handler | None) -> str | None:
    if fn is None:
        return None
    raw = getattr(fn, "__name__", None) or type(fn).__name__
    return "lambda" if raw == "<lambda>" else re.sub(r"[^\w-]", "", raw) or "fn"


def _cancel_targets(cancels: Cancels) -> tuple[Listener, ...]:
    if cancels is None:
        return ()
    items = list(cancels) if isinstance(cancels, (list, tuple)) else [cancels]
    out: list[Listener] = []
    for item in items:
        if isinstance(item, Listener):
            found = [item]
        else:
            try:
                found = _by_fn.get(item, []) if callable(item) else []
            except TypeError:  # not weak-referenceable
                found = []
            if not found:
                raise TypeError(
                    f"'cancels' item {item!r} is not a listener: pass what gallery.select(...)"
                    " returned, or gallery.listener_for(handler)."
                )
        for target in found:
            if not target.queue or target.fn is None:
                raise ValueError(
                    f"Listener {target.name!r} cannot be cancelled: it does not run on the queue"
                    " (queue=False or fn=None). Set queue=True on it."
                )
        out.extend(found)
    return tuple(out)


def _check_arity(spec: HandlerSpec, fn: Handler, n_inputs: int) -> None:
    if n_inputs < spec.required_inputs or (n_inputs > spec.input_slots and not spec.varargs):
        raise ValueError(
            f"Handler {_fn_name(fn)!r} takes {spec.required_inputs}"
            + (f" to {spec.input_slots}" if spec.input_slots != spec.required_inputs else "")
            + f" input value(s) but the listener has {n_inputs} input(s): make 'inputs' match"
            " the handler's parameters (parameters annotated SelectData, EventData or Request,"
            " or defaulting to Progress(), receive no input)."
        )


class _OnEvent:
    """``gallery.on_<event>``: a decorator used bare or called with listener arguments."""

    def __init__(self, owner: Listenable, event: EventName) -> None:
        self._owner = owner
        self._event = event

    @t.overload
    def __call__(self, fn: F, /) -> F: ...

    @t.overload
    def __call__(
        self, fn: None = None, /, **options: Unpack[ListenerOptions]
    ) -> t.Callable[[F], F]: ...

    def __call__(self, fn: F | None = None, /, **options: t.Any) -> F | t.Callable[[F], F]:
        if fn is not None:
            self._owner.listen(self._event, fn, **options)
            return fn

        def decorator(f: F) -> F:
            self._owner.listen(self._event, f, **options)
            return f

        return decorator


class _Trigger:
    """``gallery.<event>(fn, inputs, outputs, ...)``: Gradio's spelling, returning the listener
    (or, without ``fn``, a decorator)."""

    def __init__(self, owner: Listenable, event: EventName) -> None:
        self._owner = owner
        self._event = event

    @t.overload
    def __call__(
        self,
        fn: Handler | None,
        inputs: Inputs = None,
        outputs: Outputs = None,
        **options: Unpack[_ListenerArgs],
    ) -> Listener: ...

    @t.overload
    def __call__(self, **options: Unpack[ListenerOptions]) -> t.Callable[[F], F]: ...

    def __call__(self, *args: t.Any, **options: t.Any) -> Listener | t.Callable[[F], F]:
        if args or "fn" in options:
            return self._owner.listen(self._event, *args, **options)
        return _OnEvent(self._owner, self._event)(**options)


class Listenable:
    """What anything with events has: a gallery, an element of the app's page, the page itself.
    The component provides ``name`` (unique per app, used in listener ids) and ``events`` (the
    events it has); listeners are kept on the instance.

    ``on_<event>`` decorates (bare or called) and returns the handler unchanged, so it stays
    callable and testable; ``<event>(fn, inputs, outputs, ...)`` is Gradio's spelling and returns
    the :class:`Listener` that ``cancels=`` accepts.
    """

    name: str
    #: The events this kind of component has.
    events: t.ClassVar[tuple[EventName, ...]] = ()

    @property
    def listeners(self) -> list[Listener]:
        """This component's listeners in registration order (a copy)."""
        return list(self._listener_list())

    def listener_for(self, fn: Handler) -> Listener:
        """The listener registered on this component for ``fn``, e.g. to name it in ``cancels=``."""
        found = [lst for lst in self._listener_list() if lst.fn is fn]
        if len(found) != 1:
            problem = "is not registered" if not found else "is registered for several events"
            raise LookupError(
                f"Handler {_fn_name(fn)!r} {problem} on {self.name!r}: use the Listener returned"
                f" by {self.name}.<event>(fn, ...) instead."
            )
        return found[0]

    def listen(
        self,
        event: EventName | None,
        fn: Handler | None,
        inputs: Inputs = None,
        outputs: Outputs = None,
        **options: Unpack[_ListenerArgs],
    ) -> Listener:
        """Register ``fn`` for ``event``; ``event=None`` with ``every=`` makes a periodic listener
        (how a gallery with a callable ``value`` and ``every`` refreshes itself)."""
        if event is not None and event not in self.events:
            raise ValueError(
                f"{self.name!r} has no {event!r} event: its events are "
                f"{', '.join(map(repr, self.events))}."
            )
        listener_id = f"{self.name}.{event or 'every'}.{len(self._listener_list())}"
        return self._add(make_listener(self, listener_id, event, fn, inputs, outputs, **options))

    def listen_after(
        self,
        parent: Listener,
        chain: Chain,
        fn: Handler | None,
        inputs: Inputs = None,
        outputs: Outputs = None,
        **options: Unpack[_ListenerArgs],
    ) -> Listener:
        """Register ``fn`` to run after ``parent`` (see :meth:`Listener.then`).

        :meta private:
        """
        listener_id = f"{self.name}.{chain}.{len(self._listener_list())}"
        listener = make_listener(
            self, listener_id, None, fn, inputs, outputs, chained=True, **options
        )
        self._add(listener)
        parent.chained.append((chain, listener))
        return listener

    def _add(self, listener: Listener) -> Listener:
        self._listener_list().append(listener)
        if listener.fn is not None:
            # A builtin is not weak-referenceable: cancels= then needs the Listener itself.
            with contextlib.suppress(TypeError):
                _by_fn.setdefault(listener.fn, []).append(listener)
        self._listener_added(listener)
        return listener

    def _listener_added(self, listener: Listener) -> None:
        """Called after each registration; components override it to refuse late listeners or to
        tell a running engine.

        :meta private:
        """

    def _listener_list(self) -> list[Listener]:
        try:
            return t.cast("list[Listener]", self.__dict__["_fg_listeners"])
        except KeyError:
            return t.cast("list[Listener]", self.__dict__.setdefault("_fg_listeners", []))


class ChangeEvents(Listenable):
    """``change``, which galleries and form fields both have (Gradio's ``.change``: the value
    changed, by the user or by a handler's output; ``always_last`` by default)."""

    @property
    def on_change(self) -> _OnEvent:
        """Decorate a handler for any change of the value."""
        return _OnEvent(self, "change")

    @property
    def change(self) -> _Trigger:
        """``component.change(fn, inputs, outputs, ...)``, as in Gradio."""
        return _Trigger(self, "change")


class GalleryEvents(ChangeEvents):
    """A gallery's events, as ``gr.Gallery`` has them."""

    events = GALLERY_EVENTS

    @property
    def selection(self) -> Selection:
        """The gallery's selected items as an input: ``inputs=[gallery.selection]``."""
        return Selection(self)

    @property
    def on_select(self) -> _OnEvent:
        """Decorate a handler for a click on an item (``SelectData`` has its index and value)."""
        return _OnEvent(self, "select")

    @property
    def on_upload(self) -> _OnEvent:
        """Decorate a handler for files uploaded into the gallery."""
        return _OnEvent(self, "upload")

    @property
    def on_delete(self) -> _OnEvent:
        """Decorate a handler for an item deleted by the user (``evt.index``, ``evt.file``)."""
        return _OnEvent(self, "delete")

    @property
    def on_preview_open(self) -> _OnEvent:
        """Decorate a handler for the preview opening."""
        return _OnEvent(self, "preview_open")

    @property
    def on_preview_close(self) -> _OnEvent:
        """Decorate a handler for the preview closing."""
        return _OnEvent(self, "preview_close")

    @property
    def select(self) -> _Trigger:
        """``gallery.select(fn, inputs, outputs, ...)``, as in Gradio."""
        return _Trigger(self, "select")

    @property
    def upload(self) -> _Trigger:
        """``gallery.upload(fn, inputs, outputs, ...)``, as in Gradio."""
        return _Trigger(self, "upload")

    @property
    def delete(self) -> _Trigger:
        """``gallery.delete(fn, inputs, outputs, ...)``, as in Gradio."""
        return _Trigger(self, "delete")

    @property
    def preview_open(self) -> _Trigger:
        """``gallery.preview_open(fn, inputs, outputs, ...)``, as in Gradio."""
        return _Trigger(self, "preview_open")

    @property
    def preview_close(self) -> _Trigger:
        """``gallery.preview_close(fn, inputs, outputs, ...)``, as in Gradio."""
        return _Trigger(self, "preview_close")
