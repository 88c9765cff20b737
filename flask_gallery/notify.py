"""Messages a handler sends to the user: ``Error`` stops it, ``Warning``, ``Info`` and
``Success`` let it go on.

They mirror ``gr.Error``, ``gr.Warning``, ``gr.Info`` and ``gr.Success`` so Gradio handler code
ports unchanged.
The engine installs a notifier for the duration of each run (a context variable, so concurrent
handlers in other threads never see each other's), which is why ``Warning`` and ``Info`` need no
argument naming the page: they reach the page whose event is being handled.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import typing as t

NotifyLevel = t.Literal["info", "warning", "success"]


class Notification(t.NamedTuple):
    """One ``Warning``/``Info`` call, as handed to the engine's notifier."""

    level: NotifyLevel
    message: str
    title: str
    duration: float | None
    visible: bool


Notifier = t.Callable[[Notification], None]

_log = logging.getLogger("flask_gallery")
_notifier: contextvars.ContextVar[Notifier | None] = contextvars.ContextVar(
    "flask_gallery_notifier", default=None
)


class Error(Exception):
    """Raise inside a handler to stop it and show ``message`` to the user.

    Any other exception shows only a generic message (its text may leak internals); raising this
    one is how a handler says "this text is meant for the user".

    :param message: shown to the user as is.
    :param title: the notification's title.
    :param duration: accepted as Gradio's; an error's toast stays until the user closes it.
    :param visible: ``False`` reports the failure without showing a notification.
    """

    def __init__(
        self,
        message: str = "Error raised.",
        *,
        title: str = "Error",
        duration: float | None = 10,
        visible: bool = True,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.title = title
        self.duration = duration
        self.visible = visible


def _notify(
    level: NotifyLevel, message: str, title: str, duration: float | None, visible: bool
) -> None:
    notifier = _notifier.get()
    if notifier is None:
        # Outside a handler there is no page to tell; logging keeps the message visible to
        # developers without turning a helper call into a crash.
        _log.log(logging.WARNING if level == "warning" else logging.INFO, "%s", message)
        return
    notifier(Notification(level, message, title, duration, visible))


def Warning(  # named as gr.Warning so ported handlers keep working
    message: str = "Warning issued.",
    *,
    title: str = "Warning",
    duration: float | None = 10,
    visible: bool = True,
) -> None:
    """Show a warning to the user whose event is being handled, and carry on."""
    _notify("warning", message, title, duration, visible)


def Info(
    message: str = "Info issued.",
    *,
    title: str = "Info",
    duration: float | None = 10,
    visible: bool = True,
) -> None:
    """Show an informational message to the user whose event is being handled, and carry on."""
    _notify("info", message, title, duration, visible)


def Success(
    message: str = "Success.",
    *,
    title: str = "Success",
    duration: float | None = 10,
    visible: bool = True,
) -> None:
    """Tell the user whose event is being handled that something worked, and carry on."""
    _notify("success", message, title, duration, visible)


@contextlib.contextmanager
def notifier(callback: Notifier) -> t.Iterator[None]:
    """Route ``Warning``/``Info`` calls made in this context to ``callback``.

    :meta private:
    """
    token = _notifier.set(callback)
    try:
        yield
    finally:
        _notifier.reset(token)
