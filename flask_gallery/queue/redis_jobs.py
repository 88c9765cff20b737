"""A job as it travels between processes: the JSON a worker elsewhere rebuilds it from.

Inputs are plain values, media items and lists of them (what the transport layer resolves a
gallery's value to), the event data is JSON already, and the request is its snapshot. A value
that is none of these cannot reach another process: submitting it fails with the listener's
name, rather than a worker failing later with nobody told.
"""

from __future__ import annotations

import json
import typing as t

from ..media import MediaItem
from ..request import Request
from .jobs import Job

if t.TYPE_CHECKING:
    from ..events import Listener

_ITEM = "__flask_gallery_media_item__"


def _default(value: t.Any) -> t.Any:
    if isinstance(value, MediaItem):
        return {_ITEM: value.to_dict()}
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _hook(data: dict[str, t.Any]) -> t.Any:
    if _ITEM in data and len(data) == 1:
        return MediaItem.from_dict(data[_ITEM])
    return data


def encode(job: Job) -> str:
    """The job's payload; a ``TypeError`` naming the listener when a value cannot travel."""
    payload = {
        "inputs": job.inputs,
        "event_data": job.event_data,
        "request": None if job.request is None else job.request.to_dict(),
        "trigger_mode": job.trigger_mode,
        "periodic": job.periodic,
        "session": job.session,
        "client": job.client,
        "caller": job.caller,
    }
    try:
        return json.dumps(payload, default=_default, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"Listener {job.listener.name!r}: its inputs or event data cannot be sent to another "
            f"process ({exc}). With GALLERY_QUEUE_URL, inputs must be JSON values, media items "
            "or lists of them."
        ) from exc


def decode(job_id: str, listener: Listener, page: str, data: str) -> Job:
    """The job another process submitted, to run here."""
    payload = json.loads(data, object_hook=_hook)
    request = payload["request"]
    return Job(
        listener,
        page,
        payload["inputs"],
        payload["event_data"],
        None if request is None else Request.from_dict(request),
        payload["trigger_mode"],
        payload["periodic"],
        session=payload["session"],
        client=payload["client"],
        caller=payload.get("caller", "page"),
        id=job_id,
    )
