"""An image-generation page: a prompt, a number of steps, and a Generate button whose generator
streams one preview per step with a progress bar, as a Gradio diffusion demo does with a
generator handler and ``gr.Progress``.

- The button is the page's own HTML (``galleries.element("#make")``), its fields are sent
  with the click (``inputs=["prompt", "steps"]``), and each ``yield`` updates the gallery and
  the status line.
- ``concurrency_limit=1``: one run at a time for every page together (one "GPU"), so a second
  tab clicking meanwhile sees its place in the queue over its outputs.
- ``trigger_mode="always_last"``: clicks during a run are kept as one more run, with the
  fields of the newest click; the clicks in between are dropped (Gradio's default for a
  button, ``once``, would drop them all).

The previews are made with numpy from the prompt (:func:`.pictures.preview`), so the same
prompt gives the same pictures.
"""

from __future__ import annotations

import time
import typing as t

import numpy as np
from flask import Blueprint, current_app, render_template

from flask_gallery import Progress, skip

from .extensions import galleries
from .pictures import preview

bp = Blueprint("generate", __name__)

MAX_STEPS = 8
DEFAULT_STEPS = 4
#: The pretend model's time per step: 8 steps take about a second.
STEP_SECONDS = 0.12
#: ``app.config`` key: when set, a callable the generator calls with the prompt and the step
#: (from 0) before each step. Tests hold the run there to watch each preview arrive.
GATE = "EXAMPLE_GENERATE_GATE"

previews = galleries.gallery(
    "previews", None, label="Previews", show_label=True, columns=4, height="auto"
)

Previews = list[tuple[np.ndarray, str]]


def _steps(steps: str | None) -> int | None:
    """The step count a field gives, or None when it is not one from 1 to :data:`MAX_STEPS`."""
    try:
        count = int(steps or "")
    except ValueError:
        return None
    return count if 1 <= count <= MAX_STEPS else None


def _bad_steps(steps: str | None) -> str:
    return f"Steps must be a whole number from 1 to {MAX_STEPS}, not {steps!r}."


@galleries.element("#make").on_click(
    inputs=["prompt", "steps"],
    outputs=[previews, "#status"],
    concurrency_limit=1,
    trigger_mode="always_last",
)
def generate(
    prompt: str | None, steps: str | None, progress: Progress = Progress()
) -> t.Iterator[tuple[Previews | t.Any, str]]:
    """One preview per step, each yielded with the status line. A field that cannot make a
    run is told in the status line, beside the fields, and the previews stay."""
    prompt = (prompt or "").strip()
    count = _steps(steps)
    if not prompt or count is None:
        yield (
            skip(),
            _bad_steps(steps) if prompt else "Write a prompt first: it decides the picture.",
        )
        return
    gate = current_app.config.get(GATE)
    images: Previews = []
    for step in range(count):
        progress((step, count), desc="denoising", unit="steps")
        if gate is not None:
            gate(prompt, step)
        time.sleep(STEP_SECONDS)
        images.append((preview(prompt, step, count), f"step {step + 1}"))
        if step + 1 < count:
            yield images, f"{prompt}: step {step + 1}/{count}"
        else:
            yield images, f"{prompt}: done, {count} steps"


@galleries.element("#steps").on_change(inputs=["steps"], outputs="#estimate")
def estimate(steps: str | None) -> str:
    """What a run of that many steps takes on a free queue, as the field changes."""
    count = _steps(steps)
    return _bad_steps(steps) if count is None else f"about {count * STEP_SECONDS:.1f} s a run"


@bp.get("/generate")
def page() -> str:
    return render_template(
        "generate.html",
        steps=DEFAULT_STEPS,
        max_steps=MAX_STEPS,
        estimate=estimate(str(DEFAULT_STEPS)),
    )
