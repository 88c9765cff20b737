"""The event engine: Gradio's listener semantics enforced on the server, without Flask or HTTP.

``EventEngine`` is the entry point; ``ThreadsBackend`` the default, in-process backend; ``Backend``
the protocol a Redis backend implements.

Messages on a page's channel are :class:`~.messages.Message` dicts; :data:`~.messages.TERMINAL`
names the types that end a job.
"""

from __future__ import annotations

from .backend import Backend, EngineConfig
from .channel import PageChannels, Replay
from .engine import EventEngine, Submission
from .jobs import Job
from .messages import TERMINAL, Message
from .threads import THREAD_PREFIX, ThreadsBackend

__all__ = [
    "TERMINAL",
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
