"""The media pipeline: values -> stored items -> served files, and back to handlers.

Each step lives in the module named after its job; this module only re-exports.
"""

from __future__ import annotations

from .item import MediaFormat, MediaItem, MediaKind, MediaVariant, PreprocessType
from .serving import send_media
from .store import MediaStore
from .uploads import UploadRejected

__all__ = [
    "MediaFormat",
    "MediaItem",
    "MediaKind",
    "MediaStore",
    "MediaVariant",
    "PreprocessType",
    "UploadRejected",
    "send_media",
]
