"""Running one submission (or one batch) in the current worker thread.

This is the part every backend shares: the request context around the run, the special
arguments, sync/async/generator handlers, batches, pre- and postprocess hooks, and turning an
exception into what the user may see. Scheduling decisions live in the backend; the runner reports
the terminal outcome back to it instead of sending it, so the backend can end the job and update
its bookkeeping in one step.
"""

from __future__ import annotations

import contextlib
import logging
import traceback
import typing as t
from dataclasses import dataclass

from ..events import Listener
from ..notify import Error, Notification, notifier
from ..progress import Progress, ProgressUnit, tracking_tqdm
from .aio import Interrupt, thread_loop
from .jobs import Job, message
from .messages import Message

if t.TYPE_CHECKING:
    from .backend import EngineConfig

_log = logging.getLogger("flask_gallery.queue")

#: Given the job about to run, a context manager to run it in (the app and request context).
RunContext = t.Callable[[Job], t.ContextManager[t.Any]]


class Sink(t.Protocol):
    """Where a run sends what is not its outcome."""

    def emit(self, job: Job, msg: Message) -> None:
        """Send a message about a job unless the job has already ended."""

    def progress(self, job: Job, units: list[ProgressUnit] | None) -> None:
        """Report progress (the sink throttles)."""


@dataclass(frozen=True)
class Outcome:
    type: t.Literal["done", "failed", "cancelled"]
    fields: dict[str, t.Any]


class Runner:
    def __init__(self, sink: Sink, config: EngineConfig) -> None:
        self._sink = sink
        self._run_context = config.run_context
        self._debug = config.debug
        self._pre = config.preprocess
        self._post = config.postprocess

    def run(self, jobs: list[Job], interrupt: Interrupt | None = None) -> list[Outcome]:
        """Run ``jobs`` (several only for a batch listener) and return one outcome per job.

        :param interrupt: how a timeout stops the run: what an async handler awaits is
            cancelled; whatever the run then raises is no failure worth logging."""
        listener = jobs[0].listener
        interrupt = interrupt or Interrupt()
        try:
            with contextlib.ExitStack() as stack:
                if self._run_context is not None:
                    stack.enter_context(self._run_context(jobs[0]))
                stack.enter_context(notifier(lambda note: self._notify(jobs, note)))
                return self._call(listener, jobs, stack, interrupt)
        except BaseException as exc:  # a handler's sys.exit() must not end the worker either
            if interrupt.requested:
                return [Outcome("cancelled", {"reason": "timeout"}) for _ in jobs]
            fields = self.failure(listener, exc)
            return [Outcome("failed", fields) for _ in jobs]

    def _call(
        self,
        listener: Listener,
        jobs: list[Job],
        stack: contextlib.ExitStack,
        interrupt: Interrupt,
    ) -> list[Outcome]:
        fn = listener.fn
        spec = listener.spec
        assert fn is not None and spec is not None, "listeners without fn never reach a worker"
        progress: Progress | None = None
        default = spec.progress_default()
        if default is not None:
            progress = default.bind(lambda units: self._progress(jobs, units))
            stack.enter_context(tracking_tqdm(progress))
        inputs = [self._preprocess(job) for job in jobs]
        first = jobs[0]
        event_cls = spec.event_class()
        event = None
        if event_cls is not None:
            data = first.event_data if first.event_data is not None else {}
            event = event_cls(listener.target, data)
        if listener.batch:
            if len({len(values) for values in inputs}) > 1:
                raise ValueError("All inputs to a batch function must have the same length.")
            columns = [list(column) for column in zip(*inputs, strict=True)]
            args, kwargs = spec.call_args(columns, event, progress, first.request)
            result = fn(*args, **kwargs)
            if spec.is_async:
                result = interrupt.run(result)
            return self._split(listener, jobs, result)
        args, kwargs = spec.call_args(inputs[0], event, progress, first.request)
        if spec.is_generator:
            return [self._stream(first, fn(*args, **kwargs), spec.is_async, interrupt)]
        result = fn(*args, **kwargs)
        if spec.is_async:
            result = interrupt.run(result)
        return [Outcome("done", {"value": self._postprocess(first, result)})]

    def _stream(self, job: Job, gen: t.Any, is_async: bool, interrupt: Interrupt) -> Outcome:
        last: t.Any = None
        count = 0
        try:
            while not job.cancelled:
                if is_async:
                    try:
                        value = interrupt.run(gen.__anext__())
                    except StopAsyncIteration:
                        break
                else:
                    try:
                        value = next(gen)
                    except StopIteration:
                        break
                if job.cancelled:
                    break
                last = self._postprocess(job, value)
                self._sink.emit(job, message("output", job, value=last, index=count))
                count += 1
        finally:
            if is_async:
                thread_loop().run_until_complete(gen.aclose())
            else:
                gen.close()
        if job.cancelled:
            return Outcome("cancelled", {"reason": "cancelled"})
        return Outcome("done", {"value": last, "outputs": count})

    def _split(self, listener: Listener, jobs: list[Job], result: t.Any) -> list[Outcome]:
        size = len(jobs)
        n_out = max(len(listener.outputs), 1)
        shape_error = TypeError(
            f"Batch handler {listener.name!r} must return one list per output, each with one"
            f" value per submission ({n_out} list(s) of {size}), e.g. 'return [results]' for one"
            f" output; got {result!r:.200}."
        )
        if not isinstance(result, (list, tuple)) or len(result) != n_out:
            raise shape_error
        for column in result:
            if not isinstance(column, (list, tuple)) or len(column) != size:
                raise shape_error
        outcomes = []
        for i, job in enumerate(jobs):
            value = result[0][i] if n_out == 1 else tuple(column[i] for column in result)
            outcomes.append(Outcome("done", {"value": self._postprocess(job, value)}))
        return outcomes

    def _preprocess(self, job: Job) -> list[t.Any]:
        return list(job.inputs) if self._pre is None else self._pre(list(job.inputs), job)

    def _postprocess(self, job: Job, value: t.Any) -> t.Any:
        return value if self._post is None else self._post(value, job)

    def _progress(self, jobs: list[Job], units: list[ProgressUnit] | None) -> None:
        for job in jobs:
            self._sink.progress(job, units)

    def _notify(self, jobs: list[Job], note: Notification) -> None:
        for job in jobs:
            self._sink.emit(
                job,
                message(
                    "notify",
                    job,
                    level=note.level,
                    message=note.message,
                    title=note.title,
                    duration=note.duration,
                    visible=note.visible,
                ),
            )

    def failure(self, listener: Listener, exc: BaseException) -> dict[str, t.Any]:
        """The ``failed`` message's fields: an :class:`Error`'s own message, else a generic one
        (the traceback only in debug mode), logging the unexpected exception."""
        if isinstance(exc, Error):
            return {
                "error": exc.message,
                "title": exc.title,
                "duration": exc.duration,
                "visible": exc.visible,
                "traceback": None,
            }
        _log.error("Handler %s (%s) failed", listener.name, listener.id, exc_info=exc)
        return {
            "error": f"An error occurred in {listener.name}.",
            "title": "Error",
            "duration": 10,
            "visible": True,
            "traceback": "".join(traceback.format_exception(exc)) if self._debug else None,
        }
