"""The page model: a rendered page's galleries and what happens to them, without HTTP.

Page and gallery state and where it is kept (:mod:`.state`, :mod:`.redis_store`), what a user's
action does to a gallery and which events it fires, as Gradio's Gallery (:mod:`.interactions`),
drawing a gallery and its fragments (:mod:`.draw`, :mod:`.view`, :mod:`.fragments`), and the
conversion of handler inputs and results (:mod:`.outputs`, :mod:`.wire`). It reaches the app's
state through :mod:`.context` and never imports :mod:`flask_gallery.web`.
"""
