"""What the store knows about one key, kept beside its files as ``meta.json``.

The record is written once, atomically, when a key is first stored, so any thread or process
sharing the store root can serve, encode or thumbnail the key without the process that made it.
"""

from __future__ import annotations

import dataclasses
import json
import typing as t

from .item import MediaKind

Source = t.Literal["pixels", "file"]

META = "meta.json"
PIXELS = "pixels.npy"


#: Opaque thumbnails this wide or wider are WebP; narrower ones JPEG.
WEBP_FROM_WIDTH = 640


@dataclasses.dataclass(frozen=True)
class Record:
    """Facts about stored content, shared by every item with that content: nothing about who
    stored it or under what name (that belongs to each item, :class:`~.item.MediaItem`)."""

    kind: MediaKind
    #: "pixels": raw pixels wait in pixels.npy until the full file is encoded lazily;
    #: "file": the full file was stored as given.
    source: Source
    #: Extension of the full file (no dot), e.g. "webp", "png", "mp4".
    ext: str
    mime_type: str | None
    width: int | None = None
    height: int | None = None
    has_alpha: bool = False
    is_svg: bool = False
    #: More than one frame: the grid shows the full file so it animates.
    animated: bool = False

    @property
    def full_name(self) -> str:
        return f"full.{self.ext}"

    @property
    def thumbnailable(self) -> bool:
        return (
            self.kind == "image"
            and not self.is_svg
            and not self.animated
            and self.width is not None
            and self.height is not None
        )

    def thumb_ext(self, width: int) -> str:
        """WebP where alpha must survive, and for large thumbnails (a third fewer bytes than
        JPEG, where bytes cost more than the encoder's extra milliseconds); JPEG for the small
        ones, made first and fastest."""
        return "webp" if self.has_alpha or width >= WEBP_FROM_WIDTH else "jpg"

    def thumb_name(self, width: int) -> str:
        return f"thumb-{width}.{self.thumb_ext(width)}"

    def to_json(self) -> bytes:
        return json.dumps(dataclasses.asdict(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Record:
        fields = json.loads(data)
        # Records written before names moved to the items named their first uploader's file:
        # never reveal it.
        fields.pop("orig_name", None)
        return cls(**fields)
