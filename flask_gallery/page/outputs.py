"""Between the page and the engine: user actions become submissions, and handler results become
page updates.

The web layer's actions call :func:`fire` with the events a click fired. Each app's engine runs
two hooks around every handler (the app passes them, bound to its state, when it starts its
engine): :func:`preprocess_inputs` turns the gallery values gathered at submit time into what
the handler's ``type`` asks for, and :func:`apply_outputs` writes the results into the page
state (a gallery output replaces its value and fires its ``change``) and renders the HTML the
page receives. Both run in the app and request context the engine rebuilds for the run, so
``url_for`` and ``render_template`` work there.
"""

from __future__ import annotations

import logging
import typing as t

from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException

from ..component import Gallery, is_skip
from ..events import Listenable, Listener, Selection
from ..notify import Error
from ..request import Request, snapshot
from ..state import State
from . import interactions
from .context import PageApp, TooManyItems, page_app
from .draw import redraw_update, selected_indices
from .element_media import media_html, media_wire, output_media
from .fragments import partial
from .wire import describe, items_from_wire, loads, with_paths

if t.TYPE_CHECKING:
    from ..queue.jobs import Job
    from .state import PageState


_log = logging.getLogger(__name__)

#: The form field prefix gallery.js sends a listener's ``js`` result in.
JS_FIELD = "_fg_js:"


def collect_inputs(listener: Listener, page: PageState, form: t.Mapping[str, str]) -> list[t.Any]:
    """The listener's input values as they are now: a gallery's items on this page, or a form
    field of the page (sent along with the request). A listener's ``js`` ran in the browser
    before the request; what it returned replaces the inputs (gallery values must still name
    this app's media: the browser cannot smuggle in anything else). A ``State`` is read when
    the run starts (:func:`preprocess_inputs`), so a queued run sees what the runs before it
    wrote."""
    from_js = _js_inputs(listener, form)
    if from_js is not None:
        return from_js
    values: list[t.Any] = []
    for source in listener.inputs:
        if isinstance(source, Gallery):
            state = page.galleries.get(source.name)
            values.append(list(state.items) if state is not None else [])
        elif isinstance(source, Selection):
            values.append(_selected_items(source, page))
        elif isinstance(source, State):
            values.append(None)
        else:
            values.append(form.get(str(source)))
    return values


def _selected_items(source: Selection, page: PageState) -> list[t.Any]:
    """The items of ``gallery.selection`` on this page, in order."""
    state = page.galleries.get(source.name)
    if state is None:
        return []
    indices = selected_indices(t.cast(Gallery, source.gallery), state)
    return [state.items[i] for i in indices if i < len(state.items)]


def _js_inputs(listener: Listener, form: t.Mapping[str, str]) -> list[t.Any] | None:
    raw = form.get(f"{JS_FIELD}{listener.id}") if listener.js else None
    if raw is None:
        return None
    try:
        values = loads(raw)
        if not isinstance(values, list) or len(values) != len(listener.inputs):
            raise ValueError(f"expected a list of {len(listener.inputs)} value(s)")
        state = page_app()
        return [
            items_from_wire(state, value, f"js result {n}")
            if isinstance(source, (Gallery, Selection))
            else value
            for n, (source, value) in enumerate(zip(listener.inputs, values, strict=True))
        ]
    except (ValueError, HTTPException) as exc:
        _log.warning("Ignoring the js result of %s: %s", listener.name, exc)
        return None


def fire(
    state: PageApp,
    source: Listenable,
    page: PageState,
    fired: interactions.Fired,
    form: t.Mapping[str, str],
    request: Request | None = None,
    where: t.Callable[[Listener], bool] | None = None,
) -> list[str]:
    """Submit every listener of ``source`` (a gallery, an element, the page) for each fired
    event, in order (only those ``where`` accepts, with it); the ids of the submitted jobs
    (each ends with one terminal message on the page's channel)."""
    jobs: list[str] = []
    for event, data in fired:
        for listener in source.listeners:
            if listener.event != event or (where is not None and not where(listener)):
                continue
            if request is None:
                request = snapshot(page.token)
            submission = state.engine().submit(
                listener,
                page.token,
                collect_inputs(listener, page, form),
                data,
                request,
                session=page.session_id,
                client=request.remote_addr,
            )
            jobs.append(submission.job_id)
    return jobs


def fire_load(state: PageApp, seen: PageState, request: Request | None) -> list[str]:
    """The page connected (its socket, or its first poll): run its ``load`` listeners, once
    per page (Gradio's ``demo.load``). ``seen`` is the page as the caller read it.

    Gradio's app is one page; a Flask app has many, so a listener whose outputs name galleries
    runs only on the pages that show one of them (a load that fills the search page's gallery
    does not run for every other page); one with only ``"#id"`` outputs, or none, runs on
    every connected page."""
    source = state.registry.page
    # Decided on the page as read, before its lock is taken: most pages of an app have no load
    # of their own, and their socket then costs no page write.
    if seen.loaded or not any(_on_page(seen)(lst) for lst in source.listeners):
        return []
    with state.pages.edit(seen.token) as page:
        if page is None or page.loaded:
            return []
        page.loaded = True
    return fire(state, source, page, [("load", None)], {}, request, _on_page(page))


def _on_page(page: PageState) -> t.Callable[[Listener], bool]:
    def shown(listener: Listener) -> bool:
        galleries = [item.name for item in listener.outputs if isinstance(item, Gallery)]
        return not galleries or any(name in page.galleries for name in galleries)

    return shown


#: The terminal types after which each kind of chained listener runs (Gradio's documentation:
#: ``then`` whatever happened, error included; ``success`` only without an error). A cancelled or
#: rejected job did not run: nothing follows it.
_CHAIN_AFTER = {"then": frozenset({"done", "failed"}), "success": frozenset({"done"})}


def after_job(state: PageApp, job: Job, terminal: str) -> None:
    """The engine's ``on_end`` hook: submit the listeners chained after ``job``'s listener
    (``.then``, ``.success``) for its page, with their inputs as the page holds them now. A JSON
    API call runs its endpoint alone."""
    if job.caller != "page" or not job.listener.chained:
        return
    page = state.pages.peek(job.page)
    if page is None:  # the page is gone: nothing to show their results on
        return
    for chain, listener in job.listener.chained:
        if terminal in _CHAIN_AFTER[chain]:
            state.engine().submit(
                listener,
                page.token,
                collect_inputs(listener, page, {}),
                None,
                job.request,
                session=page.session_id,
                client=job.client,
            )


def preprocess_inputs(state: PageApp, values: list[t.Any], job: Job) -> list[t.Any]:
    """Gallery inputs become a list of ``(media, caption)`` in the gallery's ``type`` (or
    ``None`` when empty, as Gradio); with ``preprocess=False``, Gradio's wire dicts."""
    store = state.media
    if len(values) != len(job.listener.inputs):
        # A periodic run (``every``) is submitted by the engine's clock, not by a request: its
        # inputs are the page's values as they are now.
        page = state.pages.peek(job.page)
        values = collect_inputs(job.listener, page, {}) if page is not None else []
        if len(values) != len(job.listener.inputs):
            return [None] * len(job.listener.inputs)
    if job.event_data is not None:
        job.event_data = with_paths(state, job.event_data)
    states = _states(state, job)
    result: list[t.Any] = []
    for source, value in zip(job.listener.inputs, values, strict=True):
        if isinstance(source, State):
            result.append(states[source.name])
        elif not isinstance(source, (Gallery, Selection)):
            result.append(value)
        elif not job.listener.preprocess:
            result.append(with_paths(state, [describe(item) for item in value]))
        else:
            gallery = source.gallery if isinstance(source, Selection) else source
            result.append(store.preprocess(value, t.cast(Gallery, gallery).props.type))
    return result


def _states(state: PageApp, job: Job) -> dict[str, t.Any]:
    """The page's values of the job's ``State`` inputs as they are now, each made from its
    default at first use; a JSON API call (no page) gets fresh defaults."""
    wanted = [source for source in job.listener.inputs if isinstance(source, State)]
    if not wanted:
        return {}
    if job.caller == "api":
        return {source.name: source.initial() for source in wanted}
    with state.pages.edit(job.page, touch=False) as page:
        if page is None:
            return {source.name: source.initial() for source in wanted}
        for source in wanted:
            if source.name not in page.states:
                page.states[source.name] = source.initial()
        return {source.name: page.states[source.name] for source in wanted}


def _values_per_output(listener: Listener, value: t.Any) -> tuple[t.Any, ...]:
    count = len(listener.outputs)
    if count == 1 or is_skip(value):
        return (value,) * count
    if not isinstance(value, (tuple, list)) or len(value) != count:
        raise TypeError(
            f"Handler {listener.name!r} has {count} outputs and must return a tuple of {count} "
            f"values, one per output in order; it returned {value!r:.200}."
        )
    return tuple(value)


def apply_outputs(state: PageApp, value: t.Any, job: Job) -> dict[str, t.Any] | None:
    """Write a result into the page and render what the page must show (see module doc).

    A gallery output over ``GALLERY_MAX_ITEMS`` fails the run with a message naming the
    setting (any other exception here shows the user only a generic message)."""
    try:
        return _apply_outputs(state, value, job)
    except TooManyItems as exc:
        raise Error(str(exc)) from exc


def _apply_outputs(state: PageApp, value: t.Any, job: Job) -> dict[str, t.Any] | None:
    from ..component import GalleryUpdate

    listener = job.listener
    if job.cancelled or not listener.outputs:
        return {"html": "", "data": []}
    if job.caller == "api":  # Gradio's wire form, no page to update; a State stays out
        return {
            "data": [
                _wire(state, target, output)
                for target, output in zip(
                    listener.outputs, _values_per_output(listener, value), strict=True
                )
                if not isinstance(target, State)
            ]
        }
    values = _values_per_output(listener, value)
    if all(isinstance(target, str) for target in listener.outputs):
        # Only page elements: no page state changes, so the page's lock is not taken and the
        # page's own requests never wait for a handler's result.
        return {
            "html": "".join(
                _element(state, str(target), out)
                for target, out in zip(listener.outputs, values, strict=True)
                if not is_skip(out)
            )
        }
    parts: list[str] = []
    changed: list[tuple[Gallery, interactions.Fired]] = []
    with state.pages.edit(job.page, touch=False) as page:  # not the page's own activity
        if page is None:  # the page expired meanwhile: nothing to show it on
            return None
        for target, output in zip(listener.outputs, values, strict=True):
            if is_skip(output):
                continue
            if isinstance(target, str):
                parts.append(_element(state, target, output))
                continue
            if isinstance(target, State):
                page.states[target.name] = output
                continue
            gallery = t.cast("Gallery", target)
            gallery_state = page.galleries.get(gallery.name)
            if gallery_state is None:
                continue
            if isinstance(output, GalleryUpdate):
                fired = interactions.apply_update(output, gallery_state, state.convert)
            else:
                fired = interactions.set_value(gallery_state, state.convert(gallery, output))
            changed.append((gallery, fired))
            parts.append(redraw_update(state, gallery, gallery_state, page.token))
    for gallery, fired in changed:
        fire(state, gallery, page, fired, {}, job.request)
    return {"html": "".join(parts)}


def _element(state: PageApp, target: str, output: t.Any) -> Markup:
    """An ``"#id"`` output: an image or a video (:mod:`.element_media` says which values are)
    is shown from the media store, ``None`` empties it, ``Markup`` is trusted HTML, and
    anything else is escaped text."""
    item = output_media(state, target, output)
    if item is not None:
        content = media_html(item)
    else:
        content = output if isinstance(output, Markup) else escape("" if output is None else output)
    return partial(target, "innerHTML", content)


def _wire(state: PageApp, target: t.Any, output: t.Any) -> t.Any:
    if is_skip(output):
        return {"__type__": "update"}  # Gradio's wire form of gr.skip()
    if isinstance(target, str):
        item = output_media(state, target, output)
        if item is not None:
            return media_wire(item)
        return None if output is None else str(output)
    return [describe(item) for item in state.convert(t.cast("Gallery", target), output)]
