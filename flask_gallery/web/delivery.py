"""Engine messages as HTML for the page: what the WebSocket relay and the polling fallback send.

Every message becomes zero or more ``<hx-partial>`` updates: results replace their outputs
(rendered in the worker by :mod:`..page.outputs`), queue position, ETA and progress show as an
overlay on each output (``show_progress="full"``), a small badge (``"minimal"``) or nothing
(``"hidden"``), never by replacing an output's content, and errors, notifications and refusals
are toasts in the page's one toast region (Gradio's), whatever element the listener is on. A
``link`` message (the server lost its queue, or has it back: the Redis mode) shows or removes one
toast saying so.
"""

from __future__ import annotations

import typing as t

from markupsafe import Markup

from ..events import Listenable, Listener
from ..page.fragments import DEFAULT_DURATION, partial, tell, toast
from ..queue import EventEngine
from ..queue.messages import STATUS, TERMINAL, Message


def _targets(listener: Listener, dom_id: t.Callable[[t.Any], str]) -> list[str]:
    """CSS selectors of the elements a listener's status is drawn on: its outputs."""
    return [
        item if isinstance(item, str) else f"#{dom_id(item)}"
        for item in listener.outputs
        if isinstance(item, (str, Listenable))
    ]


def _status_text(msg: Message) -> str:
    kind = msg["type"]
    if kind == "estimation":
        text = f"queue: {msg.get('rank', 0) + 1}/{msg.get('queue_size', 1)}"
        eta = msg.get("eta")
        return f"{text} | {eta:.1f}s" if isinstance(eta, (int, float)) else text
    if kind == "progress":
        parts = []
        for unit in msg.get("progress") or []:
            if unit.get("length"):
                parts.append(f"{unit.get('index', 0)}/{unit['length']} {unit.get('unit', '')}")
            if unit.get("desc"):
                parts.append(str(unit["desc"]))
        return " | ".join(parts) or "processing"
    eta = msg.get("eta")
    return f"processing | {eta:.1f}s" if isinstance(eta, (int, float)) else "processing"


def _fraction(msg: Message) -> float | None:
    for unit in msg.get("progress") or []:
        value = unit.get("progress")
        if isinstance(value, (int, float)):
            return max(0.0, min(1.0, float(value)))
        length = unit.get("length")
        if length:
            return max(0.0, min(1.0, float(unit.get("index") or 0) / float(length)))
    return None


def _overlay(job: str, n: int, mode: str, msg: Message) -> Markup:
    fraction = _fraction(msg)
    bar = (
        Markup('<span class="fg-progress"><span style="width: {:.1f}%"></span></span>').format(
            fraction * 100
        )
        if fraction is not None and mode == "full"
        else Markup("")
    )
    return Markup(
        '<div class="fg-status fg-status-{mode}" id="fg-status-{job}-{n}" role="status">'
        '<span class="fg-status-text">{text}</span>{bar}</div>'
    ).format(mode=mode, job=job, n=n, text=_status_text(msg), bar=bar)


def coalesce(messages: t.Sequence[Message]) -> list[Message]:
    """Messages that are swapped in together (a poll's answer) as one consistent update.

    htmx finds every ``<hx-partial>`` target of one swap before it swaps any, so an overlay
    drawn by one message cannot be removed by a later one of the same answer. Keep only the last
    status of a job still running and none of a job that ended; everything else stays, in order.
    """
    ended = {m["job"] for m in messages if m["type"] in TERMINAL}
    last_status = {m["job"]: i for i, m in enumerate(messages) if m["type"] in STATUS}
    return [
        m
        for i, m in enumerate(messages)
        if m["type"] not in STATUS or (m["job"] not in ended and last_status[m["job"]] == i)
    ]


#: Seconds a job's queue/progress status is held back: a job that ends sooner shows none, so a
#: quick handler costs the page one update instead of three (and shows no flicker).
STATUS_GRACE = 0.05


class StatusHold:
    """Holds the status messages of each job for :data:`STATUS_GRACE` seconds, for one
    connection; :meth:`feed` returns what to send now, :meth:`due` what is due by time."""

    def __init__(self, clock: t.Callable[[], float], grace: float = STATUS_GRACE) -> None:
        self._clock = clock
        self._grace = grace
        self._held: dict[str, tuple[float, Message]] = {}
        self._shown: set[str] = set()

    def feed(self, messages: t.Iterable[Message]) -> list[Message]:
        out: list[Message] = []
        for message in messages:
            job = message.get("job", "")
            if message["type"] in STATUS and job not in self._shown:
                deadline = self._held.get(job, (self._clock() + self._grace, message))[0]
                self._held[job] = (deadline, message)
                continue
            if message["type"] in TERMINAL:
                if self._held.pop(job, None) is not None and job not in self._shown:
                    message = {**message, "unshown": True}  # no overlay of it to clear
                self._shown.discard(job)
            out.append(message)
        return out + self.due()

    def due(self) -> list[Message]:
        now = self._clock()
        ready = [job for job, (deadline, _) in self._held.items() if deadline <= now]
        self._shown.update(ready)
        return [self._held.pop(job)[1] for job in ready]

    def wait(self, idle: float) -> float:
        """Seconds until the next held status is due (at most ``idle``)."""
        if not self._held:
            return idle
        return max(0.0, min(deadline for deadline, _ in self._held.values()) - self._clock())


#: What a page shows while its server cannot reach the queue (Redis) that results come through.
RECONNECTING = (
    "The server is reconnecting to its queue: clicks are refused until it is back, and results "
    "of earlier ones arrive then."
)
#: The element id of that toast, so the message that the queue is back can remove it.
LINK_TOAST = "fg-toast-link"


class Renderer:
    """Turns one page's messages into HTML. It keeps no state, so the WebSocket, a reconnect
    and the polling fallback all draw the same thing for the same message."""

    def __init__(self, engine: EventEngine, dom_id: t.Callable[[t.Any], str]) -> None:
        self._engine = engine
        self._dom_id = dom_id

    def render(self, msg: Message) -> str:
        if msg["type"] == "link":
            return self._link(bool(msg.get("up")))
        try:
            listener = self._engine.listener(msg["listener"])
        except (LookupError, KeyError):
            return ""
        kind = msg["type"]
        parts: list[str] = []
        targets = _targets(listener, self._dom_id)
        if kind in ("estimation", "started", "progress") and listener.show_progress != "hidden":
            parts += self._status(listener, targets, msg)
        # A generator's done repeats its last yield, already sent as an output.
        if kind == "output" or (kind == "done" and "outputs" not in msg):
            value = msg.get("value")
            if isinstance(value, dict):
                parts.append(value.get("html", ""))
                if listener.scroll_to_output and targets:
                    # gallery.js scrolls the marker's output into view and removes the marker.
                    marker = Markup('<span class="fg-scroll-marker" hidden></span>')
                    parts.append(partial(targets[0], "beforeend", marker))
        if kind in ("failed", "notify"):
            parts.append(self._toast(msg))
        elif kind == "rejected" and msg.get("code") not in (None, "once"):
            parts.append(tell(toast("warning", msg.get("reason") or "The request was refused.")))
        if (
            kind in TERMINAL
            and kind != "rejected"  # a rejected job never had one
            and not msg.get("unshown")
            and listener.show_progress != "hidden"
        ):
            parts += self._clear(msg["job"], len(targets))
        return "".join(parts)

    @staticmethod
    def _toast(msg: Message) -> str:
        """A handler's error or ``Info``/``Warning`` as a toast; ``visible=False`` shows none
        (Gradio drops such messages; the outputs still show the failure's end)."""
        if msg.get("visible") is False:
            return ""
        if msg["type"] == "failed":
            text = msg.get("error") or "An error occurred."
            if msg.get("traceback"):
                text = f"{text}\n{msg['traceback']}"
            return tell(toast("error", text, title=msg.get("title")))
        duration = msg.get("duration", DEFAULT_DURATION)
        level = msg.get("level", "info")
        return tell(toast(level, msg.get("message", ""), title=msg.get("title"), duration=duration))

    @staticmethod
    def _link(up: bool) -> str:
        """The reconnecting toast: removed, or (again) shown until the queue is back."""
        removed = partial(f"#{LINK_TOAST}", "delete", "")
        if up:
            return removed
        return removed + tell(toast("warning", RECONNECTING, duration=None, toast_id=LINK_TOAST))

    def _status(self, listener: Listener, targets: list[str], msg: Message) -> list[str]:
        """Replace the job's overlay on each output. Stateless (remove the old one, append the
        new): a poll or a reconnect that never saw the first message draws it right too."""
        parts: list[str] = []
        for n, target in enumerate(targets):
            overlay = _overlay(msg["job"], n, listener.show_progress, msg)
            parts.append(partial(f"#fg-status-{msg['job']}-{n}", "delete", ""))
            parts.append(partial(target, "beforeend", overlay))
        return parts

    def _clear(self, job: str, count: int) -> list[str]:
        return [partial(f"#fg-status-{job}-{n}", "delete", "") for n in range(count)]
