"""Gradio's ``gr.Gallery`` for ordinary Flask apps.

This module only re-exports the public names; each lives in the module named after its job.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .component import Gallery
from .extension import FlaskGallery

__all__ = ["FlaskGallery", "Gallery", "__version__"]
