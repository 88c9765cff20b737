"""Listener registration: decorators, Gradio's spelling, defaults, validation, injection."""

from __future__ import annotations

import typing as t

import pytest

from flask_gallery.events import (
    GALLERY_EVENTS,
    EventData,
    GalleryEvents,
    HandlerSpec,
    Listener,
    SelectData,
)
from flask_gallery.progress import Progress
from flask_gallery.request import Request


class Comp(GalleryEvents):
    def __init__(self, name: str = "g") -> None:
        self.name = name


def show(evt: SelectData) -> str:
    return f"picked {evt.index}"


def test_bare_and_called_decorators_return_the_function_unchanged() -> None:
    g = Comp()
    assert g.on_select(show) is show

    @g.on_change(outputs="#details", trigger_mode="multiple")
    def changed() -> str:
        return "changed"

    assert changed() == "changed"
    first, second = g.listeners
    assert (first.event, first.fn, first.id) == ("select", show, "g.select.0")
    assert (second.event, second.outputs, second.trigger_mode) == (
        "change",
        ("#details",),
        "multiple",
    )
    assert g.listener_for(changed) is second


@pytest.mark.parametrize("event", GALLERY_EVENTS)
def test_every_event_has_a_decorator_and_a_gradio_method(event: str) -> None:
    g = Comp()
    getattr(g, f"on_{event}")(show)
    listener = getattr(g, event)(show, None, "#out")
    assert isinstance(listener, Listener)
    decorated = getattr(g, event)(outputs="#x")(show)
    assert decorated is show
    assert [lst.event for lst in g.listeners] == [event] * 3


def test_gradio_defaults() -> None:
    g = Comp()
    select = g.select(show)
    change = g.change(lambda: None)
    assert (select.trigger_mode, change.trigger_mode) == ("once", "always_last")
    assert select.show_progress == "full"
    assert (select.queue, select.batch, select.max_batch_size) == (True, False, 4)
    assert (select.preprocess, select.postprocess, select.scroll_to_output) == (True, True, False)
    assert (select.concurrency_limit, select.concurrency_id, select.every) == (
        "default",
        None,
        None,
    )
    assert (select.api_name, change.api_name, select.api_visibility) == ("show", "lambda", "public")
    assert select.cancels == () and select.js is None


def test_inputs_outputs_and_boolean_show_progress_are_normalised() -> None:
    g, other = Comp("g"), Comp("other")
    listener = g.select(
        lambda a, b: None, inputs=[other, "caption"], outputs=other, show_progress=False
    )
    assert listener.inputs == (other, "caption")
    assert listener.outputs == (other,)
    assert listener.show_progress == "hidden"
    assert g.select(show, show_progress=True).show_progress == "full"


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"trigger_mode": "sometimes"}, ValueError, "'trigger_mode' must be one of 'once'"),
        ({"show_progress": "loud"}, ValueError, "'show_progress' must be one of 'full'"),
        ({"outputs": "details"}, ValueError, "write it as '#element-id'"),
        ({"outputs": 3}, TypeError, "'outputs' must be a gallery, a str or a list"),
        ({"inputs": {"a"}}, TypeError, "Pass a list instead of a set"),
        ({"concurrency_limit": 0}, ValueError, "'concurrency_limit' must be an int >= 1"),
        ({"max_batch_size": 0}, ValueError, "'max_batch_size' must be an int >= 1, got 0"),
        ({"every": -1}, ValueError, "'every' must be a number of seconds > 0"),
        ({"queue": "yes"}, TypeError, "'queue' must be True or False, got 'yes'"),
        ({"show_api": False, "api_visibility": "public"}, ValueError, "conflicts"),
        ({"api_visibility": "secret"}, ValueError, "'api_visibility' must be one of"),
        ({"batch": True, "queue": False}, ValueError, "needs queue=True"),
        ({"js": 3}, TypeError, "'js' must be JavaScript source"),
        ({"cancels": ["x"]}, TypeError, "'cancels' item 'x' is not a listener"),
        ({"api_name": ""}, TypeError, "'api_name' must be a non-empty str"),
    ],
)
def test_bad_arguments_name_the_parameter_and_the_fix(
    options: dict[str, t.Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=_escape(message)):
        Comp().select(show, **options)


def _escape(text: str) -> str:
    import re

    return re.escape(text)


def test_api_visibility_and_show_api() -> None:
    g = Comp()
    assert g.select(show, show_api=False).api_visibility == "undocumented"
    assert g.select(show, api_visibility="private").show_api is False
    hidden = g.select(show, api_name=False)
    assert (hidden.api_name, hidden.api_visibility) == ("false", "private")


def test_only_an_argument_the_app_wrote_opens_a_listener_to_the_api() -> None:
    """Gradio's defaults make every listener public; with the API off (GALLERY_API) only what
    the app asked for itself becomes an endpoint."""
    g = Comp()
    assert g.select(show).api_opened is False
    assert g.select(show, api_name="named").api_opened is False
    assert g.select(show, show_api=True).api_opened is True
    assert g.select(show, api_visibility="public").api_opened is True
    assert g.select(show, api_visibility="undocumented").api_opened is False
    assert g.select(show, show_api=True, api_name=False).api_opened is False
    with pytest.raises(TypeError, match="'show_api' must be True or False, got 'yes'"):
        g.select(show, show_api="yes")  # type: ignore[arg-type]


def test_batch_generators_and_arity_are_refused_at_registration() -> None:
    def gen(xs: list[int]) -> t.Iterator[list[int]]:
        yield xs

    with pytest.raises(ValueError, match="generators are not supported in batch mode"):
        Comp().select(gen, inputs="x", batch=True)
    with pytest.raises(ValueError, match=r"takes 1 input value\(s\) but the listener has 2"):
        Comp().select(lambda x: x, inputs=["a", "b"])
    with pytest.raises(ValueError, match=r"takes 2 input value\(s\) but the listener has 0"):
        Comp().select(lambda a, b: a)
    with pytest.raises(ValueError, match="needs 'every'"):
        Comp().listen(None, lambda: None)


def test_cancels_accepts_listeners_and_decorated_handlers() -> None:
    g = Comp()
    work = g.select(show)

    @g.on_upload
    def uploaded() -> None:
        return None

    stop = g.change(None, cancels=[work, uploaded])
    assert stop.cancels == (work, g.listener_for(uploaded))
    no_queue = g.delete(lambda: None, queue=False)
    with pytest.raises(ValueError, match="cannot be cancelled"):
        g.change(None, cancels=no_queue)


def test_listener_for_unknown_or_ambiguous_handlers() -> None:
    g = Comp()
    with pytest.raises(LookupError, match="is not registered on 'g'"):
        g.listener_for(show)
    g.on_select(show)
    g.on_change(show)
    with pytest.raises(LookupError, match="several events"):
        g.listener_for(show)


def test_event_data_exposes_raw_keys_and_select_data_has_gradios_fields() -> None:
    g = Comp()
    delete = EventData(g, {"index": 2, "file": {"url": "/m/1"}})
    assert (delete.target, delete.index, delete.file) == (g, 2, {"url": "/m/1"})
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        _ = delete.missing
    sel = SelectData(g, {"index": 1, "value": {"caption": "cat"}})
    assert (sel.index, sel.value, sel.selected) == (1, {"caption": "cat"}, True)
    assert (sel.row_value, sel.col_value) == (None, None)
    assert show(sel) == "picked 1"  # handlers are testable without the engine


def test_handler_spec_places_special_arguments() -> None:
    def handler(
        a: int,
        evt: SelectData,
        b: int,
        request: Request,
        p: Progress = Progress(),
        c: int = 3,
    ) -> None:
        return None

    spec = HandlerSpec(handler)
    assert (spec.input_slots, spec.required_inputs) == (3, 2)
    event = SelectData(None, {"index": 0})
    req = Request()
    args, kwargs = spec.call_args([1, 2], event, None, req)
    assert args == [1, event, 2, req, None] and kwargs == {}
    args, kwargs = spec.call_args([1, 2, 9], event, None, req)
    assert args == [1, event, 2, req, None, 9]


def test_string_annotations_are_recognised() -> None:
    namespace: dict[str, t.Any] = {}
    exec(  # a module with postponed annotations naming types it never imported
        "from __future__ import annotations\n"
        "def handler(x, evt: flask_gallery.SelectData, r: 'Request'):\n"
        "    return x\n",
        namespace,
    )
    spec = HandlerSpec(namespace["handler"])
    assert [role for _n, role, _p, _e in spec.params] == ["input", "event", "request"]
    assert spec.event_class() is SelectData


def test_listener_added_hook_and_the_every_listener() -> None:
    added: list[Listener] = []

    class Watching(Comp):
        def _listener_added(self, listener: Listener) -> None:
            added.append(listener)

    g = Watching()
    periodic = g.listen(None, lambda: [], every=2, outputs=[g], show_progress="hidden")
    assert added == [periodic]
    assert (periodic.id, periodic.every, periodic.trigger_mode) == ("g.every.0", 2.0, "once")


def test_the_engine_modules_do_not_import_flask() -> None:
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "flask_gallery"
    files = [package / "events.py", package / "progress.py", package / "notify.py"]
    files += sorted((package / "queue").glob("*.py"))
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n == "flask" or n.startswith(("flask.", "werkzeug")) for n in names), (
                f"{path.name} imports {names}: the engine must stay free of Flask"
            )
