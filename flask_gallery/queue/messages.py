"""What the engine tells a page about its submissions: one typed definition of every message.

Each submission gets status messages while it waits and runs, any number of outputs and
notifications, and exactly one terminal message (Gradio's ``process_completed``). The socket,
the poll, the JSON API, the channels and the Redis scripts all decide "has this job ended?" from
:data:`TERMINAL` alone (the Lua scripts get it from :func:`lua_tables`).

Fields by type (every message has ``type``; those about a job also ``job``, ``listener`` (id),
``page`` and, once posted, ``seq``, per page, for replay):

- ``estimation``: ``rank`` (0 = next), ``queue_size`` (of its concurrency group), ``eta``
  (seconds or ``None``), sent on joining the queue and whenever the rank changes;
- ``started``: ``eta`` (the listener's average run time or ``None``), ``batch`` (its size);
- ``progress``: ``progress``, a list of ``{index, length, unit, progress, desc}`` or ``None``;
- ``output``: ``value`` (after the app's postprocess hook), ``index``: one generator yield;
- ``notify``: ``level`` ("info"/"warning"/"success"), ``message``, ``title``, ``duration``,
  ``visible``;
- ``done``: ``value`` (a generator's last yield, then also ``outputs``, the yield count);
- ``failed``: ``error``, ``title``, ``duration``, ``visible``, ``traceback`` (debug only);
- ``cancelled``: ``reason``;
- ``rejected``: ``code`` ("once", "queue_full" or "shutdown") and ``reason``;
- ``link`` (about no job: the Redis mode lost its queue or has it back): ``up``.

One field is never posted by the engine: a connection's delivery marks a terminal message
``unshown`` when it held back every status of that job, so no status overlay needs clearing.
"""

from __future__ import annotations

import typing as t

#: A job's status: superseded by its next status, and by its end.
Status = t.Literal["estimation", "started", "progress"]
#: The one message that ends a job.
Terminal = t.Literal["done", "failed", "cancelled", "rejected"]
MessageType = t.Literal[Status, Terminal, "output", "notify", "link"]

STATUS: frozenset[str] = frozenset(t.get_args(Status))
TERMINAL: frozenset[str] = frozenset(t.get_args(Terminal))


class ProgressEntry(t.TypedDict, total=False):
    """One level of a handler's ``Progress`` (a tqdm bar, or a fraction with a description)."""

    index: int | None
    length: int | None
    unit: str
    progress: float | None
    desc: str | None


class _Typed(t.TypedDict):
    type: MessageType


class Message(_Typed, total=False):
    """A message on a page's channel (see the module docstring for which fields each has)."""

    job: str
    listener: str
    page: str
    seq: int
    rank: int
    queue_size: int
    eta: float | None
    batch: int
    progress: list[ProgressEntry] | None
    value: t.Any
    index: int
    outputs: int
    level: str
    message: str
    title: str | None
    duration: float | None
    visible: bool
    error: str
    traceback: str
    reason: str
    code: str
    up: bool
    unshown: bool


def lua_tables() -> str:
    """:data:`STATUS` and :data:`TERMINAL` as Lua sets, for the Redis scripts."""

    def table(name: str, kinds: frozenset[str]) -> str:
        return f"local {name} = {{ {', '.join(f'{kind} = true' for kind in sorted(kinds))} }}"

    return f"{table('STATUS', STATUS)}\n{table('TERMINAL', TERMINAL)}"
