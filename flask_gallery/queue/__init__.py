"""The event engine: Gradio's listener semantics enforced on the server, without Flask or HTTP.

``EventEngine`` is the entry point; ``ThreadsBackend`` the default, in-process backend; ``Backend``
the protocol a Redis backend implements.

Messages on a page's channel are dicts with ``type``, ``job``, ``listener`` (id), ``page`` and
``seq`` (per page, for replay), and by type:

- ``estimation``: ``rank`` (0 = next), ``queue_size`` (of its concurrency group), ``eta``
  (seconds or ``None``), sent on joining the queue and whenever the rank changes;
- ``started``: ``eta`` (the listener's average run time or ``None``), ``batch`` (its size);
- ``progress``: ``progress``, a list of ``{index, length, unit, progress, desc}`` or ``None``;
- ``output``: ``value`` (after ``postprocess_hook``), ``index``: one generator yield;
- ``notify``: ``level`` ("info"/"warning"), ``message``, ``title``, ``duration``, ``visible``;

and exactly one terminal message per submission:

- ``done``: ``value`` (a generator's last yield, then also ``outputs``, the yield count);
- ``failed``: ``error``, ``title``, ``duration``, ``visible``, ``traceback`` (debug only);
- ``cancelled``: ``reason``;
- ``rejected``: ``code`` ("once", "queue_full" or "shutdown") and ``reason``.
"""

from __future__ import annotations

from .backend import Backend, EngineConfig
from .channel import Message, PageChannels, Replay
from .engine import EventEngine, Submission
from .jobs import Job
from .threads import THREAD_PREFIX, ThreadsBackend

__all__ = [
    "THREAD_PREFIX",
    "Backend",
    "EngineConfig",
    "EventEngine",
    "Job",
    "Message",
    "PageChannels",
    "Replay",
    "Submission",
    "ThreadsBackend",
]
