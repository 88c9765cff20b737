"""Preprocess: gallery items turned into what a handler receives (Gradio's input contract).

A list of ``(media, caption)`` tuples, or ``None`` for an empty gallery, with media per
``type``:

- ``"filepath"``: the ``str`` path of the stored full file (encoded first if still pending),
  named after the item's original file name where it has one (Gradio's uploads keep theirs;
  the extension is the file's type).
- ``"pil"``: the decoded full file as a loaded PIL image in the file's own mode (as Gradio;
  loaded so no file handle is left open).
- ``"numpy"``: a ``uint8`` array, ``(H, W, 3)`` RGB, or ``(H, W, 4)`` RGBA when the image has
  alpha. Gradio gives the file's own mode (``(H, W)`` for grayscale), which breaks handlers
  written for its documented ``(H, W, 3)``; we keep the documented shape and never drop alpha.

SVG and videos are always the ``str`` path (Pillow cannot decode them; Gradio raises there).
External URL items are passed as the URL ``str``: the server never fetches them.

Each decode holds its share of the store's decode budget (:mod:`.budget`) until the handler's
value is made; the handler's own copy is then the handler's to hold.
"""

from __future__ import annotations

import typing as t

from PIL import Image

from ..notify import Error
from .budget import DecodeBudget, DecodeBusy
from .decode import decode_bytes
from .item import PREPROCESS_TYPES, MediaItem, PreprocessType
from .offload import offload
from .pixels import from_pil, has_alpha, to_image
from .thumbnails import LARGE

if t.TYPE_CHECKING:
    import numpy as np

    from .store import MediaStore


def preprocess(
    store: MediaStore, items: t.Sequence[MediaItem] | None, type: PreprocessType = "numpy"
) -> list[tuple[object, str | None]] | None:
    if type not in PREPROCESS_TYPES:
        raise ValueError(f"Unknown type {type!r}; allowed: {', '.join(PREPROCESS_TYPES)}.")
    if not items:
        return None
    return [(media_for_handler(store, item, type), item.caption) for item in items]


def media_for_handler(store: MediaStore, item: MediaItem, type: PreprocessType) -> object:
    if item.id is None:
        if item.url is None:
            raise ValueError(f"Media item {item!r} has neither an id nor a URL.")
        return item.url
    try:
        if type == "filepath" or item.kind == "video" or item.is_svg:
            return str(store.filepath(item.id, item.orig_name))
        return load_image(str(store.filepath(item.id)), type, store.decode_budget)
    except DecodeBusy as exc:  # a message for the user, shown as a handler's Error is
        raise Error(str(exc), title="Busy") from exc


#: Bytes per pixel that turning a decoded image into an array may add (Pillow's bytes, the
#: array, a converted copy for grayscale and palette images): measured 8-11 for 4000x4000
#: RGBA, RGB, L and P PNGs, above their decode.
_ARRAY_BYTES = 12


def load_image(path: str, type: PreprocessType, budget: DecodeBudget) -> object:
    """The file decoded (and made an array for "numpy") while the budget holds its memory."""
    with Image.open(path) as image:
        cost = decode_bytes(image)
        if type == "numpy":
            cost += image.width * image.height * _ARRAY_BYTES
        with budget.reserve(cost):
            offload(image.load, heavy=cost >= LARGE)
            loaded: Image.Image = image
            if type == "numpy":
                array = offload(as_array, loaded, heavy=cost >= LARGE)
                loaded.close()  # freed before the budget gives its memory back
                return array
    return loaded


def as_array(image: Image.Image) -> np.ndarray[t.Any, t.Any]:
    """RGB, or RGBA with alpha, as 8-bit (16-bit and float modes scaled as in :mod:`.pixels`)."""
    import numpy as np

    pixels = from_pil(image)
    if pixels.ndim == 3 and pixels.shape[2] in (3, 4):
        return pixels
    return np.asarray(to_image(pixels).convert("RGBA" if has_alpha(pixels) else "RGB"))
