"""A page of galleries side by side, one per display option."""

from __future__ import annotations

from flask import Blueprint, render_template

from .extensions import galleries
from .pictures import photo

bp = Blueprint("options", __name__)

_photos = [(photo(seed), f"photo {seed}") for seed in range(8)]
OPTIONS: list[tuple[str, dict[str, object]]] = [
    ("columns=(1, 2, 3, 4)", {"columns": (1, 2, 3, 4)}),
    ("columns=4, rows=1, height=260", {"columns": 4, "rows": 1, "height": 260}),
    ("object_fit='contain'", {"columns": 3, "object_fit": "contain"}),
    ("selected_index=2 (preview open)", {"columns": 3, "selected_index": 2}),
    (
        "allow_preview=False, selected_index=1",
        {"columns": 3, "allow_preview": False, "selected_index": 1},
    ),
    (
        "preview=True, show_share_button=True",
        {"columns": 3, "preview": True, "show_share_button": True},
    ),
    ("container=False", {"columns": 4, "container": False, "label": "No container"}),
    ("buttons=[]", {"columns": 4, "buttons": []}),
    (
        "interactive=True, sources=[upload, clipboard, webcam]",
        {"interactive": True, "sources": ["upload", "clipboard", "webcam"]},
    ),
]
for number, (title, props) in enumerate(OPTIONS):
    value = None if props.get("interactive") else _photos
    galleries.gallery(f"option{number}", value, **{"label": title, **props})


@bp.get("/options")
def page() -> str:
    names = [(f"option{i}", title) for i, (title, _) in enumerate(OPTIONS)]
    return render_template("options.html", names=names)
