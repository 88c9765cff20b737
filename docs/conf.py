"""Sphinx configuration for flask_gallery's documentation (Pallets layout and theme).

Build with warnings as errors, as CI does::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

from pallets_sphinx_themes import get_version

# Project --------------------------------------------------------------

project = "flask_gallery"
copyright = "2026, the flask_gallery authors"
author = "the flask_gallery authors"
release, version = get_version("flask-gallery")

# General --------------------------------------------------------------

default_role = "code"
extensions = [
    "sphinx.ext.autodoc",
    "pallets_sphinx_themes",
]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_preserve_defaults = True
# No intersphinx: CI reaches only package registries, so remote inventories cannot be fetched
# and a failed fetch is a warning (an error under -W).
nitpicky = False
exclude_patterns = ["_build"]

# HTML -----------------------------------------------------------------

html_theme = "flask"
html_theme_options = {"index_sidebar_logo": False}
html_sidebars = {
    "index": ["localtoc.html", "searchbox.html"],
    "**": ["localtoc.html", "relations.html", "searchbox.html"],
}
singlehtml_sidebars = {"index": ["localtoc.html"]}
html_title = f"flask_gallery Documentation ({version})"
html_show_sourcelink = False
# The theme's banner script asks PyPI about a project named like this one, which may be
# another project altogether: keep it off.
version_banner = False
