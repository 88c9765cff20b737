"""The media item a page shows, and the shared media type aliases.

A :class:`MediaItem` is what the component renders: it holds an opaque id (never a server
path) and the few facts the HTML needs (kind, size for ``<img width height>``, caption), so
templates never touch the store's files.
"""

from __future__ import annotations

import dataclasses
import typing as t

#: What a gallery item shows.
MediaKind = t.Literal["image", "video"]

#: The formats numpy and PIL outputs can be saved as (Gradio's ``format``; "jpg" means "jpeg").
MediaFormat = t.Literal["webp", "png", "jpeg", "jpg", "gif", "bmp", "tiff"]

#: What a handler receives for each gallery image (Gradio's ``type``).
PreprocessType = t.Literal["numpy", "pil", "filepath"]

#: Which file of an item a media request asks for.
MediaVariant = t.Literal["full", "thumb"]

MEDIA_FORMATS: tuple[str, ...] = t.get_args(MediaFormat)
PREPROCESS_TYPES: tuple[str, ...] = t.get_args(PreprocessType)
MEDIA_VARIANTS: tuple[str, ...] = t.get_args(MediaVariant)


@dataclasses.dataclass(frozen=True)
class MediaItem:
    """One gallery entry, safe to put in a page.

    Frozen so that a value rendered for one page cannot be changed under another page that
    shares it.
    """

    #: Opaque id issued by the store; ``None`` only for external http(s) URLs.
    id: str | None
    kind: MediaKind
    caption: str | None = None
    mime_type: str | None = None
    #: The original file name where known (str/Path inputs, uploads).
    orig_name: str | None = None
    width: int | None = None
    height: int | None = None
    #: An external http(s) URL, shown as is; the server never fetches it.
    url: str | None = None
    is_svg: bool = False
    #: Widths this item's grid thumbnails can be asked for (srcset); empty when the grid must
    #: show the full file (SVG, video, animation, undecodable files, external URLs).
    thumbnail_widths: tuple[int, ...] = ()

    def with_caption(self, caption: str | None) -> MediaItem:
        """The same media under another caption (captions are per value, media is shared)."""
        return dataclasses.replace(self, caption=caption)

    def to_dict(self) -> dict[str, t.Any]:
        """A JSON-safe dict, for page state kept outside the process (Redis)."""
        data = dataclasses.asdict(self)
        data["thumbnail_widths"] = list(self.thumbnail_widths)
        return data

    @classmethod
    def from_dict(cls, data: t.Mapping[str, t.Any]) -> MediaItem:
        """The inverse of :meth:`to_dict`; unknown keys are refused so typos surface."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise ValueError(f"Unknown MediaItem keys {unknown!r}; allowed: {sorted(fields)!r}.")
        values = dict(data)
        values["thumbnail_widths"] = tuple(values.get("thumbnail_widths", ()))
        return cls(**values)
