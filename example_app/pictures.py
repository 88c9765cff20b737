"""Pictures made on the spot, so the demos need no internet and no bundled files."""

from __future__ import annotations

import hashlib
import random

import numpy as np
from PIL import Image, ImageDraw


def avatar(size: int = 512) -> Image.Image:
    """A random 'generated face': a gradient background, a head, two eyes, a smile."""
    rng = random.Random()
    top, bottom = (np.array([rng.randrange(256) for _ in range(3)]) for _ in range(2))
    ramp = np.linspace(0, 1, size)[:, None, None]
    background = (top * (1 - ramp) + bottom * ramp).astype(np.uint8)
    image = Image.fromarray(np.broadcast_to(background, (size, size, 3)).copy())
    draw = ImageDraw.Draw(image)
    skin = tuple(rng.randrange(120, 256) for _ in range(3))
    m = size // 5
    draw.ellipse((m, m, size - m, size - m), fill=skin)
    for x in (size * 2 // 5, size * 3 // 5):
        draw.ellipse(
            (
                x - size // 25,
                size * 2 // 5 - size // 25,
                x + size // 25,
                size * 2 // 5 + size // 25,
            ),
            fill=(30, 30, 30),
        )
    draw.arc(
        (size * 2 // 5, size // 2, size * 3 // 5, size * 13 // 20),
        20,
        160,
        fill=(90, 20, 20),
        width=max(2, size // 60),
    )
    return image


def photo(seed: int, size: int = 1024) -> np.ndarray:
    """A photo-like picture: smooth light, a few shapes, a little grain."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack(
        [np.sin(3 * x + seed) * 0.5 + 0.5, y, np.cos(2 * y + seed) * 0.5 + 0.5], axis=-1
    )
    image = Image.fromarray((base * 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        cx, cy = rng.integers(0, size, 2).tolist()
        r = int(rng.integers(size // 20, size // 5))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=tuple(rng.integers(0, 256, 3).tolist()))
    grain = rng.normal(0, 4, (size, size, 3))
    return np.clip(np.asarray(image, dtype=np.float32) + grain, 0, 255).astype(np.uint8)


def _seed(text: str) -> int:
    """A seed from text that is the same in every process (``hash()`` of a str is not)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def preview(prompt: str, step: int, steps: int, size: int = 192) -> np.ndarray:
    """Step ``step`` (0-based) of ``steps`` of a pretend diffusion run for ``prompt``: the
    prompt's picture (a few soft blobs in colours of its own) shows through noise that fades
    step by step, so the last step is the clean picture. The same prompt always gives the same
    pictures."""
    rng = np.random.default_rng(_seed(prompt))
    y, x = np.mgrid[0:size, 0:size] / size
    picture = np.zeros((size, size, 3))
    for _ in range(4):
        cy, cx, radius = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.1, 0.3)
        weight = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * radius**2))[..., None]
        picture += weight * rng.uniform(0.2, 1.0, 3)
    picture = np.clip(picture, 0, 1)
    noise = rng.uniform(0, 1, (size, size, 3))  # the same noise at every step, as a seed fixes it
    clean = (step + 1) / steps
    return ((clean * picture + (1 - clean) * noise) * 255).astype(np.uint8)


#: The colours the search demo's pictures come in, by name.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "orange": (245, 150, 30),
    "yellow": (240, 220, 40),
    "green": (40, 160, 70),
    "blue": (40, 90, 220),
    "purple": (140, 60, 190),
}
SHAPES = ("circle", "square", "triangle")


def shape(colour: str, kind: str, size: int = 128) -> Image.Image:
    """A ``colour`` (a name of :data:`COLOURS`) ``kind`` (one of :data:`SHAPES`) on white."""
    image = Image.new("RGB", (size, size), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    m, fill = size // 6, COLOURS[colour]
    if kind == "circle":
        draw.ellipse((m, m, size - m, size - m), fill=fill)
    elif kind == "square":
        draw.rectangle((m, m, size - m, size - m), fill=fill)
    else:
        draw.polygon([(size // 2, m), (size - m, size - m), (m, size - m)], fill=fill)
    return image
