"""The web layer: everything that speaks HTTP or WebSocket.

The blueprint's routes (:mod:`.views`: media, downloads, one route per action), the page's socket
and its polling fallback (:mod:`.socket`), the JSON API (:mod:`.api`), page tokens and origin
checks (:mod:`.tokens`), refusals as the page shows them (:mod:`.responses`), engine messages as
HTML (:mod:`.delivery`), and what the extension keeps per app (:mod:`.app_state`). Clicks from
either transport go through one table of actions (:mod:`.actions`) into the page model
(:mod:`flask_gallery.page`). Nothing below this package imports it.
"""
