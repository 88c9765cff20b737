"""Gradio's ``gr.Gallery`` for ordinary Flask apps.

This module only re-exports the public names; each lives in the module named after its job.
"""

from __future__ import annotations

from ._version import __version__
from .component import Gallery, GalleryUpdate, skip
from .elements import Element
from .events import EventData, Listener, SelectData
from .extension import FlaskGallery
from .notify import Error, Info, Success, Warning
from .progress import Progress
from .request import Request
from .state import State

__all__ = [
    "Element",
    "Error",
    "EventData",
    "FlaskGallery",
    "Gallery",
    "GalleryUpdate",
    "Info",
    "Listener",
    "Progress",
    "Request",
    "SelectData",
    "State",
    "Success",
    "Warning",
    "__version__",
    "skip",
]
