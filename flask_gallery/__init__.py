"""Gradio's ``gr.Gallery`` for ordinary Flask apps.

This module only re-exports the public names; each lives in the module named after its job.
"""
