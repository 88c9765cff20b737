"""Refused gallery requests as the page shows them: a toast (htmx swaps 4xx responses, retargeted
to the page's toast region), or JSON for the JSON API."""

from __future__ import annotations

import typing as t

from flask import Response, jsonify, request
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from ..media.budget import DecodeBusy
from ..page.fragments import TOASTS_ID, toast
from .tokens import PAGE_HEADER

#: Routes of the JSON API (:mod:`.api`), which answer errors in JSON.
API_ENDPOINTS = frozenset({"api_info", "api_call"})


def error(exc: HTTPException) -> Response:
    """A refused request of a gallery's page as a toast: htmx swaps 4xx responses, so the answer
    is retargeted to the page's toast region (a request carrying the page's header comes from a
    page that has one) and the gallery, or whatever the request targeted, stays as it was.
    The JSON API answers ``{"error": message}``; ``abort(response)`` (an API guard's) is sent as
    it was made."""
    if exc.response is not None:
        return t.cast(Response, exc.response)
    text = exc.description or exc.name
    if (request.endpoint or "").rpartition(".")[2] in API_ENDPOINTS:
        response = jsonify({"error": text})
        response.status_code = exc.code or 500
    else:
        response = Response(toast("error", text), status=exc.code, mimetype="text/html")
        if request.headers.get("HX-Request") and request.headers.get(PAGE_HEADER):
            response.headers["HX-Retarget"] = f"#{TOASTS_ID}"
            response.headers["HX-Reswap"] = "beforeend"
    for header, value in exc.get_headers():  # WWW-Authenticate of a 401, Allow of a 405...
        if header.lower() != "content-type":
            response.headers[header] = value
    return response


#: Seconds a client is told to wait before asking again for an image the server was too busy
#: to decode.
BUSY_RETRY_AFTER = 5


def busy(exc: DecodeBusy) -> Response:
    """A thumbnail, full file or download that could not get its share of the decode budget in
    time: 503 with ``Retry-After``, not a 500, since trying again later works."""
    return unavailable(str(exc), BUSY_RETRY_AFTER)


def unavailable(text: str, retry_after: int) -> Response:
    """:func:`error`'s 503 for what works again in ``retry_after`` seconds, which it says."""
    response = error(ServiceUnavailable(text))
    response.headers["Retry-After"] = str(retry_after)
    return response
