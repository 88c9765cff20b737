"""``Progress``: a handler's way to report how far it got, as ``gr.Progress``.

A handler declares ``progress=Progress()`` as a parameter default; the engine then passes a fresh
tracker bound to the running submission. The default instance itself is never bound, so calling it
outside the engine (in a user's unit test, say) does nothing instead of failing.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import threading
import typing as t
from dataclasses import dataclass

T = t.TypeVar("T")

ProgressValue = float | tuple[int, int | None] | None


@dataclass(frozen=True)
class ProgressUnit:
    """One progress bar: a fraction (``progress``) or a count (``index`` of ``length``)."""

    index: int | None
    length: int | None
    unit: str
    progress: float | None
    desc: str | None

    def to_dict(self) -> dict[str, t.Any]:
        return {
            "index": self.index,
            "length": self.length,
            "unit": self.unit,
            "progress": self.progress,
            "desc": self.desc,
        }


#: Receives the current bars, or ``None`` to hide them.
ProgressCallback = t.Callable[[list[ProgressUnit] | None], None]


class Progress:
    """Report progress from a handler: ``progress(0.4, desc="Denoising")``, ``progress((3, 10))``,
    ``progress(None)`` (hide), or ``for x in progress.tqdm(items): ...``.

    .. code-block:: python

        @gallery.on_select(outputs="#out")
        def slow(evt: SelectData, progress=Progress()):
            for _ in progress.tqdm(range(10), desc="Working"):
                ...

    :param track_tqdm: also report every ``tqdm`` progress bar the handler creates (only when the
        ``tqdm`` package is installed; it is not a dependency).
    """

    def __init__(self, track_tqdm: bool = False) -> None:
        self.track_tqdm = track_tqdm
        self._callback: ProgressCallback | None = None
        # Open ``.tqdm()`` iterables, outermost first, so nested loops show as nested bars.
        self._open: list[_Tracked[t.Any]] = []

    def bind(self, callback: ProgressCallback) -> Progress:
        """A tracker with this one's settings that reports to ``callback``.

        :meta private:
        """
        bound = Progress(self.track_tqdm)
        bound._callback = callback
        return bound

    def __call__(
        self,
        progress: ProgressValue,
        desc: str | None = None,
        total: int | None = None,
        unit: str = "steps",
    ) -> ProgressValue:
        """Report a fraction in [0, 1], an ``(index, length)`` pair, or ``None`` to hide."""
        if progress is None:
            self._report(None)
            return None
        if isinstance(progress, tuple):
            index, length = progress
            unit_ = ProgressUnit(index, length if length is not None else total, unit, None, desc)
        elif isinstance(progress, (int, float)):
            unit_ = ProgressUnit(None, total, unit, float(progress), desc)
        else:
            raise TypeError(
                f"'progress' must be a float in [0, 1], an (index, length) tuple or None, got"
                f" {progress!r}."
            )
        self._report([*self._open_units(), unit_])
        return progress

    def tqdm(
        self,
        iterable: t.Iterable[T],
        desc: str | None = None,
        total: int | None = None,
        unit: str = "steps",
    ) -> t.Iterable[T]:
        """Wrap ``iterable`` so each step is reported, as ``tqdm(iterable)`` would show it."""
        if total is None and isinstance(iterable, t.Sized):
            total = len(iterable)
        return _Tracked(self, iterable, desc, total, unit)

    def _open_units(self) -> list[ProgressUnit]:
        return [it.unit() for it in self._open]

    def _report(self, units: list[ProgressUnit] | None) -> None:
        if self._callback is not None:
            self._callback(units)


class _Tracked(t.Generic[T]):
    def __init__(
        self,
        owner: Progress,
        iterable: t.Iterable[T],
        desc: str | None,
        total: int | None,
        unit: str,
    ) -> None:
        self._owner = owner
        self._iterable = iterable
        self._desc = desc
        self._total = total
        self._unit = unit
        self._index = 0

    def unit(self) -> ProgressUnit:
        return ProgressUnit(self._index, self._total, self._unit, None, self._desc)

    def __iter__(self) -> t.Iterator[T]:
        owner = self._owner
        owner._open.append(self)
        try:
            owner._report(owner._open_units())
            for item in self._iterable:
                yield item
                self._index += 1
                owner._report(owner._open_units())
        finally:
            owner._open.remove(self)


# --- track_tqdm --------------------------------------------------------------------------------
# tqdm is patched once per process and reports to the tracker of the run in the current context, so
# bars created by handlers running in other threads go to their own submitters.

_tqdm_target: contextvars.ContextVar[Progress | None] = contextvars.ContextVar(
    "flask_gallery_tqdm_target", default=None
)
_patch_lock = threading.Lock()
_patched = False


def _install_tqdm_patch() -> bool:
    global _patched
    with _patch_lock:
        if _patched:
            return True
        try:
            std = importlib.import_module("tqdm.std")
        except ImportError:
            return False
        cls = std.tqdm
        original_init = cls.__init__
        original_update = cls.update
        original_close = cls.close

        def report(bar: t.Any) -> None:
            target = _tqdm_target.get()
            if target is not None and not getattr(bar, "disable", False):
                target((int(bar.n), bar.total), desc=bar.desc or None, unit=bar.unit)

        def __init__(self: t.Any, *args: t.Any, **kwargs: t.Any) -> None:
            original_init(self, *args, **kwargs)
            report(self)

        def update(self: t.Any, n: float | None = 1) -> t.Any:
            result = original_update(self, n)
            report(self)
            return result

        def close(self: t.Any) -> None:
            if not getattr(self, "disable", True):
                report(self)
            original_close(self)

        cls.__init__ = __init__
        cls.update = update
        cls.close = close
        _patched = True
        return True


@contextlib.contextmanager
def tracking_tqdm(progress: Progress | None) -> t.Iterator[None]:
    """Send the current context's tqdm bars to ``progress`` when it asked for ``track_tqdm``.

    :meta private:
    """
    if progress is None or not progress.track_tqdm or not _install_tqdm_patch():
        yield
        return
    token = _tqdm_target.set(progress)
    try:
        yield
    finally:
        _tqdm_target.reset(token)
