"""A submission as the engine carries it: who asked, with what, and how far it got.

Everything a worker needs to run it is here and plain (inputs, raw event data, the request
snapshot), so a Redis backend can ship it to another process; the listener travels by id there.
"""

from __future__ import annotations

import itertools
import os
import secrets
import threading
import typing as t
from dataclasses import dataclass, field

from ..events import Listener, TriggerMode
from ..request import Request
from .messages import Message, MessageType, Terminal

JobState = t.Literal["new", "deferred", "queued", "running", "finished"]
#: Who submitted a job: a page (its results update the page) or a JSON API call (its results go
#: back to the caller in Gradio's wire form; its channel is the call's own).
Caller = t.Literal["page", "api"]


def unique_id() -> str:
    """32 hex digits no other call makes, in this process or any other: a random prefix per
    process (drawn again in a forked child) and a counter. Unique is all an id must be, and
    the kernel's random source costs a system call per draw, three per click in the Redis mode."""
    return f"{_ids.prefix}{next(_ids.count):016x}"


class _Ids:
    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        self.prefix = secrets.token_hex(8)
        self.count = itertools.count()


_ids = _Ids()
os.register_at_fork(after_in_child=_ids.renew)


@dataclass(eq=False)
class Job:
    """One submission of one listener for one page."""

    listener: Listener
    page: str
    #: The input values in the order of ``listener.inputs`` (resolved by the transport layer).
    inputs: list[t.Any] = field(default_factory=list)
    #: The event's raw data; the handler gets it wrapped in its annotation's class.
    event_data: t.Any = None
    request: Request | None = None
    #: Overrides the listener's trigger mode (periodic runs use "once": never overlap).
    trigger_mode: TriggerMode | None = None
    #: A tick of an ``every`` listener: no inputs were gathered, the page's state is current.
    periodic: bool = False
    #: The page's session, for the per-session cap on waiting submissions.
    session: str | None = None
    #: Who sent it (the remote address), for the queue's fair share between clients.
    client: str | None = None
    caller: Caller = "page"
    id: str = field(default_factory=unique_id)

    # Owned by the backend from here on.
    state: JobState = "new"
    #: The terminal message sent, once one has been; nothing about the job is sent after it.
    terminal: Terminal | None = None
    #: Set when the job is cancelled while running: a generator stops at its next yield.
    cancelled: bool = False
    #: Counted among the waiting submissions (see :mod:`.quotas`).
    counted: bool = False
    seq: int = 0
    enqueued_at: float = 0.0
    started_at: float | None = None
    #: Guards ``terminal`` against the messages a running handler sends from its own thread.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def mode(self) -> TriggerMode:
        return self.trigger_mode or self.listener.trigger_mode


def message(type: MessageType, job: Job, **fields: t.Any) -> Message:
    """A channel message about ``job``: JSON-safe apart from output values, which the app's
    postprocess hook makes ready to send."""
    made = {"type": type, "job": job.id, "listener": job.listener.id, "page": job.page, **fields}
    return t.cast(Message, made)
