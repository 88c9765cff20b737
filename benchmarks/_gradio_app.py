"""Gradio's side of bench_events.py ``--with-gradio``: the same page in Gradio 6.31, run by the
throw-away venv's interpreter, never imported by the project.

One gallery of 3 images (``allow_preview=False``), a select handler writing ``evt.index`` to an
HTML block ``#out``; ``BENCH_LIMIT=none`` sets the queue's default concurrency limit to None.
Usage: ``<venv>/bin/python benchmarks/_gradio_app.py <port>``.
"""

from __future__ import annotations

import os
import sys

import gradio as gr
import numpy as np

COLORS = [(200, 40, 40), (40, 160, 60), (40, 60, 200)]


def main() -> None:
    port = int(sys.argv[1])
    limit = None if os.environ.get("BENCH_LIMIT", "default") == "none" else 1
    images = [np.full((64, 64, 3), color, np.uint8) for color in COLORS]
    with gr.Blocks(analytics_enabled=False) as demo:
        gallery = gr.Gallery(value=images, allow_preview=False, columns=3, elem_id="bench")
        out = gr.HTML(elem_id="out")

        def on_select(evt: gr.SelectData) -> str:
            return str(evt.index)

        gallery.select(on_select, None, out, trigger_mode="multiple", api_name="select")
    demo.queue(default_concurrency_limit=limit)
    print(f"fn_index of select: {len(demo.fns) - 1}", flush=True)
    demo.launch(server_name="127.0.0.1", server_port=port, show_error=True, quiet=True)


if __name__ == "__main__":
    main()
